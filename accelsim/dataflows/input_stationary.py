"""``is``: input-stationary — rows ↔ K, cols ↔ M, time ↔ N; x is preloaded, w streams."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.dataflows.base import Fold
from accelsim.dataflows.stationary import Stationary
from accelsim.types import GemmOperands


@dataclass(frozen=True)
class InputStationary(Stationary):
    """Moving operand w (row r streams W[k0 + r, :]); stationary X[m0:m1, k0:k1]ᵀ."""

    @property
    def moving_is_x(self) -> bool:
        return False

    def moving_block(self, ops: GemmOperands, f: Fold) -> np.ndarray:
        return np.ascontiguousarray(ops.w_block(f.g, f.r0, f.r1, 0, ops.N))

    def stationary_block(self, ops: GemmOperands, f: Fold) -> np.ndarray:
        return np.ascontiguousarray(ops.x_block(f.g, f.c0, f.c1, f.r0, f.r1).T)

    def operand_views(self, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return w, x.T

    def scatter(self, y: np.ndarray, f: Fold, vals: np.ndarray) -> None:
        y[f.g, f.c0 : f.c1, :] = vals.T

    def output_index(self, f: Fold, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        return f.c0 + b, a


IS = InputStationary("is", rows_dim="K", cols_dim="M", time_dim="N", preload=True,
                     psum_class="psum_reg")
