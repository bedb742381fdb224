"""A systolic array of mac PEs as one gate-level netlist, and the testbench that drives it through
a GEMM by the schedule of docs/datapath.md §4–§6.

The netlist holds every register (data, valid, first-of-reduction flags, operand-isolation
latches), multiplier, adder and multiplexer of an ``R×C`` array and its per-column edge
accumulation adders; the testbench only drives the array's edges and per-fold configuration
(active region, last active row) and keeps the ofmap buffer. Simulating it with
:class:`accelsim.gates.evaluate.Sequential` gives outputs and per-cycle toggles per class that
must equal the kernels' (``accelsim run --trace``).

``isolate=False`` (arithmetic units see their inputs in every cycle) and ``gate_psum=False``
(the partial-sum register loads its adder every cycle) build plausible other hardware, used as
negative controls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.gates.datapath import (Bus, adder, extend, gate_bus, multiplier, mux_bus,
                                     overflow_rule)
from accelsim.gates.evaluate import Sequential
from accelsim.gates.netlist import Netlist
from accelsim.sim.types import ArraySpec, class_names


@dataclass(frozen=True)
class Options:
    """Hardware variants: operand isolation of the arithmetic units, load-gated psum register."""

    isolate: bool = True
    gate_psum: bool = True


class _Pe:
    """Builder context shared by one array's PEs."""

    def __init__(self, nl: Netlist, spec: ArraySpec, opt: Options) -> None:
        self.nl, self.spec, self.opt = nl, spec, opt

    def idle(self, q: Bus) -> Bus:
        """What a moving register loads when it receives no valid data."""
        return [0] * len(q) if self.spec.idle_zero else q

    def load(self, valid: int, data: Bus, q: Bus) -> Bus:
        return mux_bus(self.nl, valid, self.idle(q), data)

    def isolate(self, en: int, bus: Bus) -> Bus:
        """Operand isolation: ``bus`` while enabled, else the value of the last enabled cycle."""
        if not self.opt.isolate:
            return bus
        held = self.nl.register(len(bus))
        out = mux_bus(self.nl, en, held, bus)
        self.nl.connect(held, out)
        return out

    def mac(self, en: int, x: Bus, w: Bus, acc_in: Bus) -> Bus:
        """Multiplier + accumulator adder (with the overflow rule) on isolated operands."""
        s = self.spec
        x, w, acc_in = self.isolate(en, x), self.isolate(en, w), self.isolate(en, acc_in)
        product = multiplier(self.nl, x, w, s.x_signed, s.w_signed)
        product = extend(product, s.acc_bits, s.x_signed or s.w_signed)
        total = adder(self.nl, acc_in, product)
        return overflow_rule(self.nl, acc_in, product, total, s.saturate)


def _stationary_array(spec: ArraySpec, opt: Options, pe_cls: type[_Pe]) -> Netlist:
    """``ws`` / ``is``: stationary operand preloaded down a shift chain, moving operand to the
    right, partial sums down, edge accumulators at the bottom."""
    nl, s = Netlist(), spec
    pe = pe_cls(nl, s, opt)
    R, C, A = s.rows, s.cols, s.acc_bits
    ws = DATAFLOWS[s.dataflow].holds_w
    hb, sb = (s.x_bits, s.w_bits) if ws else (s.w_bits, s.x_bits)
    hcls, scls = ("x_reg", "w_reg") if ws else ("w_reg", "x_reg")
    preload = nl.input("preload", 1)[0]
    last = [nl.input(f"last{r}", 1)[0] for r in range(R)]
    psum_q = [[None] * C for _ in range(R)]
    result = [[None] * C for _ in range(R)]
    h_edge = [(nl.input(f"h{r}", hb), nl.input(f"hv{r}", 1)[0]) for r in range(R)]
    s_edge = [(nl.input(f"s{c}", sb), nl.input(f"sv{c}", 1)[0]) for c in range(C)]
    h_chain = list(h_edge)
    s_chain = list(s_edge)
    for r in range(R):
        for c in range(C):
            act = nl.input(f"act{r}_{c}", 1)[0]
            h_in, hv_in = h_chain[r]
            s_in, sv_in = s_chain[c]
            valid = nl.gate("AND", hv_in, act)
            s_valid = nl.gate("AND", sv_in, act)
            H, Hv = nl.register(hb, hcls), nl.register(1)
            S, Sv = nl.register(sb, scls), nl.register(1)
            P = nl.register(A, "psum_reg")
            nl.connect(H, pe.load(valid, h_in, H))
            nl.connect(Hv, [valid])
            nl.connect(S, mux_bus(nl, preload, S, pe.load(s_valid, s_in, S)))
            nl.connect(Sv, [nl.gate("AND", preload, s_valid)])  # valid of the last cycle's load
            psum_in = psum_q[r - 1][c] if r else [0] * A
            x, w = (h_in, S) if ws else (S, h_in)
            res = pe.mac(valid, x, w, psum_in)
            if opt.gate_psum:
                nl.connect(P, pe.load(valid, res, P))
            else:
                nl.connect(P, res)
            psum_q[r][c], result[r][c] = P, res
            h_chain[r] = (H, Hv[0])
            s_chain[c] = (S, Sv[0])
    for c in range(C):
        col = [0] * A
        for r in range(R):
            col = [nl.gate("OR", a, b) for a, b in zip(col, gate_bus(nl, last[r], result[r][c]))]
        en = nl.input(f"eacc{c}", 1)[0]
        part = nl.input(f"part{c}", A)
        a, b = pe.isolate(en, part), pe.isolate(en, col)
        total = adder(nl, a, b)
        nl.outputs[f"col{c}"] = col
        nl.outputs[f"edge{c}"] = overflow_rule(nl, a, b, total, s.saturate)
    return nl


def _os_array(spec: ArraySpec, opt: Options, pe_cls: type[_Pe]) -> Netlist:
    """``os``: x moves right (with a first-of-reduction flag), w moves down, stationary acc."""
    nl, s = Netlist(), spec
    pe = pe_cls(nl, s, opt)
    R, C, A = s.rows, s.cols, s.acc_bits
    x_chain = [(nl.input(f"x{r}", s.x_bits), nl.input(f"xv{r}", 1)[0], nl.input(f"xf{r}", 1)[0])
               for r in range(R)]
    w_chain = [(nl.input(f"w{c}", s.w_bits), nl.input(f"wv{c}", 1)[0]) for c in range(C)]
    for r in range(R):
        for c in range(C):
            act = nl.input(f"act{r}_{c}", 1)[0]
            x_in, xv_in, xf_in = x_chain[r]
            w_in, wv_in = w_chain[c]
            xv, wv = nl.gate("AND", xv_in, act), nl.gate("AND", wv_in, act)
            en = nl.gate("AND", xv, wv)
            X, Xv, Xf = nl.register(s.x_bits, "x_reg"), nl.register(1), nl.register(1)
            W, Wv = nl.register(s.w_bits, "w_reg"), nl.register(1)
            Q = nl.register(A, "acc_reg")
            nl.connect(X, pe.load(xv, x_in, X))
            nl.connect(Xv, [xv])
            nl.connect(Xf, [nl.gate("AND", xv, xf_in)])
            nl.connect(W, pe.load(wv, w_in, W))
            nl.connect(Wv, [wv])
            res = pe.mac(en, x_in, w_in, gate_bus(nl, nl.gate("NOT", xf_in), Q))
            nl.connect(Q, mux_bus(nl, en, Q, res) if opt.gate_psum else res)
            x_chain[r] = (X, Xv[0], Xf[0])
            w_chain[c] = (W, Wv[0])
            nl.outputs[f"acc{r}_{c}"] = Q
            nl.outputs[f"res{r}_{c}"] = res
    return nl


def build_array(spec: ArraySpec, opt: Options = Options(), pe_cls: type[_Pe] = _Pe) -> Netlist:
    """The array netlist for ``spec`` (PEs built by ``pe_cls``). Its outputs are what the
    testbench reads: per column ``col<c>`` (the column result) and ``edge<c>`` (the edge
    accumulator), or per PE ``acc<r>_<c>`` and its adder result ``res<r>_<c>`` (``os``)."""
    build = _os_array if DATAFLOWS[spec.dataflow].holds_outputs else _stationary_array
    return build(spec, opt, pe_cls)


def _pattern(v: int, bits: int) -> int:
    return int(v) & ((1 << bits) - 1)


def _signed(v: int, bits: int) -> int:
    return v - (1 << bits) if v >> (bits - 1) & 1 else v


def simulate_gates(x: np.ndarray, w: np.ndarray, spec: ArraySpec, opt: Options = Options(),
                   netlist: Netlist | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run the GEMM ``x`` [G, M, K] · ``w`` [G, K, N] on the gate-level array (built for
    ``spec`` and ``opt``, or the given ``netlist`` of such an array, e.g. read back from Yosys).

    Returns the outputs [G, M, N] (int64) and the per-cycle trace [cycles, 5] of toggles per
    class in :func:`accelsim.sim.types.class_names` order.
    """
    nl = netlist if netlist is not None else build_array(spec, opt)
    sim = Sequential(nl)
    classes = class_names(spec.dataflow)
    G, M, K = x.shape
    N = w.shape[2]
    y = np.zeros((G, M, N), dtype=np.int64)
    rows: list[list[int]] = []
    fold = _os_fold if DATAFLOWS[spec.dataflow].holds_outputs else _stationary_fold
    for g in range(G):
        fold(sim, spec, x[g], w[g], y[g], rows, classes)
    return y, np.array(rows, dtype=np.int64).reshape(-1, len(classes))


def _set_active(sim: Sequential, spec: ArraySpec, r_act: int, c_act: int) -> None:
    for r in range(spec.rows):
        for c in range(spec.cols):
            sim.set(f"act{r}_{c}", int(r < r_act and c < c_act))


def _step(sim: Sequential, rows: list[list[int]], classes: tuple[str, ...]) -> None:
    counts = sim.step()
    rows.append([counts.get(k, 0) for k in classes])


def _stationary_fold(sim, spec, x, w, y, rows, classes) -> None:
    """All folds of one group in ``ws`` / ``is`` (datapath.md §5.1)."""
    R, C = spec.rows, spec.cols
    M, K = x.shape
    N = w.shape[1]
    ws = DATAFLOWS[spec.dataflow].holds_w
    hb, sb = (spec.x_bits, spec.w_bits) if ws else (spec.w_bits, spec.x_bits)
    cols_dim, T = (N, M) if ws else (M, N)
    for c0 in range(0, cols_dim, C):
        for k0 in range(0, K, R):
            r_act, c_act = min(R, K - k0), min(C, cols_dim - c0)
            _set_active(sim, spec, r_act, c_act)
            for r in range(R):
                sim.set(f"last{r}", int(r == r_act - 1))

            def stat(r, c):
                return w[k0 + r, c0 + c] if ws else x[c0 + c, k0 + r]

            def moving(t, r):
                return x[t, k0 + r] if ws else w[k0 + r, t]

            sim.set("preload", 1)
            for r in range(R):
                sim.set(f"hv{r}", 0)
            for c in range(C):
                sim.set(f"eacc{c}", 0)
            for p in range(R):
                for c in range(C):
                    ok = p >= R - r_act and c < c_act
                    sim.set(f"s{c}", _pattern(stat(R - 1 - p, c), sb) if ok else 0)
                    sim.set(f"sv{c}", int(ok))
                _step(sim, rows, classes)
            sim.set("preload", 0)
            for c in range(C):
                sim.set(f"sv{c}", 0)
                sim.set(f"s{c}", 0)
            for s in range(T + R + C - 2):
                for r in range(R):
                    ok = 0 <= s - r < T and r < r_act
                    sim.set(f"h{r}", _pattern(moving(s - r, r), hb) if ok else 0)
                    sim.set(f"hv{r}", int(ok))
                leaving = {}
                for c in range(c_act):
                    t = s - (r_act - 1) - c
                    if 0 <= t < T:
                        out = (t, c0 + c) if ws else (c0 + c, t)
                        leaving[c] = out
                    if k0 and c in leaving:
                        sim.set(f"eacc{c}", 1)
                        sim.set(f"part{c}", _pattern(y[leaving[c]], spec.acc_bits))
                    else:
                        sim.set(f"eacc{c}", 0)
                _step(sim, rows, classes)
                for c, out in leaving.items():
                    tap = sim.nl.outputs[f"edge{c}" if k0 else f"col{c}"]
                    y[out] = _signed(sim.read(tap), spec.acc_bits)
            for c in range(C):
                sim.set(f"eacc{c}", 0)


def _os_fold(sim, spec, x, w, y, rows, classes) -> None:
    """All folds of one group in ``os`` (datapath.md §5.2)."""
    R, C = spec.rows, spec.cols
    M, K = x.shape
    N = w.shape[1]
    for n0 in range(0, N, C):
        for m0 in range(0, M, R):
            r_act, c_act = min(R, M - m0), min(C, N - n0)
            _set_active(sim, spec, r_act, c_act)
            for s in range(R + C + K - 2):
                for r in range(R):
                    ok = r < r_act and 0 <= s - r < K
                    sim.set(f"x{r}", _pattern(x[m0 + r, s - r], spec.x_bits) if ok else 0)
                    sim.set(f"xv{r}", int(ok))
                    sim.set(f"xf{r}", int(ok and s - r == 0))
                for c in range(C):
                    ok = c < c_act and 0 <= s - c < K
                    sim.set(f"w{c}", _pattern(w[s - c, n0 + c], spec.w_bits) if ok else 0)
                    sim.set(f"wv{c}", int(ok))
                _step(sim, rows, classes)
            for r in range(r_act):
                for c in range(c_act):
                    acc = sim.read(sim.nl.outputs[f"acc{r}_{c}"])
                    y[m0 + r, n0 + c] = _signed(acc, spec.acc_bits)
