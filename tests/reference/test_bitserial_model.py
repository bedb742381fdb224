"""The bitserial reference model (docs/bitserial.md) against hand-derived figures and against the
mac array's reference model.

A bitserial array runs the mac schedule step by step, so for the same GEMM it must produce the mac
array's outputs and overflow count (the overflow rule applies to the completed product) and the
mac array's x_reg and w_reg toggles (operand registers load only in a step's first cycle); its
accumulator, AND-gate and adder toggles, its cycles and its trace are its own and are checked by
hand on tiny cases.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from accelsim.sim.types import ArraySpec, DenseGemm, GemmResult
from tests.kernels.test_kernels_vs_reference import DATAFLOWS, SHAPES, _max_examples, lim, values
from tests.reference.array_model import reference_simulate_gemm
from tests.reference.bitserial_model import reference_simulate_bitserial

SIGNEDNESS = tuple(itertools.product((False, True), repeat=2))  # (x_signed, w_signed)
WIDTHS = ((2, 2), (3, 5), (8, 8), (6, 3), (2, 7), (5, 4))  # (x_bits, w_bits)


def spec_of(df, R, C, xb, wb, acc, sat, zero, xs, ws) -> ArraySpec:
    return ArraySpec(R, C, df, zero, xb, wb, acc, sat, xs, ws)


def window_cycles(spec: ArraySpec, G: int, M: int, K: int, N: int) -> tuple[int, int]:
    """bitserial.md §5: (cycles.compute, cycles.compute_active) summed over the folds."""
    R, C, b = spec.rows, spec.cols, spec.x_bits
    compute = active = 0
    if spec.dataflow == "os":
        for r0, c0 in itertools.product(range(0, M, R), range(0, N, C)):
            r_act, c_act = min(R, M - r0), min(C, N - c0)
            compute += b * (R + C + K - 2)
            active += b * (r_act + c_act + K - 2)
    else:
        cols_dim, T = (N, M) if spec.dataflow == "ws" else (M, N)
        for r0, c0 in itertools.product(range(0, K, R), range(0, cols_dim, C)):
            r_act, c_act = min(R, K - r0), min(C, cols_dim - c0)
            compute += R + b * (R + C + T - 2)
            active += R + b * (T + r_act + c_act - 2)
    return G * compute, G * active


def check(ops: DenseGemm, spec: ArraySpec) -> GemmResult:
    """Everything the bitserial reference must satisfy on any GEMM (and returns it)."""
    ref = reference_simulate_bitserial(ops, spec, trace=True)
    mac = reference_simulate_gemm(ops, spec, trace=True)
    names = list(mac.toggles)
    assert list(ref.toggles) == names  # the mac classes, in the mac trace-column order
    assert np.array_equal(ref.y, mac.y), "outputs differ from the mac array's"
    assert ref.overflows == mac.overflows
    if ref.overflows == 0:
        assert np.array_equal(ref.y, np.einsum("gmk,gkn->gmn", ops.x, ops.w))
    assert ref.toggles[names[0]] == mac.toggles[names[0]]  # x_reg
    assert ref.toggles[names[1]] == mac.toggles[names[1]]  # w_reg
    assert (ref.folds, ref.macs) == (mac.folds, mac.macs)
    assert (ref.cycles_compute, ref.cycles_active) == window_cycles(
        spec, ops.groups, ops.M, ops.K, ops.N)
    assert ref.additions == ref.macs * spec.x_bits
    assert ref.clock_bits_extra == ref.macs * (spec.x_bits - 1) * spec.acc_bits
    assert ref.trace.shape == (ref.cycles_compute, 5)
    assert ref.trace.sum(axis=0).tolist() == [ref.toggles[n] for n in names]
    assert ref.toggles["mult"] <= ref.additions * spec.w_bits  # w_bits AND nodes per shift-add
    return ref


# --- hand-derived cases ---------------------------------------------------------------------------


def test_os_signed_x_by_hand():
    # One os PE, 2-bit signed x, 2-bit unsigned w, 4-bit accumulator, K = 2:
    # x = (-1, 1) = (11, 01), w = (3, 2) = (11, 10); y = -3 + 2 = -1. Two steps of 2 cycles.
    # step 0, j=0: x_reg 00->11: 2, w_reg 00->11: 2. x_0 = 1: AND nodes 00->11: 2. k = 0, base 0:
    #   0000 + 0011 -> sums 0011, carries 0000: 2. acc 0000->0011: 2.
    # step 0, j=1 (the sign bit: subtract): x_1 = 1, AND nodes 11: 0. addend 0011 << 1 = 0110,
    #   complemented 1001, carry-in 1: 0011 + 1001 + 1 = sums 1101 (-3), carries 0011; vs the
    #   previous sums 0011, carries 0000: 3 + 2 = 5. acc 0011->1101: 3.
    # step 1, j=0: x_reg 11->01: 1, w_reg 11->10: 1. x_0 = 1, AND nodes 11->10: 1. base = acc:
    #   1101 + 0010 -> sums 1111, carries 0000: 1 + 2 = 3. acc 1101->1111: 1.
    # step 1, j=1 (subtract): x_1 = 0, AND nodes 10->00: 1. addend 0000, complemented 1111,
    #   carry-in 1: 1111 + 1111 + 1 -> sums 1111, carries 1111: 0 + 4 = 4. acc 1111: 0.
    spec = spec_of("os", 1, 1, 2, 2, 4, False, False, True, False)
    ref = check(DenseGemm(np.array([[[-1, 1]]]), np.array([[[3], [2]]])), spec)
    assert ref.y.tolist() == [[[-1]]]
    assert ref.trace.tolist() == [[2, 2, 2, 2, 2], [0, 0, 3, 0, 5], [1, 1, 1, 1, 3],
                                  [0, 0, 0, 1, 4]]
    assert ref.toggles == {"x_reg": 3, "w_reg": 3, "acc_reg": 6, "mult": 4, "adder": 14}
    assert (ref.cycles_compute, ref.cycles_active, ref.overflows) == (4, 4, 0)
    assert (ref.additions, ref.clock_bits_extra) == (4, 2 * 1 * 4)


# ws, one PE, 2-bit unsigned x, 2-bit signed w, 4-bit psum, M = N = 1, K = 2 (two K-folds):
# x = (2, 3) = (10, 11), w = (-1, 1) = (11, 01); y = -2 + 3 = 1. Each fold: 1 preload cycle and
# R + C + T - 2 = 1 streaming step of 2 cycles.
WS_SPEC = dict(df="ws", R=1, C=1, xb=2, wb=2, acc=4, sat=False, xs=False, ws=True)
WS_OPS = DenseGemm(np.array([[[2, 3]]]), np.array([[[-1], [1]]]))


def test_ws_edge_accumulation_by_hand():
    # fold 1, preload: w_reg 00->11: 2.
    #   j=0: x_reg 00->10: 1. x_0 = 0: AND nodes 00: 0; 0000 + 0000: 0; psum 0000: 0.
    #   j=1: x_1 = 1: AND nodes 00->11: 2. addend sext(11) << 1 = 1110; 0000 + 1110 -> sums 1110,
    #     carries 0000: 3. psum 0000->1110: 3. First K-fold: the ofmap takes 1110 (-2).
    # fold 2, preload: w_reg 11->01: 1 (x_reg and psum_reg receive nothing and hold).
    #   j=0: x_reg 10->11: 1. x_0 = 1: AND nodes 11->01: 1. psum_in 0 (row 0): 0000 + 0001 ->
    #     sums 0001, carries 0000 (previous sums 1110): 4. psum 1110->0001: 4.
    #   j=1: x_1 = 1, AND nodes 01: 0. 0001 + 0010 -> sums 0011: 1. psum 0001->0011: 1.
    #     The result leaves; the edge adder: 1110 + 0011 -> sums 0001, carries 1110 (its previous
    #     nodes are those of 0 + 0: all 0): 1 + 3 = 4.
    spec = spec_of(zero=False, **WS_SPEC)
    ref = check(WS_OPS, spec)
    assert ref.y.tolist() == [[[1]]]
    assert ref.trace.tolist() == [[0, 2, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 3, 2, 3],
                                  [0, 1, 0, 0, 0], [1, 0, 4, 1, 4], [0, 0, 1, 0, 1 + 4]]
    assert ref.toggles == {"x_reg": 2, "w_reg": 3, "psum_reg": 8, "mult": 3, "adder": 12}
    assert (ref.folds, ref.cycles_compute, ref.cycles_active, ref.overflows) == (2, 6, 6, 0)


def test_ws_idle_zero_by_hand():
    # As above with idle: zero. In fold 2's preload cycle the moving registers receive nothing and
    # load 0: x_reg 10->00: 1, psum_reg 1110->0000: 3 (w_reg 11->01: 1). Then j=0: x_reg 00->11:
    # 2, psum 0000->0001: 1; the rest is unchanged (earlier zero-loads found 0 already).
    spec = spec_of(zero=True, **WS_SPEC)
    ref = check(WS_OPS, spec)
    assert ref.y.tolist() == [[[1]]]
    assert ref.trace.tolist() == [[0, 2, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 3, 2, 3],
                                  [1, 1, 3, 0, 0], [2, 0, 1, 1, 4], [0, 0, 1, 0, 1 + 4]]


@pytest.mark.parametrize("sat", (False, True))
def test_overflow_rule_is_per_completed_product(sat):
    # os, one PE, 3-bit signed x, 2-bit signed w, 5-bit accumulator ([-16, 15]).
    # x = (-4, -3, -1), w = (-2, -2, 1): y = 8 + 6 - 1 = 13, which fits. The third MAC's
    # shift-adds wrap twice: 14 + 1 = 15, 15 + 2 = 17 (wraps to -15), then its sign bit subtracts
    # 4: -15 - 4 = -19 (wraps back to 13). The completed product does not overflow: no overflow,
    # and saturation leaves 13 (saturating each shift-add would give 15 - 4 = 11).
    spec = spec_of("os", 1, 1, 3, 2, 5, sat, False, True, True)
    ref = check(DenseGemm(np.array([[[-4, -3, -1]]]), np.array([[[-2], [-2], [1]]])), spec)
    assert ref.y.tolist() == [[[13]]] and ref.overflows == 0
    # x = (-4, -4, -4), w = (-2, -2, -2): 8, 16, 24. Wrap: the second MAC overflows to -16, the
    # third gives -8 (one overflow). Saturate: 15 after the second and after the third MAC (two).
    ref = check(DenseGemm(np.full((1, 1, 3), -4), np.full((1, 3, 1), -2)), spec)
    assert (ref.y.item(), ref.overflows) == ((15, 2) if sat else (-8, 1))


def test_rejects_what_it_does_not_model():
    ops = DenseGemm(np.ones((1, 1, 1), dtype=np.int64), np.ones((1, 1, 1), dtype=np.int64))
    with pytest.raises(ValueError, match="no parameters"):
        reference_simulate_bitserial(ops, spec_of("ws", 1, 1, 2, 2, 5, False, False, False, False),
                                     params=object())
    with pytest.raises(ValueError, match="x_bits \\+ w_bits \\+ 1"):
        reference_simulate_bitserial(ops, spec_of("ws", 1, 1, 2, 2, 4, False, False, False, False))
    with pytest.raises(ValueError, match="X values outside"):  # 2 is not a 2-bit signed value
        reference_simulate_bitserial(DenseGemm(np.full((1, 1, 1), 2), ops.w),
                                     spec_of("os", 1, 1, 2, 2, 4, False, False, True, True))


# --- fixed matrix against the mac reference -------------------------------------------------------


def _fixed_cases() -> list:
    cases = []
    # Every dataflow x width pair x signedness, rotating shapes, overflow and idle modes.
    for i, (df, (xb, wb), (xs, ws)) in enumerate(itertools.product(DATAFLOWS, WIDTHS, SIGNEDNESS)):
        sat, zero = bool(i % 2), bool((i // 2) % 2)
        acc = xb + wb + (0 if xs or ws else 1) + i % 3
        cases.append((df, SHAPES[i % len(SHAPES)], xb, wb, xs, ws, acc, sat, zero))
    # 16-bit operands, one tiny shape per dataflow.
    for i, df in enumerate(DATAFLOWS):
        cases.append((df, (2, 2, 1, 2, 3, 2), 16, 8, True, True, 28, bool(i % 2), False))
        cases.append((df, (1, 2, 1, 2, 2, 1), 4, 16, False, True, 22, False, bool(i % 2)))
    return cases


FIXED = _fixed_cases()


def _case_id(case) -> str:
    df, (R, C, G, M, K, N), xb, wb, xs, ws, acc, sat, zero = case
    modes = ("sat" if sat else "wrap") + ("-zero" if zero else "-hold")
    sx, sw = "s" if xs else "u", "s" if ws else "u"
    return f"{df}-{R}x{C}-g{G}-{M}x{K}x{N}-{sx}{xb}x{sw}{wb}-acc{acc}-{modes}"


@pytest.mark.parametrize("df,shape,xb,wb,xs,ws,acc,sat,zero", FIXED,
                         ids=[_case_id(c) for c in FIXED])
def test_fixed_matrix(df, shape, xb, wb, xs, ws, acc, sat, zero):
    R, C, G, M, K, N = shape
    rng = np.random.default_rng([DATAFLOWS.index(df), *shape, xb, wb, xs, ws, acc, sat, zero])
    ops = DenseGemm(values(rng, (G, M, K), xb, xs), values(rng, (G, K, N), wb, ws))
    check(ops, spec_of(df, R, C, xb, wb, acc, sat, zero, xs, ws))


@pytest.mark.parametrize("sat", (False, True))
@pytest.mark.parametrize("df", DATAFLOWS)
def test_narrow_accumulator_overflows(df, sat):
    # acc_bits = x_bits + w_bits and extreme operands: accumulators and (ws, is) edge adders
    # overflow in both directions; outputs and overflow counts still equal the mac array's.
    spec = spec_of(df, 2, 2, 3, 4, 7, sat, not sat, True, True)
    x = np.full((1, 3, 4), -4, dtype=np.int64)
    w = np.full((1, 4, 3), -8, dtype=np.int64)
    w[0, :, 1] = 7
    x[0, 1, :2] = 3
    ref = check(DenseGemm(x, w), spec)
    assert ref.overflows > 0


# --- random cases (hypothesis) --------------------------------------------------------------------


@st.composite
def random_case(draw):
    df = draw(st.sampled_from(DATAFLOWS))
    R, C = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    G = draw(st.integers(1, 2))
    M, K, N = (draw(st.integers(1, 4)) for _ in range(3))
    xb, wb = draw(st.integers(2, 8)), draw(st.integers(2, 8))
    xs, ws = draw(st.booleans()), draw(st.booleans())
    acc = draw(st.integers(xb + wb + (0 if xs or ws else 1), 24))
    sat, zero = draw(st.booleans()), draw(st.booleans())
    x = draw(hnp.arrays(np.int64, (G, M, K), elements=st.integers(*lim(xb, xs))))
    w = draw(hnp.arrays(np.int64, (G, K, N), elements=st.integers(*lim(wb, ws))))
    return spec_of(df, R, C, xb, wb, acc, sat, zero, xs, ws), DenseGemm(x, w)


@settings(max_examples=_max_examples(25), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_case())
def test_random_against_mac_reference(case):
    spec, ops = case
    check(ops, spec)
