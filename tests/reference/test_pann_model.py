"""The pann reference model alone against hand-derived figures (docs/pann.md §7's worked PE)."""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.pe.pann import PannParams
from accelsim.sim.types import ArraySpec, DenseGemm
from tests.reference.pann_model import reference_simulate_pann

# One ws PE, x = 5 (4-bit unsigned), w = -3 (4-bit signed: pattern 1101), A = 2, 12-bit
# accumulators. Fold = 1 preload step + stream step 0 (ceil(3/2) = 2 cycles) = 3 cycles.
SPEC = ArraySpec(1, 1, "ws", False, 4, 4, 12, False, False, True)
OPS = DenseGemm(np.array([[[5]]]), np.array([[[-3]]]))


def test_dual_accumulator_by_hand():
    # cycle 0 (preload): w_reg 0000 -> 1101: 3.
    # cycle 1: x_reg 0 -> 0101: 2. P <- P_in = 0 (no toggle). Adders: 0+5 (sums 0101, carries 0:
    #   2 toggles), 5+5 (sums 1010, carries 0101: 4). N: 0 -> 10 (1010): 2.
    # cycle 2: adder 1: 10+5 = 15 (sums 1111 vs 0101: 2, carries 0 vs 0: 0). N: 1010 -> 1111: 2.
    #   Bottom edge: P - N = 0 + ~15 + 1 = 0xFF1 (sums 9 ones, carries 0): 9.
    ref = reference_simulate_pann(OPS, SPEC, PannParams(adders=2, sign="dual_accumulator"))
    assert ref.y.tolist() == [[[-15]]]
    assert ref.trace.tolist() == [[0, 3, 0, 0], [2, 0, 2, 6], [0, 0, 2, 2 + 9]]
    assert ref.toggles == {"x_reg": 2, "w_reg": 3, "psum_reg": 4, "adder": 17}
    assert (ref.cycles_compute, ref.cycles_active, ref.additions, ref.overflows) == (3, 3, 3, 0)


def test_subtract_by_hand():
    # b = ~5 = 0xFFA with carry-in 1.
    # cycle 1: adder 1: 0 + 0xFFA + 1 = 0xFFB (11 sum ones, carries 0): 11; adder 2:
    #   0xFFB + 0xFFA + 1 = 0x1FF6 (sums 0xFF6: 10, carries 0xFFB: 11): 21. psum 0 -> 0xFF6: 10.
    # cycle 2: adder 1: 0xFF6 + 0xFFA + 1 = 0x1FF1 (sums 0xFF1 vs 0xFFB: 2, carries 0xFFE vs 0:
    #   11): 13. psum 0xFF6 -> 0xFF1: 3. No subtractor.
    ref = reference_simulate_pann(OPS, SPEC, PannParams(adders=2, sign="subtract"))
    assert ref.y.tolist() == [[[-15]]]
    assert ref.trace.tolist() == [[0, 3, 0, 0], [2, 0, 10, 11 + 21], [0, 0, 3, 13]]
    assert ref.toggles == {"x_reg": 2, "w_reg": 3, "psum_reg": 13, "adder": 45}
    assert (ref.cycles_compute, ref.cycles_active, ref.additions, ref.overflows) == (3, 3, 3, 0)


@pytest.mark.parametrize("df", ("os", "ws", "is"))
def test_one_adder_per_unit_of_weight(df):
    # With A >= max |w| every step takes one cycle: SCALE-Sim's window, R + C + T - 2 (os) or
    # 2R + C + T - 2 (ws, is), here on a 2x2 array with M = K = N = 3 (4 folds).
    spec = ArraySpec(2, 2, df, True, 4, 4, 12, False, False, True)
    rng = np.random.default_rng(0)
    ops = DenseGemm(rng.integers(0, 16, (1, 3, 3)), rng.integers(-8, 8, (1, 3, 3)))
    ref = reference_simulate_pann(ops, spec, PannParams(adders=8))
    window = (2 if df == "os" else 4) + 2 + 3 - 2
    assert ref.folds == 4 and ref.cycles_compute == 4 * window
    assert np.array_equal(ref.y, ops.x @ ops.w)
