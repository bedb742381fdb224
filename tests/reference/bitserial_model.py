"""Slow reference model of a systolic array of ``bitserial`` PEs (docs/bitserial.md), register-
transfer and gate level.

One Python object per PE, holding its registers (bit patterns plus the valid bit of their last
load), its w_bits AND gates (class ``mult``) and its acc_bits shift-add ripple-carry adder (class
``adder``), each remembering its previous node vector. The array is stepped ONE CYCLE AT A TIME,
every PE in every cycle, with synchronous register updates (next state from the current state, then
commit) and toggles counted by comparing register contents / node vectors before and after — never
by formula. A streaming step is the mac schedule's register transfer (cycle 0) followed by
``x_bits - 1`` cycles with the shift enable off; the array's step-cycle counter ``j`` selects bit
``j`` of each enabled PE's x, which the PE reads from its own registers after cycle 0. The
completed-product overflow rule is not computed by formula either: each PE counts the wrap-arounds
of its adder over the MAC's shift-adds and acts on the net count in the MAC's last cycle.

The closed-form schedule of datapath.md §5 is used only to drive the array edges and to assert that
the systolic movement delivers to every PE the operands the page says it receives.

Entry point: :func:`reference_simulate_bitserial`, shaped like ``reference_simulate_pann``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accelsim.sim.types import ArraySpec, GemmOperands, GemmResult, class_names
from tests.reference.gates import (
    AND,
    NOT,
    XOR,
    accumulator_add,
    from_bits,
    hamming,
    pattern_of,
    popcount,
    ripple_carry_adder,
    signed_value,
    to_bits,
)

# Trace / counter columns (bitserial.md §6): x_reg, w_reg, psum_reg|acc_reg, mult, adder.
X_REG, W_REG, P_REG, MULT, ADDER = range(5)

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
        """State after this cycle's edge in a step's first cycle (datapath.md §4): valid data is
        loaded; otherwise a moving register keeps its value (hold) or loads 0 (zero), a stationary
        one keeps its value. Returns (value, valid, clocked with valid data)."""
        if valid:
            return pattern_of(data, self.bits), True, True
        if moving and idle_zero:
            return 0, False, False
        return self.value, False, False

    def load(self, data: int) -> tuple:
        """Load valid ``data`` (the shift-adder's result)."""
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


class AndArray:
    """The w_bits AND gates ``pp_i = w_i AND x_j`` (class ``mult``, bitserial.md §3); remembers
    its previous node vector (all 0 before the first evaluation: inputs (0, 0))."""

    def __init__(self, w_bits: int) -> None:
        self.w_bits = w_bits
        self.prev_nodes = [0] * w_bits

    def evaluate(self, w: int, x_bit: int) -> tuple[list[int], int]:
        """AND every bit of the ``w_bits`` pattern ``w`` with ``x_bit``: (nodes, toggles)."""
        nodes = [AND(wi, x_bit) for wi in to_bits(w, self.w_bits)]
        toggles = hamming(self.prev_nodes, nodes)
        self.prev_nodes = nodes
        return nodes, toggles


class ShiftAdder:
    """The PE's ``acc_bits`` ripple-carry adder with carry-in (class ``adder``, bitserial.md §4).
    It always wraps; it reports the direction of each wrap-around (datapath.md §3's rule on its
    actual inputs) so that the PE can apply the overflow rule to the completed product."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.prev_nodes = [0] * (2 * bits)  # the node vector for inputs (0, 0), carry-in 0

    def evaluate(self, a: int, b: int, cin: int) -> tuple[int, int, int]:
        """a + b + cin on ``bits``-bit patterns: (raw sum pattern, wrap, toggles); wrap is +1
        (two non-negative inputs, negative sum), -1 (two negative inputs, non-negative sum) or 0."""
        a_bits, b_bits = to_bits(a, self.bits), to_bits(b, self.bits)
        sums, carries = ripple_carry_adder(a_bits, b_bits, cin)
        nodes = sums + carries
        toggles = hamming(self.prev_nodes, nodes)
        self.prev_nodes = nodes
        sign_a, sign_b, sign_s = a_bits[-1], b_bits[-1], sums[-1]
        overflow = AND(NOT(XOR(sign_a, sign_b)), XOR(sign_s, sign_a)) == 1
        wrap = (1 if sign_a == 0 else -1) if overflow else 0
        return from_bits(sums), wrap, toggles


class EdgeAdder:
    """A column's edge accumulation adder (datapath.md §3, §5.1): one-shot, with saturation."""

    def __init__(self, bits: int, saturate: bool) -> None:
        self.bits = bits
        self.saturate = saturate
        _, _, self.prev_nodes = accumulator_add(0, 0, bits, saturate)

    def evaluate(self, a: int, b: int) -> tuple[int, bool, int]:
        result, overflow, nodes = accumulator_add(a, b, self.bits, self.saturate)
        toggles = hamming(self.prev_nodes, nodes)
        self.prev_nodes = nodes
        return result, overflow, toggles


class BitserialPE:
    """One PE: x_reg, w_reg, psum_reg/acc_reg (``p_reg``), its AND gates, its shift-adder, and its
    MAC state: enabled in this step, and the net wrap count of this MAC's shift-adds."""

    def __init__(self, spec: ArraySpec) -> None:
        self.x_reg = Register(spec.x_bits)
        self.w_reg = Register(spec.w_bits)
        self.p_reg = Register(spec.acc_bits)
        self.ands = AndArray(spec.w_bits)
        self.adder = ShiftAdder(spec.acc_bits)
        self.enabled = False
        self.wraps = 0
        self.k = -1  # os: reduction index of this step's MAC

    def registers(self) -> list[tuple[int, Register]]:
        return [(X_REG, self.x_reg), (W_REG, self.w_reg), (P_REG, self.p_reg)]


@dataclass
class CycleReport:
    """What happened in one cycle of the whole array."""

    toggles: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0])
    overflows: int = 0
    additions: int = 0
    clock_bits_extra: int = 0  # register bits clocked outside a step's first cycle
    valid_load: bool = False  # some register loaded valid data this cycle
    enabled: list = field(default_factory=list)  # step's first cycle: (r, c, x pattern, w pattern)


# --------------------------------------------------------------------------------------------------
# The array
# --------------------------------------------------------------------------------------------------


class BitserialArray:
    """R×C bitserial PEs plus one edge accumulation adder per physical column (ws, is)."""

    def __init__(self, spec: ArraySpec) -> None:
        self.spec = spec
        self.R, self.C = spec.rows, spec.cols
        self.pe = [[BitserialPE(spec) for _ in range(self.C)] for _ in range(self.R)]
        self.edge_adders = [EdgeAdder(spec.acc_bits, spec.saturate) for _ in range(self.C)]

    # ---- helpers ------------------------------------------------------------------------------

    def _stationary(self, pe: BitserialPE) -> Register:
        return pe.w_reg if self.spec.dataflow == "ws" else pe.x_reg

    def _moving(self, pe: BitserialPE) -> Register:
        return pe.x_reg if self.spec.dataflow == "ws" else pe.w_reg

    def _commit_all(self, nxt: dict, report: CycleReport, first: bool) -> None:
        """Clock edge for every register of every PE; ``nxt`` lacks a register = it holds.
        Outside a step's first cycle every clocked register counts in ``clock_bits_extra``."""
        for r in range(self.R):
            for c in range(self.C):
                for cls, reg in self.pe[r][c].registers():
                    state = nxt.get((r, c, cls), reg.hold())
                    report.toggles[cls] += reg.commit(state)
                    if state[2]:
                        report.valid_load = True
                        if not first:
                            report.clock_bits_extra += reg.bits

    def shift_add(self, pe: BitserialPE, x: int, w: int, base: int, j: int,
                  report: CycleReport) -> int:
        """Cycle ``j`` of ``pe``'s MAC (bitserial.md §4): AND bit j of the x pattern with w, place
        the w_bits partial product at bit j (sign-extended if w is signed), add it to ``base`` —
        or, in the last cycle of a signed x, subtract it — and, in the last cycle, apply the
        overflow rule to the completed product. Returns the pattern the accumulator loads."""
        spec = self.spec
        acc, last = spec.acc_bits, j == spec.x_bits - 1
        x_bit = to_bits(x, spec.x_bits)[j]  # the bit-select multiplexer, counter at j
        pp, toggles = pe.ands.evaluate(w, x_bit)
        report.toggles[MULT] += toggles
        extension = pp[-1] if spec.w_signed else 0
        addend = ([0] * j + pp + [extension] * acc)[:acc]  # the shifter's output, LSB first
        subtract = last and spec.x_signed  # the sign bit of x weighs -2^(x_bits-1)
        if subtract:
            addend = [NOT(bit) for bit in addend]
        raw, wrap, toggles = pe.adder.evaluate(base, from_bits(addend), 1 if subtract else 0)
        report.toggles[ADDER] += toggles
        report.additions += 1
        if j == 0:
            pe.wraps = 0
        pe.wraps += wrap
        if not last or pe.wraps == 0:
            return raw
        if abs(pe.wraps) != 1:
            raise AssertionError("a completed product wrapped more than once")
        report.overflows += 1
        if not spec.saturate:
            return raw
        top = 1 << (acc - 1)
        return pattern_of(top - 1 if pe.wraps > 0 else -top, acc)

    def cycle_later(self, j: int) -> CycleReport:
        """Cycle ``j >= 1`` of a streaming step: shift enable off, every register holds except the
        accumulators of the PEs enabled in this step, which take the next shift-add on their own
        x_reg, w_reg and accumulator."""
        report = CycleReport()
        nxt: dict = {}
        for r in range(self.R):
            for c in range(self.C):
                pe = self.pe[r][c]
                if pe.enabled:
                    result = self.shift_add(pe, pe.x_reg.value, pe.w_reg.value, pe.p_reg.value,
                                            j, report)
                    nxt[(r, c, P_REG)] = pe.p_reg.load(result)
        self._commit_all(nxt, report, first=False)
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
                pe.enabled = False
                stat = self._stationary(pe)
                if r == 0:
                    data, valid = top[c]
                else:
                    above = self._stationary(self.pe[r - 1][c])
                    data, valid = above.value, above.valid
                valid = valid and r < r_act and c < c_act
                for cls, reg in pe.registers():
                    if reg is stat:
                        nxt[(r, c, cls)] = reg.next_state(data, valid, True, zero)
                    else:
                        nxt[(r, c, cls)] = reg.next_state(0, False, True, zero)
        self._commit_all(nxt, report, first=True)
        return report

    def cycle_stream_first(self, left: list[tuple[int, bool]], r_act: int,
                           c_act: int) -> CycleReport:
        """The first cycle of a streaming step: the moving operand enters at the left and moves
        right, psums move down, enabled PEs do shift-add 0 on their psum input."""
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
                mov_cls = X_REG if mov is pe.x_reg else W_REG
                nxt[(r, c, mov_cls)] = mov.next_state(h, valid, True, zero)
                nxt[(r, c, X_REG + W_REG - mov_cls)] = stat.next_state(0, False, False, zero)
                pe.enabled = valid
                if valid:
                    x, w = (h, stat.value) if spec.dataflow == "ws" else (stat.value, h)
                    if r == 0:
                        psum_in = 0
                    else:
                        north = self.pe[r - 1][c].p_reg
                        if not north.valid:
                            raise AssertionError(f"PE({r},{c}) enabled but psum_in not valid")
                        psum_in = north.value
                    report.enabled.append((r, c, x, w))
                    result = self.shift_add(pe, x, w, psum_in, 0, report)
                    nxt[(r, c, P_REG)] = pe.p_reg.load(result)
                else:
                    nxt[(r, c, P_REG)] = pe.p_reg.next_state(0, False, True, zero)
        self._commit_all(nxt, report, first=True)
        return report

    # ---- os -----------------------------------------------------------------------------------

    def cycle_os_first(self, left, top, s: int, r_act: int, c_act: int) -> CycleReport:
        """The first cycle of an os step: x moves right, w moves down, enabled PEs do shift-add 0
        on their stationary accumulator (on 0 for the fold's first MAC, k == 0)."""
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
                    w, w_valid = top[c]
                else:
                    north = self.pe[r - 1][c].w_reg
                    w, w_valid = north.value, north.valid
                x_valid = x_valid and active
                w_valid = w_valid and active
                if x_valid != w_valid:
                    raise AssertionError(f"PE({r},{c}) got only one operand in step {s}")
                nxt[(r, c, X_REG)] = pe.x_reg.next_state(x, x_valid, True, zero)
                nxt[(r, c, W_REG)] = pe.w_reg.next_state(w, w_valid, True, zero)
                pe.enabled = x_valid
                pe.k = s - r - c if x_valid else -1
                if x_valid:
                    report.enabled.append((r, c, x, w))
                    base = 0 if pe.k == 0 else pe.p_reg.value
                    nxt[(r, c, P_REG)] = pe.p_reg.load(self.shift_add(pe, x, w, base, 0, report))
        self._commit_all(nxt, report, first=True)
        return report


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

    def __init__(self, ops: GemmOperands, spec: ArraySpec) -> None:
        self.ops, self.spec = ops, spec
        self.array = BitserialArray(spec)
        self.totals = [0, 0, 0, 0, 0]
        self.trace_rows: list[list[int]] = []
        self.overflows = 0
        self.additions = 0
        self.clock_bits_extra = 0
        self.folds = 0
        self.cycles_compute = 0
        self.cycles_active = 0
        self.y = np.zeros((ops.groups, ops.M, ops.N), dtype=np.int64)

    def record(self, report: CycleReport) -> None:
        for i in range(5):
            self.totals[i] += report.toggles[i]
        self.overflows += report.overflows
        self.additions += report.additions
        self.clock_bits_extra += report.clock_bits_extra
        self.trace_rows.append(list(report.toggles))

    def x_block(self, g, m0, m1, k0, k1) -> np.ndarray:
        block = np.asarray(self.ops.x_block(g, m0, m1, k0, k1), dtype=np.int64)
        _check_range(block, self.spec.x_bits, self.spec.x_signed, "X")
        return block

    def w_block(self, g, k0, k1, n0, n1) -> np.ndarray:
        block = np.asarray(self.ops.w_block(g, k0, k1, n0, n1), dtype=np.int64)
        _check_range(block, self.spec.w_bits, self.spec.w_signed, "W")
        return block

    def run_step(self, first_cycle, cycles: int, end_of_step) -> tuple[int, list]:
        """Run one lock-step step of ``cycles`` cycles: ``first_cycle()``, then the array's
        counter j = 1 … cycles-1; ``end_of_step(report)`` adds the edge work to the last cycle.
        Returns (index of the last cycle with a valid register load or -1, the PEs enabled)."""
        reports = [first_cycle()]
        for j in range(1, cycles):
            reports.append(self.array.cycle_later(j))
        end_of_step(reports[-1])
        last_valid = -1
        for i, report in enumerate(reports):
            if report.valid_load:
                last_valid = i
            self.record(report)
        return last_valid, reports[0].enabled

    # ---- os -----------------------------------------------------------------------------------

    def fold_os(self, g, m0, r_act, n0, c_act) -> None:
        spec, arr = self.spec, self.array
        R, C, K, b = spec.rows, spec.cols, self.ops.K, spec.x_bits
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
            lv, enabled = self.run_step(lambda: arr.cycle_os_first(left, top, s, r_act, c_act),
                                        b, lambda report: None)
            expected = sorted((r, c, pattern_of(int(X[r, s - r - c]), xb),
                               pattern_of(int(W[s - r - c, c]), wb))
                              for r in range(r_act) for c in range(c_act) if 0 <= s - r - c < K)
            if sorted(enabled) != expected:
                raise AssertionError(f"os step {s}: systolic movement disagrees with §5.2")
            if lv >= 0:
                last_valid = cycle + lv
            cycle += b
        # Parallel read-out of the stationary accumulators (no counted toggles).
        for r in range(r_act):
            for c in range(c_act):
                self.y[g, m0 + r, n0 + c] = signed_value(arr.pe[r][c].p_reg.value, spec.acc_bits)
        self.cycles_compute += cycle
        self.cycles_active += last_valid + 1

    # ---- ws / is ------------------------------------------------------------------------------

    def fold_ws_is(self, g, k0, r_act, j0, c_act, first_kfold, ofmap) -> None:
        spec, arr = self.spec, self.array
        R, C, b = spec.rows, spec.cols, spec.x_bits
        ws = spec.dataflow == "ws"
        if ws:
            T = self.ops.M
            Wt = self.w_block(g, k0, k0 + r_act, j0, j0 + c_act)  # S[r, c] = W[k0+r, n0+c]
            Xt = self.x_block(g, 0, T, k0, k0 + r_act)  # H[t, r] = X[t, k0+r]
            s_bits, h_bits = spec.w_bits, spec.x_bits

            def S(r: int, c: int) -> int:
                return pattern_of(int(Wt[r, c]), s_bits)

            def H(t: int, r: int) -> int:
                return pattern_of(int(Xt[t, r]), h_bits)

        else:
            T = self.ops.N
            Xt = self.x_block(g, j0, j0 + c_act, k0, k0 + r_act)  # S[r, c] = X[m0+c, k0+r]
            Wt = self.w_block(g, k0, k0 + r_act, 0, T)  # H[t, r] = W[k0+r, t]
            s_bits, h_bits = spec.x_bits, spec.w_bits

            def S(r: int, c: int) -> int:
                return pattern_of(int(Xt[c, r]), s_bits)

            def H(t: int, r: int) -> int:
                return pattern_of(int(Wt[r, t]), h_bits)

        cycle = 0
        last_valid = -1
        for p in range(R):  # preload steps: one cycle each
            top = [(S(R - 1 - p, c), True) if p >= R - r_act and c < c_act else NO_DATA
                   for c in range(C)]
            lv, enabled = self.run_step(lambda: arr.cycle_preload(top, r_act, c_act), 1,
                                        lambda report: None)
            if enabled:
                raise AssertionError("no PE may be enabled during preload")
            if lv >= 0:
                last_valid = cycle + lv
            cycle += 1
        for r in range(r_act):
            for c in range(c_act):
                if arr._stationary(arr.pe[r][c]).value != S(r, c):
                    raise AssertionError(f"preload left the wrong S in PE({r},{c})")
        for s in range(T + R + C - 2):  # streaming steps: x_bits cycles each
            left = [(H(s - r, r), True) if r < r_act and 0 <= s - r < T else NO_DATA
                    for r in range(R)]

            def edge(report: CycleReport, s=s) -> None:
                for c in range(c_act):
                    t = s - (r_act - 1) - c
                    if not 0 <= t < T:
                        continue
                    bottom = arr.pe[r_act - 1][c].p_reg
                    if not bottom.valid:
                        raise AssertionError("column result leaves without a valid psum")
                    if first_kfold:
                        ofmap[(t, c)] = bottom.value
                    else:
                        out, overflow, toggles = arr.edge_adders[c].evaluate(ofmap[(t, c)],
                                                                             bottom.value)
                        ofmap[(t, c)] = out
                        report.toggles[ADDER] += toggles
                        report.overflows += int(overflow)

            lv, enabled = self.run_step(lambda: arr.cycle_stream_first(left, r_act, c_act), b,
                                        edge)
            expected = []
            for r in range(r_act):
                for c in range(c_act):
                    t = s - r - c
                    if 0 <= t < T:
                        expected.append((r, c) + ((H(t, r), S(r, c)) if ws else (S(r, c), H(t, r))))
            if sorted(enabled) != sorted(expected):
                raise AssertionError(f"{spec.dataflow} stream step {s}: disagrees with §5.1")
            if lv >= 0:
                last_valid = cycle + lv
            cycle += b
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


def reference_simulate_bitserial(
    ops: GemmOperands, spec: ArraySpec, params: object | None = None, trace: bool = True
) -> GemmResult:
    """Simulate one (grouped) GEMM layer on an array of bitserial PEs, cycle by cycle, PE by PE,
    gate by gate (docs/bitserial.md).

    Parameters
    ----------
    ops : GemmOperands
        ``X`` [G, M, K] and ``W`` [G, K, N] integer values fitting ``spec.x_bits`` /
        ``spec.w_bits`` with signedness ``spec.x_signed`` / ``spec.w_signed``.
    spec : ArraySpec
        Array shape, dataflow, idle mode, widths (bits; ``x_bits`` is also the cycles per MAC),
        overflow mode.
    params : object, optional
        Must be None: the bitserial PE has no ``pe.bitserial`` block. Accepted so that a harness
        calls every PE kind's reference as ``f(ops, spec, params, trace=...)``.
    trace : bool
        Also return the per-cycle toggles per class, int64 [cycles_compute, 5].

    Returns
    -------
    GemmResult
        Outputs (signed acc_bits values), toggles per class (x_reg, w_reg, psum_reg|acc_reg, mult,
        adder), overflows (completed products and edge accumulations), folds, cycles (compute: all
        cycles stepped; active: per fold last valid load + 1), MACs, ``additions`` (shift-adds
        inside PEs), ``clock_bits_extra`` (accumulator bits clocked in a step's later cycles) and
        the trace.
    """
    if params is not None:
        raise ValueError("the bitserial PE takes no parameters")
    if spec.dataflow not in ("os", "ws", "is"):
        raise ValueError(f"unknown dataflow {spec.dataflow!r}")
    if spec.rows < 1 or spec.cols < 1 or spec.x_bits < 2 or spec.w_bits < 2:
        raise ValueError("need at least a 1x1 array and 2-bit operands")
    if spec.acc_bits < spec.x_bits + spec.w_bits:
        raise ValueError("acc_bits must be >= x_bits + w_bits (datapath.md §1)")
    if not (spec.x_signed or spec.w_signed) and spec.acc_bits < spec.x_bits + spec.w_bits + 1:
        raise ValueError("unsigned x unsigned products need acc_bits >= x_bits + w_bits + 1")
    if min(ops.groups, ops.M, ops.K, ops.N) < 1:
        raise ValueError("empty GEMM")
    run = _Run(ops, spec)
    run.run()
    if len(run.trace_rows) != run.cycles_compute:
        raise AssertionError("trace length differs from cycles_compute")
    names = class_names(spec.dataflow)
    trace_arr = np.array(run.trace_rows, dtype=np.int64).reshape(-1, 5) if trace else None
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
        clock_bits_extra=int(run.clock_bits_extra),
    )
