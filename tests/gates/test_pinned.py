"""The fast path of the gate-level check: netlists that Yosys read and flattened from the
structural Verilog accelsim.gates emits (pinned in tests/gates/netlists/), simulated by the NumPy
evaluator, equal the kernels cycle by cycle; the pinned multipliers are what the emitter writes.
Regenerate the pinned files with ``python -m tests.gates.netlists.make_netlists``."""

from __future__ import annotations

import gzip
import itertools

import numpy as np
import pytest

from accelsim.gates.array import build_array, simulate_gates
from accelsim.gates.evaluate import compile_netlist, settle
from accelsim.gates.netlist import Netlist, from_yosys_json
from accelsim.sim.array import simulate_gemm
from accelsim.sim.types import DenseGemm
from accelsim.gates.bitserial_array import build_bitserial_array, simulate_bitserial_gates
from tests.gates.netlists.make_netlists import (ARRAYS, BITSERIAL, HERE, LSQPLUS, MULTIPLIERS,
                                                mult_name, mult_verilog)


def draw(rng, bits: int, signed: bool, shape) -> np.ndarray:
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return rng.integers(lo, hi + 1, size=shape)


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_pinned_yosys_netlist_equals_kernels(name: str) -> None:
    spec = ARRAYS[name]
    text = gzip.decompress((HERE / f"array-{name}.json.gz").read_bytes()).decode()
    nl = from_yosys_json(text, "array")
    built = build_array(spec)
    assert {k: len(v) for k, v in nl.nodes.items()} == {k: len(v) for k, v in built.nodes.items()}
    assert {k: len(v) for k, v in nl.reg_classes.items()} == {
        k: len(v) for k, v in built.reg_classes.items()}
    rng = np.random.default_rng(11)
    for G, M, K, N in ((1, 3, 5, 4), (2, 4, 3, 2)):
        x = draw(rng, spec.x_bits, spec.x_signed, (G, M, K))
        w = draw(rng, spec.w_bits, spec.w_signed, (G, K, N))
        res = simulate_gemm(DenseGemm(x, w), spec, trace=True)
        y, trace = simulate_gates(x, w, spec, netlist=nl)
        np.testing.assert_array_equal(y, res.y)
        np.testing.assert_array_equal(trace, res.trace)


@pytest.mark.parametrize("m", MULTIPLIERS, ids=lambda m: mult_name(*m))
def test_pinned_multiplier_is_what_the_emitter_writes(m) -> None:
    assert (HERE / f"{mult_name(*m)}.v").read_text() == mult_verilog(*m)


@pytest.mark.parametrize("xb, wb", [(2, 2), (3, 5), (5, 3), (4, 4), (8, 8)])
@pytest.mark.parametrize("xs, ws", list(itertools.product([False, True], repeat=2)))
def test_multiplier_structure_is_exhaustively_a_times_b(xb: int, wb: int, xs: bool,
                                                       ws: bool) -> None:
    """Every operand pair (the fast complement of the SAT proofs), and the §2 node count."""
    from accelsim.gates.datapath import multiplier

    nl = Netlist()
    x, w = nl.input("x", xb), nl.input("w", wb)
    p = multiplier(nl, x, w, xs, ws)
    X, W = (a.ravel() for a in np.meshgrid(np.arange(1 << xb), np.arange(1 << wb), indexing="ij"))
    values = np.zeros((nl.n_nets, len(X)), dtype=np.uint8)
    values[1] = 1
    for bits, nets, data in ((xb, x, X), (wb, w, W)):
        for b in range(bits):
            values[nets[b]] = (data >> b) & 1
    settle(compile_netlist(nl), values)
    P = sum(values[n].astype(np.int64) << b for b, n in enumerate(p))

    def value(u, bits, signed):
        return np.where(signed & ((u >> (bits - 1)) & 1 == 1), u - (1 << bits), u)

    np.testing.assert_array_equal(value(P, xb + wb, xs or ws), value(X, xb, xs) * value(W, wb, ws))
    n, m = min(xb, wb), max(xb, wb)
    assert len(nl.nodes["mult"]) == n * m + 2 * n * (m - 1)


def _pinned(prefix: str, name: str) -> Netlist:
    text = gzip.decompress((HERE / f"{prefix}-{name}.json.gz").read_bytes()).decode()
    return from_yosys_json(text, "array")


@pytest.mark.parametrize("name", sorted(BITSERIAL))
def test_pinned_bitserial_netlist_equals_kernels(name: str) -> None:
    spec = BITSERIAL[name]
    nl = _pinned("bitserial", name)
    built = build_bitserial_array(spec)
    assert {k: len(v) for k, v in nl.nodes.items()} == {k: len(v) for k, v in built.nodes.items()}
    rng = np.random.default_rng(12)
    hi, lo = (1 << (spec.x_bits - 1)) - 1, -(1 << (spec.x_bits - 1))
    x = rng.choice([lo, lo, lo, lo, hi], size=(1, 3, 10))  # mostly lo·lo: accumulators saturate
    w = np.full((1, 10, 3), lo)
    w[0, 0, 0] = hi
    res = simulate_gemm(DenseGemm(x, w), spec, trace=True, kind="bitserial")
    assert res.overflows > 0
    y, trace = simulate_bitserial_gates(x, w, spec, netlist=nl)
    np.testing.assert_array_equal(y, res.y)
    np.testing.assert_array_equal(trace, res.trace)


@pytest.mark.parametrize("name", sorted(LSQPLUS))
def test_pinned_lsqplus_netlist_equals_kernels(name: str) -> None:
    from types import SimpleNamespace

    from accelsim.gates.lsqplus_array import build_lsqplus_array, simulate_lsqplus_gates
    from accelsim.pe.lsqplus import LsqplusParams

    spec, placement, y_bits, rowsum = LSQPLUS[name]
    nl = _pinned("lsqplus", name)
    built = build_lsqplus_array(spec, placement, y_bits, rowsum)
    assert {k: len(v) for k, v in nl.nodes.items()} == {k: len(v) for k, v in built.nodes.items()}
    assert {k: len(v) for k, v in nl.reg_classes.items()} == {
        k: len(v) for k, v in built.reg_classes.items()}
    rng = np.random.default_rng(13)
    G, M, K, N = 1, 3, 4, 2
    x = draw(rng, spec.x_bits, spec.x_signed, (G, M, K))
    w = draw(rng, spec.w_bits, spec.w_signed, (G, K, N))
    quant = {"scheme": "lsqplus", "x_zero_point": 2, "w_zero_point": np.array([1, -2]),
             "bias": np.array([17, -40]), "multiplier": np.array([1 << 30, 1518500250]),
             "shift": np.array([-2, -4]), "y_zero_point": 100, "y_bits": y_bits,
             "y_signed": False}
    assert rowsum  # asymmetric weights: the row-sum unit is built and runs
    res = simulate_gemm(DenseGemm(x, w), spec, trace=True, kind="lsqplus",
                        params=LsqplusParams(rescale=placement),
                        layer=SimpleNamespace(quant=quant))
    assert res.toggles["rowsum"] > 0
    y, trace = simulate_lsqplus_gates(x, w, spec, placement, quant, netlist=nl)
    np.testing.assert_array_equal(y, res.y)
    np.testing.assert_array_equal(trace, res.trace)
