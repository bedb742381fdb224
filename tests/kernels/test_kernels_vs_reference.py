"""The fast kernels (``accelsim.sim.array.simulate_gemm``) must equal the slow reference model
(``tests/reference/array_model.py``) exactly: outputs, every toggle class, overflows, folds, both
cycle counts and the full per-cycle trace (docs/datapath.md)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from accelsim.pe.mac import simulate_mac_gemm
from accelsim.sim.array import simulate_gemm
from accelsim.sim.types import ArraySpec, DenseGemm, GemmResult, class_names
from tests.reference.array_model import reference_simulate_gemm

DATAFLOWS = ("os", "ws", "is")
WIDTHS = ((2, 2), (3, 5), (8, 8), (16, 8), (4, 16))
SIGNEDNESS = tuple(itertools.product((False, True), repeat=2))  # (x_signed, w_signed)
SHAPES = (  # (R, C, G, M, K, N)
    (2, 3, 1, 5, 7, 4),  # M, K, N not multiples of the array
    (3, 2, 1, 4, 1, 5),  # K = 1
    (2, 2, 1, 1, 5, 3),  # M = 1
    (3, 3, 1, 4, 4, 1),  # N = 1
    (1, 1, 1, 3, 4, 2),  # 1x1 array
    (1, 4, 1, 5, 3, 6),  # 1xC
    (4, 1, 1, 3, 6, 5),  # Rx1
    (2, 3, 2, 3, 5, 4),  # groups = 2
)


def _max_examples(fallback: int = 25) -> int:
    """The loaded Hypothesis profile's max_examples; ``fallback`` under the built-in profile."""
    current = settings.default.max_examples
    return fallback if current == settings.get_profile("default").max_examples else current


def lim(bits: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def values(rng: np.random.Generator, shape, bits: int, signed: bool) -> np.ndarray:
    """Full-range values with a generous share of the extremes and zero."""
    lo, hi = lim(bits, signed)
    v = rng.integers(lo, hi + 1, size=shape, dtype=np.int64)
    pick = rng.random(shape)
    v[pick < 0.15] = lo
    v[(pick >= 0.15) & (pick < 0.3)] = hi
    v[(pick >= 0.3) & (pick < 0.4)] = 0
    return v


def assert_same(fast: GemmResult, ref: GemmResult, spec: ArraySpec) -> None:
    names = class_names(spec.dataflow)
    assert fast.y.shape == ref.y.shape
    assert np.array_equal(np.asarray(fast.y, dtype=np.int64), ref.y), "outputs differ"
    assert set(fast.toggles) == set(names)
    for name in names:
        assert int(fast.toggles[name]) == ref.toggles[name], f"toggles[{name}] differ"
    assert int(fast.overflows) == ref.overflows
    assert int(fast.folds) == ref.folds
    assert int(fast.cycles_compute) == ref.cycles_compute
    assert int(fast.cycles_active) == ref.cycles_active
    assert int(fast.macs) == ref.macs
    assert fast.trace is not None
    assert fast.trace.shape == ref.trace.shape
    assert np.array_equal(np.asarray(fast.trace, dtype=np.int64), ref.trace), "trace differs"


def check(ops: DenseGemm, spec: ArraySpec) -> GemmResult:
    """The serial kernels (traced) and the parallel ones (no trace) both equal the reference."""
    ref = reference_simulate_gemm(ops, spec, trace=True)
    assert_same(simulate_gemm(ops, spec, trace=True), ref, spec)
    untraced = simulate_mac_gemm(ops, spec, trace=False, parallel_min_macs=0)  # multi-core kernels
    assert untraced.trace is None
    assert_same(dataclasses.replace(untraced, trace=ref.trace), ref, spec)
    return ref


# --- fixed matrix ---------------------------------------------------------------------------------


def _fixed_cases() -> list:
    cases = []
    # Every width pair x every signedness, rotating dataflow, overflow and idle modes and shapes
    # (each dataflow meets all four mode combinations).
    for i, ((xb, wb), (xs, ws)) in enumerate(itertools.product(WIDTHS, SIGNEDNESS)):
        df = DATAFLOWS[i % 3]
        sat, zero = bool((i // 3) % 2), bool((i // 6) % 2)
        cases.append((df, SHAPES[i % len(SHAPES)], xb, wb, xs, ws, xb + wb + 4, sat, zero))
    # Every dataflow x every shape at 8x8, rotating signedness and modes.
    for i, (df, shape) in enumerate(itertools.product(DATAFLOWS, SHAPES)):
        xs, ws = SIGNEDNESS[(i + 1) % 4]
        sat, zero = bool((i // 2) % 2), bool(i % 2)
        cases.append((df, shape, 8, 8, xs, ws, 20, sat, zero))
    return cases


FIXED = _fixed_cases()


def _case_id(case) -> str:
    df, (R, C, G, M, K, N), xb, wb, xs, ws, acc, sat, zero = case
    sign = "su"[not xs] + "su"[not ws]
    modes = ("sat" if sat else "wrap") + ("-zero" if zero else "-hold")
    return f"{df}-{R}x{C}-g{G}-{M}x{K}x{N}-{xb}x{wb}{sign}-acc{acc}-{modes}"


@pytest.mark.parametrize(
    "df,shape,xb,wb,xs,ws,acc,sat,zero", FIXED, ids=[_case_id(c) for c in FIXED]
)
def test_fixed_matrix(df, shape, xb, wb, xs, ws, acc, sat, zero):
    R, C, G, M, K, N = shape
    seed = [DATAFLOWS.index(df), *shape, xb, wb, xs, ws, sat, zero]
    rng = np.random.default_rng(seed)
    spec = ArraySpec(R, C, df, zero, xb, wb, acc, sat, xs, ws)
    ops = DenseGemm(values(rng, (G, M, K), xb, xs), values(rng, (G, K, N), wb, ws))
    check(ops, spec)


@pytest.mark.parametrize("sat", (False, True))
@pytest.mark.parametrize("df", DATAFLOWS)
def test_narrow_accumulator_overflows(df, sat):
    # acc_bits = x_bits + w_bits and extreme operands: the accumulation must overflow (also in the
    # ws/is edge adders, since K spans two K-folds on a 2-row array).
    xb, wb = 3, 5
    spec = ArraySpec(
        rows=2, cols=2, dataflow=df, idle_zero=not sat, x_bits=xb, w_bits=wb, acc_bits=xb + wb,
        saturate=sat, x_signed=True, w_signed=True,
    )  # fmt: skip
    x = np.full((1, 3, 4), -4, dtype=np.int64)  # products (-4)(-16) = 64, sums up to 256
    w = np.full((1, 4, 3), -16, dtype=np.int64)
    x[0, 0, 0] = 3
    ref = check(DenseGemm(x, w), spec)
    assert ref.overflows > 0


@pytest.mark.parametrize("df", DATAFLOWS)
def test_narrow_accumulator_unsigned(df):
    # Unsigned x unsigned with acc_bits = x_bits + w_bits: products with the MSB set enter the
    # signed accumulator as negative patterns (datapath.md §1/§3 read literally).
    spec = ArraySpec(
        rows=2, cols=3, dataflow=df, idle_zero=False, x_bits=4, w_bits=4, acc_bits=8,
        saturate=False, x_signed=False, w_signed=False,
    )  # fmt: skip
    rng = np.random.default_rng(11)
    check(DenseGemm(rng.integers(12, 16, (1, 4, 5)), rng.integers(12, 16, (1, 5, 4))), spec)


# --- random cases (hypothesis) --------------------------------------------------------------------


@st.composite
def random_case(draw):
    df = draw(st.sampled_from(DATAFLOWS))
    R, C = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    G = draw(st.integers(1, 2))
    M, K, N = (draw(st.integers(1, 9)) for _ in range(3))
    xb, wb = draw(st.integers(2, 16)), draw(st.integers(2, 16))
    acc = draw(st.integers(xb + wb, 40))
    xs, ws = draw(st.booleans()), draw(st.booleans())
    sat, zero = draw(st.booleans()), draw(st.booleans())
    xlo, xhi = lim(xb, xs)
    wlo, whi = lim(wb, ws)
    x = draw(hnp.arrays(np.int64, (G, M, K), elements=st.integers(xlo, xhi)))
    w = draw(hnp.arrays(np.int64, (G, K, N), elements=st.integers(wlo, whi)))
    return ArraySpec(R, C, df, zero, xb, wb, acc, sat, xs, ws), DenseGemm(x, w)


@settings(
    max_examples=_max_examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(random_case())
def test_random_against_reference(case):
    spec, ops = case
    check(ops, spec)
