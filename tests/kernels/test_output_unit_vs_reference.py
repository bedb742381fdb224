"""The output unit's kernel (``accelsim.sim.output.run_unit``) must equal the slow reference
(``tests/reference/output_unit_model.py``) exactly — outputs, toggles and the per-cycle trace —
across dataflows, odd shapes, accumulator and output widths, signedness, shifts (none, one bit,
middle, acc_bits - 1) and ReLU; and its outputs must equal the NumPy reference
``requantize_reference`` (round half away from zero, clamp)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.sim.output import UnitParams, requantize_reference, run_unit
from accelsim.types import ArraySpec
from tests.reference.output_unit_model import simulate

SHAPES = ((1, 1, 1, 1, 1, 1), (1, 5, 3, 7, 2, 3), (2, 6, 9, 4, 4, 2), (1, 3, 4, 11, 3, 5))


def _params(acc_bits: int, shift: int, bits: int, signed: bool, relu: bool) -> UnitParams:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return UnitParams(acc_bits, shift, bits, max(lo, 0) if relu else lo, hi)


def _y(rng, G, M, N, acc_bits, mode):
    lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    if mode == "extreme":
        pick = np.array([lo, hi, 0, -1, 1, lo + 1, hi - 1])
        return pick[rng.integers(0, len(pick), (G, M, N))]
    if mode == "small":
        return np.clip(rng.integers(-300, 301, (G, M, N)), lo, hi)
    return rng.integers(lo, hi + 1, (G, M, N), dtype=np.int64)


def _spec(dataflow, R, C, acc_bits):
    return ArraySpec(R, C, dataflow, False, 8, 8, acc_bits, False, True, True)


def _check(dataflow, shape, acc_bits, shift, bits, signed, relu, mode, seed):
    G, M, K, N, R, C = shape
    rng = np.random.default_rng(seed)
    y = _y(rng, G, M, N, acc_bits, mode)
    p = _params(acc_bits, shift, bits, signed, relu)
    spec = _spec(dataflow, R, C, acc_bits)
    df = DATAFLOWS[dataflow]
    cycles = df.count(G, M, K, N, R, C) * df.fold_cycles(R, C, df.dims(M, K, N)[2])
    out, toggles, trace = run_unit(spec, p, y, K, cycles, True)
    ref_out, ref_toggles, ref_trace = simulate(y, dataflow, R, C, K, acc_bits, shift, bits,
                                               p.lo, p.hi)
    np.testing.assert_array_equal(out, ref_out)
    assert toggles == ref_toggles
    np.testing.assert_array_equal(trace, ref_trace)
    np.testing.assert_array_equal(out, requantize_reference(y, p))
    out2, toggles2, none = run_unit(spec, p, y, K, cycles, False)
    assert none is None and toggles2 == toggles
    np.testing.assert_array_equal(out2, out)
    return toggles


@pytest.mark.parametrize("dataflow", ("os", "ws", "is"))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("shift", (0, 1, 7, 15))
@pytest.mark.parametrize("signed,relu", ((True, False), (True, True), (False, False)))
def test_matches_reference(dataflow, shape, shift, signed, relu):
    toggles = _check(dataflow, shape, 16, shift, 6, signed, relu, "full", shift * 7 + relu)
    if shape[1] * shape[3] > 4:
        assert toggles > 0


@settings(max_examples=40, deadline=None)
@given(dataflow=st.sampled_from(("os", "ws", "is")), shape=st.sampled_from(SHAPES),
       acc_bits=st.integers(4, 48), bits=st.integers(2, 16), signed=st.booleans(),
       relu=st.booleans(), mode=st.sampled_from(("full", "extreme", "small")),
       shift_frac=st.floats(0, 1), seed=st.integers(0, 2**31))
def test_matches_reference_random(dataflow, shape, acc_bits, bits, signed, relu, mode,
                                  shift_frac, seed):
    shift = min(acc_bits - 1, int(shift_frac * acc_bits))
    _check(dataflow, shape, acc_bits, shift, bits, signed, relu, mode, seed)


def test_clamps_and_relu_reach_their_bounds():
    """Saturating values land on both bounds; ReLU moves the lower bound to 0."""
    y = np.array([[[-(1 << 20), -5, -4, -3, 3, 4, 5, 1 << 20]]], dtype=np.int64)
    p = _params(24, 1, 4, True, False)
    out, _, _ = run_unit(_spec("ws", 2, 2, 24), p, y.transpose(0, 2, 1), 1, 10**4, False)
    assert out.ravel().tolist() == [-8, -3, -2, -2, 2, 2, 3, 7]  # -2.5 -> -3, 2.5 -> 3
    p = _params(24, 1, 4, True, True)
    out, _, _ = run_unit(_spec("ws", 2, 2, 24), p, y.transpose(0, 2, 1), 1, 10**4, False)
    assert out.ravel().tolist() == [0, 0, 0, 0, 2, 2, 3, 7]
