"""The output unit's reference model against its specification (docs/datapath.md §7): its
outputs equal ``clamp(RoundingDivideByPOT(y, s), lo, hi)`` — the exporter's own rounding,
``accelsim.fixedpoint.rounding_divide_by_pot`` — and its node vector has the documented length."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.fixedpoint import rounding_divide_by_pot
from accelsim.sim.output import UnitParams, requantize_reference
from tests.reference.output_unit_model import OutputUnit


@settings(max_examples=300, deadline=None)
@given(acc_bits=st.integers(4, 32), bits=st.integers(2, 16), signed=st.booleans(),
       relu=st.booleans(), data=st.data())
def test_unit_is_rounding_divide_then_clamp(acc_bits, bits, signed, relu, data):
    shift = data.draw(st.integers(0, min(acc_bits - 1, 31)))
    y = data.draw(st.integers(-(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1))
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    lo = max(lo, 0) if relu else lo
    out, _ = OutputUnit(acc_bits, shift, bits, lo, hi).step(y)
    assert out == min(max(int(rounding_divide_by_pot(np.int64(y), np.int64(shift))), lo), hi)
    p = UnitParams(acc_bits, shift, bits, lo, hi)
    assert out == int(requantize_reference(np.array([y]), p)[0])


def test_node_vector_length_and_first_toggles():
    """Nodes: (acc_bits+1) sums and carries of the rounding adder (none without a shift), then
    2 x cmp_bits per comparator; an evaluation from reset toggles only what changed."""
    unit = OutputUnit(16, 4, 8, -128, 127)
    assert len(unit.nodes) == 2 * 17 + 4 * max(17 - 4, 9) + 4 * 1
    assert len(OutputUnit(16, 0, 8, -128, 127).nodes) == 4 * max(17, 9) + 4
    _, toggles = unit.step(0)
    assert toggles == 0
    out, toggles = unit.step(-1)  # -1/16 rounds to 0: nodes change, the register does not
    assert out == 0 and toggles > 0
