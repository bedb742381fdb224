"""accelsim.fixedpoint: gemmlowp / TFLite fixed-point primitives at their edges.

Three independent checks: hand-computed vectors (worked out in the comments), a closed-form
big-integer reference written from the definitions (not from the C++ code's steps), and the
rescale unit's numba kernel, which must agree exactly with the module."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from accelsim.fixedpoint import (
    INT32_MAX,
    INT32_MIN,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap32,
)
from accelsim.kernels.lsqplus_units import HIGHMUL_WORDS, RESCALE_WORDS, rescale_evals, rescale_init

# ------------------------------------------------------------ closed-form reference (Python ints)


def ref_srdhm(a: int, b: int) -> int:
    """a·b / 2^31 rounded to nearest, ties toward +inf, clamped to int32 (the clamp is gemmlowp's
    one saturating case, a = b = INT32_MIN, where the quotient is exactly 2^31)."""
    return min((2 * a * b + (1 << 31)) >> 32, INT32_MAX)


def ref_rdbpot(x: int, e: int) -> int:
    """x / 2^e rounded to nearest, ties away from zero."""
    q, r = divmod(abs(x), 1 << e)
    q += 2 * r >= 1 << e if e else 0
    return q if x >= 0 else -q


def ref_mbqm(x: int, m: int, s: int, wrap: bool) -> int:
    v = x * 2 ** max(s, 0)
    if wrap:
        v = (v + 2**31) % 2**32 - 2**31
    elif not INT32_MIN <= v <= INT32_MAX:
        raise OverflowError
    return ref_rdbpot(ref_srdhm(v, m), max(-s, 0))


def ref_quantize_multiplier(real: float) -> tuple[int, int]:
    """Exact rationals: real = m · 2^(s−31) with m = round-half-up(real · 2^(31−s)) in
    [2^30, 2^31) (q·2^31 is never a tie below 2^31 for a double q: the rounding direction is
    moot), flushed to (0, 0) below 2^-32."""
    r = Fraction(real)
    s = 0
    while r >= Fraction(2) ** s:
        s += 1
    while r < Fraction(2) ** (s - 1):
        s -= 1
    m = math.floor(r * Fraction(2) ** (31 - s) + Fraction(1, 2))
    if m == 1 << 31:
        m, s = m >> 1, s + 1
    return (0, 0) if s < -31 else (m, s)


# ----------------------------------------------------------------------- hand-computed vectors


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (INT32_MIN, INT32_MIN, INT32_MAX),  # (-1)·(-1) = +1 does not fit: the saturating case
        (INT32_MIN, INT32_MIN + 1, INT32_MAX),  # 2^31 (2^31 - 1) / 2^31 = 2^31 - 1, exact
        (INT32_MAX, INT32_MAX, INT32_MAX - 1),  # (2^31-1)^2 / 2^31 = 2^31 - 2 + 2^-31
        (INT32_MIN, INT32_MAX, -INT32_MAX),  # -(2^31 - 1), exact
        (INT32_MIN, 1, -1),  # -2^31 / 2^31 = -1, exact
        (INT32_MAX, 1, 1),  # 1 - 2^-31 rounds to 1
        (1, 1 << 30, 1),  # +0.5: tie, toward +inf
        (-1, 1 << 30, 0),  # -0.5: tie, toward +inf
        (3, 1 << 30, 2),  # +1.5 -> 2
        (-3, 1 << 30, -1),  # -1.5 -> -1
        (-5, 1 << 30, -2),  # -2.5 -> -2
        (1 << 30, 1 << 30, 1 << 29),  # 2^60 / 2^31
        (0, INT32_MIN, 0),
    ],
)
def test_srdhm_vectors(a: int, b: int, expected: int) -> None:
    assert saturating_rounding_doubling_high_mul(a, b) == expected
    assert ref_srdhm(a, b) == expected
    got = saturating_rounding_doubling_high_mul(np.array([a]), np.array([b]))
    assert got.dtype == np.int64 and got.tolist() == [expected]


@pytest.mark.parametrize(
    "x, e, expected",
    [
        (5, 1, 3), (-5, 1, -3),  # ±2.5 -> ±3 (away from zero)
        (6, 2, 2), (-6, 2, -2),  # ±1.5 -> ±2
        (7, 2, 2), (-7, 2, -2),  # ±1.75
        (4, 3, 1), (-4, 3, -1),  # ±0.5 -> ±1
        (3, 3, 0), (-3, 3, 0),  # ±0.375
        (INT32_MIN, 0, INT32_MIN), (INT32_MAX, 0, INT32_MAX),
        (INT32_MAX, 31, 1),  # 1 - 2^-31
        (INT32_MIN, 31, -1),  # exactly -1
        (1 << 30, 31, 1), (-(1 << 30), 31, -1),  # ±0.5 at the widest shift
        ((1 << 30) - 1, 31, 0),
    ],
)
def test_rdbpot_vectors(x: int, e: int, expected: int) -> None:
    assert rounding_divide_by_pot(x, e) == expected
    assert ref_rdbpot(x, e) == expected


@pytest.mark.parametrize(
    "x, m, s, wrapped, raised",
    [
        (3, 1 << 30, 0, 2, 2),  # 3 · 0.5 = 1.5 -> 2
        (5, 1 << 30, -1, 2, 2),  # 1.25: high-mul 2.5 -> 3, then 3/2 -> 2 (double rounding)
        (-5, 1 << 30, -1, -1, -1),  # -1.25: -2.5 -> -2, then -2/2 -> -1
        (INT32_MAX, INT32_MAX, 0, INT32_MAX - 1, INT32_MAX - 1),
        (INT32_MIN, INT32_MAX, -31, -1, -1),  # -(2^31 - 1) / 2^31 -> -1
        (INT32_MIN, INT32_MIN, 0, INT32_MAX, INT32_MAX),  # the saturating high-mul
        (7, 3 << 29, 2, 21, 21),  # 7 · 0.75 · 4
        (1 << 30, 1 << 30, 1, -(1 << 30), None),  # 2^31 wraps to -2^31; times 0.5
        (-1, 1 << 30, 31, -(1 << 30), -(1 << 30)),  # -2^31 fits int32: no overflow
        (1, 1 << 30, 31, -(1 << 30), None),  # 2^31 wraps to -2^31
        (INT32_MAX, 0, 5, 0, None),
        (-(1 << 26), INT32_MAX, 5, -INT32_MAX, -INT32_MAX),  # -2^31 · (1 - 2^-31), exact
    ],
)
def test_mbqm_vectors(x: int, m: int, s: int, wrapped: int, raised: int | None) -> None:
    assert multiply_by_quantized_multiplier(x, m, s, overflow="wrap") == wrapped
    assert ref_mbqm(x, m, s, wrap=True) == wrapped
    if raised is None:
        with pytest.raises(OverflowError):
            multiply_by_quantized_multiplier(x, m, s, overflow="raise")
        with pytest.raises(OverflowError):
            multiply_by_quantized_multiplier(np.array([0, x]), m, s, overflow="raise")
    else:
        assert multiply_by_quantized_multiplier(x, m, s, overflow="raise") == raised


@pytest.mark.parametrize(
    "real, expected",
    [
        (0.0, (0, 0)),
        (0.5, (1 << 30, 0)),
        (1.0, (1 << 30, 1)),
        (1 / 3, (1431655765, -1)),  # (2/3)·2^31 = 1431655765.33
        (0.75 * 2.0**30, (3 << 29, 30)),  # the largest shift
        (1 - 2.0**-40, (1 << 30, 1)),  # rounds to 2^31: halved, shift + 1
        (2.0**-32, (1 << 30, -31)),  # the smallest shift
        (2.0**-33, (0, 0)),  # flushed to zero
        (2.0**30 * (1 - 2.0**-53), None),  # q·2^31 rounds to 2^31 -> shift 31: too large
        (2.0**30, None),
        (-1.0, None), (math.inf, None), (math.nan, None),
    ],
)
def test_quantize_multiplier_vectors(real: float, expected: tuple[int, int] | None) -> None:
    if expected is None:
        with pytest.raises(ValueError):
            quantize_multiplier(real)
    else:
        assert quantize_multiplier(real) == expected


# ---------------------------------------------------------- against the closed-form reference

EDGE_X = [INT32_MIN, INT32_MIN + 1, -(1 << 30) - 1, -(1 << 30), -(3 << 20), -12, -6, -5, -3, -2,
          -1, 0, 1, 2, 3, 5, 6, 12, 3 << 20, 1 << 30, (1 << 30) + 1, INT32_MAX - 1, INT32_MAX]
EDGE_M = [0, 1, 1 << 29, 1 << 30, (1 << 30) + 1, 3 << 29, INT32_MAX - 1, INT32_MAX]
SHIFTS = list(range(-31, 32))


def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, m, s = (a.ravel() for a in np.meshgrid(EDGE_X, EDGE_M, SHIFTS, indexing="ij"))
    return x.astype(np.int64), m.astype(np.int64), s.astype(np.int64)


def test_mbqm_edges_match_reference_arrays_and_ints() -> None:
    x, m, s = _grid()
    want = [ref_mbqm(int(a), int(b), int(c), wrap=True) for a, b, c in zip(x, m, s)]
    assert multiply_by_quantized_multiplier(x, m, s, overflow="wrap").tolist() == want
    assert [multiply_by_quantized_multiplier(int(a), int(b), int(c), overflow="wrap")
            for a, b, c in zip(x, m, s)] == want
    fits = [INT32_MIN <= int(a) << max(int(c), 0) <= INT32_MAX for a, c in zip(x, s)]
    keep = np.array(fits)
    got = multiply_by_quantized_multiplier(x[keep], m[keep], s[keep], overflow="raise")
    assert got.tolist() == [w for w, f in zip(want, fits) if f]


def test_random_values_match_reference() -> None:
    rng = np.random.default_rng(11)
    a = rng.integers(INT32_MIN, INT32_MAX, 4000, endpoint=True)
    b = rng.integers(INT32_MIN, INT32_MAX, 4000, endpoint=True)
    e = rng.integers(0, 31, 4000, endpoint=True)
    assert saturating_rounding_doubling_high_mul(a, b).tolist() == [
        ref_srdhm(int(p), int(q)) for p, q in zip(a, b)]
    assert rounding_divide_by_pot(a, e).tolist() == [ref_rdbpot(int(p), int(q))
                                                     for p, q in zip(a, e)]
    s = rng.integers(-31, 31, 4000, endpoint=True)
    m = np.abs(b)
    assert multiply_by_quantized_multiplier(a, m, s, overflow="wrap").tolist() == [
        ref_mbqm(int(p), int(q), int(r), wrap=True) for p, q, r in zip(a, m, s)]


def test_rdbpot_every_exponent_at_the_edges() -> None:
    xs = np.array([INT32_MIN, INT32_MIN + 1, -3, -1, 0, 1, 3, INT32_MAX])
    for e in range(32):
        ties = [1 << (e - 1), -(1 << (e - 1)), 3 << (e - 1), -(3 << (e - 1))] if e else []
        vals = xs.tolist() + [t for t in ties if INT32_MIN <= t <= INT32_MAX]
        got = rounding_divide_by_pot(np.array(vals), e)
        assert got.tolist() == [ref_rdbpot(v, e) for v in vals]


def test_quantize_multiplier_matches_exact_rationals() -> None:
    rng = np.random.default_rng(12)
    reals = np.concatenate([2.0 ** rng.uniform(-32, 30, 3000),
                            [2.0**-32, 2.0**-32 * (1 - 2.0**-53), 2.0**29.999, 0.999999999]])
    for real in reals:
        real = float(real)
        if real >= 2.0**30 or ref_quantize_multiplier(real)[1] > 30:
            with pytest.raises(ValueError):
                quantize_multiplier(real)
            continue
        assert quantize_multiplier(real) == ref_quantize_multiplier(real)


# ------------------------------------------------------------------------------ domain errors


def test_values_outside_int32_raise_overflow() -> None:
    for bad in (INT32_MAX + 1, INT32_MIN - 1, 2**70, -(2**70)):
        with pytest.raises(OverflowError):
            saturating_rounding_doubling_high_mul(bad, 1)
        with pytest.raises(OverflowError):
            rounding_divide_by_pot(bad, 0)
        for policy in ("raise", "wrap"):
            with pytest.raises(OverflowError):
                multiply_by_quantized_multiplier(bad, 1 << 30, 0, overflow=policy)
            with pytest.raises(OverflowError):
                multiply_by_quantized_multiplier(1, bad, 0, overflow=policy)
    with pytest.raises(OverflowError):
        rounding_divide_by_pot(np.array([0, INT32_MAX + 1], dtype=np.int64), 1)
    with pytest.raises(OverflowError):
        saturating_rounding_doubling_high_mul(np.array([2**63 - 1], dtype=np.uint64), 1)


def test_parameters_outside_their_domain_raise_value_error() -> None:
    for e in (-1, 32):
        with pytest.raises(ValueError):
            rounding_divide_by_pot(1, e)
    for s in (-32, 32):
        with pytest.raises(ValueError):
            multiply_by_quantized_multiplier(1, 1 << 30, s, overflow="wrap")
    with pytest.raises(ValueError):
        multiply_by_quantized_multiplier(1, 1 << 30, 0, overflow="saturate")
    with pytest.raises(TypeError):
        multiply_by_quantized_multiplier(1, 1 << 30, 0)  # the policy has no default
    with pytest.raises(TypeError):
        rounding_divide_by_pot(np.array([1.5]), 1)


def test_scalar_and_array_results() -> None:
    assert type(rounding_divide_by_pot(5, 1)) is int
    assert type(multiply_by_quantized_multiplier(5, 1 << 30, 0, overflow="raise")) is int
    got = multiply_by_quantized_multiplier(np.int64(5), 1 << 30, 0, overflow="raise")
    assert isinstance(got, np.ndarray) and got.dtype == np.int64 and int(got) == 3
    m = np.array([[1 << 30], [3 << 29]])  # broadcasting: per-channel multipliers
    assert multiply_by_quantized_multiplier(np.array([4, 8]), m, 0, overflow="raise").tolist() == [
        [2, 4], [3, 6]]
    assert wrap32(1 << 31) == INT32_MIN and wrap32(np.array([-(1 << 31) - 1])).tolist() == [
        INT32_MAX]


# ------------------------------------------------------------- the rescale unit's numba kernel


def _rescale_unit(x: np.ndarray, m: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The per-column rescale unit (lsqplus.md §5.1) with bias 0, z_y 0 and a 32-bit clamp, so
    that its output is MultiplyByQuantizedMultiplier of its input."""
    n = len(x)
    st = [np.zeros((1, w), dtype=np.int64) for w in (RESCALE_WORDS, HIGHMUL_WORDS, 4)]
    rescale_init(2, 8, True, 32, *st)
    y = np.zeros(n, dtype=np.int64)
    zeros = np.zeros(n, dtype=np.int64)
    rescale_evals(np.arange(n), zeros, x, zeros, m, s, zeros, zeros, False, 8, 2, True, 0,
                  INT32_MIN, INT32_MAX, 32, *st, y, np.zeros(8, dtype=np.int64),
                  np.zeros((0, 7), dtype=np.int64))
    return y


def test_numba_rescale_unit_agrees_on_edges() -> None:
    # int32 min/max inputs, multipliers up to 2^31 - 1, every shift -31..31 (QuantizeMultiplier
    # gives -31..30; the unit's 5-bit shifters also take 31), and rounding ties of both stages.
    x, m, s = _grid()
    ties_x = [1, -1, 3, -3, 5, -5, 6, -6, 3 << 10, -(3 << 10)]  # with m = 2^30: x/2 ties
    tx, ts = (a.ravel() for a in np.meshgrid(ties_x, SHIFTS, indexing="ij"))
    x = np.concatenate([x, tx]).astype(np.int64)
    m = np.concatenate([m, np.full(tx.size, 1 << 30)]).astype(np.int64)
    s = np.concatenate([s, ts]).astype(np.int64)
    want = multiply_by_quantized_multiplier(x, m, s, overflow="wrap")
    assert np.array_equal(_rescale_unit(x, m, s), want)
