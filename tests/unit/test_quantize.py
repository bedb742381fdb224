"""The exporter's NumPy-only arithmetic (no torch): TFLite fixed-point rescaling, calibration,
PANN steps, and the integer host ops, against scalar Python-int references and naive loops."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accelsim.export import host
from accelsim.export.quantize import (
    Grid,
    activation_grid,
    asymmetric_weight_grid,
    bits_for,
    int_range,
    pann_equivalent_bits,
    pann_equivalent_r,
    pann_scales,
    weight_scales,
)
from accelsim.fixedpoint import (
    INT32_MAX,
    INT32_MIN,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)
from accelsim.workload import Layer, lower

# ------------------------------------------------------------ scalar references (Python ints)


def _srdhm(a: int, b: int) -> int:
    """gemmlowp's SaturatingRoundingDoublingHighMul, transcribed with Python ints."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    q = abs(ab + nudge) >> 31  # C integer division truncates toward zero
    return q if ab + nudge >= 0 else -q


def _rdbpot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def _mbqm(x: int, m: int, shift: int) -> int:
    left, right = max(shift, 0), max(-shift, 0)
    return _rdbpot(_srdhm(x * (1 << left), m), right)


def _quantize_multiplier_ref(real: float) -> tuple[int, int]:
    """Exact rationals: shift = floor(log2 real) + 1, m = round-half-up(real·2^(31−shift))."""
    r = Fraction(real)
    shift = math.floor(math.log2(real)) + 1
    while r * Fraction(2) ** (-shift) >= 1:  # guard log2 rounding
        shift += 1
    while r * Fraction(2) ** (-shift) < Fraction(1, 2):
        shift -= 1
    m = math.floor(r * Fraction(2) ** (31 - shift) + Fraction(1, 2))
    if m == 1 << 31:
        m, shift = m // 2, shift + 1
    return m, shift


# ---------------------------------------------------------------------- QuantizeMultiplier


@pytest.mark.parametrize(
    "real, expected",
    [
        (0.0, (0, 0)),
        (0.5, (1 << 30, 0)),
        (1.0, (1 << 30, 1)),
        (0.25, (1 << 30, -1)),
        (0.75, (3 << 29, 0)),
        (3.0, (3 << 29, 2)),
        (1e-3, (1099511628, -9)),
        (1 - 2**-40, (1 << 30, 1)),  # rounds up to 2^31: halved, shift + 1
        (2**-33, (0, 0)),  # below 2^-32: flushed to zero as in TFLite
    ],
)
def test_quantize_multiplier_known_vectors(real: float, expected: tuple[int, int]) -> None:
    assert quantize_multiplier(real) == expected


@given(st.floats(min_value=1e-9, max_value=1e6, allow_nan=False))
def test_quantize_multiplier_round_trip(real: float) -> None:
    m, shift = quantize_multiplier(real)
    assert (m, shift) == _quantize_multiplier_ref(real)
    assert (1 << 30) <= m < (1 << 31)
    assert abs(m * 2.0 ** (shift - 31) - real) <= real * 2.0**-31


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), 2.0**31])
def test_quantize_multiplier_rejects(bad: float) -> None:
    with pytest.raises(ValueError):
        quantize_multiplier(bad)


# ------------------------------------------------------------------ MultiplyByQuantizedMultiplier


@pytest.mark.parametrize(
    "x, real, expected",
    [
        (100, 0.5, 50),
        (3, 0.5, 2),  # 1.5: the doubling high-mul rounds half up (toward +inf) ...
        (-3, 0.5, -1),  # ... so -1.5 -> -1
        (5, 0.25, 2),  # 1.25 -> 2: double rounding (high-mul gives 2.5 -> 3, then 3/2 -> 2)
        (6, 0.25, 2),  # 1.5
        (-6, 0.25, -2),  # RoundingDivideByPOT rounds half away from zero: -3/2 -> -2
        (-5, 0.25, -1),
        (7, 3.0, 21),
        (0, 0.3, 0),
    ],
)
def test_mbqm_known_vectors(x: int, real: float, expected: int) -> None:
    m, s = quantize_multiplier(real)
    assert int(multiply_by_quantized_multiplier(np.int64(x), m, s, overflow="raise")) == expected


@given(
    st.lists(st.integers(-(1 << 24), 1 << 24), min_size=1, max_size=20),
    st.floats(min_value=1e-6, max_value=2.0),
)
def test_mbqm_matches_scalar_gemmlowp(xs: list[int], real: float) -> None:
    m, s = quantize_multiplier(real)
    got = multiply_by_quantized_multiplier(np.array(xs), m, s, overflow="raise")
    assert got.tolist() == [_mbqm(x, m, s) for x in xs]
    exact = np.array(xs) * (m * 2.0 ** (s - 31))
    assert np.all(np.abs(got - exact) <= 1.0)


def test_srdhm_saturates_and_rdbpot_rounds_half_away() -> None:
    assert int(saturating_rounding_doubling_high_mul(INT32_MIN, INT32_MIN)) == INT32_MAX
    assert int(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30)) == 1 << 29
    got = rounding_divide_by_pot(np.array([5, -5, 6, -6, 7, -7, 4, -4]), 1)
    assert got.tolist() == [3, -3, 3, -3, 4, -4, 2, -2]


def test_mbqm_overflow_is_an_error() -> None:
    m, s = quantize_multiplier(4.0)  # shift 3: x·8 must fit int32
    with pytest.raises(OverflowError):
        multiply_by_quantized_multiplier(np.array([1 << 29]), m, s, overflow="raise")


# ----------------------------------------------------------------------------- calibration


def test_activation_grids() -> None:
    rng = np.random.default_rng(0)
    relu = np.maximum(rng.normal(size=10_000), 0)
    g = activation_grid(relu, 4, "unsigned")
    assert (g.lo, g.hi, g.zero_point, g.signed) == (0, 15, 0, False)
    signed = activation_grid(rng.normal(size=10_000), 4, "signed")
    assert (signed.lo, signed.hi, signed.zero_point, signed.signed) == (-8, 7, 0, True)
    skewed = rng.normal(1.0, 1.0, size=10_000)
    a = activation_grid(skewed, 8, "asymmetric")
    assert (a.lo, a.hi) == (0, 255) and 0 < a.zero_point < 128
    assert a.dequantize(a.quantize(0.0)) == 0.0  # real 0 is exact (conv padding)
    # MSE calibration beats plain max scaling at low bits
    naive = Grid(float(relu.max()) / 3, 0, 0, 3, 2, False)
    g2 = activation_grid(relu, 2, "unsigned")
    assert np.mean((g2.dequantize(g2.quantize(relu)) - relu) ** 2) < np.mean(
        (naive.dequantize(naive.quantize(relu)) - relu) ** 2
    )


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_weight_scales_symmetric(bits: int) -> None:
    w = np.random.default_rng(bits).normal(size=(6, 3, 3, 3)) * np.arange(1, 7)[:, None, None, None]
    s = weight_scales(w, bits)
    assert s.shape == (6,) and np.all(s > 0)
    lo, hi = int_range(bits, True)
    q = np.clip(np.rint(w / s[:, None, None, None]), lo, hi)
    err = np.mean((q * s[:, None, None, None] - w) ** 2)
    top = np.abs(w).reshape(6, -1).max(1) / max(hi, 1)
    q0 = np.clip(np.rint(w / top[:, None, None, None]), lo, hi)
    assert err <= np.mean((q0 * top[:, None, None, None] - w) ** 2)
    assert np.all(weight_scales(w, bits, per_channel=False) == weight_scales(w, bits, False)[0])


def test_asymmetric_weight_grid() -> None:
    w = np.random.default_rng(1).normal(0.5, 1.0, size=(4, 20))
    s, z = asymmetric_weight_grid(w, 4)
    lo, hi = int_range(4, True)
    assert np.all((lo <= z) & (z <= hi)) and np.all(s > 0)
    q = np.clip(np.rint(w / s[:, None]) + z[:, None], lo, hi)
    assert np.mean(((q - z[:, None]) * s[:, None] - w) ** 2) < 0.02


@pytest.mark.parametrize("r", [0.5, 1.0, 2.0, 4.0, 10.0])
def test_pann_scales_mean_counts(r: float) -> None:
    w = np.random.default_rng(3).normal(size=(8, 64)) * np.linspace(0.1, 3, 8)[:, None]
    step = pann_scales(w, r)
    counts = np.abs(np.rint(w / step[:, None]))
    assert np.all(np.abs(counts.mean(axis=1) - r) <= 0.05 * r + 1 / 64)
    whole = pann_scales(w, r, per_channel=False)
    assert abs(np.abs(np.rint(w / whole[0])).mean() - r) <= 0.05 * r + 1 / 512


def test_pann_budget_relation() -> None:
    assert pann_equivalent_r(8, 8) == pytest.approx(8.667, abs=1e-3)
    for r, x_bits in ((1, 8), (2, 8), (4, 8), (2, 4)):
        assert pann_equivalent_r(pann_equivalent_bits(r, x_bits), x_bits) == pytest.approx(r)
    assert pann_equivalent_bits(2, 4) < pann_equivalent_bits(2, 8) < pann_equivalent_bits(4, 8)


def test_bits_for() -> None:
    assert bits_for(np.array([-2, 1]), True) == 2
    assert bits_for(np.array([-3, 1]), True) == 3
    assert bits_for(np.array([0, 255]), False) == 8
    assert bits_for(np.array([0, 255]), True) == 9


# ------------------------------------------------------------------------------- host ops

CONVS = [
    ((2, 3, 7, 6), (4, 3, 3, 2), (2, 1), (1, 0), (1, 1), 1),
    ((1, 4, 9, 9), (4, 1, 3, 3), (1, 1), (1, 1), (1, 1), 4),
    ((1, 2, 10, 9), (4, 1, 3, 3), (2, 2), (1, 1), (2, 2), 2),
]


@pytest.mark.parametrize("case", CONVS)
@pytest.mark.parametrize("big", [False, True])
def test_int_conv2d_matches_lowering(case: tuple, big: bool) -> None:
    xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(0)
    top = 1 << 30 if big else 256  # big: partial sums past 2^52 take the int64 path
    x, w = rng.integers(-top, top, xs), rng.integers(-top, top, ws)
    layer = Layer("c", "conv2d", x, w, None, 16, 16, True, True, stride, padding, dilation, groups)
    ref = lower(layer).reference_y() if not big else _naive_conv(layer)
    assert np.array_equal(host.int_conv2d(x, w, stride, padding, dilation, groups), ref)


def _naive_conv(layer: Layer) -> np.ndarray:
    """Python-int loops (no overflow) for the big-value case."""
    (sh, sw), (ph, pw), (dh, dw), g = layer.stride, layer.padding, layer.dilation, layer.groups
    x, w = layer.x, layer.w
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho, wo = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, ho, wo), dtype=object)
    for b, oc, i, j in np.ndindex(n, o, ho, wo):
        grp = oc // (o // g)
        total = 0
        for ci, a, e in np.ndindex(cg, kh, kw):
            r, q = i * sh - ph + a * dh, j * sw - pw + e * dw
            if 0 <= r < h and 0 <= q < wd:
                total += int(x[b, grp * cg + ci, r, q]) * int(w[oc, ci, a, e])
        y[b, oc, i, j] = total
    return y.astype(np.int64)


@pytest.mark.parametrize("case", CONVS)
def test_unsigned_offset_is_undone_exactly(case: tuple) -> None:
    xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(1)
    x, w = rng.integers(-128, 128, xs), rng.integers(-7, 8, ws)
    layer = Layer("c", "conv2d", x + 128, w, None, 8, 4, False, True, stride, padding, dilation,
                  groups)
    node = {"x_offset": 128, "requant": None}
    y_offset = host.layer_output(layer)
    assert np.array_equal(host.after_layer(node, layer, y_offset),
                          host.int_conv2d(x, w, stride, padding, dilation, groups))


def test_lsqplus_layer_output() -> None:
    rng = np.random.default_rng(2)
    x, w = rng.integers(0, 16, (2, 3, 5, 5)), rng.integers(-8, 8, (4, 3, 3, 3))
    zx, zw = 5, np.array([0, 1, -2, 3])
    mult, shift = (np.array(v) for v in zip(*[quantize_multiplier(r) for r in
                                              (0.01, 0.02, 0.005, 0.3)]))
    bias = np.array([10, -20, 300, 0])
    quant = {"scheme": "lsqplus", "x_zero_point": zx, "w_zero_point": zw, "bias": bias,
             "multiplier": mult, "shift": shift, "y_zero_point": 3, "y_bits": 4, "y_signed": False}
    layer = Layer("c", "conv2d", x, w, None, 4, 4, False, True, (1, 1), (1, 1), quant=quant)
    got = host.layer_output(layer)
    xp = np.pad(x - zx, ((0, 0), (0, 0), (1, 1), (1, 1)))  # padding = x_zero_point = real 0
    acc = host.int_conv2d(xp, w - zw[:, None, None, None])
    for o in range(4):
        expect = [_mbqm(int(a) + int(bias[o]), int(mult[o]), int(shift[o])) + 3
                  for a in acc[:, o].ravel()]
        assert got[:, o].ravel().tolist() == np.clip(expect, 0, 15).tolist()


def test_pooling_and_add() -> None:
    rng = np.random.default_rng(4)
    q = rng.integers(0, 256, (2, 3, 7, 7))
    mp = host.max_pool(q, (3, 3), (2, 2), (1, 1), (1, 1))
    assert mp.shape == (2, 3, 4, 4)
    for i, j in np.ndindex(4, 4):
        win = q[:, :, max(0, 2 * i - 1) : 2 * i + 2, max(0, 2 * j - 1) : 2 * j + 2]
        assert np.array_equal(mp[:, :, i, j], win.max(axis=(2, 3)))
    ap = host.avg_pool(q, (7, 7), (7, 7))
    assert np.array_equal(ap[..., 0, 0], np.floor(q.sum(axis=(2, 3)) / 49 + 0.5).astype(int))
    assert host.avg_pool(np.array([[[[1, 2]]]]), (1, 2), (1, 2)).item() == 2  # 1.5 rounds up
    grid = {"zero_point": 0, "min": 0, "max": 255}
    ga, gb = {"zero_point": 0}, {"zero_point": 10}
    m, s = zip(*[quantize_multiplier(r) for r in (0.5, 0.25)])
    node = {"left_shift": 20, "multiplier": list(m), "shift": list(s), "grid": grid}
    a, b = np.array([100, 7, 255]), np.array([50, 11, 255])
    got = host.add(node, [a, b], [ga, gb])
    assert got.tolist() == np.clip(np.floor(a * 0.5 + (b - 10) * 0.25 + 0.5), 0, 255).tolist()
