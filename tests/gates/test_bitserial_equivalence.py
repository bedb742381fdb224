"""Structural equivalence of the bitserial array (docs/bitserial.md; ws, is and os): the
gate-level netlist of accelsim.gates.bitserial_array against the bitserial kernels, every output
and every class's toggles in every (bit-serial) cycle; operand isolation is the negative control."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from accelsim.gates.array import Options
from accelsim.gates.bitserial_array import simulate_bitserial_gates
from accelsim.sim.array import simulate_gemm
from accelsim.sim.types import ArraySpec, DenseGemm

#: (R, C, G, M, K, N, x_bits, w_bits, x_signed, w_signed, idle_zero, saturate, acc_bits, extreme)
CASES = {
    "2x2-s3xs3-hold": (2, 2, 1, 3, 3, 3, 3, 3, True, True, False, False, 9, False),
    "2x3-u4xs4-zero-kfolds": (2, 3, 1, 3, 5, 4, 4, 4, False, True, True, False, 11, False),
    "3x2-s4xu3-hold-2groups": (3, 2, 2, 2, 4, 3, 4, 3, True, False, False, False, 10, False),
    "2x2-u3xu3-zero": (2, 2, 1, 3, 3, 2, 3, 3, False, False, True, False, 9, False),
    "2x2-s4xs4-sat": (2, 2, 1, 3, 6, 3, 4, 4, True, True, True, True, 8, True),
    "2x2-s3xs4-wrap": (2, 2, 1, 2, 6, 3, 3, 4, True, True, False, False, 7, True),
}


def make(df: str, name: str):
    R, C, G, M, K, N, xb, wb, xs, ws, zero, sat, acc, extreme = CASES[name]
    spec = ArraySpec(rows=R, cols=C, dataflow=df, idle_zero=zero, x_bits=xb, w_bits=wb,
                     acc_bits=acc, saturate=sat, x_signed=xs, w_signed=ws)
    rng = np.random.default_rng(zlib.crc32(f"{df}/{name}".encode()))

    def draw(bits, signed, shape):
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        if extreme:  # mostly extreme values, so that accumulators overflow
            return rng.choice([hi, hi, hi, lo, 1], size=shape)
        return rng.integers(lo, hi + 1, size=shape)

    return spec, draw(xb, xs, (G, M, K)), draw(wb, ws, (G, K, N))


@pytest.mark.parametrize("df", ["ws", "is", "os"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_bitserial_gate_level_equals_kernel_trace(df: str, name: str) -> None:
    spec, x, w = make(df, name)
    res = simulate_gemm(DenseGemm(x, w), spec, trace=True, kind="bitserial")
    y, trace = simulate_bitserial_gates(x, w, spec)
    np.testing.assert_array_equal(y, res.y)
    assert trace.shape == res.trace.shape
    np.testing.assert_array_equal(trace, res.trace)


def test_overflow_cases_overflow() -> None:
    """The wrap/saturate cases really overflow (else they would prove little)."""
    for name in ("2x2-s4xs4-sat", "2x2-s3xs4-wrap"):
        for df in ("ws", "os"):
            spec, x, w = make(df, name)
            assert simulate_gemm(DenseGemm(x, w), spec, kind="bitserial").overflows > 0, name


@pytest.mark.parametrize("df", ["ws", "is", "os"])
def test_bitserial_without_operand_isolation_differs(df: str) -> None:
    spec, x, w = make(df, "2x3-u4xs4-zero-kfolds")
    res = simulate_gemm(DenseGemm(x, w), spec, trace=True, kind="bitserial")
    y, bad = simulate_bitserial_gates(x, w, spec, Options(isolate=False))
    np.testing.assert_array_equal(y, res.y)  # same arithmetic, other toggles
    assert not np.array_equal(bad, res.trace)
