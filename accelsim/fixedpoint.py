"""gemmlowp / TFLite fixed-point primitives, bit exact, for Python ints and NumPy int64 arrays.

The one implementation used by the exporter (``accelsim.export``), the ``lsqplus`` PE's reference
and the workload validator; the rescale unit's numba kernel (``accelsim.kernels.lsqplus_units``)
is tested against it. Every function takes Python ints, NumPy integer scalars or arrays (they
broadcast); with Python ints only it returns a Python int, else an int64 array.

Domains and edges (docs/decisions.md, "One fixed-point module"):

- values (``x``, the operands of the high-mul) are int32: one outside
  ``[INT32_MIN, INT32_MAX]`` raises ``OverflowError``;
- the ``multiplier`` is any int32 too (``OverflowError`` outside); TFLite requires it
  ``>= 0`` and the workload format checks that (``MULTIPLIER_MIN``, ``MULTIPLIER_MAX``);
- parameters outside their domain raise ``ValueError``: ``shift`` in
  ``[SHIFT_MIN, SHIFT_MAX]`` = ``[-31, 31]``, ``exponent`` in ``[0, 31]``;
- :func:`saturating_rounding_doubling_high_mul` saturates where gemmlowp does: only
  ``INT32_MIN · INT32_MIN`` gives ``INT32_MAX``;
- :func:`multiply_by_quantized_multiplier`'s left shift ``x · 2^shift`` is int32 arithmetic that
  C++ leaves undefined on overflow; the caller states what happens (``overflow="raise"``:
  ``OverflowError``, the exporter; ``overflow="wrap"``: two's complement, the simulated rescale
  unit's left shifter);
- :func:`quantize_multiplier` flushes a real multiplier below ``2^-32`` to ``(0, 0)`` as TFLite
  does and raises ``ValueError`` for one that needs a shift above 30 (``real >= 2^30``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
#: Range of a quantized multiplier's ``shift`` (positive = left); QuantizeMultiplier gives <= 30.
SHIFT_MIN, SHIFT_MAX = -31, 31
#: Range of a workload's ``multiplier`` (TFLite requires it non-negative; the arithmetic takes
#: any int32).
MULTIPLIER_MIN, MULTIPLIER_MAX = 0, INT32_MAX
#: The left-shift overflow policies of :func:`multiply_by_quantized_multiplier`.
OVERFLOW_POLICIES = ("raise", "wrap")


def _as_int64(v: Any, name: str, lo: int, hi: int, error: type[Exception]) -> np.ndarray:
    """``v`` as an int64 array after checking every element is in ``[lo, hi]`` (else ``error``)."""
    a = np.asarray(v)
    if a.dtype.kind == "O" and all(isinstance(e, int) and not isinstance(e, bool)
                                   for e in a.ravel()):
        bad = [e for e in a.ravel() if not lo <= e <= hi]  # Python ints beyond 64 bits
        if bad:
            raise error(f"{name} must lie in [{lo}, {hi}], got {bad[0]}")
        return a.astype(np.int64)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integers, got dtype {a.dtype}")
    if a.size and (a.min() < lo or a.max() > hi):
        value = a.min() if a.min() < lo else a.max()
        raise error(f"{name} must lie in [{lo}, {hi}], got {int(value)}")
    return a.astype(np.int64)


def _result(out: np.ndarray, *inputs: Any) -> Any:
    """A Python int when every input was a Python int, else the int64 array."""
    if all(isinstance(v, int) for v in inputs):
        return int(out)
    return np.asarray(out, dtype=np.int64)


def wrap32(v: Any) -> Any:
    """Integers modulo 2^32 read as signed 32-bit values (two's complement wrap)."""
    if isinstance(v, int):
        return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
    return ((np.asarray(v, dtype=np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def saturating_rounding_doubling_high_mul(a: Any, b: Any) -> Any:
    """gemmlowp's ``SaturatingRoundingDoublingHighMul`` of int32 values.

    ``(a·b + nudge) / 2^31`` truncated toward zero, nudge ``2^30`` for ``a·b >= 0`` else
    ``1 − 2^30`` (so ``a·b / 2^31`` rounded to nearest, ties toward +∞); saturates to
    ``INT32_MAX`` only for ``a == b == INT32_MIN``.

    Raises
    ------
    OverflowError
        ``a`` or ``b`` outside int32.
    """
    x = _as_int64(a, "a", INT32_MIN, INT32_MAX, OverflowError)
    y = _as_int64(b, "b", INT32_MIN, INT32_MAX, OverflowError)
    ab = x * y  # |ab| <= 2^62: exact in int64
    nudged = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    high = np.where(nudged >= 0, nudged >> 31, -((-nudged) >> 31))  # truncate toward zero
    return _result(np.where((x == INT32_MIN) & (y == INT32_MIN), INT32_MAX, high), a, b)


def rounding_divide_by_pot(x: Any, exponent: Any) -> Any:
    """gemmlowp's ``RoundingDivideByPOT``: ``x / 2^exponent`` rounded to nearest, ties away
    from zero, for int32 ``x`` and ``exponent`` in ``[0, 31]``.

    Raises
    ------
    OverflowError
        ``x`` outside int32.
    ValueError
        ``exponent`` outside ``[0, 31]``.
    """
    v = _as_int64(x, "x", INT32_MIN, INT32_MAX, OverflowError)
    e = _as_int64(exponent, "exponent", 0, 31, ValueError)
    mask = (np.int64(1) << e) - 1
    threshold = (mask >> 1) + (v < 0)
    return _result((v >> e) + ((v & mask) > threshold), x, exponent)


def multiply_by_quantized_multiplier(x: Any, multiplier: Any, shift: Any, *,
                                     overflow: str) -> Any:
    """TFLite's ``MultiplyByQuantizedMultiplier``:
    ``RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x · 2^left, multiplier), right)``
    with ``left = max(shift, 0)``, ``right = max(−shift, 0)``; ``≈ x · multiplier · 2^(shift−31)``.

    Parameters
    ----------
    x : int or array of int
        int32 values (e.g. accumulator sums plus bias).
    multiplier, shift : int or array of int
        As :func:`quantize_multiplier` returns them (``multiplier`` int32, ``shift`` in
        ``[-31, 31]``, positive = left); broadcast against ``x``.
    overflow : {"raise", "wrap"}
        When ``x · 2^left`` leaves int32: raise ``OverflowError``, or wrap it to int32 (two's
        complement, as a 32-bit left shifter does). Keyword-only, no default.

    Raises
    ------
    OverflowError
        ``x`` or ``multiplier`` outside int32, or (``overflow="raise"``) ``x · 2^left``
        outside int32.
    ValueError
        ``shift`` outside ``[-31, 31]``, or an unknown ``overflow``.
    """
    if overflow not in OVERFLOW_POLICIES:
        raise ValueError(f"overflow must be one of {OVERFLOW_POLICIES}, got {overflow!r}")
    v = _as_int64(x, "x", INT32_MIN, INT32_MAX, OverflowError)
    m = _as_int64(multiplier, "multiplier", INT32_MIN, INT32_MAX, OverflowError)
    s = _as_int64(shift, "shift", SHIFT_MIN, SHIFT_MAX, ValueError)
    shifted = v << np.maximum(s, 0)  # |v| <= 2^31, left <= 31: exact in int64
    if overflow == "wrap":
        shifted = wrap32(shifted)
    elif shifted.size and (shifted.min() < INT32_MIN or shifted.max() > INT32_MAX):
        raise OverflowError("x · 2^shift leaves the int32 range (the hardware would wrap)")
    high = saturating_rounding_doubling_high_mul(shifted, m)
    return _result(rounding_divide_by_pot(high, np.maximum(-s, 0)), x, multiplier, shift)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's ``QuantizeMultiplier``: ``real ≈ multiplier · 2^(shift − 31)``.

    Parameters
    ----------
    real : float
        A finite real multiplier ``>= 0``.

    Returns
    -------
    (multiplier, shift) : (int, int)
        ``multiplier`` in ``[2^30, 2^31)`` rounded half away from zero (``std::round``),
        ``shift`` in ``[-31, 30]``, positive = left; ``(0, 0)`` for 0 and for ``real < 2^-32``
        (the shift would drop below −31: flushed to zero as TFLite does).

    Raises
    ------
    ValueError
        ``real`` negative or not finite, or ``>= 2^30`` (the shift would exceed 30).
    """
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"a real multiplier must be finite and >= 0, got {real}")
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)  # real = q · 2^shift, q in [0.5, 1)
    q_fixed = math.floor(q * (1 << 31) + 0.5)  # q · 2^31 + 0.5 is exact in a double
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        raise ValueError(f"real multiplier {real} is too large (shift {shift} > 30)")
    return int(q_fixed), int(shift)
