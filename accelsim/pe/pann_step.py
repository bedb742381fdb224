"""The ``pann`` PE's step (docs/pann.md §2–§4): a product x·w as |w| additions of x through a chain
of ``A`` adders (ceil(|w| / A) cycles), negative weights into a second accumulator
(``dual_accumulator``, P − N subtracted at the column edge or, os, in each PE) or subtracted
(``subtract``).

Registered on :class:`PannConsts` for the drivers of ``accelsim.kernels.drivers``. ``aux`` is a
tuple: the N partial sums moving down the current column [T] (dual, stationary), the dual
subtractors' nodes [R, C] (sum, carry: row 0 per column when stationary, per PE in os) and the
node states of adders 1 … A-1 [R, C, A-1] (None for one adder: the step is then compiled without
the chain loop). Per-PE state words: adder 0's sum and carry nodes, the N register.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import types
from numba.extending import overload

from accelsim.kernels.bits import adder_step, popcount, trace_add
from accelsim.kernels.step import (
    is_kind,
    pe_edge,
    pe_flush,
    pe_idle,
    pe_load,
    pe_output,
    pe_step,
    pe_store,
    pe_tally,
)
from accelsim.pe.base import counter_layout

CLASSES = ("x_reg", "w_reg", "psum_reg", "adder")
EXTRA = ("additions",)
_L = counter_layout(CLASSES, EXTRA)
PSUM_REG, ADDER, OVERFLOWS, ADDITIONS = (_L["psum_reg"], _L["adder"], _L["overflows"],
                                         _L["additions"])
#: State words per PE: adder 0's sum and carry nodes, the N accumulator (dual mode).
STATE_WORDS = 3


class PannConsts(NamedTuple):
    """Compile-time view of a pann array's PE: the accumulator's width, masks and overflow mode,
    adders per PE ``A``, the sign mode, the dataflow family (``os``: output-stationary)."""

    acc_bits: int
    mask: int
    sign: int
    saturate: bool
    A: int
    dual: bool
    os: bool


def _chain_view(chain, r, c):
    """``chain[r, c]``: node states of adders 1 … A-1 of PE (r, c); None without a chain."""
    raise NotImplementedError("njit only")


@overload(_chain_view, inline="always")
def _chain_view_njit(chain, r, c):
    if isinstance(chain, types.NoneType):
        return lambda chain, r, c: None
    return lambda chain, r, c: chain[r, c]


def _repeat(reg, base, b, cin, mag, A, mask, sign, saturate, s0, c0, rest_s, rest_c, trace, cyc):
    """``mag`` >= 1 additions of ``b`` (+ ``cin``) to ``base`` through the A-adder chain.

    Addition cycle j evaluates adders 0 … min(A, left) - 1 and loads the register (pattern
    ``reg``). Adder 0's previous nodes ``s0``/``c0`` are scalars (returned updated); adders
    1 … A-1 keep theirs in ``rest_s``/``rest_c`` (updated in place; None when A = 1: the
    single-adder form is chosen at compile time, the chain loop's mere presence slows it by a
    quarter). Toggles go to ``trace`` rows ``cyc``, ``cyc + 1``, … (None: not tracing).
    Returns (register, register toggles, adder toggles, overflows, s0, c0).
    """
    raise NotImplementedError("njit only")


@overload(_repeat, inline="always")
def _repeat_njit(reg, base, b, cin, mag, A, mask, sign, saturate, s0, c0, rest_s, rest_c, trace,
                 cyc):
    if isinstance(rest_s, types.NoneType):

        def single(reg, base, b, cin, mag, A, mask, sign, saturate, s0, c0, rest_s, rest_c,
                   trace, cyc):
            t_reg = 0
            t_add = 0
            n_ovf = 0
            v = base
            for _ in range(mag):
                res, ta, ovf, s0, c0 = adder_step(v, b, cin, mask, sign, saturate, s0, c0)
                n_ovf += ovf
                tr = popcount(reg ^ res)
                reg = res
                v = res
                t_reg += tr
                t_add += ta
                trace_add(trace, cyc, PSUM_REG, tr)
                trace_add(trace, cyc, ADDER, ta)
                cyc += 1
            return reg, t_reg, t_add, n_ovf, s0, c0

        return single

    def chain(reg, base, b, cin, mag, A, mask, sign, saturate, s0, c0, rest_s, rest_c, trace,
              cyc):
        t_reg = 0
        t_add = 0
        n_ovf = 0
        v = base
        left = mag
        while left > 0:
            k = A if left > A else left
            v, ta, ovf, s0, c0 = adder_step(v, b, cin, mask, sign, saturate, s0, c0)  # adder 0
            n_ovf += ovf
            for i in range(k - 1):  # adders 1 … k-1
                v, t_i, ovf, rest_s[i], rest_c[i] = adder_step(v, b, cin, mask, sign, saturate,
                                                               rest_s[i], rest_c[i])
                ta += t_i
                n_ovf += ovf
            tr = popcount(reg ^ v)
            reg = v
            t_reg += tr
            t_add += ta
            trace_add(trace, cyc, PSUM_REG, tr)
            trace_add(trace, cyc, ADDER, ta)
            cyc += 1
            left -= k
        return reg, t_reg, t_add, n_ovf, s0, c0

    return chain


@overload(pe_load, inline="always")
def _load(k, aux, state, r, c):
    if not is_kind(k, PannConsts):
        return None
    return lambda k, aux, state, r, c: (state[r, c, 0], state[r, c, 1], state[r, c, 2])


@overload(pe_store, inline="always")
def _store(k, state, r, c, st):
    if not is_kind(k, PannConsts):
        return None

    def impl(k, state, r, c, st):
        state[r, c, 0] = st[0]
        state[r, c, 1] = st[1]
        state[r, c, 2] = st[2]

    return impl


@overload(pe_tally, inline="always")
def _tally(k):
    if not is_kind(k, PannConsts):
        return None

    def impl(k):
        z = np.int64(0)
        return (z, z, z, z)

    return impl


@overload(pe_flush, inline="always")
def _flush(k, tally, counts):
    if not is_kind(k, PannConsts):
        return None

    def impl(k, tally, counts):
        counts[PSUM_REG] += tally[0]
        counts[ADDER] += tally[1]
        counts[OVERFLOWS] += tally[2]
        counts[ADDITIONS] += tally[3]

    return impl


@overload(pe_step, inline="always")
def _step(k, aux, st, xv, wv, xp, wp, acc_in, preg, tally, trace, cyc, r, c, i):
    if not is_kind(k, PannConsts):
        return None

    def impl(k, aux, st, xv, wv, xp, wp, acc_in, preg, tally, trace, cyc, r, c, i):
        a_s, a_c, nreg = st
        nbuf = aux[0]
        mask = k.mask
        mag = abs(wv)
        neg = wv < 0
        if k.os:  # P holds, or restarts from 0 on the fold's first MAC; N likewise
            p_in = preg if i > 0 else 0
            n_in = nreg if i > 0 else 0
        else:  # partial sums from the PE above (nothing above row 0)
            p_in = acc_in
            n_in = nbuf[i] if r > 0 else 0
        # The chain's target register `act` with its base `a_in`; in dual mode the other register
        # of the pair passes its own input (stationary) or holds/clears (os) — `to` toggles.
        to = 0
        if k.dual:
            if neg:
                act, a_in, oth, o_in = nreg, n_in, preg, p_in
            else:
                act, a_in, oth, o_in = preg, p_in, nreg, n_in
            if k.os:
                o_in = oth if i > 0 else 0
            to = popcount(oth ^ o_in)
            oth = o_in
            b = xp
            cin = 0
        else:
            act, a_in, oth = preg, p_in, nreg
            b = ((~xp) & mask) if neg else xp
            cin = 1 if neg else 0
        if mag == 0:  # pass-through (or hold), no addition
            tp = popcount(act ^ a_in)
            act = a_in
            ta = 0
            no = 0
            trace_add(trace, cyc, PSUM_REG, tp)
        else:
            act, tp, ta, no, a_s, a_c = _repeat(act, a_in, b, cin, mag, k.A, mask, k.sign,
                                                k.saturate, a_s, a_c, _chain_view(aux[3], r, c),
                                                _chain_view(aux[4], r, c), trace, cyc)
        trace_add(trace, cyc, PSUM_REG, to)
        tp += to
        if neg and k.dual:
            nreg, preg = act, oth
        else:
            preg, nreg = act, oth
        if not k.os:
            nbuf[i] = nreg
        tally = (tally[0] + tp, tally[1] + ta, tally[2] + no, tally[3] + mag)
        return preg, (a_s, a_c, nreg), tally

    return impl


@overload(pe_idle, inline="always")
def _idle(k, aux, state, r, c, cyc, counts, trace):
    if not is_kind(k, PannConsts):
        return None

    def impl(k, aux, state, r, c, cyc, counts, trace):
        t = popcount(state[r, c, 2])  # the N accumulator loads 0 with the psum register
        counts[PSUM_REG] += t
        if trace.shape[0] > 0:
            trace[cyc, PSUM_REG] += t
        state[r, c, 2] = 0

    return impl


@overload(pe_edge, inline="always")
def _edge(k, aux, colbuf, out, c, first, step0, starts, edge_s, edge_c, counts, trace):
    if not is_kind(k, PannConsts):
        return None

    def impl(k, aux, colbuf, out, c, first, step0, starts, edge_s, edge_c, counts, trace):
        # In the last cycle of step step0 + t: the dual subtractor P - N, then write (first
        # K-fold) or edge-accumulate (pann.md §4).
        nbuf, sub_s, sub_c = aux[0], aux[1], aux[2]
        mask = k.mask
        tracing = trace.shape[0] > 0
        e_s = edge_s[c]
        e_c = edge_c[c]
        d_s = sub_s[0, c]
        d_c = sub_c[0, c]
        for t in range(colbuf.shape[0]):
            cyc = starts[step0 + t + 1] - 1
            col = colbuf[t]
            if k.dual:
                col, tsub, ovf, d_s, d_c = adder_step(col, (~nbuf[t]) & mask, 1, mask, k.sign,
                                                      k.saturate, d_s, d_c)
                if ovf:
                    counts[OVERFLOWS] += 1
                counts[ADDER] += tsub
                if tracing:
                    trace[cyc, ADDER] += tsub
            if first:
                out[t, c] = col
            else:
                res, tadd, ovf, e_s, e_c = adder_step(out[t, c], col, 0, mask, k.sign, k.saturate,
                                                      e_s, e_c)
                if ovf:
                    counts[OVERFLOWS] += 1
                counts[ADDER] += tadd
                if tracing:
                    trace[cyc, ADDER] += tadd
                out[t, c] = res
        edge_s[c] = e_s
        edge_c[c] = e_c
        sub_s[0, c] = d_s
        sub_c[0, c] = d_c

    return impl


@overload(pe_output, inline="always")
def _output(k, aux, st, r, c, acc, cyc, counts, trace):
    if not is_kind(k, PannConsts):
        return None

    def impl(k, aux, st, r, c, acc, cyc, counts, trace):
        if not k.dual:
            return acc
        sub_s, sub_c = aux[1], aux[2]  # the PE's output subtractor P - N, its last cycle
        res, tsub, ovf, sub_s[r, c], sub_c[r, c] = adder_step(
            acc, (~st[2]) & k.mask, 1, k.mask, k.sign, k.saturate, sub_s[r, c], sub_c[r, c])
        if ovf:
            counts[OVERFLOWS] += 1
        counts[ADDER] += tsub
        if trace.shape[0] > 0:
            trace[cyc, ADDER] += tsub
        return res

    return impl
