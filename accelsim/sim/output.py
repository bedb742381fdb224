"""The on-chip output path (``docs/datapath.md`` §7): the width an output element has when it
leaves the chip, and the per-column output unit that requantizes it on the way out.

Register-transfer level in NumPy (evaluation order, parameters, the reference); the gate-level
evaluation is the kernel :mod:`accelsim.kernels.output_unit`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.types import ArraySpec, GemmResult
from accelsim.workload.npz import value_range

#: Toggle class of the output unit (priced by the technology table's ``toggle_classes``).
CLASS = "output_unit"


@dataclass(frozen=True)
class UnitParams:
    """The output unit's parameters for one layer: accumulator width, right shift, output width
    (bits), clamp bounds ``lo``/``hi`` (values, ReLU folded into ``lo``) and the comparators'
    width (bits)."""

    acc_bits: int
    shift: int
    bits: int
    lo: int
    hi: int

    @property
    def cmp_bits(self) -> int:
        """Comparator width (bits): the shifted value (acc_bits + 1 - shift bits, signed) and
        the bounds (bits + 1, signed) subtract without overflow in one more bit."""
        return max(self.acc_bits + 1 - self.shift, self.bits + 1) + 1

    @property
    def round_bits(self) -> int:
        """Rounding adder width (bits): acc_bits + 1, or 0 when there is no shift (no adder)."""
        return self.acc_bits + 1 if self.shift else 0


def extra_classes(arch: Any) -> tuple[str, ...]:
    """Toggle classes the output path adds to every report of ``arch``'s runs that requantize:
    ``("output_unit",)``, or none (also for a duck-typed arch without ``output``)."""
    out = getattr(arch, "output", None)
    return () if out is None or out.requantize == "none" else (CLASS,)


def unit_parts(arch: Any) -> Any:
    """One column's output unit for leakage (``accelsim.pe.base.Parts``): the rounding adder's
    and both comparators' bits, the output register's bits; empty when there is no unit."""
    from accelsim.pe.base import Parts

    if not extra_classes(arch):
        return Parts()
    out = getattr(arch, "output", None)
    p = UnitParams(arch.pe.acc_bits, out.shift_bits, out.bits, 0, 0)
    return Parts(adder_bits=p.round_bits + 2 * p.cmp_bits, register_bits=p.bits)


def unit_params(arch: Any, layer: Any) -> UnitParams | None:
    """The output unit's parameters for ``layer`` on ``arch``, or None when the layer's outputs
    leave raw (``output`` absent or ``requantize: none``) or requantized already (``lsqplus``)."""
    out = getattr(arch, "output", None)
    quant = getattr(layer, "quant", None) or {}
    if out is None or out.requantize == "none" or quant.get("scheme") == "lsqplus":
        return None
    lo, hi = value_range(out.bits, out.signed)
    return UnitParams(arch.pe.acc_bits, out.shift_bits, out.bits, max(lo, 0) if out.relu else lo,
                      hi)


def output_bits(arch: Any, layer: Any) -> int:
    """Width (bits) of one output element of ``layer`` leaving the chip: the output unit's
    ``bits`` when it requantizes the layer, ``y_bits`` for an ``lsqplus`` layer, else
    ``pe.acc_bits``."""
    quant = getattr(layer, "quant", None) or {}
    if quant.get("scheme") == "lsqplus":
        return int(quant["y_bits"])
    p = unit_params(arch, layer)
    return arch.pe.acc_bits if p is None else p.bits


def requantize_reference(y: np.ndarray, p: UnitParams) -> np.ndarray:
    """NumPy reference of the unit: ``clamp(RoundingDivideByPOT(y, shift), lo, hi)`` on int64
    values (gemmlowp's rounding: to nearest, ties away from zero)."""
    v = np.asarray(y, dtype=np.int64)
    mask = (np.int64(1) << p.shift) - 1
    threshold = (mask >> 1) + (v < 0)
    q = (v >> p.shift) + ((v & mask) > threshold)
    return np.clip(q, p.lo, p.hi)


def evaluation_order(spec: ArraySpec, groups: int, M: int, K: int, N: int
                     ) -> tuple[np.ndarray, ...]:
    """(g, m, n, column, layer cycle) of every finished output, in execution order: an output
    enters its column's unit in the cycle it leaves the array (datapath.md §5: stationary
    ``R + t + r_act - 1 + c`` of its tile's last K-fold; ``os`` ``r + c + K - 1``, read out of the
    accumulators in row order). Cycles count SCALE-Sim fold windows."""
    df = DATAFLOWS[spec.dataflow]
    R, C = spec.rows, spec.cols
    _, _, T = df.dims(M, K, N)
    L = df.fold_cycles(R, C, T)
    parts = []
    for i, f in enumerate(df.folds(groups, M, K, N, R, C)):
        r_act, c_act = f.r1 - f.r0, f.c1 - f.c0
        if not df.preload:
            r, c = (a.ravel() for a in np.meshgrid(np.arange(r_act), np.arange(c_act),
                                                   indexing="ij"))
            cyc = r + c + K - 1
            m, n = df.output_index(f, r, c)
        else:
            if not df.completes(f, K):
                continue
            c, t = (a.ravel() for a in np.meshgrid(np.arange(c_act), np.arange(T),
                                                   indexing="ij"))
            cyc = R + t + r_act - 1 + c
            m, n = df.output_index(f, t, c)
        parts.append((np.full(m.shape, f.g), m, n, c, i * L + cyc))
    if not parts:
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(5))
    return tuple(np.concatenate([p[j] for p in parts]).astype(np.int64) for j in range(5))


def run_unit(spec: ArraySpec, p: UnitParams, y: np.ndarray, K: int, cycles: int, trace: bool
             ) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Pass a layer's raw outputs ``y`` int64 [G, M, N] (a GEMM of reduction length ``K``)
    through the output units.

    Returns the requantized outputs [G, M, N], the unit's toggles and, with ``trace``, its
    per-cycle toggles int64 [cycles] (a kind whose steps stretch the fold windows, pann, gets
    each evaluation at the same fraction of the layer: placement approximate, totals exact).
    """
    from accelsim.kernels.output_unit import STATE_WORDS, output_evals, output_init

    G, M, N = y.shape
    g, m, n, col, cyc = evaluation_order(spec, G, M, K, N)
    df = DATAFLOWS[spec.dataflow]
    windows = df.count(G, M, K, N, spec.rows, spec.cols) * df.fold_cycles(
        spec.rows, spec.cols, df.dims(M, K, N)[2])
    if trace and windows != cycles:  # stretched steps (pann): the same fraction of the layer
        cyc = cyc * cycles // windows
    st = np.zeros((spec.cols, STATE_WORDS), dtype=np.int64)
    output_init(p.acc_bits, p.shift, p.cmp_bits, p.lo, p.hi, st)
    out = np.zeros(len(g), dtype=np.int64)
    counts = np.zeros(1, dtype=np.int64)
    tr = np.zeros(cycles if trace else 0, dtype=np.int64)
    output_evals(cyc, col, np.ascontiguousarray(y[g, m, n]), p.acc_bits, p.shift, p.bits,
                 p.cmp_bits, p.lo, p.hi, st, out, counts, tr)
    y_out = np.zeros_like(y)
    y_out[g, m, n] = out
    return y_out, int(counts[0]), tr if trace else None


def bypassed(result: GemmResult) -> GemmResult:
    """``result`` of a layer that bypasses the run's output units (``lsqplus``): the unit's
    class with 0 toggles (and a zero trace column), so every layer of the run has the same
    classes."""
    tr = result.trace
    if tr is not None:
        tr = np.hstack([tr, np.zeros((tr.shape[0], 1), dtype=tr.dtype)])
    return dataclasses.replace(result, toggles={**result.toggles, CLASS: 0}, trace=tr)


def apply_unit(spec: ArraySpec, p: UnitParams, result: GemmResult, K: int
               ) -> tuple[GemmResult, np.ndarray]:
    """Run the output units on a simulated layer's raw outputs (``result.y`` [G, M, N]).

    Returns ``result`` with the unit's toggle class appended (and its trace column, when
    ``result`` has a trace) and its output register's clocked bits (``bits`` per output) added
    to ``clock_bits_extra``; and the requantized outputs [G, M, N].
    """
    y = result.y
    traced = result.trace is not None
    y_out, toggles, col = run_unit(spec, p, y, K, result.cycles_compute, traced)
    tr = np.hstack([result.trace, col[:, None]]) if traced else None
    res = dataclasses.replace(result, toggles={**result.toggles, CLASS: toggles}, trace=tr,
                              clock_bits_extra=result.clock_bits_extra + p.bits * y.size)
    return res, y_out


def warmup() -> None:
    """Compile (or load from numba's cache) the output unit's kernel on a tiny input."""
    spec = ArraySpec(1, 1, "ws", False, 2, 2, 4, False, True, True)
    run_unit(spec, UnitParams(4, 1, 2, -2, 1), np.zeros((1, 1, 1), dtype=np.int64), 1, 2, True)
