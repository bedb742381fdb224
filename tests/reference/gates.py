"""Gate-level reference cells (docs/datapath.md §2, §3): slow, bit by bit, obviously correct.

Every cell is built from single-bit AND / OR / XOR / NOT gates. Bit vectors are Python lists of
0/1 ints, least significant bit first. Nothing here is vectorised or clever on purpose: this module
is the yardstick the fast numba kernels are measured against.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------------
# Single-bit gates
# --------------------------------------------------------------------------------------------------


def AND(a: int, b: int) -> int:
    return a & b


def OR(a: int, b: int) -> int:
    return a | b


def XOR(a: int, b: int) -> int:
    return a ^ b


def NOT(a: int) -> int:
    return 1 - a


def NAND(a: int, b: int) -> int:
    return NOT(AND(a, b))


def MAJ(a: int, b: int, c: int) -> int:
    """Majority of three bits (the carry of a full adder)."""
    return OR(OR(AND(a, b), AND(a, c)), AND(b, c))


# --------------------------------------------------------------------------------------------------
# Bit-vector helpers
# --------------------------------------------------------------------------------------------------


def to_bits(pattern: int, width: int) -> list[int]:
    """The ``width`` low bits of ``pattern`` (a non-negative int), LSB first."""
    if pattern < 0:
        raise ValueError(f"to_bits expects a non-negative pattern, got {pattern}")
    return [(pattern >> j) & 1 for j in range(width)]


def from_bits(bits: list[int]) -> int:
    """Unsigned value of an LSB-first bit list."""
    value = 0
    for j, bit in enumerate(bits):
        value |= bit << j
    return value


def signed_value(pattern: int, width: int) -> int:
    """The two's-complement value of a ``width``-bit pattern."""
    if pattern >> (width - 1) & 1:
        return pattern - (1 << width)
    return pattern


def pattern_of(value: int, width: int) -> int:
    """The ``width``-bit pattern ``value & (2**width - 1)`` of an integer value."""
    return value & ((1 << width) - 1)


def popcount(pattern: int) -> int:
    """Number of 1 bits of a non-negative int."""
    return bin(pattern).count("1")


def hamming(old: list[int], new: list[int]) -> int:
    """Number of positions where two equally long node vectors differ."""
    if len(old) != len(new):
        raise ValueError("node vectors of different lengths")
    return sum(1 for p, q in zip(old, new) if p != q)


# --------------------------------------------------------------------------------------------------
# Adders (datapath.md §2.3, §3)
# --------------------------------------------------------------------------------------------------


def full_adder(a: int, b: int, cin: int) -> tuple[int, int]:
    """One full adder: (sum, carry-out) = (a ^ b ^ cin, maj(a, b, cin))."""
    s = XOR(XOR(a, b), cin)
    cout = MAJ(a, b, cin)
    return s, cout


def ripple_carry_adder(
    a_bits: list[int], b_bits: list[int], cin: int
) -> tuple[list[int], list[int]]:
    """n-bit ripple-carry adder of full adders.

    Returns (sum nodes s_0..s_{n-1}, carry-out nodes c_0..c_{n-1}), with ``c_{-1} = cin``.
    """
    if len(a_bits) != len(b_bits):
        raise ValueError("adder inputs of different widths")
    sums: list[int] = []
    carries: list[int] = []
    carry = cin
    for a, b in zip(a_bits, b_bits):
        s, carry = full_adder(a, b, carry)
        sums.append(s)
        carries.append(carry)
    return sums, carries


def accumulator_add(a: int, b: int, bits: int, saturate: bool) -> tuple[int, bool, list[int]]:
    """The ``adder`` class of datapath.md §3: a ``bits``-wide ripple-carry adder, carry-in 0.

    ``a`` and ``b`` are ``bits``-bit patterns of signed values. Returns (result pattern, overflow,
    node vector = the ``bits`` sum bits then the ``bits`` carry-out bits of the RAW sum).
    Overflow: ``a`` and ``b`` have the same sign bit and the raw sum's sign bit differs. On
    overflow, ``saturate`` replaces the result by 2^(bits-1)-1 (both operands non-negative) or
    -2^(bits-1).
    """
    a_bits = to_bits(a, bits)
    b_bits = to_bits(b, bits)
    sums, carries = ripple_carry_adder(a_bits, b_bits, 0)
    nodes = sums + carries
    sign_a, sign_b, sign_s = a_bits[-1], b_bits[-1], sums[-1]
    overflow = AND(NOT(XOR(sign_a, sign_b)), XOR(sign_s, sign_a)) == 1
    result = from_bits(sums)
    if overflow and saturate:
        if sign_a == 0:  # both operands non-negative
            result = pattern_of((1 << (bits - 1)) - 1, bits)
        else:
            result = pattern_of(-(1 << (bits - 1)), bits)
    return result, overflow, nodes


# --------------------------------------------------------------------------------------------------
# Multiplier (datapath.md §2)
# --------------------------------------------------------------------------------------------------


def mult_node_count(nx: int, nw: int) -> int:
    """Length of the multiplier's node vector: n·m + 2n(m-1), n = min width, m = max width."""
    n, m = min(nx, nw), max(nx, nw)
    return n * m + 2 * n * (m - 1)


def multiply(
    x: int, nx: int, x_signed: bool, w: int, nw: int, w_signed: bool
) -> tuple[int, list[int]]:
    """Gate-level array / Baugh–Wooley multiplier of datapath.md §2.

    ``x`` and ``w`` are the operand PATTERNS (``nx`` / ``nw`` bits). Returns (product value, node
    vector): the value is the n+m-bit result read as signed if either operand is signed, else
    unsigned; the node vector is the n·m partial products (row i major, column j minor), then for
    each row i = 1 … m-1 its n sum nodes s_0..s_{n-1} and its n carry nodes c_0..c_{n-1}.
    """
    if nx < 2 or nw < 2:
        raise ValueError("operand widths must be >= 2 bits (datapath.md §2.4 needs rows 1..m-1)")
    # §2: the narrower operand is the column operand a (n bits); on a tie a = x.
    if nx <= nw:
        a, n, sa, b, m, sb = x, nx, x_signed, w, nw, w_signed
    else:
        a, n, sa, b, m, sb = w, nw, w_signed, x, nx, x_signed
    a_bits = to_bits(a, n)
    b_bits = to_bits(b, m)

    # §2.1 partial products: AND, complemented (NAND) iff exactly one of the two conditions holds.
    pp = [[0] * n for _ in range(m)]
    for i in range(m):
        for j in range(n):
            column_negative = sa and j == n - 1
            row_negative = sb and i == m - 1
            if column_negative != row_negative:
                pp[i][j] = NAND(a_bits[j], b_bits[i])
            else:
                pp[i][j] = AND(a_bits[j], b_bits[i])
    nodes: list[int] = []
    for i in range(m):
        nodes.extend(pp[i])

    # §2.4 Baugh–Wooley constant injection.
    cin = [0] * m  # cin[i] = carry-in of row i (row 0 has no adder)
    one_on_row1_a_msb = False
    if sa and sb and n == m:
        one_on_row1_a_msb = True  # 2^(n-1) + 2^(m-1) = 2^n on input A_{n-1} of row 1
    else:
        if sa:
            cin[n - 1] = 1  # 2^(n-1), 1 <= n-1 <= m-1
        if sb:
            cin[m - 1] = 1  # 2^(m-1)
    flip_msb = sa or sb  # 2^(n+m-1): an inverter on the product MSB

    # §2.2 row 0: P_0 = B_0 (n bits). §2.3 rows 1..m-1: n-bit ripple-carry adders.
    product_bits: list[int] = []
    p_prev = list(pp[0])  # P_0
    for i in range(1, m):
        a_in = p_prev[1:]  # A = P_{i-1} >> 1
        a_in = a_in + [0] * (n - len(a_in))  # row 1: P_0 has only n bits, so A_{n-1} = 0
        a_in = a_in[:n]
        if i == 1 and one_on_row1_a_msb:
            if a_in[n - 1] != 0:
                raise AssertionError("A_{n-1} of row 1 must be free")
            a_in[n - 1] = 1
        sums, carries = ripple_carry_adder(a_in, pp[i], cin[i])
        nodes.extend(sums)
        nodes.extend(carries)
        # §2.5: product bit i-1 is bit 0 of P_{i-1} (for i-1 < m-1)
        product_bits.append(p_prev[0])
        p_prev = sums + [carries[n - 1]]  # P_i = (c_{n-1} << n) | s  (n+1 bits)
    # §2.5: bits m-1 … m+n-1 are P_{m-1}
    product_bits.extend(p_prev)
    if len(product_bits) != n + m:
        raise AssertionError("product width")
    if flip_msb:
        product_bits[n + m - 1] = NOT(product_bits[n + m - 1])
    product = from_bits(product_bits)
    if sa or sb:
        product = signed_value(product, n + m)
    if len(nodes) != mult_node_count(nx, nw):
        raise AssertionError("node vector length")
    return product, nodes
