"""Sampled mode's chunks of K on output-stationary mac arrays (``accelsim.sim.sample_os``,
docs/sampling.md): each chunk counts exactly what the scalar reference counts for its elements,
and full sampling gives the exact run's totals, with folds of several chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accelsim.config import load_arch
from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.energy import energy_pj
from accelsim.kernels.drivers import fold_output_stationary
from accelsim.pe import REGISTRY
from accelsim.sim.layer import array_spec, simulate_layer
from accelsim.sim.sample import SampleSpec, _Frame, simulate_layer_sampled
from accelsim.sim.sample_os import KChunks
from accelsim.workload import Layer, lower


def write_arch(folder: Path, acc: int = 32, saturate: bool = False) -> Path:
    path = folder / f"os-{acc}-{saturate}.yaml"
    overflow = "saturate" if saturate else "wrap"
    path.write_text("name: t\narray: {rows: 4, cols: 3, dataflow: os}\n"
                    f"pe: {{kind: mac, x_bits: 8, w_bits: 8, acc_bits: {acc}, "
                    f"overflow: {overflow}}}\n")
    return path


def conv(groups: int = 1, seed: int = 4, x_signed: bool = False) -> Layer:
    """M = 25 rows, K = 162 (groups 1; 81 with 2), N = 7 or 8 columns: folds of three chunks of
    K (two with groups), edge folds in both array dimensions on a 4 × 3 array."""
    rng = np.random.default_rng(seed)
    out = 7 if groups == 1 else 8
    x = rng.integers(-128, 128, (1, 18, 5, 5)) if x_signed else rng.integers(0, 256, (1, 18, 5, 5))
    w = rng.integers(-128, 128, (out, 18 // groups, 3, 3))
    return Layer("c", "conv2d", x, w, None, 8, 8, x_signed, True, padding=(1, 1), groups=groups)


CASES = [  # (acc bits, saturate, x signed, groups)
    (32, False, False, 1), (32, False, False, 2), (16, False, False, 1), (40, False, True, 1),
    (20, False, True, 2), (32, True, False, 1), (32, True, True, 2)]


@pytest.mark.parametrize("acc, saturate, x_signed, groups", CASES)
def test_full_sampling_in_chunks_of_k_equals_the_exact_run(tmp_path: Path, acc: int,
                                                           saturate: bool, x_signed: bool,
                                                           groups: int) -> None:
    arch = load_arch(write_arch(tmp_path, acc, saturate))
    layer = conv(groups, x_signed=x_signed)
    exact = simulate_layer(arch, layer)
    sampled = simulate_layer_sampled(arch, layer, SampleSpec(1.0, 2))
    assert sampled.sample.unit == "kchunk"
    assert sampled.sample.units_total == sampled.sample.units_simulated > exact.result.folds
    a, b = exact.result, sampled.result
    assert b.toggles == a.toggles
    for key in ("overflows", "folds", "cycles_compute", "cycles_active", "macs"):
        assert getattr(b, key) == getattr(a, key), key
    assert sampled.check == exact.check
    assert energy_pj(arch, sampled) == energy_pj(arch, exact)
    if acc == 16:
        assert a.overflows > 0 and exact.check == "mismatch"


def test_a_saturating_accumulator_that_may_overflow_keeps_fold_units(tmp_path: Path) -> None:
    """Partial sums of a saturating accumulator are the GEMM's only where none can overflow."""
    arch = load_arch(write_arch(tmp_path, 18, True))
    layer = conv()
    exact = simulate_layer(arch, layer)
    sampled = simulate_layer_sampled(arch, layer, SampleSpec(1.0, 2))
    assert sampled.sample.unit == "fold"
    assert sampled.result.toggles == exact.result.toggles
    assert sampled.result.overflows == exact.result.overflows > 0


@pytest.mark.parametrize("acc, saturate, x_signed, groups", [CASES[0], CASES[2], CASES[4],
                                                             CASES[6]])
def test_each_chunk_counts_what_the_reference_counts_for_its_elements(
        tmp_path: Path, acc: int, saturate: bool, x_signed: bool, groups: int) -> None:
    """Unit (fold f, elements [k0, k1)): the scalar reference driver runs the layer's folds in
    order up to f, then f's first k1 elements and, from the same state, its first k0; the
    difference of their counters is the unit's, class by class."""
    arch = load_arch(write_arch(tmp_path, acc, saturate))
    layer = conv(groups, x_signed=x_signed)
    aspec = array_spec(arch, layer)
    kind = REGISTRY["mac"]
    step = kind.step_kind(aspec)
    df = DATAFLOWS["os"]
    low = lower(layer)
    R, C = 4, 3
    frame = _Frame(low, df, R, C)
    units = KChunks(frame, step, acc)
    assert len(units.bounds) > 2  # folds of several chunks
    order = list(df.folds(low.groups, low.M, low.K, low.N, R, C))
    all_units, _ = units.strata()

    def counters(folds: list) -> np.ndarray:
        """The reference's counters over ``folds`` (operand pairs) from reset, in order."""
        regs = [np.zeros((R, C), dtype=np.int64) for _ in range(3)]
        state = np.zeros((R, C, step.state_words), dtype=np.int64)
        counts = np.zeros(step.counters, dtype=np.int64)
        for A, B in folds:
            fold_output_stationary(step.consts, step.aux, A, B,
                                   np.zeros((A.shape[0], B.shape[0]), dtype=np.int64), R, C,
                                   aspec.x_bits, aspec.w_bits, False,
                                   np.arange(R + C + A.shape[1], dtype=np.int64), *regs, state,
                                   counts, np.zeros((0, step.classes), dtype=np.int64))
        return counts

    operands = [df.fold_operands(low, f) for f in order]
    for u in all_units:
        g, ct, rt, j = (int(v) for v in u)
        i = next(i for i, f in enumerate(order)
                 if (f.g, f.c0, f.r0) == (g, ct * C, rt * R))
        k0, k1 = units.bounds[j], units.bounds[j + 1]
        X, Wt = operands[i]
        before = [(X[:, :k0], Wt[:, :k0])] if k0 else []
        expect = counters(operands[:i] + [(X[:, :k1], Wt[:, :k1])]) - \
            counters(operands[:i] + before)
        got, out, exact_out = units.run(u)
        assert np.array_equal(got, expect), (tuple(u), got, expect)
        assert np.array_equal(out, exact_out) or acc == 16


def test_ratio_estimate() -> None:
    """A census is the exact sum; values proportional to the auxiliary give its total times the
    ratio with no variance; otherwise the residuals' successive differences, scaled."""
    from accelsim.sim.estimate import ratio_estimate

    values = np.array([[10, 3], [20, 5], [31, 9]], dtype=np.int64)
    aux = np.array([1, 2, 3], dtype=np.int64)
    sizes = np.array([2, 2, 2], dtype=np.int64)
    census = ratio_estimate(values, aux, np.ones(3, dtype=np.int64), 3, 6)
    assert census.total.tolist() == [61, 17] and not census.variance.any()
    exact = ratio_estimate(values[:2, :1], aux[:2], sizes[:2], 4, 10)
    assert exact.total.tolist() == [100.0] and exact.variance.tolist() == [0.0]
    est = ratio_estimate(values, aux, sizes, 6, 13)
    ratio = np.array([61, 17]) / 6
    e = 2 * (values - ratio * aux[:, None])
    var = (1 - 3 / 6) * 3 / 4 * (np.diff(e, axis=0) ** 2).sum(axis=0) * (13 / 12) ** 2
    assert np.allclose(est.total, 13 * ratio) and np.allclose(est.variance, var)
    assert est.parts[0][1] == 2


@pytest.mark.parametrize("bits", [3, 8, 16])
def test_block_toggles_against_numpy(bits: int) -> None:
    """The auxiliary's kernel on ragged blocks of signed values, in int64 or a narrow dtype,
    equals a NumPy count: each row's consecutive patterns XORed (the first against 0) and their
    set bits summed per block."""
    from accelsim.kernels.operand_toggles import block_toggles

    rng = np.random.default_rng(bits)
    x = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), (23, 41))
    mask = (1 << bits) - 1
    rows, cols = np.array([0, 7, 14, 23]), np.array([0, 1, 20, 40, 41])
    patterns = x & mask
    steps = np.concatenate([patterns[:, :1], patterns[:, 1:] ^ patterns[:, :-1]], axis=1)
    per = np.bitwise_count(steps).astype(np.int64)
    expect = np.add.reduceat(np.add.reduceat(per, cols[:-1], axis=1), rows[:-1], axis=0)
    xt = np.ascontiguousarray(x.T)
    assert np.array_equal(block_toggles(xt, mask, rows, cols), expect)
    narrow = xt.astype(np.int8 if bits <= 8 else np.int16)  # as files store them
    assert np.array_equal(block_toggles(narrow, mask, rows, cols), expect)
    assert expect.min() > 0
