"""Fold kernels of a systolic array of ``mac`` PEs (register-transfer level, zero-delay gate level).

Implements ``docs/datapath.md`` exactly, one fold per call. Instead of stepping every PE every cycle
(the reference model does that), each PE's events are visited in time order; toggles are counted at
the cycle they happen, so totals and the optional per-cycle trace are identical.

Counters ``counts`` (int64[6]): toggles of x_reg, w_reg, psum_reg|acc_reg, mult, adder; overflows.
``trace`` is int64[fold_cycles, 5] (or shape (0, 5) to skip tracing). Register and node state arrays
carry across folds of a layer and are updated in place.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numba.extending import overload

from accelsim.kernels.bits import adder_step, mult_toggles_direct, popcount, zero_load
from accelsim.kernels.preload import preload_stationary

X_REG, W_REG, PSUM_REG, MULT, ADDER, OVERFLOWS = 0, 1, 2, 3, 4, 5


def _mult_state(px, pw, w_major, x_bits, w_bits, table):
    """Multiplier state after operands (px, pw): its node words (tabulated) or the pair itself."""
    raise NotImplementedError("njit only")


def _mult_step(q0, q1, q2, q3, xp, wp, w_major, x_bits, w_bits, n, m, sa, sb, x_is_a, table):
    """Evaluate the multiplier on (xp, wp) from state (q0..q3): (toggles, new state)."""
    raise NotImplementedError("njit only")


# A 2-D ``table`` (``bits.mult_table`` padded to 4 words, rows ordered w-major or x-major) means
# tabulated node vectors, kept in four scalars between MACs; a 1-D dummy means wide multipliers
# evaluated row by row (the state is then the operand pair). The choice is made at compile time by
# these overloads, so each compiled kernel holds one path only: dead code in the hot loop, array
# reads that cannot be hoisted, or re-reading the previous row slow it several-fold.


@overload(_mult_state, inline="always")
def _mult_state_njit(px, pw, w_major, x_bits, w_bits, table):
    if table.ndim == 1:
        return lambda px, pw, w_major, x_bits, w_bits, table: (px, pw, 0, 0)

    def tabulated(px, pw, w_major, x_bits, w_bits, table):
        wm = np.int64(w_major)
        i = wm * ((pw << x_bits) | px) + (1 - wm) * ((px << w_bits) | pw)
        return table[i, 0], table[i, 1], table[i, 2], table[i, 3]

    return tabulated


@overload(_mult_step, inline="always")
def _mult_step_njit(q0, q1, q2, q3, xp, wp, w_major, x_bits, w_bits, n, m, sa, sb, x_is_a, table):
    if table.ndim == 1:

        def direct(q0, q1, q2, q3, xp, wp, w_major, x_bits, w_bits, n, m, sa, sb, x_is_a, table):
            if x_is_a:
                tog = mult_toggles_direct(q0, q1, xp, wp, n, m, sa, sb)
            else:
                tog = mult_toggles_direct(q1, q0, wp, xp, n, m, sa, sb)
            return tog, xp, wp, 0, 0

        return direct

    def tabulated(q0, q1, q2, q3, xp, wp, w_major, x_bits, w_bits, n, m, sa, sb, x_is_a, table):
        wm = np.int64(w_major)
        i = wm * ((wp << x_bits) | xp) + (1 - wm) * ((xp << w_bits) | wp)
        n0, n1, n2, n3 = table[i, 0], table[i, 1], table[i, 2], table[i, 3]
        tog = popcount(q0 ^ n0) + popcount(q1 ^ n1) + popcount(q2 ^ n2) + popcount(q3 ^ n3)
        return tog, n0, n1, n2, n3

    return tabulated


@njit(cache=True, nogil=True)
def _stream_column(
    c, Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits, acc_bits, saturate, idle_zero, mult,
    table, mov_reg, psum_reg, mult_px, mult_pw, add_s, add_c, edge_s, edge_c, counts, trace,
):
    """Stream phase of column ``c`` of a ws/is fold (fold cycles R + s; PE (r, c) handles H[t, r]
    at s = t + r + c), then its edge accumulation. Touches only column c's state."""
    r_act, T = Ht.shape
    c_act = S.shape[1]
    mov_mask = (1 << mov_bits) - 1
    sta_mask = (1 << sta_bits) - 1
    acc_mask = (1 << acc_bits) - 1
    acc_sign = 1 << (acc_bits - 1)
    mov_cls = X_REG if mov_is_x else W_REG
    tracing = trace.shape[0] > 0
    w_major, x_is_a = mult[8] != 0, mult[7] != 0
    mx, mw, mn, mm, msa, msb = mult[1], mult[2], mult[3], mult[4], mult[5] != 0, mult[6] != 0
    colbuf = np.zeros(T, dtype=np.int64)
    for r in range(R):
        mreg = mov_reg[r, c]
        preg = psum_reg[r, c]
        if idle_zero:  # nothing valid arrives during the preload
            zero_load(mreg, mov_cls, 0, counts, trace)
            zero_load(preg, PSUM_REG, 0, counts, trace)
            mreg = 0
            preg = 0
        if r < r_act and c < c_act:
            s_val = S[r, c]
            s_pat = s_val & sta_mask
            px = mult_px[r, c]
            pw = mult_pw[r, c]
            q0, q1, q2, q3 = _mult_state(px, pw, w_major, mx, mw, table)
            a_s = add_s[r, c]
            a_c = add_c[r, c]
            base = R + r + c
            n_mov = 0
            n_psum = 0
            n_mult = 0
            n_add = 0
            for t in range(T):
                h = Ht[r, t]
                hp = h & mov_mask
                tm = popcount(mreg ^ hp)
                mreg = hp
                px = hp if mov_is_x else s_pat
                pw = s_pat if mov_is_x else hp
                tmul, q0, q1, q2, q3 = _mult_step(q0, q1, q2, q3, px, pw, w_major, mx, mw,
                                                  mn, mm, msa, msb, x_is_a, table)
                res, tadd, ovf, a_s, a_c = adder_step(colbuf[t], (h * s_val) & acc_mask, 0,
                                                      acc_mask, acc_sign, saturate, a_s, a_c)
                if ovf:
                    counts[OVERFLOWS] += 1
                tp = popcount(preg ^ res)
                preg = res
                colbuf[t] = res
                n_mov += tm
                n_psum += tp
                n_mult += tmul
                n_add += tadd
                if tracing:
                    cyc = base + t
                    trace[cyc, mov_cls] += tm
                    trace[cyc, PSUM_REG] += tp
                    trace[cyc, MULT] += tmul
                    trace[cyc, ADDER] += tadd
            counts[mov_cls] += n_mov
            counts[PSUM_REG] += n_psum
            counts[MULT] += n_mult
            counts[ADDER] += n_add
            if idle_zero and r + c < R + C - 2:  # idle cycles follow the stream
                zero_load(mreg, mov_cls, base + T, counts, trace)
                zero_load(preg, PSUM_REG, base + T, counts, trace)
                mreg = 0
                preg = 0
            mult_px[r, c] = px
            mult_pw[r, c] = pw
            add_s[r, c] = a_s
            add_c[r, c] = a_c
        mov_reg[r, c] = mreg
        psum_reg[r, c] = preg
    if c < c_act:
        _edge_accumulate(colbuf, out, c, first, R + r_act - 1 + c, acc_bits, saturate,
                         edge_s, edge_c, counts, trace)


@njit(cache=True, nogil=True)
def fold_stationary(
    Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits, acc_bits, saturate, idle_zero,
    mult, table, mov_reg, sta_reg, psum_reg, mult_px, mult_pw, add_s, add_c, edge_s, edge_c,
    counts, trace,
):
    """One ``ws``/``is`` fold (datapath.md §5.1): preload ``S``, stream ``Ht``, edge-accumulate.

    Ht int64 [r_act, T] moving operand values (row r's stream); S int64 [r_act, c_act] stationary
    values; out int64 [T, c_act] output patterns (acc_bits), written on the first K-fold
    (``first``) and accumulated on later ones. mov_is_x: the moving operand is x (ws) or w (is).
    State arrays are [R, C] (edge_* are [C]).
    """
    sta_cls = W_REG if mov_is_x else X_REG
    preload_stationary(S, R, C, (1 << sta_bits) - 1, sta_cls, idle_zero, sta_reg, counts, trace)
    for c in range(C):
        _stream_column(c, Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits, acc_bits,
                       saturate, idle_zero, mult, table, mov_reg, psum_reg, mult_px, mult_pw,
                       add_s, add_c, edge_s, edge_c, counts, trace)


@njit(cache=True, nogil=True, parallel=True)
def fold_stationary_parallel(
    Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits, acc_bits, saturate, idle_zero,
    mult, table, mov_reg, sta_reg, psum_reg, mult_px, mult_pw, add_s, add_c, edge_s, edge_c,
    counts, trace,
):
    """:func:`fold_stationary` with the columns on all cores (no trace: ``trace`` must be empty).

    Columns share no state; each counts into its own row of counters, summed in column order, so
    the integer results are identical to the serial kernel's.
    """
    sta_cls = W_REG if mov_is_x else X_REG
    preload_stationary(S, R, C, (1 << sta_bits) - 1, sta_cls, idle_zero, sta_reg, counts, trace)
    per_col = np.zeros((C, counts.shape[0]), dtype=np.int64)
    for c in prange(C):
        _stream_column(c, Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits, acc_bits,
                       saturate, idle_zero, mult, table, mov_reg, psum_reg, mult_px, mult_pw,
                       add_s, add_c, edge_s, edge_c, per_col[c], trace)
    for k in range(counts.shape[0]):
        counts[k] += per_col[:, k].sum()


@njit(cache=True, nogil=True)
def _edge_accumulate(colbuf, out, c, first, cycle0, acc_bits, saturate, edge_s, edge_c, counts,
                     trace):
    """Column c's bottom-edge accumulator: write (first K-fold) or add partial sums, t ascending."""
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
            counts[OVERFLOWS] += 1
        counts[ADDER] += tadd
        if tracing:
            trace[cycle0 + t, ADDER] += tadd
        out[t, c] = res
    edge_s[c] = e_s
    edge_c[c] = e_c


@njit(cache=True, nogil=True)
def _os_row(
    r, X, Wt, out, R, C, x_bits, w_bits, acc_bits, saturate, idle_zero, mult, table,
    x_reg, w_reg, acc_reg, mult_px, mult_pw, add_s, add_c, counts, trace,
):
    """Row ``r`` of an os fold: every PE (r, c), operands k at fold cycle r + c + k."""
    r_act, K = X.shape
    c_act = Wt.shape[0]
    x_mask = (1 << x_bits) - 1
    w_mask = (1 << w_bits) - 1
    acc_mask = (1 << acc_bits) - 1
    acc_sign = 1 << (acc_bits - 1)
    tracing = trace.shape[0] > 0
    w_major, x_is_a = mult[8] != 0, mult[7] != 0
    mx, mw, mn, mm, msa, msb = mult[1], mult[2], mult[3], mult[4], mult[5] != 0, mult[6] != 0
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
            acc = acc_reg[r, c]
            px = mult_px[r, c]
            pw = mult_pw[r, c]
            q0, q1, q2, q3 = _mult_state(px, pw, w_major, mx, mw, table)
            a_s = add_s[r, c]
            a_c = add_c[r, c]
            n_x = 0
            n_w = 0
            n_acc = 0
            n_mult = 0
            n_add = 0
            for k in range(K):
                xv = X[r, k]
                wv = Wt[c, k]
                xp = xv & x_mask
                wp = wv & w_mask
                tx = popcount(xr ^ xp)
                tw = popcount(wr ^ wp)
                xr = xp
                wr = wp
                tmul, q0, q1, q2, q3 = _mult_step(q0, q1, q2, q3, xp, wp, w_major, mx, mw, mn,
                                                  mm, msa, msb, x_is_a, table)
                px = xp
                pw = wp
                res, tadd, ovf, a_s, a_c = adder_step(acc if k > 0 else 0, (xv * wv) & acc_mask,
                                                      0, acc_mask, acc_sign, saturate, a_s, a_c)
                if ovf:
                    counts[OVERFLOWS] += 1
                tacc = popcount(acc ^ res)
                acc = res
                n_x += tx
                n_w += tw
                n_acc += tacc
                n_mult += tmul
                n_add += tadd
                if tracing:
                    cyc = base + k
                    trace[cyc, X_REG] += tx
                    trace[cyc, W_REG] += tw
                    trace[cyc, PSUM_REG] += tacc
                    trace[cyc, MULT] += tmul
                    trace[cyc, ADDER] += tadd
            counts[X_REG] += n_x
            counts[W_REG] += n_w
            counts[PSUM_REG] += n_acc
            counts[MULT] += n_mult
            counts[ADDER] += n_add
            if idle_zero and base < R + C - 2:  # idle cycles follow the stream
                zero_load(xr, X_REG, base + K, counts, trace)
                zero_load(wr, W_REG, base + K, counts, trace)
                xr = 0
                wr = 0
            out[r, c] = acc
            acc_reg[r, c] = acc
            mult_px[r, c] = px
            mult_pw[r, c] = pw
            add_s[r, c] = a_s
            add_c[r, c] = a_c
        x_reg[r, c] = xr
        w_reg[r, c] = wr


@njit(cache=True, nogil=True)
def fold_output_stationary(
    X, Wt, out, R, C, x_bits, w_bits, acc_bits, saturate, idle_zero, mult, table,
    x_reg, w_reg, acc_reg, mult_px, mult_pw, add_s, add_c, counts, trace,
):
    """One ``os`` fold (datapath.md §5.2).

    X int64 [r_act, K] rows of x; Wt int64 [c_act, K] columns of w (transposed); out int64
    [r_act, c_act] receives the accumulator patterns. State arrays are [R, C].
    """
    for r in range(R):
        _os_row(r, X, Wt, out, R, C, x_bits, w_bits, acc_bits, saturate, idle_zero, mult, table,
                x_reg, w_reg, acc_reg, mult_px, mult_pw, add_s, add_c, counts, trace)


@njit(cache=True, nogil=True, parallel=True)
def fold_output_stationary_parallel(
    X, Wt, out, R, C, x_bits, w_bits, acc_bits, saturate, idle_zero, mult, table,
    x_reg, w_reg, acc_reg, mult_px, mult_pw, add_s, add_c, counts, trace,
):
    """:func:`fold_output_stationary` with the rows on all cores (no trace: ``trace`` empty);
    per-row counters summed in row order, so results equal the serial kernel's."""
    per_row = np.zeros((R, counts.shape[0]), dtype=np.int64)
    for r in prange(R):
        _os_row(r, X, Wt, out, R, C, x_bits, w_bits, acc_bits, saturate, idle_zero, mult, table,
                x_reg, w_reg, acc_reg, mult_px, mult_pw, add_s, add_c, per_row[r], trace)
    for k in range(counts.shape[0]):
        counts[k] += per_row[:, k].sum()
