"""Structural equivalence: the gate-level array built from docs/datapath.md (accelsim.gates),
simulated by the NumPy netlist evaluator, against the kernels behind ``accelsim run --trace`` —
outputs and every class's toggles in every cycle. Negative controls (no operand isolation, an
ungated psum register) are plausible hardware that must differ."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.gates.array import Options, simulate_gates
from accelsim.sim.array import simulate_gemm
from accelsim.sim.types import ArraySpec, DenseGemm
from accelsim.workload import Layer, save_workload

DATAFLOWS = ("ws", "is", "os")
#: (R, C, G, M, K, N, x_bits, w_bits, x_signed, w_signed, idle_zero, saturate, extreme operands)
CASES = {
    "1x1-int4": (1, 1, 1, 3, 2, 2, 4, 4, True, True, False, False, False),
    "2x2-int4-zero": (2, 2, 1, 3, 3, 3, 4, 4, True, True, True, False, False),
    "3x2-mixed-uxs": (3, 2, 1, 4, 5, 3, 4, 3, False, True, False, False, False),
    "2x3-mixed-sxu-sat": (2, 3, 1, 3, 4, 5, 3, 4, True, False, False, True, True),
    "2x2-unsigned-zero": (2, 2, 2, 3, 3, 2, 3, 3, False, False, True, False, False),
    "2x2-wrap-overflow": (2, 2, 1, 2, 6, 3, 4, 4, True, True, True, False, True),
    "4x4-int8": (4, 4, 1, 5, 6, 5, 8, 8, True, True, False, False, False),
    "2x2-int8-uxs-sat": (2, 2, 1, 3, 5, 3, 8, 8, False, True, True, True, True),
}


def make_case(df: str, case: tuple, seed: int) -> tuple[ArraySpec, np.ndarray, np.ndarray]:
    R, C, G, M, K, N, xb, wb, xs, ws, zero, sat, extreme = case
    acc = xb + wb + (0 if xs or ws else 1) + (0 if extreme else 3)
    spec = ArraySpec(rows=R, cols=C, dataflow=df, idle_zero=zero, x_bits=xb, w_bits=wb,
                     acc_bits=acc, saturate=sat, x_signed=xs, w_signed=ws)
    rng = np.random.default_rng(seed)

    def draw(bits, signed, shape):
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        if extreme:  # mostly the extreme values, so that accumulators overflow
            return rng.choice([hi, hi, hi, lo, 1], size=shape)
        return rng.integers(lo, hi + 1, size=shape)

    return spec, draw(xb, xs, (G, M, K)), draw(wb, ws, (G, K, N))


@pytest.mark.parametrize("df", DATAFLOWS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_gate_level_array_equals_kernel_trace(df: str, name: str) -> None:
    spec, x, w = make_case(df, CASES[name], seed=zlib.crc32(f"{df}/{name}".encode()))
    res = simulate_gemm(DenseGemm(x, w), spec, trace=True)
    y, trace = simulate_gates(x, w, spec)
    np.testing.assert_array_equal(y, res.y)
    if not CASES[name][-1]:  # no overflow: the exact product
        np.testing.assert_array_equal(y, np.einsum("gmk,gkn->gmn", x, w))
    assert trace.shape == res.trace.shape
    np.testing.assert_array_equal(trace, res.trace)  # every cycle, every class


def test_overflow_cases_overflow() -> None:
    """The wrap/saturate cases really exercise the overflow rule (else they would prove little)."""
    for name in ("2x3-mixed-sxu-sat", "2x2-wrap-overflow", "2x2-int8-uxs-sat"):
        spec, x, w = make_case("os", CASES[name], seed=1)
        assert simulate_gemm(DenseGemm(x, w), spec).overflows > 0, name


@pytest.mark.parametrize("df, variant", [(df, "no-isolation") for df in DATAFLOWS]
                         + [("ws", "ungated-psum"), ("is", "ungated-psum")])
def test_negative_controls_differ(df: str, variant: str) -> None:
    """Hardware without operand isolation, or with a psum register that loads every cycle, has
    other toggle counts; the comparison must see it. (In ``os`` an ungated accumulator behind
    isolated operands reloads its own value, so it is equivalent there: no control.)"""
    spec, x, w = make_case(df, CASES["2x2-int4-zero"], seed=5)
    opt = Options(isolate=False) if variant == "no-isolation" else Options(gate_psum=False)
    res = simulate_gemm(DenseGemm(x, w), spec, trace=True)
    _, good = simulate_gates(x, w, spec)
    _, bad = simulate_gates(x, w, spec, opt)
    np.testing.assert_array_equal(good, res.trace)
    assert not np.array_equal(bad, res.trace)


ARCH = """\
name: gates-{df}
array: {{rows: 3, cols: 2, dataflow: {df}, idle: zero}}
pe: {{kind: mac, x_bits: 8, w_bits: 8, acc_bits: 20}}
"""


@pytest.mark.parametrize("df", DATAFLOWS)
def test_cli_trace_csv_equals_gate_level(tmp_path: Path, df: str) -> None:
    """``accelsim run --trace`` writes exactly the gate-level per-cycle counts."""
    rng = np.random.default_rng(3)
    x, w = rng.integers(-128, 128, (4, 5)), rng.integers(-128, 128, (5, 3))
    path = tmp_path / "w.npz"
    save_workload(path, "tiny", [Layer("g", "gemm", x, w, x @ w, 8, 8, True, True)],
                  {"generator": "tests/gates/test_equivalence.py"})
    arch = tmp_path / "arch.yaml"
    arch.write_text(ARCH.format(df=df))
    assert main(["run", str(arch), str(path), "--trace", str(tmp_path / "t"), "--quiet"]) == 0
    csv = np.loadtxt(tmp_path / "t" / "g.trace.csv", delimiter=",", skiprows=1, dtype=np.int64)
    spec = ArraySpec(rows=3, cols=2, dataflow=df, idle_zero=True, x_bits=8, w_bits=8,
                     acc_bits=20, saturate=False, x_signed=True, w_signed=True)
    y, trace = simulate_gates(x[None], w[None], spec)
    np.testing.assert_array_equal(y[0], x @ w)
    np.testing.assert_array_equal(csv[:, 1:-1], trace)
    np.testing.assert_array_equal(csv[:, -1], trace.sum(axis=1))
