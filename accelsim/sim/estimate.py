"""Stratified estimation of layer totals from a systematic sample of units (docs/sampling.md).

Pure NumPy. A layer's units (folds or output tiles) fall into strata of equal shape; in stratum
``h`` with ``N_h`` units a systematic sample of ``n_h`` units (one at random in each of ``n_h``
equal intervals, :func:`systematic`) is simulated exactly. The total of a variable (one toggle
class, the dynamic energy, ...) is estimated by the expansion (Horvitz–Thompson) estimator —
the units of a stratum have equal MACs, so it is also the ratio estimator on MACs — with the
successive-difference variance of a systematic sample (:func:`stratum_estimate`; strata drawn
with one unit get theirs from collapsed pairs, :func:`collapse`), and a two-sided 95 % Student-t
interval with Satterthwaite's degrees of freedom. A stratum sampled in full (``n_h = N_h``) adds
its exact integer sum and no variance. Where an auxiliary variable is known for every unit, the
ratio estimator to it replaces the expansion estimator (:func:`ratio_estimate`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Two-sided 95 % Student-t quantiles t(0.975, df) for df = 1..30.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
_Z975 = 1.959964


def t975(df: float) -> float:
    """The 0.975 quantile of Student's t with ``df`` degrees of freedom (rounded down to an
    integer, which widens the interval; Cornish–Fisher expansion above 30, error < 1e-4)."""
    d = max(1, int(math.floor(df)))
    if d <= len(_T975):
        return _T975[d - 1]
    z = _Z975
    return z + (z**3 + z) / (4 * d) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * d * d)


def sample_sizes(counts: list[int], fraction: float) -> list[int]:
    """Units to draw per stratum of ``counts`` units: ``n = ceil(fraction · N)``, at least 1 and
    at most ``N``. Strata drawn with one unit out of several (*singletons*) get their variance
    from collapsed groups (:func:`collapsed_estimate`), which need two of them: a lone singleton
    draws 2 units instead (or its whole stratum if smaller)."""
    sizes = [min(c, max(1, math.ceil(fraction * c))) for c in counts]
    single = [h for h, (n, c) in enumerate(zip(sizes, counts)) if n == 1 < c]
    if len(single) == 1:
        sizes[single[0]] = min(counts[single[0]], 2)
    return sizes


def group_strata(code: np.ndarray, *keys: np.ndarray) -> dict[tuple[int, ...], np.ndarray]:
    """Units grouped into strata: ``code`` int64 [n] one number per unit that orders as its
    stratum's key does, ``keys`` the key's fields per unit (int64 [n] each). Returns key ->
    the indices (int64, ascending) of its units, in key order."""
    _, inv = np.unique(code, return_inverse=True)
    inv = inv.ravel()
    split = np.split(np.argsort(inv, kind="stable"), np.cumsum(np.bincount(inv))[:-1])
    return {tuple(int(k[idx[0]]) for k in keys): idx for idx in split}


def systematic(count: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A systematic sample of ``n`` of ``count`` units (1 <= n <= count) with a random position
    in every interval (jittered): the units are cut into ``n`` consecutive intervals of
    ``count / n`` units (sizes differ by at most one) and one unit is drawn uniformly in each,
    independently. Returns (indices int64 [n], interval sizes int64 [n]). ``n == count`` takes
    every unit.

    A random start alone (classic systematic sampling) locks onto one phase of periodic data —
    image rows, alternating tiles — and its variance cannot be estimated; drawing in every
    interval keeps the even spread and gives unbiased totals."""
    edges = (np.arange(n + 1, dtype=np.int64) * count) // n
    sizes = np.diff(edges)
    picks = edges[:-1] + np.floor(rng.uniform(0.0, 1.0, n) * sizes).astype(np.int64)
    return np.minimum(picks, edges[1:] - 1), sizes


@dataclass(frozen=True)
class Estimate:
    """Estimated totals of several variables (float64 [V] each): ``total``; ``variance`` of the
    estimator; ``parts`` the per-stratum (variance [V], degrees of freedom n_h − 1) terms,
    kept so that sums over layers get Satterthwaite's degrees of freedom."""

    total: np.ndarray
    variance: np.ndarray
    parts: tuple[tuple[np.ndarray, int], ...]

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.total + other.total, self.variance + other.variance,
                        self.parts + other.parts)

    def half_width(self) -> np.ndarray:
        """Half-width of the two-sided 95 % interval of each variable (0 when exact)."""
        out = np.zeros_like(self.variance)
        for v in range(len(self.variance)):
            if self.variance[v] <= 0:
                continue
            den = sum(var[v] ** 2 / df for var, df in self.parts if df > 0 and var[v] > 0)
            df = self.variance[v] ** 2 / den if den > 0 else 1.0
            out[v] = t975(df) * math.sqrt(self.variance[v])
        return out


def stratum_estimate(values: np.ndarray, sizes: np.ndarray, count: int) -> Estimate:
    """Estimate from the sampled units of one stratum of ``count`` units: ``values`` int64
    [n, V] (one row per sampled unit, exact, in interval order), ``sizes`` the intervals' sizes.

    The total is the Horvitz–Thompson sum of ``z_j = size_j · y_j`` (unit j was drawn with
    probability 1 / size_j); its variance is the successive-difference estimator for systematic
    samples, ``(1 − n/N) · n / (2 (n − 1)) · Σ_j (z_{j+1} − z_j)²``, with n − 1 degrees of
    freedom. A census (n = N) adds the exact integer sum and no variance; so does a singleton
    (n = 1 < N), whose variance :func:`collapsed_estimate` gives."""
    n = values.shape[0]
    if n == count:  # census: the exact integer sum
        return Estimate(values.sum(axis=0).astype(np.float64), np.zeros(values.shape[1]), ())
    z = values.astype(np.float64) * sizes[:, None]
    if n == 1:  # a singleton: its variance comes from its collapsed group
        return Estimate(z[0], np.zeros(values.shape[1]), ())
    d2 = (np.diff(z, axis=0) ** 2).sum(axis=0)
    var = (1.0 - n / count) * n / (2.0 * (n - 1)) * d2
    return Estimate(z.sum(axis=0), var, ((var, n - 1),))


def ratio_estimate(values: np.ndarray, aux: np.ndarray, sizes: np.ndarray, count: int,
                   aux_total: int) -> Estimate:
    """:func:`stratum_estimate` by the ratio to an auxiliary variable known for every unit:
    ``aux`` int64 [n] its values on the sampled units, ``aux_total`` its stratum total. The
    total is ``aux_total · R`` with ``R = Σ_j z_j / Σ_j size_j · a_j`` (per variable); its
    variance is the successive-difference estimator on the residuals ``size_j (y_j − R a_j)``,
    scaled by ``(aux_total / Σ_j size_j · a_j)²`` (Cochran's ratio estimator), with n − 1
    degrees of freedom. Units whose values follow the auxiliary closely give a much narrower
    interval than the expansion estimator. A census is exact as there; a sample whose auxiliary
    sums to 0 falls back to :func:`stratum_estimate`."""
    n = values.shape[0]
    xa = float((sizes * aux).sum())
    if n == count or xa <= 0 or aux_total <= 0:
        return stratum_estimate(values, sizes, count)
    z = values.astype(np.float64) * sizes[:, None]
    ratio = z.sum(axis=0) / xa
    total = aux_total * ratio
    if n == 1:
        return Estimate(total, np.zeros(values.shape[1]), ())
    e = z - ratio[None, :] * (sizes * aux).astype(np.float64)[:, None]
    d2 = (np.diff(e, axis=0) ** 2).sum(axis=0)
    var = (1.0 - n / count) * n / (2.0 * (n - 1)) * d2 * (aux_total / xa) ** 2
    return Estimate(total, var, ((var, n - 1),))


def collapsed_estimate(totals: np.ndarray, sizes: np.ndarray) -> Estimate:
    """The variance of ``G`` >= 2 singleton strata collapsed into one group (Cochran's collapsed
    strata with a size measure, Hartley–Rao–Kiefer): ``totals`` float64 [G, V] their estimated
    totals ``N_g · y_g``, ``sizes`` int64 [G] their size measures ``X_g`` (e.g. MACs). With
    ``T`` the group's total and ``X`` its size, ``v = G / (G − 1) · Σ_g (t_g − X_g / X · T)²``,
    with G − 1 degrees of freedom. It counts the differences between the strata's means per
    unit of size as sampling variance, so it over-estimates on average (a wider interval). Adds
    no total (the strata's own estimates carry it)."""
    g = totals.shape[0]
    share = sizes.astype(np.float64) / float(sizes.sum())
    dev = totals - share[:, None] * totals.sum(axis=0)
    var = g / (g - 1.0) * (dev ** 2).sum(axis=0)
    return Estimate(np.zeros(totals.shape[1]), var, ((var, g - 1),))


def collapse(singletons: list[tuple[np.ndarray, int]], width: int) -> list[Estimate]:
    """Variance terms of ``singletons`` ((estimated total [V], size measure X_h) each, in stratum
    order): collapsed in consecutive pairs, the last group a triple when their number is odd
    (:func:`collapsed_estimate`)."""
    if not singletons:
        return []
    if len(singletons) == 1:
        raise ValueError("one singleton stratum cannot be collapsed (sample_sizes avoids it)")
    cuts = list(range(0, len(singletons) - 1, 2))
    groups = [singletons[a:a + 2] for a in cuts[:-1]] + [singletons[cuts[-1]:]]
    return [collapsed_estimate(np.array([t for t, _ in grp], dtype=np.float64).reshape(-1, width),
                               np.array([c for _, c in grp], dtype=np.int64)) for grp in groups]


def combine(estimates: list[Estimate], width: int) -> Estimate:
    """The sum of independent estimates of ``width`` variables."""
    out = Estimate(np.zeros(width), np.zeros(width), ())
    for e in estimates:
        out = out + e
    return out
