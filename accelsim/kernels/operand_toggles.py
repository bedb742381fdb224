"""Toggles of operand streams by blocks: sampled mode's auxiliary variable (docs/sampling.md).

A PE's toggles follow the bit activity of the operands it streams; the toggles of a register
that streams a row of x are known exactly for every unit of a layer at the cost of one pass over
x, so sampled mode estimates the other classes by their ratio to them
(``accelsim.sim.estimate.ratio_estimate``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from accelsim.kernels.bits import popcount


@njit(cache=True, nogil=True)
def block_toggles(xt, mask, row_edges, col_edges):
    """Per block of ``x`` — given transposed, ``xt`` int64 [n, rows] C-ordered: rows
    ``[row_edges[a], row_edges[a + 1])`` of x, elements ``[col_edges[b], col_edges[b + 1])`` —
    the bit toggles of x's rows read as streams of ``mask``-wide patterns,
    ``popcount((x[r, k − 1] ^ x[r, k]) & mask)`` summed (``x[r, −1]`` taken as 0): int64
    [len(row_edges) − 1, len(col_edges) − 1]."""
    out = np.zeros((len(row_edges) - 1, len(col_edges) - 1), dtype=np.int64)
    per_row = np.zeros(xt.shape[1], dtype=np.int64)  # one block of elements, per row of x
    for b in range(len(col_edges) - 1):
        per_row[:] = 0
        for k in range(col_edges[b], col_edges[b + 1]):
            if k == 0:
                for r in range(xt.shape[1]):
                    per_row[r] += popcount(xt[0, r] & mask)
            else:
                for r in range(xt.shape[1]):
                    per_row[r] += popcount((xt[k - 1, r] ^ xt[k, r]) & mask)
        for a in range(len(row_edges) - 1):
            out[a, b] = per_row[row_edges[a]:row_edges[a + 1]].sum()
    return out
