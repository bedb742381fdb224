"""Quantization arithmetic of the exporter: NumPy only (no torch), exact integer semantics.

Fixed-point rescaling is TFLite / gemmlowp's, bit for bit, from :mod:`accelsim.fixedpoint`
(``QuantizeMultiplier``, ``MultiplyByQuantizedMultiplier``); :func:`quantize_multipliers` applies
``QuantizeMultiplier`` per element.

Scales are chosen by post-training calibration (:func:`weight_scales`, :func:`activation_grid`:
the step that minimises the mean squared quantization error over a grid of clipping ranges, the
post-training counterpart of LSQ's learned step size) and, for PANN, by :func:`pann_scales`
(repetition counts whose mean ``|w|`` is ``R``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accelsim.fixedpoint import quantize_multiplier

#: Clipping ratios searched by the MSE calibration (fraction of the observed maximum).
CLIP_RATIOS = np.linspace(0.05, 1.0, 96)

#: At most this many values of a tensor are used to calibrate an activation grid (seeded sample).
CALIB_MAX_VALUES = 1 << 20


def quantize_multipliers(reals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`quantize_multiplier` per element; returns int64 ``(multiplier, shift)`` arrays."""
    pairs = [quantize_multiplier(float(r)) for r in np.ravel(reals)]
    m = np.array([p[0] for p in pairs], dtype=np.int64).reshape(np.shape(reals))
    s = np.array([p[1] for p in pairs], dtype=np.int64).reshape(np.shape(reals))
    return m, s


# ------------------------------------------------------------------------------------- grids


@dataclass(frozen=True)
class Grid:
    """The integer encoding of a real tensor: ``real = scale · (q − zero_point)``, ``q`` in
    ``[lo, hi]`` (``bits`` wide, two's complement if ``signed``)."""

    scale: float
    zero_point: int
    lo: int
    hi: int
    bits: int
    signed: bool

    def quantize(self, v: np.ndarray) -> np.ndarray:
        """``clip(rint(v / scale) + zero_point, lo, hi)`` as int64 (float64 arithmetic)."""
        q = np.rint(np.asarray(v, dtype=np.float64) / self.scale) + self.zero_point
        return np.clip(q, self.lo, self.hi).astype(np.int64)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        """``scale · (q − zero_point)`` as float64."""
        return self.scale * (np.asarray(q, dtype=np.float64) - self.zero_point)

    def to_json(self) -> dict:
        """The grid as a JSON object (keys ``scale, zero_point, min, max, bits, signed``)."""
        return {
            "scale": float(self.scale), "zero_point": int(self.zero_point), "min": int(self.lo),
            "max": int(self.hi), "bits": int(self.bits), "signed": bool(self.signed),
        }  # fmt: skip


def int_range(bits: int, signed: bool) -> tuple[int, int]:
    """``[lo, hi]`` of a ``bits``-wide signed (two's complement) or unsigned integer."""
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _sample(values: np.ndarray, limit: int = CALIB_MAX_VALUES) -> np.ndarray:
    """At most ``limit`` values of ``values`` (flattened, float64; a seeded random subset)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size > limit:
        v = np.random.default_rng(0).choice(v, limit, replace=False)
    return v


def _mse(v: np.ndarray, scale: float, zero: int, lo: int, hi: int) -> float:
    q = np.clip(np.rint(v / scale) + zero, lo, hi)
    return float(np.mean((scale * (q - zero) - v) ** 2))


def activation_grid(values: np.ndarray, bits: int, mode: str) -> Grid:
    """Calibrate an activation grid on observed float values (minimum-MSE clipping).

    Parameters
    ----------
    values : numpy.ndarray
        Float values seen at this point of the network on the calibration samples.
    bits : int
        Width of the integer code.
    mode : str
        ``"unsigned"`` (``[0, 2^bits − 1]``, zero point 0: values are >= 0, e.g. after ReLU),
        ``"signed"`` (symmetric ``[−2^(bits−1), 2^(bits−1) − 1]``, zero point 0) or
        ``"asymmetric"`` (unsigned code with an integer zero point, the LSQ+ activation; the
        range always contains 0 so that 0 is exact).

    Returns
    -------
    Grid
    """
    v = _sample(values)
    if mode == "unsigned":
        lo, hi = int_range(bits, False)
        top = max(float(v.max(initial=0.0)), 1e-8)
        cands = [(top * c / hi, 0) for c in CLIP_RATIOS]
    elif mode == "signed":
        lo, hi = int_range(bits, True)
        top = max(float(np.abs(v).max(initial=0.0)), 1e-8)
        cands = [(top * c / hi, 0) for c in CLIP_RATIOS]
    elif mode == "asymmetric":
        lo, hi = int_range(bits, False)
        vmin, vmax = min(float(v.min(initial=0.0)), 0.0), max(float(v.max(initial=0.0)), 0.0)
        if vmax - vmin < 1e-8:
            vmax = vmin + 1e-8
        cands = []
        for c in CLIP_RATIOS:
            scale = (vmax - vmin) * c / hi
            cands.append((scale, int(np.clip(round(-vmin * c / scale), lo, hi))))
    else:
        raise ValueError(f"unknown activation grid mode {mode!r}")
    errors = [_mse(v, s, z, lo, hi) for s, z in cands]
    scale, zero = cands[int(np.argmin(errors))]
    return Grid(float(scale), int(zero), lo, hi, bits, mode == "signed")


def weight_scales(w: np.ndarray, bits: int, per_channel: bool = True) -> np.ndarray:
    """Symmetric signed weight steps (LSQ range ``[−2^(bits−1), 2^(bits−1) − 1]``), minimum MSE.

    Parameters
    ----------
    w : numpy.ndarray
        Float weights, output channels first.
    bits : int
    per_channel : bool
        One step per output channel (else one for the tensor, repeated).

    Returns
    -------
    numpy.ndarray
        float64 step per output channel (> 0).
    """
    lo, hi = int_range(bits, True)
    w2 = np.asarray(w, dtype=np.float64).reshape(w.shape[0], -1)
    if not per_channel:
        return np.full(w.shape[0], weight_scales(w2.reshape(1, -1), bits)[0])
    top = np.maximum(np.abs(w2).max(axis=1), 1e-8)
    # ``hi`` = 1 for 2-bit: levels {−2, −1, 0, 1}·s; let the clip reach past max|w| so that the
    # negative extreme can land on −2s.
    limit = max(hi, 1)
    best_err = np.full(w2.shape[0], np.inf)
    best = top / limit
    for c in np.concatenate([CLIP_RATIOS, [1.25, 1.5, 2.0]]):
        s = top * c / limit
        q = np.clip(np.rint(w2 / s[:, None]), lo, hi)
        err = np.mean((q * s[:, None] - w2) ** 2, axis=1)
        better = err < best_err
        best_err, best = np.where(better, err, best_err), np.where(better, s, best)
    return best


def asymmetric_weight_grid(w: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel asymmetric weights: steps and integer zero points on the signed code.

    Returns
    -------
    (scales, zero_points) : (numpy.ndarray, numpy.ndarray)
        float64 and int64 per output channel; ``w ≈ scale · (w_q − zero_point)``, ``w_q`` and
        ``zero_point`` in ``[−2^(bits−1), 2^(bits−1) − 1]``; 0 is exact.
    """
    lo, hi = int_range(bits, True)
    w2 = np.asarray(w, dtype=np.float64).reshape(w.shape[0], -1)
    wmin, wmax = np.minimum(w2.min(axis=1), 0.0), np.maximum(w2.max(axis=1), 0.0)
    span = np.maximum(wmax - wmin, 1e-8)
    best_err = np.full(w2.shape[0], np.inf)
    best_s, best_z = span / (hi - lo), np.zeros(w2.shape[0], dtype=np.int64)
    for c in CLIP_RATIOS:
        s = span * c / (hi - lo)
        z = np.clip(np.rint(lo - wmin * c / s), lo, hi).astype(np.int64)
        q = np.clip(np.rint(w2 / s[:, None]) + z[:, None], lo, hi)
        err = np.mean(((q - z[:, None]) * s[:, None] - w2) ** 2, axis=1)
        better = err < best_err
        best_err = np.where(better, err, best_err)
        best_s, best_z = np.where(better, s, best_s), np.where(better, z, best_z)
    return best_s, best_z


def pann_scales(w: np.ndarray, r: float, per_channel: bool = True) -> np.ndarray:
    """Steps that make the PANN repetition counts ``round(w / step)`` have mean ``|·|`` ≈ ``r``.

    ``mean |round(w / s)|`` falls monotonically (in steps) as ``s`` grows; the step is found by
    bisection on ``log s`` and is the one whose mean is closest to ``r``.

    Parameters
    ----------
    w : numpy.ndarray
        Float weights, output channels first.
    r : float
        Target mean additions per MAC (> 0).
    per_channel : bool
        Match ``r`` in every output channel (else over the whole tensor, one step).

    Returns
    -------
    numpy.ndarray
        float64 step per output channel.
    """
    w2 = np.abs(np.asarray(w, dtype=np.float64).reshape(w.shape[0], -1))
    if not per_channel:
        return np.full(w.shape[0], pann_scales(w2.reshape(1, -1), r)[0])
    out = np.empty(w2.shape[0])
    for o, row in enumerate(w2):
        out[o] = _pann_step(row, r)
    return out


def _pann_step(a: np.ndarray, r: float) -> float:
    """The step ``s`` with ``mean(rint(a / s))`` closest to ``r`` (``a >= 0``)."""
    top = float(a.max(initial=0.0))
    if top <= 0.0:
        return 1.0
    lo, hi = math.log(top / (2 * r * a.size + 1)), math.log(top * 4 + 1e-30)  # mean(lo) >= r

    def mean(log_s: float) -> float:
        return float(np.mean(np.rint(a / math.exp(log_s))))

    best, best_err = hi, abs(mean(hi) - r)
    for _ in range(80):
        mid = (lo + hi) / 2
        m = mean(mid)
        if abs(m - r) < best_err or (abs(m - r) == best_err and mid > best):
            best, best_err = mid, abs(m - r)
        lo, hi = (mid, hi) if m > r else (lo, mid)
    return math.exp(best)


def bits_for(values: np.ndarray, signed: bool, minimum: int = 2) -> int:
    """The smallest width (>= ``minimum``) whose range holds every integer of ``values``."""
    lo, hi = int(np.min(values, initial=0)), int(np.max(values, initial=0))
    bits = minimum
    while not (int_range(bits, signed)[0] <= lo and hi <= int_range(bits, signed)[1]):
        bits += 1
    return bits


# ------------------------------------------------------------------------ PANN power budget

#: First-order 45 nm energies of docs/energy.md (Horowitz, ISSCC 2014): an n-bit add costs
#: ``ADD_PJ_PER_BIT · n`` (0.03 pJ at 8 bits), a b×b multiply ``MUL_PJ_AT_8 · (b/8)^2``
#: (0.2 pJ at 8 bits; 3.2 pJ at 32 bits against the table's 3.1).
ADD_PJ_PER_BIT = 0.03 / 8
MUL_PJ_AT_8 = 0.2


def mac_energy_pj(bits: float) -> float:
    """First-order energy of one b-bit MAC: a b×b multiply plus a 2b-bit-wide accumulate."""
    return MUL_PJ_AT_8 * (bits / 8) ** 2 + ADD_PJ_PER_BIT * 2 * bits


def pann_equivalent_r(bits: float, x_bits: int) -> float:
    """PANN's R (additions per MAC, each adding a ``x_bits``-wide activation) that spends the
    energy of one ``bits``-bit MAC: ``R = E_mac(bits) / E_add(x_bits)``."""
    return mac_energy_pj(bits) / (ADD_PJ_PER_BIT * x_bits)


def pann_equivalent_bits(r: float, x_bits: int) -> float:
    """The MAC bit width whose first-order energy equals R additions of ``x_bits``-bit
    activations (inverse of :func:`pann_equivalent_r`, by bisection over 0.1..32 bits)."""
    lo, hi = 0.1, 32.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if pann_equivalent_r(mid, x_bits) < r else (lo, mid)
    return (lo + hi) / 2
