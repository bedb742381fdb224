"""The ``pann`` PE: adder-only, a product x·w as |w| additions of x (docs/pann.md).

A lightweight descriptor (no numba at import): ``simulate_pann_gemm`` runs a layer's GEMM through
the dataflow drivers on the pann step (``accelsim.pe.pann_step``), each fold's steps stretched to
their slowest enabled PE (lock-step timing, pann.md §4; step lengths from
``accelsim.kernels.pann_steps``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.dataflows import Dataflow, Fold
from accelsim.errors import WorkloadError
from accelsim.pe.base import Parts, PeKind, Structure
from accelsim.types import ArraySpec, DenseGemm, GemmOperands, GemmResult

#: Sign handling modes of ``pe.pann.sign``.
SIGN_MODES = ("dual_accumulator", "subtract")


@dataclass(frozen=True, kw_only=True)
class PannParams:
    """``pe.pann:`` — the pann PE's repeated-addition unit (docs/pann.md)."""

    adders: int = field(default=1, metadata={"min": 1, "max": 1 << 15})
    """Adders per PE, chained, all usable in one cycle (count, 1..32768 = 2^15, the largest |w| of
    a 16-bit weight): a MAC with weight w takes ceil(|w| / adders) cycles. Default 1."""
    sign: str = field(default="dual_accumulator", metadata={"choices": SIGN_MODES})
    """How negative weights are handled: ``dual_accumulator`` (separate positive and negative
    accumulators, subtracted once at the output) or ``subtract`` (one accumulator; the adders
    subtract x for w < 0). Default ``dual_accumulator``."""


#: Toggle classes of a pann array, in counter and trace-column order (pann.md §5).
CLASSES = ("x_reg", "w_reg", "psum_reg", "adder")


def class_names(dataflow: str) -> tuple[str, ...]:
    """Toggle classes of a pann array on ``dataflow`` (a name), in trace-column order."""
    return DATAFLOWS[dataflow].class_names(CLASSES)


def chain_adders(adders: int, w_bits: int, w_signed: bool) -> int:
    """Adders that can ever evaluate: min(adders, largest |w| of a w_bits operand), >= 1."""
    largest = 1 << (w_bits - 1) if w_signed else (1 << w_bits) - 1
    return max(1, min(adders, largest))


def simulate_pann_gemm(
    ops: GemmOperands,
    spec: ArraySpec,
    trace: bool = False,
    progress: Callable[[int], None] | None = None,
    params: PannParams | None = None,
    layer: object | None = None,
) -> GemmResult:
    """Simulate a (grouped) GEMM on an array of pann PEs (docs/pann.md).

    Parameters
    ----------
    ops : GemmOperands
        X [G, M, K] unsigned, W [G, K, N] repetition counts, fitting the spec's widths.
    spec : ArraySpec
        Array, dataflow, widths (bits), idle and overflow modes; ``x_signed`` must be False.
    trace : bool
        Also return the per-cycle toggles, int64 [cycles_compute, 4] (pann.md §5).
    progress : callable, optional
        Called with 1 after every fold.
    params : PannParams, optional
        ``pe.pann`` (default: 1 adder, dual_accumulator).
    layer : object, optional
        Unused (no quant data needed).

    Returns
    -------
    GemmResult
        Outputs, toggles (x_reg, w_reg, psum_reg|acc_reg, adder), overflows, folds, stretched
        ``cycles_compute``, ``cycles_active``, MACs, ``additions`` (Σ|w|) and the trace.
    """
    if spec.x_signed:
        raise ValueError("pann PEs need unsigned x (docs/pann.md §1)")
    from accelsim.kernels.run import run_gemm

    params = params if params is not None else PannParams()
    # Adders beyond the largest |w| never evaluate: clamping A keeps timing and toggles exact.
    A = chain_adders(int(params.adders), spec.w_bits, spec.w_signed)
    run = run_gemm(pann_step_kind(spec, params, A, ops), ops, spec, trace, progress)
    G, M, K, N = ops.groups, ops.M, ops.K, ops.N
    names = PANN.classes(spec.dataflow)
    # Each weight serves M MACs; a MAC with ceil(|w|/A) > 1 addition cycles reloads its (active)
    # accumulator once per extra cycle, outside the mac schedule the energy model clocks.
    extra_loads = sum(
        M * int(np.maximum(-(-np.abs(ops.w_block(g, 0, K, 0, N)) // A), 1).sum() - K * N)
        for g in range(G)
    )
    return GemmResult(
        y=run.y,
        toggles={name: int(run.counts[i]) for i, name in enumerate(names)},
        overflows=int(run.counts[PANN.layout["overflows"]]),
        folds=run.folds,
        cycles_compute=run.cycles_compute,
        cycles_active=run.cycles_active,
        macs=G * M * K * N,
        trace=run.trace,
        additions=int(run.counts[PANN.layout["additions"]]),
        clock_bits_extra=extra_loads * spec.acc_bits,
    )


def pann_step_kind(spec: ArraySpec, params: PannParams, A: int, ops: GemmOperands):
    """The fold loop's view of a pann array for ``spec`` (``accelsim.kernels.run.StepKind``):
    its constants, its ``aux`` tuple (``accelsim.pe.pann_step``) and its step lengths."""
    from accelsim.kernels.pann_steps import fold_starts_is, fold_starts_os, fold_starts_ws
    from accelsim.kernels.run import StepKind
    from accelsim.pe.pann_step import STATE_WORDS, PannConsts

    df = DATAFLOWS[spec.dataflow]
    R, C = spec.rows, spec.cols
    _, _, T = df.dims(ops.M, ops.K, ops.N)
    acc = spec.acc_bits
    k = PannConsts(acc, (1 << acc) - 1, 1 << (acc - 1), spec.saturate, A,
                   params.sign == "dual_accumulator", not df.preload)

    def z(*shape: int) -> np.ndarray:
        return np.zeros(shape, dtype=np.int64)

    chain = (None, None) if A == 1 else (z(R, C, A - 1), z(R, C, A - 1))
    aux = (z(T if df.preload else 1), z(R, C), z(R, C), *chain)

    def starts(df: Dataflow, f: Fold, R: int, C: int, T: int, A_op: np.ndarray,
               B_op: np.ndarray) -> np.ndarray:
        out = np.zeros(df.fold_cycles(R, C, T) + 1, dtype=np.int64)
        if not df.preload:  # B_op: the fold's weight columns
            fold_starts_os(B_op, f.r1 - f.r0, R, C, A, out)
        elif df.moving_is_x:  # B_op: the stationary weights
            fold_starts_ws(B_op, T, R, C, A, out)
        else:  # A_op: the streamed weights
            fold_starts_is(A_op, f.c1 - f.c0, R, C, A, out)
        return out

    return StepKind(k, aux, STATE_WORDS, len(PANN.layout), len(CLASSES), starts)


def fold_starts(spec: ArraySpec, params: PannParams | None, ops: GemmOperands) -> Callable:
    """The step start cycles of a pann array's folds (``StepKind.starts``; lock-step timing)."""
    params = params if params is not None else PannParams()
    A = chain_adders(int(params.adders), spec.w_bits, spec.w_signed)
    return pann_step_kind(spec, params, A, ops).starts


def warmup() -> None:
    """Compile (or load from numba's cache) the pann kernels: os and ws/is fold kernels with one
    adder (no chain loop) and with a chain, traced (one signature each)."""
    x = np.ones((1, 2, 2), dtype=np.int64)
    for dataflow in PANN.dataflows:
        spec = ArraySpec(2, 2, dataflow, False, 4, 4, 12, False, False, True)
        for adders in (1, 2):
            simulate_pann_gemm(DenseGemm(x, -x), spec, trace=True,
                               params=PannParams(adders=adders))


def check_pann_layer(arch: object, layer: object, file: str) -> None:
    """Reject a layer a pann PE cannot run: signed x (pann.md §1), or an lsqplus layer (its
    zero points and rescale need hardware the pann PE does not have)."""
    if layer.x_signed:
        raise WorkloadError(
            file, f"layers[{layer.name!r}].x_signed",
            "unsigned x (false): a pann PE adds x |w| times and has no signed-x datapath",
            True,
        )
    scheme = layer.quant.get("scheme", "int")
    if scheme == "lsqplus":
        raise WorkloadError(
            file, f"layers[{layer.name!r}].quant.scheme",
            "int or pann: a pann PE has no zero-point or rescale hardware (use pe.kind lsqplus)",
            scheme,
        )


def structure(pe: Any, dataflow: Dataflow) -> Structure:
    """No multiplier; ``pann.adders`` chained adders and x/w registers per PE; with
    ``dual_accumulator`` two accumulators and a P − N subtractor per column (stationary) or per PE
    (output-stationary); an edge accumulator per column when partial sums leave the array."""
    params = pe.params if getattr(pe, "params", None) is not None else PannParams()
    dual = params.sign == "dual_accumulator"
    acc_regs = 2 if dual else 1
    pe_adders = params.adders + (1 if dual and not dataflow.preload else 0)
    col_adders = (1 + (1 if dual else 0)) if dataflow.preload else 0
    registers = pe.x_bits + pe.w_bits + acc_regs * pe.acc_bits
    return Structure(Parts(0, pe_adders * pe.acc_bits, registers),
                     column=Parts(adder_bits=col_adders * pe.acc_bits), acc_registers=acc_regs)


PANN = PeKind(
    name="pann", dataflows=("os", "ws", "is"), params=PannParams, simulate=simulate_pann_gemm,
    check=check_pann_layer, warmup=warmup, toggle_classes=CLASSES, extra_counters=("additions",),
    structure=structure, schemes=("int", "pann"), fold_starts=fold_starts,
)
