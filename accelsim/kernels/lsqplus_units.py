"""Kernels of the ``lsqplus`` PE's extra hardware (``docs/lsqplus.md``), zero-delay gate level.

- ``operands_stationary`` / ``operands_os``: placement ``pe`` — the raw-code operand registers and
  the two zero-point subtractors of every PE (lsqplus.md §4); the multiplier, adder and psum side
  comes from the mac kernels run on the offset operands.
- ``rowsum_ws`` / ``rowsum_os`` / ``rowsum_is``: placement ``output`` — the row-sum unit's cells,
  registers and (ws) K-fold edge adder (lsqplus.md §3.3).
- ``rescale_evals``: the per-column rescale unit and the row-sum correction (lsqplus.md §3.3,
  §5), one evaluation per final output, in per-column chronological order.

Counters ``counts`` (int64[8]): toggles of x_reg, w_reg, psum_reg|acc_reg, mult, adder, rescale,
rowsum; overflows. ``trace`` is int64[cycles, 7] (shape (0, 7) to skip tracing); the fold kernels
get their fold's slice, ``rescale_evals`` the whole layer's. State arrays carry across folds and
are updated in place. Values are int64 bit patterns; every add and shift is masked.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from accelsim.kernels.bits import adder_step, mult_nodes, popcount, zero_load
from accelsim.kernels.preload import preload_stationary

X_REG, W_REG, PSUM_REG, MULT, ADDER, RESCALE, ROWSUM, OVERFLOWS = 0, 1, 2, 3, 4, 5, 6, 7

#: Words of the rescale unit's non-multiplier node vector (lsqplus.md §5.1, R1, R2, R4–R9).
RESCALE_WORDS = 20
#: Words of the 32×32 high-mul multiplier's node vector (3008 bits).
HIGHMUL_WORDS = 47


@njit(cache=True, nogil=True, inline="always")
def _sub_nodes(v, z, nbits):
    """(sum nodes, carry nodes) of the ``nbits`` subtractor ``v + ~z + 1`` (lsqplus.md §4)."""
    mask = (1 << nbits) - 1
    a = v & mask
    b = ~z & mask
    s = a + b + 1
    return s & mask, ((s ^ a ^ b) >> 1) & mask


@njit(cache=True, nogil=True, inline="always")
def _sub_toggles(v0, z0, v1, z1, nbits):
    """Toggles of a subtractor going from inputs (v0, z0) to (v1, z1)."""
    s0, c0 = _sub_nodes(v0, z0, nbits)
    s1, c1 = _sub_nodes(v1, z1, nbits)
    return popcount(s0 ^ s1) + popcount(c0 ^ c1)


@njit(cache=True, nogil=True, inline="always")
def _add_step(a, b, acc_bits, saturate, prev_sums, prev_carries):
    """datapath.md §3 adder of acc_bits patterns a + b (``bits.adder_step``)."""
    return adder_step(a, b, 0, (1 << acc_bits) - 1, 1 << (acc_bits - 1), saturate, prev_sums,
                      prev_carries)


# ------------------------------------------------------------------------------ placement pe


@njit(cache=True, nogil=True)
def operands_stationary(
    Ht, S, zH, zS, R, C, mov_is_x, mov_bits, sta_bits, idle_zero, mov_reg, sta_reg,
    sub_mv, sub_mz, sub_sv, sub_sz, counts, trace,
):
    """Raw-code registers and zero-point subtractors of one ``ws``/``is`` fold (lsqplus.md §4).

    Ht int64 [r_act, T] moving operand values; S int64 [r_act, c_act] stationary values; zH [T]
    the zero point subtracted from the moving operand at stream step t (ws: z_x; is: z_w[t]);
    zS [c_act] the one of the stationary operand of column c (ws: z_w[n0+c]; is: z_x). Registers
    and the subtractors' last inputs (sub_*) are [R, C] state. Register logic as in
    ``drivers.fold_stationary``; subtractors evaluate when the PE is enabled.
    """
    r_act, T = Ht.shape
    c_act = S.shape[1]
    mov_mask = (1 << mov_bits) - 1
    sta_mask = (1 << sta_bits) - 1
    mov_cls = X_REG if mov_is_x else W_REG
    sta_cls = W_REG if mov_is_x else X_REG
    tracing = trace.shape[0] > 0
    # preload, fold cycles 0..R-1: stationary registers shift down
    preload_stationary(S, R, C, sta_mask, sta_cls, idle_zero, sta_reg, counts, trace)
    for c in range(C):  # stream, fold cycles R + s
        for r in range(R):
            mreg = mov_reg[r, c]
            if idle_zero:
                zero_load(mreg, mov_cls, 0, counts, trace)
                mreg = 0
            if r < r_act and c < c_act:
                s_val = S[r, c]
                zs = zS[c]
                mv, mz = sub_mv[r, c], sub_mz[r, c]
                sv, sz = sub_sv[r, c], sub_sz[r, c]
                base = R + r + c
                n_mov = 0
                n_sub = 0
                for t in range(T):
                    h = Ht[r, t]
                    hp = h & mov_mask
                    tm = popcount(mreg ^ hp)
                    mreg = hp
                    tsub = _sub_toggles(mv, mz, h, zH[t], mov_bits + 1)
                    tsub += _sub_toggles(sv, sz, s_val, zs, sta_bits + 1)
                    mv, mz, sv, sz = h, zH[t], s_val, zs
                    n_mov += tm
                    n_sub += tsub
                    if tracing:
                        trace[base + t, mov_cls] += tm
                        trace[base + t, ADDER] += tsub
                counts[mov_cls] += n_mov
                counts[ADDER] += n_sub
                if idle_zero and r + c < R + C - 2:
                    zero_load(mreg, mov_cls, base + T, counts, trace)
                    mreg = 0
                sub_mv[r, c], sub_mz[r, c], sub_sv[r, c], sub_sz[r, c] = mv, mz, sv, sz
            mov_reg[r, c] = mreg


@njit(cache=True, nogil=True)
def operands_os(
    X, Wt, zx, zW, R, C, x_bits, w_bits, idle_zero, x_reg, w_reg, sub_xv, sub_xz, sub_wv, sub_wz,
    counts, trace,
):
    """Raw-code registers and zero-point subtractors of one ``os`` fold (lsqplus.md §4).

    X int64 [r_act, K]; Wt int64 [c_act, K]; zx the activation zero point; zW [c_act] the
    weight zero point of column c. Register logic as in ``drivers.fold_output_stationary``.
    """
    r_act, K = X.shape
    c_act = Wt.shape[0]
    x_mask = (1 << x_bits) - 1
    w_mask = (1 << w_bits) - 1
    tracing = trace.shape[0] > 0
    for r in range(R):
        for c in range(C):
            xr = x_reg[r, c]
            wr = w_reg[r, c]
            active = r < r_act and c < c_act
            base = r + c
            if idle_zero and (base > 0 or not active):
                zero_load(xr, X_REG, 0, counts, trace)
                zero_load(wr, W_REG, 0, counts, trace)
                xr = 0
                wr = 0
            if active:
                zw = zW[c]
                xv0, xz0 = sub_xv[r, c], sub_xz[r, c]
                wv0, wz0 = sub_wv[r, c], sub_wz[r, c]
                n_x = 0
                n_w = 0
                n_sub = 0
                for k in range(K):
                    xv = X[r, k]
                    wv = Wt[c, k]
                    xp = xv & x_mask
                    wp = wv & w_mask
                    tx = popcount(xr ^ xp)
                    tw = popcount(wr ^ wp)
                    xr = xp
                    wr = wp
                    tsub = _sub_toggles(xv0, xz0, xv, zx, x_bits + 1)
                    tsub += _sub_toggles(wv0, wz0, wv, zw, w_bits + 1)
                    xv0, xz0, wv0, wz0 = xv, zx, wv, zw
                    n_x += tx
                    n_w += tw
                    n_sub += tsub
                    if tracing:
                        trace[base + k, X_REG] += tx
                        trace[base + k, W_REG] += tw
                        trace[base + k, ADDER] += tsub
                counts[X_REG] += n_x
                counts[W_REG] += n_w
                counts[ADDER] += n_sub
                if idle_zero and base < R + C - 2:
                    zero_load(xr, X_REG, base + K, counts, trace)
                    zero_load(wr, W_REG, base + K, counts, trace)
                    xr = 0
                    wr = 0
                sub_xv[r, c], sub_xz[r, c], sub_wv[r, c], sub_wz[r, c] = xv0, xz0, wv0, wz0
            x_reg[r, c] = xr
            w_reg[r, c] = wr


# -------------------------------------------------------------------------- row-sum unit


@njit(cache=True, nogil=True)
def rowsum_ws(Ht, first, R, C, acc_bits, saturate, idle_zero, rs_reg, rs_s, rs_c, edge, buf,
              counts, trace):
    """Row-sum column of one ``ws`` fold (lsqplus.md §3.3): chain cells + K-fold edge adder.

    Ht int64 [r_act, T] the x values entering row r; ``buf`` int64 [T] the row-sum buffer
    (acc_bits patterns; written on the ``first`` K-fold, accumulated on later ones). rs_reg,
    rs_s, rs_c [R]: registers and cell adder nodes; edge int64[2]: the edge adder's nodes.
    """
    r_act, T = Ht.shape
    mask = (1 << acc_bits) - 1
    tracing = trace.shape[0] > 0
    col = np.zeros(T, dtype=np.int64)
    for r in range(R):
        reg = rs_reg[r]
        if idle_zero:
            zero_load(reg, ROWSUM, 0, counts, trace)
            reg = 0
        if r < r_act:
            a_s, a_c = rs_s[r], rs_c[r]
            for t in range(T):
                res, tog, ovf, a_s, a_c = _add_step(col[t] if r > 0 else 0, Ht[r, t] & mask,
                                                    acc_bits, saturate, a_s, a_c)
                tog += popcount(reg ^ res)
                reg = res
                col[t] = res
                if ovf:
                    counts[OVERFLOWS] += 1
                counts[ROWSUM] += tog
                if tracing:
                    trace[R + r + t, ROWSUM] += tog
            rs_s[r], rs_c[r] = a_s, a_c
            if idle_zero and r < R + C - 2:
                zero_load(reg, ROWSUM, R + r + T, counts, trace)
                reg = 0
        rs_reg[r] = reg
    if first:
        for t in range(T):
            buf[t] = col[t]
        return
    e_s, e_c = edge[0], edge[1]
    for t in range(T):
        res, tog, ovf, e_s, e_c = _add_step(buf[t], col[t], acc_bits, saturate, e_s, e_c)
        if ovf:
            counts[OVERFLOWS] += 1
        counts[ROWSUM] += tog
        if tracing:
            trace[R + r_act - 1 + t, ROWSUM] += tog
        buf[t] = res
    edge[0], edge[1] = e_s, e_c


@njit(cache=True, nogil=True)
def rowsum_os(X, acc_bits, saturate, rs_reg, rs_s, rs_c, counts, trace):
    """Row-sum accumulators of one ``os`` fold (lsqplus.md §3.3): cell r adds X[r, k] in cycle
    r + k. X int64 [r_act, K]; rs_reg, rs_s, rs_c [R] state (patterns)."""
    r_act, K = X.shape
    mask = (1 << acc_bits) - 1
    tracing = trace.shape[0] > 0
    for r in range(r_act):
        reg, a_s, a_c = rs_reg[r], rs_s[r], rs_c[r]
        for k in range(K):
            res, tog, ovf, a_s, a_c = _add_step(reg if k > 0 else 0, X[r, k] & mask, acc_bits,
                                                saturate, a_s, a_c)
            tog += popcount(reg ^ res)
            reg = res
            if ovf:
                counts[OVERFLOWS] += 1
            counts[ROWSUM] += tog
            if tracing:
                trace[r + k, ROWSUM] += tog
        rs_reg[r], rs_s[r], rs_c[r] = reg, a_s, a_c


@njit(cache=True, nogil=True)
def rowsum_is(S, first, R, acc_bits, saturate, rs_reg, rs_s, rs_c, counts, trace):
    """Top-edge row-sum accumulators of one ``is`` fold (lsqplus.md §3.3), on the preload.

    S int64 [r_act, c_act] stationary x (S[r, c] = X[m0+c, k0+r]); in preload cycle p the top of
    column c presents S[R-1-p, c]. ``first``: the tile's first K-fold (the first addition starts
    from 0). rs_reg, rs_s, rs_c [C] state.
    """
    r_act, c_act = S.shape
    mask = (1 << acc_bits) - 1
    tracing = trace.shape[0] > 0
    for c in range(c_act):
        reg, a_s, a_c = rs_reg[c], rs_s[c], rs_c[c]
        for p in range(R - r_act, R):
            base = 0 if (first and p == R - r_act) else reg
            res, tog, ovf, a_s, a_c = _add_step(base, S[R - 1 - p, c] & mask, acc_bits, saturate,
                                                a_s, a_c)
            tog += popcount(reg ^ res)
            reg = res
            if ovf:
                counts[OVERFLOWS] += 1
            counts[ROWSUM] += tog
            if tracing:
                trace[p, ROWSUM] += tog
        rs_reg[c], rs_s[c], rs_c[c] = reg, a_s, a_c


# ------------------------------------------------------------------------- rescale unit


@njit(cache=True, nogil=True, inline="always")
def _rca(a, b, cin, nbits):
    """Ripple-carry adder of ``nbits``-bit patterns: (sum nodes, carry nodes)."""
    mask = (1 << nbits) - 1
    s = a + b + cin
    return s & mask, ((s ^ a ^ b) >> 1) & mask


@njit(cache=True, nogil=True, inline="always")
def _ovf(a, b, s, nbits):
    """datapath.md §3 signed overflow of an ``nbits`` add of patterns a, b with sum s."""
    sign = 1 << (nbits - 1)
    return (a & sign) == (b & sign) and (s & sign) != (a & sign)


@njit(cache=True, nogil=True)
def rescale_nodes(a32, t2, b, mq, shift, zy, lo, hi, y_bits, words, mwords):
    """Evaluate stages R1–R9 of the rescale unit (lsqplus.md §5.1) except the correction.

    ``a32``: the column result as a 32-bit pattern; ``b``: the bias register (32-bit pattern);
    ``t2``: the value entering the left shifter (R1's sum, or the correction's result), or -1 to
    use R1's sum. Fills ``words`` [RESCALE_WORDS] and ``mwords`` [HIGHMUL_WORDS] with the node
    vector; returns (y value, R1 sum pattern, R1 overflowed, left shift overflowed).
    """
    m32 = 0xFFFFFFFF
    m33 = (1 << 33) - 1
    m34 = (1 << 34) - 1
    s1, c1 = _rca(a32, b & m32, 0, 32)
    words[0], words[1] = s1, c1
    ovf1 = _ovf(a32, b & m32, s1, 32)
    v = s1 if t2 < 0 else t2
    left = shift if shift > 0 else 0
    e = -shift if shift < 0 else 0
    vs = v - (1 << 32) if v >= 1 << 31 else v
    for j in range(5):
        if (left >> j) & 1:
            v = (v << (1 << j)) & m32
        words[2 + j] = v
    ovf_l = (vs << left) != (v - (1 << 32) if v >= 1 << 31 else v)
    a = v - (1 << 32) if v >= 1 << 31 else v
    bq = mq & m32
    if bq >= 1 << 31:
        bq -= 1 << 32
    mult_nodes(v, mq & m32, 32, 32, True, True, mwords)
    ab = a * bq
    inc_a = (ab >> 30) & m34
    s4, c4 = _rca(inc_a, 0, 1, 34)
    words[7], words[8] = s4, c4
    h = (s4 >> 1) & m32
    if a == -(1 << 31) and bq == -(1 << 31):
        h = 0x7FFFFFFF
    words[9] = h
    hs = h - (1 << 32) if h >= 1 << 31 else h
    addend = ((1 << (e - 1)) - (1 if hs < 0 else 0)) if e > 0 else 0
    s6, c6 = _rca(hs & m33, addend, 0, 33)
    words[10], words[11] = s6, c6
    u = s6
    for j in range(5):
        if (e >> j) & 1:
            us = u - (1 << 33) if u >= 1 << 32 else u
            u = (us >> (1 << j)) & m33
        words[12 + j] = u
    s8, c8 = _rca(u, zy & m33, 0, 33)
    words[17], words[18] = s8, c8
    z = s8 - (1 << 33) if s8 >= 1 << 32 else s8
    y = lo if z < lo else (hi if z > hi else z)
    words[19] = y & ((1 << y_bits) - 1)
    return y, s1, ovf1, ovf_l


@njit(cache=True, nogil=True)
def correction_nodes(t1, zw, sx, zw_bits, acc_bits, zw_signed, cwords):
    """The row-sum correction (lsqplus.md §3.3): multiplier z_w × Sx and subtractor t1 − P.

    ``zw``, ``sx`` values; ``t1`` 32-bit pattern. Fills ``cwords`` (multiplier nodes, then the
    subtractor's sum and carry words at the end); returns (t2 pattern, subtractor overflowed).
    """
    m32 = 0xFFFFFFFF
    nw = cwords.shape[0] - 2
    mult_nodes(zw & ((1 << zw_bits) - 1), sx & ((1 << acc_bits) - 1), zw_bits, acc_bits,
               zw_signed, True, cwords[:nw])
    p = (zw * sx) & m32
    bp = ~p & m32
    s, c = _rca(t1, bp, 1, 32)
    cwords[nw], cwords[nw + 1] = s, c
    return s, _ovf(t1, bp, s, 32)


@njit(cache=True, nogil=True)
def rescale_evals(
    cyc, col, A, bq, mq, shift, zw, sx, corr, acc_bits, zw_bits, zw_signed, zy, lo, hi, y_bits,
    st_words, st_mwords, st_cwords, y_out, counts, trace,
):
    """Evaluate the rescale unit (and, if ``corr``, the row-sum correction) for a layer.

    Per evaluation i: absolute cycle ``cyc[i]``, physical column ``col[i]``, column result
    ``A[i]`` (value), bias register ``bq[i]``, ``mq[i]``, ``shift[i]``, ``zw[i]``, ``sx[i]``
    (values). Evaluations of one column must be in chronological order. st_* [C, words] hold each
    column's previous node vectors (initialise with ``rescale_init``). Writes ``y_out[i]``.
    """
    tracing = trace.shape[0] > 0
    words = np.zeros(RESCALE_WORDS, dtype=np.int64)
    mwords = np.zeros(HIGHMUL_WORDS, dtype=np.int64)
    cwords = np.zeros(st_cwords.shape[1], dtype=np.int64)
    m32 = 0xFFFFFFFF
    for i in range(cyc.shape[0]):
        c = col[i]
        a32 = A[i] & m32
        t2 = -1
        tc = 0
        if corr:
            t1, _ = _rca(a32, bq[i] & m32, 0, 32)
            t2, covf = correction_nodes(t1, zw[i], sx[i], zw_bits, acc_bits, zw_signed, cwords)
            if covf:
                counts[OVERFLOWS] += 1
            for q in range(cwords.shape[0]):
                tc += popcount(cwords[q] ^ st_cwords[c, q])
                st_cwords[c, q] = cwords[q]
        y, _, ovf1, ovf_l = rescale_nodes(a32, t2, bq[i], mq[i], shift[i], zy, lo, hi, y_bits,
                                          words, mwords)
        tr = 0
        for q in range(RESCALE_WORDS):
            tr += popcount(words[q] ^ st_words[c, q])
            st_words[c, q] = words[q]
        for q in range(HIGHMUL_WORDS):
            tr += popcount(mwords[q] ^ st_mwords[c, q])
            st_mwords[c, q] = mwords[q]
        if ovf1:
            counts[OVERFLOWS] += 1
        if ovf_l:
            counts[OVERFLOWS] += 1
        counts[RESCALE] += tr
        counts[ROWSUM] += tc
        if tracing:
            trace[cyc[i], RESCALE] += tr
            trace[cyc[i], ROWSUM] += tc
        y_out[i] = y


@njit(cache=True, nogil=True)
def rescale_init(zw_bits, acc_bits, zw_signed, y_bits, st_words, st_mwords, st_cwords):
    """Every column's previous node vectors = those of all-zero inputs (lsqplus.md §5.1)."""
    words = np.zeros(RESCALE_WORDS, dtype=np.int64)
    mwords = np.zeros(HIGHMUL_WORDS, dtype=np.int64)
    cwords = np.zeros(st_cwords.shape[1], dtype=np.int64)
    correction_nodes(0, 0, 0, zw_bits, acc_bits, zw_signed, cwords)
    rescale_nodes(0, -1, 0, 0, 0, 0, 0, 0, y_bits, words, mwords)
    for c in range(st_words.shape[0]):
        st_words[c, :] = words
        st_mwords[c, :] = mwords
        st_cwords[c, :] = cwords
