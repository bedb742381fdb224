"""The bit-sliced stationary driver on arrays wide enough that a row's PEs share plane words
(short streams packed several PEs to a word, PEs straddling words, rows grouped through the
multiplier) and on the stream lengths where its plane layout changes: outputs, every
toggle class and overflows identical to the scalar drivers'."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from accelsim.kernels.run import run_gemm
from accelsim.kernels.sliced_stationary import SHORT_T, fold_stationary_sliced
from accelsim.pe.mac import mac_step_kind
from accelsim.types import ArraySpec, DenseGemm


def _draw(rng, bits, signed, shape):
    lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
    return rng.integers(lo, hi, size=shape, dtype=np.int64)


# (rows, cols, x_bits, w_bits, x_signed, w_signed, acc_bits, saturate, idle_zero)
CONFIGS = [
    (16, 24, 8, 8, True, True, 32, False, False),
    (13, 11, 8, 8, True, True, 14, True, True),
    (9, 40, 16, 16, True, True, 40, False, True),
    (7, 33, 2, 3, False, True, 6, True, False),
    (12, 20, 5, 9, True, False, 12, False, False),
]

# stream lengths: several PEs a word, both sides of the switch of plane set-up, a PE in one word
# or more, long streams
STREAMS = (1, 2, 7, SHORT_T - 1, SHORT_T, 62, 63, 64, 130)


@pytest.mark.parametrize("dataflow", ["ws", "is"])
@pytest.mark.parametrize("cfg", CONFIGS)
def test_wide_sliced_matches_scalar(dataflow, cfg):
    R, C, xb, wb, xs, ws, acc, sat, iz = cfg
    rng = np.random.default_rng([ord(dataflow[0]), *map(int, cfg)])
    spec = ArraySpec(R, C, dataflow, iz, xb, wb, acc, sat, xs, ws)
    kind = mac_step_kind(spec)
    assert kind.stationary_untraced is fold_stationary_sliced
    scalar = dataclasses.replace(kind, stationary_untraced=None)
    for T in STREAMS:
        K = 2 * R + 3  # three K-folds, the last one partial
        cols = C + C // 2 + 1  # a full column fold and a partial one
        M, N = (T, cols) if dataflow == "ws" else (cols, T)
        ops = DenseGemm(_draw(rng, xb, xs, (1, M, K)), _draw(rng, wb, ws, (1, K, N)))
        a = run_gemm(kind, ops, spec)
        b = run_gemm(scalar, ops, spec)
        np.testing.assert_array_equal(a.y, b.y)
        np.testing.assert_array_equal(a.counts, b.counts)
