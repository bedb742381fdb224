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
def block_toggles(x, mask, row_edges, col_edges):
    """Per block of ``x`` int64 [rows, n] — rows ``[row_edges[a], row_edges[a + 1])``, elements
    ``[col_edges[b], col_edges[b + 1])`` — the bit toggles of its rows read as streams of
    ``mask``-wide patterns, ``popcount((x[r, k − 1] ^ x[r, k]) & mask)`` summed (``x[r, −1]``
    taken as 0): int64 [len(row_edges) − 1, len(col_edges) − 1]."""
    out = np.zeros((len(row_edges) - 1, len(col_edges) - 1), dtype=np.int64)
    for a in range(len(row_edges) - 1):
        for r in range(row_edges[a], row_edges[a + 1]):
            row = x[r]
            for b in range(len(col_edges) - 1):
                k0 = col_edges[b]
                prev = row[k0 - 1] if k0 > 0 else 0
                t = 0
                for k in range(k0, col_edges[b + 1]):
                    t += popcount((prev ^ row[k]) & mask)
                    prev = row[k]
                out[a, b] += t
    return out
