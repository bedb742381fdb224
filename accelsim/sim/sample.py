"""Sampled simulation of one layer (``accelsim run --sample FRACTION``, docs/sampling.md).

A layer's folds are grouped into *units*: row tiles of a column on output-stationary dataflows;
one output tile (all the K-folds that accumulate into the same outputs) on the stationary family,
whose column edge adds each K-fold's partial sums to the earlier ones; a mac array's units are
chunks of a stream instead (:func:`_stream_units`). A systematic random sample of units per
stratum (units of equal shape) is simulated in full detail by the PE kind's own kernels, each from
its exact warm state, and the layer's toggle totals are estimated with 95 % intervals
(:mod:`accelsim.sim.estimate`). Cycles, folds and MACs stay exact; the outputs are the exact
GEMM, and every simulated unit's outputs are checked against it.

The warm state. With ``idle: hold`` a PE (a column edge) that a fold leaves idle keeps its state,
and an active PE's state at the end of a fold depends on that fold's operands only; its toggles
depend on its own state and operands, never on other PEs'. So the state that matters for a unit
is, per PE of the unit's region, the one its last active fold left, and it is rebuilt by a
*context* that runs, for every PE (r, c) of the region, the operands of that fold — the rows and
columns of the layer's GEMM that last met in it. The unit's toggles are those of the sub-GEMM
[context, unit] minus those of the context alone (the same folds from the same reset state).
"""

from __future__ import annotations

import dataclasses
import types
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from accelsim.config import Arch
from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.dataflows import Dataflow
from accelsim.errors import ConfigError, WorkloadError
from accelsim.pe import REGISTRY
from accelsim.sim.estimate import (Estimate, collapse, combine, sample_sizes, stratum_estimate,
                                   systematic)
from accelsim.types import DenseGemm, GemmOperands, GemmResult, LayerSim
from accelsim.workload import Layer, lower
from accelsim.workload.exact import fast_gemm, magnitude

#: Variables estimated per unit after the toggle classes (docs/sampling.md).
EXTRA_VARIABLES = ("overflows", "additions", "clock_bits_extra", "energy_pj")


@dataclass(frozen=True)
class SampleSpec:
    """``--sample FRACTION`` (of each stratum's units, 0 < fraction <= 1) and ``--sample-seed``."""

    fraction: float
    seed: int = 0


@dataclass(frozen=True)
class SampleInfo:
    """What a sampled layer ran and estimated: ``unit`` (``fold`` | ``tile`` | ``chunk`` |
    ``kfolds`` | ``kchunk``); unit and fold counts (``folds_run`` counts every fold the kernels
    ran, warm-up contexts included; fold equivalents for ``chunk``, ``kfolds`` and ``kchunk``);
    ``variables`` the estimated variables (toggle classes, then :data:`EXTRA_VARIABLES`) and
    their ``estimate``."""

    fraction: float
    seed: int
    unit: str
    units_total: int
    units_simulated: int
    folds_total: int
    folds_sampled: int
    folds_run: int
    variables: tuple[str, ...]
    estimate: Estimate


@dataclass(frozen=True)
class _Part:
    """One group of a sub-GEMM: the layer's group ``g``, the indices of the rows-or-cols
    dimension that are selected (None: all)."""

    g: int
    m: np.ndarray | None
    n: np.ndarray | None


#: (PE kind, dataflow) pairs whose units' warm state the context does not rebuild exactly (the
#: lsqplus row-sum and rescale units on os; docs/sampling.md): sampled mode refuses them.
UNSUPPORTED = (("lsqplus", "os"),)


def check_sampling(arch: Arch, file: str) -> None:
    """Refuse an architecture sampled mode cannot run exactly: ``idle: zero`` (a fold's toggles
    then depend on PEs outside it), a modelled memory with a mapping other than the fixed one
    (the kernels would run its fold order and preloads) and the pairs in :data:`UNSUPPORTED`
    (docs/sampling.md)."""
    if arch.array.idle != "hold":
        raise ConfigError(file, "array.idle", "hold for --sample (with idle: zero a fold's "
                          "toggles depend on PEs outside it; run without --sample)",
                          arch.array.idle)
    if arch.buffers is not None and (arch.mapping.policy != "fixed" or arch.mapping.layers):
        raise ConfigError(file, "mapping.policy", "fixed, without per-layer overrides, for "
                          "--sample (sampled units replay the fixed loop order; another "
                          "mapping reorders folds and repeats preloads; run without --sample)",
                          arch.mapping.policy)
    if (arch.pe.kind, arch.array.dataflow) in UNSUPPORTED:
        raise ConfigError(file, "array.dataflow", f"ws or is for --sample with pe.kind "
                          f"{arch.pe.kind} (its os row-sum and rescale units are not sampled "
                          f"exactly; run without --sample)", arch.array.dataflow)


def simulate_layer_sampled(arch: Arch, layer: Layer, spec: SampleSpec,
                           progress: Callable[[int], None] | None = None,
                           file: str = "") -> LayerSim:
    """Simulate a sample of ``layer``'s units and estimate its totals (module doc); ``file``
    names the workload in errors."""
    from accelsim.sim.layer import array_spec

    _check_zero_points(layer, file)
    low = lower(layer)
    kind = REGISTRY[arch.pe.kind]
    aspec = array_spec(arch, layer)
    df = DATAFLOWS[arch.array.dataflow]
    frame = _Frame(low, df, arch.array.rows, arch.array.cols)
    ref_layer, source, ref_gemm = _references(kind, low, layer, frame)
    classes = kind.classes(arch.array.dataflow)
    weights = _energy_weights(arch, classes)
    rng = np.random.default_rng([spec.seed, zlib.crc32(layer.name.encode())])
    total_folds = df.count(low.groups, low.M, low.K, low.N, frame.R, frame.C)
    stream = _stream_units(frame, kind, aspec, spec.fraction)
    if stream is not None:
        return _sample_streams(arch, layer, spec, frame, kind, aspec, low, classes, weights,
                               ref_layer, source, ref_gemm, progress, rng, total_folds, stream)
    units = frame.units()
    strata: dict[tuple[int, int, int], list[int]] = {}
    for i, u in enumerate(units):
        strata.setdefault(frame.shape(u), []).append(i)
    estimates, ok, sampled, folds_sampled, folds_run = [], True, 0, 0, 0
    reported = 0
    keys = sorted(strata)
    counts = [len(strata[k]) for k in keys]
    sizes_n = sample_sizes(counts, spec.fraction)
    runs = 1 if kind.step_kind is not None else 2  # the context run once (discarded) or twice
    if spec.fraction < 1 and _sample_cost(frame, keys, sizes_n, runs) >= total_folds:
        return _census(arch, layer, spec, frame, kind, aspec, low, classes, weights, ref_layer,
                       source, ref_gemm, progress, len(units), total_folds)
    singletons = []
    for key, count, n in zip(keys, counts, sizes_n):
        members = strata[key]
        picks, sizes = systematic(count, n, rng)
        rows = []
        for j in picks:
            unit = units[members[int(j)]]
            res, unit_ok, run = _simulate_unit(frame, unit, kind, aspec, arch, layer, ref_gemm)
            ok &= unit_ok
            rows.append(_values(res, classes, weights))
            sampled += 1
            folds_sampled += frame.unit_folds(unit)
            folds_run += run
            if progress is not None:
                step = total_folds * sampled // len(units) - reported
                reported += step
                progress(step)
        estimates.append(stratum_estimate(np.array(rows, dtype=np.int64), sizes, count))
        if n == 1 < count:
            singletons.append((estimates[-1].total, count * key[1] * key[2]))  # MACs / T
    if progress is not None and total_folds > reported:
        progress(total_folds - reported)
    variables = (*classes, *EXTRA_VARIABLES)
    est = combine(estimates + collapse(singletons, len(variables)), len(variables))
    result = _result(frame, kind, aspec, arch, low, classes, est, ref_gemm)
    info = SampleInfo(spec.fraction, spec.seed, "tile" if df.preload else "fold", len(units),
                      sampled, total_folds, folds_sampled, folds_run, variables, est)
    return _layer_sim(layer, low, result, ref_layer, source, ok, info)


def _stream_units(frame: _Frame, kind: Any, aspec: Any, fraction: float) -> Any:
    """The units a mac layer is sampled in, one kernel call each: on the stationary family
    chunks of its output tiles' streams or runs of their K-folds
    (:mod:`accelsim.sim.sample_stream`), on output-stationary dataflows chunks of each fold's K
    stream (:mod:`accelsim.sim.sample_os`); None for the fold and tile units (other kinds, or
    where those do not apply)."""
    if kind.step_kind is None:
        return None
    step = kind.step_kind(aspec)
    if frame.df.preload:
        from accelsim.sim.sample_stream import choose_units

        return choose_units(frame, step, aspec.x_bits, aspec.w_bits, aspec.acc_bits, fraction)
    from accelsim.sim.sample_os import KChunks

    return KChunks(frame, step, aspec.acc_bits) if KChunks.applies(frame, step) else None


def _sample_streams(arch: Arch, layer: Layer, spec: SampleSpec, frame: _Frame, kind: Any,
                    aspec: Any, low: Any, classes: tuple[str, ...],
                    weights: tuple[np.ndarray, float], ref_layer: np.ndarray, source: str,
                    ref_gemm: np.ndarray, progress: Callable[[int], None] | None,
                    rng: np.random.Generator, total_folds: int, units: Any) -> LayerSim:
    """A mac layer sampled in ``units`` (:func:`_stream_units`), or run whole when that would
    not save."""
    from accelsim.sim.sample_stream import simulate_units

    def values(counts: np.ndarray) -> list[int]:
        return _values(_step_counters(kind, classes, counts), classes, weights)

    done = simulate_units(units, spec, rng, values, progress, total_folds)
    if done is None:
        return _census(arch, layer, spec, frame, kind, aspec, low, classes, weights, ref_layer,
                       source, ref_gemm, progress, len(units.strata()[0]), total_folds, units.unit)
    est, ok, simulated, folds_sampled, folds_run = done
    result = _result(frame, kind, aspec, arch, low, classes, est, ref_gemm)
    info = SampleInfo(spec.fraction, spec.seed, units.unit, len(units.strata()[0]), simulated,
                      total_folds, folds_sampled, folds_run, (*classes, *EXTRA_VARIABLES), est)
    return _layer_sim(layer, low, result, ref_layer, source, ok, info)


def _sample_cost(frame: _Frame, keys: list[tuple[int, int, int]], sizes: list[int],
                 runs: int = 2) -> int:
    """Folds the kernels would run for a sample of ``sizes`` units of the strata ``keys``: each
    unit's folds plus, except for the layer's first unit, its context run ``runs`` times (one row
    tile on output-stationary dataflows, a whole output tile on the stationary family)."""
    context = frame.nr if frame.df.preload else 1
    cost = 0
    for (start, rows, _), n in zip(keys, sizes):
        folds = frame.nr if frame.df.preload else -(-rows // frame.R)
        cost += n * (folds + (runs * context if start else 0))
    return cost


def _census(arch: Arch, layer: Layer, spec: SampleSpec, frame: _Frame, kind: Any, aspec: Any,
            low: Any, classes: tuple[str, ...], weights: tuple[np.ndarray, float],
            ref_layer: np.ndarray, source: str, ref_gemm: np.ndarray,
            progress: Callable[[int], None] | None, units: int, total_folds: int,
            unit: str | None = None) -> LayerSim:
    """The layer simulated whole, once, in the fixed order: what a sample that would run at least
    as many folds costs (docs/sampling.md). Its totals are exact (intervals of zero width)."""
    res = kind.simulate(low, aspec, progress=progress, params=arch.pe.params, layer=layer)
    row = _values({"toggles": res.toggles, "overflows": res.overflows,
                   "additions": res.additions or 0, "clock_bits_extra": res.clock_bits_extra or 0},
                  classes, weights)
    est = stratum_estimate(np.array([row], dtype=np.int64), np.ones(1, dtype=np.int64), 1)
    result = dataclasses.replace(res, y=ref_gemm, trace=None)
    unit = unit or ("tile" if frame.df.preload else "fold")
    info = SampleInfo(spec.fraction, spec.seed, unit, units, units, total_folds, total_folds,
                      res.folds, (*classes, *EXTRA_VARIABLES), est)
    return _layer_sim(layer, low, result, ref_layer, source,
                      bool(np.array_equal(res.y, ref_gemm)), info)


def _layer_sim(layer: Layer, low: Any, result: GemmResult, ref_layer: np.ndarray, source: str,
               units_ok: bool, info: SampleInfo) -> LayerSim:
    """A sampled layer's LayerSim: exact GEMM outputs, checked against the workload's ``y`` when
    it has one (``units_ok``: every simulated unit matched them)."""
    check = "exact" if units_ok and (layer.y is None or np.array_equal(ref_layer, layer.y)) \
        else "mismatch"
    reference = np.asarray(layer.y, dtype=np.int64) if layer.y is not None else ref_layer
    return LayerSim(name=layer.name, op=layer.op, groups=low.groups, M=low.M, K=low.K, N=low.N,
                    result=result, y=ref_layer, reference=reference,
                    reference_source="workload" if layer.y is not None else source,
                    check=check, sample=info)


def _check_zero_points(layer: Layer, file: str) -> None:
    """Refuse per-channel weight zero points that are zero in some channels and not in others:
    whether the row-sum unit runs is decided per GEMM, so a unit whose channels all have zero
    points would be simulated without it (docs/sampling.md)."""
    zw = layer.quant.get("w_zero_point")
    if zw is None or np.ndim(zw) == 0:
        return
    zero = np.asarray(zw) == 0
    if zero.any() and not zero.all():
        raise WorkloadError(file, f"layers[{layer.name!r}].quant.w_zero_point",
                            "weight zero points all zero or all nonzero for --sample (run "
                            "without --sample)", f"{int(zero.sum())} of {zero.size} zero")


# ------------------------------------------------------------------------------ the layer frame


class _Operands:
    """One group's GEMM operands, from the lowered layer's narrow copies (x^T [K, M], w^T
    [N, K] in their stored dtypes): the copies in each dtype asked for and the exact product,
    made on first use."""

    def __init__(self, xt: np.ndarray, wt: np.ndarray) -> None:
        self.xt, self.wt = xt, wt
        self.magnitudes = magnitude(xt), magnitude(wt)
        self._typed: dict[type, tuple[np.ndarray, np.ndarray]] = {}
        self._product: np.ndarray | None = None

    def typed(self, dtype: type) -> tuple[np.ndarray, np.ndarray]:
        """(x [M, K], w [K, N]) in ``dtype``: transposed views of copies of the narrow ones
        (kept)."""
        if dtype not in self._typed:
            self._typed[dtype] = self.xt.astype(dtype).T, self.wt.astype(dtype).T
        return self._typed[dtype]

    def product(self) -> np.ndarray:
        """The exact int64 ``x @ w`` (``accelsim.workload.exact.fast_gemm``)."""
        if self._product is None:
            self._product = fast_gemm(self.xt.T, self.wt.T, self.magnitudes, self.typed)
        return self._product


class _Frame:
    """A lowered layer's GEMM on an R × C array: its units, their shapes, and the sub-GEMMs
    that simulate them (operand blocks fetched once per group)."""

    def __init__(self, ops: GemmOperands, df: Dataflow, rows: int, cols: int) -> None:
        self.ops, self.df, self.R, self.C = ops, df, rows, cols
        self.rdim, self.cdim, self.T = df.dims(ops.M, ops.K, ops.N)
        self.nr, self.nc = -(-self.rdim // rows), -(-self.cdim // cols)
        self._groups: dict[int, _Operands] = {}

    def _group(self, g: int) -> _Operands:
        """Group g's operands; the two latest groups are kept (a context's and its unit's)."""
        if g not in self._groups:
            if len(self._groups) >= 2:
                del self._groups[next(iter(self._groups))]
            self._groups[g] = _Operands(self.ops.x_columns(g), self.ops.w_rows(g))
        return self._groups[g]

    def operands(self, g: int, dtype: type | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Group g's (x [M, K], w [K, N]): in their stored dtypes (views), or copies in
        ``dtype`` (int64, or a float dtype: their values are integers of at most 16 bits, exact
        in it). Both are transposed views of C-ordered arrays (x^T [K, M], w^T [N, K])."""
        grp = self._group(g)
        return (grp.xt.T, grp.wt.T) if dtype is None else grp.typed(dtype)

    def x(self, g: int) -> np.ndarray:
        """Group g's x, int64 [M, K] (:meth:`operands`)."""
        return self.operands(g, np.int64)[0]

    def w(self, g: int) -> np.ndarray:
        """Group g's w, int64 [K, N] (:meth:`operands`)."""
        return self.operands(g, np.int64)[1]

    def magnitudes(self, g: int) -> tuple[int, int]:
        """The largest ``|value|`` of :meth:`x` and of :meth:`w`."""
        return self._group(g).magnitudes

    def sum_bound(self) -> int:
        """A bound on ``|partial sum|`` of the layer's GEMM, every group's
        ``max|x| · max|w| · K``: no accumulator of more bits than it needs can overflow."""
        return max(a * b for a, b in map(self.magnitudes, range(self.ops.groups))) * self.ops.K

    def product(self, g: int) -> np.ndarray:
        """The exact int64 GEMM ``x(g) @ w(g)`` (``fast_gemm``, from the kept float copies)."""
        return self._group(g).product()

    def block_product(self, g: int, pick: Callable[[np.ndarray, np.ndarray],
                                                    tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """The exact int64 ``a @ b`` of the blocks ``(a, b) = pick(x, w)`` of group g's
        operands (``fast_gemm`` on the same blocks of the kept float copies)."""
        return fast_gemm(*pick(*self.operands(g)), self.magnitudes(g),
                         lambda dtype: pick(*self.operands(g, dtype)))

    def tile_product(self, g: int) -> np.ndarray:
        """:meth:`product` as the stationary family's output tiles hold it: [T, cols-dim]."""
        return self.product(g) if self.df.time_dim == "M" else self.product(g).T

    def units(self) -> list[tuple[int, int, int, int]]:
        """Units in execution order as (group, column tile, first row tile, end row tile); a
        whole tile (stationary family) is (g, ct, -1, -1). Output-stationary: row tile 0 of each
        column alone, then chunks of :meth:`chunk` row tiles, the edge row tile alone."""
        if self.df.preload:
            return [(g, ct, -1, -1) for g in range(self.ops.groups) for ct in range(self.nc)]
        full = self.rdim // self.R  # row tiles of R rows
        c = self.chunk()
        starts = [(0, 1)] + [(r, min(r + c, full)) for r in range(1, full, c)]
        if full < self.nr:  # the edge row tile (or the only one)
            starts = [(0, 1)] if full == 0 else starts + [(full, self.nr)]
        return [(g, ct, r0, r1) for g in range(self.ops.groups) for ct in range(self.nc)
                for r0, r1 in starts]

    def chunk(self) -> int:
        """Row tiles per output-stationary unit: up to 4 (each unit's warm-up fold then costs a
        quarter of it), as long as a column keeps at least 8 units."""
        return max(1, min(4, (self.rdim // self.R - 1) // 8))

    def _span(self, tile: int, size: int, extent: int, end: int | None = None) -> np.ndarray:
        return np.arange(tile * size, min((tile + 1 if end is None else end) * size, extent))

    def shape(self, unit: tuple[int, int, int, int]) -> tuple[int, int, int]:
        """The stratum of a unit: where its warm state comes from (0: reset, the layer's first
        unit; 1: the previous column tile, output-stationary row tile 0; 2: the previous unit),
        then its active (rows, cols) (a whole tile: all its rows). Units that start a column
        differ systematically from the others (e.g. ``w_reg`` toggles only where the weight
        columns change), so they are estimated apart."""
        g, ct, r0, r1 = unit
        rows = self.rdim if r0 < 0 else len(self._span(r0, self.R, self.rdim, r1))
        start = 0 if g == ct == 0 and r0 <= 0 else 1 if r0 == 0 else 2
        return start, rows, len(self._span(ct, self.C, self.cdim))

    def unit_folds(self, unit: tuple[int, int, int, int]) -> int:
        return self.nr if unit[2] < 0 else unit[3] - unit[2]

    def _previous_column(self, g: int, ct: int) -> tuple[int, int] | None:
        if ct > 0:
            return g, ct - 1
        return (g - 1, self.nc - 1) if g > 0 else None

    def _context_cols(self, prev: tuple[int, int], width: int) -> np.ndarray:
        """Columns each PE column c < ``width`` last worked on before column tile ``prev``
        ended: ``prev``'s own, or the tile before it where ``prev`` is narrower."""
        g, ct = prev
        own = self._span(ct, self.C, self.cdim)
        c = np.arange(width)
        return np.where(c < len(own), ct * self.C + c, (ct - 1) * self.C + c)

    def _context_rows(self, count: int) -> np.ndarray:
        """Rows each PE row r (of ``count``) last worked on in a finished column tile: the
        last row tile's, or the one before it where the last is shorter (output-stationary)."""
        re = self.rdim - (self.nr - 1) * self.R
        r = np.arange(count) % self.R
        return np.where(r < re, (self.nr - 1) * self.R + r, (self.nr - 2) * self.R + r)

    def plan(self, unit: tuple[int, int, int, int]
             ) -> tuple[list[_Part], list[_Part], int, int]:
        """(context parts, unit parts, rows of the context in the unit's group, group index of
        the unit) of a unit's sub-GEMM: [context, unit] shares one group when the context is
        the previous row tile of the same column, else the context is a group of its own."""
        g, ct, r0, r1 = unit
        cols = self._span(ct, self.C, self.cdim)
        if r0 >= 1:  # output-stationary: the previous row tile (full) of the same column
            rows = self._span(r0, self.R, self.rdim, r1)
            prev = self._span(r0 - 1, self.R, self.rdim)
            return [_Part(g, prev, cols)], [_Part(g, np.concatenate([prev, rows]), cols)], \
                len(prev), 0
        rows = None if r0 < 0 else self._span(0, self.R, self.rdim)
        unit_part = _Part(g, rows, cols)
        prev_col = self._previous_column(g, ct)
        if prev_col is None:
            return [], [unit_part], 0, 0
        ctx_rows = None if r0 < 0 else self._context_rows(len(rows))
        ctx = _Part(prev_col[0], ctx_rows, self._context_cols(prev_col, len(cols)))
        return [ctx], [ctx, unit_part], 0, 1

    def gemm(self, parts: list[_Part]) -> DenseGemm:
        """The sub-GEMM of ``parts`` (one group each): rows-dim and cols-dim selections mapped
        onto M / N by the dataflow (K, the reduction, is always whole)."""
        xs, ws = [], []
        for p in parts:
            m_sel, n_sel = self._mn(p)
            x, w = self.x(p.g), self.w(p.g)
            xs.append(x if m_sel is None else x[m_sel])
            ws.append(w if n_sel is None else w[:, n_sel])
        return DenseGemm(np.ascontiguousarray(np.stack(xs)), np.ascontiguousarray(np.stack(ws)))

    def _mn(self, p: _Part) -> tuple[np.ndarray | None, np.ndarray | None]:
        sel = {self.df.rows_dim: p.m, self.df.cols_dim: p.n}
        return sel.get("M"), sel.get("N")

    def folds(self, p: _Part) -> int:
        """Folds of the one-group sub-GEMM of part ``p``."""
        m_sel, n_sel = self._mn(p)
        M = self.ops.M if m_sel is None else len(m_sel)
        N = self.ops.N if n_sel is None else len(n_sel)
        return self.df.count(1, M, self.ops.K, N, self.R, self.C)

    def channels(self, parts: list[_Part]) -> np.ndarray:
        """Output channel o = g·N + n of every column of the sub-GEMM, per group (int64
        [G', N'])."""
        out = []
        for p in parts:
            _, n_sel = self._mn(p)
            n = np.arange(self.ops.N) if n_sel is None else n_sel
            out.append(p.g * self.ops.N + n)
        return np.stack(out)


# ------------------------------------------------------------------------------------ one unit


def _simulate_unit(frame: _Frame, unit: tuple[int, int, int, int], kind: Any, aspec: Any,
                   arch: Arch, layer: Layer, ref_gemm: np.ndarray
                   ) -> tuple[dict[str, Any], bool, int]:
    """Simulate one unit from its warm state: (its exact counters, whether its outputs equal
    the reference, folds the kernels ran): the counters of the sub-GEMM [context, unit] minus
    those of the context run alone (the same folds from the same reset state). Both run
    untraced: a per-cycle trace costs more than the second run of the context."""
    ctx, parts, skip_rows, gi = frame.plan(unit)
    if kind.step_kind is not None:
        full, out, run = _run_discarding(frame, ctx, parts, kind, aspec)
    else:
        full = _run(frame, parts, kind, aspec, arch, layer)
        base = _run(frame, ctx, kind, aspec, arch, layer) if ctx else None
        out = {"toggles": {c: full.toggles[c] - (base.toggles[c] if base else 0)
                           for c in full.toggles}}
        out.update({k: int(getattr(full, k) or 0) - (int(getattr(base, k) or 0) if base else 0)
                    for k in ("overflows", "additions", "clock_bits_extra")})
        run = full.folds + (base.folds if base else 0)
    p = parts[gi]
    m_sel, n_sel = frame._mn(p)
    y = full.y[gi]
    if frame.df.rows_dim == "M":  # output-stationary: the unit's rows follow the context's
        y = y[skip_rows:]
        m_sel = m_sel[skip_rows:]
    expect = ref_gemm[p.g]
    expect = expect if m_sel is None else expect[m_sel]
    expect = expect if n_sel is None else expect[:, n_sel]
    return out, bool(np.array_equal(y, expect)), run


def _run_discarding(frame: _Frame, ctx: list[_Part], parts: list[_Part], kind: Any,
                    aspec: Any) -> tuple[Any, dict[str, Any], int]:
    """[context, unit] run once through the fold loop of a kind with a ``step_kind``, the
    context's folds' counters discarded: (the run, the unit's counters, folds run)."""
    from accelsim.kernels.run import run_gemm

    run = run_gemm(kind.step_kind(aspec), frame.gemm(parts), aspec,
                   discard=sum(frame.folds(p) for p in ctx))
    return run, _step_counters(kind, kind.classes(aspec.dataflow), run.counts), run.folds


def _step_counters(kind: Any, classes: tuple[str, ...], counts: np.ndarray) -> dict[str, Any]:
    """The unit counters of a kind with a ``step_kind`` (its counters are its toggle classes
    and ``overflows``, ``PeKind.step_kind``) from its counter vector ``counts``."""
    return {"toggles": {c: int(counts[i]) for i, c in enumerate(classes)},
            "overflows": int(counts[kind.layout["overflows"]]), "additions": 0,
            "clock_bits_extra": 0}


def _run(frame: _Frame, parts: list[_Part], kind: Any, aspec: Any, arch: Arch,
         layer: Layer) -> GemmResult:
    """The PE kind's exact simulation of a sub-GEMM (its per-channel quant data selected)."""
    sub = types.SimpleNamespace(quant=_sub_quant(layer.quant, frame, parts))
    return kind.simulate(frame.gemm(parts), aspec, params=arch.pe.params, layer=sub)


def _sub_quant(quant: dict[str, Any], frame: _Frame, parts: list[_Part]) -> dict[str, Any]:
    """A layer's quant block for a sub-GEMM: every per-output-channel array (one value per
    channel g·N + n) selected to the sub-GEMM's columns; scalars as they are."""
    channels = frame.ops.groups * frame.ops.N
    idx = frame.channels(parts).reshape(-1)
    out = {}
    for key, value in quant.items():
        arr = np.asarray(value) if isinstance(value, (np.ndarray, list)) else None
        out[key] = arr.reshape(-1)[idx] if arr is not None and arr.size == channels else value
    return out


def _values(res: dict[str, Any], classes: tuple[str, ...], weights: tuple[np.ndarray, float]
            ) -> list[int]:
    """One row of the estimator: toggles per class, then :data:`EXTRA_VARIABLES` (the dynamic
    energy in fJ, rounded to an integer so that a census sums exactly)."""
    t = [res["toggles"][c] for c in classes]
    pj, clock_pj = weights
    energy = float(np.dot(pj, t)) + clock_pj * res["clock_bits_extra"]
    return [*t, res["overflows"], res["additions"], res["clock_bits_extra"],
            int(round(energy * 1000.0))]


def _energy_weights(arch: Arch, classes: tuple[str, ...]) -> tuple[np.ndarray, float]:
    """pJ per toggle of each class and pJ per enabled register bit-cycle on ``arch``."""
    from accelsim.energy import class_toggle_pj
    from accelsim.energy.tech import load_tech

    per = class_toggle_pj(arch, classes)
    tech = load_tech(arch.energy.technology)
    return np.array([per[c][0] for c in classes]), tech.clock_pj_per_bit_cycle.value


# ----------------------------------------------------------------------------- layer results


def _references(kind: Any, low: Any, layer: Layer, frame: _Frame
                ) -> tuple[np.ndarray, str, np.ndarray]:
    """The exact outputs: layer-shaped, their source name, and GEMM-shaped [G, M, N].

    The kind's own reference when it has one (requantized outputs), mapped to GEMM shape by the
    inverse of ``to_layer_shape``; else the GEMM of the layer's operands (``_Frame.product``)."""
    if kind.reference is None:
        gemm = np.stack([frame.product(g) for g in range(low.groups)])
        return np.asarray(low.to_layer_shape(gemm)), "numpy-int64", gemm
    ref = np.asarray(kind.reference(low, layer), dtype=np.int64)
    index = np.arange(low.groups * low.M * low.N).reshape(low.groups, low.M, low.N)
    gemm = np.empty(index.size, dtype=np.int64)
    gemm[np.asarray(low.to_layer_shape(index)).reshape(-1)] = ref.reshape(-1)
    return ref, "numpy-int64", gemm.reshape(low.groups, low.M, low.N)


def _result(frame: _Frame, kind: Any, aspec: Any, arch: Arch, low: Any,
            classes: tuple[str, ...], est: Estimate, y: np.ndarray) -> GemmResult:
    """The layer's GemmResult: estimated counters (rounded) with exact folds, cycles, MACs."""
    v = {name: int(round(float(t))) for name, t in
         zip((*classes, *EXTRA_VARIABLES), est.total)}
    compute, active = _cycles(frame, kind, aspec, arch)
    counted = kind.extra_counters and "additions" in kind.extra_counters
    return GemmResult(
        y=y, toggles={c: v[c] for c in classes}, overflows=v["overflows"],
        folds=frame.df.count(low.groups, low.M, low.K, low.N, frame.R, frame.C),
        cycles_compute=compute, cycles_active=active, macs=low.groups * low.M * low.K * low.N,
        additions=v["additions"] if counted else None, clock_bits_extra=v["clock_bits_extra"])


def _cycles(frame: _Frame, kind: Any, aspec: Any, arch: Arch) -> tuple[int, int]:
    """Exact (compute, active) cycles of every fold: one cycle per step, or the kind's step
    lengths (``PeKind.fold_starts``, from each fold's operands)."""
    df, R, C, T, ops = frame.df, frame.R, frame.C, frame.T, frame.ops
    L = df.fold_cycles(R, C, T)
    starts_of = kind.fold_starts(aspec, arch.pe.params, ops) if kind.fold_starts else None
    if starts_of is None:  # per fold shape (active rows × columns) and its number of folds
        ra, na = np.unique(np.minimum(R, frame.rdim - np.arange(0, frame.rdim, R)),
                           return_counts=True)
        ca, nc = np.unique(np.minimum(C, frame.cdim - np.arange(0, frame.cdim, C)),
                           return_counts=True)
        active = sum(int(n) * int(m) * df.last_step(R, int(r), int(c), T)
                     for r, n in zip(ra, na) for c, m in zip(ca, nc))
        return ops.groups * int(na.sum() * nc.sum()) * L, ops.groups * active
    compute = active = 0
    for f in df.folds(ops.groups, ops.M, ops.K, ops.N, R, C):
        last = df.last_step(R, f.r1 - f.r0, f.c1 - f.c0, T)
        starts = starts_of(df, f, R, C, T, *df.fold_operands(ops, f))
        compute, active = compute + int(starts[L]), active + int(starts[last])
    return compute, active


def interval(info: SampleInfo, name: str, center: float | None = None) -> tuple[float, float]:
    """The 95 % interval of variable ``name`` (centred on ``center`` if given, else on the
    estimate)."""
    i = info.variables.index(name)
    h = float(info.estimate.half_width()[i])
    c = float(info.estimate.total[i]) if center is None else center
    return c - h, c + h


__all__ = ["SampleInfo", "SampleSpec", "check_sampling", "interval", "simulate_layer_sampled"]
