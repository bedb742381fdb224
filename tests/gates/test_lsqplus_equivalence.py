"""Structural equivalence of the lsqplus array (docs/lsqplus.md; both placements, ws/is/os): the
gate-level netlist of accelsim.gates.lsqplus_array — mac or zero-point-subtracting PEs, the
per-column rescale units and, in placement ``output`` with asymmetric weights, the row-sum unit and
its corrections — against the lsqplus kernels: requantized outputs and every class's toggles
(rescale and rowsum included) in every cycle. No operand isolation is the negative control."""

from __future__ import annotations

import zlib
from types import SimpleNamespace

import numpy as np
import pytest

from accelsim.gates.array import Options
from accelsim.gates.lsqplus_array import simulate_lsqplus_gates
from accelsim.pe.lsqplus import LsqplusParams, simulate_lsqplus_gemm
from accelsim.sim.types import ArraySpec, DenseGemm

#: (R, C, G, M, K, N, x_bits, w_bits, x_signed, w_signed, idle_zero, saturate, acc_bits,
#:  weight zero points, y_bits, y_signed)
CASES = {
    "2x2-u4xs4-zp": (2, 2, 1, 3, 3, 3, 4, 4, False, True, True, False, 14, "per_channel", 8,
                     False),
    "2x3-s4xs3-kfolds-hold": (2, 3, 1, 4, 5, 4, 4, 3, True, True, False, False, 13, "per_channel",
                              8, True),
    "3x2-u3xu4-2groups-sat": (3, 2, 2, 2, 4, 3, 3, 4, False, False, True, True, 13, "per_channel",
                              4, True),
    "2x2-u4xs4-symmetric": (2, 2, 1, 3, 4, 3, 4, 4, False, True, False, False, 32, "zero", 8,
                            False),
}


def make(df: str, name: str):
    R, C, G, M, K, N, xb, wb, xs, ws, zero, sat, acc, zp, yb, ys = CASES[name]
    spec = ArraySpec(rows=R, cols=C, dataflow=df, idle_zero=zero, x_bits=xb, w_bits=wb,
                     acc_bits=acc, saturate=sat, x_signed=xs, w_signed=ws)
    rng = np.random.default_rng(zlib.crc32(f"{df}/{name}".encode()))

    def lim(bits, signed):
        return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    def draw(bits, signed, shape):
        lo, hi = lim(bits, signed)
        return rng.integers(lo, hi + 1, size=shape)

    x, w = draw(xb, xs, (G, M, K)), draw(wb, ws, (G, K, N))
    channels = G * N
    zw = draw(wb, ws, channels) if zp == "per_channel" else np.zeros(channels, dtype=np.int64)
    zw[0] = 0  # one symmetric channel among asymmetric ones
    mult = rng.integers(1 << 30, 1 << 31, channels)
    shift = rng.integers(-(xb + wb), 2, channels)  # right shifts that keep outputs in range
    mult[-1], shift[-1] = 0, 0  # the zero multiplier
    ylo, yhi = lim(yb, ys)
    quant = {"scheme": "lsqplus", "x_zero_point": int(draw(xb, xs, 1)[0]), "w_zero_point": zw,
             "bias": rng.integers(-200, 200, channels), "multiplier": mult, "shift": shift,
             "y_zero_point": int(rng.integers(ylo, yhi + 1)), "y_bits": yb, "y_signed": ys}
    return spec, x, w, quant


def kernels(spec, x, w, quant, placement):
    return simulate_lsqplus_gemm(DenseGemm(x, w), spec, trace=True,
                                 params=LsqplusParams(rescale=placement),
                                 layer=SimpleNamespace(quant=quant))


@pytest.mark.parametrize("df", ["ws", "is", "os"])
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("placement", ["output", "pe"])
def test_lsqplus_gate_level_equals_kernel_trace(df: str, name: str, placement: str) -> None:
    spec, x, w, quant = make(df, name)
    res = kernels(spec, x, w, quant, placement)
    y, trace = simulate_lsqplus_gates(x, w, spec, placement, quant)
    np.testing.assert_array_equal(y, res.y)
    assert trace.shape == res.trace.shape
    np.testing.assert_array_equal(trace, res.trace)
    assert res.toggles["rescale"] > 0
    assert (res.toggles["rowsum"] > 0) == (placement == "output" and CASES[name][13] != "zero")
    assert len(np.unique(res.y)) > 2  # outputs that are not all clamped


@pytest.mark.parametrize("df", ["ws", "is", "os"])
@pytest.mark.parametrize("placement", ["output", "pe"])
def test_lsqplus_without_operand_isolation_differs(df: str, placement: str) -> None:
    spec, x, w, quant = make(df, "2x3-s4xs3-kfolds-hold")
    res = kernels(spec, x, w, quant, placement)
    y, bad = simulate_lsqplus_gates(x, w, spec, placement, quant, Options(isolate=False))
    np.testing.assert_array_equal(y, res.y)  # same arithmetic, other toggles
    for cls in (5, 6) if placement == "output" else (4, 5):  # rescale, rowsum / adder, rescale
        assert not np.array_equal(bad[:, cls], res.trace[:, cls])
