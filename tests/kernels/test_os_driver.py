"""``accelsim.kernels.sliced_os.OsDriver`` (the untraced os driver of mac kinds, which remembers
the last w tile's inputs) against the scalar os driver through the fold loop, in both legal loop
orders, and when one driver meets different constants."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.dataflows.mapping import legal_orders
from accelsim.kernels.run import run_gemm
from accelsim.kernels.sliced_os import OsDriver, fold_os_sliced, same_values
from accelsim.pe.mac import mac_step_kind
from accelsim.sim.types import DenseGemm
from tests.kernels.test_kernels_vs_reference import values
from tests.kernels.test_sliced_os import spec_of, warm_arrays


@pytest.mark.parametrize("order", legal_orders(DATAFLOWS["os"]))
@pytest.mark.parametrize("acc,sat", ((20, False), (32, False), (40, False), (12, True)))
@pytest.mark.parametrize("parallel_min_macs", (None, 0))
def test_fold_loop_equals_scalar_driver(order, acc, sat, parallel_min_macs):
    """Two groups, partial row and column tiles; each w tile meets several row tiles in a row
    (fixed order: the memo is used) or in turn with the others (rows outermost); serial, or
    parallel where numba has more than one thread."""
    spec = dataclasses.replace(spec_of(3, 2, 8, 6, acc, False, True, sat, True),
                               mapping=(order, 80))
    rng = np.random.default_rng(acc + 3 * sat)
    ops = DenseGemm(values(rng, (2, 8, 80), 8, False), values(rng, (2, 80, 5), 6, True))
    kind = mac_step_kind(spec)
    assert isinstance(kind.output_stationary_untraced, OsDriver)
    fast = run_gemm(kind, ops, spec, parallel_min_macs=parallel_min_macs)
    scalar = run_gemm(dataclasses.replace(kind, output_stationary_untraced=None), ops, spec)
    assert np.array_equal(fast.y, scalar.y)
    assert np.array_equal(fast.counts, scalar.counts)
    assert fast.counts[4] > 0


def test_one_driver_new_constants_same_tile():
    """The same w tile under other constants (another width, accumulator, signedness) is
    prepared again."""
    driver = OsDriver()
    rng = np.random.default_rng(9)
    X = values(rng, (3, 70), 6, True)
    Wt = values(rng, (2, 70), 6, True)
    for spec in (spec_of(3, 2, 6, 6, 24, True, True, False, False),
                 spec_of(3, 2, 7, 7, 20, True, True, False, False),
                 spec_of(3, 2, 6, 6, 40, True, True, False, False),
                 spec_of(3, 2, 6, 6, 24, True, True, False, False)):
        kind = mac_step_kind(spec)
        ref = [a.copy() for a in warm_arrays(np.random.default_rng(1), 3, 2, spec)]
        got = [a.copy() for a in ref]
        out_r = np.zeros((3, 2), dtype=np.int64)
        out_g = np.zeros((3, 2), dtype=np.int64)
        cnt_r = np.zeros(kind.counters, dtype=np.int64)
        cnt_g = np.zeros(kind.counters, dtype=np.int64)
        fold_os_sliced(kind.consts, X, Wt, out_r, 3, 2, False, *ref, cnt_r)
        driver(kind.consts, X, Wt, out_g, 3, 2, False, *got, cnt_g, False)
        assert np.array_equal(cnt_g, cnt_r) and np.array_equal(out_g, out_r)
        assert all(np.array_equal(a, b) for a, b in zip(got, ref))


def test_same_values():
    """The memo's comparison: shape and every value."""
    rng = np.random.default_rng(4)
    a = rng.integers(-(1 << 40), 1 << 40, (3, 70))
    assert same_values(a, a.copy())
    for i, j in ((0, 0), (2, 69), (1, 33)):
        b = a.copy()
        b[i, j] ^= 1 << 39
        assert not same_values(a, b)
    assert not same_values(a, a[:, :-1].copy())
    assert not same_values(a, a[:-1].copy())
    assert not same_values(np.zeros((0, 0), dtype=np.int64), a)
