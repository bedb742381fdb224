"""Sampled mode's units on output-stationary mac arrays: chunks of each fold's K stream
(docs/sampling.md).

An os PE's state after a step — its x and w registers, the operand pair its multiplier last
held, its acc register and its adder's sum and carry nodes — is a function of that step's
operands and of the partial sum before it; its toggles depend on that state and its own
operands, never on other PEs' (``idle: hold``). So a chunk ``[k0, k1)`` of a fold's stream
runs exactly from a state set, per PE, to what step ``k0 − 1`` leaves: the operands of element
``k0 − 1`` and the adder's nodes for the partial sum of the elements before it, which an exact
GEMM gives (any partial sum of a wrapping accumulator, modulo its width; a saturating one only
where no partial sum can reach its range). A fold's first chunk starts from what the previous
fold's last step left, per PE: that fold's rows and columns as the existing fold units' context
selects them (``accelsim.sim.sample._Frame``). One kernel call per unit
(``accelsim.kernels.sliced_os.fold_os_tile``, continuing the fold after its first chunk). A
stratum's totals are estimated by their ratio to the units' x-stream toggles, known for every
unit (:meth:`KChunks.auxiliary`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accelsim.kernels.run import signed
from accelsim.kernels.sliced import STEP
from accelsim.sim.estimate import Estimate, group_strata, ratio_estimate

#: Stream elements one bit-sliced word holds (a chunk's length at most: one word per call).
WORD = STEP
#: Fixed cost of one kernel call, in stream elements of a full array (measured on a 32 × 32
#: fold of 1, 64, 128 and 512 elements: about 30 µs a call and 46 µs a word of 63 elements).
CALL_ELEMENTS = 41

Unit = np.ndarray  # (group, column tile, row tile, chunk)


class KChunks:
    """Chunks of every os fold's K stream on a mac array (module doc): ``frame`` the layer's
    ``_Frame``, ``step`` the mac ``StepKind``."""

    unit = "kchunk"

    def __init__(self, frame: Any, step: Any, acc_bits: int) -> None:
        self.frame, self.step, self.acc_bits = frame, step, acc_bits
        self.k = step.consts
        self.R, self.C, self.T = frame.R, frame.C, frame.T
        chunks = max(1, -(-self.T // WORD))
        self.bounds = [(j * self.T) // chunks for j in range(chunks + 1)]
        self._strata: tuple[np.ndarray, dict[tuple[int, ...], np.ndarray]] | None = None
        self._aux: np.ndarray | None = None

    @staticmethod
    def applies(frame: Any, step: Any) -> bool:
        """The kind has the sliced os driver, and the accumulator wraps or no partial sum can
        reach its range (a saturating one's partial sums are then the GEMM's)."""
        if step.output_stationary_untraced is None:
            return False
        if not step.consts.saturate:
            return True
        return frame.sum_bound() < step.consts.acc_sign

    def strata(self) -> tuple[np.ndarray, dict[tuple[int, ...], np.ndarray]]:
        """Every unit in execution order (int64 [n, 4]: group, column tile, row tile, chunk) and
        the indices of each stratum's units. A stratum: where the warm state comes from (0:
        reset, the layer's first unit; 1: the previous column tile, a column's first fold's first
        chunk; 2: the previous fold of the column; 3: the chunk before), the chunk's length,
        its active PEs (rows × columns) and rows."""
        if self._strata is None:
            f = self.frame
            J = len(self.bounds) - 1
            g, ct, rt, j = (a.ravel() for a in np.meshgrid(
                np.arange(f.ops.groups), np.arange(f.nc), np.arange(f.nr), np.arange(J),
                indexing="ij"))
            start = np.where(j > 0, 3, np.where(rt > 0, 2, 1))
            start[0] = 0
            rows = np.minimum(self.R, f.rdim - rt * self.R)
            cols = np.minimum(self.C, f.cdim - ct * self.C)
            length = np.diff(self.bounds)[j]
            code = ((start * (WORD + 1) + length) * (self.R * self.C + 1) + rows * cols) \
                * (self.R + 1) + rows  # the key (start, length, rows × cols, rows) in order
            strata = group_strata(code, start, length, rows * cols, rows)
            self._strata = np.stack([g, ct, rt, j], axis=1), strata
        return self._strata

    def estimate(self, key: tuple[int, ...], drawn: list[Unit], rows: np.ndarray,
                 sizes: np.ndarray, count: int) -> Estimate:
        """The estimate of stratum ``key`` from the ``rows`` of its ``drawn`` units: by their
        ratio to :meth:`auxiliary` (``accelsim.sim.estimate.ratio_estimate``)."""
        aux = self.auxiliary()
        index = [self._index(u) for u in drawn]
        return ratio_estimate(rows, aux[index], sizes, count,
                              int(aux[self.strata()[1][key]].sum()))

    def _index(self, u: Unit) -> int:
        """Position of unit ``u`` in :meth:`strata`'s order."""
        f = self.frame
        g, ct, rt, j = (int(v) for v in u)
        return ((g * f.nc + ct) * f.nr + rt) * (len(self.bounds) - 1) + j

    def auxiliary(self) -> np.ndarray:
        """Per unit (in :meth:`strata`'s order), the toggles its x registers would count
        streaming its chunk right after the element before it, from zero for a fold's first
        chunk (``accelsim.kernels.operand_toggles.block_toggles``, times the active columns):
        known exactly for every unit, and followed closely by the other classes
        (docs/sampling.md)."""
        from accelsim.kernels.operand_toggles import block_toggles

        if self._aux is None:
            f = self.frame
            rows = np.minimum(np.arange(f.nr + 1) * self.R, f.rdim)
            mask = (1 << self.k.x_bits) - 1
            per = np.stack([block_toggles(f.operands(g)[0].T, mask, rows, np.array(self.bounds))
                            for g in range(f.ops.groups)])  # [G, row tiles, chunks]
            cols = np.minimum(self.C, f.cdim - np.arange(f.nc) * self.C)
            self._aux = (per[:, None] * cols[None, :, None, None]).ravel()
        return self._aux

    def layer_cost(self) -> int:
        """The whole layer's kernel work: stream elements (in whole words) plus
        :data:`CALL_ELEMENTS` per fold."""
        return self.frame.ops.groups * self.frame.nr * self.frame.nc * self.call_cost()

    def cost(self, u: Unit) -> int:
        """Kernel work of ``u`` (:meth:`layer_cost`'s terms)."""
        return -(-self.elements(u) // WORD) * WORD + CALL_ELEMENTS

    def call_cost(self) -> int:
        """One fold's kernel work (:meth:`layer_cost` per fold)."""
        return -(-self.T // WORD) * WORD + CALL_ELEMENTS

    def elements(self, u: Unit) -> int:
        return self.bounds[int(u[3]) + 1] - self.bounds[int(u[3])]

    def fold_equivalents(self, elements: int) -> int:
        """Folds' worth of ``elements`` stream elements (one fold streams T), rounded up."""
        return -(-elements // self.T)

    def preloads(self) -> np.ndarray:
        """Output-stationary folds preload nothing: zero counters."""
        return np.zeros(self.step.counters, dtype=np.int64)

    def _partial(self, g: int, rows: slice, cols: slice, e: int) -> np.ndarray:
        """The exact partial sums over the first ``e`` elements of the fold (rows, cols) of
        group g: int64 [rows, cols], from the shorter side of the stream."""
        if e <= self.T - e:
            return self._dot(g, rows, cols, 0, e)
        return self.frame.product(g)[rows, cols] - self._dot(g, rows, cols, e, self.T)

    def _dot(self, g: int, rows: slice, cols: slice, k0: int, k1: int) -> np.ndarray:
        """The exact int64 ``x[rows, k0:k1] @ w[k0:k1, cols]`` of group g
        (``_Frame.block_product``)."""
        return self.frame.block_product(g, lambda x, w: (x[rows, k0:k1], w[k0:k1, cols]))

    def _fresh(self) -> tuple[np.ndarray, ...]:
        """Register, acc-register and datapath-state arrays [R, C] at reset."""
        regs = [np.zeros((self.R, self.C), dtype=np.int64) for _ in range(3)]
        return (*regs, np.zeros((self.R, self.C, max(1, self.step.state_words)), dtype=np.int64))

    def _warm(self, g: int, rows: slice | np.ndarray, cols: slice | np.ndarray, e: int,
              through: np.ndarray) -> tuple[np.ndarray, ...]:
        """Register, acc-register and datapath-state arrays [R, C] as step ``e`` of the fold
        (rows, cols) of group g leaves them in its PEs (the others at reset), ``through`` the
        partial sums of the elements up to and including it
        (``accelsim.kernels.sliced_os.warm_state``)."""
        from accelsim.kernels.sliced_os import warm_state

        x, w = self.frame.operands(g)
        return warm_state(self.k, x[rows, e].astype(np.int64), w[e, cols].astype(np.int64),
                          through, self.R, self.C, max(1, self.step.state_words))

    def run(self, u: Unit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Simulate unit ``u`` from its warm state: (its counters int64 [counters], its PEs'
        acc values after its last element, the exact ones): for the fold's last chunk the
        outputs (values), else the partial sums' patterns."""
        from accelsim.kernels.sliced_os import fold_os_tile, w_inputs

        g, ct, rt, j = (int(v) for v in u)
        f, K = self.frame, self.T
        k0, k1 = self.bounds[j], self.bounds[j + 1]
        rows = slice(rt * self.R, min((rt + 1) * self.R, f.rdim))
        cols = slice(ct * self.C, min((ct + 1) * self.C, f.cdim))
        x, w = f.operands(g)
        X = np.ascontiguousarray(x[rows, k0:k1], dtype=np.int64)
        Wt = np.ascontiguousarray(w[k0:k1, cols].T, dtype=np.int64)
        if k0 > 0:
            partial = self._partial(g, rows, cols, k0)
            warm = self._warm(g, rows, cols, k0 - 1, partial)
        else:
            partial = np.zeros((X.shape[0], Wt.shape[0]), dtype=np.int64)
            prev = self._previous_fold(g, ct, rt, X.shape[0], Wt.shape[0])
            if prev is None:  # the layer's first fold: from reset
                warm = self._fresh()
            else:
                pg, prow, pcol = prev
                warm = self._warm(pg, prow, pcol, K - 1, f.product(pg)[prow][:, pcol])
        out = np.zeros((X.shape[0], Wt.shape[0]), dtype=np.int64)
        counts = np.zeros(self.step.counters, dtype=np.int64)
        fold_os_tile(self.k, X, Wt, w_inputs(self.k, Wt), out, self.R, self.C, False, *warm,
                     counts, k0 > 0)
        if k1 == K:
            return counts, signed(out, self.acc_bits), f.product(g)[rows, cols]
        return counts, out, (partial + self._dot(g, rows, cols, k0, k1)) & self.k.acc_mask

    def _previous_fold(self, g: int, ct: int, rt: int, r: int, c: int
                       ) -> tuple[int, slice | np.ndarray, slice | np.ndarray] | None:
        """(group, rows, columns) of the operands each of the first ``r`` × ``c`` PEs last met
        before fold (g, ct, rt): the previous row tile of the column, or at a column's start the
        previous column tile's last folds (``_Frame._context_rows`` and ``_context_cols``);
        None for the layer's first fold."""
        f = self.frame
        if rt > 0:
            return g, slice((rt - 1) * self.R, rt * self.R), \
                slice(ct * self.C, min((ct + 1) * self.C, f.cdim))
        prev = f._previous_column(g, ct)
        if prev is None:
            return None
        return prev[0], f._context_rows(r), f._context_cols(prev, c)
