"""The ``bitserial`` PE's step (docs/bitserial.md §2–§4): one MAC is ``b = pe.x_bits`` cycles of
``w_bits`` AND gates and one acc_bits shift-add, LSB first, the sign bit of a signed x subtracted;
overflow and saturation act on the completed product (the net wrap count of its shift-adds).

Registered on :class:`BitserialConsts` for the drivers of ``accelsim.kernels.drivers``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba.extending import overload

from accelsim.kernels.bits import adder_step, popcount, trace_add
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
EXTRA = ("additions",)
_L = counter_layout(CLASSES, EXTRA)
PSUM_REG, MULT, ADDER = _L["psum_reg"], _L["mult"], _L["adder"]
OVERFLOWS, ADDITIONS = _L["overflows"], _L["additions"]
#: State words per PE: the AND gates' last outputs, the shift-adder's sum and carry nodes.
STATE_WORDS = 3


class BitserialConsts(NamedTuple):
    """Compile-time view of a bitserial array's PE: cycles per MAC ``b`` (= pe.x_bits), w's width,
    the layer's signedness, the accumulator's width and overflow mode."""

    b: int
    w_bits: int
    x_signed: bool
    w_signed: bool
    acc_bits: int
    acc_mask: int
    acc_sign: int
    saturate: bool


@overload(pe_load, inline="always")
def _load(k, aux, state, r, c):
    if not is_kind(k, BitserialConsts):
        return None
    return lambda k, aux, state, r, c: (state[r, c, 0], state[r, c, 1], state[r, c, 2])


@overload(pe_store, inline="always")
def _store(k, state, r, c, st):
    if not is_kind(k, BitserialConsts):
        return None

    def impl(k, state, r, c, st):
        state[r, c, 0] = st[0]
        state[r, c, 1] = st[1]
        state[r, c, 2] = st[2]

    return impl


@overload(pe_tally, inline="always")
def _tally(k):
    if not is_kind(k, BitserialConsts):
        return None

    def impl(k):
        z = np.int64(0)
        return (z, z, z, z, z)

    return impl


@overload(pe_flush, inline="always")
def _flush(k, tally, counts):
    if not is_kind(k, BitserialConsts):
        return None

    def impl(k, tally, counts):
        counts[PSUM_REG] += tally[0]
        counts[MULT] += tally[1]
        counts[ADDER] += tally[2]
        counts[OVERFLOWS] += tally[3]
        counts[ADDITIONS] += tally[4]

    return impl


@overload(pe_step, inline="always")
def _step(k, aux, st, xv, wv, xp, wp, acc_in, preg, tally, trace, cyc, r, c, i):
    if not is_kind(k, BitserialConsts):
        return None

    def impl(k, aux, st, xv, wv, xp, wp, acc_in, preg, tally, trace, cyc, r, c, i):
        pp_prev, a_s, a_c = st
        w_top = 1 << (k.w_bits - 1)
        a = acc_in
        wraps = 0
        n_p = 0
        n_m = 0
        n_a = 0
        n_o = 0
        for j in range(k.b):
            pp = wp if (xp >> j) & 1 else 0  # the AND gates (bit j of x with every bit of w)
            tm = popcount(pp ^ pp_prev)
            pp_prev = pp
            e = pp - (w_top << 1) if (k.w_signed and pp & w_top) else pp
            addend = (e << j) & k.acc_mask
            cin = 0
            if k.x_signed and j == k.b - 1:  # the sign bit weighs -2^(b-1): subtract
                addend = ~addend & k.acc_mask
                cin = 1
            res, ta, wrapped, a_s, a_c = adder_step(a, addend, cin, k.acc_mask, k.acc_sign,
                                                    False, a_s, a_c)
            if wrapped:
                wraps += -1 if a & k.acc_sign else 1
            if j == k.b - 1 and wraps != 0:  # the completed product left the range
                n_o += 1
                if k.saturate:
                    res = k.acc_sign - 1 if wraps > 0 else k.acc_sign
            tp = popcount(preg ^ res)
            preg = res
            a = res
            n_p += tp
            n_m += tm
            n_a += ta
            trace_add(trace, cyc + j, PSUM_REG, tp)
            trace_add(trace, cyc + j, MULT, tm)
            trace_add(trace, cyc + j, ADDER, ta)
        tally = (tally[0] + n_p, tally[1] + n_m, tally[2] + n_a, tally[3] + n_o, tally[4] + k.b)
        return a, (pp_prev, a_s, a_c), tally

    return impl


plain_accumulator(BitserialConsts, ADDER, OVERFLOWS)
