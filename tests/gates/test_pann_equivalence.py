"""Structural equivalence of the pann array (docs/pann.md; ws, is and os): the gate-level netlist of
accelsim.gates.pann_array against the pann kernels, every output and every class's toggles in
every (stretched) cycle."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from accelsim.gates.array import Options
from accelsim.gates.pann_array import simulate_pann_gates
from accelsim.pe.pann import PannParams
from accelsim.sim.array import simulate_gemm
from accelsim.sim.types import ArraySpec, DenseGemm

#: (R, C, G, M, K, N, x_bits, w_bits, w_signed, idle_zero, saturate, acc_bits)
CASES = {
    "2x2-s3": (2, 2, 1, 3, 3, 3, 3, 3, True, False, False, 10),
    "2x3-s4-zero-kfolds": (2, 3, 1, 3, 5, 4, 4, 4, True, True, False, 12),
    "3x2-u3-hold": (3, 2, 2, 2, 4, 3, 3, 3, False, False, False, 10),
    "2x2-s4-sat": (2, 2, 1, 3, 6, 3, 4, 4, True, True, True, 8),
}


def make(df: str, name: str):
    R, C, G, M, K, N, xb, wb, ws, zero, sat, acc = CASES[name]
    spec = ArraySpec(rows=R, cols=C, dataflow=df, idle_zero=zero, x_bits=xb, w_bits=wb,
                     acc_bits=acc, saturate=sat, x_signed=False, w_signed=ws)
    rng = np.random.default_rng(zlib.crc32(f"{df}/{name}".encode()))
    x = rng.integers(0, 1 << xb, (G, M, K))
    w = (rng.integers(-(1 << (wb - 1)), 1 << (wb - 1), (G, K, N)) if ws
         else rng.integers(0, 1 << wb, (G, K, N)))
    if sat:  # large operands so that the accumulators saturate
        x = np.full_like(x, (1 << xb) - 1)
        w = np.where(w >= 0, (1 << (wb - 1)) - 1, w)
    return spec, x, w


@pytest.mark.parametrize("df", ["ws", "is", "os"])
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("sign", ["subtract", "dual_accumulator"])
@pytest.mark.parametrize("adders", [1, 3])
def test_pann_gate_level_equals_kernel_trace(df: str, name: str, sign: str, adders: int) -> None:
    spec, x, w = make(df, name)
    res = simulate_gemm(DenseGemm(x, w), spec, trace=True, kind="pann",
                        params=PannParams(adders=adders, sign=sign))
    y, trace = simulate_pann_gates(x, w, spec, adders, sign == "dual_accumulator")
    np.testing.assert_array_equal(y, res.y)
    assert trace.shape == res.trace.shape
    np.testing.assert_array_equal(trace, res.trace)


def test_saturating_case_overflows() -> None:
    spec, x, w = make("ws", "2x2-s4-sat")
    res = simulate_gemm(DenseGemm(x, w), spec, kind="pann",
                        params=PannParams(adders=1, sign="subtract"))
    assert res.overflows > 0


@pytest.mark.parametrize("df", ["ws", "is", "os"])
def test_pann_without_operand_isolation_differs(df: str) -> None:
    spec, x, w = make(df, "2x3-s4-zero-kfolds")
    res = simulate_gemm(DenseGemm(x, w), spec, trace=True, kind="pann",
                        params=PannParams(adders=3, sign="dual_accumulator"))
    y, bad = simulate_pann_gates(x, w, spec, 3, True, Options(isolate=False))
    np.testing.assert_array_equal(y, res.y)  # same arithmetic, other toggles
    assert not np.array_equal(bad, res.trace)
