"""``fast_gemm``: the exact int64 product through BLAS, in each of its three regimes (float32
chunks, float64, int64) and at their edges, against NumPy's int64 matmul."""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.workload.exact import F32_MIN_CHUNK, fast_gemm


def _draw(rng, lo, hi, shape):
    return rng.integers(lo, hi, size=shape, dtype=np.int64)


@pytest.mark.parametrize("K", [0, 1, 63, 514, 515, 1029, 4608])
def test_float32_chunks_exact_for_8_bit_operands(K):
    rng = np.random.default_rng(K)
    x, w = _draw(rng, 0, 256, (37, K)), _draw(rng, -128, 128, (K, 29))
    x[:, : min(K, 3)] = 255  # the largest magnitudes present: the worst-case partial sums
    w[: min(K, 3), :] = -128
    np.testing.assert_array_equal(fast_gemm(x, w), x @ w)


def test_extreme_partial_sums_stay_exact():
    # every term at the bound: each float32 chunk sums to just below 2^24
    K = 3 * (((1 << 24) - 1) // (255 * 128)) + 5
    x = np.full((4, K), 255, dtype=np.int64)
    w = np.full((K, 3), -128, dtype=np.int64)
    np.testing.assert_array_equal(fast_gemm(x, w), x @ w)


@pytest.mark.parametrize("bits", [9, 12, 16, 26, 31])
def test_wider_operands_exact(bits):
    # 9 bits: float32 chunks of 255 terms; 12 and 16: float64 (chunks of 3 and 0 terms); 26:
    # float64 still (2^50 · K < 2^53); 31: int64
    rng = np.random.default_rng(bits)
    lim = 1 << (bits - 1)
    x, w = _draw(rng, -lim, lim, (11, 6)), _draw(rng, -lim, lim, (6, 7))
    x[0, 0], w[0, 0] = -lim, -lim
    np.testing.assert_array_equal(fast_gemm(x, w), x @ w)
    chunk = ((1 << 24) - 1) // (lim * lim)
    assert (chunk >= min(x.shape[1], F32_MIN_CHUNK)) == (bits <= 9)


def test_zero_operand():
    x = np.zeros((5, 700), dtype=np.int64)
    w = np.arange(700 * 3, dtype=np.int64).reshape(700, 3)
    np.testing.assert_array_equal(fast_gemm(x, w), np.zeros((5, 3), dtype=np.int64))
