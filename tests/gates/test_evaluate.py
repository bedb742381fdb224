"""The NumPy netlist evaluator on circuits whose zero- and unit-delay behaviour is known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.gates.evaluate import Sequential, compile_netlist, stream
from accelsim.gates.netlist import Netlist


def test_unit_delay_counts_a_static_hazard() -> None:
    """y = a XOR NOT(NOT(a)) is 0 in zero delay; with unit delays every edge of a makes y pulse
    (two transitions) because the inverted path is two gates slower."""
    nl = Netlist()
    (a,) = nl.input("a", 1)
    y = nl.gate("XOR", a, nl.gate("NOT", nl.gate("NOT", a)))
    nl.count("y", [y])
    a_values = np.array([1, 1, 0, 1, 0, 0])
    assert stream(nl, {"a": a_values})["y"].tolist() == [0] * 6
    assert stream(nl, {"a": a_values}, glitches=True)["y"].tolist() == [2, 0, 2, 2, 2, 0]


def test_ripple_carry_glitches_exceed_zero_delay() -> None:
    from accelsim.gates.datapath import adder

    nl = Netlist()
    adder(nl, nl.input("a", 8), nl.input("b", 8))
    rng = np.random.default_rng(0)
    data = {"a": rng.integers(0, 256, 200), "b": rng.integers(0, 256, 200)}
    zero, unit = stream(nl, data)["adder"], stream(nl, data, glitches=True)["adder"]
    assert (unit >= zero).all() and unit.sum() > zero.sum()


def test_loop_and_double_driver_are_rejected() -> None:
    nl = Netlist()
    a = nl.net()
    b = nl.gate("NOT", a)
    nl.gates.append(("NOT", a, (b,)))
    with pytest.raises(ValueError, match="loop"):
        compile_netlist(nl)
    nl2 = Netlist()
    (x,) = nl2.input("x", 1)
    out = nl2.gate("NOT", x)
    nl2.gates.append(("BUF", out, (x,)))
    with pytest.raises(ValueError, match="driver"):
        compile_netlist(nl2)


def test_register_toggles_count_in_the_loading_cycle() -> None:
    """A 2-bit register loading 3, 3, 0: toggles 2, 0, 2."""
    nl = Netlist()
    d = nl.input("d", 2)
    q = nl.register(2, "r")
    nl.connect(q, [nl.gate("BUF", b) for b in d])
    sim = Sequential(nl)
    counts = []
    for v in (3, 3, 0):
        sim.set("d", v)
        counts.append(sim.step()["r"])
    assert counts == [2, 0, 2]
