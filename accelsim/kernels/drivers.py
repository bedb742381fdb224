"""Schedule drivers: one per dataflow family, specialised at compile time on a PE kind's step.

Implements the schedules of ``docs/datapath.md`` §5 once for every PE kind: the skew, the preload,
idle loads (``idle: zero``), the moving registers, partial sums moving down a column and the
column edge (stationary family), the accumulators (output-stationary), and the trace bookkeeping.
What one PE does with one operand pair is the kind's step (``accelsim.kernels.step``), inlined.

Instead of stepping every PE every cycle (the reference models do that), each PE's events are
visited in time order; toggles are counted at the cycle they happen, so totals and the optional
per-cycle trace are identical. Time may be stretched: fold step ``s`` starts at fold cycle
``starts[s]`` (``starts[-1]``: the fold's length); a one-cycle-per-step kind passes
``starts = arange(L + 1)``.

Counters ``counts`` (int64[n], the kind's layout; the first three are x_reg, w_reg, psum_reg).
``trace`` is int64[fold cycles, classes] (or shape (0, classes) to skip tracing); a PE's stream
runs with the trace or with None, so an untraced stream is compiled without trace code and counts
the moving registers' toggles once per row or column stream (:func:`stream_toggles`): every PE of a
row loads the same sequence. Register and
datapath state arrays carry across folds of a layer and are updated in place. The ``_parallel``
drivers run columns (stationary) or rows (os) on all cores without a trace; per-column (per-row)
counters summed in order keep the integers identical to the serial drivers'.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numba.extending import overload

from accelsim.kernels.bits import adder_step, popcount, trace_add, tracing_on, zero_load
from accelsim.kernels.preload import preload_stationary
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
from accelsim.pe.base import ARRAY_REGISTERS, counter_layout

_LAYOUT = counter_layout(ARRAY_REGISTERS)
X_REG, W_REG, PSUM_REG = _LAYOUT["x_reg"], _LAYOUT["w_reg"], _LAYOUT["psum_reg"]


@njit(cache=True, nogil=True)
def stream_toggles(V, mask):
    """Toggles of a register that loads ``V[i, 0], V[i, 1], ...`` (patterns ``& mask``), after its
    first load: int64 [rows of V]. A stream moving along a row (or column) of PEs loads the same
    sequence into each of them, so untraced drivers count it once per stream, not per PE."""
    n, L = V.shape
    tog = np.zeros(n, dtype=np.int64)
    for i in range(n):
        s = 0
        for j in range(1, L):
            s += popcount((V[i, j - 1] ^ V[i, j]) & mask)
        tog[i] = s
    return tog


# ------------------------------------------------------------------------ stationary (ws, is)


@njit(cache=True, nogil=True)
def _stream_column(c, k, aux, Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits, idle_zero,
                   starts, stream_tog, mov_reg, psum_reg, state, edge_s, edge_c, counts, trace):
    """Stream phase of column ``c`` of a stationary fold (PE (r, c) handles H[t, r] in step
    R + t + r + c), then its edge. Touches only column c's state. ``stream_tog`` [r_act]: the
    toggles of row r's moving stream after its first element (:func:`stream_toggles`)."""
    r_act, T = Ht.shape
    c_act = S.shape[1]
    mov_mask = (1 << mov_bits) - 1
    sta_mask = (1 << sta_bits) - 1
    mov_cls = X_REG if mov_is_x else W_REG
    tracing = trace.shape[0] > 0
    colbuf = np.zeros(T, dtype=np.int64)
    for r in range(R):
        mreg = mov_reg[r, c]
        preg = psum_reg[r, c]
        if idle_zero:  # nothing valid arrives during the preload
            zero_load(mreg, mov_cls, 0, counts, trace)
            zero_load(preg, PSUM_REG, 0, counts, trace)
            pe_idle(k, aux, state, r, c, 0, counts, trace)
            mreg = 0
            preg = 0
        if r < r_act and c < c_act:
            s_val = S[r, c]
            st = pe_load(k, aux, state, r, c)
            base = R + r + c
            if tracing:
                mreg, preg, st, tally, n_mov = _stream_pe(
                    k, aux, st, Ht, r, c, s_val, s_val & sta_mask, mov_is_x, mov_mask, mov_cls,
                    mreg, preg, colbuf, starts, base, stream_tog[r], trace)
            else:
                mreg, preg, st, tally, n_mov = _stream_pe(
                    k, aux, st, Ht, r, c, s_val, s_val & sta_mask, mov_is_x, mov_mask, mov_cls,
                    mreg, preg, colbuf, starts, base, stream_tog[r], None)
            counts[mov_cls] += n_mov
            pe_flush(k, tally, counts)
            pe_store(k, state, r, c, st)
            if idle_zero and r + c < R + C - 2:  # idle steps follow the stream
                cyc = starts[base + T]
                zero_load(mreg, mov_cls, cyc, counts, trace)
                zero_load(preg, PSUM_REG, cyc, counts, trace)
                pe_idle(k, aux, state, r, c, cyc, counts, trace)
                mreg = 0
                preg = 0
        mov_reg[r, c] = mreg
        psum_reg[r, c] = preg
    if c < c_act:
        pe_edge(k, aux, colbuf, out, c, first, R + r_act - 1 + c, starts, edge_s, edge_c, counts,
                trace)


@njit(cache=True, nogil=True)
def _stream_pe(k, aux, st, Ht, r, c, s_val, s_pat, mov_is_x, mov_mask, mov_cls, mreg, preg,
               colbuf, starts, base, row_tog, trace):
    """The stream of one PE (row r) of a stationary fold: its moving register and its step for
    every t, partial sums from and to ``colbuf``. ``trace`` is the fold's trace or None (then every
    trace write compiles away, and the moving register's toggles are its first load plus the
    row's ``row_tog``, counted once per row). Returns (mreg, preg, st, tally, moving-register
    toggles)."""
    tally = pe_tally(k)
    T = Ht.shape[1]
    n_mov = 0
    if not tracing_on(trace) and T > 0:
        n_mov = popcount(mreg ^ (Ht[r, 0] & mov_mask)) + row_tog
        mreg = Ht[r, T - 1] & mov_mask
    for t in range(T):
        h = Ht[r, t]
        hp = h & mov_mask
        cyc = 0
        if tracing_on(trace):
            tm = popcount(mreg ^ hp)
            mreg = hp
            n_mov += tm
            cyc = starts[base + t]
            trace_add(trace, cyc, mov_cls, tm)
        xv = h if mov_is_x else s_val
        wv = s_val if mov_is_x else h
        xp = hp if mov_is_x else s_pat
        wp = s_pat if mov_is_x else hp
        preg, st, tally = pe_step(k, aux, st, xv, wv, xp, wp, colbuf[t], preg, tally, trace, cyc,
                                  r, c, t)
        colbuf[t] = preg
    return mreg, preg, st, tally, n_mov


@njit(cache=True, nogil=True)
def column_edge(colbuf, out, c, first, step0, acc_bits, saturate, edge_cls, ovf_cls, starts,
                edge_s, edge_c, counts, trace):
    """Column c's bottom-edge accumulator, t ascending, in the last cycle of step ``step0 + t``:
    write (first K-fold) or add the column results ``colbuf`` (an acc_bits datapath.md §3 adder,
    its toggles in class ``edge_cls``). The ``pe_edge`` of kinds whose column result is the psum
    itself."""
    T = colbuf.shape[0]
    if first:
        for t in range(T):
            out[t, c] = colbuf[t]
        return
    tracing = trace.shape[0] > 0
    e_s = edge_s[c]
    e_c = edge_c[c]
    for t in range(T):
        res, tadd, ovf, e_s, e_c = adder_step(out[t, c], colbuf[t], 0, (1 << acc_bits) - 1,
                                              1 << (acc_bits - 1), saturate, e_s, e_c)
        if ovf:
            counts[ovf_cls] += 1
        counts[edge_cls] += tadd
        if tracing:
            trace[starts[step0 + t + 1] - 1, edge_cls] += tadd
        out[t, c] = res
    edge_s[c] = e_s
    edge_c[c] = e_c


def plain_accumulator(consts_class, adder_cls: int, ovf_cls: int) -> None:
    """Register the hooks of a kind whose only register is the psum/acc register (``pe_idle``:
    nothing), whose column result is the psum itself (``pe_edge``: :func:`column_edge`, toggles
    in class ``adder_cls``, overflows in ``ovf_cls``) and whose os output is its accumulator
    (``pe_output``), for the kind's constants class ``consts_class``."""

    @overload(pe_idle, inline="always")
    def _idle(k, aux, state, r, c, cyc, counts, trace):
        if not is_kind(k, consts_class):
            return None
        return lambda k, aux, state, r, c, cyc, counts, trace: None

    @overload(pe_edge, inline="always")
    def _edge(k, aux, colbuf, out, c, first, step0, starts, edge_s, edge_c, counts, trace):
        if not is_kind(k, consts_class):
            return None

        def impl(k, aux, colbuf, out, c, first, step0, starts, edge_s, edge_c, counts, trace):
            column_edge(colbuf, out, c, first, step0, k.acc_bits, k.saturate, adder_cls, ovf_cls,
                        starts, edge_s, edge_c, counts, trace)

        return impl

    @overload(pe_output, inline="always")
    def _output(k, aux, st, r, c, acc, cyc, counts, trace):
        if not is_kind(k, consts_class):
            return None
        return lambda k, aux, st, r, c, acc, cyc, counts, trace: acc


@njit(cache=True, nogil=True)
def fold_stationary(k, aux, Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits, idle_zero,
                    starts, mov_reg, sta_reg, psum_reg, state, edge_s, edge_c, counts, trace):
    """One stationary fold (datapath.md §5.1): preload ``S``, stream ``Ht``, edge.

    ``k`` the PE kind's constants, ``aux`` its array (e.g. a node table); Ht int64 [r_act, T]
    moving operand values (row r's stream); S int64 [r_act, c_act] stationary values; out int64
    [T, c_act] output patterns (acc_bits), written on the first K-fold (``first``) and
    accumulated on later ones. mov_is_x: the moving
    operand is x. Register arrays are [R, C], ``state`` [R, C, words], edge_* [C].
    """
    sta_cls = W_REG if mov_is_x else X_REG
    preload_stationary(S, R, C, (1 << sta_bits) - 1, sta_cls, idle_zero, sta_reg, counts, trace)
    tog = stream_toggles(Ht, (1 << mov_bits) - 1)
    for c in range(C):
        _stream_column(c, k, aux, Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits,
                       idle_zero, starts, tog, mov_reg, psum_reg, state, edge_s, edge_c, counts,
                       trace)


@njit(cache=True, nogil=True, parallel=True)
def fold_stationary_parallel(k, aux, Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits,
                             idle_zero, starts, mov_reg, sta_reg, psum_reg, state, edge_s, edge_c,
                             counts, trace):
    """:func:`fold_stationary` with the columns on all cores (``trace`` must be empty)."""
    sta_cls = W_REG if mov_is_x else X_REG
    preload_stationary(S, R, C, (1 << sta_bits) - 1, sta_cls, idle_zero, sta_reg, counts, trace)
    tog = stream_toggles(Ht, (1 << mov_bits) - 1)
    per_col = np.zeros((C, counts.shape[0]), dtype=np.int64)
    for c in prange(C):
        _stream_column(c, k, aux, Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits,
                       idle_zero, starts, tog, mov_reg, psum_reg, state, edge_s, edge_c,
                       per_col[c], trace)
    for i in range(counts.shape[0]):
        counts[i] += per_col[:, i].sum()


# ------------------------------------------------------------------------ output-stationary


@njit(cache=True, nogil=True)
def _os_row(r, k, aux, X, Wt, out, R, C, x_bits, w_bits, idle_zero, starts, x_tog, w_tog, x_reg,
            w_reg, acc_reg, state, counts, trace):
    """Row ``r`` of an os fold: every PE (r, c), operands k at step r + c + k. ``x_tog``
    [r_act], ``w_tog`` [c_act]: the x rows' and w columns' stream toggles after their first
    element (:func:`stream_toggles`)."""
    r_act, K = X.shape
    c_act = Wt.shape[0]
    x_mask = (1 << x_bits) - 1
    w_mask = (1 << w_bits) - 1
    tracing = trace.shape[0] > 0
    for c in range(C):
        xr = x_reg[r, c]
        wr = w_reg[r, c]
        active = r < r_act and c < c_act
        base = r + c
        if idle_zero and (base > 0 or not active):  # idle before the operands arrive
            zero_load(xr, X_REG, 0, counts, trace)
            zero_load(wr, W_REG, 0, counts, trace)
            xr = 0
            wr = 0
        if active:
            st = pe_load(k, aux, state, r, c)
            if tracing:
                xr, wr, acc, st, tally, n_x, n_w = _os_pe(
                    k, aux, st, X, Wt, r, c, x_mask, w_mask, xr, wr, acc_reg[r, c], starts, base,
                    x_tog[r], w_tog[c], trace)
            else:
                xr, wr, acc, st, tally, n_x, n_w = _os_pe(
                    k, aux, st, X, Wt, r, c, x_mask, w_mask, xr, wr, acc_reg[r, c], starts, base,
                    x_tog[r], w_tog[c], None)
            counts[X_REG] += n_x
            counts[W_REG] += n_w
            pe_flush(k, tally, counts)
            out[r, c] = pe_output(k, aux, st, r, c, acc, starts[base + K] - 1, counts, trace)
            pe_store(k, state, r, c, st)
            if idle_zero and base < R + C - 2:  # idle steps follow the stream
                cyc = starts[base + K]
                zero_load(xr, X_REG, cyc, counts, trace)
                zero_load(wr, W_REG, cyc, counts, trace)
                xr = 0
                wr = 0
            acc_reg[r, c] = acc
        x_reg[r, c] = xr
        w_reg[r, c] = wr


@njit(cache=True, nogil=True)
def _os_pe(k, aux, st, X, Wt, r, c, x_mask, w_mask, xr, wr, acc, starts, base, row_tog, col_tog,
           trace):
    """The K MACs of PE (r, c) of an os fold (``trace`` or None, as in :func:`_stream_pe`; the
    untraced register toggles are the first loads plus ``row_tog``, ``col_tog``). Returns
    (x_reg, w_reg, acc, st, tally, x_reg toggles, w_reg toggles)."""
    tally = pe_tally(k)
    K = X.shape[1]
    n_x = 0
    n_w = 0
    if not tracing_on(trace) and K > 0:
        n_x = popcount(xr ^ (X[r, 0] & x_mask)) + row_tog
        n_w = popcount(wr ^ (Wt[c, 0] & w_mask)) + col_tog
        xr = X[r, K - 1] & x_mask
        wr = Wt[c, K - 1] & w_mask
    for i in range(K):
        xv = X[r, i]
        wv = Wt[c, i]
        xp = xv & x_mask
        wp = wv & w_mask
        cyc = 0
        if tracing_on(trace):
            tx = popcount(xr ^ xp)
            tw = popcount(wr ^ wp)
            xr = xp
            wr = wp
            n_x += tx
            n_w += tw
            cyc = starts[base + i]
            trace_add(trace, cyc, X_REG, tx)
            trace_add(trace, cyc, W_REG, tw)
        acc, st, tally = pe_step(k, aux, st, xv, wv, xp, wp, acc if i > 0 else 0, acc, tally,
                                 trace, cyc, r, c, i)
    return xr, wr, acc, st, tally, n_x, n_w


@njit(cache=True, nogil=True)
def fold_output_stationary(k, aux, X, Wt, out, R, C, x_bits, w_bits, idle_zero, starts, x_reg,
                           w_reg, acc_reg, state, counts, trace):
    """One os fold (datapath.md §5.2). X int64 [r_act, K] rows of x; Wt int64 [c_act, K] columns
    of w (transposed); out int64 [r_act, c_act] receives the accumulator patterns."""
    x_tog = stream_toggles(X, (1 << x_bits) - 1)
    w_tog = stream_toggles(Wt, (1 << w_bits) - 1)
    for r in range(R):
        _os_row(r, k, aux, X, Wt, out, R, C, x_bits, w_bits, idle_zero, starts, x_tog, w_tog,
                x_reg, w_reg, acc_reg, state, counts, trace)


@njit(cache=True, nogil=True, parallel=True)
def fold_output_stationary_parallel(k, aux, X, Wt, out, R, C, x_bits, w_bits, idle_zero, starts,
                                    x_reg, w_reg, acc_reg, state, counts, trace):
    """:func:`fold_output_stationary` with the rows on all cores (``trace`` must be empty)."""
    x_tog = stream_toggles(X, (1 << x_bits) - 1)
    w_tog = stream_toggles(Wt, (1 << w_bits) - 1)
    per_row = np.zeros((R, counts.shape[0]), dtype=np.int64)
    for r in prange(R):
        _os_row(r, k, aux, X, Wt, out, R, C, x_bits, w_bits, idle_zero, starts, x_tog, w_tog,
                x_reg, w_reg, acc_reg, state, per_row[r], trace)
    for i in range(counts.shape[0]):
        counts[i] += per_row[:, i].sum()
