"""Stratified estimation of layer totals from a systematic sample of units (docs/sampling.md).

Pure NumPy. A layer's units (folds or output tiles) fall into strata of equal shape; in stratum
``h`` with ``N_h`` units a systematic sample of ``n_h`` units (one at random in each of ``n_h``
equal intervals, :func:`systematic`) is simulated exactly. The total of a variable (one toggle
class, the dynamic energy, ...) is estimated by the expansion (Horvitz–Thompson) estimator — the units of a stratum have equal MACs, so it is also the ratio
estimator on MACs — with the successive-difference variance of a systematic sample
(:func:`stratum_estimate`), and a two-sided 95 % Student-t interval with Satterthwaite's degrees
of freedom. A stratum sampled in full (``n_h = N_h``) adds its exact
integer sum and no variance.
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


def systematic(count: int, fraction: float, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
    """A systematic sample of ``count`` units with a random position in every interval
    (jittered): ``n`` = ceil(fraction · count), at least 2 (to estimate a variance) and at most
    ``count``; the units are cut into ``n`` consecutive intervals of ``count / n`` units (sizes
    differ by at most one) and one unit is drawn uniformly in each, independently. Returns
    (indices int64 [n], interval sizes int64 [n]). ``n == count`` takes every unit.

    A random start alone (classic systematic sampling) locks onto one phase of periodic data —
    image rows, alternating tiles — and its variance cannot be estimated; drawing in every
    interval keeps the even spread and gives unbiased totals."""
    n = min(count, max(2, math.ceil(fraction * count)))
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
    freedom. A census (n = N) adds the exact integer sum and no variance."""
    n = values.shape[0]
    if n == count:  # census: the exact integer sum
        return Estimate(values.sum(axis=0).astype(np.float64), np.zeros(values.shape[1]), ())
    z = values.astype(np.float64) * sizes[:, None]
    d2 = (np.diff(z, axis=0) ** 2).sum(axis=0)
    var = (1.0 - n / count) * n / (2.0 * (n - 1)) * d2
    return Estimate(z.sum(axis=0), var, ((var, n - 1),))


def combine(estimates: list[Estimate], width: int) -> Estimate:
    """The sum of independent estimates of ``width`` variables."""
    out = Estimate(np.zeros(width), np.zeros(width), ())
    for e in estimates:
        out = out + e
    return out
