"""Stationary column tiles run on chunks of their stream: sampled mode's units (docs/sampling.md).

A stationary fold's toggles after its preload depend, per PE and per column edge, on the stream
element it handles and on the one just before: the registers, the datapath state and the edge
adder carry nothing older (``idle: hold``). So a fold's stream may run as consecutive calls on
chunks (``accelsim.kernels.sliced_stationary.stream_stationary_sliced``, the mac array's), and
a chunk run right after the element that precedes it in the layer's run counts exactly what the
layer's run counts for it.

:func:`tile_pass` runs every K-fold of one column tile in order, streaming in each only given
*segments* of the stream, each counted into ``counts`` or into ``scratch`` (a warm-up element);
the preloads are left out (:func:`preload_census` counts every fold's). The tile's output
patterns accumulate in ``out`` [T, c_act] over the K-folds, for the elements streamed; a pass
may start at a later K-fold when ``out`` holds the earlier ones' sums.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from accelsim.kernels.bits import popcount
from accelsim.kernels.sliced_stationary import stream_stationary_sliced


@njit(cache=True, nogil=True)
def tile_pass(k, H, S_all, c0, c1, f0, f1, R, C, mov_is_x, mov_bits, sta_bits, segments,
              mov_reg, psum_reg, state, edge_s, edge_c, out, counts, scratch):
    """K-folds ``f0 .. f1 - 1`` of the column tile ``[c0, c1)`` of a mac array (``k``: its
    ``MacConsts``; K-fold f takes rows-dim indices ``[f·R, (f + 1)·R)``), streaming in each the
    ``segments`` int64 [n, 3] rows ``(t0, t1, counted)`` in order.

    ``H`` [rows-dim, T] the moving operand (row i's stream), ``S_all`` [rows-dim, cols-dim]
    the stationary one (values, any integer dtype: each block is copied to int64); registers
    [R, C], ``state`` [R, C, words] and the edges [C] carry the warm state in and out; ``out``
    int64 [T, c1 - c0] output patterns, the sums of the K-folds before ``f0`` on entry.
    Counted segments add to ``counts``, the others to ``scratch``."""
    rdim = H.shape[0]
    trace = np.zeros((0, 1), dtype=np.int64)
    for r0 in range(f0 * R, min(f1 * R, rdim), R):
        r1 = min(r0 + R, rdim)
        S = S_all[r0:r1, c0:c1].astype(np.int64)
        for i in range(segments.shape[0]):
            t0 = segments[i, 0]
            t1 = segments[i, 1]
            Ht = H[r0:r1, t0:t1].astype(np.int64)
            starts = np.arange(2 * R + C + t1 - t0 + 2)  # one cycle per step (untraced)
            stream_stationary_sliced(k, Ht, S, out[t0:t1], r0 == 0, R, mov_is_x, mov_bits,
                                     sta_bits, starts, mov_reg, psum_reg, state, edge_s, edge_c,
                                     counts if segments[i, 2] else scratch, trace)


@njit(cache=True, nogil=True)
def preload_census(S_all, R, C, sta_bits, sta_reg):
    """The stationary registers' toggles (int) over the preloads (``idle: hold``) of every fold
    of one group of stationary operand ``S_all`` [rows-dim, cols-dim] (values, any integer
    dtype), in the fixed order (column tiles, then row tiles): what ``preload_stationary``
    counts untraced. ``sta_reg`` [R, C] carries the patterns across calls.

    Only a column tile's first fold loads over what another column tile left; a later fold's
    registers hold the previous row tile (full: only the last is short). So those folds' first
    loads and every fold's chain (:func:`_census_rows`) are counted in one sweep in the
    operand's memory order, and ``sta_reg`` is visited once per column tile."""
    rdim, cdim = S_all.shape
    mask = (1 << sta_bits) - 1
    last = (-(-rdim // R) - 1) * R  # the last row tile's first row
    tog = 0
    for c0 in range(0, cdim, C):
        c_act = min(C, cdim - c0)
        r_act = min(R, rdim)
        for r in range(r_act):
            for c in range(c_act):
                tog += popcount(sta_reg[r, c] ^ (S_all[r_act - 1, c0 + c] & mask))
        for r in range(R):  # the registers as the column tile leaves them
            i = last + r if last + r < rdim else last - R + r
            if i >= 0:
                for c in range(c_act):
                    sta_reg[r, c] = S_all[i, c0 + c] & mask
    if S_all.strides[0] < S_all.strides[1]:  # column-major (a transposed view)
        columns = S_all.T
        for c in range(cdim):
            tog += _census_column(columns[c], R, mask)
        return tog
    return tog + _census_rows(S_all, R, mask)


@njit(cache=True, nogil=True, inline="always")
def _census_rows(S, R, mask):
    """The toggles of :func:`preload_census`'s sweep over ``S`` [rows-dim, cols-dim], row tile
    by row tile: a row r < r_act - 1 of the tile steps to the row below it in the ``r + 1``
    registers down to it (the suffix sums of ``preload_stationary``'s chain), and, after the
    first tile, a register of row r < r_act first loads the tile's top row over the previous
    tile's row r."""
    rdim, n = S.shape
    tog = 0
    for r0 in range(0, rdim, R):
        r_act = min(R, rdim - r0)
        top = S[r0 + r_act - 1]
        for r in range(r_act):
            row = S[r0 + r]
            if r < r_act - 1:
                below = S[r0 + r + 1]
                for c in range(n):
                    tog += (r + 1) * popcount((row[c] ^ below[c]) & mask)
            if r0 > 0:
                above = S[r0 - R + r]
                for c in range(n):
                    tog += popcount((above[c] ^ top[c]) & mask)
    return tog


@njit(cache=True, nogil=True, inline="always")
def _census_column(col, R, mask):
    """:func:`_census_rows` on one column ``col`` [rows-dim] (a column-major operand's)."""
    tog = 0
    for r0 in range(0, col.shape[0], R):
        tile = col[r0:r0 + R]
        top = tile[tile.shape[0] - 1]
        for r in range(tile.shape[0] - 1):
            tog += (r + 1) * popcount((tile[r] ^ tile[r + 1]) & mask)
        if r0 > 0:
            above = col[r0 - R:r0]
            for r in range(tile.shape[0]):
                tog += popcount((above[r] ^ top) & mask)
    return tog
