"""The preload of stationary operands (ws/is), shared by every PE kind's fold kernels.

datapath.md §5.1: in fold cycles 0..R-1 the stationary registers of each column form a shift chain
fed at the top; row r < r_act receives S[r_act-1, c] … S[r, c]; invalid cycles follow the idle rule.
Numba's on-disk cache does not notice edits here in the kernels that call it: clear
``NUMBA_CACHE_DIR`` after changing this file (CI always starts from an empty one).
"""

from __future__ import annotations

from numba import njit

from accelsim.kernels.bits import popcount, zero_load


@njit(cache=True, nogil=True)
def preload_stationary(S, R, C, sta_mask, sta_cls, idle_zero, sta_reg, counts, trace):
    """Shift ``S`` (int64 [r_act, c_act] values) into ``sta_reg`` (int64 [R, C] patterns).

    Adds the registers' toggles to ``counts[sta_cls]`` and, if ``trace`` has rows, to
    ``trace[p, sta_cls]`` for preload cycle p.
    """
    r_act, c_act = S.shape
    tracing = trace.shape[0] > 0
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
                if tracing:
                    trace[p, sta_cls] += t1
                v = nv
            sta_reg[r, c] = v
