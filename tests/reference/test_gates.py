"""Tests of the gate-level reference cells (docs/datapath.md §2, §3)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tests.reference.gates import (
    accumulator_add,
    from_bits,
    full_adder,
    mult_node_count,
    multiply,
    pattern_of,
    ripple_carry_adder,
    signed_value,
    to_bits,
)

SIGNEDNESS = list(itertools.product((False, True), repeat=2))  # (x_signed, w_signed)


def value_range(bits: int, signed: bool) -> range:
    """Every value of a ``bits``-bit operand."""
    if signed:
        return range(-(1 << (bits - 1)), 1 << (bits - 1))
    return range(1 << bits)


def random_values(rng: np.random.Generator, bits: int, signed: bool, count: int) -> list[int]:
    """Uniform values over the full range, plus both extremes and zero."""
    r = value_range(bits, signed)
    values = [int(v) for v in rng.integers(r.start, r.stop, size=count)]
    return values + [r.start, r.stop - 1, 0]


# --- full adder and ripple-carry adder ------------------------------------------------------------


def test_full_adder_truth_table():
    for a, b, c in itertools.product((0, 1), repeat=3):
        s, cout = full_adder(a, b, c)
        assert s + 2 * cout == a + b + c


@pytest.mark.parametrize("bits", [1, 2, 5, 8, 16, 32, 40])
def test_ripple_adder_matches_fast_form(bits):
    rng = np.random.default_rng(1000 + bits)
    mask = (1 << bits) - 1
    pairs = [(0, 0), (mask, mask), (mask, 1), (1 << (bits - 1), 1 << (bits - 1))]
    pairs += [tuple(int(v) for v in rng.integers(0, 1 << bits, size=2)) for _ in range(200)]
    for a, b in pairs:
        sums, carries = ripple_carry_adder(to_bits(a, bits), to_bits(b, bits), 0)
        total = a + b  # datapath.md §3 fast form
        assert from_bits(sums) == total & mask
        assert from_bits(carries) == ((total ^ a ^ b) >> 1) & mask
        _, _, nodes = accumulator_add(a, b, bits, saturate=False)
        assert nodes == to_bits(total & mask, bits) + to_bits(((total ^ a ^ b) >> 1) & mask, bits)


def test_ripple_adder_carry_in():
    for a, b, cin in itertools.product(range(16), range(16), (0, 1)):
        sums, carries = ripple_carry_adder(to_bits(a, 4), to_bits(b, 4), cin)
        assert from_bits(sums) + (carries[-1] << 4) == a + b + cin


# --- overflow and saturation (datapath.md §3) -----------------------------------------------------


@pytest.mark.parametrize("bits", [2, 4, 6])
def test_accumulator_overflow_wrap_saturate_exhaustive(bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    for va, vb in itertools.product(range(lo, hi + 1), repeat=2):
        a, b = pattern_of(va, bits), pattern_of(vb, bits)
        true_sum = va + vb
        wrap, ovf_w, nodes_w = accumulator_add(a, b, bits, saturate=False)
        sat, ovf_s, nodes_s = accumulator_add(a, b, bits, saturate=True)
        assert ovf_w == ovf_s == (not lo <= true_sum <= hi)
        assert wrap == pattern_of(true_sum, bits)
        assert signed_value(sat, bits) == min(max(true_sum, lo), hi)
        assert nodes_w == nodes_s  # the nodes are those of the raw sum either way


def test_saturate_direction_follows_operand_signs():
    bits = 8
    res, ovf, _ = accumulator_add(pattern_of(100, bits), pattern_of(100, bits), bits, True)
    assert ovf and signed_value(res, bits) == 127
    res, ovf, _ = accumulator_add(pattern_of(-100, bits), pattern_of(-100, bits), bits, True)
    assert ovf and signed_value(res, bits) == -128
    res, ovf, _ = accumulator_add(pattern_of(127, bits), pattern_of(-128, bits), bits, True)
    assert not ovf and signed_value(res, bits) == -1


# --- multiplier (datapath.md §2) ------------------------------------------------------------------


@pytest.mark.parametrize("x_signed,w_signed", SIGNEDNESS)
@pytest.mark.parametrize("nx,nw", list(itertools.product(range(2, 6), repeat=2)))
def test_multiplier_exhaustive_small(nx, nw, x_signed, w_signed):
    expected_len = mult_node_count(nx, nw)
    for x in value_range(nx, x_signed):
        for w in value_range(nw, w_signed):
            xp, wp = pattern_of(x, nx), pattern_of(w, nw)
            product, nodes = multiply(xp, nx, x_signed, wp, nw, w_signed)
            assert product == x * w, (x, w)
            assert len(nodes) == expected_len
            assert set(nodes) <= {0, 1}


@pytest.mark.parametrize("x_signed,w_signed", SIGNEDNESS)
@pytest.mark.parametrize("nx,nw", [(8, 8), (16, 8), (8, 16), (16, 16), (3, 13)])
def test_multiplier_random_wide(nx, nw, x_signed, w_signed):
    rng = np.random.default_rng(nx * 100 + nw * 10 + 2 * x_signed + w_signed)
    xs = random_values(rng, nx, x_signed, 60)
    ws = random_values(rng, nw, w_signed, 60)
    for x, w in itertools.product(xs[-3:], ws[-3:]):  # extremes and zero, all pairs
        xp, wp = pattern_of(x, nx), pattern_of(w, nw)
        assert multiply(xp, nx, x_signed, wp, nw, w_signed)[0] == x * w
    for x, w in zip(xs, ws):
        product, nodes = multiply(pattern_of(x, nx), nx, x_signed, pattern_of(w, nw), nw, w_signed)
        assert product == x * w
        assert len(nodes) == mult_node_count(nx, nw)


@pytest.mark.parametrize(
    "nx,nw,length", [(2, 2, 8), (8, 8, 176), (16, 8, 8 * 16 + 2 * 8 * 15), (16, 16, 736)]
)
def test_node_vector_length(nx, nw, length):
    n, m = min(nx, nw), max(nx, nw)
    assert length == n * m + 2 * n * (m - 1)
    for sx, sw in SIGNEDNESS:
        assert len(multiply(0, nx, sx, 0, nw, sw)[1]) == length


def test_node_vector_hand_unsigned_2x2():
    # a = x (tie), b = w. pp[i][j] = a_j & b_i, row-major; then row 1: s0 s1 c0 c1.
    # x=2 (a=[0,1]), w=3 (b=[1,1]): pp = [0,1 | 0,1]; P_0 = 0b10; row 1: A = P_0>>1 = [1,0],
    # B_1 = [0,1], cin 0 -> s = [1,1], c = [0,0]. Product bits: P_0[0]=0, P_1 = 0b011 -> 6.
    assert multiply(2, 2, False, 3, 2, False) == (6, [0, 1, 0, 1, 1, 1, 0, 0])
    # Swapped roles: x=3 (a=[1,1]), w=2 (b=[0,1]): pp = [0,0 | 1,1]; P_0 = 0; A = [0,0],
    # B_1 = [1,1] -> s = [1,1], c = [0,0]; product = 0b0110 = 6.
    assert multiply(3, 2, False, 2, 2, False) == (6, [0, 0, 1, 1, 1, 1, 0, 0])


def test_node_vector_hand_signed_2x2():
    # Both signed, n == m == 2: NAND iff exactly one of (j == 1), (i == 1): pp[0][1], pp[1][0].
    # Constant 2^1 + 2^1 = 2^2 as a 1 on A_1 of row 1; MSB (bit 3) inverted.
    # x = w = -1 (0b11): pp = [1,0 | 0,1]; P_0 = [1,0]; A = [0, 1]; B_1 = [0,1];
    # bit0: s=0 c=0; bit1: s = 1^1^0 = 0, c = 1 -> P_1 = [0,0,1]; bits [1,0,0,1] -> flip -> 1.
    assert multiply(3, 2, True, 3, 2, True) == (1, [1, 0, 0, 1, 0, 0, 0, 1])
    # (0, 0): pp = [0,1 | 1,0]; P_0 = [0,1]; A = [1,1]; B_1 = [1,0]: bit0 s=0 c=1; bit1
    # s = 1^0^1 = 0, c = 1 -> P_1 = [0,0,1]; bits [0,0,0,1] -> flip -> 0. The idle node vector of
    # a signed multiplier is not all zeros.
    assert multiply(0, 2, True, 0, 2, True) == (0, [0, 1, 1, 0, 0, 0, 1, 1])


def test_constant_injection_row_hand_sa_only():
    # x signed 2-bit (a, n=2), w unsigned 3-bit (b, m=3): 2^(n-1) = 2^1 enters as cin of row 1.
    # (0, 0): NAND iff j == 1 -> pp = [0,1 | 0,1 | 0,1]. P_0 = [0,1].
    # Row 1: A = [1,0], B_1 = [0,1], cin = 1: bit0 s = 1^0^1 = 0, c = 1; bit1 s = 0^1^1 = 0, c = 1
    #   -> P_1 = [0,0,1]. Row 2: A = [0,1], B_2 = [0,1], cin = 0: bit0 s=0 c=0; bit1 s=0 c=1
    #   -> P_2 = [0,0,1]. Product bits [0, 0, 0,0,1] -> flip bit 4 -> 0.
    product, nodes = multiply(0, 2, True, 0, 3, False)
    assert product == 0
    assert nodes == [0, 1, 0, 1, 0, 1] + [0, 0, 1, 1] + [0, 0, 0, 1]


def test_mixed_width_extremes():
    # Every signedness, both orientations (a = the narrower operand whichever of x / w it is).
    for sx, sw in SIGNEDNESS:
        for x in (value_range(2, sx).start, value_range(2, sx).stop - 1):
            for w in (value_range(4, sw).start, value_range(4, sw).stop - 1):
                assert multiply(pattern_of(x, 2), 2, sx, pattern_of(w, 4), 4, sw)[0] == x * w
                assert multiply(pattern_of(w, 4), 4, sw, pattern_of(x, 2), 2, sx)[0] == x * w


def test_bit_helpers():
    assert to_bits(0b1011, 4) == [1, 1, 0, 1]
    assert from_bits([1, 1, 0, 1]) == 0b1011
    assert signed_value(0b1111, 4) == -1 and signed_value(0b0111, 4) == 7
    assert pattern_of(-1, 5) == 31
    with pytest.raises(ValueError):
        multiply(0, 1, False, 0, 4, False)
