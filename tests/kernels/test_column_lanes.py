"""The bit-sliced stationary driver on long streams: the uint32 adder lanes cross their block
boundaries (odd and even remainders), the multiplier takes several passes of rows (split as
evenly as they go); outputs, every toggle class and overflows identical to the scalar
drivers'."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from accelsim.kernels.column_lanes import BLOCK32
from accelsim.kernels.run import run_gemm
from accelsim.kernels.sliced_stationary import fold_stationary_sliced
from accelsim.pe.mac import mac_step_kind
from accelsim.types import ArraySpec, DenseGemm

# (rows, cols, x_bits, w_bits, x_signed, w_signed, acc_bits, saturate, idle_zero)
CONFIGS = [
    (13, 8, 8, 8, False, True, 32, False, False),  # uint32 lanes, full width
    (13, 8, 8, 8, True, True, 20, False, True),  # uint32 lanes, narrower accumulator
    (13, 8, 8, 8, True, True, 18, True, False),  # saturating: int64 lanes
]
STREAMS = (BLOCK32 + 2, 4 * BLOCK32 + 1)


def _draw(rng, bits, signed, shape):
    lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
    return rng.integers(lo, hi, size=shape, dtype=np.int64)


@pytest.mark.parametrize("dataflow", ["ws", "is"])
@pytest.mark.parametrize("cfg", CONFIGS)
def test_long_streams_match_scalar(dataflow, cfg):
    R, C, xb, wb, xs, ws, acc, sat, iz = cfg
    rng = np.random.default_rng([7, ord(dataflow[0]), *map(int, cfg)])
    spec = ArraySpec(R, C, dataflow, iz, xb, wb, acc, sat, xs, ws)
    kind = mac_step_kind(spec)
    assert kind.stationary_untraced is fold_stationary_sliced
    scalar = dataclasses.replace(kind, stationary_untraced=None)
    for T in STREAMS:
        K = 2 * R + 5  # three K-folds, the last one partial
        M, N = (T, C + 3) if dataflow == "ws" else (C + 3, T)
        ops = DenseGemm(_draw(rng, xb, xs, (1, M, K)), _draw(rng, wb, ws, (1, K, N)))
        a = run_gemm(kind, ops, spec)
        b = run_gemm(scalar, ops, spec)
        np.testing.assert_array_equal(a.y, b.y)
        np.testing.assert_array_equal(a.counts, b.counts)
        assert a.counts.sum() > 0
