"""Sampled mode's units on the stationary family of a mac array (``ws``, ``is``; docs/sampling.md).

After its preload, a stationary fold's toggles depend, per PE and per column edge, on the stream
element handled and on the one just before (``accelsim.kernels.stream_units``). Two kinds of
unit follow, both simulated exactly from a warm state rebuilt by single stream elements:

- :class:`StreamUnits`: a chunk ``[t0, t1)`` of an output tile's stream, in every K-fold of the
  tile. Warm-up: the element ``t0 - 1`` in each fold, or for the first chunk the previous fold's
  last element (and before the tile's first fold, the previous tiles' last elements).
- :class:`FoldUnits`: a run of consecutive K-folds ``[f0, f1)`` of an output tile, whole streams.
  The column edge's partial sums of the earlier K-folds come from an exact GEMM, which needs a
  layer where no partial sum can overflow; warm-up: the last element of the fold before.

The preloads belong to folds, not to units: they are counted exactly for every fold. A layer
takes the kind whose sample costs less (:func:`choose_units`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from accelsim.kernels.run import signed
from accelsim.pe.base import ARRAY_REGISTERS, counter_layout
from accelsim.sim.estimate import (Estimate, collapse, combine, group_strata, sample_sizes,
                                   stratum_estimate, systematic)

#: Most chunks an output tile's stream is cut into.
MAX_CHUNKS = 64
#: Fixed cost of one fold's kernel call, in stream elements (measured, benchmarks/RESULTS.md):
#: unit sizes and the choice of unit kind weigh calls against elements with it. A chunk has at
#: least twice as many elements as a fold's two calls (warm-up element, chunk) cost.
CALL_ELEMENTS = 9

Unit = tuple[int, int, int]  # (group, column tile, chunk)


class _Tiles:
    """What both unit kinds share: a stationary layer's output tiles on an R × C array
    (``frame``: the layer's ``accelsim.sim.sample._Frame``; ``step``: the mac ``StepKind``)."""

    unit = ""

    def __init__(self, frame: Any, step: Any, x_bits: int, w_bits: int, acc_bits: int) -> None:
        self.frame, self.step, self.acc_bits = frame, step, acc_bits
        self.R, self.C, self.T = frame.R, frame.C, frame.T
        self.nr, self.nc = frame.nr, frame.nc
        self.mov_is_x = frame.df.moving_is_x
        self.mov_bits, self.sta_bits = frame.df.operand_bits(x_bits, w_bits)
        self.bounds = [0, 1]
        self._strata: tuple[list[Unit], dict[tuple[int, int, int], np.ndarray]] | None = None

    def units(self) -> list[Unit]:
        """Every unit in execution order: group, column tile, chunk."""
        return self.strata()[0]

    def strata(self) -> tuple[list[Unit], dict[tuple[int, int, int], np.ndarray]]:
        """Every unit in execution order and the indices (int64, ascending) of each stratum's
        (by :meth:`shapes`)."""
        if self._strata is None:
            J = len(self.bounds) - 1
            i = np.arange(self.frame.ops.groups * self.nc * J)
            g, ct, j = i // (self.nc * J), i // J % self.nc, i % J
            start, extent, width = self.shapes(g, ct, j)
            top = int(extent.max()) + 1
            code = (start * top + extent) * (self.C + 1) + width  # orders as the keys do
            self._strata = (list(zip(g.tolist(), ct.tolist(), j.tolist())),
                            group_strata(code, start, extent, width))
        return self._strata

    def shape(self, u: Unit) -> tuple[int, int, int]:
        """The stratum of unit ``u`` (:meth:`shapes`)."""
        return tuple(int(a[0]) for a in self.shapes(*(np.array([v]) for v in u)))

    def shapes(self, g: np.ndarray, ct: np.ndarray, j: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The strata of units (g, ct, j) (int64 arrays): where a unit's warm state comes from
        (0: reset, the layer's first unit; 1: a tile's first unit, from the previous tile or
        fold; 2: from the unit before), its extent (``extents``) and its active columns."""
        start = np.where(j > 0, 2, np.where((g == 0) & (ct == 0), 0, 1))
        return start, self.extents(j), np.minimum(self.C, self.frame.cdim - ct * self.C)

    def width(self, ct: int) -> int:
        return min(self.C, self.frame.cdim - ct * self.C)

    def layer_cost(self) -> int:
        """The whole layer's kernel work: stream elements plus :data:`CALL_ELEMENTS` per fold."""
        return self.frame.ops.groups * self.nr * self.nc * self.call_cost()

    def fold_equivalents(self, elements: int) -> int:
        """Folds' worth of ``elements`` stream elements (one fold streams T), rounded up."""
        return -(-elements // self.T)

    def call_cost(self) -> int:
        """One fold's kernel work (:meth:`layer_cost` per fold)."""
        return self.T + CALL_ELEMENTS

    def estimate(self, key: tuple[int, int, int], drawn: list[Unit], rows: np.ndarray,
                 sizes: np.ndarray, count: int) -> Estimate:
        """The estimate of stratum ``key`` from the ``rows`` of its ``drawn`` units (the
        expansion estimator, ``accelsim.sim.estimate.stratum_estimate``)."""
        return stratum_estimate(rows, sizes, count)

    def operands(self, g: int, dtype: type | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(moving operand [rows-dim, T], stationary one [rows-dim, cols-dim]) of group g, in
        their stored dtypes or in ``dtype`` (views, ``Stationary.operand_views`` of
        ``_Frame.operands``)."""
        return self.frame.df.operand_views(*self.frame.operands(g, dtype))

    def block_gemm(self, g: int, k: slice, t: slice, c: slice) -> np.ndarray:
        """The exact int64 ``H[k, t].T @ S[k, c]`` of group g's operands (:meth:`operands`;
        ``_Frame.block_product``)."""

        def pick(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            H, S = self.frame.df.operand_views(x, w)
            return H[k, t].T, S[k, c]

        return self.frame.block_product(g, pick)

    def context_tiles(self, g: int, ct: int) -> list[tuple[int, int]]:
        """The tiles whose last elements leave the warm state of tile (g, ct)'s first fold: the
        previous tile and, where it is narrower than the array, the one before it (oldest
        first); none for the layer's first tile."""
        prev = self.frame._previous_column(g, ct)
        if prev is None:
            return []
        if self.width(prev[1]) < self.C:
            before = self.frame._previous_column(*prev)
            if before is not None:
                return [before, prev]
        return [prev]

    def preloads(self) -> np.ndarray:
        """The kind's counters of every fold's preload, in the fixed order (exact)."""
        from accelsim.kernels.stream_units import preload_census

        counts = np.zeros(self.step.counters, dtype=np.int64)
        sta_reg = np.zeros((self.R, self.C), dtype=np.int64)
        sta_cls = counter_layout(ARRAY_REGISTERS)["w_reg" if self.mov_is_x else "x_reg"]
        for g in range(self.frame.ops.groups):
            counts[sta_cls] += preload_census(self.operands(g)[1], self.R, self.C, self.sta_bits,
                                              sta_reg)
        return counts

    def fresh(self) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
        """Register, datapath-state and edge arrays at reset."""
        regs = [np.zeros((self.R, self.C), dtype=np.int64) for _ in range(2)]
        state = np.zeros((self.R, self.C, max(1, self.step.state_words)), dtype=np.int64)
        edges = [np.zeros(self.C, dtype=np.int64) for _ in range(2)]
        return regs, state, edges

    def run_pass(self, g: int, ct: int, f0: int, f1: int, segments: list[list[int]],
                 warm: tuple[list[np.ndarray], np.ndarray, list[np.ndarray]],
                 counts: np.ndarray, scratch: np.ndarray, out: np.ndarray | None = None
                 ) -> np.ndarray:
        """K-folds ``f0 .. f1 - 1`` of tile (g, ct) on ``segments`` (``tile_pass``) from the
        ``warm`` arrays (updated); ``out`` the output patterns on entry (default zeros)."""
        from accelsim.kernels.stream_units import tile_pass

        H, S = self.operands(g)
        regs, state, edges = warm
        c0 = ct * self.C
        if out is None:
            out = np.zeros((self.T, self.width(ct)), dtype=np.int64)
        tile_pass(self.step.consts, H, S, c0, c0 + self.width(ct), f0, f1, self.R, self.C,
                  self.mov_is_x, self.mov_bits, self.sta_bits,
                  np.array(segments, dtype=np.int64), regs[0], regs[1], state, edges[0],
                  edges[1], out, counts, scratch)
        return out


class StreamUnits(_Tiles):
    """Chunks of each output tile's stream (module doc)."""

    unit = "chunk"

    def __init__(self, frame: Any, step: Any, x_bits: int, w_bits: int, acc_bits: int) -> None:
        super().__init__(frame, step, x_bits, w_bits, acc_bits)
        size = max(1, 2 * CALL_ELEMENTS, -(-self.T // MAX_CHUNKS))
        chunks = max(1, self.T // size)
        self.bounds = [(j * self.T) // chunks for j in range(chunks + 1)]

    def extents(self, j: np.ndarray) -> np.ndarray:
        """The lengths of chunks ``j`` (int64 array; stream elements)."""
        b = np.array(self.bounds, dtype=np.int64)
        return b[j + 1] - b[j]

    def cost(self, u: Unit) -> int:
        """Kernel work of ``u`` (:meth:`layer_cost`'s terms), its warm-up included."""
        g, ct, j = u
        calls = 1 if j == 0 and self.bounds[j + 1] == self.T else 2
        per_fold = self.bounds[j + 1] - self.bounds[j] + calls * (CALL_ELEMENTS + 1)
        context = len(self.context_tiles(g, ct)) * (1 + CALL_ELEMENTS) if j == 0 else 0
        return self.nr * (per_fold + context)

    def elements(self, u: Unit) -> int:
        """Stream elements of ``u`` over its tile's K-folds."""
        return self.nr * (self.bounds[u[2] + 1] - self.bounds[u[2]])

    def run(self, u: Unit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Simulate unit ``u`` from its rebuilt warm state: (its counters int64 [counters], its
        output values, the exact ones), both int64 [t1 - t0, active columns]."""
        g, ct, j = u
        t0, t1, T = self.bounds[j], self.bounds[j + 1], self.T
        warm = self.fresh()
        counts = np.zeros(self.step.counters, dtype=np.int64)
        scratch = np.zeros(self.step.counters, dtype=np.int64)
        if j == 0:
            for pg, pct in self.context_tiles(g, ct):
                self.run_pass(pg, pct, 0, self.nr, [[T - 1, T, 0]], warm, scratch, scratch)
            segments = [[0, t1, 1]] + ([[T - 1, T, 0]] if t1 < T else [])
        else:
            segments = [[t0 - 1, t0, 0], [t0, t1, 1]]
        out = self.run_pass(g, ct, 0, self.nr, segments, warm, counts, scratch)
        c0 = ct * self.C
        exact = self.block_gemm(g, slice(None), slice(t0, t1), slice(c0, c0 + self.width(ct)))
        return counts, signed(out[t0:t1], self.acc_bits), exact


class FoldUnits(_Tiles):
    """Runs of consecutive K-folds of each output tile, whole streams (module doc). Only for a
    layer whose partial sums cannot overflow (:meth:`applies`)."""

    unit = "kfolds"

    def __init__(self, frame: Any, step: Any, x_bits: int, w_bits: int, acc_bits: int) -> None:
        super().__init__(frame, step, x_bits, w_bits, acc_bits)
        size = max(1, -(-4 * (CALL_ELEMENTS + 1) // (self.T + CALL_ELEMENTS)))  # warm-up <= 25 %
        chunks = max(1, -(-self.nr // size))
        self.bounds = [(j * self.nr) // chunks for j in range(chunks + 1)]

    def applies(self) -> bool:
        """No partial sum of the layer can reach the accumulator's range (so the edge's sums
        of earlier K-folds are the GEMM's), and a tile has at least two K-folds."""
        if self.nr < 2:
            return False
        return self.frame.sum_bound() < 1 << (self.acc_bits - 1)

    def extents(self, j: np.ndarray) -> np.ndarray:
        """The rows-dim extents of K-fold runs ``j`` (int64 array)."""
        b = np.array(self.bounds, dtype=np.int64)
        return np.minimum(b[j + 1] * self.R, self.frame.rdim) - b[j] * self.R

    def cost(self, u: Unit) -> int:
        """Kernel work of ``u`` (:meth:`layer_cost`'s terms), its warm-up included."""
        g, ct, j = u
        folds = self.bounds[j + 1] - self.bounds[j]
        f0 = self.bounds[j]
        warm = (len(self.context_tiles(g, ct)) * min(2, self.nr) if f0 <= 1 else 0) + (f0 >= 1)
        return folds * (self.T + CALL_ELEMENTS) + warm * (1 + CALL_ELEMENTS)

    def elements(self, u: Unit) -> int:
        return (self.bounds[u[2] + 1] - self.bounds[u[2]]) * self.T

    def _sum(self, g: int, ct: int, f0: int, f1: int, t0: int = 0, t1: int | None = None
             ) -> np.ndarray:
        """The column edge's sum of K-folds ``f0 .. f1 - 1`` of tile (g, ct) at stream elements
        ``[t0, t1)``: int64 [t1 - t0, width], exact (:meth:`block_gemm`)."""
        c0 = ct * self.C
        return self.block_gemm(g, slice(f0 * self.R, min(f1 * self.R, self.frame.rdim)),
                               slice(t0, t1), slice(c0, c0 + self.width(ct)))

    def _prefix(self, g: int, ct: int, f: int, t0: int = 0, shorter: bool = True
                ) -> np.ndarray:
        """The column edge's sum of the first ``f`` K-folds of tile (g, ct) at stream elements
        ``[t0, T)`` (:meth:`_sum`); ``shorter``: from the shorter side, where that is the
        tile's total (the group's product) less the K-folds from ``f`` on."""
        if not shorter or f <= self.nr - f:
            return self._sum(g, ct, 0, f, t0)
        c0 = ct * self.C
        return self.frame.tile_product(g)[t0:, c0:c0 + self.width(ct)] - \
            self._sum(g, ct, f, self.nr, t0)

    def _last(self, ct: int, sums: np.ndarray) -> np.ndarray:
        """Output patterns of a tile in column tile ct that hold ``sums`` int64 [1, width] at its
        last stream element (the other elements are not streamed by a warm-up)."""
        out = np.zeros((self.T, self.width(ct)), dtype=np.int64)
        out[self.T - 1:] = sums & ((1 << self.acc_bits) - 1)
        return out

    def run(self, u: Unit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Simulate unit ``u`` from its rebuilt warm state: (its counters, its tile's output
        values after the unit's last K-fold, the exact ones; int64 [T, active columns])."""
        g, ct, j = u
        f0, f1, T = self.bounds[j], self.bounds[j + 1], self.T
        warm = self.fresh()
        counts = np.zeros(self.step.counters, dtype=np.int64)
        scratch = np.zeros(self.step.counters, dtype=np.int64)
        last = [[T - 1, T, 0]]
        before = self._prefix(g, ct, f0)
        if f0 <= 1:  # the previous tiles' last K-folds: the PEs, and the edge adder that the
            # tile's first K-fold leaves as it is (it writes its sums, it adds none)
            a = max(0, self.nr - 2)  # a narrower last K-fold leaves lower rows to the one before
            for pg, pct in self.context_tiles(g, ct):
                self.run_pass(pg, pct, a, self.nr, last, warm, scratch, scratch,
                              self._last(pct, self._prefix(pg, pct, a, T - 1, pg == g)))
        if f0 >= 1:
            self.run_pass(g, ct, f0 - 1, f0, last, warm, scratch, scratch,
                          self._last(ct, before[T - 1:] - self._sum(g, ct, f0 - 1, f0, T - 1)))
        out = self.run_pass(g, ct, f0, f1, [[0, T, 1]], warm, counts, scratch,
                            before & ((1 << self.acc_bits) - 1))
        return counts, signed(out, self.acc_bits), before + self._sum(g, ct, f0, f1)


def _draw(units: _Tiles, fraction: float, rng: np.random.Generator | None
          ) -> tuple[list[tuple[int, int, int]], list[int], list[int], list[list[Unit]], list]:
    """Strata (keys, sizes N_h, sample sizes n_h), the units drawn per stratum and the
    interval sizes of the draws (``rng`` None: the first unit of each interval, for costing)."""
    all_units, strata = units.strata()
    keys = sorted(strata)
    counts = [len(strata[k]) for k in keys]
    sizes_n = sample_sizes(counts, fraction)
    if rng is None:
        picks = [((np.arange(n) * c) // n, None) for c, n in zip(counts, sizes_n)]
    else:
        picks = [systematic(c, n, rng) for c, n in zip(counts, sizes_n)]
    chosen = [[all_units[strata[k][int(j)]] for j in p[0]] for k, p in zip(keys, picks)]
    return keys, counts, sizes_n, chosen, [p[1] for p in picks]


def choose_units(frame: Any, step: Any, x_bits: int, w_bits: int, acc_bits: int,
                 fraction: float) -> _Tiles:
    """The unit kind whose sample of ``fraction`` costs the kernels less (stream chunks unless
    K-fold runs apply and are cheaper)."""
    best = StreamUnits(frame, step, x_bits, w_bits, acc_bits)
    folds = FoldUnits(frame, step, x_bits, w_bits, acc_bits)
    if folds.applies() and _cost(folds, fraction) < _cost(best, fraction):
        return folds
    return best


def _cost(units: _Tiles, fraction: float) -> int:
    _, _, _, chosen, _ = _draw(units, fraction, None)
    return sum(units.cost(u) for us in chosen for u in us)


def simulate_units(units: _Tiles, spec: Any, rng: np.random.Generator,
                   values: Callable[[np.ndarray], list[int]],
                   progress: Callable[[int], None] | None, total_folds: int
                   ) -> tuple[Estimate, bool, int, int, int] | None:
    """Draw and simulate a sample of ``units`` (``spec``: the ``SampleSpec``): (the layer's
    estimate, whether every unit's outputs equal the exact GEMM's, units simulated, fold
    equivalents sampled and run), or None when the sample would cost at least the layer
    (fraction < 1; docs/sampling.md). ``values(counts)`` is the estimator's row of a counter
    vector."""
    keys, counts, sizes_n, chosen, intervals = _draw(units, spec.fraction, rng)
    if spec.fraction < 1 and sum(units.cost(u) for us in chosen for u in us) \
            >= units.layer_cost():
        return None
    pre = units.preloads()
    estimates = [stratum_estimate(np.array([values(pre)], dtype=np.int64),
                                  np.ones(1, dtype=np.int64), 1)]
    ok, simulated, sampled, run_work, reported = True, 0, 0, 0, 0
    singletons = []
    n_total = sum(counts)
    for key, count, n, sizes, us in zip(keys, counts, sizes_n, intervals, chosen):
        rows = []
        for u in us:
            c, out, expect = units.run(u)
            ok &= bool(np.array_equal(out, expect))
            rows.append(values(c))
            simulated += 1
            sampled += units.elements(u)
            run_work += units.cost(u)
            if progress is not None:
                step = total_folds * simulated // n_total - reported
                reported += step
                progress(step)
        estimates.append(units.estimate(key, us, np.array(rows, dtype=np.int64), sizes, count))
        if n == 1 < count:
            singletons.append((estimates[-1].total, count * key[1] * key[2]))  # MACs / M or N
    if progress is not None and total_folds > reported:
        progress(total_folds - reported)
    width = len(estimates[0].total)
    est = combine(estimates + collapse(singletons, width), width)
    return (est, ok, simulated, units.fold_equivalents(sampled),
            math.ceil(run_work / units.call_cost()))
