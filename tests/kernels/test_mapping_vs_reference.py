"""The fast kernels run in a mapping's order (docs/mapping.md) equal the slow reference model driven
the same way: the reference's own fold routines, called run by run in the mapping's order, each
ws/is run streaming its chunk of T after its own preload. Outputs, toggles per class and the
per-cycle trace must match exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.dataflows.mapping import Mapping, legal_orders, runs
from accelsim.sim.array import simulate_gemm
from accelsim.sim.types import ArraySpec, DenseGemm, class_names
from tests.reference.array_model import _Run, signed_value


def _stream_slice(ops: DenseGemm, df, t0: int, t1: int) -> DenseGemm:
    """The operands with the streamed dimension cut to [t0, t1) (x rows for ws, w columns for
    is)."""
    if df.holds_w:
        return DenseGemm(ops.x[:, t0:t1, :], ops.w)
    return DenseGemm(ops.x, ops.w[:, :, t0:t1])


def reference_in_mapping(ops: DenseGemm, spec: ArraySpec, mapping: Mapping):
    """(y, toggles per class, trace) of the reference model run run by run in ``mapping``."""
    df = DATAFLOWS[spec.dataflow]
    run = _Run(ops, spec)
    ofmaps: dict = {}
    for f, t0, t1 in runs(df, mapping, ops.groups, ops.M, ops.K, ops.N, spec.rows, spec.cols):
        if df.holds_outputs:
            run.fold_os(f.g, f.r0, f.r1 - f.r0, f.c0, f.c1 - f.c0)
            continue
        run.ops = _stream_slice(ops, df, t0, t1)
        ofmap = ofmaps.setdefault((f.g, f.c0, t0, t1), {})
        run.fold_ws_is(f.g, f.r0, f.r1 - f.r0, f.c0, f.c1 - f.c0, f.r0 == 0, ofmap)
        run.ops = ops
    y = run.y.copy()
    for (g, j0, t0, _), ofmap in ofmaps.items():
        for (t, c), pattern in ofmap.items():
            value = signed_value(pattern, spec.acc_bits)
            if df.holds_w:
                y[g, t0 + t, j0 + c] = value
            else:
                y[g, j0 + c, t0 + t] = value
    names = class_names(spec.dataflow)
    trace = np.array(run.trace_rows, dtype=np.int64).reshape(len(run.trace_rows), 5)
    return y, {n: int(v) for n, v in zip(names, run.totals)}, trace, run.cycles_compute


def _check(dataflow: str, M: int, K: int, N: int, R: int, C: int, order_i: int, chunk: int,
           idle: bool, seed: int) -> None:
    df = DATAFLOWS[dataflow]
    orders = legal_orders(df)
    order = orders[order_i % len(orders)]
    T = df.dims(M, K, N)[2]
    mapping = Mapping(order, T if df.holds_outputs else min(chunk, T))
    rng = np.random.default_rng(seed)
    ops = DenseGemm(rng.integers(0, 256, (1, M, K)), rng.integers(-128, 128, (1, K, N)))
    spec = ArraySpec(R, C, dataflow, idle, 8, 8, 24, False, False, True)
    got = simulate_gemm(ops, dataclasses.replace(spec, mapping=(mapping.order, mapping.chunk)),
                        trace=True)
    y, toggles, trace, cycles = reference_in_mapping(ops, spec, mapping)
    assert np.array_equal(got.y, y)
    assert np.array_equal(got.y[0], ops.x[0] @ ops.w[0])
    assert got.toggles == toggles
    assert got.cycles_compute == cycles
    assert np.array_equal(got.trace, trace)


@pytest.mark.parametrize("dataflow, order_i, chunk", [
    ("ws", 0, 2), ("ws", 1, 2), ("ws", 3, 3), ("ws", 5, 1),
    ("is", 1, 2), ("is", 4, 3), ("os", 1, 0),
])
def test_kernels_equal_reference_in_mapping(dataflow: str, order_i: int, chunk: int) -> None:
    _check(dataflow, 7, 9, 5, 4, 3, order_i, chunk, False, 0)


@settings(max_examples=12, deadline=None)
@given(dataflow=st.sampled_from(["ws", "is", "os"]), M=st.integers(1, 7), K=st.integers(1, 7),
       N=st.integers(1, 7), R=st.integers(1, 4), C=st.integers(1, 4), order_i=st.integers(0, 5),
       chunk=st.integers(1, 7), idle=st.booleans(), seed=st.integers(0, 99))
def test_kernels_equal_reference_in_any_mapping(dataflow, M, K, N, R, C, order_i, chunk, idle,
                                                seed) -> None:
    _check(dataflow, M, K, N, R, C, order_i, chunk, idle, seed)
