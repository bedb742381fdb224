"""The preload of stationary operands (ws/is), shared by every PE kind's fold kernels.

datapath.md §5.1: in fold cycles 0..R-1 the stationary registers of each column form a shift chain
fed at the top; row r < r_act receives S[r_act-1, c] … S[r, c]; invalid cycles follow the idle rule.
Numba's on-disk cache does not notice edits here in the kernels that call it: clear
``NUMBA_CACHE_DIR`` after changing this file (CI always starts from an empty one).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from accelsim.kernels.bits import popcount, zero_load


@njit(cache=True, nogil=True)
def preload_stationary(S, R, C, sta_mask, sta_cls, idle_zero, sta_reg, counts, trace):
    """Shift ``S`` (int64 [r_act, c_act] values) into ``sta_reg`` (int64 [R, C] patterns).

    Adds the registers' toggles to ``counts[sta_cls]`` and, if ``trace`` has rows, to
    ``trace[p, sta_cls]`` for preload cycle p. Untraced, a register's toggles are its first load
    plus the chain's successive differences below it (a suffix sum per column: O(R·C), rows
    bottom up with a row's columns together); traced, every load is visited in its cycle.
    """
    if trace.shape[0] > 0:
        _preload_traced(S, R, C, sta_mask, sta_cls, idle_zero, sta_reg, counts, trace)
        return
    r_act, c_act = S.shape
    tog = 0
    chain = np.zeros(c_act, dtype=np.int64)  # per column: toggles of loads S[r_act-1] ... S[r]
    # after the first, for the row r being visited (rows bottom up, a row's columns together)
    if not idle_zero:  # only the active registers load
        for r in range(r_act - 1, -1, -1):
            for c in range(c_act):
                s = S[r, c] & sta_mask
                if r < r_act - 1:
                    chain[c] += popcount(s ^ (S[r + 1, c] & sta_mask))
                tog += popcount(sta_reg[r, c] ^ (S[r_act - 1, c] & sta_mask)) + chain[c]
                sta_reg[r, c] = s
        counts[sta_cls] += tog
        return
    for r in range(R - 1, -1, -1):
        for c in range(C):
            v = sta_reg[r, c]
            active = r < r_act and c < c_act
            if not active or r + R - r_act > 0:  # idle zero: loads 0 until its value arrives
                tog += popcount(v)
                v = 0
            if active:
                top = S[r_act - 1, c] & sta_mask
                if r < r_act - 1:
                    chain[c] += popcount((S[r, c] ^ S[r + 1, c]) & sta_mask)
                tog += popcount(v ^ top) + chain[c]
                v = S[r, c] & sta_mask
            sta_reg[r, c] = v
    counts[sta_cls] += tog


@njit(cache=True, nogil=True)
def _preload_traced(S, R, C, sta_mask, sta_cls, idle_zero, sta_reg, counts, trace):
    """:func:`preload_stationary` cycle by cycle, every toggle in its cycle's trace row."""
    r_act, c_act = S.shape
    for c in range(C):
        for r in range(R):
            v = sta_reg[r, c]
            first_valid = r + R - r_act if (r < r_act and c < c_act) else R
            if idle_zero and first_valid > 0:
                zero_load(v, sta_cls, 0, counts, trace)
                v = 0
            for p in range(first_valid, R):
                nv = S[R - 1 - (p - r), c] & sta_mask
                t1 = popcount(v ^ nv)
                counts[sta_cls] += t1
                trace[p, sta_cls] += t1
                v = nv
            sta_reg[r, c] = v
