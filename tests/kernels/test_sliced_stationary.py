"""The bit-sliced stationary driver (ws, is) against the scalar drivers: outputs, every toggle
class and overflows identical, across widths, signedness, odd shapes, idle modes, saturation,
chunked runs and K-folds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.dataflows.mapping import legal_orders
from accelsim.kernels.run import run_gemm
from accelsim.kernels.sliced_stationary import fold_stationary_sliced
from accelsim.pe.mac import mac_step_kind
from accelsim.types import ArraySpec, DenseGemm


def _operands(rng, G, M, K, N, xb, wb, xs, ws):
    def draw(bits, signed, shape):
        lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
        return rng.integers(lo, hi, size=shape, dtype=np.int64)
    return DenseGemm(draw(xb, xs, (G, M, K)), draw(wb, ws, (G, K, N)))


def _compare(spec: ArraySpec, ops: DenseGemm) -> None:
    kind = mac_step_kind(spec)
    assert kind.stationary_untraced is fold_stationary_sliced
    scalar = dataclasses.replace(kind, stationary_untraced=None)
    a = run_gemm(kind, ops, spec)
    b = run_gemm(scalar, ops, spec)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert (a.cycles_compute, a.cycles_active, a.folds) == (b.cycles_compute, b.cycles_active,
                                                           b.folds)


# (x_bits, w_bits, x_signed, w_signed, acc_bits, saturate, idle_zero)
CONFIGS = [
    (8, 8, True, True, 32, False, False),
    (8, 8, True, True, 16, True, True),
    (2, 2, True, True, 4, True, False),
    (2, 5, False, True, 7, True, True),
    (7, 3, True, False, 10, False, True),
    (4, 4, False, False, 9, True, False),
    (16, 16, True, True, 40, False, False),
    (9, 12, True, True, 21, True, True),
    (16, 2, False, False, 20, False, False),
    (3, 16, True, False, 19, True, False),
    (6, 6, True, True, 12, True, True),
    (8, 8, True, True, 12, True, False),  # acc narrower than the product
    (5, 7, False, False, 9, False, True),
]


@pytest.mark.parametrize("dataflow", ["ws", "is"])
@pytest.mark.parametrize("cfg", CONFIGS)
def test_sliced_matches_scalar(dataflow, cfg):
    xb, wb, xs, ws, acc, sat, iz = cfg
    rng = np.random.default_rng([ord(dataflow[0]), *map(int, cfg)])
    spec = ArraySpec(4, 3, dataflow, iz, xb, wb, acc, sat, xs, ws)
    for M, K, N in ((1, 5, 4), (63, 9, 2), (64, 4, 7), (65, 3, 3), (130, 6, 5), (7, 130, 65)):
        _compare(spec, _operands(rng, 2, M, K, N, xb, wb, xs, ws))


@pytest.mark.parametrize("dataflow", ["ws", "is"])
def test_sliced_chunked_runs(dataflow):
    """Runs that stream chunks of T in every legal order carry state exactly."""
    rng = np.random.default_rng(7)
    df = DATAFLOWS[dataflow]
    ops = _operands(rng, 1, 70, 11, 9, 8, 8, True, True)
    for order in legal_orders(df):
        for chunk in (1, 30, 64, 65):
            spec = ArraySpec(4, 4, dataflow, False, 8, 8, 18, True, True, True,
                             mapping=(order, chunk))
            _compare(spec, ops)


@pytest.mark.parametrize("dataflow", ["ws", "is"])
def test_sliced_overflows_counted(dataflow):
    """Narrow accumulators overflow often; both paths count the same overflows."""
    rng = np.random.default_rng(3)
    ops = _operands(rng, 1, 100, 12, 5, 8, 8, True, True)
    for sat in (False, True):
        spec = ArraySpec(3, 3, dataflow, False, 8, 8, 10, sat, True, True)
        kind = mac_step_kind(spec)
        run = run_gemm(kind, ops, spec)
        assert run.counts[-1] > 0
        _compare(spec, ops)

