"""The stationary family (ws, is): preload, stream, edge (datapath.md §5.1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.dataflows.base import Dataflow, Fold
from accelsim.types import GemmOperands


@dataclass(frozen=True)
class Stationary(Dataflow):
    """One operand is shifted into the PEs (fold cycles 0..R-1), the other streams along the
    rows; PE (r, c) handles stream element t at step R + t + r + c; partial sums move down and
    the bottom edge of each column accumulates them over the K-folds of an output tile."""

    def fold_operands(self, ops: GemmOperands, f: Fold) -> tuple[np.ndarray, np.ndarray]:
        return self.moving_block(ops, f), self.stationary_block(ops, f)

    def moving_block(self, ops: GemmOperands, f: Fold) -> np.ndarray:
        """A fold's moving operand ``Ht`` [r_act, T] (row r's stream): the same for every
        column tile of its rows."""
        raise NotImplementedError

    def stationary_block(self, ops: GemmOperands, f: Fold) -> np.ndarray:
        """A fold's stationary operand ``S`` [r_act, c_act]."""
        raise NotImplementedError

    def operand_views(self, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Views of one group's whole operands ``x`` [M, K] and ``w`` [K, N] as (the moving
        operand [rows-dim, T], row i's stream; the stationary one [rows-dim, cols-dim]): every
        fold's :meth:`fold_operands` are blocks of them."""
        raise NotImplementedError

    def enabled_bits(self, R: int, C: int, T: int, ra: int, ca: int, x_bits: int, w_bits: int,
                     acc_bits: int, idle_zero: bool) -> np.ndarray:
        enabled = self.enabled_pes(R, C, T, ra, ca)
        mov, sta = self.operand_bits(x_bits, w_bits)
        moving = mov + acc_bits
        out = np.zeros(self.fold_cycles(R, C, T), dtype=np.int64)
        out[R:] = R * C * moving if idle_zero else enabled * moving
        if idle_zero:
            out[:R] = R * C * (sta + moving)
        else:
            p = np.arange(R)
            out[:R] = ca * np.clip(p - (R - ra) + 1, 0, ra) * sta
        return out
