"""An array of ``lsqplus`` PEs (docs/lsqplus.md) as a gate-level netlist, and its testbench.

- Placement ``output``: the mac array of :mod:`accelsim.gates.array`, unchanged, on the raw codes.
- Placement ``pe``: the same array whose PEs put two zero-point subtractors (class ``adder``)
  between the raw-code operand registers and an ``(x_bits+1)×(w_bits+1)`` signed multiplier.
- Both: one rescale unit per column (:mod:`accelsim.gates.rescale`) on the wire that carries the
  column's final result to the ofmap (``ws``/``is``: the column result or the edge accumulator's
  output; ``os``: the adder result of the PE doing its last MAC, picked by a row select).

- Placement ``output`` on a layer with some ``z_w != 0``: the row-sum unit of lsqplus.md §3.3
  (``ws``: a chain of adder cells beside the array and an edge adder against the row-sum buffer;
  ``os``: an accumulating cell per row; ``is``: one per column on the preload) and, in each
  rescale unit, the correction ``t1 − z_w·Sx`` (class ``rowsum``). For a layer with every
  ``z_w = 0`` the unit is gated off for the whole layer and is not built.

The testbench drives the per-evaluation channel parameters (bias register, multiplier, decoded
shifts, ``z_w``), the zero points and the enables by the schedule of lsqplus.md §5.2, and keeps
the ofmap and row-sum buffers (control, parameter loading and buffers: not counted).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.gates.array import (Options, _os_fold, _Pe, _pattern, _signed, _stationary_fold,
                                  build_array)
from accelsim.gates.datapath import (Bus, adder, extend, gate_bus, multiplier, mux_bus,
                                     overflow_rule)
from accelsim.gates.evaluate import Sequential
from accelsim.gates.netlist import Netlist
from accelsim.gates.rescale import rescale_unit
from accelsim.pe.lsqplus import Quant, toggle_classes
from accelsim.sim.types import ArraySpec

_M32 = (1 << 32) - 1


class _SubtractingPe(_Pe):
    """Placement ``pe``: zero-point subtractors in front of a wider signed multiplier."""

    def __init__(self, nl: Netlist, spec: ArraySpec, opt: Options) -> None:
        super().__init__(nl, spec, opt)
        self.zx = nl.input("zx", spec.x_bits + 1)
        self.index = 0

    def mac(self, en: int, x, w, acc_in):
        s, nl = self.spec, self.nl
        zw = nl.input(f"zw{self.index}", s.w_bits + 1)
        self.index += 1
        x, w, acc_in = self.isolate(en, x), self.isolate(en, w), self.isolate(en, acc_in)
        zx, zw = self.isolate(en, self.zx), self.isolate(en, zw)

        def sub(v, z, signed):
            return adder(nl, extend(v, len(z), signed), [nl.gate("NOT", b) for b in z], cin=1)

        dx, dw = sub(x, zx, s.x_signed), sub(w, zw, s.w_signed)
        product = extend(multiplier(nl, dx, dw, True, True), s.acc_bits, True)
        total = adder(nl, acc_in, product)
        return overflow_rule(nl, acc_in, product, total, s.saturate)


def _rowsum_unit(nl: Netlist, pe: _Pe) -> list[Bus]:
    """The row-sum unit of lsqplus.md §3.3 (adders and registers counted in ``rowsum``); returns
    per array column the ``Sx`` wire its correction reads (``os``: select ``sel<r>_<c>``;
    ``ws``: ``sxw<c>`` picks the value leaving the unit in this cycle over the buffer input
    ``sx<c>``)."""
    s = pe.spec
    R, C, A = s.rows, s.cols, s.acc_bits
    df = DATAFLOWS[s.dataflow]

    def cell(en: int, base: Bus, x: Bus, moving: bool) -> tuple[Bus, Bus]:
        a, b = pe.isolate(en, base), pe.isolate(en, extend(x, A, s.x_signed))
        total = overflow_rule(nl, a, b, adder(nl, a, b, cls="rowsum"), s.saturate)
        q = nl.register(A, "rowsum")
        nl.connect(q, pe.load(en, total, q) if moving else mux_bus(nl, en, q, total))
        return q, total

    if df.holds_outputs:
        d = []
        for r in range(R):
            q = nl.register(A, "rowsum")
            en, first = nl.inputs[f"xv{r}"][0], nl.inputs[f"xf{r}"][0]
            a = pe.isolate(en, gate_bus(nl, nl.gate("NOT", first), q))
            b = pe.isolate(en, extend(nl.inputs[f"x{r}"], A, s.x_signed))
            total = overflow_rule(nl, a, b, adder(nl, a, b, cls="rowsum"), s.saturate)
            d.append(mux_bus(nl, en, q, total))
            nl.connect(q, d[-1])
        return [_or_select(nl, [(nl.inputs[f"sel{r}_{c}"][0], d[r]) for r in range(R)])
                for c in range(C)]
    if not df.holds_w:  # is: per column, on the preload of x
        first = nl.input("rsfirst", 1)[0]
        out = []
        for c in range(C):
            en = nl.gate("AND", nl.inputs["preload"][0], nl.inputs[f"sv{c}"][0])
            q = nl.register(A, "rowsum")
            a = pe.isolate(en, gate_bus(nl, nl.gate("NOT", first), q))
            b = pe.isolate(en, extend(nl.inputs[f"s{c}"], A, s.x_signed))
            total = overflow_rule(nl, a, b, adder(nl, a, b, cls="rowsum"), s.saturate)
            nl.connect(q, mux_bus(nl, en, q, total))
            out.append(q)
        return out
    prev: Bus = [0] * A  # ws: the chain beside the array, then the edge adder
    sums = []
    for r in range(R):
        prev, total = cell(nl.inputs[f"hv{r}"][0], prev, nl.inputs[f"h{r}"], True)
        sums.append(total)
    col = _or_select(nl, [(nl.inputs[f"last{r}"][0], sums[r]) for r in range(R)])
    en, part = nl.input("rseacc", 1)[0], nl.input("rspart", A)
    a, b = pe.isolate(en, part), pe.isolate(en, col)
    edge = overflow_rule(nl, a, b, adder(nl, a, b, cls="rowsum"), s.saturate)
    leaving = mux_bus(nl, nl.input("rsue", 1)[0], col, edge)
    nl.outputs["rsx"] = leaving
    return [mux_bus(nl, nl.input(f"sxw{c}", 1)[0], nl.input(f"sx{c}", A), leaving)
            for c in range(C)]


def _or_select(nl: Netlist, picks: list[tuple[int, Bus]]) -> Bus:
    """The bus whose (one-hot) select is 1, or 0."""
    out = [0] * len(picks[0][1])
    for sel, bus in picks:
        out = [nl.gate("OR", p, nl.gate("AND", sel, q)) for p, q in zip(out, bus)]
    return out


def build_lsqplus_array(spec: ArraySpec, placement: str, y_bits: int, rowsum: bool = False,
                        opt: Options = Options()) -> Netlist:
    """The array netlist with its per-column rescale units (outputs ``y<c>``) and, if
    ``rowsum``, the row-sum unit and corrections. Rescale inputs per column ``c``: enable
    ``ren<c>``, ``b<c>``, ``mq<c>``, ``left<c>``, ``e<c>``, ``half<c>``, ``halfm1<c>``,
    ``eon<c>``, ``zwc<c>`` (correction), and ``ue<c>`` (ws/is: take the edge accumulator) or the
    row select ``sel<r>_<c>`` (os); global ``zy``, ``lo``, ``hi``."""
    nl = build_array(spec, opt, _SubtractingPe if placement == "pe" else _Pe)
    pe = _Pe(nl, spec, opt)
    os_ = DATAFLOWS[spec.dataflow].holds_outputs
    zy, lo, hi = nl.input("zy", 33), nl.input("lo", 33), nl.input("hi", 33)
    if os_:
        for r in range(spec.rows):
            for c in range(spec.cols):
                nl.input(f"sel{r}_{c}", 1)
    sx = _rowsum_unit(nl, pe) if rowsum else None
    for c in range(spec.cols):
        if os_:
            a = _or_select(nl, [(nl.inputs[f"sel{r}_{c}"][0], nl.outputs[f"res{r}_{c}"])
                                for r in range(spec.rows)])
        else:
            ue = nl.input(f"ue{c}", 1)[0]
            a = [nl.gate("MUX", ue, p, q)
                 for p, q in zip(nl.outputs[f"col{c}"], nl.outputs[f"edge{c}"])]
        en = nl.input(f"ren{c}", 1)[0]
        ins = {k: pe.isolate(en, nl.input(f"{k}{c}", n)) for k, n in
               (("b", 32), ("mq", 32), ("left", 5), ("e", 5), ("half", 33), ("halfm1", 33),
                ("eon", 1))}
        corr = None
        if sx is not None:
            corr = (pe.isolate(en, nl.input(f"zwc{c}", spec.w_bits)), pe.isolate(en, sx[c]),
                    spec.w_signed)
        nl.outputs[f"y{c}"] = rescale_unit(
            nl, pe.isolate(en, a), ins["b"], ins["mq"], ins["left"], ins["e"], ins["half"],
            ins["halfm1"], ins["eon"][0], pe.isolate(en, zy), pe.isolate(en, lo),
            pe.isolate(en, hi), y_bits, corr)
    return nl


class _Bench(Sequential):
    """A :class:`Sequential` that applies the schedule of :func:`_plan` before each cycle, reads
    the rescaled outputs after it and keeps the ``ws`` row-sum buffer."""

    def __init__(self, nl: Netlist, plan: dict[int, _Cycle], C: int, y: np.ndarray,
                 y_bits: int, y_signed: bool) -> None:
        super().__init__(nl)
        self.plan, self.C, self.y, self.cycle = plan, C, y, 0
        self.y_bits, self.y_signed = y_bits, y_signed
        self.buffer: dict[int, int] = {}
        self.rowsum_ws = "rsx" in nl.outputs

    def step(self) -> dict[str, int]:
        cyc = self.plan.get(self.cycle, _Cycle())
        for c in range(self.C):
            self.set(f"ren{c}", 0)
        if self.rowsum_ws:
            self.set("rseacc", 0)
        for k, v in cyc.sets.items():
            self.set(k, v)
        for c, t in cyc.sx:
            self.set(f"sx{c}", self.buffer[t])
        if cyc.leave is not None:
            t, later = cyc.leave
            self.set("rsue", int(later))
            self.set("rseacc", int(later))
            if later:
                self.set("rspart", self.buffer[t])
        out = super().step()
        for c, idx in cyc.reads:
            v = self.read(self.nl.outputs[f"y{c}"])
            self.y[idx] = _signed(v, self.y_bits) if self.y_signed else v
        if cyc.leave is not None:
            self.buffer[cyc.leave[0]] = self.read(self.nl.outputs["rsx"])
        self.cycle += 1
        return out


@dataclass
class _Cycle:
    """What the testbench does around one cycle: inputs to set, (column, output index) to read,
    ``ws`` row-sum buffer entries to present as ``sx<c>``, the row-sum result leaving (``t``,
    later K-fold)."""

    sets: dict[str, int] = field(default_factory=dict)
    reads: list[tuple[int, tuple[int, int, int]]] = field(default_factory=list)
    sx: list[tuple[int, int]] = field(default_factory=list)
    leave: tuple[int, bool] | None = None


def _plan(spec: ArraySpec, placement: str, q: Quant, x: np.ndarray, w: np.ndarray,
          rowsum: bool) -> dict[int, _Cycle]:
    """Per cycle: rescale evaluations of lsqplus.md §5.2 with their channel parameters, the PEs'
    zero points (placement ``pe``) and the row-sum unit's controls (§3.3)."""
    R, C = spec.rows, spec.cols
    G, M, K = x.shape
    N = w.shape[2]
    df = DATAFLOWS[spec.dataflow]
    pe_side = placement == "pe"
    bias = q.bias if pe_side else q.bias - q.zx * w.sum(axis=1) + K * q.zx * q.zw  # b' (§3.2)
    plan: dict[int, _Cycle] = {}
    cycle = 0

    def at(cyc: int) -> _Cycle:
        return plan.setdefault(cyc, _Cycle())

    def evaluate(cyc: int, c: int, g: int, m: int, n: int, extra: dict[str, int]) -> None:
        sets = at(cyc).sets
        if rowsum:
            sets[f"zwc{c}"] = _pattern(int(q.zw[g, n]), spec.w_bits)
        sh = int(q.shift[g, n])
        left, e = max(sh, 0), max(-sh, 0)
        sets.update({f"ren{c}": 1, f"b{c}": int(bias[g, n]) & _M32,
                     f"mq{c}": int(q.mult[g, n]) & _M32, f"left{c}": left, f"e{c}": e,
                     f"half{c}": (1 << (e - 1)) if e else 0,
                     f"halfm1{c}": ((1 << (e - 1)) - 1) if e else 0, f"eon{c}": int(e > 0),
                     **extra})
        at(cyc).reads.append((c, (g, m, n)))

    def zw(r: int, c: int, g: int, n: int) -> dict[str, int]:
        return {f"zw{r * C + c}": _pattern(int(q.zw[g, n]), spec.w_bits + 1)} if pe_side else {}

    for g in range(G):
        if df.holds_outputs:
            for n0 in range(0, N, C):
                for m0 in range(0, M, R):
                    r_act, c_act = min(R, M - m0), min(C, N - n0)
                    for r in range(r_act):
                        for c in range(c_act):
                            at(cycle).sets.update(zw(r, c, g, n0 + c))
                            sel = {f"sel{rr}_{c}": int(rr == r) for rr in range(R)}
                            evaluate(cycle + r + c + K - 1, c, g, m0 + r, n0 + c, sel)
                    cycle += R + C + K - 2
            continue
        cols_dim, T = (N, M) if df.holds_w else (M, N)
        for c0 in range(0, cols_dim, C):
            for k0 in range(0, K, R):
                r_act, c_act = min(R, K - k0), min(C, cols_dim - c0)
                for s in range(T + R + C - 2):
                    for r in range(r_act):
                        for c in range(c_act):
                            t = s - r - c
                            if pe_side and 0 <= t < T:
                                at(cycle + R + s).sets.update(
                                    zw(r, c, g, c0 + c if df.holds_w else t))
                if rowsum and not df.holds_w:  # is: the first addition of a tile starts at 0
                    for p in range(R):
                        at(cycle + p).sets["rsfirst"] = int(k0 == 0 and p == R - r_act)
                if rowsum and df.holds_w:
                    for t in range(T):
                        at(cycle + R + t + r_act - 1).leave = (t, k0 > 0)
                if k0 + R >= K:  # the output tile's last K-fold
                    for c in range(c_act):
                        for t in range(T):
                            m, n = (t, c0 + c) if df.holds_w else (c0 + c, t)
                            cyc = cycle + R + t + r_act - 1 + c
                            extra = {f"ue{c}": int(k0 > 0)}
                            if rowsum and df.holds_w:
                                extra[f"sxw{c}"] = int(c == 0)
                                if c:
                                    at(cyc).sx.append((c, t))
                            evaluate(cyc, c, g, m, n, extra)
                cycle += R + T + R + C - 2
    return plan


def simulate_lsqplus_gates(x: np.ndarray, w: np.ndarray, spec: ArraySpec, placement: str,
                           quant: dict[str, Any], opt: Options = Options(),
                           netlist: Netlist | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Requantized outputs [G, M, N] and per-cycle trace [cycles, 7] (lsqplus.md §6 order) of
    the gate-level lsqplus array on an ``lsqplus`` layer (``quant``, docs/reference/workload.md);
    ``netlist``: a netlist of that array (e.g. read back from Yosys) instead of building it."""
    G, M, K = x.shape
    N = w.shape[2]
    q = Quant.of(quant, G, N)
    rowsum = placement == "output" and q.rowsum_enabled
    nl = netlist if netlist is not None else build_lsqplus_array(spec, placement, q.y_bits,
                                                                 rowsum, opt)
    y = np.zeros((G, M, N), dtype=np.int64)
    sim = _Bench(nl, _plan(spec, placement, q, x, w, rowsum), spec.cols, y, q.y_bits,
                 q.lo < 0)
    if placement == "pe":
        sim.set("zx", _pattern(q.zx, spec.x_bits + 1))
    for k, v in (("zy", q.zy), ("lo", q.lo), ("hi", q.hi)):
        sim.set(k, _pattern(v, 33))
    classes = toggle_classes(spec.dataflow)
    rows: list[list[int]] = []
    acc = np.zeros((G, M, N), dtype=np.int64)
    fold = _os_fold if DATAFLOWS[spec.dataflow].holds_outputs else _stationary_fold
    for g in range(G):
        fold(sim, spec, x[g], w[g], acc[g], rows, classes)
    return y, np.array(rows, dtype=np.int64).reshape(-1, len(classes))
