"""The pann kernels (``accelsim.pe.pann.simulate_pann_gemm``) must equal the slow reference model
(``tests/reference/pann_model.py``) exactly: outputs, every toggle class, overflows, additions,
folds, both cycle counts and the full per-cycle trace (docs/pann.md), for both sign modes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from accelsim.pe.pann import PannParams, class_names, simulate_pann_gemm
from accelsim.sim.types import ArraySpec, DenseGemm, GemmResult
from tests.kernels.test_kernels_vs_reference import DATAFLOWS, SHAPES, _max_examples, lim, values
from tests.reference.pann_model import reference_simulate_pann

SIGNS = ("dual_accumulator", "subtract")
ADDERS = (1, 2, 3)
WIDTHS = ((2, 2), (3, 5), (8, 8), (6, 3), (2, 7))  # (x_bits unsigned, w_bits signed)


def assert_same(fast: GemmResult, ref: GemmResult, spec: ArraySpec) -> None:
    names = class_names(spec.dataflow)
    assert fast.y.shape == ref.y.shape
    assert np.array_equal(np.asarray(fast.y, dtype=np.int64), ref.y), "outputs differ"
    assert list(fast.toggles) == list(names) == list(ref.toggles)
    for name in names:
        assert int(fast.toggles[name]) == ref.toggles[name], f"toggles[{name}] differ"
    assert int(fast.overflows) == ref.overflows
    assert int(fast.additions) == ref.additions
    assert int(fast.folds) == ref.folds
    assert int(fast.cycles_compute) == ref.cycles_compute
    assert int(fast.cycles_active) == ref.cycles_active
    assert int(fast.macs) == ref.macs
    assert fast.trace is not None
    assert fast.trace.shape == ref.trace.shape == (ref.cycles_compute, 4)
    assert np.array_equal(np.asarray(fast.trace, dtype=np.int64), ref.trace), "trace differs"


def check(ops: DenseGemm, spec: ArraySpec, params: PannParams) -> GemmResult:
    ref = reference_simulate_pann(ops, spec, params, trace=True)
    fast = simulate_pann_gemm(ops, spec, trace=True, params=params)
    assert_same(fast, ref, spec)
    assert ref.additions == ops.M * int(np.abs(ops.w).sum())  # Σ|w| over all MACs
    assert np.array_equal(ref.y, np.einsum("gmk,gkn->gmn", ops.x, ops.w)) or ref.overflows > 0
    return ref


def spec_of(df, R, C, xb, wb, acc, sat, zero, ws=True) -> ArraySpec:
    return ArraySpec(R, C, df, zero, xb, wb, acc, sat, False, ws)


# --- fixed matrix ---------------------------------------------------------------------------------


def _fixed_cases() -> list:
    cases = []
    # Every dataflow x sign mode x adder count x width pair, rotating shapes, overflow and idle
    # modes (each (dataflow, sign) meets all four mode combinations and every shape).
    for i, (df, sign, A, (xb, wb)) in enumerate(
        itertools.product(DATAFLOWS, SIGNS, ADDERS, WIDTHS)
    ):
        sat, zero = bool(i % 2), bool((i // 2) % 2)
        cases.append((df, sign, A, SHAPES[i % len(SHAPES)], xb, wb, xb + wb + 4, sat, zero))
    # Every dataflow x shape x sign mode at 8x4, rotating adders and modes.
    for i, (df, shape, sign) in enumerate(itertools.product(DATAFLOWS, SHAPES, SIGNS)):
        sat, zero = bool((i // 2) % 2), bool(i % 2)
        cases.append((df, sign, ADDERS[i % 3], shape, 8, 4, 16, sat, zero))
    return cases


FIXED = _fixed_cases()


def _case_id(case) -> str:
    df, sign, A, (R, C, G, M, K, N), xb, wb, acc, sat, zero = case
    modes = ("sat" if sat else "wrap") + ("-zero" if zero else "-hold")
    return f"{df}-{sign[:4]}-A{A}-{R}x{C}-g{G}-{M}x{K}x{N}-u{xb}xs{wb}-acc{acc}-{modes}"


@pytest.mark.parametrize(
    "df,sign,A,shape,xb,wb,acc,sat,zero", FIXED, ids=[_case_id(c) for c in FIXED]
)
def test_fixed_matrix(df, sign, A, shape, xb, wb, acc, sat, zero):
    R, C, G, M, K, N = shape
    rng = np.random.default_rng([DATAFLOWS.index(df), SIGNS.index(sign), A, *shape, xb, wb, sat,
                                 zero])
    spec = spec_of(df, R, C, xb, wb, acc, sat, zero)
    ops = DenseGemm(values(rng, (G, M, K), xb, False), values(rng, (G, K, N), wb, True))
    check(ops, spec, PannParams(adders=A, sign=sign))


@pytest.mark.parametrize("sign", SIGNS)
@pytest.mark.parametrize("df", DATAFLOWS)
def test_zero_weights(df, sign):
    # All-zero weights: every MAC takes one cycle and no addition; timing is SCALE-Sim's.
    spec = spec_of(df, 2, 3, 4, 4, 12, False, True)
    rng = np.random.default_rng(5)
    x = rng.integers(0, 16, (1, 5, 4))
    ref = check(DenseGemm(x, np.zeros((1, 4, 5), dtype=np.int64)), spec, PannParams(sign=sign))
    assert ref.additions == 0
    if sign == "subtract":  # no adder evaluates (0 + 0 at the edge does not toggle)
        assert ref.toggles["adder"] == 0
    # Zero rows and columns of W mixed with the largest |w| of the width.
    w = rng.integers(-8, 8, (1, 4, 5))
    w[0, 1, :] = 0
    w[0, :, 2] = 0
    w[0, 0, 0] = -8
    check(DenseGemm(x, w), spec, PannParams(adders=2, sign=sign))


@pytest.mark.parametrize("sat", (False, True))
@pytest.mark.parametrize("sign", SIGNS)
@pytest.mark.parametrize("df", DATAFLOWS)
def test_narrow_accumulator_overflows(df, sign, sat):
    # acc_bits = x_bits + w_bits, large x and |w|: accumulators overflow (both signs, and across
    # the two K-folds of the 2-row array in ws/is).
    xb, wb = 3, 5
    spec = spec_of(df, 2, 2, xb, wb, xb + wb, sat, not sat)
    x = np.full((1, 3, 4), 7, dtype=np.int64)
    w = np.full((1, 4, 3), -16, dtype=np.int64)
    w[0, :2, 1] = 15
    x[0, 0, 0] = 3
    ref = check(DenseGemm(x, w), spec, PannParams(adders=3, sign=sign))
    assert ref.overflows > 0


@pytest.mark.parametrize("df", DATAFLOWS)
def test_unsigned_weights(df):
    # A layer may declare unsigned counts (w_signed false): up to 2^w_bits - 1 additions.
    spec = spec_of(df, 2, 2, 3, 3, 8, False, False, ws=False)
    rng = np.random.default_rng(9)
    ops = DenseGemm(rng.integers(0, 8, (1, 3, 3)), rng.integers(0, 8, (1, 3, 3)))
    for sign in SIGNS:
        check(ops, spec, PannParams(adders=2, sign=sign))


# --- random cases (hypothesis) --------------------------------------------------------------------


@st.composite
def random_case(draw):
    df = draw(st.sampled_from(DATAFLOWS))
    sign = draw(st.sampled_from(SIGNS))
    A = draw(st.integers(1, 4))
    R, C = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    G = draw(st.integers(1, 2))
    M, K, N = (draw(st.integers(1, 7)) for _ in range(3))
    xb, wb = draw(st.integers(2, 8)), draw(st.integers(2, 8))
    w_signed = draw(st.booleans())
    acc = draw(st.integers(xb + wb + (0 if w_signed else 1), 30))
    sat, zero = draw(st.booleans()), draw(st.booleans())
    xlo, xhi = lim(xb, False)
    wlo, whi = lim(wb, w_signed)
    x = draw(hnp.arrays(np.int64, (G, M, K), elements=st.integers(xlo, xhi)))
    w = draw(hnp.arrays(np.int64, (G, K, N), elements=st.integers(wlo, whi)))
    spec = spec_of(df, R, C, xb, wb, acc, sat, zero, ws=w_signed)
    return spec, DenseGemm(x, w), PannParams(adders=A, sign=sign)


@settings(
    max_examples=_max_examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(random_case())
def test_random_against_reference(case):
    spec, ops, params = case
    check(ops, spec, params)
