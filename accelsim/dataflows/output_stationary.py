"""``os``: output-stationary — rows ↔ M, cols ↔ N, time ↔ K; each PE keeps its accumulator
(datapath.md §5.2)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.dataflows.base import Dataflow, Fold
from accelsim.types import GemmOperands


@dataclass(frozen=True)
class OutputStationary(Dataflow):
    """x streams along rows, w along columns; PE (r, c) meets operand k at step r + c + k."""

    def fold_operands(self, ops: GemmOperands, f: Fold) -> tuple[np.ndarray, np.ndarray]:
        return self.x_rows(ops, f), self.w_columns(ops, f)

    def x_rows(self, ops: GemmOperands, f: Fold) -> np.ndarray:
        """A fold's x rows ``X`` [r_act, K]: the same for every column tile of its rows."""
        return ops.x_block(f.g, f.r0, f.r1, 0, ops.K)

    def w_columns(self, ops: GemmOperands, f: Fold) -> np.ndarray:
        """A fold's w columns ``Wt`` [c_act, K]: the same for every row tile of its columns."""
        return np.ascontiguousarray(ops.w_block(f.g, 0, ops.K, f.c0, f.c1).T)

    def scatter(self, y: np.ndarray, f: Fold, vals: np.ndarray) -> None:
        y[f.g, f.r0 : f.r1, f.c0 : f.c1] = vals

    def output_index(self, f: Fold, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        return f.r0 + a, f.c0 + b

    def enabled_bits(self, R: int, C: int, T: int, ra: int, ca: int, x_bits: int, w_bits: int,
                     acc_bits: int, idle_zero: bool) -> np.ndarray:
        enabled = self.enabled_pes(R, C, T, ra, ca)
        moving = x_bits + w_bits
        return enabled * acc_bits + (R * C * moving if idle_zero else enabled * moving)


OS = OutputStationary("os", rows_dim="M", cols_dim="N", time_dim="K", preload=False,
                      psum_class="acc_reg")
