"""Bit-level helpers for the numba kernels: popcount, the gate-level multiplier's node vector and the
ripple-carry adder's nodes (``docs/datapath.md`` §2–§3). Zero-delay model: no glitches.

Everything here is ``@njit`` and reads no module globals; values are int64 bit patterns.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic, overload


def popcount(v):
    """Number of set bits of the 64-bit pattern ``v`` (pure-Python form; njit uses ``llvm.ctpop``)."""
    return (int(v) & 0xFFFFFFFFFFFFFFFF).bit_count()


@intrinsic
def ctpop(typingctx, v):
    """Set bits of an integer, in its own type (``llvm.ctpop``: on uint32 it vectorizes to 16
    lanes per 512 bits, on int64 to 8)."""
    if not isinstance(v, types.Integer):
        return None
    sig = v(v)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


@overload(popcount)
def _popcount_njit(v):
    def impl(v):
        return ctpop(np.int64(v))

    return impl


@njit(cache=True, nogil=True, inline="always")
def ripple_add(a, b, cin, mask, sign, saturate):
    """The ripple-carry adder of datapath.md §3 on patterns ``a + b + cin`` (``mask``: its width's
    all-ones, ``sign``: its top bit). Returns (result pattern, sum nodes, carry nodes, overflowed):
    the nodes are those of the raw sum; the result is clamped on signed overflow if ``saturate``."""
    s = a + b + cin
    sums = s & mask
    carries = ((s ^ a ^ b) >> 1) & mask
    overflow = (~(a ^ b) & (a ^ sums) & sign) != 0  # equal operand signs, another result sign
    res = sums
    if saturate and overflow:
        res = sign if a & sign else sign - 1
    return res, sums, carries, overflow


@njit(cache=True, nogil=True, inline="always")
def wrap32(a, b, mask, low, top):
    """:func:`ripple_add` wrapping, at most 32 bits, on uint32 patterns ``a + b`` (``low``: the
    mask without its top bit ``top``): (sum nodes = result, carry nodes, overflowed). The
    carry out of bit 31, lost to uint32, is the majority of a, b and not-sum."""
    s = np.uint32(a + b)
    sums = np.uint32(s & mask)
    up = np.uint32(np.uint32(np.uint32(s ^ a) ^ b) >> np.uint32(1))
    out = np.uint32(np.uint32(a & b) | np.uint32(np.uint32(a | b) & ~sums))
    car = np.uint32(np.uint32(up & low) | np.uint32(out & top))
    return sums, car, np.uint32(np.uint32(np.uint32(a ^ sums) & np.uint32(b ^ sums)) & top) != 0


@njit(cache=True, nogil=True, inline="always")
def tog32(sums, car, ps, pc):
    """:func:`wrap32`'s node toggles against the nodes before (``ps``, ``pc``), packed: sum
    nodes in bits 0–15, carry nodes in 16–31."""
    return np.uint32(ctpop(np.uint32(sums ^ ps)) + np.uint32(ctpop(np.uint32(car ^ pc)) << 16))


@njit(cache=True, nogil=True, inline="always")
def adder_step(a, b, cin, mask, sign, saturate, prev_sums, prev_carries):
    """Evaluate the adder (:func:`ripple_add`) after it last held nodes (prev_sums, prev_carries):
    (result pattern, node toggles, overflowed, sum nodes, carry nodes) — the last two are its new
    state."""
    res, sums, carries, overflow = ripple_add(a, b, cin, mask, sign, saturate)
    toggles = popcount(sums ^ prev_sums) + popcount(carries ^ prev_carries)
    return res, toggles, overflow, sums, carries


@njit(cache=True, nogil=True, inline="always")
def zero_load(v, cls, cycle, counts, trace):
    """``idle: zero``: a register holding pattern ``v`` loads 0 in fold ``cycle``; its toggles go
    to ``counts[cls]`` and, when tracing (``trace`` has rows), to ``trace[cycle, cls]``."""
    t = popcount(v)
    counts[cls] += t
    if trace.shape[0] > 0:
        trace[cycle, cls] += t


def trace_add(trace, cycle, cls, v):
    """Add ``v`` toggles to ``trace[cycle, cls]``; nothing when ``trace`` is None (not tracing).

    Under njit a None ``trace`` compiles the write away: the dataflow drivers run a PE's stream with
    the fold's trace or with None, so untraced loops carry no trace code (and no reference count
    of the trace array per MAC)."""
    if trace is not None:
        trace[cycle, cls] += v


@overload(trace_add, inline="always")
def _trace_add_njit(trace, cycle, cls, v):
    if isinstance(trace, types.NoneType):
        return lambda trace, cycle, cls, v: None

    def impl(trace, cycle, cls, v):
        trace[cycle, cls] += v

    return impl


def tracing_on(trace):
    """``trace`` is an array (tracing), not None; a compile-time constant under njit."""
    return trace is not None


@overload(tracing_on, inline="always")
def _tracing_on_njit(trace):
    if isinstance(trace, types.NoneType):
        return lambda trace: False
    return lambda trace: True


def node_words(n: int, m: int) -> int:
    """64-bit words that hold the node vector of an n×m multiplier (n·m + 2n(m−1) bits)."""
    return (n * m + 2 * n * (m - 1) + 63) // 64


@njit(cache=True, nogil=True)
def _put(words, off, val, nbits):
    """OR the ``nbits``-bit value ``val`` into the bit stream ``words`` at bit offset ``off``."""
    q = off >> 6
    sh = off & 63
    words[q] |= val << sh
    if sh + nbits > 64:
        words[q + 1] |= val >> (64 - sh)


@njit(cache=True, nogil=True, inline="always")
def mult_row_constants(i, n, m, sa, sb):
    """Row ``i`` of the n×m multiplier of datapath.md §2: its complement mask (XORed into the
    row's n partial products) and its adder's carry-in (0 or 1; row 0 has no adder)."""
    both_eq = sa and sb and n == m
    if sb and i == m - 1:
        cmask = (((1 << n) - 1) >> 1) if sa else (1 << n) - 1
    else:
        cmask = (1 << (n - 1)) if sa else 0
    cin = 1 if (i > 0 and not both_eq and ((sa and i == n - 1) or (sb and i == m - 1))) else 0
    return cmask, cin


@njit(cache=True, nogil=True, inline="always")
def _mult_row(a, b, i, n, m, sa, sb, p):
    """Row ``i`` of the n×m multiplier of datapath.md §2 given ``p`` = P_(i-1).

    Returns (partial-product word B_i, sum nodes, carry nodes, P_i); row 0 has no adder (sum and
    carry nodes 0). ``a``/``b`` are the column/row operand patterns, ``sa``/``sb`` their signedness.
    """
    mask_n = (1 << n) - 1
    cmask, cin = mult_row_constants(i, n, m, sa, sb)
    bi = (a if (b >> i) & 1 else 0) ^ cmask
    if i == 0:
        return bi, 0, 0, bi
    aa = p >> 1
    if i == 1 and sa and sb and n == m:
        aa |= 1 << (n - 1)
    s = aa + bi + cin
    return bi, s & mask_n, ((s ^ aa ^ bi) >> 1) & mask_n, s


@njit(cache=True, nogil=True)
def mult_nodes(a, b, n, m, sa, sb, words):
    """Evaluate the multiplier on patterns ``a`` (n bits), ``b`` (m >= n bits).

    Fills ``words`` (zeroed here) with the packed node vector — per row: partial products, then
    (rows >= 1) sum and carry nodes — and returns the n+m-bit product pattern.
    """
    for q in range(words.shape[0]):
        words[q] = 0
    off = 0
    p = 0
    prod = 0
    for i in range(m):
        bi, sums, carries, p = _mult_row(a, b, i, n, m, sa, sb, p)
        _put(words, off, bi, n)
        off += n
        if i > 0:
            _put(words, off, sums, n)
            _put(words, off + n, carries, n)
            off += 2 * n
        if i < m - 1:
            prod |= (p & 1) << i
    prod |= p << (m - 1)
    if sa or sb:
        prod ^= 1 << (n + m - 1)
    return prod


@njit(cache=True, nogil=True)
def mult_toggles_direct(a0, b0, a1, b1, n, m, sa, sb):
    """Hamming distance of the multiplier's node vectors for operands (a0, b0) and (a1, b1)."""
    p0 = 0
    p1 = 0
    tog = 0
    for i in range(m):
        bi0, s0, c0, p0 = _mult_row(a0, b0, i, n, m, sa, sb, p0)
        bi1, s1, c1, p1 = _mult_row(a1, b1, i, n, m, sa, sb, p1)
        tog += popcount(bi0 ^ bi1) + popcount(s0 ^ s1) + popcount(c0 ^ c1)
    return tog


@njit(cache=True, nogil=True)
def mult_table(x_bits, w_bits, x_signed, w_signed, nwords, w_major):
    """Node vectors of the x_bits × w_bits multiplier for every operand pair.

    Row ``(x_pattern << w_bits) | w_pattern`` (or ``(w_pattern << x_bits) | x_pattern`` when
    ``w_major``) holds the packed node words (int64 [2^(x+w), nwords]). Put the operand that changes
    least often major, so one PE's rows share cache lines.
    """
    x_is_a = x_bits <= w_bits
    n = x_bits if x_is_a else w_bits
    m = w_bits if x_is_a else x_bits
    sa = x_signed if x_is_a else w_signed
    sb = w_signed if x_is_a else x_signed
    table = np.zeros(((1 << x_bits) << w_bits, nwords), dtype=np.int64)
    for xp in range(1 << x_bits):
        for wp in range(1 << w_bits):
            row = table[((wp << x_bits) | xp) if w_major else ((xp << w_bits) | wp)]
            if x_is_a:
                mult_nodes(xp, wp, n, m, sa, sb, row)
            else:
                mult_nodes(wp, xp, n, m, sa, sb, row)
    return table

