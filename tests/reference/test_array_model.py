"""Tests of the reference array model alone against hand-derivable facts (datapath.md §4–§6)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelsim.sim.types import ArraySpec, DenseGemm, GemmResult, class_names
from tests.reference.array_model import reference_simulate_gemm

DATAFLOWS = ("os", "ws", "is")


def spec_of(df, R, C, xb=4, wb=4, acc=None, xs=True, ws=True, sat=False, zero=False) -> ArraySpec:
    acc = acc if acc is not None else xb + wb + 12
    return ArraySpec(
        rows=R, cols=C, dataflow=df, idle_zero=zero, x_bits=xb, w_bits=wb, acc_bits=acc,
        saturate=sat, x_signed=xs, w_signed=ws,
    )  # fmt: skip


def lim(bits: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def operands(rng, G, M, K, N, spec: ArraySpec) -> DenseGemm:
    xlo, xhi = lim(spec.x_bits, spec.x_signed)
    wlo, whi = lim(spec.w_bits, spec.w_signed)
    return DenseGemm(
        rng.integers(xlo, xhi + 1, size=(G, M, K)), rng.integers(wlo, whi + 1, size=(G, K, N))
    )


def wrap(v: np.ndarray, bits: int) -> np.ndarray:
    half = 1 << (bits - 1)
    return ((v + half) % (1 << bits)) - half


def dims(df: str, M: int, K: int, N: int) -> tuple[int, int, int]:
    """(rows dim, cols dim, T) per SPEC §5.1."""
    return {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[df]


def expected_cycles(df: str, R: int, C: int, G: int, M: int, K: int, N: int):
    """(folds, cycles_compute, cycles_active) from datapath.md §5 by enumerating the folds."""
    rd, cd, T = dims(df, M, K, N)
    folds = compute = active = 0
    for _g in range(G):
        for c0 in range(0, cd, C):
            for r0 in range(0, rd, R):
                r_act, c_act = min(R, rd - r0), min(C, cd - c0)
                folds += 1
                if df == "os":
                    compute += R + C + T - 2
                    active += r_act + c_act + T - 2  # last enable at s = r_act-1 + c_act-1 + K-1
                else:
                    compute += 2 * R + C + T - 2
                    active += R + T + r_act + c_act - 2  # stream s = T-1 + r_act-1 + c_act-1
    return folds, compute, active


def check_bookkeeping(res: GemmResult, ops: DenseGemm, spec: ArraySpec) -> None:
    G, M, K, N = ops.groups, ops.M, ops.K, ops.N
    folds, compute, active = expected_cycles(spec.dataflow, spec.rows, spec.cols, G, M, K, N)
    assert res.folds == folds
    assert res.cycles_compute == compute
    assert res.cycles_active == active
    assert res.macs == G * M * K * N
    assert tuple(res.toggles) == class_names(spec.dataflow)
    assert res.trace.shape == (compute, 5) and res.trace.dtype == np.int64
    assert res.trace.sum(axis=0).tolist() == list(res.toggles.values())
    assert (res.trace >= 0).all()
    assert res.y.shape == (G, M, N) and res.y.dtype == np.int64


# --- outputs and cycle counts ---------------------------------------------------------------------

SHAPES = [  # (R, C, G, M, K, N)
    (2, 3, 1, 5, 7, 4),  # nothing a multiple of the array
    (3, 2, 1, 4, 1, 5),  # K = 1
    (2, 2, 1, 1, 5, 3),  # M = 1
    (3, 3, 1, 4, 4, 1),  # N = 1
    (1, 1, 1, 3, 4, 2),  # 1x1 array
    (1, 4, 1, 5, 3, 6),  # 1xC
    (4, 1, 1, 3, 6, 5),  # Rx1
    (2, 3, 2, 3, 5, 4),  # groups = 2
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("df", DATAFLOWS)
def test_outputs_equal_numpy_and_cycles(df, shape):
    R, C, G, M, K, N = shape
    rng = np.random.default_rng([DATAFLOWS.index(df), *shape])
    for xs, ws in ((True, True), (False, False), (False, True)):
        spec = spec_of(df, R, C, xb=5, wb=3, xs=xs, ws=ws, acc=5 + 3 + 8)
        ops = operands(rng, G, M, K, N, spec)
        res = reference_simulate_gemm(ops, spec)
        assert np.array_equal(res.y, ops.x @ ops.w)
        assert res.overflows == 0
        check_bookkeeping(res, ops, spec)


def test_trace_false_returns_no_trace():
    spec = spec_of("ws", 2, 2)
    ops = operands(np.random.default_rng(5), 1, 3, 3, 3, spec)
    a = reference_simulate_gemm(ops, spec, trace=False)
    b = reference_simulate_gemm(ops, spec, trace=True)
    assert a.trace is None
    assert a.toggles == b.toggles and np.array_equal(a.y, b.y)


def test_all_zero_operands_toggle_nothing():
    # Registers start at 0 and every unit's previous node vector is the one for (0, 0) (§4), so
    # all-zero data (even with Baugh–Wooley's non-zero idle nodes) never toggles anything.
    for df in DATAFLOWS:
        for zero in (False, True):
            spec = spec_of(df, 2, 3, xs=True, ws=True, zero=zero)
            ops = DenseGemm(np.zeros((2, 4, 5), np.int64), np.zeros((2, 5, 4), np.int64))
            res = reference_simulate_gemm(ops, spec)
            assert set(res.toggles.values()) == {0}
            assert (res.y == 0).all()


# --- hand-worked cases ----------------------------------------------------------------------------


def test_hand_ws_1x1_unsigned_2bit_K1_M2():
    # ws, 1x1, x/w unsigned 2-bit, acc 4, K=1, N=1, M=2: X = [[2],[1]], W = [[3]].
    # One fold, L = 2R + C + T - 2 = 2 + 1 + 2 - 2 = 3 cycles.
    # c0 (preload p=0): top edge presents S[0,0] = 3, valid: w_reg 00->11 (2). x, psum idle (0).
    # c1 (stream s=0): x_reg 00->10 (1). mult(2,3) vs its (0,0) nodes [0]*8: pp = [0,1|0,1],
    #     row 1: A = P_0>>1 = [1,0], B = [0,1] -> s=[1,1] c=[0,0] -> nodes [0,1,0,1,1,1,0,0] (4).
    #     product 6; adder(0, 0110): sums 0110, carries 0 -> 2 toggles; psum 0000->0110 (2).
    # c2 (stream s=1): x_reg 10->01 (2). mult(1,3): pp=[1,0|1,0], A=[0,0], B=[1,0] -> s=[1,0]
    #     c=[0,0] -> nodes [1,0,1,0,1,0,0,0], differs from previous in 5 positions (5).
    #     product 3; adder(0, 0011): sums 0011 vs 0110 (2); psum 0110->0011 (2).
    # Totals: x 3, w 2, psum 4, mult 9, adder 4. Last valid load in cycle 2 -> active 3.
    # idle: zero changes nothing here (x and psum are already 0 when idle in c0).
    ops = DenseGemm(np.array([[[2], [1]]]), np.array([[[3]]]))
    for zero in (False, True):
        spec = spec_of("ws", 1, 1, xb=2, wb=2, acc=4, xs=False, ws=False, zero=zero)
        res = reference_simulate_gemm(ops, spec)
        assert res.y.ravel().tolist() == [6, 3]
        assert res.toggles == {"x_reg": 3, "w_reg": 2, "psum_reg": 4, "mult": 9, "adder": 4}
        assert res.trace.tolist() == [[0, 2, 0, 0, 0], [1, 0, 2, 4, 2], [2, 0, 2, 5, 2]]
        assert (res.cycles_compute, res.cycles_active, res.folds, res.overflows) == (3, 3, 1, 0)


def test_hand_ws_1x1_two_kfolds_edge_adder():
    # ws, 1x1, unsigned 2-bit, acc 4, M=N=1, K=2: X = [[1, 1]], W = [[1],[3]]. Two K-folds of
    # L = 2 + 1 + 1 - 2 = 2 cycles each.
    # c0 (fold 0 preload): w_reg 00->01 (1).
    # c1 (fold 0 stream): x 00->01 (1); mult(1,1): pp=[1,0|0,0], row 1 all 0 -> nodes
    #     [1,0,0,0,0,0,0,0] (1); adder(0,0001) (1); psum 0000->0001 (1). Column result 1 is
    #     written to the ofmap as is (first K-fold).
    # c2 (fold 1 preload): w_reg 01->11 (1). hold: x, psum keep; zero: x 01->00 (1),
    #     psum 0001->0000 (1).
    # c3 (fold 1 stream): hold: x 01->01 (0); zero: x 00->01 (1). mult(1,3): pp=[1,0|1,0],
    #     A=[0,0], B=[1,0] -> s=[1,0] -> nodes [1,0,1,0,1,0,0,0] (2). adder(0,0011): sums
    #     0011 vs 0001 (1). psum: hold 0001->0011 (1); zero 0000->0011 (2).
    #     Edge adder of column 0: adder(0001, 0011): S = 0100, carries ((4^1^3)>>1) = 0011,
    #     vs its (0,0) nodes: 1 + 2 = 3 toggles. y = 4.
    ops = DenseGemm(np.array([[[1, 1]]]), np.array([[[1], [3]]]))
    hold = spec_of("ws", 1, 1, xb=2, wb=2, acc=4, xs=False, ws=False, zero=False)
    res = reference_simulate_gemm(ops, hold)
    assert res.y.ravel().tolist() == [4]
    assert res.toggles == {"x_reg": 1, "w_reg": 2, "psum_reg": 2, "mult": 3, "adder": 5}
    assert res.trace.tolist() == [
        [0, 1, 0, 0, 0], [1, 0, 1, 1, 1], [0, 1, 0, 0, 0], [0, 0, 1, 2, 4]
    ]  # fmt: skip
    assert (res.cycles_compute, res.cycles_active, res.folds) == (4, 4, 2)
    zero = spec_of("ws", 1, 1, xb=2, wb=2, acc=4, xs=False, ws=False, zero=True)
    res = reference_simulate_gemm(ops, zero)
    assert res.toggles == {"x_reg": 3, "w_reg": 2, "psum_reg": 4, "mult": 3, "adder": 5}
    assert res.trace.tolist() == [
        [0, 1, 0, 0, 0], [1, 0, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 2, 2, 4]
    ]  # fmt: skip


def test_hand_idle_zero_inactive_column():
    # ws, R=1, C=2, K=M=N=1 (column 1 inactive), unsigned 4-bit, X=5 (0101), W=7 (0111).
    # L = 2 + 2 + 1 - 2 = 3. c0: preload, w(0,0) <- 7 (3 toggles). c1 (s=0): PE(0,0) enabled,
    # x 0000->0101 (2), psum <- 35 = 0b100011 (3). c2 (s=1): PE(0,0) receives nothing:
    # hold keeps both; zero loads 0: x (2) + psum (3). PE(0,1) never receives valid data
    # (c >= c_act): its registers stay 0 in both modes.
    ops = DenseGemm(np.array([[[5]]]), np.array([[[7]]]))
    for zero, x_t, p_t in ((False, 2, 3), (True, 4, 6)):
        spec = spec_of("ws", 1, 2, xb=4, wb=4, acc=10, xs=False, ws=False, zero=zero)
        res = reference_simulate_gemm(ops, spec)
        assert res.y.ravel().tolist() == [35]
        t = res.toggles
        assert (t["x_reg"], t["w_reg"], t["psum_reg"]) == (x_t, 3, p_t)
        assert res.trace[:, 0].tolist() == [0, 2, x_t - 2]
        assert res.cycles_active == 2  # last valid load in fold cycle 1


def test_fold_order_k_folds_innermost():
    # ws, 1x1, M=1, K=2, N=2, hold, unsigned 2-bit. W = [[1, 2], [3, 0]]. With K-folds innermost
    # (§5) the w_reg loads W[0,0], W[1,0], W[0,1], W[1,1] = 1, 3, 2, 0 at the preload cycles
    # 0, 2, 4, 6: toggles 0->1 (1), 1->3 (1), 3->2 (1), 2->0 (1). (N-folds innermost would give
    # 1, 2, 1, 2.)
    ops = DenseGemm(np.array([[[1, 1]]]), np.array([[[1, 2], [3, 0]]]))
    spec = spec_of("ws", 1, 1, xb=2, wb=2, acc=6, xs=False, ws=False)
    res = reference_simulate_gemm(ops, spec)
    assert res.trace[[0, 2, 4, 6], 1].tolist() == [1, 1, 1, 1]
    assert res.y.ravel().tolist() == [4, 2]


def test_os_acc_reg_keeps_value_across_folds():
    # os, 1x1, K=1, M=2, N=1, unsigned 3-bit, acc 8: folds (m=0), (m=1), one cycle each.
    # acc 0 -> 2*3=6 (00000110, 2 toggles) -> 5*3=15 (00001111: 6^15 = 1001, 2 toggles).
    ops = DenseGemm(np.array([[[2], [5]]]), np.array([[[3]]]))
    for zero in (False, True):
        spec = spec_of("os", 1, 1, xb=3, wb=3, acc=8, xs=False, ws=False, zero=zero)
        res = reference_simulate_gemm(ops, spec)
        assert res.y.ravel().tolist() == [6, 15]
        assert res.toggles["acc_reg"] == 4
        assert (res.cycles_compute, res.folds) == (2, 2)


# --- overflow -------------------------------------------------------------------------------------


@pytest.mark.parametrize("df", DATAFLOWS)
def test_saturate_clamps_monotone_sums(df):
    # Unsigned 4x4-bit operands, acc 10 (max 511): products 0..225 are non-negative, so every
    # partial sum only grows and saturation is sticky: y = min(X@W, 511) exactly (also across the
    # ws/is edge accumulation: min(min(a, M) + min(b, M), M) = min(a + b, M) for a, b >= 0).
    rng = np.random.default_rng(7)
    spec = spec_of(df, 2, 2, xb=4, wb=4, acc=10, xs=False, ws=False, sat=True)
    ops = DenseGemm(rng.integers(8, 16, size=(1, 3, 7)), rng.integers(8, 16, size=(1, 7, 3)))
    res = reference_simulate_gemm(ops, spec)
    exact = ops.x @ ops.w
    assert (exact > 511).any()
    assert np.array_equal(res.y, np.minimum(exact, 511))
    assert res.overflows > 0
    # Negative side: signed x in [-8, -1] times unsigned w in [8, 15]: every product is negative.
    spec = spec_of(df, 2, 2, xb=4, wb=4, acc=9, xs=True, ws=False, sat=True)
    ops = DenseGemm(rng.integers(-8, 0, size=(1, 3, 7)), rng.integers(8, 16, size=(1, 7, 3)))
    res = reference_simulate_gemm(ops, spec)
    exact = ops.x @ ops.w
    assert (exact < -256).any()
    assert np.array_equal(res.y, np.maximum(exact, -256))
    assert res.overflows > 0


@pytest.mark.parametrize("df", DATAFLOWS)
def test_wrap_narrow_acc_is_modular(df):
    # acc_bits = x_bits + w_bits, extreme signed operands: sums overflow; wrap keeps them mod 2^acc.
    spec = spec_of(df, 2, 3, xb=3, wb=3, acc=6, xs=True, ws=True, sat=False)
    ops = DenseGemm(np.full((1, 4, 5), -4), np.full((1, 5, 4), -4))  # products 16, sums 80
    res = reference_simulate_gemm(ops, spec)
    assert np.array_equal(res.y, wrap(ops.x @ ops.w, 6))
    assert res.overflows > 0


# --- properties (hypothesis) ----------------------------------------------------------------------


@st.composite
def cases(draw):
    df = draw(st.sampled_from(DATAFLOWS))
    R, C = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    G = draw(st.integers(1, 2))
    M, K, N = draw(st.integers(1, 9)), draw(st.integers(1, 9)), draw(st.integers(1, 9))
    xb, wb = draw(st.integers(2, 16)), draw(st.integers(2, 16))
    xs, ws = draw(st.booleans()), draw(st.booleans())
    acc = draw(st.integers(xb + wb, xb + wb + 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    xlo, xhi = lim(xb, xs)
    wlo, whi = lim(wb, ws)
    x = rng.integers(xlo, xhi + 1, size=(G, M, K))
    w = rng.integers(wlo, whi + 1, size=(G, K, N))
    # Push some entries to the extremes (and zero) so overflow paths are exercised.
    x[rng.random(x.shape) < 0.3] = draw(st.sampled_from([xlo, xhi, 0]))
    w[rng.random(w.shape) < 0.3] = draw(st.sampled_from([wlo, whi, 0]))
    spec = spec_of(df, R, C, xb=xb, wb=wb, acc=acc, xs=xs, ws=ws)
    return spec, DenseGemm(x, w)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_properties(case):
    spec, ops = case
    hold = reference_simulate_gemm(ops, spec)
    check_bookkeeping(hold, ops, spec)
    # wrap: the accumulation is exact modulo 2^acc_bits in every dataflow.
    assert np.array_equal(hold.y, wrap(ops.x @ ops.w, spec.acc_bits))

    # idle: zero only inserts zero-loads between the same valid loads, so per register class it
    # never toggles less than hold (popcount(a^b) <= popcount(a) + popcount(b)); arithmetic units
    # are operand-isolated and see the same operands, so everything else is identical.
    zero_spec = ArraySpec(**{**spec.__dict__, "idle_zero": True})
    zero = reference_simulate_gemm(ops, zero_spec)
    names = class_names(spec.dataflow)
    for name in names[:3]:
        assert zero.toggles[name] >= hold.toggles[name]
    for name in names[3:]:
        assert zero.toggles[name] == hold.toggles[name]
    assert np.array_equal(zero.y, hold.y) and zero.overflows == hold.overflows
    assert zero.cycles_active == hold.cycles_active
    assert np.array_equal(zero.trace[:, 3:], hold.trace[:, 3:])

    # saturate differs from wrap only after an overflow event.
    sat = reference_simulate_gemm(ops, ArraySpec(**{**spec.__dict__, "saturate": True}))
    if hold.overflows == 0:
        assert np.array_equal(sat.y, hold.y) and sat.toggles == hold.toggles
        assert np.array_equal(sat.trace, hold.trace) and sat.overflows == 0
    else:
        assert sat.overflows > 0
        amax, amin = (1 << (spec.acc_bits - 1)) - 1, -(1 << (spec.acc_bits - 1))
        assert ((sat.y <= amax) & (sat.y >= amin)).all()


def test_rejects_out_of_range_values_and_narrow_acc():
    spec = spec_of("os", 2, 2, xb=4, wb=4, xs=False, ws=False)
    with pytest.raises(ValueError):
        reference_simulate_gemm(DenseGemm(np.full((1, 2, 2), 16), np.ones((1, 2, 2), int)), spec)
    with pytest.raises(ValueError):
        reference_simulate_gemm(DenseGemm(np.ones((1, 2, 2), int), np.full((1, 2, 2), -1)), spec)
    bad = spec_of("os", 2, 2, xb=4, wb=4, acc=7)
    with pytest.raises(ValueError):
        reference_simulate_gemm(DenseGemm(np.ones((1, 2, 2), int), np.ones((1, 2, 2), int)), bad)
