"""Bit-sliced stationary fold (ws, is) of the ``mac`` PE: the untraced fast path of
``accelsim.kernels.drivers.fold_stationary`` with identical outputs, toggles and overflows.

A PE's T multiplier evaluations are independent except for the comparison with the previous
cycle, so its multiplier is evaluated 64 cycles per word (``accelsim.kernels.sliced``): a row's
PEs lie side by side, each its warm operand bit (the operands its multiplier holds) then its
cycles; the moving operand is sliced once per row and shared by its columns, the stationary
operand gives constant planes. Rows go through the multiplier in groups (a row's PEs fill whole
words), so a short stream still makes long word loops. The adder and the psum register are
evaluated per PE and cycle with the scalar ``adder_step``, down one column at a time (partial
sums as integers): per MAC that is as fast as bit-sliced adders, whose width is the
accumulator's (measured: benchmarks/RESULTS.md). Preload, idle loads, moving-register toggles
and the edge reuse the scalar drivers' functions. The schedule (one step per cycle) is the
drivers'; no trace; serial (one core). Numba's on-disk cache does not notice edits of
``accelsim.kernels.sliced`` here: clear ``NUMBA_CACHE_DIR`` after changing it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from accelsim.kernels.bits import adder_step, popcount, zero_load
from accelsim.kernels.drivers import column_edge, stream_toggles
from accelsim.kernels.preload import preload_stationary
from accelsim.kernels.sliced import (
    fill_bits,
    mult_planes,
    to_planes,
)
from accelsim.pe.base import counter_layout

_L = counter_layout(("x_reg", "w_reg", "psum_reg", "mult", "adder"))
X_REG, W_REG, PSUM_REG = _L["x_reg"], _L["w_reg"], _L["psum_reg"]
MULT, ADDER, OVERFLOWS = _L["mult"], _L["adder"], _L["overflows"]
#: Plane words per multiplier group (rows evaluated together: fewer, longer word loops).
GROUP_WORDS = 256
#: Streams shorter than this build their planes word by word (several PEs a word), longer ones
#: PE by PE (whichever is faster, measured on 32×32 arrays: benchmarks/RESULTS.md).
SHORT_T = 28


@njit(cache=True, nogil=True)
def fold_stationary_sliced(k, aux, Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits,
                           idle_zero, starts, mov_reg, sta_reg, psum_reg, state, edge_s, edge_c,
                           counts, trace):
    """One stationary fold of a mac array, bit-sliced; arguments as
    ``accelsim.kernels.drivers.fold_stationary`` (``k``: ``MacConsts``; ``aux`` unused; ``trace``
    must be empty). A row's active PEs are evaluated together: their planes lie side by side."""
    sta_cls = W_REG if mov_is_x else X_REG
    mov_cls = X_REG if mov_is_x else W_REG
    sta_mask = (1 << sta_bits) - 1
    preload_stationary(S, R, C, sta_mask, sta_cls, idle_zero, sta_reg, counts, trace)
    r_act, T = Ht.shape
    c_act = S.shape[1]
    if idle_zero:  # nothing valid arrives during the preload
        for r in range(R):
            for c in range(C):
                zero_load(mov_reg[r, c], mov_cls, 0, counts, trace)
                zero_load(psum_reg[r, c], PSUM_REG, 0, counts, trace)
                mov_reg[r, c] = 0
                psum_reg[r, c] = 0
    stream_stationary_sliced(k, Ht, S, out, first, R, mov_is_x, mov_bits, sta_bits, starts,
                             mov_reg, psum_reg, state, edge_s, edge_c, counts, trace)
    if idle_zero:  # idle steps follow the stream
        for r in range(r_act):
            for c in range(c_act):
                if r + c < R + C - 2:
                    cyc = starts[R + r + c + T]
                    zero_load(mov_reg[r, c], mov_cls, cyc, counts, trace)
                    zero_load(psum_reg[r, c], PSUM_REG, cyc, counts, trace)
                    mov_reg[r, c] = 0
                    psum_reg[r, c] = 0


@njit(cache=True, nogil=True)
def stream_stationary_sliced(k, Ht, S, out, first, R, mov_is_x, mov_bits, sta_bits, starts,
                             mov_reg, psum_reg, state, edge_s, edge_c, counts, trace):
    """The stream phase and the column edges of a stationary fold whose stationary operand ``S``
    is in place (no preload; ``idle: hold``): what :func:`fold_stationary_sliced` runs after the
    preload. A fold's stream may run as consecutive calls on chunks of ``Ht`` (and the matching
    rows of ``out``): the registers, ``state`` and the edges carry the warm state between them."""
    r_act, T = Ht.shape
    if T > 0 and S.shape[1] > 0:  # (an empty stream leaves the edge as it is)
        tog = stream_toggles(Ht, (1 << mov_bits) - 1)
        _stream(k, Ht, S, out, first, R, r_act, S.shape[1], mov_is_x, mov_bits, sta_bits, starts,
                tog, mov_reg, psum_reg, state, edge_s, edge_c, counts, trace)


@njit(cache=True, nogil=True)
def _stream(k, Ht, S, out, first, R, r_act, c_act, mov_is_x, mov_bits, sta_bits, starts, tog,
            mov_reg, psum_reg, state, edge_s, edge_c, counts, trace):
    """The stream phase (T > 0) of the active PEs and the column edges: the multipliers
    bit-sliced, rows in groups (a row's PEs fill whole words, the group's rows follow each
    other); then column by column the adders and psum registers per PE and cycle, and the edge."""
    T = Ht.shape[1]
    mov_cls = X_REG if mov_is_x else W_REG
    mov_mask = (1 << mov_bits) - 1
    sta_mask = (1 << sta_bits) - 1
    n, m = k.n, k.m
    seg = T + 1  # bits per PE: its warm bit, then cycles 0..T-1
    Lr = (c_act * seg + 63) >> 6  # words per row
    G = max(1, min(r_act, GROUP_WORDS // Lr))  # rows per multiplier group
    Lg = G * Lr
    mask = np.zeros(Lg, dtype=np.int64)  # cycles 0..T-1
    for c in range(c_act):
        fill_bits(mask, c * seg + 1, T)
    for q in range(Lr, Lg):
        mask[q] = mask[q - Lr]
    nw = (T + 63) >> 6
    row_pl = np.zeros((mov_bits, nw), dtype=np.int64)
    ext = np.zeros((mov_bits, nw + 2), dtype=np.int64)  # the long layout's padded stream
    mov_pl = np.zeros((mov_bits, Lg), dtype=np.int64)
    sta_pl = np.zeros((sta_bits, Lg), dtype=np.int64)
    P = np.zeros((n + 1, Lg), dtype=np.int64)
    nodes = np.zeros((2, Lg), dtype=np.int64)
    prod = np.zeros((n + m, Lg), dtype=np.int64)
    short = T < SHORT_T
    g = (max(mov_bits, sta_bits) + seg - 1) // seg if short else 1
    c0, ps, comb, combg = _word_layout(c_act, seg if short else 64, g)
    ys = np.zeros((3, 2, g), dtype=np.int64)
    for r0 in range(0, r_act, G):
        r1 = min(r_act, r0 + G)
        for r in range(r0, r1):
            to_planes(Ht[r], mov_bits, row_pl)
            if short:
                _short_row_planes(S, state, r, (r - r0) * Lr, c_act, T, mov_is_x, mov_bits,
                                  sta_bits, row_pl, mov_pl, sta_pl, c0, ps, comb, combg, ys)
            else:
                ext[:, 1:nw + 1] = row_pl
                _long_row_planes(S, state, r, (r - r0) * Lr, c_act, T, mov_is_x, mov_bits,
                                 sta_bits, ext, mov_pl, sta_pl)
        Lq = (r1 - r0) * Lr
        xp_pl = mov_pl if mov_is_x else sta_pl
        wp_pl = sta_pl if mov_is_x else mov_pl
        if k.x_is_a:
            counts[MULT] += mult_planes(xp_pl, wp_pl, n, m, k.sa, k.sb, Lq, mask, P, nodes, prod)
        else:
            counts[MULT] += mult_planes(wp_pl, xp_pl, n, m, k.sa, k.sb, Lq, mask, P, nodes, prod)
        n_mov = 0
        for r in range(r0, r1):  # the moving registers; the operands the multipliers keep
            m_first = Ht[r, 0] & mov_mask
            m_last = Ht[r, T - 1] & mov_mask
            for c in range(c_act):
                n_mov += popcount(mov_reg[r, c] ^ m_first) + tog[r]
                mov_reg[r, c] = m_last
                s_pat = S[r, c] & sta_mask
                state[r, c, 0] = m_last if mov_is_x else s_pat
                state[r, c, 1] = s_pat if mov_is_x else m_last
        counts[mov_cls] += n_mov
    colbuf = np.zeros(T, dtype=np.int64)
    for c in range(c_act):
        colbuf[:] = 0
        tp = 0
        ta = 0
        n_ovf = 0
        for r in range(r_act):
            p, a, o = _adder_pe(k, Ht, r, S[r, c], colbuf, psum_reg, state, c)
            tp += p
            ta += a
            n_ovf += o
        counts[PSUM_REG] += tp
        counts[ADDER] += ta
        counts[OVERFLOWS] += n_ovf
        column_edge(colbuf, out, c, first, R + r_act - 1 + c, k.acc_bits, k.saturate, ADDER,
                    OVERFLOWS, starts, edge_s, edge_c, counts, trace)


@njit(cache=True, nogil=True, inline="always")
def _adder_pe(k, Ht, r, s_val, col, psum_reg, state, c):
    """The adder and psum register of PE (r, c) cycle by cycle on its column's partial sums
    ``col`` (int64 [T], replaced by its outputs); its adder nodes are kept in ``state``. Returns
    (psum register toggles, adder toggles, overflows)."""
    acc_mask = k.acc_mask
    a_s = state[r, c, 2]
    a_c = state[r, c, 3]
    preg = psum_reg[r, c]
    tp = 0
    ta = 0
    n_ovf = 0
    for t in range(Ht.shape[1]):
        res, t_add, o, a_s, a_c = adder_step(col[t], (Ht[r, t] * s_val) & acc_mask, 0, acc_mask,
                                             k.acc_sign, k.saturate, a_s, a_c)
        tp += popcount(preg ^ res)
        ta += t_add
        n_ovf += o
        preg = res
        col[t] = res
    psum_reg[r, c] = preg
    state[r, c, 2] = a_s
    state[r, c, 3] = a_c
    return tp, ta, n_ovf


@njit(cache=True, nogil=True)
def _word_layout(c_act, seg, g):
    """Where short PEs (``seg`` < 64 bits each, side by side from bit 0) lie in a row's words:
    per word q, the first PE starting in it ``c0[q]``, the bit offset ``ps[q]`` (< 0) of the PE
    that starts in an earlier word and ends in q (0: none), ``comb[q]`` the start bits of its
    PEs and ``combg[q, j]`` those of its PEs j, j + g, j + 2g, ..."""
    Lr = (c_act * seg + 63) >> 6
    c0 = np.zeros(Lr, dtype=np.int64)
    ps = np.zeros(Lr, dtype=np.int64)
    comb = np.zeros(Lr, dtype=np.int64)
    combg = np.zeros((Lr, g), dtype=np.int64)
    for q in range(Lr):
        c = (64 * q + seg - 1) // seg
        c0[q] = c
        if 0 < c * seg - 64 * q and c - 1 < c_act:
            ps[q] = (c - 1) * seg - 64 * q
        while c < c_act and c * seg < 64 * q + 64:
            bit = np.int64(1) << (c * seg - 64 * q)
            comb[q] |= bit
            combg[q, (c - c0[q]) % g] |= bit
            c += 1
    return c0, ps, comb, combg


@njit(cache=True, nogil=True, inline="always")
def _spread_bit(ys, v, b, g, combg_q):
    """Bit ``b`` of the values packed in ``ys[v]`` (value of PE c from its start bit, PEs j, j + g,
    ... in ``ys[v, 0, j]``, their bits past the word in ``ys[v, 1, j]``) at the PEs' start bits."""
    word = np.int64(0)
    for j in range(g):
        lo = ys[v, 0, j]
        if b > 0:
            lo = ((lo >> b) & ((np.int64(1) << (64 - b)) - 1)) | (ys[v, 1, j] << (64 - b))
        word |= lo & combg_q[j]
    return word


@njit(cache=True, nogil=True)
def _short_row_planes(S, state, r, o, c_act, T, mov_is_x, mov_bits, sta_bits, row_pl, mov_pl,
                      sta_pl, c0, ps, comb, combg, ys):
    """Write row r's operand planes into words ``o``, ``o + 1``, ...: PE c's ``T + 1`` bits from
    bit ``64·o + c·(T + 1)``, its warm operand bit then its cycles (the row's stream ``row_pl``,
    the constant ``S[r, c]``). For PEs of fewer than 64 bits (``T`` < 63), word by word: a PE's
    warm operands and stationary operand are packed whole at its start bit (PEs j, j + g, ... of a
    word together, ``g``·(T + 1) >= their width), each plane's bits taken from the packs; the
    cycles' bits come from multiplying the row's stream (or all-ones) by the start bits."""
    mi = 0 if mov_is_x else 1
    si = 1 - mi
    seg = T + 1
    g = combg.shape[1]
    width = max(mov_bits, sta_bits)
    mov_mask = (np.int64(1) << mov_bits) - 1
    sta_mask = (np.int64(1) << sta_bits) - 1
    ones = ((np.int64(1) << T) - 1) << 1
    for q in range(c0.shape[0]):
        ys[:, :, :] = 0
        cq = c0[q]
        p = cq * seg - 64 * q
        j = 0
        c = cq
        while c < c_act and p < 64:
            for v in range(3):
                if v == 0:
                    x = state[r, c, mi] & mov_mask
                elif v == 1:
                    x = state[r, c, si] & sta_mask
                else:
                    x = S[r, c] & sta_mask
                ys[v, 0, j] |= x << p
                if p + width > 64:
                    ys[v, 1, j] |= x >> (64 - p)
            c += 1
            p += seg
            j = j + 1 if j + 1 < g else 0
        p_s = ps[q]
        for b in range(mov_bits):
            hi = row_pl[b, 0] << 1
            word = hi * comb[q] | _spread_bit(ys, 0, b, g, combg[q])
            if p_s < 0:
                word |= hi >> -p_s
            mov_pl[b, o + q] = word
        for b in range(sta_bits):
            word = ones * _spread_bit(ys, 2, b, g, combg[q]) | _spread_bit(ys, 1, b, g, combg[q])
            if p_s < 0:
                word |= (ones & -((S[r, cq - 1] >> b) & 1)) >> -p_s
            sta_pl[b, o + q] = word


@njit(cache=True, nogil=True)
def _long_row_planes(S, state, r, o, c_act, T, mov_is_x, mov_bits, sta_bits, ext, mov_pl,
                     sta_pl):
    """:func:`_short_row_planes` PE by PE (any ``T``; faster for long PEs): its first
    word (ORed onto the previous PE's end unless it starts a word), then whole words: the stream
    ``ext`` (row b: a zero word, the row's stream planes, zero words) shifted, or all-ones."""
    mi = 0 if mov_is_x else 1
    si = 1 - mi
    seg = T + 1
    tmask = np.int64(-1) if T >= 63 else (np.int64(1) << T) - 1
    for c in range(c_act):
        P = 64 * o + c * seg
        q0 = P >> 6
        p0 = P & 63
        q1 = (P + seg - 1) >> 6
        sh = 63 - p0  # word q0 + k of the PE: ext bits from 64·k + sh
        last = (np.int64(1) << ((P + seg - 1) & 63) << 1) - 1  # its bits of word q1
        for b in range(mov_bits):
            eb = ext[b]
            first = ((eb[1] << 1) | ((state[r, c, mi] >> b) & 1)) << p0
            mov_pl[b, q0] = (mov_pl[b, q0] | first) if p0 else first
            for q in range(q0 + 1, q1 + 1):
                k = q - q0
                mov_pl[b, q] = (((eb[k] >> sh) & ((np.int64(1) << (63 - sh) << 1) - 1))
                                | ((eb[k + 1] << 1) << (63 - sh)))
        for b in range(sta_bits):
            on = -((S[r, c] >> b) & 1)
            first = (((on & tmask) << 1) | ((state[r, c, si] >> b) & 1)) << p0
            sta_pl[b, q0] = (sta_pl[b, q0] | first) if p0 else first
            for q in range(q0 + 1, q1):
                sta_pl[b, q] = on
            if q1 > q0:
                sta_pl[b, q1] = on & last


