"""Bit-sliced stationary fold (ws, is) of the ``mac`` PE: the untraced fast path of
``accelsim.kernels.drivers.fold_stationary`` with identical outputs, toggles and overflows.

A PE's T stream steps are independent evaluations of its multiplier and adder except for the
comparison with the previous cycle, so each node is evaluated 64 cycles per word
(``accelsim.kernels.sliced``): row r's moving operand is sliced once per fold and shared by its
columns, the stationary operand gives constant planes, partial sums flow down a column as planes
and only the column's bottom output is turned back into integers for the column edge. The first
cycle compares against the PE's warm state, as the scalar step does: the multiplier's through the
warm operand bits of its planes, the adder's and the psum register's with the scalar
``adder_step`` (cycle 0 of each PE, partial sums passed down the column as integers), which with
``ripple_add`` on cycle T - 1 also gives the state the PE keeps. Preload, idle loads,
moving-register toggles and the edge reuse the scalar drivers' functions. The schedule (one step
per cycle) is the drivers'; no trace; serial (one core). Numba's on-disk cache does not notice
edits of ``accelsim.kernels.sliced`` here: clear ``NUMBA_CACHE_DIR`` after changing it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from accelsim.kernels.bits import adder_step, popcount, ripple_add, zero_load
from accelsim.kernels.drivers import column_edge, stream_toggles
from accelsim.kernels.preload import preload_stationary
from accelsim.kernels.sliced import (
    add_planes,
    fill_bits,
    from_planes,
    mult_planes,
    put_bits,
    set_bit,
    to_planes,
)
from accelsim.pe.base import counter_layout

_L = counter_layout(("x_reg", "w_reg", "psum_reg", "mult", "adder"))
X_REG, W_REG, PSUM_REG = _L["x_reg"], _L["w_reg"], _L["psum_reg"]
MULT, ADDER, OVERFLOWS = _L["mult"], _L["adder"], _L["overflows"]


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
    """The stream phase (T > 0) of the active PEs, row by row, and the column edges."""
    T = Ht.shape[1]
    mov_cls = X_REG if mov_is_x else W_REG
    mov_mask = (1 << mov_bits) - 1
    sta_mask = (1 << sta_bits) - 1
    n, m, acc = k.n, k.m, k.acc_bits
    nb = n + m
    signed = k.sa or k.sb
    seg = T + 1  # bits per PE: its warm bit, then cycles 0..T-1
    L = (c_act * seg + 63) >> 6
    mask = np.zeros(L, dtype=np.int64)  # cycles 0..T-1
    rest = np.zeros(L, dtype=np.int64)  # cycles 1..T-1
    for c in range(c_act):
        fill_bits(mask, c * seg + 1, T)
        fill_bits(rest, c * seg + 2, T - 1)
    row_pl = np.zeros((mov_bits, (T + 63) >> 6), dtype=np.int64)
    mov_pl = np.zeros((mov_bits, L), dtype=np.int64)
    sta_pl = np.zeros((sta_bits, L), dtype=np.int64)
    psum = np.zeros((acc, L), dtype=np.int64)
    P = np.zeros((n + 1, L), dtype=np.int64)
    nodes = np.zeros((2, L), dtype=np.int64)
    prod = np.zeros((nb, L), dtype=np.int64)
    sums = np.zeros((acc, L), dtype=np.int64)
    k_r = np.zeros(L, dtype=np.int64)
    ovf = np.zeros(L, dtype=np.int64)
    a_first = np.zeros(c_act, dtype=np.int64)  # a column's partial sums of cycles 0, T - 1
    a_last = np.zeros(c_act, dtype=np.int64)
    acc_mask = k.acc_mask
    for r in range(r_act):
        to_planes(Ht[r], mov_bits, row_pl)
        mov_pl[:, :] = 0
        sta_pl[:, :] = 0
        for c in range(c_act):
            pos = c * seg
            s_pat = S[r, c] & sta_mask
            mwarm = state[r, c, 0] if mov_is_x else state[r, c, 1]
            swarm = state[r, c, 1] if mov_is_x else state[r, c, 0]
            for b in range(mov_bits):
                put_bits(mov_pl[b], pos + 1, row_pl[b], T)
                set_bit(mov_pl[b], pos, (mwarm >> b) & 1)
            for b in range(sta_bits):
                if (s_pat >> b) & 1:
                    fill_bits(sta_pl[b], pos + 1, T)
                set_bit(sta_pl[b], pos, (swarm >> b) & 1)
        xp_pl = mov_pl if mov_is_x else sta_pl
        wp_pl = sta_pl if mov_is_x else mov_pl
        if k.x_is_a:
            tm = mult_planes(xp_pl, wp_pl, n, m, k.sa, k.sb, L, mask, P, nodes, prod)
        else:
            tm = mult_planes(wp_pl, xp_pl, n, m, k.sa, k.sb, L, mask, P, nodes, prod)
        ta, tp, n_ovf = add_planes(psum, prod, nb, signed, acc, k.saturate, L, mask, rest, sums,
                                   k_r, ovf)
        counts[PSUM_REG] += tp
        counts[MULT] += tm
        counts[ADDER] += ta
        counts[OVERFLOWS] += n_ovf
        m_first = Ht[r, 0] & mov_mask
        m_last = Ht[r, T - 1] & mov_mask
        for c in range(c_act):  # cycle 0 against the warm state, the state after cycle T - 1
            counts[mov_cls] += popcount(mov_reg[r, c] ^ m_first) + tog[r]
            mov_reg[r, c] = m_last
            res, t_add, _, _, _ = adder_step(a_first[c], (Ht[r, 0] * S[r, c]) & acc_mask, 0,
                                             acc_mask, k.acc_sign, k.saturate, state[r, c, 2],
                                             state[r, c, 3])
            counts[ADDER] += t_add
            counts[PSUM_REG] += popcount(psum_reg[r, c] ^ res)
            a_first[c] = res
            res, a_s, a_c, _ = ripple_add(a_last[c], (Ht[r, T - 1] * S[r, c]) & acc_mask, 0,
                                          acc_mask, k.acc_sign, k.saturate)
            a_last[c] = res
            psum_reg[r, c] = res
            s_pat = S[r, c] & sta_mask
            state[r, c, 0] = m_last if mov_is_x else s_pat
            state[r, c, 1] = s_pat if mov_is_x else m_last
            state[r, c, 2] = a_s
            state[r, c, 3] = a_c
    colbuf = np.zeros(T, dtype=np.int64)
    for c in range(c_act):
        from_planes(psum, acc, c * seg + 1, colbuf)
        column_edge(colbuf, out, c, first, R + r_act - 1 + c, acc, k.saturate, ADDER, OVERFLOWS,
                    starts, edge_s, edge_c, counts, trace)
