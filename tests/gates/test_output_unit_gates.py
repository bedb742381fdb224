"""Structural equivalence of the output unit: the netlist built from docs/datapath.md §7
(``accelsim.gates.output_unit``), simulated by the NumPy netlist evaluator, against the kernel
behind ``accelsim run`` — every output and the toggles of every evaluation (nodes plus the output
register)."""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.gates.evaluate import outputs, stream
from accelsim.gates.netlist import Netlist
from accelsim.gates.output_unit import output_unit
from accelsim.sim.output import UnitParams, run_unit
from accelsim.types import ArraySpec

#: (acc_bits, shift, bits, signed, relu)
CASES = [(12, 0, 4, True, False), (12, 3, 4, True, True), (16, 7, 8, False, False),
         (10, 9, 3, True, False), (20, 5, 16, True, False), (8, 1, 2, False, True)]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_netlist_equals_kernel(case: tuple) -> None:
    acc_bits, shift, bits, signed, relu = case
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    lo = max(lo, 0) if relu else lo
    rng = np.random.default_rng(acc_bits * 100 + shift)
    amax = 1 << (acc_bits - 1)
    y = np.concatenate([rng.integers(-amax, amax, 60),
                        rng.choice([-amax, amax - 1, 0, -1, 1, hi << shift, lo << shift], 20)])
    y = np.clip(y, -amax, amax - 1)
    # the kernel: one column, ws, one output per cycle (M = len(y), K = 1, N = 1)
    spec = ArraySpec(1, 1, "ws", False, 8, 8, acc_bits, False, True, True)
    p = UnitParams(acc_bits, shift, bits, lo, hi)
    # fold window R + C + T + R - 2 = len(y) + 1 cycles; output t leaves in cycle R + t = 1 + t
    out, total, trace = run_unit(spec, p, y.reshape(1, -1, 1), 1, len(y) + 1, True)
    nl = Netlist()
    ybus = nl.input("y", acc_bits)
    nl.outputs["out"] = output_unit(nl, ybus, shift, bits, lo, hi)
    patterns = y & ((1 << acc_bits) - 1)
    got = outputs(nl, {"y": patterns})["out"]
    width = 1 << bits
    np.testing.assert_array_equal(np.where(got >= width // 2, got - width, got) if lo < 0
                                  else got, out.ravel())
    nodes = stream(nl, {"y": patterns})["output_unit"]
    reg = np.array([bin(int(a) ^ int(b)).count("1") for a, b in
                    zip(np.concatenate([[0], got[:-1]]), got)])
    assert trace[0] == 0
    np.testing.assert_array_equal(nodes + reg, trace[1:])
    assert int((nodes + reg).sum()) == total
