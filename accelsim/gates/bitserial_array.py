"""A systolic array of ``bitserial`` PEs (docs/bitserial.md) as a gate-level netlist, and its
testbench.

The mac array of :mod:`accelsim.gates.array` with the multiplier and the one-shot adder replaced
by the Stripes-style shift-add unit: a ``b:1`` bit select of the word-wide ``x``, ``w_bits`` AND
gates (class ``mult``), the partial product shifted to bit ``j`` (complemented with carry-in 1 in
the sign cycle of a signed ``x``) and one ``acc_bits`` ripple-carry adder (class ``adder``) that
always wraps; a two-state net-wrap counter per PE applies the overflow rule to the completed
product. Lock-step timing (bitserial.md §5): the global ``shift`` input is 1 in the first cycle
of every step, the one-hot ``j<i>`` inputs are the array's step-cycle counter (both control,
driven by the testbench). Bit select, shifter, complementer, counter and saturation multiplexer
are built from gates but not counted (bitserial.md §7).
"""

from __future__ import annotations

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.gates.array import Options, _Pe, _pattern, _set_active, _signed, _step
from accelsim.gates.datapath import Bus, adder, extend, gate_bus, mux_bus, overflow_rule
from accelsim.gates.evaluate import Sequential
from accelsim.gates.netlist import Netlist
from accelsim.sim.types import ArraySpec, class_names


def _or_all(nl: Netlist, nets: list[int]) -> int:
    out = 0
    for n in nets:
        out = n if out == 0 else nl.gate("OR", out, n)
    return out


def _shift_add(nl: Netlist, pe: _Pe, en: int, jsel: list[int], x: Bus, w: Bus, base: Bus,
               first: int, cnt: tuple[Bus, Bus]) -> Bus:
    """One PE's shift-add of this cycle (enabled by ``en``): the accumulator's next value.

    ``jsel``: one-hot step cycle; ``first``: 1 in the step's first cycle (clears the net-wrap
    counter ``cnt`` = (up, down) register outputs, which this connects)."""
    s = pe.spec
    A, b = s.acc_bits, len(jsel)
    x_j = _or_all(nl, [nl.gate("AND", jsel[i], x[i]) for i in range(b)])
    wi, xi = pe.isolate(en, w), pe.isolate(en, [x_j])[0]
    pp = [nl.gate("AND", bit, xi) for bit in wi]
    nl.count("mult", pp)
    e = extend(pp, A, s.w_signed)
    shifted = [_or_all(nl, [nl.gate("AND", jsel[j], e[k - j]) for j in range(b) if k - j >= 0])
               for k in range(A)]
    sub = jsel[b - 1] if s.x_signed else 0
    addend = [nl.gate("XOR", bit, sub) for bit in shifted] if sub else shifted
    a_i, b_i = pe.isolate(en, base), pe.isolate(en, addend)
    c_i = pe.isolate(en, [sub])[0] if sub else 0
    raw = adder(nl, a_i, b_i, cin=c_i)
    # net wrap count of the MAC: states -1, 0, +1 as (down, up) flags
    sign_a = a_i[-1]
    ovf = nl.gate("AND", nl.gate("XNOR", sign_a, b_i[-1]), nl.gate("XOR", raw[-1], sign_a))
    up, dn = nl.gate("ANDNOT", ovf, sign_a), nl.gate("AND", ovf, sign_a)
    keep = nl.gate("NOT", first)
    old_up, old_dn = nl.gate("AND", keep, cnt[0][0]), nl.gate("AND", keep, cnt[1][0])
    zero = nl.gate("NOR", old_up, old_dn)
    new_up = nl.gate("OR", nl.gate("ANDNOT", old_up, dn), nl.gate("AND", zero, up))
    new_dn = nl.gate("OR", nl.gate("ANDNOT", old_dn, up), nl.gate("AND", zero, dn))
    nl.connect(cnt[0], mux_bus(nl, en, cnt[0], [new_up]))
    nl.connect(cnt[1], mux_bus(nl, en, cnt[1], [new_dn]))
    if not s.saturate:
        return raw
    hi, lo = nl.gate("AND", jsel[b - 1], new_up), nl.gate("AND", jsel[b - 1], new_dn)
    out = [nl.gate("MUX", hi, nl.gate("ANDNOT", r, lo), 1) for r in raw[:-1]]
    return out + [nl.gate("ANDNOT", nl.gate("OR", raw[-1], lo), hi)]


def build_bitserial_array(spec: ArraySpec, opt: Options = Options()) -> Netlist:
    """The bitserial array netlist; outputs ``col<c>``/``edge<c>`` (ws, is) or ``acc<r>_<c>``
    (os) as in the mac array. ``opt.isolate=False``: the units see their inputs always."""
    nl, s = Netlist(), spec
    pe = _Pe(nl, s, opt)
    R, C, A, b = s.rows, s.cols, s.acc_bits, s.x_bits
    shift = nl.input("shift", 1)[0]
    jsel = [nl.input(f"j{i}", 1)[0] for i in range(b)]
    if DATAFLOWS[s.dataflow].holds_outputs:
        x_chain = [(nl.input(f"x{r}", s.x_bits), nl.input(f"xv{r}", 1)[0],
                    nl.input(f"xf{r}", 1)[0]) for r in range(R)]
        w_chain = [(nl.input(f"w{c}", s.w_bits), nl.input(f"wv{c}", 1)[0]) for c in range(C)]
        for r in range(R):
            for c in range(C):
                act = nl.input(f"act{r}_{c}", 1)[0]
                x_in, xv_in, xf_in = x_chain[r]
                w_in, wv_in = w_chain[c]
                xv, wv = nl.gate("AND", xv_in, act), nl.gate("AND", wv_in, act)
                X, Xv, Xf = nl.register(b, "x_reg"), nl.register(1), nl.register(1)
                W, Wv = nl.register(s.w_bits, "w_reg"), nl.register(1)
                Q = nl.register(A, "acc_reg")
                nl.connect(X, mux_bus(nl, shift, X, pe.load(xv, x_in, X)))
                nl.connect(Xv, mux_bus(nl, shift, Xv, [xv]))
                nl.connect(Xf, mux_bus(nl, shift, Xf, [nl.gate("AND", xv, xf_in)]))
                nl.connect(W, mux_bus(nl, shift, W, pe.load(wv, w_in, W)))
                nl.connect(Wv, mux_bus(nl, shift, Wv, [wv]))
                en = nl.gate("MUX", shift, nl.gate("AND", Xv[0], Wv[0]), nl.gate("AND", xv, wv))
                x = mux_bus(nl, shift, X, x_in)
                w = mux_bus(nl, shift, W, w_in)
                clear = nl.gate("AND", shift, xf_in)
                base = gate_bus(nl, nl.gate("NOT", clear), Q)
                cnt = (nl.register(1), nl.register(1))
                res = _shift_add(nl, pe, en, jsel, x, w, base, shift, cnt)
                nl.connect(Q, mux_bus(nl, en, Q, res))
                x_chain[r] = (X, Xv[0], Xf[0])
                w_chain[c] = (W, Wv[0])
                nl.outputs[f"acc{r}_{c}"] = Q
        return nl
    ws = DATAFLOWS[s.dataflow].holds_w
    hb, sb = (s.x_bits, s.w_bits) if ws else (s.w_bits, s.x_bits)
    hcls, scls = ("x_reg", "w_reg") if ws else ("w_reg", "x_reg")
    preload = nl.input("preload", 1)[0]
    last = [nl.input(f"last{r}", 1)[0] for r in range(R)]
    h_chain = [(nl.input(f"h{r}", hb), nl.input(f"hv{r}", 1)[0]) for r in range(R)]
    s_chain = [(nl.input(f"s{c}", sb), nl.input(f"sv{c}", 1)[0]) for c in range(C)]
    psum_q: dict[tuple[int, int], Bus] = {}
    loads: dict[tuple[int, int], Bus] = {}
    for r in range(R):
        for c in range(C):
            act = nl.input(f"act{r}_{c}", 1)[0]
            h_in, hv_in = h_chain[r]
            s_in, sv_in = s_chain[c]
            arrive = nl.gate("AND", hv_in, act)
            s_valid = nl.gate("AND", sv_in, act)
            H, Hv = nl.register(hb, hcls), nl.register(1)
            S, Sv = nl.register(sb, scls), nl.register(1)
            nl.connect(H, mux_bus(nl, shift, H, pe.load(arrive, h_in, H)))
            nl.connect(Hv, mux_bus(nl, shift, Hv, [arrive]))
            nl.connect(S, mux_bus(nl, preload, S, pe.load(s_valid, s_in, S)))
            nl.connect(Sv, [nl.gate("AND", preload, s_valid)])
            en = nl.gate("MUX", shift, Hv[0], arrive)
            h = mux_bus(nl, shift, H, h_in)
            x, w = (h, S) if ws else (S, h)
            P = nl.register(A, "psum_reg")
            p_in = psum_q[(r - 1, c)] if r else [0] * A
            base = mux_bus(nl, shift, P, p_in)
            cnt = (nl.register(1), nl.register(1))
            res = _shift_add(nl, pe, en, jsel, x, w, base, shift, cnt)
            p_d = mux_bus(nl, shift, mux_bus(nl, en, P, res), pe.load(en, res, P))
            nl.connect(P, p_d)
            psum_q[(r, c)], loads[(r, c)] = P, p_d
            h_chain[r] = (H, Hv[0])
            s_chain[c] = (S, Sv[0])
    for c in range(C):
        col = [0] * A
        for r in range(R):
            col = [nl.gate("OR", a, v) for a, v in zip(col, gate_bus(nl, last[r], loads[(r, c)]))]
        en = nl.input(f"eacc{c}", 1)[0]
        part = nl.input(f"part{c}", A)
        a, v = pe.isolate(en, part), pe.isolate(en, col)
        nl.outputs[f"col{c}"] = col
        nl.outputs[f"edge{c}"] = overflow_rule(nl, a, v, adder(nl, a, v), s.saturate)
    return nl


def simulate_bitserial_gates(x: np.ndarray, w: np.ndarray, spec: ArraySpec,
                             opt: Options = Options(), netlist: Netlist | None = None,
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Outputs [G, M, N] (int64) and per-cycle trace [cycles, 5] of the gate-level bitserial
    array (built for ``spec`` and ``opt``, or the given ``netlist`` of one, e.g. read back from
    Yosys) running the GEMM ``x`` [G, M, K] · ``w`` [G, K, N]."""
    nl = netlist if netlist is not None else build_bitserial_array(spec, opt)
    sim = Sequential(nl)
    classes = class_names(spec.dataflow)
    G, M, K = x.shape
    N = w.shape[2]
    y = np.zeros((G, M, N), dtype=np.int64)
    rows: list[list[int]] = []
    folds = _os_folds if DATAFLOWS[spec.dataflow].holds_outputs else _folds
    for g in range(G):
        folds(sim, spec, x[g], w[g], y[g], rows, classes)
    return y, np.array(rows, dtype=np.int64).reshape(-1, len(classes))


def _cycle(sim: Sequential, spec: ArraySpec, j: int) -> None:
    sim.set("shift", int(j == 0))
    for i in range(spec.x_bits):
        sim.set(f"j{i}", int(i == j))


def _os_folds(sim, spec, x, w, y, rows, classes) -> None:
    """All folds of one group in ``os``, every step ``x_bits`` cycles (bitserial.md §5)."""
    R, C, b = spec.rows, spec.cols, spec.x_bits
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
                for j in range(b):
                    _cycle(sim, spec, j)
                    _step(sim, rows, classes)
            for r in range(r_act):
                for c in range(c_act):
                    y[m0 + r, n0 + c] = _signed(sim.read(sim.nl.outputs[f"acc{r}_{c}"]),
                                                spec.acc_bits)


def _folds(sim, spec, x, w, y, rows, classes) -> None:
    """All folds of one group in ``ws`` / ``is``: one-cycle preload steps, then streaming steps
    of ``x_bits`` cycles; column results leave in a step's last cycle."""
    R, C, b = spec.rows, spec.cols, spec.x_bits
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
            _cycle(sim, spec, 0)
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
            for s in range(T + R + C - 2):
                for r in range(R):
                    ok = 0 <= s - r < T and r < r_act
                    sim.set(f"h{r}", _pattern(moving(s - r, r), hb) if ok else 0)
                    sim.set(f"hv{r}", int(ok))
                leaving = {}
                for c in range(c_act):
                    t = s - (r_act - 1) - c
                    if 0 <= t < T:
                        leaving[c] = (t, c0 + c) if ws else (c0 + c, t)
                for j in range(b):
                    _cycle(sim, spec, j)
                    for c in range(C):
                        out = leaving.get(c) if j == b - 1 else None
                        sim.set(f"eacc{c}", int(out is not None and k0 > 0))
                        if out is not None and k0:
                            sim.set(f"part{c}", _pattern(y[out], spec.acc_bits))
                    _step(sim, rows, classes)
                for c, out in leaving.items():
                    tap = sim.nl.outputs[f"edge{c}" if k0 else f"col{c}"]
                    y[out] = _signed(sim.read(tap), spec.acc_bits)
            _cycle(sim, spec, 0)
            for c in range(C):
                sim.set(f"eacc{c}", 0)
