"""The partial-sum chain of an untraced stationary fold (ws, is) of mac PEs, one SIMD lane per
column: the adders and psum registers of the active PEs row by row, then the column edges.

PE (r, c) adds its product to the partial sum PE (r − 1, c) passed down at the same stream
step, so a row's T steps depend on the row above only, and its columns are independent: for each
row the loops run over the steps, the columns innermost and contiguous (``col`` [T, c_act]),
which LLVM vectorizes (AVX-512 ``vpopcnt`` where the CPU has it). Same adders as
``accelsim.kernels.bits.ripple_add`` (datapath.md §3): sum and carry nodes, overflows,
saturation. A wrapping accumulator of at most 32 bits runs on uint32 lanes (twice as many per
vector); there the psum register after a PE's first step holds its sum nodes, so one popcount
counts both.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from accelsim.kernels.bits import popcount, ripple_add, tog32, wrap32

#: Steps per call of :func:`_adder_lanes32`: all rows run on one block of steps before the next
#: (its partial sums, [BLOCK32, c_act] uint32, stay in the L1 cache), and its packed 16-bit
#: tallies hold at most 2^10 steps of at most 32 toggles.
BLOCK32 = 1 << 8
#: Fewer active columns than this run as they are; more are padded to a multiple of 32 lanes
#: (measured on 17 columns: 0.71 ns/MAC unpadded, benchmarks/RESULTS.md).
PAD_FROM = 16


@njit(cache=True, nogil=True)
def column_chain(k, Ht, S, out, first, psum_reg, state, edge_s, edge_c, tally):
    """The adders and psum registers of a stationary fold's active PEs (``k``: ``MacConsts``),
    row by row (PE (r, c) adds ``Ht[r, t] · S[r, c]`` to the partial sum from above), then the
    column edges into ``out`` (:func:`column_edges`). Adder nodes (``state[r, c, 2:4]``),
    ``psum_reg`` and the edges' nodes carry the warm state; ``tally`` [3] adds psum-register
    toggles, adder toggles and overflows."""
    c_act = S.shape[1]
    if k.saturate or k.acc_bits > 32:
        column_edges(k, _adders64(k, Ht, S, psum_reg, state, tally), c_act, out, first, edge_s,
                     edge_c, tally)
    else:
        column_edges(k, _adders32(k, Ht, S, psum_reg, state, tally), c_act, out, first, edge_s,
                     edge_c, tally)


@njit(cache=True, nogil=True)
def _adders64(k, Ht, S, psum_reg, state, tally):
    """:func:`column_chain`'s adders on int64 lanes (any accumulator, wrapping or saturating):
    the column results, int64 [T, c_act]."""
    r_act, T = Ht.shape
    c_act = S.shape[1]
    col = np.zeros((T, c_act), dtype=np.int64)  # the sums entering row 0
    lanes = np.zeros((7, c_act), dtype=np.int64)
    sv, sp, cp, rp, per = lanes[0], lanes[1], lanes[2], lanes[3], lanes[4:7]
    for r in range(r_act):
        for c in range(c_act):
            sv[c] = S[r, c]
            sp[c] = state[r, c, 2]
            cp[c] = state[r, c, 3]
            rp[c] = psum_reg[r, c]
        _adder_lanes(Ht[r], sv, col, sp, cp, rp, per, k.acc_mask, k.acc_sign, k.saturate)
        for c in range(c_act):
            state[r, c, 2] = sp[c]
            state[r, c, 3] = cp[c]
            psum_reg[r, c] = rp[c]
    for i in range(3):
        tally[i] += per[i].sum()
    return col


@njit(cache=True, nogil=True)
def _adders32(k, Ht, S, psum_reg, state, tally):
    """:func:`column_chain`'s adders for a wrapping accumulator of at most 32 bits, on uint32
    lanes: the column results, uint32 [T, >= c_act] (more than :data:`PAD_FROM` − 1 columns
    padded to whole vectors: lanes past c_act add 0 to 0 and toggle nothing; LLVM's vector loop
    takes 32 lanes at a time here, fewer would all go through its scalar remainder)."""
    r_act, T = Ht.shape
    c_act = S.shape[1]
    c_pad = c_act if c_act < PAD_FROM else -(-c_act // 32) * 32
    col32 = np.zeros((T, c_pad), dtype=np.uint32)  # the sums entering row 0
    rows = np.zeros((4, r_act, c_pad), dtype=np.uint32)  # per PE: stationary, sum and carry nodes
    sv, sp, cp, sp0 = rows[0], rows[1], rows[2], rows[3]
    lanes = np.empty((2, c_pad), dtype=np.uint32)
    packed, ovf = lanes[0], lanes[1]
    mask = np.uint32(k.acc_mask)
    top = np.uint32(k.acc_sign)
    low = np.uint32(mask >> np.uint32(1))
    full = k.acc_bits == 32
    for r in range(r_act):
        for c in range(c_act):
            sv[r, c] = np.uint32(S[r, c])
            sp[r, c] = np.uint32(state[r, c, 2])
            cp[r, c] = np.uint32(state[r, c, 3])
            sp0[r, c] = sp[r, c]
    n_sum = 0  # sum-node toggles (= the psum register's after a PE's first step)
    n_car = 0
    n_ovf = 0
    n_reg = 0  # the psum register's first-step toggles beyond its sum nodes'
    for t0 in range(0, T, BLOCK32):  # all rows on a block of steps: the block stays in cache
        t1 = min(T, t0 + BLOCK32)
        for r in range(r_act):
            packed[:] = 0
            ovf[:] = 0
            if full:
                _adder_lanes32_full(Ht[r], sv[r], col32, sp[r], cp[r], packed, ovf, t0, t1)
            else:
                _adder_lanes32(Ht[r], sv[r], col32, sp[r], cp[r], packed, ovf, t0, t1, mask, low,
                               top)
            for c in range(c_act):
                n_sum += np.int64(packed[c] & np.uint32(0xFFFF))
                n_car += np.int64(packed[c] >> np.uint32(16))
                n_ovf += np.int64(ovf[c])
            if t0 == 0:
                for c in range(c_act):  # step 0's psum register toggles: from the register
                    res0 = np.int64(col32[0, c])
                    n_reg += (popcount(psum_reg[r, c] ^ res0)
                              - popcount(np.int64(sp0[r, c]) ^ res0))
    tally[0] += n_sum + n_reg
    tally[1] += n_sum + n_car
    tally[2] += n_ovf
    for r in range(r_act):
        for c in range(c_act):
            state[r, c, 2] = np.int64(sp[r, c])
            state[r, c, 3] = np.int64(cp[r, c])
            psum_reg[r, c] = np.int64(sp[r, c])
    return col32


@njit(cache=True, nogil=True)
def _adder_lanes(h, sv, col, sp, cp, rp, tally, mask, sign, saturate):
    """One row's adders over its stream ``h``, one lane per column: PE c adds ``h[t] · sv[c]``
    to ``col[t, c]`` and leaves its result there; ``sp``/``cp`` its sum and carry nodes, ``rp``
    its psum register; ``tally`` [3, c_act] adds psum-register toggles, adder toggles and
    overflows. Not inlined, so LLVM vectorizes it as a whole."""
    T, c_act = col.shape
    t_p = tally[0]
    t_a = tally[1]
    t_o = tally[2]
    for t in range(T):
        xv = h[t]
        row = col[t]
        for c in range(c_act):
            res, sums, car, ovf = ripple_add(row[c], (xv * sv[c]) & mask, 0, mask, sign,
                                             saturate)
            t_p[c] += popcount(rp[c] ^ res)
            t_a[c] += popcount(sp[c] ^ sums) + popcount(cp[c] ^ car)
            t_o[c] += ovf
            sp[c] = sums
            cp[c] = car
            rp[c] = res
            row[c] = res


@njit(cache=True, nogil=True)
def _adder_lanes32(h, sv, col, sp, cp, packed, ovf, t0, t1, mask, low, top):
    """Steps ``t0 .. t1 − 1`` (at most :data:`BLOCK32`) of one row's wrapping adders of at most
    32 bits on uint32 lanes (``h`` int64 values, ``sv`` uint32; ``low``: the mask without its
    top bit ``top``), two steps per pass over the columns: as :func:`_adder_lanes`, the psum
    register being the sum nodes. ``packed`` adds sum-node toggles (bits 0–15) and carry-node
    toggles (16–31), ``ovf`` the overflows."""
    _adder_steps32(h, sv, col, sp, cp, packed, ovf, t0, t1, mask, low, top)


@njit(cache=True, nogil=True)
def _adder_lanes32_full(h, sv, col, sp, cp, packed, ovf, t0, t1):
    """:func:`_adder_lanes32` for a 32-bit accumulator: its masks are constants, so LLVM drops
    the masking (measured 12 % faster on 32 columns)."""
    _adder_steps32(h, sv, col, sp, cp, packed, ovf, t0, t1, np.uint32(0xFFFFFFFF),
                   np.uint32(0x7FFFFFFF), np.uint32(0x80000000))


@njit(cache=True, nogil=True, inline="always")
def _adder_steps32(h, sv, col, sp, cp, packed, ovf, t0, t1, mask, low, top):
    """The loop of :func:`_adder_lanes32` (inlined into it and :func:`_adder_lanes32_full`)."""
    c_act = col.shape[1]
    for t in range(t0, t1 - 1, 2):
        x0 = np.uint32(h[t])  # only the product's low 32 bits count
        x1 = np.uint32(h[t + 1])
        row0 = col[t]
        row1 = col[t + 1]
        for c in range(c_act):
            s0, c0, o0 = wrap32(row0[c], np.uint32(np.uint32(x0 * sv[c]) & mask), mask, low, top)
            s1, c1, o1 = wrap32(row1[c], np.uint32(np.uint32(x1 * sv[c]) & mask), mask, low, top)
            packed[c] += np.uint32(tog32(s0, c0, sp[c], cp[c]) + tog32(s1, c1, s0, c0))
            ovf[c] += np.uint32(o0 + o1)
            sp[c] = s1
            cp[c] = c1
            row0[c] = s0
            row1[c] = s1
    if (t1 - t0) % 2:
        xv = np.uint32(h[t1 - 1])
        row = col[t1 - 1]
        for c in range(c_act):
            s0, c0, o0 = wrap32(row[c], np.uint32(np.uint32(xv * sv[c]) & mask), mask, low, top)
            packed[c] += tog32(s0, c0, sp[c], cp[c])
            ovf[c] += np.uint32(o0)
            sp[c] = s0
            cp[c] = c0
            row[c] = s0


@njit(cache=True, nogil=True)
def column_edges(k, col, c_act, out, first, edge_s, edge_c, tally):
    """The bottom-edge accumulators of the active columns (``drivers.column_edge``, untraced), t
    ascending, one lane per column: the first K-fold writes the column results ``col`` [T,
    >= c_act] (patterns) into ``out``, later ones add them to it (an acc_bits adder whose nodes
    ``edge_s``/``edge_c`` [C] carry across folds); ``tally`` [3] adds the adder toggles at [1],
    overflows at [2]."""
    T = col.shape[0]
    if first:
        for t in range(T):
            for c in range(c_act):
                out[t, c] = col[t, c]
        return
    lanes = np.empty((4, c_act), dtype=np.int64)
    es, ec, per = lanes[0], lanes[1], lanes[2:4]
    per[:, :] = 0
    for c in range(c_act):
        es[c] = edge_s[c]
        ec[c] = edge_c[c]
    _edge_lanes(col, out, es, ec, per, k.acc_mask, k.acc_sign, k.saturate)
    for c in range(c_act):
        edge_s[c] = es[c]
        edge_c[c] = ec[c]
    tally[1] += per[0].sum()
    tally[2] += per[1].sum()


@njit(cache=True, nogil=True)
def _edge_lanes(col, out, es, ec, tally, mask, sign, saturate):
    """:func:`column_edges`' adders after the first K-fold: ``out[t, c] += col[t, c]`` through
    the adder of column c < es.shape[0] (nodes ``es``/``ec``); ``tally`` [2, c_act] adds adder
    toggles and overflows. Not inlined, so LLVM vectorizes it as a whole."""
    T = col.shape[0]
    c_act = es.shape[0]
    t_a = tally[0]
    t_o = tally[1]
    for t in range(T):
        for c in range(c_act):
            res, sums, car, ovf = ripple_add(out[t, c], np.int64(col[t, c]), 0, mask, sign,
                                             saturate)
            t_a[c] += popcount(es[c] ^ sums) + popcount(ec[c] ^ car)
            t_o[c] += ovf
            es[c] = sums
            ec[c] = car
            out[t, c] = res
