"""The lsqplus kernels (``accelsim.pe.lsqplus.simulate_lsqplus_gemm``) must equal the slow reference
model (``tests/reference/lsqplus_model.py``) exactly — outputs, every toggle class (rescale and
rowsum included), overflows, folds, both cycle counts and the full per-cycle trace — for both
placements (docs/lsqplus.md); and, when no accumulator can overflow, the outputs must equal the
NumPy gemmlowp port of lsqplus.md §1 (so both placements agree)."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelsim.pe.lsqplus import LsqplusParams, requantize, simulate_lsqplus_gemm, toggle_classes
from accelsim.sim.types import ArraySpec, DenseGemm, GemmResult
from tests.kernels.test_kernels_vs_reference import SHAPES, _max_examples, lim, values
from tests.reference.lsqplus_model import reference_simulate_lsqplus

DATAFLOWS = ("os", "ws", "is")
PLACEMENTS = ("output", "pe")
WIDTHS = ((2, 2), (3, 5), (8, 8), (5, 3), (4, 7), (8, 2))
SIGNEDNESS = tuple(itertools.product((False, True), repeat=2))  # (x_signed, w_signed)
ZERO_POINTS = ("zero", "mid", "extreme", "per_tensor")


def zero_points(rng, mode: str, bits: int, signed: bool, channels: int | None):
    """A zero point (``channels`` None) or per-channel zero points for ``mode``."""
    lo, hi = lim(bits, signed)
    if mode == "zero":
        return 0 if channels is None else np.zeros(channels, dtype=np.int64)
    if mode == "extreme":
        pick = np.array([lo, hi])
        return int(rng.choice(pick)) if channels is None else pick[np.arange(channels) % 2]
    mid = (lo + hi + 1) // 2
    if channels is None or mode == "per_tensor":
        return int(np.clip(mid + rng.integers(-1, 2), lo, hi))
    return np.clip(mid + rng.integers(-2, 3, channels), lo, hi)


def quant_block(rng, channels: int, xb: int, xs: bool, wb: int, ws: bool, zp: str,
                y_bits: int = 8, y_signed: bool = False) -> dict:
    """An lsqplus quant block (SPEC §4) with shifts of both signs, multipliers incl. 0, 2^30 and
    2^31 − 1, biases across the int32 range."""
    mult = rng.integers(1 << 30, 1 << 31, channels)
    shift = rng.integers(-12, 4, channels)
    specials = [(0, 0), (1 << 30, -31), ((1 << 31) - 1, 31), (1 << 30, 1), ((1 << 31) - 1, -1)]
    for i in range(min(channels, 2)):
        mult[i], shift[i] = specials[rng.integers(len(specials))]
    bias = np.where(rng.random(channels) < 0.2, rng.integers(-(1 << 31), 1 << 31, channels),
                    rng.integers(-300, 300, channels))
    zw = zero_points(rng, zp, wb, ws, channels)
    if zp == "per_tensor":
        zw = int(zw)
    ylo, yhi = lim(y_bits, y_signed)
    return {
        "scheme": "lsqplus",
        "x_zero_point": zero_points(rng, zp, xb, xs, None),
        "w_zero_point": zw,
        "bias": bias,
        "multiplier": mult,
        "shift": shift,
        "y_zero_point": int(rng.integers(ylo, yhi + 1)) if y_bits < 32 else 7,
        "y_bits": y_bits,
        "y_signed": y_signed,
    }


def gemmlowp_y(ops: DenseGemm, quant: dict) -> np.ndarray:
    """lsqplus.md §1 on the exact offset sums, [G, M, N]."""
    G, N = ops.groups, ops.N
    zw = np.broadcast_to(np.asarray(quant["w_zero_point"], dtype=np.int64), (G * N,))
    out = []
    for g in range(G):
        sl = slice(g * N, (g + 1) * N)
        S = (ops.x[g].astype(np.int64) - quant["x_zero_point"]) @ (ops.w[g] - zw[sl])
        q = {**quant, "bias": np.asarray(quant["bias"])[sl],
             "multiplier": np.asarray(quant["multiplier"])[sl],
             "shift": np.asarray(quant["shift"])[sl]}
        out.append(requantize(S, q, channel_axis=1))
    return np.stack(out)


def assert_same(fast: GemmResult, ref: GemmResult, spec: ArraySpec) -> None:
    names = toggle_classes(spec.dataflow)
    assert np.array_equal(np.asarray(fast.y, dtype=np.int64), ref.y), "outputs differ"
    assert list(fast.toggles) == list(names) == list(ref.toggles)
    for name in names:
        assert int(fast.toggles[name]) == ref.toggles[name], f"toggles[{name}] differ"
    assert int(fast.overflows) == ref.overflows
    assert (fast.folds, fast.cycles_compute, fast.cycles_active, fast.macs) == (
        ref.folds, ref.cycles_compute, ref.cycles_active, ref.macs)
    assert fast.trace is not None and fast.trace.shape == ref.trace.shape == (ref.cycles_compute, 7)
    assert np.array_equal(np.asarray(fast.trace, dtype=np.int64), ref.trace), "trace differs"


def check(ops: DenseGemm, spec: ArraySpec, placement: str, quant: dict | None) -> GemmResult:
    ref = reference_simulate_lsqplus(ops, spec, placement, quant, trace=True)
    fast = simulate_lsqplus_gemm(ops, spec, trace=True, params=LsqplusParams(rescale=placement),
                                 layer=SimpleNamespace(quant=quant))
    assert_same(fast, ref, spec)
    return ref


def safe_acc(xb: int, wb: int, K: int) -> int:
    """An accumulator no sum of either placement can overflow."""
    return xb + wb + 2 + K.bit_length()


# --- fixed matrix ---------------------------------------------------------------------------------


def _fixed_cases() -> list:
    cases = []
    # placement x dataflow x shape, rotating widths, signedness, zero points, y format and modes.
    for i, (pl, df, shape) in enumerate(itertools.product(PLACEMENTS, DATAFLOWS, SHAPES)):
        xb, wb = WIDTHS[i % len(WIDTHS)]
        xs, ws = SIGNEDNESS[(i // 2) % 4]
        zp = ZERO_POINTS[i % len(ZERO_POINTS)]
        y = ((8, False), (4, True), (16, True), (32, True))[(i // 3) % 4]
        cases.append((pl, df, shape, xb, wb, xs, ws, zp, y, bool(i % 2), bool((i // 4) % 2)))
    # every width pair x every signedness x both placements, rotating the rest.
    for i, ((xb, wb), (xs, ws), pl) in enumerate(itertools.product(WIDTHS, SIGNEDNESS, PLACEMENTS)):
        df = DATAFLOWS[i % 3]
        zp = ZERO_POINTS[(i // 3) % len(ZERO_POINTS)]
        cases.append((pl, df, SHAPES[i % len(SHAPES)], xb, wb, xs, ws, zp, (8, not xs),
                      bool((i // 2) % 2), bool((i // 5) % 2)))
    return cases


FIXED = _fixed_cases()


def _case_id(case) -> str:
    pl, df, (R, C, G, M, K, N), xb, wb, xs, ws, zp, (yb, ys), sat, zero = case
    sign = "su"[not xs] + "su"[not ws]
    modes = ("sat" if sat else "wrap") + ("-zero" if zero else "-hold")
    return f"{pl}-{df}-{R}x{C}-g{G}-{M}x{K}x{N}-{xb}x{wb}{sign}-zp_{zp}-y{yb}{'su'[not ys]}-{modes}"


@pytest.mark.parametrize(
    "pl,df,shape,xb,wb,xs,ws,zp,y,sat,zero", FIXED, ids=[_case_id(c) for c in FIXED]
)
def test_fixed_matrix(pl, df, shape, xb, wb, xs, ws, zp, y, sat, zero):
    R, C, G, M, K, N = shape
    rng = np.random.default_rng([PLACEMENTS.index(pl), DATAFLOWS.index(df), *shape, xb, wb, xs,
                                 ws, ZERO_POINTS.index(zp), *y, sat, zero])
    spec = ArraySpec(R, C, df, zero, xb, wb, safe_acc(xb, wb, K), sat, xs, ws)
    ops = DenseGemm(values(rng, (G, M, K), xb, xs), values(rng, (G, K, N), wb, ws))
    quant = quant_block(rng, G * N, xb, xs, wb, ws, zp, *y)
    ref = check(ops, spec, pl, quant)
    assert np.array_equal(ref.y, gemmlowp_y(ops, quant)), "outputs differ from lsqplus.md §1"
    assert ref.toggles["rescale"] > 0
    rowsum_on = pl == "output" and np.any(np.asarray(quant["w_zero_point"]) != 0)
    assert (ref.toggles["rowsum"] > 0) == rowsum_on


@pytest.mark.parametrize("pl", PLACEMENTS)
@pytest.mark.parametrize("df", DATAFLOWS)
def test_placements_identical_with_wide_accumulators(df, pl):
    # acc_bits 32 and wrap: every sum is exact modulo 2^32, so both placements give §1 exactly
    # even with K-folds, per-channel zero points and saturating int32 biases.
    rng = np.random.default_rng([DATAFLOWS.index(df), PLACEMENTS.index(pl), 5])
    spec = ArraySpec(3, 2, df, False, 8, 8, 32, False, False, True)
    ops = DenseGemm(values(rng, (2, 5, 7), 8, False), values(rng, (2, 7, 3), 8, True))
    quant = quant_block(rng, 6, 8, False, 8, True, "mid")
    ref = check(ops, spec, pl, quant)
    assert np.array_equal(ref.y, gemmlowp_y(ops, quant))


@pytest.mark.parametrize("pl", PLACEMENTS)
@pytest.mark.parametrize("sat", (False, True))
@pytest.mark.parametrize("df", DATAFLOWS)
def test_narrow_accumulator_overflows(df, sat, pl):
    # acc_bits = x_bits + w_bits (+1 for pe) and extreme codes and zero points: the array (and the
    # row-sum unit) must overflow; kernels and reference still agree event for event.
    xb, wb = 3, 4
    acc = xb + wb + (1 if pl == "pe" else 0)
    spec = ArraySpec(2, 2, df, not sat, xb, wb, acc, sat, False, True)
    x = np.full((1, 3, 5), 7, dtype=np.int64)
    w = np.full((1, 5, 3), -8, dtype=np.int64)
    x[0, 0, 0] = 0
    quant = quant_block(np.random.default_rng(3), 3, xb, False, wb, True, "extreme")
    ref = check(DenseGemm(x, w), spec, pl, quant)
    assert ref.overflows > 0


@pytest.mark.parametrize("pl", PLACEMENTS)
@pytest.mark.parametrize("df", DATAFLOWS)
def test_int_layer_runs_raw(df, pl):
    # An int layer on an lsqplus PE: rescale bypassed, raw sums, no rescale/rowsum toggles.
    rng = np.random.default_rng([DATAFLOWS.index(df), PLACEMENTS.index(pl), 9])
    spec = ArraySpec(2, 3, df, True, 6, 5, 20, False, False, True)
    ops = DenseGemm(values(rng, (1, 4, 5), 6, False), values(rng, (1, 5, 4), 5, True))
    ref = check(ops, spec, pl, None)
    assert np.array_equal(ref.y, ops.x.astype(np.int64) @ ops.w)
    assert ref.toggles["rescale"] == ref.toggles["rowsum"] == 0


# --- random cases (hypothesis) --------------------------------------------------------------------


@st.composite
def random_case(draw):
    pl = draw(st.sampled_from(PLACEMENTS))
    df = draw(st.sampled_from(DATAFLOWS))
    R, C = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    G = draw(st.integers(1, 2))
    M, K, N = (draw(st.integers(1, 6)) for _ in range(3))
    xb, wb = draw(st.integers(2, 8)), draw(st.integers(2, 8))
    xs, ws = draw(st.booleans()), draw(st.booleans())
    acc = draw(st.integers(xb + wb + (1 if pl == "pe" else 0), 40))
    sat, zero = draw(st.booleans()), draw(st.booleans())
    y_bits, y_signed = draw(st.integers(2, 32)), draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    ops = DenseGemm(values(rng, (G, M, K), xb, xs), values(rng, (G, K, N), wb, ws))
    q = quant_block(rng, G * N, xb, xs, wb, ws, draw(st.sampled_from(ZERO_POINTS)), y_bits,
                    y_signed)
    q["shift"] = np.array(draw(st.lists(st.integers(-31, 31), min_size=G * N, max_size=G * N)))
    q["multiplier"] = np.array(draw(st.lists(st.integers(0, (1 << 31) - 1), min_size=G * N,
                                             max_size=G * N)))
    return pl, ArraySpec(R, C, df, zero, xb, wb, acc, sat, xs, ws), ops, q


@settings(
    max_examples=_max_examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(random_case())
def test_random_against_reference(case):
    pl, spec, ops, quant = case
    ref = check(ops, spec, pl, quant)
    no_overflow = spec.acc_bits >= safe_acc(spec.x_bits, spec.w_bits, ops.K)
    if no_overflow or (spec.acc_bits >= 32 and not spec.saturate):
        assert np.array_equal(ref.y, gemmlowp_y(ops, quant))
