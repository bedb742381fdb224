"""Slow reference model of the systolic array (docs/datapath.md §4–§6), register-transfer level.

One Python object per PE, holding its registers (bit patterns plus the valid bit of their last
load) and its own gate-level multiplier and adder, which remember their previous node vectors.
``SystolicArray`` steps EVERY PE in EVERY cycle: data and valid bits travel one PE per cycle, all
registers are updated synchronously (next state computed from the current state, then committed),
and toggles are counted by comparing register contents / node vectors before and after — never by
formula. Per-fold operands come from ``GemmOperands``; the closed-form schedule of datapath.md is
only used to (a) drive the array edges and (b) assert that what the systolic movement delivers to
every PE is what the page says it receives.

Entry point: :func:`reference_simulate_gemm`, with the signature of
``accelsim.sim.array.simulate_gemm``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.sim.types import ArraySpec, GemmOperands, GemmResult, class_names
from tests.reference.gates import (
    accumulator_add,
    hamming,
    multiply,
    pattern_of,
    popcount,
    signed_value,
)

# Trace / counter columns (datapath.md §6): x_reg, w_reg, psum_reg|acc_reg, mult, adder.
X_REG, W_REG, P_REG, MULT, ADDER = range(5)

NO_DATA = (0, False)  # what an edge presents when it has nothing valid


# --------------------------------------------------------------------------------------------------
# Clocked and combinational units
# --------------------------------------------------------------------------------------------------


class Register:
    """A clocked register: a ``bits``-bit pattern and the valid bit of its last-cycle load."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.value = 0  # all registers are 0 at the start of a layer (§4)
        self.valid = False

    def next_state(self, data: int, valid: bool, moving: bool, idle_zero: bool) -> tuple[int, bool]:
        """What the register will hold after this cycle's clock edge (§4).

        Valid data is loaded. Otherwise a moving register keeps its value (hold) or loads 0 (zero);
        a stationary (load-enabled) register keeps its value in both modes.
        """
        if valid:
            return pattern_of(data, self.bits), True
        if moving and idle_zero:
            return 0, False
        return self.value, False

    def commit(self, state: tuple[int, bool]) -> int:
        """Clock edge: load ``state``; returns the toggles popcount(old ^ new)."""
        new_value, new_valid = state
        toggles = popcount(self.value ^ new_value)
        self.value = new_value
        self.valid = new_valid
        return toggles


class MultiplierUnit:
    """A PE's gate-level multiplier (class ``mult``); remembers its previous node vector."""

    def __init__(self, spec: ArraySpec) -> None:
        self.spec = spec
        # §4: before its first evaluation the previous node vector is the one for inputs (0, 0).
        _, self.prev_nodes = self._eval(0, 0)

    def _eval(self, x: int, w: int) -> tuple[int, list[int]]:
        s = self.spec
        return multiply(x, s.x_bits, s.x_signed, w, s.w_bits, s.w_signed)

    def evaluate(self, x: int, w: int) -> tuple[int, int]:
        """Multiply operand patterns ``x`` and ``w``; returns (product value, toggles)."""
        product, nodes = self._eval(x, w)
        toggles = hamming(self.prev_nodes, nodes)
        self.prev_nodes = nodes
        return product, toggles


class AdderUnit:
    """An ``acc_bits``-wide ripple-carry adder (class ``adder``); remembers its previous nodes."""

    def __init__(self, spec: ArraySpec) -> None:
        self.bits = spec.acc_bits
        self.saturate = spec.saturate
        _, _, self.prev_nodes = accumulator_add(0, 0, self.bits, self.saturate)

    def evaluate(self, a: int, b: int) -> tuple[int, bool, int]:
        """Add patterns ``a`` + ``b``; returns (result pattern, overflow, toggles)."""
        result, overflow, nodes = accumulator_add(a, b, self.bits, self.saturate)
        toggles = hamming(self.prev_nodes, nodes)
        self.prev_nodes = nodes
        return result, overflow, toggles


class PE:
    """One PE: x_reg, w_reg, psum_reg/acc_reg (``p_reg``), its multiplier and its adder."""

    def __init__(self, r: int, c: int, spec: ArraySpec) -> None:
        self.r = r
        self.c = c
        self.x_reg = Register(spec.x_bits)
        self.w_reg = Register(spec.w_bits)
        self.p_reg = Register(spec.acc_bits)  # psum_reg (ws, is) or acc_reg (os)
        self.mult = MultiplierUnit(spec)
        self.adder = AdderUnit(spec)


@dataclass
class CycleReport:
    """What happened in one cycle of the whole array."""

    toggles: list[int]  # per class, in §6 order
    overflows: int
    valid_load: bool  # some register loaded valid data this cycle
    enabled: list[tuple[int, int, int, int]]  # (r, c, x operand pattern, w operand pattern)
    leaving: list[tuple[int, int]]  # ws/is: (c, column result pattern) leaving the array


# --------------------------------------------------------------------------------------------------
# The array
# --------------------------------------------------------------------------------------------------


class SystolicArray:
    """R×C PEs plus one edge accumulation adder per physical column (ws, is)."""

    def __init__(self, spec: ArraySpec) -> None:
        self.spec = spec
        self.R = spec.rows
        self.C = spec.cols
        self.pe = [[PE(r, c, spec) for c in range(self.C)] for r in range(self.R)]
        self.edge_adders = [AdderUnit(spec) for _ in range(self.C)]
        self.acc_mask = (1 << spec.acc_bits) - 1

    # ---- helpers ------------------------------------------------------------------------------

    def _stationary(self, pe: PE) -> Register:
        """The operand register that is stationary during streaming (ws: w_reg, is: x_reg)."""
        return pe.w_reg if self.spec.dataflow == "ws" else pe.x_reg

    def _moving(self, pe: PE) -> Register:
        """The operand register that moves right during streaming (ws: x_reg, is: w_reg)."""
        return pe.x_reg if self.spec.dataflow == "ws" else pe.w_reg

    def _commit_all(self, nxt: dict, report: CycleReport) -> None:
        """Clock edge for every register of every PE (synchronous update) and toggle counting."""
        for r in range(self.R):
            for c in range(self.C):
                pe = self.pe[r][c]
                for cls, reg in ((X_REG, pe.x_reg), (W_REG, pe.w_reg), (P_REG, pe.p_reg)):
                    state = nxt[(r, c, cls)]
                    report.toggles[cls] += reg.commit(state)
                    if state[1]:
                        report.valid_load = True

    def _new_report(self) -> CycleReport:
        return CycleReport([0, 0, 0, 0, 0], 0, False, [], [])

    # ---- ws / is ------------------------------------------------------------------------------

    def step_preload(self, top: list[tuple[int, bool]], r_act: int, c_act: int) -> CycleReport:
        """One preload cycle (§5.1): the stationary registers of each column form a shift chain fed
        at the top; they are moving registers now. No PE is enabled; the other registers receive
        nothing."""
        zero = self.spec.idle_zero
        report = self._new_report()
        nxt: dict = {}
        for r in range(self.R):
            for c in range(self.C):
                pe = self.pe[r][c]
                stat = self._stationary(pe)
                if r == 0:
                    data, valid = top[c]
                else:
                    above = self._stationary(self.pe[r - 1][c])
                    data, valid = above.value, above.valid
                valid = valid and r < r_act and c < c_act
                for cls, reg in ((X_REG, pe.x_reg), (W_REG, pe.w_reg), (P_REG, pe.p_reg)):
                    if reg is stat:
                        nxt[(r, c, cls)] = reg.next_state(data, valid, moving=True, idle_zero=zero)
                    else:
                        nxt[(r, c, cls)] = reg.next_state(0, False, moving=True, idle_zero=zero)
        self._commit_all(nxt, report)
        return report

    def step_stream(self, left: list[tuple[int, bool]], r_act: int, c_act: int) -> CycleReport:
        """One streaming cycle (§5.1): the moving operand enters at the left edge and moves right,
        partial sums move down, stationary registers hold."""
        spec = self.spec
        zero = spec.idle_zero
        report = self._new_report()
        nxt: dict = {}
        bottom_results: dict[int, int] = {}
        for r in range(self.R):
            for c in range(self.C):
                pe = self.pe[r][c]
                stat = self._stationary(pe)
                mov = self._moving(pe)
                if c == 0:
                    h, valid = left[r]
                else:
                    west = self._moving(self.pe[r][c - 1])
                    h, valid = west.value, west.valid
                valid = valid and r < r_act and c < c_act
                psum_state = pe.p_reg.next_state(0, False, moving=True, idle_zero=zero)
                if valid:  # enabled: a valid operand pair (H, stationary S)
                    if spec.dataflow == "ws":
                        x_op, w_op = h, stat.value
                    else:
                        x_op, w_op = stat.value, h
                    product, mt = pe.mult.evaluate(x_op, w_op)
                    if r == 0:
                        psum_in = 0
                    else:
                        north = self.pe[r - 1][c].p_reg
                        if not north.valid:
                            raise AssertionError(f"PE({r},{c}) enabled but psum_in not valid")
                        psum_in = north.value
                    result, overflow, at = pe.adder.evaluate(psum_in, product & self.acc_mask)
                    report.toggles[MULT] += mt
                    report.toggles[ADDER] += at
                    report.overflows += int(overflow)
                    report.enabled.append((r, c, x_op, w_op))
                    psum_state = pe.p_reg.next_state(result, True, moving=True, idle_zero=zero)
                    if r == r_act - 1:  # bypass of unused rows: the column result leaves here
                        bottom_results[c] = result
                for cls, reg in ((X_REG, pe.x_reg), (W_REG, pe.w_reg)):
                    if reg is mov:
                        nxt[(r, c, cls)] = reg.next_state(h, valid, moving=True, idle_zero=zero)
                    else:  # stationary: load-enabled, holds in both idle modes
                        nxt[(r, c, cls)] = reg.next_state(0, False, moving=False, idle_zero=zero)
                nxt[(r, c, P_REG)] = psum_state
        self._commit_all(nxt, report)
        report.leaving = sorted(bottom_results.items())
        return report

    def edge_accumulate(self, c: int, partial: int, column_result: int) -> tuple[int, bool, int]:
        """Column ``c``'s edge accumulation adder: out = adder(out_partial, column_result)."""
        return self.edge_adders[c].evaluate(partial, column_result)

    # ---- os -----------------------------------------------------------------------------------

    def step_os(
        self,
        left: list[tuple[int, bool]],
        top: list[tuple[int, bool]],
        s: int,
        r_act: int,
        c_act: int,
    ) -> CycleReport:
        """One cycle of the output-stationary array (§5.2): x moves right, w moves down,
        acc_reg accumulates in place."""
        zero = self.spec.idle_zero
        report = self._new_report()
        nxt: dict = {}
        for r in range(self.R):
            for c in range(self.C):
                pe = self.pe[r][c]
                active = r < r_act and c < c_act
                if c == 0:
                    x, x_valid = left[r]
                else:
                    west = self.pe[r][c - 1].x_reg
                    x, x_valid = west.value, west.valid
                if r == 0:
                    w, w_valid = top[c]
                else:
                    north = self.pe[r - 1][c].w_reg
                    w, w_valid = north.value, north.valid
                x_valid = x_valid and active
                w_valid = w_valid and active
                if x_valid != w_valid:
                    raise AssertionError(f"PE({r},{c}) got only one operand in cycle {s}")
                acc_state = pe.p_reg.next_state(0, False, moving=False, idle_zero=zero)
                if x_valid and w_valid:
                    k = s - r - c
                    product, mt = pe.mult.evaluate(x, w)
                    a_in = 0 if k == 0 else pe.p_reg.value
                    result, overflow, at = pe.adder.evaluate(a_in, product & self.acc_mask)
                    report.toggles[MULT] += mt
                    report.toggles[ADDER] += at
                    report.overflows += int(overflow)
                    report.enabled.append((r, c, x, w))
                    acc_state = pe.p_reg.next_state(result, True, moving=False, idle_zero=zero)
                nxt[(r, c, X_REG)] = pe.x_reg.next_state(x, x_valid, moving=True, idle_zero=zero)
                nxt[(r, c, W_REG)] = pe.w_reg.next_state(w, w_valid, moving=True, idle_zero=zero)
                nxt[(r, c, P_REG)] = acc_state
        self._commit_all(nxt, report)
        return report


# --------------------------------------------------------------------------------------------------
# Layer driver: folds, edges, ofmap buffer
# --------------------------------------------------------------------------------------------------


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _check_inputs(ops: GemmOperands, spec: ArraySpec) -> None:
    if spec.dataflow not in ("os", "ws", "is"):
        raise ValueError(f"unknown dataflow {spec.dataflow!r}")
    if spec.rows < 1 or spec.cols < 1:
        raise ValueError("array must have at least one row and column")
    if spec.acc_bits < spec.x_bits + spec.w_bits:
        raise ValueError("acc_bits must be >= x_bits + w_bits (datapath.md §1)")
    if min(ops.groups, ops.M, ops.K, ops.N) < 1:
        raise ValueError("empty GEMM")


def _check_range(block: np.ndarray, bits: int, signed: bool, what: str) -> None:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if block.size and (int(block.min()) < lo or int(block.max()) > hi):
        raise ValueError(f"{what} values outside [{lo}, {hi}]")


class _Run:
    """Mutable state of one layer run: the array, counters, trace rows, ofmap."""

    def __init__(self, ops: GemmOperands, spec: ArraySpec) -> None:
        self.ops = ops
        self.spec = spec
        self.array = SystolicArray(spec)
        self.totals = [0, 0, 0, 0, 0]
        self.trace_rows: list[list[int]] = []
        self.overflows = 0
        self.folds = 0
        self.cycles_compute = 0
        self.cycles_active = 0
        self.y = np.zeros((ops.groups, ops.M, ops.N), dtype=np.int64)

    def record(self, report: CycleReport) -> None:
        for i in range(5):
            self.totals[i] += report.toggles[i]
        self.overflows += report.overflows
        self.trace_rows.append(list(report.toggles))

    def x_block(self, g: int, m0: int, m1: int, k0: int, k1: int) -> np.ndarray:
        block = np.asarray(self.ops.x_block(g, m0, m1, k0, k1), dtype=np.int64)
        _check_range(block, self.spec.x_bits, self.spec.x_signed, "X")
        return block

    def w_block(self, g: int, k0: int, k1: int, n0: int, n1: int) -> np.ndarray:
        block = np.asarray(self.ops.w_block(g, k0, k1, n0, n1), dtype=np.int64)
        _check_range(block, self.spec.w_bits, self.spec.w_signed, "W")
        return block

    # ---- os -----------------------------------------------------------------------------------

    def fold_os(self, g: int, m0: int, r_act: int, n0: int, c_act: int) -> None:
        spec, arr = self.spec, self.array
        R, C, K = spec.rows, spec.cols, self.ops.K
        X = self.x_block(g, m0, m0 + r_act, 0, K)  # [r_act, K]
        W = self.w_block(g, 0, K, n0, n0 + c_act)  # [K, c_act]
        xb, wb = spec.x_bits, spec.w_bits
        L = R + C + K - 2
        last_valid = -1
        for s in range(L):
            left = []
            for r in range(R):
                k = s - r
                valid = r < r_act and 0 <= k < K
                left.append((pattern_of(int(X[r, k]), xb), True) if valid else NO_DATA)
            top = []
            for c in range(C):
                k = s - c
                valid = c < c_act and 0 <= k < K
                top.append((pattern_of(int(W[k, c]), wb), True) if valid else NO_DATA)
            report = arr.step_os(left, top, s, r_act, c_act)
            # §5.2 closed form: PE (r,c) enabled iff 0 <= s-r-c < K in the active region, with
            # operands X[m0+r, k], W[k, n0+c], k = s-r-c.
            expected = sorted(
                (r, c, pattern_of(int(X[r, s - r - c]), xb), pattern_of(int(W[s - r - c, c]), wb))
                for r in range(r_act)
                for c in range(c_act)
                if 0 <= s - r - c < K
            )
            if sorted(report.enabled) != expected:
                raise AssertionError(f"os fold cycle {s}: systolic movement disagrees with §5.2")
            if report.valid_load:
                last_valid = s
            self.record(report)
        # Parallel readout of the stationary accumulators (no counted toggles); acc_reg keeps it.
        for r in range(r_act):
            for c in range(c_act):
                self.y[g, m0 + r, n0 + c] = signed_value(arr.pe[r][c].p_reg.value, spec.acc_bits)
        self.cycles_compute += L
        self.cycles_active += last_valid + 1

    # ---- ws / is ------------------------------------------------------------------------------

    def fold_ws_is(
        self, g: int, k0: int, r_act: int, j0: int, c_act: int, first_kfold: bool, ofmap: dict
    ) -> None:
        """One ws/is fold. ``j0`` is n0 (ws) or m0 (is); ``ofmap`` maps (t, c) -> pattern for the
        current output tile."""
        spec, arr = self.spec, self.array
        R, C = spec.rows, spec.cols
        ws = spec.dataflow == "ws"
        if ws:
            T = self.ops.M
            Wt = self.w_block(g, k0, k0 + r_act, j0, j0 + c_act)  # [r_act, c_act]
            Xt = self.x_block(g, 0, T, k0, k0 + r_act)  # [T, r_act]
            s_bits, h_bits = spec.w_bits, spec.x_bits

            def S(r: int, c: int) -> int:  # stationary S[r,c] = W[k0+r, n0+c]
                return pattern_of(int(Wt[r, c]), s_bits)

            def H(t: int, r: int) -> int:  # moving H[t,r] = X[t, k0+r]
                return pattern_of(int(Xt[t, r]), h_bits)

        else:
            T = self.ops.N
            Xt = self.x_block(g, j0, j0 + c_act, k0, k0 + r_act)  # [c_act, r_act]
            Wt = self.w_block(g, k0, k0 + r_act, 0, T)  # [r_act, T]
            s_bits, h_bits = spec.x_bits, spec.w_bits

            def S(r: int, c: int) -> int:  # stationary S[r,c] = X[m0+c, k0+r]
                return pattern_of(int(Xt[c, r]), s_bits)

            def H(t: int, r: int) -> int:  # moving H[t,r] = W[k0+r, t]
                return pattern_of(int(Wt[r, t]), h_bits)

        L = 2 * R + C + T - 2
        last_valid = -1
        # Preload, fold cycles p = 0 … R-1.
        for p in range(R):
            top = []
            for c in range(C):
                if p >= R - r_act and c < c_act:
                    top.append((S(R - 1 - p, c), True))
                else:
                    top.append(NO_DATA)
            report = arr.step_preload(top, r_act, c_act)
            if report.enabled:
                raise AssertionError("no PE may be enabled during preload")
            if report.valid_load:
                last_valid = p
            self.record(report)
        # After preload, row r < r_act holds S[r, c] (§5.1).
        for r in range(r_act):
            for c in range(c_act):
                if arr._stationary(arr.pe[r][c]).value != S(r, c):
                    raise AssertionError(f"preload left the wrong S in PE({r},{c})")
        # Stream, fold cycles R + s, s = 0 … T+R+C-3.
        for s in range(T + R + C - 2):
            cycle = R + s
            left = []
            for r in range(R):
                t = s - r
                left.append((H(t, r), True) if r < r_act and 0 <= t < T else NO_DATA)
            report = arr.step_stream(left, r_act, c_act)
            # §5.1 closed form: PE (r,c) receives H[s-r-c, r], valid iff 0 <= s-r-c < T in the
            # active region, and is enabled exactly then.
            expected = []
            for r in range(r_act):
                for c in range(c_act):
                    t = s - r - c
                    if 0 <= t < T:
                        ops_pair = (H(t, r), S(r, c)) if ws else (S(r, c), H(t, r))
                        expected.append((r, c) + ops_pair)
            if sorted(report.enabled) != sorted(expected):
                raise AssertionError(f"{spec.dataflow} stream cycle {s}: disagrees with §5.1")
            # Results leaving the bottom of the active rows, and the edge accumulation adders.
            for c, column_result in report.leaving:
                t = s - (r_act - 1) - c
                if not (0 <= t < T) or cycle != R + t + r_act - 1 + c:
                    raise AssertionError("column result left at the wrong time")
                if first_kfold:
                    ofmap[(t, c)] = column_result
                else:
                    out, overflow, at = arr.edge_accumulate(c, ofmap[(t, c)], column_result)
                    ofmap[(t, c)] = out
                    report.toggles[ADDER] += at
                    report.overflows += int(overflow)
            if report.valid_load:
                last_valid = cycle
            self.record(report)
        self.cycles_compute += L
        self.cycles_active += last_valid + 1

    # ---- layer --------------------------------------------------------------------------------

    def run(self) -> None:
        spec, ops = self.spec, self.ops
        R, C = spec.rows, spec.cols
        G, M, K, N = ops.groups, ops.M, ops.K, ops.N
        acc = spec.acc_bits
        for g in range(G):
            if spec.dataflow == "os":
                # rows <-> M, cols <-> N; column-dim (N) folds outer, row-dim (M) folds inner.
                for j in range(_ceil_div(N, C)):
                    n0 = j * C
                    for i in range(_ceil_div(M, R)):
                        m0 = i * R
                        self.folds += 1
                        self.fold_os(g, m0, min(R, M - m0), n0, min(C, N - n0))
            else:
                # rows <-> K; cols <-> N (ws) or M (is); K-folds of one output tile consecutive.
                cols_dim = N if spec.dataflow == "ws" else M
                T = M if spec.dataflow == "ws" else N
                for j in range(_ceil_div(cols_dim, C)):
                    j0 = j * C
                    c_act = min(C, cols_dim - j0)
                    ofmap: dict = {}
                    for i in range(_ceil_div(K, R)):
                        k0 = i * R
                        self.folds += 1
                        self.fold_ws_is(g, k0, min(R, K - k0), j0, c_act, i == 0, ofmap)
                    for t in range(T):
                        for c in range(c_act):
                            value = signed_value(ofmap[(t, c)], acc)
                            if spec.dataflow == "ws":
                                self.y[g, t, j0 + c] = value
                            else:
                                self.y[g, j0 + c, t] = value


def reference_simulate_gemm(ops: GemmOperands, spec: ArraySpec, trace: bool = True) -> GemmResult:
    """Simulate one (grouped) GEMM layer on the array, cycle by cycle, PE by PE, gate by gate.

    Parameters
    ----------
    ops : GemmOperands
        ``X`` [G, M, K] and ``W`` [G, K, N] integer VALUES that fit ``spec.x_bits`` /
        ``spec.w_bits`` with signedness ``spec.x_signed`` / ``spec.w_signed``.
    spec : ArraySpec
        Array shape, dataflow, idle mode, widths (bits), overflow mode.
    trace : bool
        Also return the per-cycle toggles per class, int64 [cycles_compute, 5].

    Returns
    -------
    GemmResult
        Outputs (signed acc_bits values), toggles per class, overflows, folds, cycles (compute:
        sum of fold windows; active: sum of last valid load + 1), MACs and the trace.
    """
    _check_inputs(ops, spec)
    run = _Run(ops, spec)
    run.run()
    names = class_names(spec.dataflow)
    trace_arr = None
    if trace:
        trace_arr = np.array(run.trace_rows, dtype=np.int64).reshape(len(run.trace_rows), 5)
    if len(run.trace_rows) != run.cycles_compute:
        raise AssertionError("trace length differs from cycles_compute")
    return GemmResult(
        y=run.y,
        toggles={name: int(v) for name, v in zip(names, run.totals)},
        overflows=int(run.overflows),
        folds=int(run.folds),
        cycles_compute=int(run.cycles_compute),
        cycles_active=int(run.cycles_active),
        macs=int(ops.groups * ops.M * ops.K * ops.N),
        trace=trace_arr,
    )
