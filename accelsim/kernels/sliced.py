"""Bit-sliced evaluation over time: consecutive cycles of one node in one int64 word (a plane).

Two layouts. **Packed** (:func:`to_planes`, :func:`mult_planes`): several PEs lie side by side
in one bit stream (a row of words, bit p = bit p % 64 of word p // 64); PE i owns the ``T + 1``
bits from ``i·(T + 1)``, its state before cycle 0 (its warm node value) then cycles 0..T-1, and
a node's toggles compare every bit with the one before (the previous word's top bit carried in)
where a ``mask`` is set (e.g. not a warm bit, not past the last PE). **63 steps per word**
(:func:`time_planes`, :func:`mult_lanes`): bit ``63 − b`` of word w is position ``63 w + b``, so
a word's top bit repeats the previous word's last position and its toggles are
``popcount(v ^ (v >> 1))`` with nothing carried between words; a lane is any such word (the os
driver: one PE's stream; ws/is: a column's stream of PEs back to back, with a mask). Gates are
bitwise ops on whole rows of words, so a PE's warm position is evaluated like its cycles when the
operand planes carry the warm operands. The word loops are plain loops over the word index in
separate, non-inlined functions so that LLVM vectorizes them (AVX-512: 8 words and ``vpopcntq``
per instruction where the CPU has them).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from accelsim.kernels.bits import mult_row_constants, popcount

#: Steps a word advances in the layout of :func:`time_planes` (its 64th bit repeats the previous
#: word's last step).
STEP = 63
#: Lanes (64-step words) a :func:`mult_lanes` pass aims at: rows are grouped up to it.
LANES = 768


@njit(cache=True, nogil=True, inline="always")
def bit_word(v, b):
    """All-ones if bit ``b`` of ``v`` is set, else 0 (int64: bit b moved to bit 63, then an
    arithmetic shift)."""
    return (v << (63 - b)) >> 63


@njit(cache=True, nogil=True)
def fill_bits(dst, pos, nbits):
    """Set bits pos..pos+nbits-1 of the bit stream ``dst``."""
    p = pos
    end = pos + nbits
    while p < end:
        sh = p & 63
        k = min(64 - sh, end - p)
        ones = -1 if k == 64 else (np.int64(1) << k) - 1
        dst[p >> 6] |= ones << sh
        p += k


@njit(cache=True, nogil=True, inline="always")
def _transpose8(x):
    """The 8×8 bit matrix in ``x`` (byte i = row i, bit j of it = column j) transposed."""
    t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AA
    x = x ^ t ^ (t << 7)
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCC
    x = x ^ t ^ (t << 14)
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0
    return x ^ t ^ (t << 28)


@njit(cache=True, nogil=True)
def to_planes(V, bits, planes):
    """Bit planes of the patterns ``V`` (int64 [T], bits 0..bits-1): cycle t in bit t of
    ``planes[b]`` (int64 [>= bits, >= ceil(T / 64)]; words past ceil(T / 64) untouched). Eight
    cycles × eight bits at a time, as a bit-matrix transpose."""
    T = V.shape[0]
    for b in range(bits):
        for q in range((T + 63) >> 6):
            planes[b, q] = 0
    for lane in range(0, bits, 8):
        nb = min(8, bits - lane)
        for t0 in range(0, T, 8):
            x = np.int64(0)
            for i in range(min(8, T - t0)):
                x |= ((V[t0 + i] >> lane) & 0xFF) << (8 * i)
            x = _transpose8(x)
            q = t0 >> 6
            sh = t0 & 63
            for j in range(nb):
                planes[lane + j, q] |= ((x >> (8 * j)) & 0xFF) << sh


@njit(cache=True, nogil=True)
def _pp_cell(Aj, Bi, cw, Pj, mask):
    """Row 0 of :func:`mult_planes`, one bit: partial products ``(Aj & Bi) ^ cw`` into ``Pj``;
    returns their toggles where ``mask`` is set (each bit against the one before; the previous
    word's top bit is a recurrence LLVM vectorizes). Not inlined, so it vectorizes as a whole."""
    tog = 0
    pb = np.int64(0)
    for q in range(Aj.shape[0]):
        bi = (Aj[q] & Bi[q]) ^ cw
        Pj[q] = bi
        tog += popcount((bi ^ ((bi << 1) | ((pb >> 63) & 1))) & mask[q])
        pb = bi
    return tog


@njit(cache=True, nogil=True)
def _fa_cell(Aj, Bi, cw, orw, Pa, Pj, cy, mask):
    """Rows >= 1 of :func:`mult_planes`, one bit: partial product, full adder of ``Pa | orw``
    (P_(i-1) >> 1), the partial product and the carry ``cy``; sum into ``Pj``, carry out into
    ``cy``. Returns the three nodes' toggles where ``mask`` is set (as :func:`_pp_cell`)."""
    tog = 0
    pb = np.int64(0)
    ps = np.int64(0)
    pc = np.int64(0)
    for q in range(Aj.shape[0]):
        bi = (Aj[q] & Bi[q]) ^ cw
        a = Pa[q] | orw
        c = cy[q]
        x = a ^ bi
        s = x ^ c
        co = (a & bi) | (c & x)
        Pj[q] = s
        cy[q] = co
        m = mask[q]
        tog += (popcount((bi ^ ((bi << 1) | ((pb >> 63) & 1))) & m)
                + popcount((s ^ ((s << 1) | ((ps >> 63) & 1))) & m)
                + popcount((co ^ ((co << 1) | ((pc >> 63) & 1))) & m))
        pb = bi
        ps = s
        pc = co
    return tog


@njit(cache=True, nogil=True)
def mult_planes(A, B, n, m, sa, sb, mask, P, cy):
    """The n×m multiplier of ``accelsim.kernels.bits._mult_row`` on operand planes ``A`` (int64
    [>= n, L], the column operand a) and ``B`` ([>= m, L], the row operand b), several PEs side
    by side, each PE's warm bit holding its warm operands. Returns the node toggles over the bits
    where ``mask`` (int64 [L]) is set. Scratch: ``P`` [n + 1, L], ``cy`` [L]."""
    both_eq = sa and sb and n == m
    tog = 0
    for i in range(m):
        cmask, cin = mult_row_constants(i, n, m, sa, sb)
        Bi = B[i]
        if i == 0:
            for j in range(n):
                tog += _pp_cell(A[j], Bi, bit_word(cmask, j), P[j], mask)
            P[n, :] = 0
        else:
            cy[:] = -cin
            for j in range(n):
                orw = -1 if (i == 1 and both_eq and j == n - 1) else 0
                tog += _fa_cell(A[j], Bi, bit_word(cmask, j), orw, P[j + 1], P[j], cy, mask)
            P[n, :] = cy
    return tog


@njit(cache=True, nogil=True)
def time_planes(V, bits, nw):
    """Bit planes over time of the patterns ``V[i, :]`` (already masked): int64 [rows, bits, nw].
    Position ``p`` = step + 1 (position 0: the warm step, left 0) sits at bit
    ``63 − (p − 63 w)`` of word ``w`` for every word that covers it (63 w <= p <= 63 w + 63);
    positions past the stream's end repeat its last step."""
    n, K = V.shape
    P = np.zeros((n, bits, nw), dtype=np.int64)
    npos = STEP * nw + 1
    pos = np.zeros(npos, dtype=np.int64)
    last = min(npos, K + 1)  # positions 1 .. last − 1 are steps; the rest repeat the last one
    for i in range(n):
        for p in range(1, last):  # two plain copies (LLVM vectorizes them)
            pos[p] = V[i, p - 1]
        for p in range(last if K > 0 else npos, npos):  # (an empty stream: all zeros)
            pos[p] = V[i, K - 1]
        for w in range(nw):
            o = STEP * w
            for j in range(bits):
                word = 0
                for b in range(64):  # an OR reduction LLVM vectorizes
                    word |= ((pos[o + b] >> j) & 1) << (63 - b)
                P[i, j, w] = word
    return P


def lane_mask(mask, q):
    """``mask[q]``, or all ones when ``mask`` is None (then a compile-time constant under njit:
    an unmasked pass carries no mask loads)."""
    return -1 if mask is None else mask[q]


@overload(lane_mask, inline="always")
def _lane_mask_njit(mask, q):
    if isinstance(mask, types.NoneType):
        return lambda mask, q: np.int64(-1)
    return lambda mask, q: mask[q]


@njit(cache=True, nogil=True)
def _pp_lanes(Aj, Bi, cm, Pj, mask, pp):
    """Row 0 of the multiplier, one bit: partial products ``(Aj & Bi) ^ cm`` into ``Pj``;
    returns their toggles where ``mask`` is set (None: everywhere), or 0 unless ``pp``. A
    separate (not inlined) function: LLVM vectorizes it as a whole."""
    tog = 0
    for q in range(Aj.shape[0]):
        bi = (Aj[q] & Bi[q]) ^ cm
        Pj[q] = bi
        if pp:
            tog += popcount((bi ^ (bi >> 1)) & lane_mask(mask, q))
    return tog


@njit(cache=True, nogil=True, inline="always")
def _fa_cell_word(a, b, cm, aa, c, mq, pp):
    """One word of a full-adder cell: partial product ``(a & b) ^ cm``, the full adder of
    ``aa`` (P_(i-1) >> 1), the partial product and the carry ``c``. Returns (sum, carry out,
    the toggles where ``mq`` is set of the sum and carry nodes, and of the partial product if
    ``pp``)."""
    bi = (a & b) ^ cm
    t = aa ^ bi
    s = t ^ c
    co = (aa & bi) | (c & t)
    tog = popcount((s ^ (s >> 1)) & mq) + popcount((co ^ (co >> 1)) & mq)
    if pp:
        tog += popcount((bi ^ (bi >> 1)) & mq)
    return s, co, tog


@njit(cache=True, nogil=True)
def _fa_lanes(Aj, Bi, cm, Pj, Pj1, cy, mask, pp):
    """Rows >= 1, one bit: :func:`_fa_cell_word` of ``aa`` = ``Pj1`` and the carry ``cy``; sum
    into ``Pj``, carry out into ``cy``. Returns the toggles where ``mask`` is set (not inlined,
    so LLVM vectorizes it as a whole)."""
    tog = 0
    for q in range(Aj.shape[0]):
        s, co, t = _fa_cell_word(Aj[q], Bi[q], cm, Pj1[q], cy[q], lane_mask(mask, q), pp)
        Pj[q] = s
        cy[q] = co
        tog += t
    return tog


@njit(cache=True, nogil=True)
def _fa2_lanes(Aj, Ak, Bi, cmj, cmk, Pj, Pk, Pl, cy, mask, pp):
    """Two adjacent cells j, k = j + 1 of a row in one pass (the carry between them stays in a
    register): sums into ``Pj``, ``Pk`` (``Pk`` is read as cell j's ``aa`` first), carry out into
    ``cy``. Returns the toggles where ``mask`` is set."""
    tog = 0
    for q in range(Aj.shape[0]):
        b = Bi[q]
        mq = lane_mask(mask, q)
        s, co, t = _fa_cell_word(Aj[q], b, cmj, Pk[q], cy[q], mq, pp)
        Pj[q] = s
        s, co, u = _fa_cell_word(Ak[q], b, cmk, Pl[q], co, mq, pp)
        Pk[q] = s
        cy[q] = co
        tog += t + u
    return tog


@njit(cache=True, nogil=True)
def mult_lanes(A, B, P, cy, n, m, sa, sb, mask, pp):
    """Node toggles of the n×m multiplier (datapath.md §2, ``bits._mult_row``) over all lanes:
    ``A`` int64 [n, L] column-operand planes, ``B`` [m, L] row-select planes (steps beyond a
    stream's end repeat its last operand pair, so they toggle nothing); ``P`` [n + 1, L] and
    ``cy`` [L] scratch. Only bits where ``mask`` (int64 [L], or None: all) is set count; the
    partial products' toggles only if ``pp`` (a caller that knows them otherwise)."""
    both_eq = sa and sb and n == m
    tog = 0
    for i in range(m):
        cmask, cin = mult_row_constants(i, n, m, sa, sb)
        Bi = B[i]
        if i == 0:
            for j in range(n):
                tog += _pp_lanes(A[j], Bi, bit_word(cmask, j), P[j], mask, pp)
            P[n, :] = -1 if both_eq else 0
            continue
        cy[:] = -cin
        for j in range(0, n - 1, 2):  # cells in pairs (fewer loads and stores), then the odd one
            tog += _fa2_lanes(A[j], A[j + 1], Bi, bit_word(cmask, j), bit_word(cmask, j + 1),
                              P[j], P[j + 1], P[j + 2], cy, mask, pp)
        if n % 2:
            tog += _fa_lanes(A[n - 1], Bi, bit_word(cmask, n - 1), P[n - 1], P[n], cy, mask,
                             pp)
        P[n, :] = cy
    return tog


@njit(cache=True, nogil=True)
def rows_per_pass(r_act, c_act, nw):
    """Rows whose multipliers one pass evaluates together: at most about :data:`LANES` lanes,
    the r_act active rows split evenly over the fewest passes (a pass evaluates all its row
    slots)."""
    most = max(1, min(r_act, LANES // max(1, c_act * nw)))
    passes = max(1, (r_act + most - 1) // most)
    return max(1, (r_act + passes - 1) // passes)
