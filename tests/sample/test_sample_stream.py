"""Sampled mode's units of mac layers on ws and is (``accelsim.sim.sample_stream``,
docs/sampling.md): chunks of an output tile's stream and runs of its K-folds, each from its
rebuilt warm state, sum with the exact preloads to the exact run's counters on random GEMMs; the
units cover every stream element once; a sample that would cost the layer runs it whole. The
preload census, the strata and the K-fold runs' edge sums against their plain definitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accelsim.config import load_arch
from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.kernels.preload import preload_stationary
from accelsim.kernels.stream_units import preload_census
from accelsim.pe import REGISTRY
from accelsim.sim import sample_stream
from accelsim.sim.layer import array_spec, simulate_layer
from accelsim.sim.sample import SampleSpec, _Frame, simulate_layer_sampled
from accelsim.sim.sample_stream import FoldUnits, StreamUnits
from accelsim.workload import Layer, lower


def random_case(tmp_path: Path, seed: int, wide: bool = False) -> tuple[object, Layer]:
    """A mac array (ws or is, 1–5 × 1–5, 2–8-bit operands, wrapping or saturating accumulator,
    sometimes just wide enough to overflow; 32 bits if ``wide``) and a random linear or grouped
    1×1 conv layer (K > rows if ``wide``)."""
    rng = np.random.default_rng(seed)
    dataflow = ("ws", "is")[seed % 2]
    R, C = (int(v) for v in rng.integers(1, 6, 2))
    xb, wb = (int(v) for v in rng.integers(2, 9, 2))
    acc = 32 if wide else int(rng.choice([xb + wb, xb + wb + 3, 32]))
    mode = ("wrap", "saturate")[int(rng.integers(0, 2))]
    path = tmp_path / f"a{seed}.yaml"
    path.write_text(f"name: t\narray: {{rows: {R}, cols: {C}, dataflow: {dataflow}, idle: hold}}"
                    f"\npe: {{kind: mac, x_bits: {xb}, w_bits: {wb}, acc_bits: {acc}, "
                    f"overflow: {mode}}}\n")
    M, K, N = (int(v) for v in rng.integers(1, 24, 3))
    K += R if wide else 0
    G = int(rng.integers(1, 3))
    xs, ws = bool(rng.integers(0, 2)), bool(rng.integers(0, 2))
    x = rng.integers(-(1 << (xb - 1)) if xs else 0, (1 << (xb - 1)) if xs else 1 << xb,
                     (M, K * G))
    w = rng.integers(-(1 << (wb - 1)) if ws else 0, (1 << (wb - 1)) if ws else 1 << wb,
                     (N * G, K))
    if G == 1:
        layer = Layer("l", "linear", x, w, None, xb, wb, xs, ws)
    else:
        layer = Layer("l", "conv2d", x.T.reshape(1, K * G, 1, M), w.reshape(N * G, K, 1, 1),
                      None, xb, wb, xs, ws, groups=G)
    return load_arch(path), layer


def ws_4x4(tmp_path: Path, acc_bits: int) -> object:
    """A 4×4 ws mac array, 8-bit operands, ``acc_bits`` accumulator, idle hold."""
    path = tmp_path / f"ws{acc_bits}.yaml"
    path.write_text("name: t\narray: {rows: 4, cols: 4, dataflow: ws, idle: hold}\n"
                    f"pe: {{kind: mac, x_bits: 8, w_bits: 8, acc_bits: {acc_bits}}}\n")
    return load_arch(path)


def force(monkeypatch: pytest.MonkeyPatch, kind: type) -> None:
    """Make every stationary mac layer use unit kind ``kind``."""
    def choose(frame, step, x_bits, w_bits, acc_bits, fraction):
        units = kind(frame, step, x_bits, w_bits, acc_bits)
        assert not isinstance(units, FoldUnits) or units.applies()
        return units

    monkeypatch.setattr(sample_stream, "choose_units", choose)


@pytest.mark.parametrize("call", [0, 2])
@pytest.mark.parametrize("seed", range(16))
def test_stream_units_sum_to_the_exact_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           seed: int, call: int) -> None:
    """Every chunk simulated from its rebuilt warm state (``--sample 1``), plus the preloads:
    the exact run's toggles per class, overflows and output check, bit for bit, with edge
    tiles in both array dimensions, groups and overflowing accumulators."""
    monkeypatch.setattr(sample_stream, "CALL_ELEMENTS", call)  # chunks of 1 or 4 elements
    force(monkeypatch, StreamUnits)
    arch, layer = random_case(tmp_path, seed)
    exact = simulate_layer(arch, layer)
    sampled = simulate_layer_sampled(arch, layer, SampleSpec(1.0, seed))
    assert sampled.sample.unit == "chunk"
    assert sampled.sample.units_simulated == sampled.sample.units_total
    assert sampled.result.toggles == exact.result.toggles
    assert sampled.result.overflows == exact.result.overflows
    assert sampled.check == exact.check
    assert not np.any(sampled.sample.estimate.half_width())


@pytest.mark.parametrize("call", [0, 9, 40])
@pytest.mark.parametrize("seed", range(16))
def test_fold_units_sum_to_the_exact_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         seed: int, call: int) -> None:
    """Every run of K-folds simulated from its rebuilt warm state and the GEMM's partial sums
    (``--sample 1``), plus the preloads: the exact run's counters, bit for bit, with runs of 1
    to 4 K-folds (the call cost sets their length)."""
    monkeypatch.setattr(sample_stream, "CALL_ELEMENTS", call)
    force(monkeypatch, FoldUnits)
    arch, layer = random_case(tmp_path, seed, wide=True)
    exact = simulate_layer(arch, layer)
    sampled = simulate_layer_sampled(arch, layer, SampleSpec(1.0, seed))
    assert sampled.sample.unit == "kfolds"
    assert sampled.sample.units_simulated == sampled.sample.units_total
    assert sampled.result.toggles == exact.result.toggles
    assert sampled.result.overflows == exact.result.overflows == 0
    assert sampled.check == exact.check == "exact"


def test_fold_units_refuse_a_layer_that_could_overflow(tmp_path: Path) -> None:
    """An accumulator as wide as the product (8 + 8 bits) can overflow over K = 12: K-fold runs
    do not apply (the GEMM's partial sums would not be the edge's); one K-fold never does."""
    arch = ws_4x4(tmp_path, 16)
    rng = np.random.default_rng(1)
    layer = Layer("l", "linear", rng.integers(0, 256, (9, 12)), rng.integers(-128, 128, (8, 12)),
                  None, 8, 8, False, True)
    frame = _Frame(lower(layer), DATAFLOWS["ws"], 4, 4)
    step = REGISTRY["mac"].step_kind(array_spec(arch, layer))
    assert not FoldUnits(frame, step, 8, 8, 16).applies()
    assert FoldUnits(frame, step, 8, 8, 32).applies()
    assert not FoldUnits(_Frame(lower(layer), DATAFLOWS["ws"], 12, 4), step, 8, 8, 32).applies()


@pytest.mark.parametrize("dataflow", ["ws", "is"])
def test_units_cover_every_stream_element_once(tmp_path: Path, dataflow: str) -> None:
    """The chunks of every output tile cut its stream without gap or overlap; their strata
    separate the layer's first chunk, the other first chunks and the rest."""
    arch, layer = random_case(tmp_path, 3)
    low = lower(layer)
    frame = _Frame(low, DATAFLOWS[dataflow], 3, 2)
    step = REGISTRY["mac"].step_kind(array_spec(arch, layer))
    for units, end in ((StreamUnits(frame, step, 8, 8, 32), frame.T),
                       (FoldUnits(frame, step, 8, 8, 32), frame.nr)):
        assert units.bounds[0] == 0 and units.bounds[-1] == end
        assert all(a < b for a, b in zip(units.bounds, units.bounds[1:]))
        all_units = units.units()
        assert sum(units.elements(u) for u in all_units) == \
            low.groups * frame.nc * frame.nr * frame.T
        starts = [units.shape(u)[0] for u in all_units]
        assert starts.count(0) == 1 and starts[0] == 0
        assert starts.count(1) == low.groups * frame.nc - 1


def test_a_sample_dearer_than_the_layer_runs_it_whole(tmp_path: Path) -> None:
    """A short stream (few chunks) at --sample 0.5 costs more than the layer: it runs once,
    whole, exact; a long one at 0.1 is sampled, its intervals around the exact totals."""
    arch = ws_4x4(tmp_path, 32)
    rng = np.random.default_rng(2)
    short = Layer("s", "linear", rng.integers(0, 256, (9, 12)), rng.integers(-128, 128, (8, 12)),
                  None, 8, 8, False, True)
    whole = simulate_layer_sampled(arch, short, SampleSpec(0.5, 0))
    exact = simulate_layer(arch, short)
    assert whole.result.toggles == exact.result.toggles
    assert whole.sample.units_simulated == whole.sample.units_total
    assert whole.sample.folds_run == whole.sample.folds_total
    long = Layer("l", "linear", rng.integers(0, 256, (2000, 12)),
                 rng.integers(-128, 128, (8, 12)), None, 8, 8, False, True)
    sampled = simulate_layer_sampled(arch, long, SampleSpec(0.1, 0))
    exact = simulate_layer(arch, long)
    info = sampled.sample
    assert info.units_simulated < info.units_total and info.folds_run < info.folds_total
    for i, c in enumerate(info.variables[:len(exact.result.toggles)]):
        half = info.estimate.half_width()[i]
        assert abs(sampled.result.toggles[c] - exact.result.toggles[c]) <= half + 1, c
    assert sampled.check == "exact"


@pytest.mark.parametrize("seed", range(8))
def test_preload_census_counts_every_folds_preload(seed: int) -> None:
    """``preload_census`` counts what ``preload_stationary`` (untraced, idle hold) counts over
    every fold of a group in the fixed order, ragged edges and a transposed operand included,
    and leaves the same register patterns for the next group."""
    rng = np.random.default_rng(seed)
    R, C, bits = (int(v) for v in rng.integers(1, 7, 3))
    regs = [np.zeros((R, C), dtype=np.int64) for _ in range(2)]
    for _ in range(2):  # two groups: the registers carry over
        rdim, cdim = (int(v) for v in rng.integers(1, 20, 2))
        S = rng.integers(-(1 << bits), 1 << bits, (rdim, cdim) if seed % 2 else (cdim, rdim))
        S = S if seed % 2 else S.T
        counts = np.zeros(3, dtype=np.int64)
        for c0 in range(0, cdim, C):
            for r0 in range(0, rdim, R):
                preload_stationary(S[r0:r0 + R, c0:c0 + C], R, C, (1 << bits) - 1, 1, False,
                                   regs[0], counts, np.zeros((0, 1), dtype=np.int64))
        assert preload_census(S, R, C, bits, regs[1]) == counts[1]
        assert np.array_equal(regs[0], regs[1])


@pytest.mark.parametrize("seed", range(8))
def test_strata_group_units_by_shape(tmp_path: Path, seed: int) -> None:
    """The strata hold each unit once, in execution order within a stratum, keyed by where its
    warm state comes from (0: the layer's first unit, 1: a tile's first, 2: the others), its
    extent (chunk length; K-fold run's rows-dim extent) and its active columns."""
    arch, layer = random_case(tmp_path, seed, wide=True)
    low = lower(layer)
    frame = _Frame(low, DATAFLOWS[arch.array.dataflow], arch.array.rows, arch.array.cols)
    step = REGISTRY["mac"].step_kind(array_spec(arch, layer))
    for units in (StreamUnits(frame, step, 8, 8, 32), FoldUnits(frame, step, 8, 8, 32)):
        b, R = units.bounds, frame.R
        expect: dict[tuple[int, int, int], list[int]] = {}
        for i, (g, ct, j) in enumerate(units.units()):
            extent = b[j + 1] - b[j] if isinstance(units, StreamUnits) else \
                min(b[j + 1] * R, frame.rdim) - b[j] * R
            key = (0 if g == ct == j == 0 else 1 if j == 0 else 2, extent,
                   min(frame.C, frame.cdim - ct * frame.C))
            expect.setdefault(key, []).append(i)
        strata = units.strata()[1]
        assert {k: list(v) for k, v in strata.items()} == expect
        assert all(isinstance(v, int) for k in strata for v in k)


@pytest.mark.parametrize("seed", range(6))
def test_fold_unit_sums_are_exact(tmp_path: Path, seed: int) -> None:
    """The column edge's sums of K-folds (from either side, and at the last element alone)
    equal the int64 GEMM's."""
    arch, layer = random_case(tmp_path, seed, wide=True)
    low = lower(layer)
    frame = _Frame(low, DATAFLOWS[arch.array.dataflow], arch.array.rows, arch.array.cols)
    units = FoldUnits(frame, REGISTRY["mac"].step_kind(array_spec(arch, layer)), 8, 8, 32)
    for g in range(low.groups):
        H, S = units.operands(g)
        for ct in range(frame.nc):
            cols = slice(ct * frame.C, min((ct + 1) * frame.C, frame.cdim))
            for f in range(frame.nr + 1):
                k = min(f * frame.R, frame.rdim)
                expect = H[:k].T @ S[:k, cols]
                for shorter in (False, True):
                    assert np.array_equal(units._prefix(g, ct, f, 0, shorter), expect)
                    assert np.array_equal(units._prefix(g, ct, f, frame.T - 1, shorter),
                                          expect[frame.T - 1:])
