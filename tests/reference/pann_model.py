"""Slow reference model of a systolic array of ``pann`` PEs (docs/pann.md), register-transfer level.

One Python object per PE, holding its registers (bit patterns plus the valid bit of their last
load), its chain of A gate-level ripple-carry adders (each remembering its previous node vector)
and, in ``dual_accumulator`` mode, a second accumulator register. The array is stepped ONE CYCLE AT
A TIME, every PE in every cycle, with synchronous register updates (next state from the current
state, then commit) and toggles counted by comparing register contents / node vectors before and
after — never by formula. Lock-step timing is not computed either: a step begins with the shift of
the mac schedule, then the array keeps cycling, shift enable off, while any PE still has additions
left; the step ends in the first cycle after which no PE is busy. Each PE counts its remaining
additions itself and reads its operands from its own registers in the later cycles of a step.

The closed-form schedule of datapath.md §5 is used only to drive the array edges and to assert that
the systolic movement delivers to every PE the operands the page says it receives.

Entry point: :func:`reference_simulate_pann`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accelsim.pe.pann import PannParams
from accelsim.sim.types import ArraySpec, GemmOperands, GemmResult
from tests.reference.gates import (
    AND,
    NOT,
    XOR,
    from_bits,
    hamming,
    pattern_of,
    popcount,
    ripple_carry_adder,
    signed_value,
    to_bits,
)

# Trace / counter columns (pann.md §5): x_reg, w_reg, psum_reg|acc_reg, adder.
X_REG, W_REG, P_REG, ADDER = range(4)

NO_DATA = (0, False)  # what an edge presents when it has nothing valid


# --------------------------------------------------------------------------------------------------
# Clocked and combinational units
# --------------------------------------------------------------------------------------------------


class Register:
    """A clocked register: a ``bits``-bit pattern and the valid bit of its last load."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.value = 0  # all registers are 0 at the start of a layer
        self.valid = False

    def next_state(self, data: int, valid: bool, moving: bool, idle_zero: bool) -> tuple:
        """State after this cycle's edge when the register is clocked (datapath.md §4): valid
        data is loaded; otherwise a moving register keeps its value (hold) or loads 0 (zero), a
        stationary one keeps its value. Returns (value, valid, loaded valid data)."""
        if valid:
            return pattern_of(data, self.bits), True, True
        if moving and idle_zero:
            return 0, False, False
        return self.value, False, False

    def load(self, data: int) -> tuple:
        """Load valid ``data`` (an accumulator's result, a pass-through or a clear)."""
        return pattern_of(data, self.bits), True, True

    def hold(self) -> tuple:
        """Not clocked this cycle (shift enable off): value and valid bit unchanged."""
        return self.value, self.valid, False

    def commit(self, state: tuple) -> int:
        """Clock edge: take ``state``; returns the toggles popcount(old ^ new)."""
        new_value, new_valid, _ = state
        toggles = popcount(self.value ^ new_value)
        self.value = new_value
        self.valid = new_valid
        return toggles


def complement(pattern: int, bits: int) -> int:
    """Bitwise NOT of a ``bits``-wide pattern, gate by gate."""
    return from_bits([NOT(b) for b in to_bits(pattern, bits)])


class Adder:
    """An ``acc_bits`` ripple-carry adder with carry-in (class ``adder``, pann.md §2), with the
    overflow rule and saturation of datapath.md §3; remembers its previous node vector."""

    def __init__(self, bits: int, saturate: bool) -> None:
        self.bits = bits
        self.saturate = saturate
        self.prev_nodes = [0] * (2 * bits)  # the node vector for inputs (0, 0), carry-in 0

    def evaluate(self, a: int, b: int, cin: int) -> tuple[int, bool, int]:
        """a + b + cin on ``bits``-bit patterns: (result pattern, overflow, toggles)."""
        a_bits, b_bits = to_bits(a, self.bits), to_bits(b, self.bits)
        sums, carries = ripple_carry_adder(a_bits, b_bits, cin)
        nodes = sums + carries
        toggles = hamming(self.prev_nodes, nodes)
        self.prev_nodes = nodes
        sign_a, sign_b, sign_s = a_bits[-1], b_bits[-1], sums[-1]
        overflow = AND(NOT(XOR(sign_a, sign_b)), XOR(sign_s, sign_a)) == 1
        result = from_bits(sums)
        if overflow and self.saturate:
            top = 1 << (self.bits - 1)
            result = pattern_of(top - 1 if sign_a == 0 else -top, self.bits)
        return result, overflow, toggles


class PannPE:
    """One PE: x_reg, w_reg, the accumulator P (psum_reg / acc_reg), N (dual mode only), a chain
    of A adders, an output subtractor (os, dual) and its current job (additions left, target)."""

    def __init__(self, spec: ArraySpec, params: PannParams) -> None:
        self.x_reg = Register(spec.x_bits)
        self.w_reg = Register(spec.w_bits)
        self.p_reg = Register(spec.acc_bits)
        self.n_reg = Register(spec.acc_bits) if params.sign == "dual_accumulator" else None
        self.adders = [Adder(spec.acc_bits, spec.saturate) for _ in range(params.adders)]
        self.out_sub = Adder(spec.acc_bits, spec.saturate)
        self.left = 0  # additions still to do in this step
        self.target = "p"  # the accumulator the chain writes: "p" or "n"
        self.k = -1  # os: reduction index of this step's MAC
        self.y = 0  # os: the read-out value

    def registers(self) -> list[tuple[str, int, Register]]:
        regs = [("x", X_REG, self.x_reg), ("w", W_REG, self.w_reg), ("p", P_REG, self.p_reg)]
        if self.n_reg is not None:
            regs.append(("n", P_REG, self.n_reg))
        return regs


@dataclass
class CycleReport:
    """What happened in one cycle of the whole array."""

    toggles: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    overflows: int = 0
    additions: int = 0
    valid_load: bool = False  # some register loaded valid data this cycle
    enabled: list = field(default_factory=list)  # step's first cycle: (r, c, x value, w value)


# --------------------------------------------------------------------------------------------------
# The array
# --------------------------------------------------------------------------------------------------


class PannArray:
    """R×C pann PEs, plus per physical column a dual subtractor and an edge accumulation adder."""

    def __init__(self, spec: ArraySpec, params: PannParams) -> None:
        self.spec = spec
        self.params = params
        self.dual = params.sign == "dual_accumulator"
        self.A = params.adders
        self.R, self.C = spec.rows, spec.cols
        self.pe = [[PannPE(spec, params) for _ in range(self.C)] for _ in range(self.R)]
        self.col_sub = [Adder(spec.acc_bits, spec.saturate) for _ in range(self.C)]
        self.edge_adders = [Adder(spec.acc_bits, spec.saturate) for _ in range(self.C)]

    # ---- helpers ------------------------------------------------------------------------------

    def w_value(self, pattern: int) -> int:
        return signed_value(pattern, self.spec.w_bits) if self.spec.w_signed else pattern

    def _stationary(self, pe: PannPE) -> Register:
        return pe.w_reg if self.spec.dataflow == "ws" else pe.x_reg

    def _moving(self, pe: PannPE) -> Register:
        return pe.x_reg if self.spec.dataflow == "ws" else pe.w_reg

    def _commit_all(self, nxt: dict, report: CycleReport) -> None:
        """Clock edge for every register of every PE; ``nxt`` lacks a register = it holds."""
        for r in range(self.R):
            for c in range(self.C):
                for name, cls, reg in self.pe[r][c].registers():
                    state = nxt.get((r, c, name), reg.hold())
                    report.toggles[cls] += reg.commit(state)
                    report.valid_load = report.valid_load or state[2]

    def _chain(self, pe: PannPE, base: int, x: int, negative: bool, report: CycleReport) -> int:
        """One addition cycle of ``pe``: min(A, left) adders in a chain starting from ``base``;
        adds (or, in subtract mode for negative w, subtracts) x. Returns the chain's output."""
        bits = self.spec.acc_bits
        subtract = negative and not self.dual
        b = complement(pattern_of(x, bits), bits) if subtract else pattern_of(x, bits)
        cin = 1 if subtract else 0
        k = min(self.A, pe.left)
        v = base
        for i in range(k):
            v, overflow, toggles = pe.adders[i].evaluate(v, b, cin)
            report.toggles[ADDER] += toggles
            report.overflows += int(overflow)
            report.additions += 1
        pe.left -= k
        return v

    def _start(self, pe: PannPE, x: int, w: int, bases: tuple[int, int], clocked: bool,
               report: CycleReport, nxt: dict, r: int, c: int) -> None:
        """An enabled PE's first cycle of a step. ``bases`` = the step's (P, N) inputs; if
        ``clocked`` every accumulator loads its base (ws/is pass-through, os clear), then the
        chain's target loads addition cycle 0's result (if w != 0)."""
        pe.left = abs(w)
        pe.target = "n" if (self.dual and w < 0) else "p"
        p_in, n_in = bases
        if clocked:
            nxt[(r, c, "p")] = pe.p_reg.load(p_in)
            if self.dual:
                nxt[(r, c, "n")] = pe.n_reg.load(n_in)
        if pe.left > 0:
            base = n_in if pe.target == "n" else p_in
            result = self._chain(pe, base, x, w < 0, report)
            nxt[(r, c, pe.target)] = (pe.n_reg if pe.target == "n" else pe.p_reg).load(result)

    def _continue(self, pe: PannPE, report: CycleReport, nxt: dict, r: int, c: int) -> None:
        """A busy PE's later cycle: the next addition cycle on its own accumulator, with x and w
        read from its own registers."""
        x = pe.x_reg.value
        w = self.w_value(pe.w_reg.value)
        if pe.left > abs(w):
            raise AssertionError("PE lost its operands")
        reg = pe.n_reg if pe.target == "n" else pe.p_reg
        nxt[(r, c, pe.target)] = reg.load(self._chain(pe, reg.value, x, w < 0, report))

    def busy(self) -> bool:
        return any(pe.left > 0 for row in self.pe for pe in row)

    def cycle_busy(self) -> CycleReport:
        """A later cycle of a step: shift enable off, busy PEs do their next addition cycle."""
        report = CycleReport()
        nxt: dict = {}
        for r in range(self.R):
            for c in range(self.C):
                if self.pe[r][c].left > 0:
                    self._continue(self.pe[r][c], report, nxt, r, c)
        self._commit_all(nxt, report)
        return report

    # ---- ws / is ------------------------------------------------------------------------------

    def cycle_preload(self, top: list[tuple[int, bool]], r_act: int, c_act: int) -> CycleReport:
        """One preload step (one cycle): the stationary registers shift down each column; every
        other register is a moving register receiving nothing."""
        zero = self.spec.idle_zero
        report = CycleReport()
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
                for name, _, reg in pe.registers():
                    if reg is stat:
                        nxt[(r, c, name)] = reg.next_state(data, valid, True, zero)
                    else:
                        nxt[(r, c, name)] = reg.next_state(0, False, True, zero)
        self._commit_all(nxt, report)
        return report

    def cycle_stream_first(self, left: list[tuple[int, bool]], r_act: int,
                           c_act: int) -> CycleReport:
        """The first cycle of a streaming step: the moving operand enters at the left and moves
        right, psums (pairs) move down, enabled PEs start their additions."""
        spec = self.spec
        zero = spec.idle_zero
        report = CycleReport()
        nxt: dict = {}
        for r in range(self.R):
            for c in range(self.C):
                pe = self.pe[r][c]
                stat, mov = self._stationary(pe), self._moving(pe)
                if c == 0:
                    h, valid = left[r]
                else:
                    west = self._moving(self.pe[r][c - 1])
                    h, valid = west.value, west.valid
                valid = valid and r < r_act and c < c_act
                nxt[(r, c, "x" if mov is pe.x_reg else "w")] = mov.next_state(h, valid, True, zero)
                nxt[(r, c, "w" if mov is pe.x_reg else "x")] = stat.next_state(0, False, False,
                                                                                zero)
                if valid:
                    if spec.dataflow == "ws":
                        x, w = h, self.w_value(stat.value)
                    else:
                        x, w = stat.value, self.w_value(h)
                    if r == 0:
                        bases = (0, 0)
                    else:
                        north = self.pe[r - 1][c]
                        if not north.p_reg.valid:
                            raise AssertionError(f"PE({r},{c}) enabled but psum_in not valid")
                        bases = (north.p_reg.value,
                                 north.n_reg.value if north.n_reg is not None else 0)
                    report.enabled.append((r, c, x, w))
                    self._start(pe, x, w, bases, True, report, nxt, r, c)
                else:
                    for name, _, reg in pe.registers():
                        if reg is pe.p_reg or reg is pe.n_reg:
                            nxt[(r, c, name)] = reg.next_state(0, False, True, zero)
        self._commit_all(nxt, report)
        return report

    def column_result(self, c: int, r_act: int, report: CycleReport) -> int:
        """The bottom edge of column c at the end of a step: the result leaving row r_act-1,
        through the dual subtractor P - N (toggles in this cycle)."""
        pe = self.pe[r_act - 1][c]
        if not self.dual:
            return pe.p_reg.value
        bits = self.spec.acc_bits
        result, overflow, toggles = self.col_sub[c].evaluate(
            pe.p_reg.value, complement(pe.n_reg.value, bits), 1)
        report.toggles[ADDER] += toggles
        report.overflows += int(overflow)
        return result

    # ---- os -----------------------------------------------------------------------------------

    def cycle_os_first(self, left, top, s: int, r_act: int, c_act: int) -> CycleReport:
        """The first cycle of an os step: x moves right, w moves down, enabled PEs start their
        additions on their stationary accumulator(s) (cleared on the fold's first MAC)."""
        zero = self.spec.idle_zero
        report = CycleReport()
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
                    wp, w_valid = top[c]
                else:
                    north = self.pe[r - 1][c].w_reg
                    wp, w_valid = north.value, north.valid
                x_valid = x_valid and active
                w_valid = w_valid and active
                if x_valid != w_valid:
                    raise AssertionError(f"PE({r},{c}) got only one operand in cycle {s}")
                nxt[(r, c, "x")] = pe.x_reg.next_state(x, x_valid, True, zero)
                nxt[(r, c, "w")] = pe.w_reg.next_state(wp, w_valid, True, zero)
                if x_valid:
                    k = s - r - c
                    w = self.w_value(wp)
                    pe.k = k
                    report.enabled.append((r, c, x, w))
                    if k == 0:  # the fold's first MAC clears the accumulator(s)
                        self._start(pe, x, w, (0, 0), True, report, nxt, r, c)
                    else:  # stationary: only the chain's target loads
                        bases = (pe.p_reg.value, pe.n_reg.value if pe.n_reg is not None else 0)
                        self._start(pe, x, w, bases, False, report, nxt, r, c)
                else:
                    pe.k = -1
        self._commit_all(nxt, report)
        return report

    def os_outputs(self, K: int, report: CycleReport) -> None:
        """End of a step: each PE whose MAC of this step was its last (k == K-1) produces its
        output — through its output subtractor P - N in dual mode (toggles in this cycle)."""
        bits = self.spec.acc_bits
        for row in self.pe:
            for pe in row:
                if pe.k != K - 1:
                    continue
                if self.dual:
                    pe.y, overflow, toggles = pe.out_sub.evaluate(
                        pe.p_reg.value, complement(pe.n_reg.value, bits), 1)
                    report.toggles[ADDER] += toggles
                    report.overflows += int(overflow)
                else:
                    pe.y = pe.p_reg.value


# --------------------------------------------------------------------------------------------------
# Layer driver: folds, steps, edges, ofmap buffer
# --------------------------------------------------------------------------------------------------


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _check_range(block: np.ndarray, bits: int, signed: bool, what: str) -> None:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if block.size and (int(block.min()) < lo or int(block.max()) > hi):
        raise ValueError(f"{what} values outside [{lo}, {hi}]")


class _Run:
    """Mutable state of one layer run: the array, counters, trace rows, ofmap."""

    def __init__(self, ops: GemmOperands, spec: ArraySpec, params: PannParams) -> None:
        self.ops, self.spec, self.params = ops, spec, params
        self.array = PannArray(spec, params)
        self.totals = [0, 0, 0, 0]
        self.trace_rows: list[list[int]] = []
        self.overflows = 0
        self.additions = 0
        self.folds = 0
        self.cycles_compute = 0
        self.cycles_active = 0
        self.y = np.zeros((ops.groups, ops.M, ops.N), dtype=np.int64)

    def record(self, report: CycleReport) -> None:
        for i in range(4):
            self.totals[i] += report.toggles[i]
        self.overflows += report.overflows
        self.additions += report.additions
        self.trace_rows.append(list(report.toggles))

    def x_block(self, g, m0, m1, k0, k1) -> np.ndarray:
        block = np.asarray(self.ops.x_block(g, m0, m1, k0, k1), dtype=np.int64)
        _check_range(block, self.spec.x_bits, False, "X")
        return block

    def w_block(self, g, k0, k1, n0, n1) -> np.ndarray:
        block = np.asarray(self.ops.w_block(g, k0, k1, n0, n1), dtype=np.int64)
        _check_range(block, self.spec.w_bits, self.spec.w_signed, "W")
        return block

    def run_step(self, first_cycle, end_of_step) -> tuple[int, int, list]:
        """Run one lock-step step: ``first_cycle()`` then busy cycles until no PE is busy;
        ``end_of_step(report)`` adds the edge work to the last cycle. Returns (cycles, index of
        the last cycle with a valid register load or -1, the PEs enabled in the step)."""
        reports = [first_cycle()]
        while self.array.busy():
            reports.append(self.array.cycle_busy())
        end_of_step(reports[-1])
        last_valid = -1
        for i, report in enumerate(reports):
            if report.valid_load:
                last_valid = i
            self.record(report)
        return len(reports), last_valid, reports[0].enabled

    # ---- os -----------------------------------------------------------------------------------

    def fold_os(self, g, m0, r_act, n0, c_act) -> None:
        spec, arr = self.spec, self.array
        R, C, K = spec.rows, spec.cols, self.ops.K
        X = self.x_block(g, m0, m0 + r_act, 0, K)
        W = self.w_block(g, 0, K, n0, n0 + c_act)
        xb, wb = spec.x_bits, spec.w_bits
        cycle = 0
        last_valid = -1
        for s in range(R + C + K - 2):
            left = [(pattern_of(int(X[r, s - r]), xb), True)
                    if r < r_act and 0 <= s - r < K else NO_DATA for r in range(R)]
            top = [(pattern_of(int(W[s - c, c]), wb), True)
                   if c < c_act and 0 <= s - c < K else NO_DATA for c in range(C)]
            n, lv, enabled = self.run_step(lambda: arr.cycle_os_first(left, top, s, r_act, c_act),
                                           lambda rep: arr.os_outputs(K, rep))
            expected = sorted((r, c, int(X[r, s - r - c]), int(W[s - r - c, c]))
                              for r in range(r_act) for c in range(c_act) if 0 <= s - r - c < K)
            if sorted(enabled) != expected:
                raise AssertionError(f"os step {s}: systolic movement disagrees with §5.2")
            if lv >= 0:
                last_valid = cycle + lv
            cycle += n
        for r in range(r_act):
            for c in range(c_act):
                self.y[g, m0 + r, n0 + c] = signed_value(arr.pe[r][c].y, spec.acc_bits)
        self.cycles_compute += cycle
        self.cycles_active += last_valid + 1

    # ---- ws / is ------------------------------------------------------------------------------

    def fold_ws_is(self, g, k0, r_act, j0, c_act, first_kfold, ofmap) -> None:
        spec, arr = self.spec, self.array
        R, C = spec.rows, spec.cols
        ws = spec.dataflow == "ws"
        if ws:
            T = self.ops.M
            Wt = self.w_block(g, k0, k0 + r_act, j0, j0 + c_act)  # S[r, c] = W[k0+r, n0+c]
            Xt = self.x_block(g, 0, T, k0, k0 + r_act)  # H[t, r] = X[t, k0+r]
            S = lambda r, c: int(Wt[r, c])  # noqa: E731
            H = lambda t, r: int(Xt[t, r])  # noqa: E731
            s_bits, h_bits = spec.w_bits, spec.x_bits
        else:
            T = self.ops.N
            Xt = self.x_block(g, j0, j0 + c_act, k0, k0 + r_act)  # S[r, c] = X[m0+c, k0+r]
            Wt = self.w_block(g, k0, k0 + r_act, 0, T)  # H[t, r] = W[k0+r, t]
            S = lambda r, c: int(Xt[c, r])  # noqa: E731
            H = lambda t, r: int(Wt[r, t])  # noqa: E731
            s_bits, h_bits = spec.x_bits, spec.w_bits
        cycle = 0
        last_valid = -1
        for p in range(R):
            top = [(pattern_of(S(R - 1 - p, c), s_bits), True)
                   if p >= R - r_act and c < c_act else NO_DATA for c in range(C)]
            n, lv, enabled = self.run_step(lambda: arr.cycle_preload(top, r_act, c_act),
                                           lambda rep: None)
            if enabled or n != 1:
                raise AssertionError("preload steps enable no PE and last one cycle")
            if lv >= 0:
                last_valid = cycle + lv
            cycle += n
        for r in range(r_act):
            for c in range(c_act):
                if arr._stationary(arr.pe[r][c]).value != pattern_of(S(r, c), s_bits):
                    raise AssertionError(f"preload left the wrong S in PE({r},{c})")
        for s in range(T + R + C - 2):
            left = [(pattern_of(H(s - r, r), h_bits), True)
                    if r < r_act and 0 <= s - r < T else NO_DATA for r in range(R)]

            def edge(report: CycleReport, s=s) -> None:
                for c in range(c_act):
                    t = s - (r_act - 1) - c
                    if not 0 <= t < T:
                        continue
                    result = arr.column_result(c, r_act, report)
                    if first_kfold:
                        ofmap[(t, c)] = result
                    else:
                        out, overflow, toggles = arr.edge_adders[c].evaluate(ofmap[(t, c)],
                                                                             result, 0)
                        ofmap[(t, c)] = out
                        report.toggles[ADDER] += toggles
                        report.overflows += int(overflow)

            n, lv, enabled = self.run_step(lambda: arr.cycle_stream_first(left, r_act, c_act),
                                           edge)
            expected = []
            for r in range(r_act):
                for c in range(c_act):
                    t = s - r - c
                    if 0 <= t < T:
                        x, w = (H(t, r), S(r, c)) if ws else (S(r, c), H(t, r))
                        expected.append((r, c, x, w))
            if sorted(enabled) != sorted(expected):
                raise AssertionError(f"{spec.dataflow} stream step {s}: disagrees with §5.1")
            if lv >= 0:
                last_valid = cycle + lv
            cycle += n
        self.cycles_compute += cycle
        self.cycles_active += last_valid + 1

    # ---- layer --------------------------------------------------------------------------------

    def run(self) -> None:
        spec, ops = self.spec, self.ops
        R, C = spec.rows, spec.cols
        G, M, K, N = ops.groups, ops.M, ops.K, ops.N
        for g in range(G):
            if spec.dataflow == "os":
                for j in range(_ceil_div(N, C)):
                    for i in range(_ceil_div(M, R)):
                        self.folds += 1
                        self.fold_os(g, i * R, min(R, M - i * R), j * C, min(C, N - j * C))
            else:
                cols_dim = N if spec.dataflow == "ws" else M
                T = M if spec.dataflow == "ws" else N
                for j in range(_ceil_div(cols_dim, C)):
                    j0 = j * C
                    c_act = min(C, cols_dim - j0)
                    ofmap: dict = {}
                    for i in range(_ceil_div(K, R)):
                        self.folds += 1
                        self.fold_ws_is(g, i * R, min(R, K - i * R), j0, c_act, i == 0, ofmap)
                    for t in range(T):
                        for c in range(c_act):
                            value = signed_value(ofmap[(t, c)], spec.acc_bits)
                            if spec.dataflow == "ws":
                                self.y[g, t, j0 + c] = value
                            else:
                                self.y[g, j0 + c, t] = value


def reference_simulate_pann(
    ops: GemmOperands, spec: ArraySpec, params: PannParams, trace: bool = True
) -> GemmResult:
    """Simulate one (grouped) GEMM layer on an array of pann PEs, cycle by cycle, PE by PE, gate by
    gate (docs/pann.md).

    Parameters
    ----------
    ops : GemmOperands
        ``X`` [G, M, K] unsigned values fitting ``spec.x_bits``; ``W`` [G, K, N] repetition
        counts fitting ``spec.w_bits`` (signed iff ``spec.w_signed``).
    spec : ArraySpec
        Array shape, dataflow, idle mode, widths (bits), overflow mode; ``x_signed`` False.
    params : PannParams
        Adders per PE and sign mode.
    trace : bool
        Also return the per-cycle toggles per class, int64 [cycles_compute, 4].

    Returns
    -------
    GemmResult
        Outputs, toggles per class (x_reg, w_reg, psum_reg|acc_reg, adder), overflows, folds,
        cycles (compute: all cycles stepped; active: per fold last valid load + 1), MACs,
        additions and the trace.
    """
    if spec.x_signed:
        raise ValueError("pann needs unsigned x")
    if spec.acc_bits < spec.x_bits + spec.w_bits:
        raise ValueError("acc_bits must be >= x_bits + w_bits")
    if min(ops.groups, ops.M, ops.K, ops.N) < 1 or params.adders < 1:
        raise ValueError("empty GEMM or no adders")
    run = _Run(ops, spec, params)
    run.run()
    names = ("x_reg", "w_reg", "acc_reg" if spec.dataflow == "os" else "psum_reg", "adder")
    if len(run.trace_rows) != run.cycles_compute:
        raise AssertionError("trace length differs from cycles_compute")
    trace_arr = np.array(run.trace_rows, dtype=np.int64).reshape(-1, 4) if trace else None
    return GemmResult(
        y=run.y,
        toggles={name: int(v) for name, v in zip(names, run.totals)},
        overflows=int(run.overflows),
        folds=int(run.folds),
        cycles_compute=int(run.cycles_compute),
        cycles_active=int(run.cycles_active),
        macs=int(ops.groups * ops.M * ops.K * ops.N),
        trace=trace_arr,
        additions=int(run.additions),
    )
