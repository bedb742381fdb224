"""What a dataflow is (docs/datapath.md §5, datapath.md §5): the mapping of a GEMM onto the array.

A dataflow owns everything about *where and when* operands meet: which GEMM dimension goes to
array rows, columns and time; the fold iteration; the operand blocks of a fold and where its
outputs land; which register holds which operand (register roles and the accumulating register's
toggle-class name); the clock-enable window of a fold; and the memory tile policy. Nothing outside
``accelsim.dataflows`` compares dataflow names: code asks the dataflow object instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, NamedTuple

import numpy as np

from accelsim.types import GemmOperands


class Fold(NamedTuple):
    """One fold: group ``g``; GEMM index ranges mapped to array rows ``[r0, r1)`` and columns
    ``[c0, c1)``. (A named tuple: the fold loop makes one per fold, 5× faster than a frozen
    dataclass.)"""

    g: int
    r0: int
    r1: int
    c0: int
    c1: int


@dataclass(frozen=True)
class Dataflow:
    """Mapping of GEMM dims (``"M"``, ``"K"``, ``"N"``) onto rows, cols and time.

    Subclasses (one per module of this package) give the operand blocks of a fold, the output
    scatter and the clock-enable window. Two families share one schedule each: *stationary*
    (``preload``: an operand is shifted into the PEs, the other streams through, partial sums move
    down and leave at the column edge) and *output-stationary* (both operands stream, each PE keeps
    its accumulator).
    """

    name: str
    rows_dim: str
    cols_dim: str
    time_dim: str
    preload: bool
    """The stationary operand is shifted in before streaming (stationary family)."""
    psum_class: str
    """Toggle-class name of the PE's accumulating register: ``psum_reg`` when partial sums move
    down the column, ``acc_reg`` when each PE keeps its own accumulator."""

    # ----------------------------------------------------------------------- fold iteration

    def fold_cycles(self, rows: int, cols: int, T: int) -> int:
        """SCALE-Sim's stall-free cycles of one fold (one cycle per step): R+C+T-2, plus R
        preload cycles for the stationary family."""
        return (2 * rows if self.preload else rows) + cols + T - 2

    def last_step(self, rows: int, r_act: int, c_act: int, T: int) -> int:
        """Fold step after the last enabled one of an ``r_act × c_act`` region (its end, steps)."""
        return (rows if self.preload else 0) + T + r_act + c_act - 2

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

    def first_of_tile(self, f: Fold) -> bool:
        """The fold starts a new output tile (stationary: its first K-fold; os: always)."""
        return not self.preload or f.r0 == 0

    def completes(self, f: Fold, K: int) -> bool:
        """The fold completes its output tile (stationary: its last K-fold; os: always)."""
        return not self.preload or f.r1 == K

    # ------------------------------------------------------------------- operands and outputs

    def fold_operands(self, ops: GemmOperands, f: Fold) -> tuple[np.ndarray, np.ndarray]:
        """The two contiguous int64 operand blocks a fold's kernel reads (values).

        Stationary family: (``Ht`` [r_act, T] the moving operand, row r's stream; ``S``
        [r_act, c_act] the stationary operand). Output-stationary: (``X`` [r_act, K] rows of x,
        ``Wt`` [c_act, K] columns of w).
        """
        raise NotImplementedError

    def out_shape(self, f: Fold, T: int) -> tuple[int, int]:
        """Shape of a fold's output patterns: [r_act, c_act] (os) or [T, c_act] (stationary)."""
        return (T, f.c1 - f.c0) if self.preload else (f.r1 - f.r0, f.c1 - f.c0)

    def scatter(self, y: np.ndarray, f: Fold, vals: np.ndarray) -> None:
        """Write a completed tile's output values ``vals`` (shaped as :meth:`out_shape`) into
        ``y`` [G, M, N]."""
        raise NotImplementedError

    def output_index(self, f: Fold, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        """GEMM (m, n) of the output at fold-output position (a, b) of :meth:`out_shape`."""
        raise NotImplementedError

    # -------------------------------------------------------------------------- register roles

    @property
    def moving_is_x(self) -> bool:
        """Stationary family: the streamed operand is x (w is held). Output-stationary: True."""
        return True

    @property
    def w_held(self) -> bool:
        """The w operand stays in the PE while x streams past it (the multiplier's input order
        that changes least often is w's)."""
        return self.preload and self.moving_is_x

    def operand_bits(self, x_bits: int, w_bits: int) -> tuple[int, int]:
        """(moving, stationary) operand widths (bits); output-stationary: (x_bits, w_bits)."""
        return (x_bits, w_bits) if self.moving_is_x else (w_bits, x_bits)

    def class_names(self, classes: tuple[str, ...]) -> tuple[str, ...]:
        """A PE kind's toggle classes with the accumulating register named for this dataflow."""
        return tuple(self.psum_class if c == "psum_reg" else c for c in classes)

    # --------------------------------------------------------------------- clock-enable window

    def enabled_bits(self, R: int, C: int, T: int, ra: int, ca: int, x_bits: int, w_bits: int,
                     acc_bits: int, idle_zero: bool) -> np.ndarray:
        """Enabled (clocked) register bits in each cycle of one fold window of an ``ra × ca``
        active region (int64 [fold cycles]). With ``idle_zero`` moving registers are clocked in
        every cycle; otherwise a register is clocked only when it loads valid data."""
        raise NotImplementedError

    def enabled_pes(self, R: int, C: int, T: int, ra: int, ca: int) -> np.ndarray:
        """PEs enabled at each stream step of a fold (int64 [fold cycles - preload cycles])."""
        pre = R if self.preload else 0
        d = np.arange(ra + ca - 1)
        per_diag = np.minimum.reduce([d + 1, np.full_like(d, ra), np.full_like(d, ca),
                                      ra + ca - 1 - d])  # PEs with r + c = d
        prefix = np.concatenate([[0], np.cumsum(per_diag)])
        s = np.arange(self.fold_cycles(R, C, T) - pre)
        hi = np.clip(s + 1, 0, len(per_diag))
        lo = np.clip(s - T + 1, 0, len(per_diag))
        return prefix[hi] - prefix[lo]

    # ------------------------------------------------------------------------ memory tile policy

    @property
    def holds_x(self) -> bool:
        """Memory tiles: the ifmap tile of a fold stays resident while weights stream."""
        return self.preload and not self.moving_is_x

    @property
    def holds_w(self) -> bool:
        """Memory tiles: the weight tile of a fold stays resident while inputs stream."""
        return self.w_held

    @property
    def holds_outputs(self) -> bool:
        """Memory tiles: outputs stay in the array until the fold ends (no partial sums leave)."""
        return not self.preload
