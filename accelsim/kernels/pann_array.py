"""Fold kernels of a systolic array of ``pann`` PEs (register-transfer, zero-delay gate level).

Implements ``docs/pann.md`` exactly, one fold per call, in the style of ``drivers``: instead of
stepping every PE every cycle (the reference model does that), each PE's events are visited in time
order and toggles are counted at the cycle they happen, so totals and the per-cycle trace are
identical. Time is stretched: fold step ``s`` (a cycle of the mac schedule) starts at fold cycle
``starts[s]`` and lasts ``starts[s + 1] - starts[s]`` cycles (``fold_starts_*`` compute them).

Counters ``counts`` (int64[6]): toggles of x_reg, w_reg, psum_reg|acc_reg, adder; overflows;
additions. ``trace`` is int64[stretched fold cycles, 4] (or shape (0, 4) to skip tracing). Register
and node state arrays carry across folds of a layer and are updated in place. Adder node states:
adder 0 [R, C], adders 1 … A-1 [R, C, A-1] (None when A = 1); the dual subtractors' [C] (ws/is)
or [R, C] (os).

Performance (the lessons of the mac kernels): one inlined ``_repeat`` call site per kernel (the
sign mode only chooses its operands); adder 0's node state in scalars; a one-adder kernel compiled
without the chain loop (``_repeat``'s overload); no per-cycle work but the trace writes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from accelsim.kernels.bits import adder_step, popcount, zero_load
from accelsim.kernels.preload import preload_stationary

X_REG, W_REG, PSUM_REG, ADDER, OVERFLOWS, ADDITIONS = 0, 1, 2, 3, 4, 5


# --------------------------------------------------------------------------------------------------
# Step lengths (docs/pann.md §4)
# --------------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _window_max_into(a, width, dur, off):
    """``dur[off + j] = max(dur[off + j], max a[i] for i in [j - width + 1, j])`` for every
    ``j`` in ``[0, len(a) + width - 1)`` (van Herk / Gil–Werman: O(len(a) + width)); a >= 0."""
    n = a.shape[0]
    P = n + 2 * (width - 1)
    p = np.zeros(P, dtype=np.int64)
    for i in range(n):
        p[width - 1 + i] = a[i]
    g = np.empty(P, dtype=np.int64)  # prefix max inside blocks of `width`
    h = np.empty(P, dtype=np.int64)  # suffix max inside blocks of `width`
    for i in range(P):
        g[i] = p[i] if i % width == 0 else max(g[i - 1], p[i])
    for i in range(P - 1, -1, -1):
        h[i] = p[i] if (i % width == width - 1 or i == P - 1) else max(h[i + 1], p[i])
    for j in range(n + width - 1):
        m = max(h[j], g[j + width - 1])
        if m > dur[off + j]:
            dur[off + j] = m


@njit(cache=True, nogil=True)
def _starts_from(dur, starts):
    """``starts[s]`` = Σ dur[:s], the fold cycle at which step s begins; ``starts[-1]``: the
    fold's length (cycles)."""
    acc = 0
    for s in range(dur.shape[0]):
        starts[s] = acc
        acc += dur[s]
    starts[dur.shape[0]] = acc


@njit(cache=True, nogil=True)
def fold_starts_ws(S, T, R, C, A, starts):
    """Step starts of a ``ws`` fold: stationary weights ``S`` [r_act, c_act], T streamed rows.

    PE (r, c) is enabled in stream steps r + c … r + c + T - 1, so stream step s lasts the max of
    ceil(|S[r, c]| / A) over the anti-diagonals q = r + c in [s - T + 1, s] (at least 1).
    ``starts`` int64 [2R + C + T - 1] is filled (see ``_starts_from``)."""
    r_act, c_act = S.shape
    L = 2 * R + C + T - 2
    dur = np.ones(L, dtype=np.int64)
    diag = np.zeros(r_act + c_act - 1, dtype=np.int64)
    for r in range(r_act):
        for c in range(c_act):
            n = (abs(S[r, c]) + A - 1) // A
            if n > diag[r + c]:
                diag[r + c] = n
    _window_max_into(diag, T, dur, R)
    _starts_from(dur, starts)


@njit(cache=True, nogil=True)
def fold_starts_is(Wt, c_act, R, C, A, starts):
    """Step starts of an ``is`` fold: moving weights ``Wt`` [r_act, T] (row r's stream), ``c_act``
    active columns. PE (r, c) handles t in stream step t + r + c."""
    r_act, T = Wt.shape
    L = 2 * R + C + T - 2
    dur = np.ones(L, dtype=np.int64)
    a = np.empty(T, dtype=np.int64)
    for r in range(r_act):
        for t in range(T):
            a[t] = (abs(Wt[r, t]) + A - 1) // A
        _window_max_into(a, c_act, dur, R + r)
    _starts_from(dur, starts)


@njit(cache=True, nogil=True)
def fold_starts_os(Wt, r_act, R, C, A, starts):
    """Step starts of an ``os`` fold: weight columns ``Wt`` [c_act, K], ``r_act`` active rows.
    PE (r, c) handles k in step k + r + c."""
    c_act, K = Wt.shape
    L = R + C + K - 2
    dur = np.ones(L, dtype=np.int64)
    a = np.empty(K, dtype=np.int64)
    for c in range(c_act):
        for k in range(K):
            a[k] = (abs(Wt[c, k]) + A - 1) // A
        _window_max_into(a, r_act, dur, c)
    _starts_from(dur, starts)


# --------------------------------------------------------------------------------------------------
# Arithmetic (docs/pann.md §2–§3)
# --------------------------------------------------------------------------------------------------


def _pe_view(chain, r, c):
    """``chain[r, c]``: node states of adders 1 … A-1 of PE (r, c); None without a chain."""
    raise NotImplementedError("njit only")


@overload(_pe_view, inline="always")
def _pe_view_njit(chain, r, c):
    if isinstance(chain, types.NoneType):
        return lambda chain, r, c: None
    return lambda chain, r, c: chain[r, c]


def _repeat(reg, base, b, cin, mag, A, mask, sign, saturate, s0, c0, rest_s, rest_c, trace, cyc,
            reg_cls):
    """``mag`` >= 1 additions of ``b`` (+ ``cin``) to ``base`` through the A-adder chain.

    Addition cycle j evaluates adders 0 … min(A, left) - 1 and loads the register (pattern
    ``reg``). The adders' previous sum/carry nodes are ``s0``/``c0`` (adder 0, scalars, returned
    updated: it works in every addition cycle, so its state stays in registers) and ``rest_s``/
    ``rest_c`` (adders 1 … A-1: 1-D arrays updated in place and never returned, which would cost
    reference counting per call; None when A = 1). The single-adder form is chosen at compile time
    (see the overload below): the chain loop's mere presence slows the one-adder kernel by a
    quarter. Toggles go to ``trace`` rows ``cyc``, ``cyc + 1``, … when the trace is non-empty.
    Returns (register, register toggles, adder toggles, overflows, s0, c0).
    """
    raise NotImplementedError("njit only")


@overload(_repeat, inline="always")
def _repeat_njit(reg, base, b, cin, mag, A, mask, sign, saturate, s0, c0, rest_s, rest_c, trace,
                 cyc, reg_cls):
    if isinstance(rest_s, types.NoneType):

        def single(reg, base, b, cin, mag, A, mask, sign, saturate, s0, c0, rest_s, rest_c, trace,
                   cyc, reg_cls):
            tracing = trace.shape[0] > 0
            t_reg = 0
            t_add = 0
            n_ovf = 0
            v = base
            for _ in range(mag):
                res, ta, ovf, s0, c0 = adder_step(v, b, cin, mask, sign, saturate, s0, c0)
                n_ovf += ovf
                tr = popcount(reg ^ res)
                reg = res
                v = res
                t_reg += tr
                t_add += ta
                if tracing:
                    trace[cyc, reg_cls] += tr
                    trace[cyc, ADDER] += ta
                cyc += 1
            return reg, t_reg, t_add, n_ovf, s0, c0

        return single

    def chain(reg, base, b, cin, mag, A, mask, sign, saturate, s0, c0, rest_s, rest_c, trace,
              cyc, reg_cls):
        tracing = trace.shape[0] > 0
        t_reg = 0
        t_add = 0
        n_ovf = 0
        v = base
        left = mag
        while left > 0:
            k = A if left > A else left
            v, ta, ovf, s0, c0 = adder_step(v, b, cin, mask, sign, saturate, s0, c0)  # adder 0
            n_ovf += ovf
            for i in range(k - 1):  # adders 1 … k-1
                v, t_i, ovf, rest_s[i], rest_c[i] = adder_step(v, b, cin, mask, sign, saturate,
                                                               rest_s[i], rest_c[i])
                ta += t_i
                n_ovf += ovf
            tr = popcount(reg ^ v)
            reg = v
            t_reg += tr
            t_add += ta
            if tracing:
                trace[cyc, reg_cls] += tr
                trace[cyc, ADDER] += ta
            cyc += 1
            left -= k
        return reg, t_reg, t_add, n_ovf, s0, c0

    return chain


# --------------------------------------------------------------------------------------------------
# ws / is
# --------------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def fold_stationary(
    Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits, x_bits, acc_bits, saturate, idle_zero,
    A, dual, starts, mov_reg, sta_reg, p_reg, n_reg, add_s, add_c, chain_s, chain_c, edge_s, edge_c,
    sub_s, sub_c, counts, trace,
):
    """One ``ws``/``is`` fold (pann.md §4, datapath.md §5.1): preload ``S``, stream ``Ht``,
    subtract (dual) and edge-accumulate at the bottom.

    Ht int64 [r_act, T] moving operand values; S int64 [r_act, c_act] stationary values; out int64
    [T, c_act] output patterns (acc_bits), written on the first K-fold (``first``), accumulated on
    later ones. mov_is_x: the moving operand is x (ws) or w (is). ``starts`` from
    ``fold_starts_ws``/``_is``. A: adders per PE (at most the largest |w|); dual: dual_accumulator
    (else subtract). State arrays are [R, C] (edge_*/sub_* [C]); add_* hold adder 0's nodes,
    chain_* those of adders 1 … A-1 ([R, C, A-1], or None when A = 1: the kernel is then
    compiled without the chain loop); n_reg stays 0 unless dual.
    """
    r_act, T = Ht.shape
    c_act = S.shape[1]
    mov_mask = (1 << mov_bits) - 1
    sta_mask = (1 << sta_bits) - 1
    x_mask = (1 << x_bits) - 1
    mask = (1 << acc_bits) - 1
    sign = 1 << (acc_bits - 1)
    mov_cls = X_REG if mov_is_x else W_REG
    sta_cls = W_REG if mov_is_x else X_REG
    tracing = trace.shape[0] > 0
    pbuf = np.zeros(T, dtype=np.int64)  # psum (P in dual mode) latched by the PE above, per t
    nbuf = np.zeros(T, dtype=np.int64)  # N (dual mode)

    # Preload, steps 0..R-1 (one cycle each): stationary registers form a shift chain per column.
    preload_stationary(S, R, C, sta_mask, sta_cls, idle_zero, sta_reg, counts, trace)

    # Stream, steps R + s: PE (r, c) handles H[t, r] in step R + t + r + c.
    for c in range(C):
        for r in range(R):
            mreg = mov_reg[r, c]
            preg = p_reg[r, c]
            nreg = n_reg[r, c]
            if idle_zero:  # nothing valid arrives during the preload
                zero_load(mreg, mov_cls, 0, counts, trace)
                zero_load(preg, PSUM_REG, 0, counts, trace)
                zero_load(nreg, PSUM_REG, 0, counts, trace)
                mreg = 0
                preg = 0
                nreg = 0
            if r < r_act and c < c_act:
                if r == 0:
                    pbuf[:] = 0
                    nbuf[:] = 0
                s_val = S[r, c]
                a_s = add_s[r, c]
                a_c = add_c[r, c]
                rest_s = _pe_view(chain_s, r, c)
                rest_c = _pe_view(chain_c, r, c)
                base = R + r + c
                n_mov = 0
                n_psum = 0
                n_add = 0
                n_ovf = 0
                n_adds = 0
                for t in range(T):
                    h = Ht[r, t]
                    hp = h & mov_mask
                    tm = popcount(mreg ^ hp)
                    mreg = hp
                    cyc = starts[base + t]
                    if mov_is_x:
                        xp = hp
                        wv = s_val
                    else:
                        xp = s_val & x_mask
                        wv = h
                    mag = abs(wv)
                    neg = wv < 0
                    if tracing:
                        trace[cyc, mov_cls] += tm
                    # The chain's target register `act` with its base `a_in`; in dual mode the
                    # other register of the pair passes its own input through.
                    to = 0
                    if dual:
                        if neg:
                            act, a_in, oth, o_in = nreg, nbuf[t], preg, pbuf[t]
                        else:
                            act, a_in, oth, o_in = preg, pbuf[t], nreg, nbuf[t]
                        to = popcount(oth ^ o_in)
                        oth = o_in
                        b = xp
                        cin = 0
                    else:
                        act, a_in, oth = preg, pbuf[t], nreg
                        b = ((~xp) & mask) if neg else xp
                        cin = 1 if neg else 0
                    if mag == 0:  # pass-through, no addition
                        tp = popcount(act ^ a_in)
                        act = a_in
                        ta = 0
                        no = 0
                        if tracing:
                            trace[cyc, PSUM_REG] += tp
                    else:
                        act, tp, ta, no, a_s, a_c = _repeat(act, a_in, b, cin, mag, A, mask, sign,
                                                            saturate, a_s, a_c, rest_s, rest_c,
                                                            trace, cyc, PSUM_REG)
                    if tracing and to:
                        trace[cyc, PSUM_REG] += to
                    tp += to
                    if neg and dual:
                        nreg, preg = act, oth
                    else:
                        preg, nreg = act, oth
                    nbuf[t] = nreg
                    pbuf[t] = preg
                    n_mov += tm
                    n_psum += tp
                    n_add += ta
                    n_ovf += no
                    n_adds += mag
                counts[mov_cls] += n_mov
                counts[PSUM_REG] += n_psum
                counts[ADDER] += n_add
                counts[OVERFLOWS] += n_ovf
                counts[ADDITIONS] += n_adds
                add_s[r, c] = a_s
                add_c[r, c] = a_c
                if idle_zero and r + c < R + C - 2:  # idle steps follow the stream
                    cyc = starts[base + T]
                    zero_load(mreg, mov_cls, cyc, counts, trace)
                    zero_load(preg, PSUM_REG, cyc, counts, trace)
                    zero_load(nreg, PSUM_REG, cyc, counts, trace)
                    mreg = 0
                    preg = 0
                    nreg = 0
            mov_reg[r, c] = mreg
            p_reg[r, c] = preg
            n_reg[r, c] = nreg
        if c < c_act:
            _column_out(pbuf, nbuf, out, c, first, dual, starts, R + r_act - 1 + c, acc_bits,
                        saturate, edge_s, edge_c, sub_s, sub_c, counts, trace)


@njit(cache=True, nogil=True)
def _column_out(pbuf, nbuf, out, c, first, dual, starts, step0, acc_bits, saturate, edge_s, edge_c,
                sub_s, sub_c, counts, trace):
    """Column c's bottom edge, t ascending, in the last cycle of step ``step0 + t``: the dual
    subtractor P - N (if ``dual``), then write (first K-fold) or edge-accumulate the result."""
    T = pbuf.shape[0]
    mask = (1 << acc_bits) - 1
    sign = 1 << (acc_bits - 1)
    tracing = trace.shape[0] > 0
    e_s = edge_s[c]
    e_c = edge_c[c]
    d_s = sub_s[c]
    d_c = sub_c[c]
    for t in range(T):
        cyc = starts[step0 + t + 1] - 1
        col = pbuf[t]
        if dual:
            col, tsub, ovf, d_s, d_c = adder_step(col, (~nbuf[t]) & mask, 1, mask, sign,
                                                  saturate, d_s, d_c)
            if ovf:
                counts[OVERFLOWS] += 1
            counts[ADDER] += tsub
            if tracing:
                trace[cyc, ADDER] += tsub
        if first:
            out[t, c] = col
        else:
            res, tadd, ovf, e_s, e_c = adder_step(out[t, c], col, 0, mask, sign, saturate, e_s,
                                                  e_c)
            if ovf:
                counts[OVERFLOWS] += 1
            counts[ADDER] += tadd
            if tracing:
                trace[cyc, ADDER] += tadd
            out[t, c] = res
    edge_s[c] = e_s
    edge_c[c] = e_c
    sub_s[c] = d_s
    sub_c[c] = d_c


# --------------------------------------------------------------------------------------------------
# os
# --------------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def fold_output_stationary(
    X, Wt, out, R, C, x_bits, w_bits, acc_bits, saturate, idle_zero, A, dual, starts,
    x_reg, w_reg, p_reg, n_reg, add_s, add_c, chain_s, chain_c, sub_s, sub_c, counts, trace,
):
    """One ``os`` fold (pann.md §4, datapath.md §5.2).

    X int64 [r_act, K] rows of x; Wt int64 [c_act, K] columns of w (transposed); out int64
    [r_act, c_act] receives the output patterns (the accumulator, or the dual subtractor's result).
    ``starts`` from ``fold_starts_os``. A, dual, add_*, chain_* as in ``fold_stationary``; the
    other state arrays are [R, C].
    """
    r_act, K = X.shape
    c_act = Wt.shape[0]
    x_mask = (1 << x_bits) - 1
    w_mask = (1 << w_bits) - 1
    mask = (1 << acc_bits) - 1
    sign = 1 << (acc_bits - 1)
    tracing = trace.shape[0] > 0
    for r in range(R):
        for c in range(C):
            xr = x_reg[r, c]
            wr = w_reg[r, c]
            active = r < r_act and c < c_act
            base = r + c
            if idle_zero and (base > 0 or not active):  # idle before the operands arrive
                zero_load(xr, X_REG, 0, counts, trace)
                zero_load(wr, W_REG, 0, counts, trace)
                xr = 0
                wr = 0
            if active:
                preg = p_reg[r, c]
                nreg = n_reg[r, c]
                a_s = add_s[r, c]
                a_c = add_c[r, c]
                rest_s = _pe_view(chain_s, r, c)
                rest_c = _pe_view(chain_c, r, c)
                n_x = 0
                n_w = 0
                n_acc = 0
                n_add = 0
                n_ovf = 0
                n_adds = 0
                for k in range(K):
                    xp = X[r, k] & x_mask
                    wv = Wt[c, k]
                    wp = wv & w_mask
                    tx = popcount(xr ^ xp)
                    tw = popcount(wr ^ wp)
                    xr = xp
                    wr = wp
                    cyc = starts[base + k]
                    if tracing:
                        trace[cyc, X_REG] += tx
                        trace[cyc, W_REG] += tw
                    mag = abs(wv)
                    neg = wv < 0
                    # The chain's target register `act` with its base `a_in` (0 on the fold's
                    # first MAC); in dual mode the other register holds, or clears when k == 0.
                    to = 0
                    if dual:
                        if neg:
                            act, oth = nreg, preg
                        else:
                            act, oth = preg, nreg
                        if k == 0:
                            to = popcount(oth)
                            oth = 0
                        b = xp
                        cin = 0
                    else:
                        act, oth = preg, nreg
                        b = ((~xp) & mask) if neg else xp
                        cin = 1 if neg else 0
                    a_in = act if k > 0 else 0
                    if mag == 0:  # no addition: hold, or clear on the first MAC
                        tp = popcount(act ^ a_in)
                        act = a_in
                        ta = 0
                        no = 0
                        if tracing:
                            trace[cyc, PSUM_REG] += tp
                    else:
                        act, tp, ta, no, a_s, a_c = _repeat(act, a_in, b, cin, mag, A, mask, sign,
                                                            saturate, a_s, a_c, rest_s, rest_c,
                                                            trace, cyc, PSUM_REG)
                    if tracing and to:
                        trace[cyc, PSUM_REG] += to
                    tp += to
                    if neg and dual:
                        nreg, preg = act, oth
                    else:
                        preg, nreg = act, oth
                    n_x += tx
                    n_w += tw
                    n_acc += tp
                    n_add += ta
                    n_ovf += no
                    n_adds += mag
                if dual:  # the PE's output subtractor, last cycle of its last step
                    res, tsub, ovf, sub_s[r, c], sub_c[r, c] = adder_step(
                        preg, (~nreg) & mask, 1, mask, sign, saturate, sub_s[r, c], sub_c[r, c])
                    n_ovf += ovf
                    n_add += tsub
                    if tracing:
                        trace[starts[base + K] - 1, ADDER] += tsub
                    out[r, c] = res
                else:
                    out[r, c] = preg
                counts[X_REG] += n_x
                counts[W_REG] += n_w
                counts[PSUM_REG] += n_acc
                counts[ADDER] += n_add
                counts[OVERFLOWS] += n_ovf
                counts[ADDITIONS] += n_adds
                add_s[r, c] = a_s
                add_c[r, c] = a_c
                if idle_zero and base < R + C - 2:  # idle steps follow the stream
                    cyc = starts[base + K]
                    zero_load(xr, X_REG, cyc, counts, trace)
                    zero_load(wr, W_REG, cyc, counts, trace)
                    xr = 0
                    wr = 0
                p_reg[r, c] = preg
                n_reg[r, c] = nreg
            x_reg[r, c] = xr
            w_reg[r, c] = wr
