"""``ws``: weight-stationary — rows ↔ K, cols ↔ N, time ↔ M; w is preloaded, x streams."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.dataflows.base import Fold
from accelsim.dataflows.stationary import Stationary
from accelsim.types import GemmOperands

#: Rows of the moving block gathered at a time: an im2col block of many columns (each an
#: output row here) is copied and transposed with poor locality (ResNet-18 conv1 under ws, all
#: 147 at once: 63 ms; in 32-row slabs 7.5–33 ms, measured in ``benchmarks.bench_kernels``).
SLAB_ROWS = 32


@dataclass(frozen=True)
class WeightStationary(Stationary):
    """Moving operand x (row r streams X[:, k0 + r]); stationary W[k0:k1, n0:n1]."""

    def moving_block(self, ops: GemmOperands, f: Fold) -> np.ndarray:
        """X[:, r0:r1]ᵀ, gathered and transposed :data:`SLAB_ROWS` rows at a time."""
        out = np.empty((f.r1 - f.r0, ops.M), dtype=np.int64)
        for r in range(f.r0, f.r1, SLAB_ROWS):
            r1 = min(f.r1, r + SLAB_ROWS)
            out[r - f.r0 : r1 - f.r0] = ops.x_block(f.g, 0, ops.M, r, r1).T
        return out

    def stationary_block(self, ops: GemmOperands, f: Fold) -> np.ndarray:
        return np.ascontiguousarray(ops.w_block(f.g, f.r0, f.r1, f.c0, f.c1))

    def operand_views(self, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x.T, w

    def scatter(self, y: np.ndarray, f: Fold, vals: np.ndarray) -> None:
        y[f.g, :, f.c0 : f.c1] = vals

    def output_index(self, f: Fold, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        return a, f.c0 + b


WS = WeightStationary("ws", rows_dim="K", cols_dim="N", time_dim="M", preload=True,
                      psum_class="psum_reg")
