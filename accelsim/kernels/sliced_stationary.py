"""Bit-sliced stationary fold (ws, is) of the ``mac`` PE: the untraced fast path of
``accelsim.kernels.drivers.fold_stationary`` with identical outputs, toggles and overflows.

A PE's T multiplier evaluations are independent except for the comparison with the previous
cycle, so its multiplier is evaluated 63 new cycles per word (``accelsim.kernels.sliced``).
Streams of at least :data:`SHORT_T` cycles lie in one position stream per column: a pass's rows
back to back, each its warm operand pair then its cycles, lanes (word, column) and a mask of the
cycles' positions; the moving operand's planes are computed once per pass and copied to every
column, the stationary operand is constant runs. Shorter streams pack a row's PEs side by side
(``T + 1`` bits each) so their words are not mostly empty. The partial products' toggles follow
from the streams (one operand is constant); the adders and psum registers run row by row with
one SIMD lane per column (``accelsim.kernels.column_lanes``). Preload and idle loads reuse the
scalar drivers' functions. A column tile's consecutive K-folds run in one call
(:func:`folds_stationary_sliced`), and their moving planes are kept for the next column tile
(:class:`FoldsDriver`). The schedule (one step per cycle) is the drivers'; no
trace; serial (one core). Numba's on-disk cache does not notice edits of the modules imported
here: clear ``NUMBA_CACHE_DIR`` after changing them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from accelsim.kernels.bits import popcount, zero_load
from accelsim.kernels.column_lanes import column_chain
from accelsim.kernels.drivers import stream_toggles
from accelsim.kernels.preload import preload_stationary
from accelsim.kernels.sliced import (
    LANES,
    STEP,
    bit_word,
    fill_bits,
    mult_lanes,
    mult_planes,
    time_planes,
    to_planes,
)
from accelsim.pe.base import counter_layout

_L = counter_layout(("x_reg", "w_reg", "psum_reg", "mult", "adder"))
X_REG, W_REG, PSUM_REG = _L["x_reg"], _L["w_reg"], _L["psum_reg"]
MULT, ADDER, OVERFLOWS = _L["mult"], _L["adder"], _L["overflows"]
#: Plane words per multiplier group (rows evaluated together: fewer, longer word loops).
GROUP_WORDS = 256
#: Streams shorter than this pack several PEs into a word (:func:`_mult_packed`), longer ones
#: take whole words per PE (:func:`_mult_stream`; whichever is faster, measured on 32×32 arrays:
#: benchmarks/RESULTS.md).
SHORT_T = 16
#: Largest plane cache a :class:`FoldsDriver` keeps (bytes; a moving block's planes take about
#: one bit per operand bit of the block).
PLANE_CACHE_BYTES = 64 << 20
#: Lanes (words) a multiplier pass of :func:`_mult_stream` aims at (measured on 32×32 arrays:
#: twice ``sliced.LANES`` is 5–7 % faster at T = 49 and 64, the same for longer streams).
PASS_LANES = 2 * LANES


@njit(cache=True, nogil=True)
def fold_stationary_sliced(k, aux, Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits,
                           idle_zero, starts, mov_reg, sta_reg, psum_reg, state, edge_s, edge_c,
                           counts, trace):
    """One stationary fold of a mac array, bit-sliced; arguments as
    ``accelsim.kernels.drivers.fold_stationary`` (``k``: ``MacConsts``; ``aux`` unused; ``trace``
    must be empty)."""
    none = np.zeros(0, dtype=np.int64)  # no plane cache
    _fold(k, Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits, idle_zero, starts, mov_reg,
          sta_reg, psum_reg, state, edge_s, edge_c, counts, trace, none, none)


@njit(cache=True, nogil=True)
def _fold(k, Ht, S, out, first, R, C, mov_is_x, mov_bits, sta_bits, idle_zero, starts, mov_reg,
          sta_reg, psum_reg, state, edge_s, edge_c, counts, trace, planes, have):
    """:func:`fold_stationary_sliced` with a cache of its moving planes (:func:`_mult_stream`)."""
    sta_cls = W_REG if mov_is_x else X_REG
    mov_cls = X_REG if mov_is_x else W_REG
    sta_mask = (1 << sta_bits) - 1
    preload_stationary(S, R, C, sta_mask, sta_cls, idle_zero, sta_reg, counts, trace)
    r_act, T = Ht.shape
    c_act = S.shape[1]
    if idle_zero:  # nothing valid arrives during the preload
        for r in range(R):
            for c in range(C):
                zero_load(mov_reg[r, c], mov_cls, 0, counts, trace)
                zero_load(psum_reg[r, c], PSUM_REG, 0, counts, trace)
                mov_reg[r, c] = 0
                psum_reg[r, c] = 0
    _stream_phase(k, Ht, S, out, first, mov_is_x, mov_bits, sta_bits, mov_reg, psum_reg, state,
                  edge_s, edge_c, counts, planes, have)
    if idle_zero:  # idle steps follow the stream
        for r in range(r_act):
            for c in range(c_act):
                if r + c < R + C - 2:
                    cyc = starts[R + r + c + T]
                    zero_load(mov_reg[r, c], mov_cls, cyc, counts, trace)
                    zero_load(psum_reg[r, c], PSUM_REG, cyc, counts, trace)
                    mov_reg[r, c] = 0
                    psum_reg[r, c] = 0


@njit(cache=True, nogil=True)
def folds_stationary_sliced(k, H, S, out, bounds, first, R, C, mov_is_x, mov_bits, sta_bits,
                            idle_zero, starts, mov_reg, sta_reg, psum_reg, state, edge_s, edge_c,
                            counts, trace, planes, have):
    """Consecutive K-folds of one output tile in one call (no dispatch per fold): fold i takes
    rows ``bounds[i] .. bounds[i + 1] − 1`` of the moving operand ``H`` [rows, T] and the
    stationary ``S`` [rows, c_act]; each runs as :func:`fold_stationary_sliced` (``first``: the
    first of them is the tile's first K-fold), with ``planes[i]``, ``have[i:i + 1]`` as its
    plane cache (:func:`_mult_stream`; ``planes`` int64 [folds, words], ``have`` int64
    [folds])."""
    for i in range(bounds.shape[0] - 1):
        r0, r1 = bounds[i], bounds[i + 1]
        _fold(k, H[r0:r1], S[r0:r1], out, first and i == 0, R, C, mov_is_x, mov_bits, sta_bits,
              idle_zero, starts, mov_reg, sta_reg, psum_reg, state, edge_s, edge_c, counts, trace,
              planes[i], have[i:i + 1])


class FoldsDriver:
    """The mac kind's ``StepKind.stationary_folds``: :func:`folds_stationary_sliced`, keeping
    the moving operand's planes of each K-fold while the same moving block comes again (the
    fixed loop order streams every row tile once per column tile), up to
    :data:`PLANE_CACHE_BYTES`. One per run; the cache changes no result (the planes are a
    function of the block's values, which kernels only read)."""

    def __init__(self) -> None:
        self._block: np.ndarray | None = None
        self._key: tuple = ()
        self._planes = np.zeros((0, 0), dtype=np.int64)
        self._have = np.zeros(0, dtype=np.int64)

    def __call__(self, k, aux, H, S, out, bounds, first, R, C, mov_is_x, mov_bits, sta_bits,
                 idle_zero, starts, mov_reg, sta_reg, psum_reg, state, edge_s, edge_c, counts,
                 trace) -> None:
        key = (bounds.tobytes(), H.shape, mov_bits, R)
        if self._block is not H or self._key != key:
            n = bounds.shape[0] - 1
            words = mov_bits * (R * (H.shape[1] + 1) // STEP + R + 1)  # >= any fold's passes
            words = words if 8 * n * words <= PLANE_CACHE_BYTES else 0
            self._block, self._key = H, key
            self._planes = np.empty((n, words), dtype=np.int64)
            self._have = np.zeros(n, dtype=np.int64)
        folds_stationary_sliced(k, H, S, out, bounds, first, R, C, mov_is_x, mov_bits, sta_bits,
                                idle_zero, starts, mov_reg, sta_reg, psum_reg, state, edge_s,
                                edge_c, counts, trace, self._planes, self._have)


@njit(cache=True, nogil=True)
def stream_stationary_sliced(k, Ht, S, out, first, R, mov_is_x, mov_bits, sta_bits, starts,
                             mov_reg, psum_reg, state, edge_s, edge_c, counts, trace):
    """The stream phase and the column edges of a stationary fold whose stationary operand ``S``
    is in place (no preload; ``idle: hold``): what :func:`fold_stationary_sliced` runs after the
    preload. A fold's stream may run as consecutive calls on chunks of ``Ht`` (and the matching
    rows of ``out``): the registers, ``state`` and the edges carry the warm state between them."""
    none = np.zeros(0, dtype=np.int64)  # no plane cache
    _stream_phase(k, Ht, S, out, first, mov_is_x, mov_bits, sta_bits, mov_reg, psum_reg, state,
                  edge_s, edge_c, counts, none, none)


@njit(cache=True, nogil=True)
def _stream_phase(k, Ht, S, out, first, mov_is_x, mov_bits, sta_bits, mov_reg, psum_reg, state,
                  edge_s, edge_c, counts, planes, have):
    """:func:`stream_stationary_sliced` with a plane cache (:func:`_mult_stream`)."""
    r_act, T = Ht.shape
    if T > 0 and S.shape[1] > 0:  # (an empty stream leaves the edge as it is)
        tog = stream_toggles(Ht, (1 << mov_bits) - 1)
        _stream(k, Ht, S, out, first, r_act, S.shape[1], mov_is_x, mov_bits, sta_bits, tog,
                mov_reg, psum_reg, state, edge_s, edge_c, counts, planes, have)


@njit(cache=True, nogil=True)
def _stream(k, Ht, S, out, first, r_act, c_act, mov_is_x, mov_bits, sta_bits, tog, mov_reg,
            psum_reg, state, edge_s, edge_c, counts, planes, have):
    """The stream phase (T > 0) of the active PEs and the column edges: the multipliers
    bit-sliced over time (:func:`_mult_stream`, or :func:`_mult_packed` for streams shorter than
    :data:`SHORT_T`); the moving registers; then row by row the adders and psum
    registers of all columns at once, and the edges (``column_lanes``)."""
    T = Ht.shape[1]
    mov_cls = X_REG if mov_is_x else W_REG
    mov_mask = (1 << mov_bits) - 1
    sta_mask = (1 << sta_bits) - 1
    if T >= SHORT_T:
        counts[MULT] += _mult_stream(k, Ht, S, state, mov_is_x, mov_bits, sta_bits, planes,
                                     have)
    else:
        counts[MULT] += _mult_packed(k, Ht, S, state, mov_is_x, mov_bits, sta_bits)
    n_mov, n_pp = _registers(Ht, S, state, mov_reg, mov_is_x, mov_mask, sta_mask, tog,
                             T >= SHORT_T)
    counts[mov_cls] += n_mov
    counts[MULT] += n_pp
    tally = np.zeros(3, dtype=np.int64)
    column_chain(k, Ht, S, out, first, psum_reg, state, edge_s, edge_c, tally)
    counts[PSUM_REG] += tally[0]
    counts[ADDER] += tally[1]
    counts[OVERFLOWS] += tally[2]


@njit(cache=True, nogil=True)
def _mult_stream(k, Ht, S, state, mov_is_x, mov_bits, sta_bits, planes, have):
    """Multiplier toggles of the active PEs for streams of at least :data:`SHORT_T` cycles, in
    the layout of ``sliced.time_planes`` (63 new positions per word, its top bit repeating the
    previous word's last). A pass takes G rows; per column one position stream: row by row, a
    row's warm operands (the pair its multiplier holds) then its T cycles. Lanes are (word,
    column), so the moving operand's planes are computed once per pass and copied to every
    column; only the cycles' positions count (``sliced.mult_lanes``' mask). The partial
    products' toggles are not evaluated here but counted from the streams (:func:`_registers`).

    ``planes`` (int64 [words]) caches the passes' moving planes one after the other, ``have``
    [1] says for which layout (``c_act + 1``; 0: none): the planes depend on ``Ht`` and the
    pass layout only. Both empty, or ``planes`` too short: no cache."""
    r_act, T = Ht.shape
    c_act = S.shape[1]
    seg = T + 1
    passes = -(-r_act // max(1, min(r_act, (PASS_LANES * STEP) // (seg * c_act))))
    use = have.shape[0] > 0 and have[0] == c_act + 1
    n_tog = 0
    r0 = 0
    off = 0
    for i in range(passes):  # the rows split as evenly as the passes allow
        g = r_act // passes + (1 if i < r_act % passes else 0)
        size = mov_bits * _pass_words(g, seg)
        slot = planes[off:off + size] if off + size <= planes.shape[0] else planes[0:0]
        n_tog += _mult_pass(k, Ht[r0:r0 + g], S[r0:r0 + g], state[r0:r0 + g], mov_is_x,
                            mov_bits, sta_bits, slot, use and slot.shape[0] == size)
        r0 += g
        off += size
    if have.shape[0] > 0 and off <= planes.shape[0]:
        have[0] = c_act + 1
    return n_tog


@njit(cache=True, nogil=True, inline="always")
def _pass_words(G, seg):
    """Words of a pass of G segments of ``seg`` positions (positions 0 .. G·seg − 1)."""
    return max(1, (G * seg + STEP - 2) // STEP)


@njit(cache=True, nogil=True)
def _registers(Ht, S, state, mov_reg, mov_is_x, mov_mask, sta_mask, tog, pp):
    """The moving registers' toggles over a stream and, if ``pp``, the multipliers' partial
    products' (``a_j & b_i``; the complement masks flip no toggles); then the operand pair each
    multiplier keeps (``state[r, c, 0:2]``) and the moving registers' last loads. ``tog``
    [r_act]: the moving streams' toggles after their first element. Returns (register toggles,
    partial-product toggles).

    With one operand constant, cell (i, j) toggles with the moving bit wherever the constant
    bit is 1, so after the first cycle a PE's partial products toggle popcount(stationary) ·
    ``tog[r]`` times. The first cycle changes the outer product of the warm pair (mw, sw) to
    that of (m0, s): |mw||sw| + |m0||s| − 2 |mw ∧ m0| |sw ∧ s| cells."""
    r_act, T = Ht.shape
    c_act = S.shape[1]
    mi = 0 if mov_is_x else 1
    n_mov = 0
    n_pp = 0
    for r in range(r_act):
        m0 = Ht[r, 0] & mov_mask
        m_last = Ht[r, T - 1] & mov_mask
        tr = tog[r]
        p0 = popcount(m0)
        for c in range(c_act):
            s_pat = S[r, c] & sta_mask
            n_mov += popcount(mov_reg[r, c] ^ m0) + tr
            if pp:
                mw = state[r, c, mi]
                sw = state[r, c, 1 - mi]
                ps = popcount(s_pat)
                n_pp += (ps * (tr + p0) + popcount(mw) * popcount(sw)
                         - 2 * popcount(mw & m0) * popcount(sw & s_pat))
            mov_reg[r, c] = m_last
            state[r, c, mi] = m_last
            state[r, c, 1 - mi] = s_pat
    return n_mov, n_pp


@njit(cache=True, nogil=True)
def _mult_pass(k, Ht, S, state, mov_is_x, mov_bits, sta_bits, slot, use):
    """:func:`_mult_stream` of the G rows of ``Ht`` in one ``sliced.mult_lanes`` pass; the
    moving planes read from ``slot`` (int64 [mov_bits · words]) if ``use``, else computed and
    kept there when it has their size."""
    G, T = Ht.shape
    c_act = S.shape[1]
    seg = T + 1
    nw = _pass_words(G, seg)
    rk, mk, wk = _stream_words(G, seg, nw)
    L = nw * c_act
    n, m = k.n, k.m
    A = np.empty((n, L), dtype=np.int64)
    B = np.empty((m, L), dtype=np.int64)
    Md = A if (mov_is_x == k.x_is_a) else B
    Sd = B if (mov_is_x == k.x_is_a) else A
    mi = 0 if mov_is_x else 1
    mov_mask = (1 << mov_bits) - 1
    pe = np.empty((3, G, c_act), dtype=np.int64)  # warm moving, warm stationary, stationary
    for g in range(G):
        for c in range(c_act):
            pe[0, g, c] = state[g, c, mi]
            pe[1, g, c] = state[g, c, 1 - mi]
            pe[2, g, c] = S[g, c]
    if use:
        Mpl = slot.reshape((mov_bits, nw))
    else:
        V = np.zeros((1, G * seg), dtype=np.int64)
        for g in range(G):
            for t in range(T):  # position p holds V[p − 1] (time_planes)
                V[0, g * seg + t] = Ht[g, t] & mov_mask
        Mpl = time_planes(V, mov_bits, nw)[0]
        if slot.shape[0] == mov_bits * nw:
            slot[:] = Mpl.reshape(mov_bits * nw)
    lmask = np.empty(L, dtype=np.int64)
    _stream_lanes(Mpl, pe, rk, mk, wk, Md, Sd, lmask, c_act, mov_bits, sta_bits)
    return mult_lanes(A, B, np.empty((n + 1, L), dtype=np.int64), np.empty(L, dtype=np.int64),
                      n, m, k.sa, k.sb, lmask, False)


@njit(cache=True, nogil=True)
def _stream_words(G, seg, nw):
    """Where G segments of ``seg`` positions (a row's warm position, then its cycles) lie in
    ``nw`` words of 63 new positions (position 63·w + b at bit 63 − b of word w): per word w
    and slot s (at most 64 // seg + 2 segments meet a word), the segment ``rk[s, w]`` (−1:
    none), its bits ``mk[s, w]`` and its warm bit ``wk[s, w]`` (0 if it starts elsewhere)."""
    K = 64 // seg + 2
    rk = np.full((K, nw), -1, dtype=np.int64)
    mk = np.zeros((K, nw), dtype=np.int64)
    wk = np.zeros((K, nw), dtype=np.int64)
    for w in range(nw):
        p0 = STEP * w
        r = p0 // seg
        s = 0
        while r < G and r * seg <= p0 + 63:
            lo = max(r * seg, p0) - p0  # the segment's first and last offsets in the word
            hi = min(r * seg + seg - 1, p0 + 63) - p0
            width = hi - lo + 1
            ones = np.int64(-1) if width == 64 else (np.int64(1) << width) - 1
            rk[s, w] = r
            mk[s, w] = ones << (63 - hi)
            if r * seg >= p0:
                wk[s, w] = np.int64(1) << (63 - lo)
            s += 1
            r += 1
    return rk, mk, wk


@njit(cache=True, nogil=True)
def _stream_lanes(Mpl, pe, rk, mk, wk, Md, Sd, lmask, c_act, mov_bits, sta_bits):
    """A pass's operand planes and toggle mask (lane w·c_act + c: word w of column c, words as
    :func:`_stream_words`): the moving planes ``Mpl`` [mov_bits, nw] in every column with each
    segment's warm bit from ``pe[0]``; the stationary ``pe[2]`` as constant runs, its warm bit
    from ``pe[1]``; the mask: the segments' cycles."""
    K, nw = rk.shape
    for w in range(nw):
        q = w * c_act
        warm = np.int64(0)
        live = np.int64(0)
        for s in range(K):
            warm |= wk[s, w]
            if rk[s, w] >= 0:
                live |= mk[s, w] & ~wk[s, w]
        for c in range(c_act):
            lmask[q + c] = live
        for j in range(mov_bits):
            base = Mpl[j, w] & ~warm
            for c in range(c_act):
                Md[j, q + c] = base
        for s in range(K):  # the segments meeting the word, in order (then −1)
            r = rk[s, w]
            if r < 0:
                break
            wb = wk[s, w]
            run = mk[s, w] & ~wb
            if wb != 0:
                for j in range(mov_bits):
                    for c in range(c_act):
                        Md[j, q + c] |= wb & bit_word(pe[0, r, c], j)
            for i in range(sta_bits):
                if wb == 0:  # a segment from an earlier word: no warm bit here
                    if s == 0:
                        for c in range(c_act):
                            Sd[i, q + c] = run & bit_word(pe[2, r, c], i)
                    else:
                        for c in range(c_act):
                            Sd[i, q + c] |= run & bit_word(pe[2, r, c], i)
                elif s == 0:
                    for c in range(c_act):
                        Sd[i, q + c] = ((run & bit_word(pe[2, r, c], i))
                                        | (wb & bit_word(pe[1, r, c], i)))
                else:
                    for c in range(c_act):
                        Sd[i, q + c] |= ((run & bit_word(pe[2, r, c], i))
                                         | (wb & bit_word(pe[1, r, c], i)))


@njit(cache=True, nogil=True)
def _mult_packed(k, Ht, S, state, mov_is_x, mov_bits, sta_bits):
    """Multiplier toggles of the active PEs for a short stream (``T`` < :data:`SHORT_T`): a row's
    PEs side by side in its words (``T + 1`` bits each: its warm operand bit, then its cycles;
    ``sliced.mult_planes``), rows in groups of about :data:`GROUP_WORDS` words."""
    r_act, T = Ht.shape
    c_act = S.shape[1]
    n, m = k.n, k.m
    seg = T + 1
    Lr = (c_act * seg + 63) >> 6  # words per row
    G = max(1, min(r_act, GROUP_WORDS // Lr))  # rows per multiplier group
    Lg = G * Lr
    mask = np.zeros(Lg, dtype=np.int64)  # cycles 0..T-1
    for c in range(c_act):
        fill_bits(mask, c * seg + 1, T)
    for q in range(Lr, Lg):
        mask[q] = mask[q - Lr]
    row_pl = np.zeros((mov_bits, 1), dtype=np.int64)
    mov_pl = np.zeros((mov_bits, Lg), dtype=np.int64)
    sta_pl = np.zeros((sta_bits, Lg), dtype=np.int64)
    P = np.empty((n + 1, Lg), dtype=np.int64)
    cy = np.empty(Lg, dtype=np.int64)
    g = (max(mov_bits, sta_bits) + seg - 1) // seg
    c0, ps, comb, combg = _word_layout(c_act, seg, g)
    ys = np.zeros((3, 2, g), dtype=np.int64)
    xp_pl = mov_pl if mov_is_x else sta_pl
    wp_pl = sta_pl if mov_is_x else mov_pl
    tog = 0
    for r0 in range(0, r_act, G):
        r1 = min(r_act, r0 + G)
        for r in range(r0, r1):
            to_planes(Ht[r], mov_bits, row_pl)
            _short_row_planes(S, state, r, (r - r0) * Lr, c_act, T, mov_is_x, mov_bits, sta_bits,
                              row_pl, mov_pl, sta_pl, c0, ps, comb, combg, ys)
        mask[(r1 - r0) * Lr:] = 0  # a last, smaller group: its stale row slots count nothing
        if k.x_is_a:
            tog += mult_planes(xp_pl, wp_pl, n, m, k.sa, k.sb, mask, P, cy)
        else:
            tog += mult_planes(wp_pl, xp_pl, n, m, k.sa, k.sb, mask, P, cy)
    return tog


@njit(cache=True, nogil=True)
def _word_layout(c_act, seg, g):
    """Where short PEs (``seg`` < 64 bits each, side by side from bit 0) lie in a row's words:
    per word q, the first PE starting in it ``c0[q]``, the bit offset ``ps[q]`` (< 0) of the PE
    that starts in an earlier word and ends in q (0: none), ``comb[q]`` the start bits of its
    PEs and ``combg[q, j]`` those of its PEs j, j + g, j + 2g, ..."""
    Lr = (c_act * seg + 63) >> 6
    c0 = np.zeros(Lr, dtype=np.int64)
    ps = np.zeros(Lr, dtype=np.int64)
    comb = np.zeros(Lr, dtype=np.int64)
    combg = np.zeros((Lr, g), dtype=np.int64)
    for q in range(Lr):
        c = (64 * q + seg - 1) // seg
        c0[q] = c
        if 0 < c * seg - 64 * q and c - 1 < c_act:
            ps[q] = (c - 1) * seg - 64 * q
        while c < c_act and c * seg < 64 * q + 64:
            bit = np.int64(1) << (c * seg - 64 * q)
            comb[q] |= bit
            combg[q, (c - c0[q]) % g] |= bit
            c += 1
    return c0, ps, comb, combg


@njit(cache=True, nogil=True, inline="always")
def _spread_bit(ys, v, b, g, combg_q):
    """Bit ``b`` of the values packed in ``ys[v]`` (value of PE c from its start bit, PEs j, j + g,
    ... in ``ys[v, 0, j]``, their bits past the word in ``ys[v, 1, j]``) at the PEs' start bits."""
    word = np.int64(0)
    for j in range(g):
        lo = ys[v, 0, j]
        if b > 0:
            lo = ((lo >> b) & ((np.int64(1) << (64 - b)) - 1)) | (ys[v, 1, j] << (64 - b))
        word |= lo & combg_q[j]
    return word


@njit(cache=True, nogil=True)
def _short_row_planes(S, state, r, o, c_act, T, mov_is_x, mov_bits, sta_bits, row_pl, mov_pl,
                      sta_pl, c0, ps, comb, combg, ys):
    """Write row r's operand planes into words ``o``, ``o + 1``, ...: PE c's ``T + 1`` bits from
    bit ``64·o + c·(T + 1)``, its warm operand bit then its cycles (the row's stream ``row_pl``,
    the constant ``S[r, c]``). For PEs of fewer than 64 bits (``T`` < 63), word by word: a PE's
    warm operands and stationary operand are packed whole at its start bit (PEs j, j + g, ... of a
    word together, ``g``·(T + 1) >= their width), each plane's bits taken from the packs; the
    cycles' bits come from multiplying the row's stream (or all-ones) by the start bits."""
    mi = 0 if mov_is_x else 1
    si = 1 - mi
    seg = T + 1
    g = combg.shape[1]
    width = max(mov_bits, sta_bits)
    mov_mask = (np.int64(1) << mov_bits) - 1
    sta_mask = (np.int64(1) << sta_bits) - 1
    ones = ((np.int64(1) << T) - 1) << 1
    for q in range(c0.shape[0]):
        ys[:, :, :] = 0
        cq = c0[q]
        p = cq * seg - 64 * q
        j = 0
        c = cq
        while c < c_act and p < 64:
            for v in range(3):
                if v == 0:
                    x = state[r, c, mi] & mov_mask
                elif v == 1:
                    x = state[r, c, si] & sta_mask
                else:
                    x = S[r, c] & sta_mask
                ys[v, 0, j] |= x << p
                if p + width > 64:
                    ys[v, 1, j] |= x >> (64 - p)
            c += 1
            p += seg
            j = j + 1 if j + 1 < g else 0
        p_s = ps[q]
        for b in range(mov_bits):
            hi = row_pl[b, 0] << 1
            word = hi * comb[q] | _spread_bit(ys, 0, b, g, combg[q])
            if p_s < 0:
                word |= hi >> -p_s
            mov_pl[b, o + q] = word
        for b in range(sta_bits):
            word = ones * _spread_bit(ys, 2, b, g, combg[q]) | _spread_bit(ys, 1, b, g, combg[q])
            if p_s < 0:
                word |= (ones & -((S[r, cq - 1] >> b) & 1)) >> -p_s
            sta_pl[b, o + q] = word
