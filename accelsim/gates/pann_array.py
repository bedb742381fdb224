"""A systolic array of ``pann`` PEs (docs/pann.md) as a gate-level netlist, and its testbench.

The mac array of :mod:`accelsim.gates.array` with the multiplier and adder replaced by the chain of
``A`` operand-isolated repeated-addition adders, one or two (``dual_accumulator``) accumulator
registers per PE, and a ``P − N`` subtractor per column before the edge accumulator (``ws``,
``is``) or per PE (``os``). Lock-step
timing (pann.md §4): the global ``shift`` input is 1 in the first cycle of every step (all
register transfers of the mac schedule happen then) and 0 in the step's further cycles. The add
enables of each adder and the sign of ``w`` are control (pann.md §6): the testbench drives them
from the schedule, as a control unit decoding ``w_reg`` would.
"""

from __future__ import annotations

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.gates.array import Options, _Pe, _pattern, _set_active, _signed, _step
from accelsim.gates.datapath import Bus, adder, extend, gate_bus, mux_bus, overflow_rule
from accelsim.gates.evaluate import Sequential
from accelsim.gates.netlist import Netlist
from accelsim.pe.pann import chain_adders, class_names
from accelsim.sim.types import ArraySpec


def _chain(nl: Netlist, pe: _Pe, base: Bus, b: Bus, cin: int, enables: list[int]) -> Bus:
    """The repeated-addition chain: adder i evaluates (isolated inputs) iff ``enables[i]``; the
    result is the last evaluating adder's output (``base`` when none does)."""
    out, prev = base, base
    for en in enables:
        a_i, b_i = pe.isolate(en, prev), pe.isolate(en, b)
        c_i = pe.isolate(en, [cin])[0]
        v = overflow_rule(nl, a_i, b_i, adder(nl, a_i, b_i, cin=c_i), pe.spec.saturate)
        out = mux_bus(nl, en, out, v)
        prev = v
    return out


def build_pann_array(spec: ArraySpec, adders: int, dual: bool,
                     opt: Options = Options()) -> Netlist:
    """The pann array netlist (module docstring); in ``ws``/``is`` outputs ``col<c>`` and
    ``edge<c>`` as in the mac array. ``opt.isolate=False``: adders see their inputs always."""
    if DATAFLOWS[spec.dataflow].holds_outputs:
        return _build_os(spec, adders, dual, opt)
    nl, s = Netlist(), spec
    pe = _Pe(nl, s, opt)
    R, C, A = s.rows, s.cols, s.acc_bits
    ws = DATAFLOWS[s.dataflow].holds_w
    hb, sb = (s.x_bits, s.w_bits) if ws else (s.w_bits, s.x_bits)
    hcls, scls = ("x_reg", "w_reg") if ws else ("w_reg", "x_reg")
    n_add = chain_adders(adders, s.w_bits, s.w_signed)
    preload, shift = nl.input("preload", 1)[0], nl.input("shift", 1)[0]
    last = [nl.input(f"last{r}", 1)[0] for r in range(R)]
    h_chain = [(nl.input(f"h{r}", hb), nl.input(f"hv{r}", 1)[0]) for r in range(R)]
    s_chain = [(nl.input(f"s{c}", sb), nl.input(f"sv{c}", 1)[0]) for c in range(C)]
    regs_q: dict[tuple[int, int], tuple[Bus, Bus | None]] = {}
    loads: dict[tuple[int, int], tuple[Bus, Bus | None]] = {}
    for r in range(R):
        for c in range(C):
            act = nl.input(f"act{r}_{c}", 1)[0]
            neg = nl.input(f"neg{r}_{c}", 1)[0]
            enables = [nl.input(f"en{r}_{c}_{i}", 1)[0] for i in range(n_add)]
            h_in, hv_in = h_chain[r]
            s_in, sv_in = s_chain[c]
            arrive = nl.gate("AND", hv_in, act)
            valid = nl.gate("AND", arrive, shift)
            s_valid = nl.gate("AND", sv_in, act)
            H, Hv = nl.register(hb, hcls), nl.register(1)
            S, Sv = nl.register(sb, scls), nl.register(1)
            nl.connect(H, mux_bus(nl, shift, H, pe.load(arrive, h_in, H)))
            nl.connect(Hv, mux_bus(nl, shift, Hv, [arrive]))
            nl.connect(S, mux_bus(nl, preload, S, pe.load(s_valid, s_in, S)))
            nl.connect(Sv, [nl.gate("AND", preload, s_valid)])
            x = mux_bus(nl, shift, H, h_in) if ws else S
            P = nl.register(A, "psum_reg")
            N = nl.register(A, "psum_reg") if dual else None
            p_in, n_in = regs_q[(r - 1, c)] if r else ([0] * A, [0] * A if dual else None)
            xz = extend(x, A, False)
            any_add = enables[0]
            if dual:
                base = mux_bus(nl, shift, mux_bus(nl, neg, P, N), mux_bus(nl, neg, p_in, n_in))
                out = _chain(nl, pe, base, xz, 0, enables)
                p_first = mux_bus(nl, valid, pe.idle(P), mux_bus(nl, neg, out, p_in))
                n_first = mux_bus(nl, valid, pe.idle(N), mux_bus(nl, neg, n_in, out))
                p_more = mux_bus(nl, nl.gate("ANDNOT", any_add, neg), P, out)
                n_more = mux_bus(nl, nl.gate("AND", any_add, neg), N, out)
                p_d, n_d = mux_bus(nl, shift, p_more, p_first), mux_bus(nl, shift, n_more, n_first)
                nl.connect(N, n_d)
            else:
                base = mux_bus(nl, shift, P, p_in)
                b = [nl.gate("XOR", bit, neg) for bit in xz]
                out = _chain(nl, pe, base, b, neg, enables)
                p_d = mux_bus(nl, shift, mux_bus(nl, any_add, P, out),
                              mux_bus(nl, valid, pe.idle(P), out))
                n_d = None
            nl.connect(P, p_d)
            regs_q[(r, c)] = (P, N)
            loads[(r, c)] = (p_d, n_d)
            h_chain[r] = (H, Hv[0])
            s_chain[c] = (S, Sv[0])
    for c in range(C):
        col_p, col_n = [0] * A, [0] * A
        for r in range(R):
            p_d, n_d = loads[(r, c)]
            col_p = [nl.gate("OR", a, b) for a, b in zip(col_p, gate_bus(nl, last[r], p_d))]
            if dual:
                col_n = [nl.gate("OR", a, b) for a, b in zip(col_n, gate_bus(nl, last[r], n_d))]
        if dual:
            en = nl.input(f"sub{c}", 1)[0]
            a, b = pe.isolate(en, col_p), pe.isolate(en, [nl.gate("NOT", n) for n in col_n])
            one = pe.isolate(en, [1])[0]
            col = overflow_rule(nl, a, b, adder(nl, a, b, cin=one), s.saturate)
        else:
            col = col_p
        en = nl.input(f"eacc{c}", 1)[0]
        part = nl.input(f"part{c}", A)
        a, b = pe.isolate(en, part), pe.isolate(en, col)
        nl.outputs[f"col{c}"] = col
        nl.outputs[f"edge{c}"] = overflow_rule(nl, a, b, adder(nl, a, b), s.saturate)
    return nl


def _build_os(spec: ArraySpec, adders: int, dual: bool, opt: Options) -> Netlist:
    """``os``: x (with its first-of-reduction flag) moves right, w moves down, the accumulator(s)
    stay; in dual mode a per-PE ``P − N`` output subtractor (enable ``osub<r>_<c>``), read out as
    output ``out<r>_<c>``; otherwise the accumulator register is the output."""
    nl, s = Netlist(), spec
    pe = _Pe(nl, s, opt)
    R, C, A = s.rows, s.cols, s.acc_bits
    n_add = chain_adders(adders, s.w_bits, s.w_signed)
    shift = nl.input("shift", 1)[0]
    x_chain = [(nl.input(f"x{r}", s.x_bits), nl.input(f"xv{r}", 1)[0], nl.input(f"xf{r}", 1)[0])
               for r in range(R)]
    w_chain = [(nl.input(f"w{c}", s.w_bits), nl.input(f"wv{c}", 1)[0]) for c in range(C)]
    for r in range(R):
        for c in range(C):
            act = nl.input(f"act{r}_{c}", 1)[0]
            neg = nl.input(f"neg{r}_{c}", 1)[0]
            enables = [nl.input(f"en{r}_{c}_{i}", 1)[0] for i in range(n_add)]
            x_in, xv_in, xf_in = x_chain[r]
            w_in, wv_in = w_chain[c]
            xv, wv = nl.gate("AND", xv_in, act), nl.gate("AND", wv_in, act)
            X, Xv, Xf = nl.register(s.x_bits, "x_reg"), nl.register(1), nl.register(1)
            W, Wv = nl.register(s.w_bits, "w_reg"), nl.register(1)
            nl.connect(X, mux_bus(nl, shift, X, pe.load(xv, x_in, X)))
            nl.connect(Xv, mux_bus(nl, shift, Xv, [xv]))
            nl.connect(Xf, mux_bus(nl, shift, Xf, [nl.gate("AND", xv, xf_in)]))
            nl.connect(W, mux_bus(nl, shift, W, pe.load(wv, w_in, W)))
            nl.connect(Wv, mux_bus(nl, shift, Wv, [wv]))
            en = nl.gate("AND", nl.gate("AND", xv, wv), shift)
            first = nl.gate("AND", en, xf_in)  # the fold's first MAC of this PE (k == 0)
            keep = nl.gate("NOT", first)
            xz = extend(mux_bus(nl, shift, X, x_in), A, False)
            any_add = enables[0]
            P = nl.register(A, "acc_reg")
            if dual:
                N = nl.register(A, "acc_reg")
                p0, n0 = gate_bus(nl, keep, P), gate_bus(nl, keep, N)
                out = _chain(nl, pe, mux_bus(nl, neg, p0, n0), xz, 0, enables)
                p_d = mux_bus(nl, shift, mux_bus(nl, nl.gate("ANDNOT", any_add, neg), P, out),
                              mux_bus(nl, en, P, mux_bus(nl, neg, out, p0)))
                n_d = mux_bus(nl, shift, mux_bus(nl, nl.gate("AND", any_add, neg), N, out),
                              mux_bus(nl, en, N, mux_bus(nl, neg, n0, out)))
                nl.connect(N, n_d)
                osub = nl.input(f"osub{r}_{c}", 1)[0]
                a = pe.isolate(osub, p_d)
                b = pe.isolate(osub, [nl.gate("NOT", n) for n in n_d])
                one = pe.isolate(osub, [1])[0]
                nl.outputs[f"out{r}_{c}"] = overflow_rule(nl, a, b, adder(nl, a, b, cin=one),
                                                          s.saturate)
            else:
                b = [nl.gate("XOR", bit, neg) for bit in xz]
                out = _chain(nl, pe, gate_bus(nl, keep, P), b, neg, enables)
                p_d = mux_bus(nl, shift, mux_bus(nl, any_add, P, out), mux_bus(nl, en, P, out))
                nl.outputs[f"out{r}_{c}"] = P
            nl.connect(P, p_d)
            x_chain[r] = (X, Xv[0], Xf[0])
            w_chain[c] = (W, Wv[0])
    return nl


def simulate_pann_gates(x: np.ndarray, w: np.ndarray, spec: ArraySpec, adders: int,
                        dual: bool, opt: Options = Options()) -> tuple[np.ndarray, np.ndarray]:
    """Outputs [G, M, N] and per-cycle trace [cycles, 4] of the gate-level pann array."""
    nl = build_pann_array(spec, adders, dual, opt)
    sim = Sequential(nl)
    classes = class_names(spec.dataflow)
    A = chain_adders(adders, spec.w_bits, spec.w_signed)
    G, M, K = x.shape
    N = w.shape[2]
    y = np.zeros((G, M, N), dtype=np.int64)
    rows: list[list[int]] = []
    folds = _os_folds if DATAFLOWS[spec.dataflow].holds_outputs else _folds
    for g in range(G):
        folds(sim, spec, A, dual, x[g], w[g], y[g], rows, classes)
    return y, np.array(rows, dtype=np.int64).reshape(-1, len(classes))


def _set_control(sim, spec, A: int, enabled: dict, j: int) -> None:
    """Add enables of addition cycle ``j`` and the sign of ``w`` per PE (control, pann.md §6)."""
    for r in range(spec.rows):
        for c in range(spec.cols):
            wv = enabled.get((r, c))
            sim.set(f"neg{r}_{c}", int(wv is not None and wv < 0))
            k = 0 if wv is None else max(0, min(A, abs(wv) - j * A))
            for i in range(A):
                sim.set(f"en{r}_{c}_{i}", int(i < k))


def _os_folds(sim, spec, A, dual, x, w, y, rows, classes) -> None:
    """All folds of one group in ``os``, steps stretched as in pann.md §4."""
    R, C = spec.rows, spec.cols
    M, K = x.shape
    N = w.shape[1]
    for n0 in range(0, N, C):
        for m0 in range(0, M, R):
            r_act, c_act = min(R, M - m0), min(C, N - n0)
            _set_active(sim, spec, r_act, c_act)
            for s in range(R + C + K - 2):
                enabled = {(r, c): int(w[s - r - c, n0 + c]) for r in range(r_act)
                           for c in range(c_act) if 0 <= s - r - c < K}
                d = max([1] + [-(-abs(v) // A) for v in enabled.values()])
                for r in range(R):
                    ok = r < r_act and 0 <= s - r < K
                    sim.set(f"x{r}", _pattern(x[m0 + r, s - r], spec.x_bits) if ok else 0)
                    sim.set(f"xv{r}", int(ok))
                    sim.set(f"xf{r}", int(ok and s - r == 0))
                for c in range(C):
                    ok = c < c_act and 0 <= s - c < K
                    sim.set(f"w{c}", _pattern(w[s - c, n0 + c], spec.w_bits) if ok else 0)
                    sim.set(f"wv{c}", int(ok))
                done = [(r, c) for (r, c) in enabled if s - r - c == K - 1]
                for j in range(d):
                    sim.set("shift", int(j == 0))
                    _set_control(sim, spec, A, enabled, j)
                    if dual:
                        for r in range(R):
                            for c in range(C):
                                sim.set(f"osub{r}_{c}", int(j == d - 1 and (r, c) in done))
                    _step(sim, rows, classes)
                if dual:
                    for r, c in done:
                        y[m0 + r, n0 + c] = _signed(sim.read(sim.nl.outputs[f"out{r}_{c}"]),
                                                    spec.acc_bits)
            if dual:
                for r in range(R):
                    for c in range(C):
                        sim.set(f"osub{r}_{c}", 0)
            else:
                for r in range(r_act):
                    for c in range(c_act):
                        y[m0 + r, n0 + c] = _signed(sim.read(sim.nl.outputs[f"out{r}_{c}"]),
                                                    spec.acc_bits)
            sim.set("shift", 1)


def _folds(sim, spec, A, dual, x, w, y, rows, classes) -> None:
    """All folds of one group in ``ws`` / ``is``."""
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

            def weight(s, r, c):
                return w[k0 + r, c0 + c] if ws else w[k0 + r, s - r - c]

            sim.set("preload", 1)
            sim.set("shift", 1)
            _set_control(sim, spec, A, {}, 0)
            for r in range(R):
                sim.set(f"hv{r}", 0)
            for c in range(C):
                sim.set(f"eacc{c}", 0)
                if dual:
                    sim.set(f"sub{c}", 0)
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
                enabled = {(r, c): int(weight(s, r, c)) for r in range(r_act) for c in range(c_act)
                           if 0 <= s - r - c < T}
                d = max([1] + [-(-abs(v) // A) for v in enabled.values()])
                for r in range(R):
                    ok = 0 <= s - r < T and r < r_act
                    sim.set(f"h{r}", _pattern(moving(s - r, r), hb) if ok else 0)
                    sim.set(f"hv{r}", int(ok))
                leaving = {}
                for c in range(c_act):
                    t = s - (r_act - 1) - c
                    if 0 <= t < T:
                        leaving[c] = (t, c0 + c) if ws else (c0 + c, t)
                for j in range(d):
                    sim.set("shift", int(j == 0))
                    _set_control(sim, spec, A, enabled, j)
                    end = j == d - 1
                    for c in range(C):
                        out = leaving.get(c) if end else None
                        if dual:
                            sim.set(f"sub{c}", int(out is not None))
                        sim.set(f"eacc{c}", int(out is not None and k0 > 0))
                        if out is not None and k0:
                            sim.set(f"part{c}", _pattern(y[out], spec.acc_bits))
                    _step(sim, rows, classes)
                for c, out in leaving.items():
                    tap = sim.nl.outputs[f"edge{c}" if k0 else f"col{c}"]
                    y[out] = _signed(sim.read(tap), spec.acc_bits)
            sim.set("shift", 1)
            for c in range(C):
                sim.set(f"eacc{c}", 0)
                if dual:
                    sim.set(f"sub{c}", 0)
