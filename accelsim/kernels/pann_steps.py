"""Step lengths of ``pann`` folds (docs/pann.md §4): lock-step timing stretches fold step ``s``
(a cycle of the mac schedule) to its slowest enabled PE, ceil(|w| / A) cycles (at least 1).
``fold_starts_*`` fill ``starts[s]``, the fold cycle at which step s begins (``starts[-1]``: the
fold's length); the pann step (``accelsim.pe.pann_step``) runs on the dataflow drivers with them.
"""

from __future__ import annotations

import numpy as np
from numba import njit


# --------------------------------------------------------------------------------------------------
# Step lengths (docs/pann.md §4)
# --------------------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _window_max_into(a, width, dur, off):
    """``dur[off + j] = max(dur[off + j], max a[i] for i in [j - width + 1, j])`` for every
    ``j`` in ``[0, len(a) + width - 1)`` (van Herk / Gil–Werman: O(len(a) + width)); a >= 0."""
    n = a.shape[0]
    P = n + 2 * (width - 1)
    p = np.zeros(P, dtype=np.int64)
    for i in range(n):
        p[width - 1 + i] = a[i]
    g = np.empty(P, dtype=np.int64)  # prefix max inside blocks of `width`
    h = np.empty(P, dtype=np.int64)  # suffix max inside blocks of `width`
    for i in range(P):
        g[i] = p[i] if i % width == 0 else max(g[i - 1], p[i])
    for i in range(P - 1, -1, -1):
        h[i] = p[i] if (i % width == width - 1 or i == P - 1) else max(h[i + 1], p[i])
    for j in range(n + width - 1):
        m = max(h[j], g[j + width - 1])
        if m > dur[off + j]:
            dur[off + j] = m


@njit(cache=True, nogil=True)
def _starts_from(dur, starts):
    """``starts[s]`` = Σ dur[:s], the fold cycle at which step s begins; ``starts[-1]``: the
    fold's length (cycles)."""
    acc = 0
    for s in range(dur.shape[0]):
        starts[s] = acc
        acc += dur[s]
    starts[dur.shape[0]] = acc


@njit(cache=True, nogil=True)
def fold_starts_ws(S, T, R, C, A, starts):
    """Step starts of a ``ws`` fold: stationary weights ``S`` [r_act, c_act], T streamed rows.

    PE (r, c) is enabled in stream steps r + c … r + c + T - 1, so stream step s lasts the max of
    ceil(|S[r, c]| / A) over the anti-diagonals q = r + c in [s - T + 1, s] (at least 1).
    ``starts`` int64 [2R + C + T - 1] is filled (see ``_starts_from``)."""
    r_act, c_act = S.shape
    L = 2 * R + C + T - 2
    dur = np.ones(L, dtype=np.int64)
    diag = np.zeros(r_act + c_act - 1, dtype=np.int64)
    for r in range(r_act):
        for c in range(c_act):
            n = (abs(S[r, c]) + A - 1) // A
            if n > diag[r + c]:
                diag[r + c] = n
    _window_max_into(diag, T, dur, R)
    _starts_from(dur, starts)


@njit(cache=True, nogil=True)
def fold_starts_is(Wt, c_act, R, C, A, starts):
    """Step starts of an ``is`` fold: moving weights ``Wt`` [r_act, T] (row r's stream), ``c_act``
    active columns. PE (r, c) handles t in stream step t + r + c."""
    r_act, T = Wt.shape
    L = 2 * R + C + T - 2
    dur = np.ones(L, dtype=np.int64)
    a = np.empty(T, dtype=np.int64)
    for r in range(r_act):
        for t in range(T):
            a[t] = (abs(Wt[r, t]) + A - 1) // A
        _window_max_into(a, c_act, dur, R + r)
    _starts_from(dur, starts)


@njit(cache=True, nogil=True)
def fold_starts_os(Wt, r_act, R, C, A, starts):
    """Step starts of an ``os`` fold: weight columns ``Wt`` [c_act, K], ``r_act`` active rows.
    PE (r, c) handles k in step k + r + c."""
    c_act, K = Wt.shape
    L = R + C + K - 2
    dur = np.ones(L, dtype=np.int64)
    a = np.empty(K, dtype=np.int64)
    for c in range(c_act):
        for k in range(K):
            a[k] = (abs(Wt[c, k]) + A - 1) // A
        _window_max_into(a, r_act, dur, c)
    _starts_from(dur, starts)
