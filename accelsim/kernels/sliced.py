"""Bit-sliced evaluation over time: 64 consecutive cycles of one node in one int64 word (a plane).

Several PEs lie side by side in one bit stream (a row of words, bit p = bit p % 64 of word
p // 64): PE i owns the ``T + 1`` bits from ``i·(T + 1)``, its state before cycle 0 (its warm
node value) then cycles 0..T-1. Gates are bitwise ops on whole rows, so a PE's warm bit is
evaluated like its cycles when the operand planes carry the warm operands (the multiplier); nodes
whose warm value does not follow from the planes (the adder's, the registers') count their first
cycle elsewhere. A node's toggles compare every bit with the one before, where a ``mask`` is set
(e.g. the valid cycles: not a warm bit, not past the last PE). The word loops are plain loops
over the word index so that LLVM vectorizes them (AVX-512: 8 words and ``vpopcntq`` per
instruction where the CPU has them).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from accelsim.kernels.bits import _ctpop64, mult_row_constants


@njit(cache=True, nogil=True, inline="always")
def bit_word(v, b):
    """All-ones if bit ``b`` of ``v`` is set, else 0 (int64)."""
    return -((v >> b) & 1)


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


@njit(cache=True, nogil=True, inline="always")
def toggles(row, mask, L):
    """Toggles of a node over the bits of its bit stream ``row[:L]`` where ``mask`` is set (each
    bit compared with the one before)."""
    v0 = row[0]
    s = _ctpop64((v0 ^ (v0 << 1)) & mask[0])
    for q in range(1, L):
        v = row[q]
        s += _ctpop64((v ^ ((v << 1) | ((row[q - 1] >> 63) & 1))) & mask[q])
    return s


@njit(cache=True, nogil=True, inline="always")
def toggles3(u, v, w, mask, L):
    """:func:`toggles` of three nodes in one pass."""
    u0 = u[0]
    v0 = v[0]
    w0 = w[0]
    s = _ctpop64((u0 ^ (u0 << 1)) & mask[0]) + _ctpop64((v0 ^ (v0 << 1)) & mask[0])
    s += _ctpop64((w0 ^ (w0 << 1)) & mask[0])
    for q in range(1, L):
        a = u[q]
        b = v[q]
        c = w[q]
        mq = mask[q]
        s += (_ctpop64((a ^ ((a << 1) | ((u[q - 1] >> 63) & 1))) & mq)
              + _ctpop64((b ^ ((b << 1) | ((v[q - 1] >> 63) & 1))) & mq)
              + _ctpop64((c ^ ((c << 1) | ((w[q - 1] >> 63) & 1))) & mq))
    return s


@njit(cache=True, nogil=True)
def mult_planes(A, B, n, m, sa, sb, L, mask, P, nodes, prod):
    """The n×m multiplier of ``accelsim.kernels.bits._mult_row`` on operand planes ``A`` (int64
    [>= n, L], the column operand a) and ``B`` ([>= m, L], the row operand b), several PEs side
    by side, each PE's warm bit holding its warm operands. Writes the n+m product bit planes into
    ``prod`` (sign-flipped top bit as ``mult_nodes``) and returns the node toggles over the words
    where ``mask`` is set. Scratch: ``P`` [n + 1, L], ``nodes`` [2, L]."""
    both_eq = sa and sb and n == m
    tog = 0
    bi_r = nodes[0]
    k_r = nodes[1]
    for i in range(m):
        cmask, cin = mult_row_constants(i, n, m, sa, sb)
        Bi = B[i]
        if i == 0:
            for j in range(n):
                cw = bit_word(cmask, j)
                Aj = A[j]
                Pj = P[j]
                for q in range(L):
                    Pj[q] = (Aj[q] & Bi[q]) ^ cw
                tog += toggles(Pj, mask, L)
            Pn = P[n]
            for q in range(L):
                Pn[q] = 0
        else:
            cinw = -cin
            for q in range(L):
                k_r[q] = cinw
            for j in range(n):
                cw = bit_word(cmask, j)
                orw = -1 if (i == 1 and both_eq and j == n - 1) else 0
                Aj = A[j]
                Pa = P[j + 1]
                Pj = P[j]
                for q in range(L):
                    bi = (Aj[q] & Bi[q]) ^ cw
                    a = Pa[q] | orw
                    c = k_r[q]
                    x = a ^ bi
                    Pj[q] = x ^ c
                    bi_r[q] = bi
                    k_r[q] = (a & bi) | (c & x)
                tog += toggles3(bi_r, Pj, k_r, mask, L)  # partial product, sum, carry
            Pn = P[n]
            for q in range(L):
                Pn[q] = k_r[q]
        if i < m - 1:
            pr = prod[i]
            P0 = P[0]
            for q in range(L):
                pr[q] = P0[q]
    for j in range(n + 1):
        pr = prod[m - 1 + j]
        Pj = P[j]
        for q in range(L):
            pr[q] = Pj[q]
    if sa or sb:
        pr = prod[n + m - 1]
        for q in range(L):
            pr[q] = ~pr[q]
    return tog
