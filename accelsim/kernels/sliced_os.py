"""A vectorized exact driver for untraced output-stationary folds of the ``mac`` PE.

Same counts, outputs and carried state as ``accelsim.kernels.drivers.fold_output_stationary``
with the mac step (datapath.md §2, §3, §5.2), computed in two parts that SIMD lanes can carry:

* the multiplier's node toggles depend only on consecutive operand pairs, so they are evaluated
  **bit-sliced over time**: a node's values at 64 consecutive steps form one word (bit ``63 − b``
  of word ``w`` is step ``63 w + b − 1``: bit 63 repeats the previous word's last step, or holds
  the PE's warm operand pair from ``state`` in word 0; steps past the stream's end repeat its last
  one), so a node's toggles in a word are ``popcount(v ^ (v >> 1))`` (arithmetic shift: bit 63
  counts nothing), with no carry between words. The n×m Baugh–Wooley array of
  ``accelsim.kernels.bits._mult_row`` is evaluated gate by gate on such words (partial product =
  AND of an operand plane and a row-select plane, complement masks as XOR with all-ones, the
  ripple adders as bitwise full adders). The lanes are (row, column, word) triples — one row, or
  several for short streams (:data:`LANES`) — so every loop runs over one contiguous index
  (AVX-512 ``vpopcntq`` where the CPU has it).
* the accumulator (adder nodes, acc register, overflows, saturation) is a recurrence over k but
  elementwise across the columns of a row: the integer-domain step of
  ``accelsim.kernels.bits.ripple_add`` runs with one lane per column, w rows contiguous. With a
  wrapping adder the sum nodes are the acc register (one popcount for both) and the tallies are
  packed in one word per lane; accumulators of at most 32 bits use uint32 lanes (16 per 512-bit
  vector).

Every mac configuration is supported (operand widths, signedness, n ≠ m, wrap and saturate,
``idle: zero``, partial folds, any K); only accumulators wider than :data:`MAX_ACC_BITS` (beyond
the configuration's limit) keep the scalar driver. The inner loops are separate, non-inlined
functions: inlined into their callers they ran 4× slower (benchmarks/RESULTS.md).

Untraced only: the totals are what it keeps (no per-cycle attribution). Kernels take arrays and
scalars (``wi``: a tuple of arrays); ``k`` is the kind's ``MacConsts``. What a fold needs of its w
tile alone (:func:`w_inputs`) is computed once for the row tiles that stream past it
(:class:`OsDriver`).
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from accelsim.kernels.bits import ctpop, popcount, ripple_add
from accelsim.kernels.sliced import STEP, mult_lanes, rows_per_pass, time_planes
from accelsim.pe.base import counter_layout
from accelsim.pe.mac import CLASSES

_L = counter_layout(CLASSES)
X_REG, W_REG, PSUM_REG = _L["x_reg"], _L["w_reg"], _L["psum_reg"]
MULT, ADDER, OVERFLOWS = _L["mult"], _L["adder"], _L["overflows"]

#: Widest accumulator the packed tallies of :func:`_acc_wrap` hold (the configuration's limit).
MAX_ACC_BITS = 48


@njit(cache=True, nogil=True)
def _acc_first(xv, Wr, acc, a_s, a_c, T, mask):
    """The first step of every column of a row: the adder adds the product to 0 (carries 0, no
    overflow); ``acc`` holds the previous output. Tallies ``T`` [4, c_act]: psum toggles, adder
    toggles, overflows, toggles of both (the wrapping adder's sum nodes are the acc register)."""
    for c in range(Wr.shape[0]):
        b = (xv * Wr[c]) & mask
        T[0, c] += popcount(acc[c] ^ b)
        T[1, c] += popcount(b ^ a_s[c]) + popcount(a_c[c])
        a_s[c] = b
        a_c[c] = 0
        acc[c] = b


@njit(cache=True, nogil=True)
def _acc_wrap(xrow, Wk, k0, k1, acc, cv, T, mask, sign, sh):
    """Steps k0 .. k1−1 (at most 2^15 of them) of every column of a row with a wrapping
    adder (``ripple_add`` of datapath.md §3, one lane per column). ``cv`` [c_act]: the carries
    into every bit (``s ^ a ^ b``: the carry nodes shifted up by one, bit 0 always 0). The sum
    nodes are the acc register, so one popcount serves both. ``T`` [c_act] packs the tallies:
    bits 0–23 sum-node toggles, 24–47 carry-node toggles, 48–62 overflows (``sh`` =
    49 − acc_bits moves the sign bit there)."""
    c_act = Wk.shape[1]
    for k in range(k0, k1):
        xv = xrow[k]
        Wr = Wk[k]
        for c in range(c_act):
            b = (xv * Wr[c]) & mask
            a = acc[c]
            s = a + b
            sums = s & mask
            v = s ^ a ^ b
            ovf = (a ^ sums) & (b ^ sums) & sign
            T[c] += popcount(a ^ sums) + (popcount(v ^ cv[c]) << 24) + (ovf << sh)
            cv[c] = v
            acc[c] = sums


@njit(cache=True, nogil=True, inline="always")
def _add32(a, b, cv, mask, low, top):
    """One step of a wrapping accumulator of at most 32 bits on uint32 patterns (``ripple_add``
    of datapath.md §3): the acc register ``a`` adds the product ``b``; ``cv`` the carry nodes
    before. Returns (sum, carry nodes, packed toggles as :func:`_acc_wrap32` tallies them,
    overflowed). The carry out of the top bit, lost to uint32, is the majority of the top bits of
    a, b and not-sum. (``bits.wrap32`` and ``bits.tog32`` compute the same; written out here,
    the acc register's toggles serve the overflow test too: os measured 1.7 % slower with
    the shared helpers, bench_ab.)"""
    s = np.uint32(a + b)
    sums = np.uint32(s & mask)
    up = np.uint32(np.uint32(np.uint32(s ^ a) ^ b) >> np.uint32(1))
    out = np.uint32(np.uint32(a & b) | np.uint32(np.uint32(a | b) & ~sums))
    car = np.uint32(np.uint32(up & low) | np.uint32(out & top))
    tog = np.uint32(a ^ sums)
    t = np.uint32(ctpop(tog) + np.uint32(ctpop(np.uint32(car ^ cv)) << 16))
    return sums, car, t, np.uint32(np.uint32(np.uint32(tog & np.uint32(b ^ sums)) & top) != 0)


@njit(cache=True, nogil=True)
def _acc_wrap32(xrow, Wk, k0, k1, acc, cv, T, T3, mask, top):
    """:func:`_acc_wrap` for accumulators of at most 32 bits, on uint32 lanes (twice as many per
    vector), two steps per pass over the columns: ``xrow`` and ``Wk`` int32 values, ``acc`` the
    acc register and ``cv`` the carry nodes (``ripple_add``'s carries, into bits 1 ..
    acc_bits). ``T`` [c_act] packs the sum-node toggles (bits 0–15) and the carry-node toggles
    (16–31) of at most 2^10 steps; ``T3`` counts overflows. ``top``: the accumulator's sign
    bit (all uint32)."""
    _acc32_steps(xrow, Wk, k0, k1, acc, cv, T, T3, mask, top)


@njit(cache=True, nogil=True)
def _acc_wrap32_full(xrow, Wk, k0, k1, acc, cv, T, T3):
    """:func:`_acc_wrap32` for a 32-bit accumulator: its mask and sign bit are constants, so
    LLVM drops the masking."""
    _acc32_steps(xrow, Wk, k0, k1, acc, cv, T, T3, np.uint32(0xFFFFFFFF), np.uint32(0x80000000))


@njit(cache=True, nogil=True, inline="always")
def _acc32_steps(xrow, Wk, k0, k1, acc, cv, T, T3, mask, top):
    """The loop of :func:`_acc_wrap32` (inlined into it and :func:`_acc_wrap32_full`)."""
    c_act = Wk.shape[1]
    low = np.uint32(mask >> np.uint32(1))
    for k in range(k0, k1 - 1, 2):
        x0 = xrow[k]
        x1 = xrow[k + 1]
        W0 = Wk[k]
        W1 = Wk[k + 1]
        for c in range(c_act):
            s0, c0, t0, o0 = _add32(acc[c], np.uint32(np.uint32(x0 * W0[c]) & mask), cv[c], mask,
                                    low, top)
            s1, c1, t1, o1 = _add32(s0, np.uint32(np.uint32(x1 * W1[c]) & mask), c0, mask, low,
                                    top)
            T[c] += np.uint32(t0 + t1)
            T3[c] += np.uint32(o0 + o1)
            cv[c] = c1
            acc[c] = s1
    if (k1 - k0) % 2:
        xv = xrow[k1 - 1]
        Wr = Wk[k1 - 1]
        for c in range(c_act):
            s0, c0, t0, o0 = _add32(acc[c], np.uint32(np.uint32(xv * Wr[c]) & mask), cv[c], mask,
                                    low, top)
            T[c] += t0
            T3[c] += o0
            cv[c] = c0
            acc[c] = s0


@njit(cache=True, nogil=True)
def _acc_saturate(xrow, Wk, k0, acc, a_s, a_c, T, mask, sign):
    """Steps k0 .. K−1 of every column of a row with a saturating adder (one lane per column);
    tallies in ``T[0..2]`` as :func:`_acc_first`."""
    K, c_act = Wk.shape
    t0 = T[0]
    t1 = T[1]
    t2 = T[2]
    for k in range(k0, K):
        xv = xrow[k]
        Wr = Wk[k]
        for c in range(c_act):
            a = acc[c]
            res, sums, carries, ovf = ripple_add(a, (xv * Wr[c]) & mask, 0, mask, sign, True)
            t0[c] += popcount(a ^ res)
            t1[c] += popcount(sums ^ a_s[c]) + popcount(carries ^ a_c[c])
            t2[c] += ovf
            a_s[c] = sums
            a_c[c] = carries
            acc[c] = res


@njit(cache=True, nogil=True)
def _registers(r, k, X, Wt, R, C, idle_zero, x_tog, w_tog, x_reg, w_reg, counts):
    """Row ``r``'s x and w registers over an os fold, as ``drivers._os_row`` counts them
    untraced (first loads, the streams' toggles, idle loads)."""
    r_act, K = X.shape
    c_act = Wt.shape[0]
    x_mask = (1 << k.x_bits) - 1
    w_mask = (1 << k.w_bits) - 1
    for c in range(C):
        xr = x_reg[r, c]
        wr = w_reg[r, c]
        active = r < r_act and c < c_act
        base = r + c
        if idle_zero and (base > 0 or not active):
            counts[X_REG] += popcount(xr)
            counts[W_REG] += popcount(wr)
            xr = 0
            wr = 0
        if active:
            if K > 0:
                counts[X_REG] += popcount(xr ^ (X[r, 0] & x_mask)) + x_tog[r]
                counts[W_REG] += popcount(wr ^ (Wt[c, 0] & w_mask)) + w_tog[c]
                xr = X[r, K - 1] & x_mask
                wr = Wt[c, K - 1] & w_mask
            if idle_zero and base < R + C - 2:
                counts[X_REG] += popcount(xr)
                counts[W_REG] += popcount(wr)
                xr = 0
                wr = 0
        x_reg[r, c] = xr
        w_reg[r, c] = wr


@njit(cache=True, nogil=True)
def _accumulate(r, k, X, Wt, Wk, X32, Wk32, out, acc_reg, state, counts, S, S32, cont):
    """The accumulators of row ``r``'s active PEs over the fold (one lane per column; ``S``
    [9, c_act] int64 and ``S32`` [4, c_act] uint32 work lanes; ``X32``/``Wk32``: ``X``/``Wk`` as
    int32, for accumulators of at most 32 bits); leaves outputs, acc registers and datapath
    state. ``cont``: the stream continues a fold, its first step adds to the acc register (and
    the adder starts from the sum and carry nodes in ``state``) instead of loading the product."""
    K = X.shape[1]
    c_act = Wt.shape[0]
    acc, a_s, a_c, T, cv, packed = S[0], S[1], S[2], S[3:7], S[7], S[8]
    for c in range(c_act):
        acc[c] = acc_reg[r, c]
        a_s[c] = state[r, c, 2]
        a_c[c] = state[r, c, 3]
    T[:, :] = 0
    first = 0 if cont else 1
    if not cont:
        _acc_first(X[r, 0], Wk[0], acc, a_s, a_c, T, k.acc_mask)
    if k.saturate:
        _acc_saturate(X[r], Wk, first, acc, a_s, a_c, T, k.acc_mask, k.acc_sign)
    elif K > first and k.acc_bits <= 32:
        acc32, cv32, T32, ovf32 = S32[0], S32[1], S32[2], S32[3]
        for c in range(c_act):
            acc32[c] = acc[c]
            cv32[c] = a_c[c]  # the carry nodes (none after a first step)
        mask32 = np.uint32(k.acc_mask)
        top32 = np.uint32(k.acc_sign)
        for k0 in range(first, K, 1 << 10):
            T32[:] = 0
            ovf32[:] = 0
            k1 = min(K, k0 + (1 << 10))
            if k.acc_bits == 32:
                _acc_wrap32_full(X32[r], Wk32, k0, k1, acc32, cv32, T32, ovf32)
            else:
                _acc_wrap32(X32[r], Wk32, k0, k1, acc32, cv32, T32, ovf32, mask32, top32)
            for c in range(c_act):
                T[3, c] += T32[c] & 0xFFFF
                T[1, c] += T32[c] >> 16
                T[2, c] += ovf32[c]
        for c in range(c_act):
            acc[c] = acc32[c]
            a_s[c] = acc32[c]
            a_c[c] = cv32[c]
    elif K > first:
        for c in range(c_act):
            cv[c] = a_c[c] << 1  # carries into each bit (after a first step: none)
        for k0 in range(first, K, 1 << 14):
            packed[:] = 0
            _acc_wrap(X[r], Wk, k0, min(K, k0 + (1 << 14)), acc, cv, packed, k.acc_mask,
                      k.acc_sign, 49 - k.acc_bits)
            for c in range(c_act):
                T[3, c] += packed[c] & 0xFFFFFF
                T[1, c] += (packed[c] >> 24) & 0xFFFFFF
                T[2, c] += packed[c] >> 48
        a_s[:] = acc
        a_c[:] = cv >> 1
    shared = T[3].sum()
    counts[PSUM_REG] += T[0].sum() + shared
    counts[ADDER] += T[1].sum() + shared
    counts[OVERFLOWS] += T[2].sum()
    for c in range(c_act):
        out[r, c] = acc[c]
        acc_reg[r, c] = acc[c]
        state[r, c, 0] = X[r, K - 1] & ((1 << k.x_bits) - 1)
        state[r, c, 1] = Wt[c, K - 1] & ((1 << k.w_bits) - 1)
        state[r, c, 2] = a_s[c]
        state[r, c, 3] = a_c[c]


@njit(cache=True, nogil=True)
def _rows(r0, r1, k, X, Wt, Wk, X32, Wk32, Xpl, WL, out, R, C, idle_zero, x_tog, w_tog, x_reg,
          w_reg, acc_reg, state, counts, scratch, cont):
    """Rows r0 .. r1−1 of an os fold: their registers, then the multiplier of all their active
    PEs at once (bit-sliced over time, lanes = (row, column, word); unused lanes hold zeros and
    toggle nothing), then each row's accumulators (``cont``: :func:`_accumulate`'s). ``scratch``:
    :func:`_scratch`'s arrays for at least r1 − r0 rows."""
    for r in range(r0, r1):
        _registers(r, k, X, Wt, R, C, idle_zero, x_tog, w_tog, x_reg, w_reg, counts)
    r_act, K = X.shape
    c_act = Wt.shape[0]
    ra1 = min(r1, r_act)
    if r0 >= ra1 or c_act == 0 or K == 0:
        return
    nw = Xpl.shape[2]
    Lr = c_act * nw
    A, B, P, cy, S, S32 = scratch
    Xd = A if k.x_is_a else B
    Wd = B if k.x_is_a else A
    for g in range(A.shape[1] // Lr):  # every row slot of the scratch: stale lanes would count
        r = r0 + g
        o = g * Lr
        if r >= ra1:
            Xd[:, o:o + Lr] = 0
            Wd[:, o:o + Lr] = 0
            continue
        Wd[:, o:o + Lr] = WL
        for j in range(k.x_bits):
            for c in range(c_act):
                for w in range(nw):
                    Xd[j, o + c * nw + w] = Xpl[r, j, w]
        for c in range(c_act):  # the warm step: the operand pair the PE last held
            px = state[r, c, 0]
            pw = state[r, c, 1]
            for j in range(k.x_bits):
                Xd[j, o + c * nw] |= ((px >> j) & 1) << 63
            for i in range(k.w_bits):
                Wd[i, o + c * nw] |= ((pw >> i) & 1) << 63
    counts[MULT] += mult_lanes(A, B, P, cy, k.n, k.m, k.sa, k.sb, None, True)
    for r in range(r0, ra1):
        _accumulate(r, k, X, Wt, Wk, X32, Wk32, out, acc_reg, state, counts, S, S32, cont)


@njit(cache=True, nogil=True)
def _scratch(k, L, c_act):
    """A row's work arrays: the two operands' planes [n, L] and [m, L], the multiplier's
    P_i [n + 1, L] and carries [L], the accumulators' lanes [9, c_act] int64 and [4, c_act]
    uint32."""
    return (np.empty((k.n, L), dtype=np.int64), np.empty((k.m, L), dtype=np.int64),
            np.empty((k.n + 1, L), dtype=np.int64), np.empty(L, dtype=np.int64),
            np.empty((9, c_act), dtype=np.int64), np.empty((4, c_act), dtype=np.uint32))


@njit(cache=True, nogil=True)
def warm_state(k, xv, wv, through, R, C, words):
    """(x_reg, w_reg, acc_reg [R, C], state [R, C, words]) of an os array whose PE (r, c),
    for r < len(xv) and c < len(wv), has just added ``xv[r]·wv[c]`` (values) to its partial
    sum, making ``through[r, c]``; the other PEs at reset. The registers and the multiplier's
    operand pair (``state[..., 0:2]``) hold the operands' patterns, ``acc_reg`` the sum, and
    ``state[..., 2:4]`` the adder's sum and carry nodes for ``before + x·w``
    (``accelsim.kernels.bits.ripple_add``, no carry in). A wrapping accumulator, or one whose
    sums never overflow."""
    x_reg = np.zeros((R, C), dtype=np.int64)
    w_reg = np.zeros((R, C), dtype=np.int64)
    acc_reg = np.zeros((R, C), dtype=np.int64)
    state = np.zeros((R, C, words), dtype=np.int64)
    mask = k.acc_mask
    for r in range(xv.shape[0]):
        xp = xv[r] & ((1 << k.x_bits) - 1)
        for c in range(wv.shape[0]):
            p = xv[r] * wv[c]
            a = (through[r, c] - p) & mask
            b = p & mask
            s = a + b
            x_reg[r, c] = xp
            w_reg[r, c] = wv[c] & ((1 << k.w_bits) - 1)
            acc_reg[r, c] = s & mask
            state[r, c, 0] = xp
            state[r, c, 1] = w_reg[r, c]
            state[r, c, 2] = s & mask
            state[r, c, 3] = ((s ^ a ^ b) >> 1) & mask
    return x_reg, w_reg, acc_reg, state


@njit(cache=True, nogil=True)
def w_inputs(k, Wt):
    """What a fold needs of its w tile Wt [c_act, K] (values), the same for every row tile: w
    rows [K, c_act] as int64 and int32, the w streams' time planes in lane order [w_bits,
    c_act·nw] and their register toggles after the first element."""
    K = Wt.shape[1]
    nw = max(1, (K + STEP - 1) // STEP)
    Wp = Wt & ((1 << k.w_bits) - 1)
    Wk = np.ascontiguousarray(Wt.T)
    w_tog = np.zeros(Wt.shape[0], dtype=np.int64)
    for i in range(Wt.shape[0]):
        for s in range(1, K):
            w_tog[i] += popcount(Wp[i, s - 1] ^ Wp[i, s])
    Wpl = time_planes(Wp, k.w_bits, nw)
    c_act = Wt.shape[0]
    WL = np.empty((k.w_bits, c_act * nw), dtype=np.int64)  # lane (c, w) = c * nw + w
    for i in range(k.w_bits):
        for c in range(c_act):
            for w in range(nw):
                WL[i, c * nw + w] = Wpl[c, i, w]
    return Wk, Wk.astype(np.int32), WL, w_tog  # operand values: at most 16 bits


@njit(cache=True, nogil=True)
def _x_inputs(k, X, nw):
    """A fold's x tile X [r_act, K] (values): as int32, its streams' time planes [r_act,
    x_bits, nw] and register toggles after the first element."""
    K = X.shape[1]
    Xp = X & ((1 << k.x_bits) - 1)
    x_tog = np.zeros(X.shape[0], dtype=np.int64)
    for i in range(X.shape[0]):
        for s in range(1, K):
            x_tog[i] += popcount(Xp[i, s - 1] ^ Xp[i, s])
    return X.astype(np.int32), time_planes(Xp, k.x_bits, nw), x_tog


@njit(cache=True, nogil=True)
def fold_os_tile(k, X, Wt, wi, out, R, C, idle_zero, x_reg, w_reg, acc_reg, state, counts,
                 cont=False):
    """:func:`fold_os_sliced` given ``wi`` = :func:`w_inputs` of ``Wt``. ``cont``: the stream
    continues a fold (sampled mode's chunks of K, docs/sampling.md): its first step adds to the
    acc register, from the adder's sum and carry nodes in ``state``."""
    Wk, Wk32, WL, w_tog = wi
    nw = max(1, (X.shape[1] + STEP - 1) // STEP)
    X32, Xpl, x_tog = _x_inputs(k, X, nw)
    G = rows_per_pass(X.shape[0], Wt.shape[0], nw)
    scratch = _scratch(k, G * WL.shape[1], Wt.shape[0])
    for r0 in range(0, R, G):
        _rows(r0, min(R, r0 + G), k, X, Wt, Wk, X32, Wk32, Xpl, WL, out, R, C, idle_zero, x_tog,
              w_tog, x_reg, w_reg, acc_reg, state, counts, scratch, cont)


@njit(cache=True, nogil=True, parallel=True)
def fold_os_tile_parallel(k, X, Wt, wi, out, R, C, idle_zero, x_reg, w_reg, acc_reg, state,
                          counts):
    """:func:`fold_os_tile` with groups of rows on all cores (per-group counters summed in
    order)."""
    Wk, Wk32, WL, w_tog = wi
    nw = max(1, (X.shape[1] + STEP - 1) // STEP)
    X32, Xpl, x_tog = _x_inputs(k, X, nw)
    G = rows_per_pass(X.shape[0], Wt.shape[0], nw)
    ng = (R + G - 1) // G
    per_group = np.zeros((ng, counts.shape[0]), dtype=np.int64)
    for g in prange(ng):
        _rows(g * G, min(R, g * G + G), k, X, Wt, Wk, X32, Wk32, Xpl, WL, out, R, C, idle_zero,
              x_tog, w_tog, x_reg, w_reg, acc_reg, state, per_group[g],
              _scratch(k, G * WL.shape[1], Wt.shape[0]), False)
    for i in range(counts.shape[0]):
        counts[i] += per_group[:, i].sum()


@njit(cache=True, nogil=True)
def fold_os_sliced(k, X, Wt, out, R, C, idle_zero, x_reg, w_reg, acc_reg, state, counts):
    """One untraced os fold of mac PEs (constants ``k``): X int64 [r_act, K] x values, Wt
    [c_act, K] w values, out [r_act, c_act] receives the accumulator patterns; registers [R, C],
    ``state`` [R, C, 4] (last x and w patterns, adder sum and carry nodes) and ``counts`` (the
    mac layout) updated in place, exactly as the scalar driver does."""
    fold_os_tile(k, X, Wt, w_inputs(k, Wt), out, R, C, idle_zero, x_reg, w_reg, acc_reg, state,
                 counts)


@njit(cache=True, nogil=True)
def fold_os_sliced_parallel(k, X, Wt, out, R, C, idle_zero, x_reg, w_reg, acc_reg, state,
                            counts):
    """:func:`fold_os_sliced` with groups of rows on all cores."""
    fold_os_tile_parallel(k, X, Wt, w_inputs(k, Wt), out, R, C, idle_zero, x_reg, w_reg,
                          acc_reg, state, counts)


@njit(cache=True, nogil=True)
def same_values(a, b):
    """Whether the 2-D arrays ``a`` and ``b`` have one shape and equal values (``np.array_equal``
    without its temporary: an OR of XORs that vectorizes)."""
    if a.shape[0] != b.shape[0] or a.shape[1] != b.shape[1]:
        return False
    diff = 0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            diff |= a[i, j] ^ b[i, j]
    return diff == 0


class OsDriver:
    """The untraced output-stationary driver a mac ``StepKind`` offers (``run.StepKind``'s
    ``output_stationary_untraced``): :func:`fold_os_tile` (``parallel`` and more than one numba
    thread: :func:`fold_os_tile_parallel`), remembering :func:`w_inputs` of the last w tile,
    since the fixed loop order streams every row tile past one w tile. One per run; the memo
    changes no result (the inputs are a function of the constants and the tile's values)."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._tile = np.zeros((0, 0), dtype=np.int64)
        self._inputs: tuple = ()

    def __call__(self, k, X: np.ndarray, Wt: np.ndarray, out: np.ndarray, R: int, C: int,
                 idle_zero: bool, x_reg: np.ndarray, w_reg: np.ndarray, acc_reg: np.ndarray,
                 state: np.ndarray, counts: np.ndarray, parallel: bool) -> None:
        if self._key != k or not same_values(self._tile, Wt):
            self._key, self._tile, self._inputs = k, Wt.copy(), w_inputs(k, Wt)
        # one numba thread: the serial driver (same sums, without a parallel region's set-up)
        driver = fold_os_tile_parallel if parallel and get_num_threads() > 1 else fold_os_tile
        driver(k, X, Wt, self._inputs, out, R, C, idle_zero, x_reg, w_reg, acc_reg, state, counts)
