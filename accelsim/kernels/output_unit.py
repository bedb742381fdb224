"""Kernel of the per-column output unit (``docs/datapath.md`` §7), zero-delay gate level.

One evaluation per finished output element, in per-column chronological order. The unit of a
column holds its node vector between evaluations (operand isolation): the rounding adder's sum and
carry nodes, the two clamp comparators' sum and carry nodes, and the output register. State
``st`` is int64 [cols, 7] (``ROUND_S, ROUND_C, HI_S, HI_C, LO_S, LO_C, OUT_REG`` patterns),
initialised by :func:`output_init` and updated in place. Values are int64 bit patterns; every add
is masked.
"""

from __future__ import annotations

from numba import njit

from accelsim.kernels.bits import popcount

ROUND_S, ROUND_C, HI_S, HI_C, LO_S, LO_C, OUT_REG = 0, 1, 2, 3, 4, 5, 6
#: Words of a column's state.
STATE_WORDS = 7


@njit(cache=True, nogil=True, inline="always")
def _add(a, b, cin, mask):
    """Ripple-carry adder ``a + b + cin`` on ``mask``-wide patterns: (sum nodes, carry nodes)."""
    s = a + b + cin
    return s & mask, ((s ^ a ^ b) >> 1) & mask


@njit(cache=True, nogil=True)
def _nodes(y, acc_bits, shift, cmp_bits, lo, hi, out):
    """Node vector of the unit for the acc_bits value ``y`` written into ``out`` [7]; returns the
    output value (clamped, signed/unsigned integer)."""
    r = y
    wide = (1 << (acc_bits + 1)) - 1
    if shift > 0:  # y + (2^(s-1) - 1) + [y >= 0], then an arithmetic shift (wiring)
        a = y & wide
        out[ROUND_S], out[ROUND_C] = _add(a, (1 << (shift - 1)) - 1, 0 if y < 0 else 1, wide)
        z = out[ROUND_S]
        if z >> acc_bits:
            z -= 1 << (acc_bits + 1)
        r = z >> shift
    else:
        out[ROUND_S], out[ROUND_C] = 0, 0
    cmask = (1 << cmp_bits) - 1
    ra = r & cmask
    out[HI_S], out[HI_C] = _add(ra, ~hi & cmask, 0, cmask)  # r - hi - 1 >= 0  <=>  r > hi
    out[LO_S], out[LO_C] = _add(ra, ~lo & cmask, 1, cmask)  # r - lo < 0       <=>  r < lo
    top = 1 << (cmp_bits - 1)
    if (out[HI_S] & top) == 0:
        return hi
    if out[LO_S] & top:
        return lo
    return r


@njit(cache=True, nogil=True)
def output_init(acc_bits, shift, cmp_bits, lo, hi, st):
    """Reset every column's state ``st`` [cols, 7] to the unit's nodes for input 0 and an output
    register holding 0 (datapath.md §4: state at the start of a layer)."""
    for c in range(st.shape[0]):
        _nodes(0, acc_bits, shift, cmp_bits, lo, hi, st[c])
        st[c, OUT_REG] = 0


@njit(cache=True, nogil=True)
def output_evals(cyc, col, y, acc_bits, shift, bits, cmp_bits, lo, hi, st, y_out, counts,
                 trace):
    """Evaluate the output unit once per element, in the given order.

    Parameters
    ----------
    cyc : int64 [E]
        Layer cycle of each evaluation (row of ``trace``).
    col : int64 [E]
        Array column whose unit evaluates it.
    y : int64 [E]
        The element's accumulator value (signed, fits acc_bits).
    acc_bits, shift, bits, cmp_bits : int
        Accumulator width, right shift, output width and comparator width (bits).
    lo, hi : int
        Clamp bounds (values).
    st : int64 [cols, 7]
        Per-column state, updated in place.
    y_out : int64 [E]
        Output values, written.
    counts : int64 [1]
        Toggles of the unit, incremented.
    trace : int64 [cycles] or [0]
        Per-cycle toggles, incremented when it has rows.
    """
    omask = (1 << bits) - 1
    tracing = trace.shape[0] > 0
    nodes = st[0].copy()
    total = 0
    for e in range(y.shape[0]):
        c = col[e]
        v = _nodes(y[e], acc_bits, shift, cmp_bits, lo, hi, nodes)
        reg = v & omask
        t = popcount(reg ^ st[c, OUT_REG])
        for k in range(OUT_REG):
            t += popcount(nodes[k] ^ st[c, k])
            st[c, k] = nodes[k]
        st[c, OUT_REG] = reg
        y_out[e] = v
        total += t
        if tracing:
            trace[cyc[e]] += t
    counts[0] += total
