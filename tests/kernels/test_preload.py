"""The untraced preload (suffix sums of the shift chain's differences) against the traced one
(every load visited in its cycle): the same registers and toggle counts, and the trace sums to
them."""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.kernels.preload import preload_stationary


@pytest.mark.parametrize("idle_zero", [False, True])
@pytest.mark.parametrize("bits", [1, 3, 8, 16])
def test_untraced_preload_matches_traced(idle_zero, bits):
    rng = np.random.default_rng([bits, idle_zero])
    total = 0
    for _ in range(40):
        R, C = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        r_act, c_act = int(rng.integers(1, R + 1)), int(rng.integers(1, C + 1))
        S = rng.integers(-(1 << 20), 1 << 20, size=(r_act, c_act), dtype=np.int64)
        reg0 = rng.integers(0, 1 << bits, size=(R, C), dtype=np.int64)
        cls = int(rng.integers(0, 3))
        regs, counts, traces = [], [], []
        for rows in (0, R):
            reg = reg0.copy()
            cnt = np.zeros(4, dtype=np.int64)
            tr = np.zeros((rows, 3), dtype=np.int64)
            preload_stationary(S, R, C, (1 << bits) - 1, cls, idle_zero, reg, cnt, tr)
            regs.append(reg)
            counts.append(cnt)
            traces.append(tr)
        np.testing.assert_array_equal(regs[0], regs[1])
        np.testing.assert_array_equal(counts[0], counts[1])
        total += counts[0][cls]
        np.testing.assert_array_equal(traces[1].sum(axis=0), counts[1][:3])
        np.testing.assert_array_equal(regs[0][:r_act, :c_act], S & ((1 << bits) - 1))
    assert total > 0
