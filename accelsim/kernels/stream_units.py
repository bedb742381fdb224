"""Stationary column tiles run on chunks of their stream: sampled mode's units (docs/sampling.md).

A stationary fold's toggles after its preload depend, per PE and per column edge, on the stream
element it handles and on the one just before: the registers, the datapath state and the edge
adder carry nothing older (``idle: hold``). So a fold's stream may run as consecutive calls on
chunks (``accelsim.kernels.sliced_stationary.stream_stationary_sliced``, the mac array's), and
a chunk run right after the element
that precedes it in the layer's run counts exactly what the layer's run counts for it.

:func:`tile_pass` runs every K-fold of one column tile in order, streaming in each only given
*segments* of the stream, each counted into ``counts`` or into ``scratch`` (a warm-up element);
the preloads are left out (:func:`preload_pass` counts every fold's). The tile's output patterns
accumulate in ``out`` [T, c_act] over the K-folds, for the elements streamed; a pass may start
at a later K-fold when ``out`` holds the earlier ones' sums.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from accelsim.kernels.preload import preload_stationary
from accelsim.kernels.sliced_stationary import stream_stationary_sliced


@njit(cache=True, nogil=True)
def tile_pass(k, H, S_all, c0, c1, f0, f1, R, C, mov_is_x, mov_bits, sta_bits, segments,
              mov_reg, psum_reg, state, edge_s, edge_c, out, counts, scratch):
    """K-folds ``f0 .. f1 - 1`` of the column tile ``[c0, c1)`` of a mac array (``k``: its
    ``MacConsts``; K-fold f takes rows-dim indices ``[f·R, (f + 1)·R)``), streaming in each the
    ``segments`` int64 [n, 3] rows ``(t0, t1, counted)`` in order.

    ``H`` int64 [rows-dim, T] the moving operand (row i's stream), ``S_all`` int64 [rows-dim,
    cols-dim] the stationary one (values); registers [R, C], ``state`` [R, C, words] and the
    edges [C] carry the warm state in and out; ``out`` int64 [T, c1 - c0] output patterns, the
    sums of the K-folds before ``f0`` on entry. Counted segments add to ``counts``, the others
    to ``scratch``."""
    rdim = H.shape[0]
    trace = np.zeros((0, 1), dtype=np.int64)
    for r0 in range(f0 * R, min(f1 * R, rdim), R):
        r1 = min(r0 + R, rdim)
        S = np.ascontiguousarray(S_all[r0:r1, c0:c1])
        for i in range(segments.shape[0]):
            t0 = segments[i, 0]
            t1 = segments[i, 1]
            Ht = np.ascontiguousarray(H[r0:r1, t0:t1])
            starts = np.arange(2 * R + C + t1 - t0 + 2)  # one cycle per step (untraced)
            stream_stationary_sliced(k, Ht, S, out[t0:t1], r0 == 0, R, mov_is_x, mov_bits,
                                     sta_bits, starts, mov_reg, psum_reg, state, edge_s, edge_c,
                                     counts if segments[i, 2] else scratch, trace)


@njit(cache=True, nogil=True)
def preload_pass(S_all, folds, R, C, sta_bits, sta_cls, sta_reg, counts):
    """The preloads (``idle: hold``) of ``folds`` int64 [n, 4] rows ``(r0, r1, c0, c1)`` of one
    group, in order, of stationary operand ``S_all`` int64 [rows-dim, cols-dim]: their register
    toggles into ``counts[sta_cls]``; ``sta_reg`` [R, C] carries the patterns across calls."""
    trace = np.zeros((0, 1), dtype=np.int64)
    mask = (1 << sta_bits) - 1
    for i in range(folds.shape[0]):
        preload_stationary(S_all[folds[i, 0]:folds[i, 1], folds[i, 2]:folds[i, 3]], R, C, mask,
                           sta_cls, False, sta_reg, counts, trace)
