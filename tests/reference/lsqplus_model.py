"""Slow reference model of the lsqplus array (docs/lsqplus.md), register-transfer and gate level.

Built on the mac array's reference (``array_model.SystolicArray``: one object per PE, every PE
stepped every cycle, synchronous register updates):

- placement ``pe``: each PE's multiplier object is replaced by :class:`OffsetMultiplier` — two
  gate-level zero-point subtractors on the raw register codes and an (x_bits+1)×(w_bits+1)
  signed Baugh–Wooley multiplier;
- placement ``output``: the mac array as is, plus the row-sum unit (:class:`LsqplusArray` steps
  its cells and registers in the same cycles as the array, fed by the same edge signals);
- both: one :class:`ColumnUnit` per physical column (rescale unit + row-sum correction),
  evaluated in the cycle a final output is produced, built bit by bit from ``gates``.

Toggles are Hamming distances of node vectors / register contents, never formulas. Entry point:
:func:`reference_simulate_lsqplus`.
"""

from __future__ import annotations

import numpy as np

from accelsim.sim.types import ArraySpec, GemmOperands, GemmResult, class_names
from tests.reference.array_model import (
    ADDER,
    NO_DATA,
    AdderUnit,
    CycleReport,
    Register,
    SystolicArray,
    _check_inputs,
    _Run,
)
from tests.reference.gates import (
    AND,
    NOT,
    OR,
    XOR,
    accumulator_add,
    from_bits,
    hamming,
    multiply,
    pattern_of,
    ripple_carry_adder,
    signed_value,
    to_bits,
)

RESCALE, ROWSUM = 5, 6
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


# --------------------------------------------------------------------------------------------------
# Gate-level cells
# --------------------------------------------------------------------------------------------------


def MUX(sel: int, a: int, b: int) -> int:
    """``sel ? a : b`` from AND/OR/NOT."""
    return OR(AND(sel, a), AND(NOT(sel), b))


def subtractor(v: int, z: int, width: int) -> tuple[int, list[int]]:
    """``width``-bit ripple-carry subtractor v + ~z + 1 of two values: (difference, nodes)."""
    a = to_bits(pattern_of(v, width), width)
    b = [NOT(bit) for bit in to_bits(pattern_of(z, width), width)]
    sums, carries = ripple_carry_adder(a, b, 1)
    return signed_value(from_bits(sums), width), sums + carries


def barrel_left(bits: list[int], amount: int) -> tuple[list[int], list[int]]:
    """5-stage logical left barrel shifter (shift ``2^j`` in stage j if bit j of ``amount``):
    (output bits, nodes = every stage's outputs)."""
    nodes: list[int] = []
    cur = list(bits)
    for j in range(5):
        sel = (amount >> j) & 1
        d = 1 << j
        cur = [MUX(sel, cur[i - d] if i >= d else 0, cur[i]) for i in range(len(cur))]
        nodes.extend(cur)
    return cur, nodes


def barrel_right_arith(bits: list[int], amount: int) -> tuple[list[int], list[int]]:
    """5-stage arithmetic right barrel shifter: (output bits, nodes = every stage's outputs)."""
    nodes: list[int] = []
    cur = list(bits)
    n = len(cur)
    for j in range(5):
        sel = (amount >> j) & 1
        d = 1 << j
        cur = [MUX(sel, cur[i + d] if i + d < n else cur[n - 1], cur[i]) for i in range(n)]
        nodes.extend(cur)
    return cur, nodes


def rescale(a32: int, b: int, mq: int, shift: int, zy: int, lo: int, hi: int, y_bits: int,
            correction=None):
    """lsqplus.md §5.1, R1–R9. ``a32``: the column result's 32-bit pattern; ``b``, ``mq``,
    ``shift``, ``zy`` values. ``correction``: a function of R1's sum pattern returning the
    corrected pattern (§3.3), applied between R1 and R2 when given.

    Returns (y, nodes, overflow events, R1 sum pattern).
    """
    nodes: list[int] = []
    overflows = 0
    s1, ovf1, n1 = accumulator_add(a32, pattern_of(b, 32), 32, saturate=False)  # R1
    nodes.extend(n1)
    overflows += int(ovf1)
    t2 = s1 if correction is None else correction(s1)
    left, e = max(shift, 0), max(-shift, 0)
    v_bits, n2 = barrel_left(to_bits(t2, 32), left)  # R2
    nodes.extend(n2)
    v = from_bits(v_bits)
    if signed_value(v, 32) != signed_value(t2, 32) * (1 << left):
        overflows += 1
    product, n3 = multiply(v, 32, True, pattern_of(mq, 32), 32, True)  # R3
    nodes.extend(n3)
    hi_bits = to_bits(pattern_of(product, 64) >> 30, 34)  # R4: bits 30..63, + 1
    s4, c4 = ripple_carry_adder(hi_bits, [0] * 34, 1)
    nodes.extend(s4 + c4)
    sat = int(signed_value(v, 32) == INT32_MIN
              and signed_value(pattern_of(mq, 32), 32) == INT32_MIN)
    h = [MUX(sat, bit, s) for bit, s in zip(to_bits(INT32_MAX, 32), s4[1:33])]  # R5
    nodes.extend(h)
    negative = h[31]
    addend = ((1 << (e - 1)) - negative) if e > 0 else 0
    s6, c6 = ripple_carry_adder(h + [h[31]], to_bits(addend, 33), 0)  # R6
    nodes.extend(s6 + c6)
    u, n7 = barrel_right_arith(s6, e)  # R7
    nodes.extend(n7)
    s8, c8 = ripple_carry_adder(u, to_bits(pattern_of(zy, 33), 33), 0)  # R8
    nodes.extend(s8 + c8)
    z = signed_value(from_bits(s8), 33)
    y = min(max(z, lo), hi)  # R9 (comparators not counted)
    nodes.extend(to_bits(pattern_of(y, y_bits), y_bits))
    return y, nodes, overflows, s1


class ColumnUnit:
    """One physical column's rescale unit (class rescale) and row-sum correction (rowsum)."""

    def __init__(self, y_bits: int, zw_bits: int, zw_signed: bool, acc_bits: int) -> None:
        self.y_bits, self.zw_bits = y_bits, zw_bits
        self.zw_signed, self.acc_bits = zw_signed, acc_bits
        _, self.prev_rescale, _, _ = rescale(0, 0, 0, 0, 0, 0, 0, y_bits)
        _, _, self.prev_corr = self._correct(0, 0, 0)

    def _correct(self, t1: int, zw: int, sx: int) -> tuple[int, bool, list[int]]:
        """Correction multiplier z_w × Sx (BW, z_w the narrower column operand) and the 32-bit
        subtractor t1 + ~P + 1: (t2 pattern, overflow, nodes)."""
        product, nodes = multiply(pattern_of(sx, self.acc_bits), self.acc_bits, True,
                                  pattern_of(zw, self.zw_bits), self.zw_bits, self.zw_signed)
        p_bits = to_bits(pattern_of(product, 32), 32)
        a_bits = to_bits(t1, 32)
        b_bits = [NOT(bit) for bit in p_bits]
        sums, carries = ripple_carry_adder(a_bits, b_bits, 1)
        overflow = AND(NOT(XOR(a_bits[31], b_bits[31])), XOR(sums[31], a_bits[31])) == 1
        return from_bits(sums), overflow, nodes + sums + carries

    def evaluate(self, A: int, b: int, mq: int, shift: int, zy: int, lo: int, hi: int,
                 corr: tuple[int, int] | None) -> tuple[int, int, int, int]:
        """Rescale the column result ``A`` (a value); ``corr`` = (z_w, Sx) if the row-sum unit
        is enabled. Returns (y, rescale toggles, rowsum toggles, overflow events)."""
        extra = {"overflows": 0, "toggles": 0}

        def correction(t1: int) -> int:
            t2, overflow, nodes = self._correct(t1, *corr)
            extra["overflows"] += int(overflow)
            extra["toggles"] = hamming(self.prev_corr, nodes)
            self.prev_corr = nodes
            return t2

        y, nodes, overflows, _ = rescale(pattern_of(A, 32), b, mq, shift, zy, lo, hi,
                                         self.y_bits, correction if corr else None)
        toggles = hamming(self.prev_rescale, nodes)
        self.prev_rescale = nodes
        return y, toggles, extra["toggles"], overflows + extra["overflows"]


class OffsetMultiplier:
    """Placement pe (lsqplus.md §4): a PE's x and w zero-point subtractors on its raw register
    codes and its (x_bits+1)×(w_bits+1) signed multiplier. ``sub_toggles`` collects the
    subtractors' toggles (class adder) until the array reads them."""

    def __init__(self, spec: ArraySpec, array: LsqplusArray, r: int, c: int) -> None:
        self.spec, self.array, self.r, self.c = spec, array, r, c
        self.nx, self.nw = spec.x_bits + 1, spec.w_bits + 1
        _, self.prev_x = subtractor(0, 0, self.nx)
        _, self.prev_w = subtractor(0, 0, self.nw)
        _, self.prev_nodes = multiply(0, self.nx, True, 0, self.nw, True)
        self.sub_toggles = 0

    def evaluate(self, x: int, w: int) -> tuple[int, int]:
        s = self.spec
        xv = signed_value(x, s.x_bits) if s.x_signed else x
        wv = signed_value(w, s.w_bits) if s.w_signed else w
        zx, zw = self.array.zero_points(self.r, self.c)
        dx, nodes_x = subtractor(xv, zx, self.nx)
        dw, nodes_w = subtractor(wv, zw, self.nw)
        self.sub_toggles += hamming(self.prev_x, nodes_x) + hamming(self.prev_w, nodes_w)
        self.prev_x, self.prev_w = nodes_x, nodes_w
        product, nodes = multiply(pattern_of(dx, self.nx), self.nx, True,
                                  pattern_of(dw, self.nw), self.nw, True)
        toggles = hamming(self.prev_nodes, nodes)
        self.prev_nodes = nodes
        return product, toggles


# --------------------------------------------------------------------------------------------------
# The array with the row-sum unit
# --------------------------------------------------------------------------------------------------


class LsqplusArray(SystolicArray):
    """The mac reference array plus the lsqplus placement's extra hardware."""

    def __init__(self, spec: ArraySpec, placement: str, rowsum: bool) -> None:
        super().__init__(spec)
        self.placement = placement
        self.rowsum = rowsum
        if placement == "pe":
            for row in self.pe:
                for pe in row:
                    pe.mult = OffsetMultiplier(spec, self, pe.r, pe.c)
        n = max(self.R, self.C)
        self.rs_reg = [Register(spec.acc_bits) for _ in range(n)]
        self.rs_add = [AdderUnit(spec) for _ in range(n)]
        self.rs_edge = AdderUnit(spec)
        self.rs_buffer: dict[int, int] = {}
        self.ctx: dict = {}

    # ---- context set by the driver -------------------------------------------------------------

    def begin_fold(self, **ctx) -> None:
        self.ctx = dict(ctx, p=0, s=0)

    def zero_points(self, r: int, c: int) -> tuple[int, int]:
        """(z_x, z_w) of PE (r, c)'s current operands."""
        ctx = self.ctx
        if self.spec.dataflow == "is":  # w streams: its channel is the stream step t
            t = ctx["s"] - r - c
            return ctx["zx"], int(ctx["zw"][t])
        return ctx["zx"], int(ctx["zw"][ctx["j0"] + c])

    def _new_report(self) -> CycleReport:
        return CycleReport([0] * 7, 0, False, [], [])

    def _collect_subtractors(self, report: CycleReport) -> None:
        if self.placement != "pe":
            return
        for row in self.pe:
            for pe in row:
                report.toggles[ADDER] += pe.mult.sub_toggles
                pe.mult.sub_toggles = 0

    def _x_value(self, pattern: int) -> int:
        return signed_value(pattern, self.spec.x_bits) if self.spec.x_signed else pattern

    def _rs_add(self, i: int, base: int, x_pattern: int, report: CycleReport) -> int:
        """Row-sum cell ``i``'s adder: base + x (acc_bits); returns the result pattern."""
        addend = pattern_of(self._x_value(x_pattern), self.spec.acc_bits)
        result, overflow, toggles = self.rs_add[i].evaluate(base, addend)
        report.toggles[ROWSUM] += toggles
        report.overflows += int(overflow)
        return result

    def _rs_commit(self, nxt: list, report: CycleReport) -> None:
        for i, state in enumerate(nxt):
            report.toggles[ROWSUM] += self.rs_reg[i].commit(state)

    # ---- steps ---------------------------------------------------------------------------------

    def step_preload(self, top, r_act, c_act):
        report = super().step_preload(top, r_act, c_act)
        p = self.ctx["p"]
        self.ctx["p"] = p + 1
        if not self.rowsum:
            return report
        zero = self.spec.idle_zero
        if self.spec.dataflow == "ws":  # the chain's moving registers receive nothing
            nxt = [reg.next_state(0, False, moving=True, idle_zero=zero) for reg in self.rs_reg]
        else:  # is: top-edge accumulators tap the preload
            nxt = []
            for c, reg in enumerate(self.rs_reg):
                data, valid = top[c] if c < self.C else NO_DATA
                if valid and c < c_act:
                    first = self.ctx["first_kfold"] and p == self.R - r_act
                    result = self._rs_add(c, 0 if first else reg.value, data, report)
                    nxt.append(reg.next_state(result, True, moving=False, idle_zero=zero))
                else:
                    nxt.append(reg.next_state(0, False, moving=False, idle_zero=zero))
        self._rs_commit(nxt, report)
        return report

    def step_stream(self, left, r_act, c_act):
        report = super().step_stream(left, r_act, c_act)
        self._collect_subtractors(report)
        s = self.ctx["s"]
        self.ctx["s"] = s + 1
        if not self.rowsum or self.spec.dataflow != "ws":
            return report
        zero = self.spec.idle_zero
        nxt = []
        leaving = None
        for r, reg in enumerate(self.rs_reg):
            x, valid = left[r] if r < self.R else NO_DATA
            if valid and r < r_act:
                if r == 0:
                    rs_in = 0
                else:
                    above = self.rs_reg[r - 1]
                    if not above.valid:
                        raise AssertionError(f"row-sum cell {r} enabled without a valid input")
                    rs_in = above.value
                result = self._rs_add(r, rs_in, x, report)
                nxt.append(reg.next_state(result, True, moving=True, idle_zero=zero))
                if r == r_act - 1:
                    leaving = result
            else:
                nxt.append(reg.next_state(0, False, moving=True, idle_zero=zero))
        self._rs_commit(nxt, report)
        if leaving is not None:  # row-sum edge adder vs the row-sum buffer (K-folds)
            t = s - (r_act - 1)
            if self.ctx["first_kfold"]:
                self.rs_buffer[t] = leaving
            else:
                out, overflow, toggles = self.rs_edge.evaluate(self.rs_buffer[t], leaving)
                self.rs_buffer[t] = out
                report.toggles[ROWSUM] += toggles
                report.overflows += int(overflow)
        return report

    def step_os(self, left, top, s, r_act, c_act):
        report = super().step_os(left, top, s, r_act, c_act)
        self._collect_subtractors(report)
        if not self.rowsum:
            return report
        zero = self.spec.idle_zero
        nxt = []
        for r, reg in enumerate(self.rs_reg):
            x, valid = left[r] if r < self.R else NO_DATA
            if valid and r < r_act:
                result = self._rs_add(r, 0 if s - r == 0 else reg.value, x, report)
                nxt.append(reg.next_state(result, True, moving=False, idle_zero=zero))
            else:
                nxt.append(reg.next_state(0, False, moving=False, idle_zero=zero))
        self._rs_commit(nxt, report)
        return report


# --------------------------------------------------------------------------------------------------
# Layer driver
# --------------------------------------------------------------------------------------------------


class _LsqRun(_Run):
    """The mac reference driver with the lsqplus units hooked into its per-cycle ``record``."""

    def __init__(self, ops: GemmOperands, spec: ArraySpec, placement: str, q: dict) -> None:
        super().__init__(ops, spec)
        self.q = q
        self.placement = placement
        self.rowsum = placement == "output" and q["requant"] and any(
            v != 0 for v in q["zw"].ravel())
        self.array = LsqplusArray(spec, placement, self.rowsum)
        self.totals = [0] * 7
        self.columns = [ColumnUnit(q["y_bits"], spec.w_bits, spec.w_signed, spec.acc_bits)
                        for _ in range(spec.cols)]
        self.yq = np.zeros((ops.groups, ops.M, ops.N), dtype=np.int64)
        self.fold: dict = {}
        if q["requant"]:
            self.bq = self._bias()

    def _bias(self) -> list[list[int]]:
        """The rescale unit's bias register per (g, n): bias (pe) or b' (output, §3.2)."""
        q, ops = self.q, self.ops
        out = []
        for g in range(ops.groups):
            W = np.asarray(ops.w_block(g, 0, ops.K, 0, ops.N), dtype=np.int64)
            row = []
            for n in range(ops.N):
                b = int(q["bias"][g, n])
                if self.placement == "output":
                    zx, zw = q["zx"], int(q["zw"][g, n])
                    b = b - zx * int(W[:, n].sum()) + ops.K * zx * zw
                row.append(signed_value(pattern_of(b, 32), 32))
            out.append(row)
        return out

    def _begin(self, g: int, j0: int, first_kfold: bool, last_kfold: bool, r_act: int) -> None:
        self.fold = dict(g=g, j0=j0, last=last_kfold, r_act=r_act, cycle=0)
        zw = self.q["zw"][g]
        self.array.begin_fold(zx=self.q["zx"], zw=zw, j0=j0, first_kfold=first_kfold)

    def fold_os(self, g, m0, r_act, n0, c_act):
        self._begin(g, n0, True, True, r_act)
        self.fold.update(m0=m0)
        super().fold_os(g, m0, r_act, n0, c_act)

    def fold_ws_is(self, g, k0, r_act, j0, c_act, first_kfold, ofmap):
        self._begin(g, j0, first_kfold, k0 + r_act == self.ops.K, r_act)
        self.ofmap = ofmap
        super().fold_ws_is(g, k0, r_act, j0, c_act, first_kfold, ofmap)

    def record(self, report: CycleReport) -> None:
        if self.q["requant"]:
            self._rescale(report)
        for i in range(7):
            self.totals[i] += report.toggles[i]
        self.overflows += report.overflows
        self.trace_rows.append(list(report.toggles))
        self.fold["cycle"] += 1

    def _rescale(self, report: CycleReport) -> None:
        """Evaluate the column units for every output finished in this cycle (lsqplus.md §5.2)."""
        spec, f, arr = self.spec, self.fold, self.array
        K, R = self.ops.K, spec.rows
        finished = []  # (c, m, n, A, Sx)
        if spec.dataflow == "os":
            for r, c, _, _ in report.enabled:
                if f["cycle"] - r - c == K - 1:
                    A = signed_value(arr.pe[r][c].p_reg.value, spec.acc_bits)
                    sx = signed_value(arr.rs_reg[r].value, spec.acc_bits)
                    finished.append((c, f["m0"] + r, f["j0"] + c, A, sx))
        elif f["last"]:
            for c, _ in report.leaving:
                t = f["cycle"] - R - (f["r_act"] - 1) - c
                A = signed_value(self.ofmap[(t, c)], spec.acc_bits)
                if spec.dataflow == "ws":
                    sx = signed_value(arr.rs_buffer.get(t, 0), spec.acc_bits)
                    finished.append((c, t, f["j0"] + c, A, sx))
                else:
                    sx = signed_value(arr.rs_reg[c].value, spec.acc_bits)
                    finished.append((c, f["j0"] + c, t, A, sx))
        q, g = self.q, f["g"]
        for c, m, n, A, sx in finished:
            corr = (int(q["zw"][g, n]), sx) if self.rowsum else None
            y, tr, tc, ovf = self.columns[c].evaluate(
                A, self.bq[g][n], int(q["mult"][g, n]), int(q["shift"][g, n]), q["zy"], q["lo"],
                q["hi"], corr)
            report.toggles[RESCALE] += tr
            report.toggles[ROWSUM] += tc
            report.overflows += ovf
            self.yq[g, m, n] = y


def quant_arrays(quant: dict | None, groups: int, N: int) -> dict:
    """A layer quant block (SPEC §4) as per-(g, n) arrays for the reference driver."""
    quant = quant or {"scheme": "int"}
    zeros = np.zeros((groups, N), dtype=np.int64)
    if quant.get("scheme", "int") != "lsqplus":
        return dict(requant=False, zx=0, zw=zeros, y_bits=32)

    def per_channel(key: str) -> np.ndarray:
        v = np.asarray(quant[key], dtype=np.int64)
        return np.broadcast_to(v, (groups * N,)).reshape(groups, N)

    y_bits, y_signed = quant["y_bits"], quant["y_signed"]
    lo, hi = (-(1 << (y_bits - 1)), (1 << (y_bits - 1)) - 1) if y_signed else (0, (1 << y_bits) - 1)
    return dict(requant=True, zx=int(quant["x_zero_point"]), zw=per_channel("w_zero_point"),
                bias=per_channel("bias"), mult=per_channel("multiplier"),
                shift=per_channel("shift"), zy=int(quant["y_zero_point"]), lo=lo, hi=hi,
                y_bits=y_bits)


def reference_simulate_lsqplus(ops: GemmOperands, spec: ArraySpec, placement: str,
                               quant: dict | None, trace: bool = True) -> GemmResult:
    """Simulate a (grouped) GEMM on an lsqplus array, cycle by cycle, PE by PE, gate by gate.

    Parameters
    ----------
    ops : GemmOperands
        Raw codes ``X`` [G, M, K], ``W`` [G, K, N] fitting the spec's widths and signedness.
    spec : ArraySpec
        The architecture as for the mac array (PE widths are the raw-code register widths).
    placement : str
        ``"output"`` or ``"pe"`` (lsqplus.md §2).
    quant : dict or None
        The layer's quant block (SPEC §4); ``int``/None: raw sums, no rescale.
    trace : bool
        Also return the per-cycle toggles, int64 [cycles_compute, 7].
    """
    _check_inputs(ops, spec)
    q = quant_arrays(quant, ops.groups, ops.N)
    run = _LsqRun(ops, spec, placement, q)
    run.run()
    names = (*class_names(spec.dataflow), "rescale", "rowsum")
    rows = np.array(run.trace_rows, dtype=np.int64).reshape(len(run.trace_rows), 7)
    if len(rows) != run.cycles_compute:
        raise AssertionError("trace length differs from cycles_compute")
    return GemmResult(
        y=run.yq if q["requant"] else run.y,
        toggles={name: int(v) for name, v in zip(names, run.totals)},
        overflows=int(run.overflows),
        folds=int(run.folds),
        cycles_compute=int(run.cycles_compute),
        cycles_active=int(run.cycles_active),
        macs=int(ops.groups * ops.M * ops.K * ops.N),
        trace=rows if trace else None,
    )
