"""The vectorized output-stationary mac driver (``accelsim.kernels.sliced_os``) must equal the
scalar driver (``accelsim.kernels.drivers.fold_output_stationary`` with the mac step) exactly:
outputs, every counter, registers and the datapath state it leaves for the next fold."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.kernels.drivers import fold_output_stationary
from accelsim.kernels.run import run_gemm
from accelsim.kernels.sliced_os import (fold_os_sliced, fold_os_sliced_parallel, fold_os_tile,
                                        w_inputs)
from accelsim.pe.mac import mac_step_kind
from accelsim.sim.types import ArraySpec, DenseGemm
from tests.kernels.test_kernels_vs_reference import values

WIDTHS = ((2, 2), (2, 16), (3, 5), (5, 3), (7, 7), (8, 8), (9, 4), (12, 11), (16, 16))


def spec_of(R, C, xb, wb, acc, xs, ws, sat, idle_zero) -> ArraySpec:
    return ArraySpec(R, C, "os", idle_zero, xb, wb, acc, sat, xs, ws)


def warm_arrays(rng, R, C, spec):
    """Registers, acc registers and datapath state as a previous fold may leave them."""
    x_reg = rng.integers(0, 1 << spec.x_bits, (R, C))
    w_reg = rng.integers(0, 1 << spec.w_bits, (R, C))
    acc_reg = rng.integers(0, 1 << spec.acc_bits, (R, C))
    state = np.stack([rng.integers(0, 1 << spec.x_bits, (R, C)),
                      rng.integers(0, 1 << spec.w_bits, (R, C)),
                      rng.integers(0, 1 << spec.acc_bits, (R, C)),
                      rng.integers(0, 1 << spec.acc_bits, (R, C)) >> 1], axis=2)
    return [np.ascontiguousarray(a, dtype=np.int64) for a in (x_reg, w_reg, acc_reg, state)]


def compare_fold(seed, R, C, r_act, c_act, K, spec, parallel=False, split=0):
    """One fold from a random warm state through both drivers: every array must match. Returns
    the counters. ``split`` > 0: the sliced side streams the fold as two calls, the second
    continuing it from element ``split`` (``fold_os_tile``'s ``cont``)."""
    rng = np.random.default_rng(seed)
    kind = mac_step_kind(spec)
    X = values(rng, (r_act, K), spec.x_bits, spec.x_signed)
    Wt = values(rng, (c_act, K), spec.w_bits, spec.w_signed)
    warm = warm_arrays(rng, R, C, spec)
    fast = [a.copy() for a in warm]
    slow = [a.copy() for a in warm]
    out_f = np.zeros((r_act, c_act), dtype=np.int64)
    out_s = np.zeros((r_act, c_act), dtype=np.int64)
    cnt_f = np.zeros(kind.counters, dtype=np.int64)
    cnt_s = np.zeros(kind.counters, dtype=np.int64)
    if split:
        for lo, hi, cont in ((0, split, False), (split, K, True)):
            Xp, Wp = np.ascontiguousarray(X[:, lo:hi]), np.ascontiguousarray(Wt[:, lo:hi])
            fold_os_tile(kind.consts, Xp, Wp, w_inputs(kind.consts, Wp), out_f, R, C,
                         spec.idle_zero, *fast, cnt_f, cont)
    else:
        driver = fold_os_sliced_parallel if parallel else fold_os_sliced
        driver(kind.consts, X, Wt, out_f, R, C, spec.idle_zero, *fast, cnt_f)
    starts = np.arange(R + C + K, dtype=np.int64)
    no_trace = np.zeros((0, kind.classes), dtype=np.int64)
    fold_output_stationary(kind.consts, kind.aux, X, Wt, out_s, R, C, spec.x_bits, spec.w_bits,
                           spec.idle_zero, starts, *slow, cnt_s, no_trace)
    assert np.array_equal(cnt_f, cnt_s), f"counts {cnt_f} != {cnt_s}"
    assert np.array_equal(out_f, out_s), "outputs differ"
    for name, a, b in zip(("x_reg", "w_reg", "acc_reg", "state"), fast, slow):
        assert np.array_equal(a, b), f"{name} differs"
    return cnt_s


@pytest.mark.parametrize("xb,wb", WIDTHS)
@pytest.mark.parametrize("signs", ((False, False), (False, True), (True, False), (True, True)))
def test_widths_and_signedness(xb, wb, signs):
    spec = spec_of(3, 4, xb, wb, xb + wb + 3, signs[0], signs[1], False, False)
    counts = compare_fold(xb * 100 + wb, 3, 4, 3, 4, 65, spec)
    assert counts[3] > 0 and counts[4] > 0  # multiplier and adder toggled: not vacuous


@pytest.mark.parametrize("K", (1, 2, 62, 63, 64, 65, 126, 127, 130))
def test_stream_lengths(K):
    spec = spec_of(2, 3, 8, 8, 24, False, True, False, False)
    compare_fold(K, 2, 3, 2, 3, K, spec)


@pytest.mark.parametrize("sat", (False, True))
@pytest.mark.parametrize("acc", (4, 9, 16, 48))
def test_wrap_and_saturate(sat, acc):
    """Narrow accumulators overflow often; 48 bits is the widest allowed."""
    spec = spec_of(2, 2, 8, 8, acc, True, True, sat, False)
    counts = compare_fold(acc, 2, 2, 2, 2, 130, spec)
    assert counts[5] > 0 or acc == 48  # narrow accumulators overflowed


@pytest.mark.parametrize("idle_zero", (False, True))
def test_partial_fold(idle_zero):
    """r_act < R and c_act < C: idle PEs keep (or zero) their registers."""
    spec = spec_of(5, 4, 6, 10, 20, True, False, False, idle_zero)
    compare_fold(7, 5, 4, 3, 2, 70, spec)
    compare_fold(8, 5, 4, 1, 4, 1, spec)


@pytest.mark.parametrize("parallel", (False, True))
def test_rows_grouped_per_pass(parallel):
    """Short streams put several rows in one multiplier pass (here 5 of 32, the last pass 2)."""
    spec = spec_of(32, 32, 8, 8, 32, False, True, False, False)
    compare_fold(13, 32, 32, 32, 32, 147, spec, parallel=parallel)
    compare_fold(14, 32, 32, 23, 32, 147, spec, parallel=parallel)


def test_parallel_driver():
    spec = spec_of(4, 3, 8, 8, 32, False, True, True, True)
    compare_fold(11, 4, 3, 4, 3, 200, spec, parallel=True)
    compare_fold(12, 4, 3, 2, 1, 64, spec, parallel=True)


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1), xb=st.integers(2, 16), wb=st.integers(2, 16),
       xs=st.booleans(), ws=st.booleans(), sat=st.booleans(), idle_zero=st.booleans(),
       acc=st.integers(4, 48), R=st.integers(1, 4), C=st.integers(1, 4), K=st.integers(1, 140))
def test_random_folds(seed, xb, wb, xs, ws, sat, idle_zero, acc, R, C, K):
    spec = spec_of(R, C, xb, wb, acc, xs, ws, sat, idle_zero)
    rng = np.random.default_rng(seed)
    compare_fold(seed, R, C, int(rng.integers(1, R + 1)), int(rng.integers(1, C + 1)), K, spec)


def test_run_gemm_uses_it_untraced_only():
    """Untraced os runs go through the kind's fast driver (folds carry state between them);
    traced runs do not; both agree with the scalar driver."""
    spec = spec_of(3, 2, 8, 6, 20, False, True, False, True)
    rng = np.random.default_rng(5)
    ops = DenseGemm(values(rng, (1, 7, 70), 8, False), values(rng, (1, 70, 5), 6, True))
    kind = mac_step_kind(spec)
    calls = []

    def counting(*args):
        calls.append(1)
        kind.output_stationary_untraced(*args)

    fast = run_gemm(dataclasses.replace(kind, output_stationary_untraced=counting), ops, spec)
    assert len(calls) == fast.folds == 9
    scalar = run_gemm(dataclasses.replace(kind, output_stationary_untraced=None), ops, spec)
    assert np.array_equal(fast.y, scalar.y) and np.array_equal(fast.counts, scalar.counts)
    traced = run_gemm(dataclasses.replace(kind, output_stationary_untraced=counting), ops, spec,
                      trace=True)
    assert len(calls) == 9
    assert np.array_equal(traced.counts, scalar.counts)


@settings(deadline=None)
@given(seed=st.integers(0, 2**32 - 1), xb=st.integers(2, 16), wb=st.integers(2, 16),
       xs=st.booleans(), ws=st.booleans(), sat=st.booleans(), acc=st.integers(4, 48),
       R=st.integers(1, 4), C=st.integers(1, 4), K=st.integers(2, 140), data=st.data())
def test_a_fold_continued_in_a_second_call(seed, xb, wb, xs, ws, sat, acc, R, C, K, data):
    """A fold streamed as two calls, the second continuing it (``cont``: sampled mode's chunks
    of K), counts, outputs and leaves exactly what the scalar driver's one fold does."""
    spec = spec_of(R, C, xb, wb, acc, xs, ws, sat, False)
    rng = np.random.default_rng(seed)
    compare_fold(seed, R, C, int(rng.integers(1, R + 1)), int(rng.integers(1, C + 1)), K, spec,
                 split=data.draw(st.integers(1, K - 1)))
