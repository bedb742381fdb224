"""Calibration: per-toggle energies derived from a technology table's per-operation energies.

For each unit (``multiplier``, ``adder``, ``register``) and each width ``b`` the table gives an
operation energy for, the per-toggle energy is

    e(b) = E_op(b) / T(b)

where ``T(b)`` is the expected number of node toggles of accelsim's own gate-level model of that
unit (``docs/datapath.md`` §1–§3) between two evaluations on independent, uniformly random
operands: ``T = Σ_j 2·p_j·(1 − p_j)``, ``p_j`` the probability that node ``j`` is 1.

- ``multiplier``: the b×b array multiplier of datapath.md §2 (``accelsim.kernels.bits.mult_nodes``),
  operands unsigned or Baugh–Wooley signed per ``calibration.signed``;
- ``adder``: the b-bit ripple-carry adder of §3 (b sum + b carry nodes);
- ``register``: a b-bit register (its b bits; T = b/2), priced against the table operation named in
  ``register.operation`` at ``register.width_bits``.

``T`` is exact (every operand pair enumerated) when the unit's operand bits total at most
``calibration.exact_max_bits``; otherwise it is the unbiased estimate from ``calibration.samples``
seeded random operand pairs, ``Σ_j 2·k_j·(N − k_j) / (N·(N − 1))`` (``k_j`` of the ``N`` samples
have node ``j`` set). Either way the result is deterministic.

Widths the table lacks are interpolated: ``e`` is a power law of width between neighbouring
calibrated widths (``e(b) = e(b0)·(b/b0)^β``), extended with the nearest segment's β outside them;
such values are marked ``interpolated`` / ``extrapolated``.

:func:`calibration` keeps the expectations in a user cache (:mod:`accelsim.energy.cal_cache`), so
they are computed once per table; the node models (numba) are imported only to compute them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from accelsim.energy import cal_cache
from accelsim.energy.tech import UNIT_OPERATION, RefPoint, Tech, load_tech, power_law

#: Per-unit tag mixed into the sampling seed, so units draw independent operands.
_UNIT_TAG = {"multiplier": 1, "adder": 2, "register": 3}


@dataclass(frozen=True)
class CalPoint:
    """One calibrated width of a unit: the reference ``operation_pj`` (pJ per operation), the
    expected toggles per operation ``mean_toggles``, the result ``pj_per_toggle`` and how the
    expectation was obtained (``method``)."""

    unit: str
    width_bits: int
    operation: str
    operation_pj: float
    mean_toggles: float
    pj_per_toggle: float
    method: str


@dataclass(frozen=True)
class Calibration:
    """The calibrated per-toggle energies of a technology, per unit and width."""

    tech: Tech
    points: dict[str, tuple[CalPoint, ...]]

    def per_toggle_pj(self, unit: str, width_bits: int | None = None) -> tuple[float, str]:
        """pJ per toggle of ``unit`` at ``width_bits`` and its status: ``calibrated`` (a table
        width; registers always), ``interpolated`` or ``extrapolated``."""
        points = self.points[unit]
        if unit == "register":
            return points[0].pj_per_toggle, "calibrated"
        curve = tuple(RefPoint(p.width_bits, p.pj_per_toggle, "") for p in points)
        value, status = power_law(curve, float(width_bits))
        return value, "calibrated" if status == "table" else status

    def class_width(self, cls: str, x_bits: int, w_bits: int, acc_bits: int) -> int | None:
        """The width at which toggle class ``cls`` is priced for a PE (None for registers)."""
        spec = self.tech.toggle_classes[cls]
        if spec.unit == "register":
            return None
        if spec.width_bits is not None:
            return spec.width_bits
        return max(x_bits, w_bits) if spec.width == "operands" else acc_bits

    def class_pj(self, cls: str, x_bits: int, w_bits: int, acc_bits: int) -> tuple[float, str]:
        """pJ per toggle of toggle class ``cls`` on a PE of the given widths, and its status.
        Raises KeyError if the table has no entry for ``cls``."""
        unit = self.tech.toggle_classes[cls].unit
        return self.per_toggle_pj(unit, self.class_width(cls, x_bits, w_bits, acc_bits))


@functools.lru_cache(maxsize=None)
def calibration(technology: str) -> Calibration:
    """The calibration of a technology table (name or path): computed once per process, and
    read from the user cache when an earlier run computed it (:mod:`accelsim.energy.cal_cache`).
    Identical to :func:`calibrate` either way."""
    tech = load_tech(technology)
    jobs = _jobs(tech)
    key = cal_cache.cache_key(jobs, _settings(tech))
    results = cal_cache.load(key, jobs)
    if results is None:
        results = [_mean(tech, unit, width) for unit, _, width, _ in jobs]
        cal_cache.store(key, jobs, results)
    return _assemble(tech, jobs, results)


def calibrate(tech: Tech) -> Calibration:
    """Derive every per-toggle energy of ``tech`` (see the module docstring); no cache."""
    jobs = _jobs(tech)
    return _assemble(tech, jobs, [_mean(tech, unit, width) for unit, _, width, _ in jobs])


def _jobs(tech: Tech) -> list[cal_cache.Job]:
    """(unit, operation, width, reference pJ) of every calibrated point, in report order."""
    jobs = [(unit, op, int(ref.at), ref.energy_pj)
            for unit, op in UNIT_OPERATION.items() for ref in tech.operations[op]]
    reg = tech.register
    ref = next(p for p in tech.operations[reg.operation] if int(p.at) == reg.width_bits)
    return jobs + [("register", reg.operation, reg.width_bits, ref.energy_pj)]


def _settings(tech: Tech) -> tuple[bool, int, int, int]:
    c = tech.calibration
    return (c.signed, c.exact_max_bits, c.samples, c.seed)


def _mean(tech: Tech, unit: str, width: int) -> cal_cache.Result:
    signed, exact_max_bits, samples, seed = _settings(tech)
    return mean_toggles(unit, width, signed, exact_max_bits, samples, seed)


def _assemble(tech: Tech, jobs: list[cal_cache.Job],
              results: list[cal_cache.Result]) -> Calibration:
    points: dict[str, list[CalPoint]] = {}
    for (unit, op, width, energy_pj), (mean, method) in zip(jobs, results):
        points.setdefault(unit, []).append(
            CalPoint(unit, width, op, energy_pj, mean, energy_pj / mean, method))
    return Calibration(tech, {unit: tuple(pts) for unit, pts in points.items()})


def mean_toggles(unit: str, width: int, signed: bool, exact_max_bits: int, samples: int,
                 seed: int) -> tuple[float, str]:
    """Expected node toggles of ``unit`` at ``width`` between two evaluations on independent
    uniformly random operands, and a description of the method (exact or sampled)."""
    in_bits = width if unit == "register" else 2 * width
    exact = in_bits <= exact_max_bits
    if exact:
        count = 1 << in_bits
        method = f"exact ({count} operand {'values' if unit == 'register' else 'pairs'})"
    else:
        count = samples
        method = f"sampled ({samples} operand {'values' if unit == 'register' else 'pairs'}, " \
                 f"seed {seed})"
    rng = None if exact else np.random.default_rng([seed, _UNIT_TAG[unit], width])
    if unit == "multiplier":
        ones = _multiplier_ones(width, signed, rng, count)
    elif unit == "adder":
        ones = _adder_ones(width, rng, count)
    else:
        ones = _register_ones(width, rng, count)
    return expected_hamming(ones, count, exact), method


def expected_hamming(ones: np.ndarray, count: int, exact: bool) -> float:
    """``Σ_j 2·p_j·(1 − p_j)`` from ``ones[j]`` = how many of ``count`` node vectors have node j
    set: with ``p_j = ones/count`` (exact: the vectors are the whole uniform population), or the
    unbiased estimate ``2·k(N − k)/(N(N − 1))`` (a sample)."""
    k = ones.astype(np.float64)
    pairs = float(count) * (count if exact else count - 1)
    return float(np.sum(2.0 * k * (count - k)) / pairs)


def _ones(words: np.ndarray, bits: int) -> np.ndarray:
    """Per bit position ``j < bits``: how many rows of ``words`` (int64 [N, ceil(bits/64)],
    bit j in word j // 64) have it set."""
    u = np.ascontiguousarray(words).view(np.uint64)
    per_bit = [((u >> np.uint64(k)) & np.uint64(1)).sum(axis=0) for k in range(64)]
    return np.stack(per_bit, axis=1).reshape(-1)[:bits]


def _operands(width: int, rng: np.random.Generator | None, count: int) -> tuple[np.ndarray, ...]:
    """Two operand pattern arrays: every pair (rng None) or ``count`` random pairs."""
    if rng is None:
        a, b = np.meshgrid(np.arange(1 << width, dtype=np.int64),
                           np.arange(1 << width, dtype=np.int64), indexing="ij")
        return a.reshape(-1), b.reshape(-1)
    return (rng.integers(0, 1 << width, count, dtype=np.int64),
            rng.integers(0, 1 << width, count, dtype=np.int64))


def _multiplier_ones(width: int, signed: bool, rng: np.random.Generator | None,
                     count: int) -> np.ndarray:
    """Node counts of the width×width multiplier (datapath.md §2) over the operand pairs."""
    from accelsim.kernels.bits import mult_nodes, mult_table, node_words  # numba: only here

    nwords = node_words(width, width)
    nodes = width * width + 2 * width * (width - 1)
    if rng is None:
        table = mult_table(width, width, signed, signed, nwords, False)
        return _ones(table, nodes)
    a, b = _operands(width, rng, count)
    words = np.zeros((count, nwords), dtype=np.int64)
    for i in range(count):
        mult_nodes(int(a[i]), int(b[i]), width, width, signed, signed, words[i])
    return _ones(words, nodes)


def adder_nodes(a: np.ndarray, b: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum and carry node patterns of the width-bit ripple-carry adder (datapath.md §3, carry-in
    0) for operand patterns ``a``, ``b`` (int64 arrays, width <= 32)."""
    mask = (1 << width) - 1
    s = a + b
    return s & mask, ((s ^ a ^ b) >> 1) & mask


def _adder_ones(width: int, rng: np.random.Generator | None, count: int) -> np.ndarray:
    a, b = _operands(width, rng, count)
    sums, carries = adder_nodes(a, b, width)
    return np.concatenate([_ones(sums[:, None], width), _ones(carries[:, None], width)])


def _register_ones(width: int, rng: np.random.Generator | None, count: int) -> np.ndarray:
    if rng is None:
        values = np.arange(1 << width, dtype=np.int64)
    else:
        values = rng.integers(0, 1 << width, count, dtype=np.int64)
    return _ones(values[:, None], width)
