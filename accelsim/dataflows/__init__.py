"""Dataflows: how a GEMM maps onto the array and is cut into folds (SPEC §5.1, datapath.md §5).

A dataflow is data, not code paths: which GEMM dimension goes to array rows, to columns and to time,
and whether the stationary operand is preloaded. ``REGISTRY`` maps ``array.dataflow`` names to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class Fold:
    """One fold: group ``g``; GEMM index ranges mapped to array rows ``[r0, r1)`` and cols ``[c0, c1)``."""

    g: int
    r0: int
    r1: int
    c0: int
    c1: int


@dataclass(frozen=True)
class Dataflow:
    """Mapping of GEMM dims (``"M"``, ``"K"``, ``"N"``) onto rows, cols and time."""

    name: str
    rows_dim: str
    cols_dim: str
    time_dim: str
    preload: bool  # the stationary operand is shifted in before streaming (ws, is)

    def fold_cycles(self, rows: int, cols: int, T: int) -> int:
        """SCALE-Sim's stall-free cycles of one fold: R+C+T-2 (os) or 2R+C+T-2 (ws, is)."""
        return (2 * rows if self.preload else rows) + cols + T - 2

    def dims(self, M: int, K: int, N: int) -> tuple[int, int, int]:
        """(rows-dim size, cols-dim size, T) of a GEMM."""
        size = {"M": M, "K": K, "N": N}
        return size[self.rows_dim], size[self.cols_dim], size[self.time_dim]

    def folds(self, groups: int, M: int, K: int, N: int, rows: int, cols: int) -> Iterator[Fold]:
        """Folds in execution order: group, then column-dim tiles, then row-dim tiles."""
        rdim, cdim, _ = self.dims(M, K, N)
        for g in range(groups):
            for c0 in range(0, cdim, cols):
                for r0 in range(0, rdim, rows):
                    yield Fold(g, r0, min(r0 + rows, rdim), c0, min(c0 + cols, cdim))

    def count(self, groups: int, M: int, K: int, N: int, rows: int, cols: int) -> int:
        """Number of folds: groups × ceil(rows-dim / R) × ceil(cols-dim / C)."""
        rdim, cdim, _ = self.dims(M, K, N)
        return groups * (-(-rdim // rows)) * (-(-cdim // cols))


REGISTRY: dict[str, Dataflow] = {
    "os": Dataflow("os", rows_dim="M", cols_dim="N", time_dim="K", preload=False),
    "ws": Dataflow("ws", rows_dim="K", cols_dim="N", time_dim="M", preload=True),
    "is": Dataflow("is", rows_dim="K", cols_dim="M", time_dim="N", preload=True),
}

#: Dataflow names accepted in ``array.dataflow``.
NAMES = tuple(REGISTRY)
