"""The uint32 accumulator lanes of ``accelsim.kernels.sliced_os`` (wrapping accumulators of at
most 32 bits) against the scalar os driver: the 31/32/33-bit boundary, frequent overflows, the
carry out of the top bit, and streams longer than one tally chunk."""

from __future__ import annotations

import pytest

from tests.kernels.test_sliced_os import compare_fold, spec_of


@pytest.mark.parametrize("acc", (17, 24, 31, 32, 33))
@pytest.mark.parametrize("signs", ((False, False), (True, True), (False, True)))
def test_wide_operands_overflow(acc, signs):
    """16-bit operands: products near 2^31, so 31- and 32-bit accumulators overflow and carry out
    of their top bit often."""
    spec = spec_of(3, 5, 16, 16, acc, signs[0], signs[1], False, False)
    counts = compare_fold(acc * 7 + signs[0] + 2 * signs[1], 3, 5, 3, 4, 300, spec)
    assert counts[5] > 0  # overflowed: the case is not vacuous


@pytest.mark.parametrize("K", (1024, 1025, 2049, 2300))
def test_streams_across_tally_chunks(K):
    """Tallies are packed per 1024 steps: streams around and beyond the chunk size."""
    spec = spec_of(2, 3, 16, 16, 32, True, True, False, True)
    counts = compare_fold(K, 2, 3, 2, 3, K, spec)
    assert counts[4] > 0 and counts[5] > 0


@pytest.mark.parametrize("acc", (4, 8, 12))
def test_narrow_accumulators(acc):
    spec = spec_of(4, 4, 3, 5, acc, False, True, False, False)
    compare_fold(acc, 4, 4, 3, 3, 200, spec)
