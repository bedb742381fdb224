"""The ``mac`` PE's step (datapath.md §1–§3): a Baugh–Wooley multiplier and a ripple-carry adder.

Registered on :class:`MacConsts` for the drivers of ``accelsim.kernels.drivers``. The multiplier's
state is its node vector (tabulated, four words in scalars) or, for wide multipliers evaluated row
by row, the operand pair; the choice is made at compile time on ``aux.ndim`` (the table, or a 1-D
dummy), so each compiled driver holds one path only: dead code in the hot loop, array reads that
cannot be hoisted, or re-reading the previous row slow it several-fold.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba.extending import overload

from accelsim.kernels.bits import adder_step, mult_toggles_direct, popcount, trace_add
from accelsim.kernels.drivers import plain_accumulator
from accelsim.kernels.step import (
    is_kind,
    pe_flush,
    pe_load,
    pe_step,
    pe_store,
    pe_tally,
)
from accelsim.pe.base import counter_layout

CLASSES = ("x_reg", "w_reg", "psum_reg", "mult", "adder")
_L = counter_layout(CLASSES)
PSUM_REG, MULT, ADDER, OVERFLOWS = _L["psum_reg"], _L["mult"], _L["adder"], _L["overflows"]


class MacConsts(NamedTuple):
    """Compile-time view of a mac array's PE: the accumulator's width, masks and overflow mode;
    the multiplier's parameters (table order ``w_major``, operand widths, the narrower operand
    first: ``n``×``m``, signedness ``sa``/``sb``). The multiplier's node table is the drivers'
    ``aux`` array."""

    acc_bits: int
    acc_mask: int
    acc_sign: int
    saturate: bool
    w_major: bool
    x_bits: int
    w_bits: int
    n: int
    m: int
    sa: bool
    sb: bool
    x_is_a: bool


def _mult_state(px, pw, k, table):
    """Multiplier state after operands (px, pw): its node words (tabulated) or the pair itself."""
    raise NotImplementedError("njit only")


def _mult_step(q0, q1, q2, q3, xp, wp, k, table):
    """Evaluate the multiplier on (xp, wp) from state (q0..q3): (toggles, new state)."""
    raise NotImplementedError("njit only")


@overload(_mult_state, inline="always")
def _mult_state_njit(px, pw, k, table):
    if table.ndim == 1:
        return lambda px, pw, k, table: (px, pw, 0, 0)

    def tabulated(px, pw, k, table):
        wm = np.int64(k.w_major)
        i = wm * ((pw << k.x_bits) | px) + (1 - wm) * ((px << k.w_bits) | pw)
        return table[i, 0], table[i, 1], table[i, 2], table[i, 3]

    return tabulated


@overload(_mult_step, inline="always")
def _mult_step_njit(q0, q1, q2, q3, xp, wp, k, table):
    if table.ndim == 1:

        def direct(q0, q1, q2, q3, xp, wp, k, table):
            if k.x_is_a:
                tog = mult_toggles_direct(q0, q1, xp, wp, k.n, k.m, k.sa, k.sb)
            else:
                tog = mult_toggles_direct(q1, q0, wp, xp, k.n, k.m, k.sa, k.sb)
            return tog, xp, wp, 0, 0

        return direct

    def tabulated(q0, q1, q2, q3, xp, wp, k, table):
        wm = np.int64(k.w_major)
        i = wm * ((wp << k.x_bits) | xp) + (1 - wm) * ((xp << k.w_bits) | wp)
        n0, n1, n2, n3 = table[i, 0], table[i, 1], table[i, 2], table[i, 3]
        tog = popcount(q0 ^ n0) + popcount(q1 ^ n1) + popcount(q2 ^ n2) + popcount(q3 ^ n3)
        return tog, n0, n1, n2, n3

    return tabulated


# State words per PE: the multiplier's last operand patterns, the adder's sum and carry nodes.
STATE_WORDS = 4


@overload(pe_load, inline="always")
def _load(k, aux, state, r, c):
    if not is_kind(k, MacConsts):
        return None

    def impl(k, aux, state, r, c):
        px = state[r, c, 0]
        pw = state[r, c, 1]
        q0, q1, q2, q3 = _mult_state(px, pw, k, aux)
        return (q0, q1, q2, q3, state[r, c, 2], state[r, c, 3], px, pw)

    return impl


@overload(pe_store, inline="always")
def _store(k, state, r, c, st):
    if not is_kind(k, MacConsts):
        return None

    def impl(k, state, r, c, st):
        state[r, c, 0] = st[6]
        state[r, c, 1] = st[7]
        state[r, c, 2] = st[4]
        state[r, c, 3] = st[5]

    return impl


@overload(pe_tally, inline="always")
def _tally(k):
    if not is_kind(k, MacConsts):
        return None
    def impl(k):
        z = np.int64(0)
        return (z, z, z, z)

    return impl


@overload(pe_flush, inline="always")
def _flush(k, tally, counts):
    if not is_kind(k, MacConsts):
        return None

    def impl(k, tally, counts):
        counts[PSUM_REG] += tally[0]
        counts[MULT] += tally[1]
        counts[ADDER] += tally[2]
        counts[OVERFLOWS] += tally[3]

    return impl


@overload(pe_step, inline="always")
def _step(k, aux, st, xv, wv, xp, wp, acc_in, preg, tally, trace, cyc, r, c, i):
    if not is_kind(k, MacConsts):
        return None

    def impl(k, aux, st, xv, wv, xp, wp, acc_in, preg, tally, trace, cyc, r, c, i):
        q0, q1, q2, q3, a_s, a_c, px, pw = st
        tmul, q0, q1, q2, q3 = _mult_step(q0, q1, q2, q3, xp, wp, k, aux)
        res, tadd, ovf, a_s, a_c = adder_step(acc_in, (xv * wv) & k.acc_mask, 0, k.acc_mask,
                                              k.acc_sign, k.saturate, a_s, a_c)
        tp = popcount(preg ^ res)
        trace_add(trace, cyc, PSUM_REG, tp)
        trace_add(trace, cyc, MULT, tmul)
        trace_add(trace, cyc, ADDER, tadd)
        tally = (tally[0] + tp, tally[1] + tmul, tally[2] + tadd, tally[3] + np.int64(ovf))
        return res, (q0, q1, q2, q3, a_s, a_c, xp, wp), tally

    return impl


plain_accumulator(MacConsts, ADDER, OVERFLOWS)
