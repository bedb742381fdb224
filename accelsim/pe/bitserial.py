"""The ``bitserial`` PE: Stripes-style, x consumed one bit per cycle, LSB first, ANDed with w and
shift-added into the accumulator; a MAC takes ``pe.x_bits`` cycles (docs/bitserial.md).

A lightweight descriptor (no numba at import): ``simulate_bitserial_gemm`` loads the step
(``accelsim.pe.bitserial_step``) and runs the GEMM through the dataflow drivers, every streaming
step stretched to ``x_bits`` cycles (lock-step).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import numpy as np

from accelsim.dataflows import Dataflow
from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.pe.base import Parts, PeKind, Structure
from accelsim.types import ArraySpec, DenseGemm, GemmOperands, GemmResult

#: Toggle classes, in counter and trace-column order: the mac array's (bitserial.md §6).
CLASSES = ("x_reg", "w_reg", "psum_reg", "mult", "adder")


@lru_cache(maxsize=16)
def step_starts(preload: int, steps: int, b: int) -> np.ndarray:
    """Start cycle of each fold step (int64 [steps + 1], read-only): ``preload`` one-cycle
    preload steps, then streaming steps of ``b`` cycles (bitserial.md §5)."""
    s = np.arange(steps + 1, dtype=np.int64)
    out = np.where(s <= preload, s, preload + b * (s - preload))
    out.setflags(write=False)
    return out


def bitserial_step_kind(spec: ArraySpec):
    """The fold loop's view of a bitserial array for ``spec`` (``kernels.run.StepKind``)."""
    from accelsim.kernels.run import StepKind
    from accelsim.pe.bitserial_step import STATE_WORDS, BitserialConsts

    acc = spec.acc_bits
    k = BitserialConsts(spec.x_bits, spec.w_bits, spec.x_signed, spec.w_signed, acc,
                        (1 << acc) - 1, 1 << (acc - 1), spec.saturate)

    def starts(df: Dataflow, f: Any, R: int, C: int, T: int, A: Any, B: Any) -> np.ndarray:
        return step_starts(R if df.preload else 0, df.fold_cycles(R, C, T), spec.x_bits)

    return StepKind(k, np.zeros(1, dtype=np.int64), STATE_WORDS, len(BITSERIAL.layout),
                    len(CLASSES), starts)


def simulate_bitserial_gemm(
    ops: GemmOperands,
    spec: ArraySpec,
    trace: bool = False,
    progress: Callable[[int], None] | None = None,
    params: object | None = None,
    layer: object | None = None,
) -> GemmResult:
    """Simulate a (grouped) GEMM on an array of bitserial PEs (docs/bitserial.md).

    ``params`` and ``layer`` are unused (no ``pe.bitserial`` block, no quant data needed).
    Returns the mac array's outputs and overflows, the lock-step ``cycles_compute``,
    ``additions`` (shift-adds: ``x_bits`` per MAC) and ``clock_bits_extra`` (the accumulator's
    ``x_bits - 1`` extra loads per MAC).
    """
    from accelsim.kernels.run import run_gemm

    run = run_gemm(bitserial_step_kind(spec), ops, spec, trace, progress)
    names = BITSERIAL.classes(spec.dataflow)
    macs = ops.groups * ops.M * ops.K * ops.N
    return GemmResult(
        y=run.y,
        toggles={name: int(run.counts[i]) for i, name in enumerate(names)},
        overflows=int(run.counts[BITSERIAL.layout["overflows"]]),
        folds=run.folds,
        cycles_compute=run.cycles_compute,
        cycles_active=run.cycles_active,
        macs=macs,
        trace=run.trace,
        additions=int(run.counts[BITSERIAL.layout["additions"]]),
        clock_bits_extra=macs * (spec.x_bits - 1) * spec.acc_bits,
    )


def structure(pe: Any, dataflow: Dataflow) -> Structure:
    """Per PE ``w_bits`` AND gates (priced as partial products), one acc_bits shift-adder and
    x/w/acc registers; an acc_bits edge accumulator per column when partial sums leave the array
    (bitserial.md §6)."""
    edge = Parts(adder_bits=pe.acc_bits) if dataflow.preload else Parts()
    return Structure(Parts(pe.w_bits, pe.acc_bits, pe.x_bits + pe.w_bits + pe.acc_bits),
                     column=edge)


def warmup() -> None:
    """Compile (or load from numba's cache) the drivers on the bitserial step, traced and not."""
    x = np.ones((1, 2, 2), dtype=np.int64)
    for dataflow in BITSERIAL.dataflows:
        spec = ArraySpec(2, 2, dataflow, False, 4, 4, 12, False, True, True)
        for trace in (False, True):
            simulate_bitserial_gemm(DenseGemm(x, -x), spec, trace=trace)


def fold_starts(spec: ArraySpec, params: object, ops: GemmOperands) -> Callable:
    """The step start cycles of a bitserial array's folds (``StepKind.starts``)."""
    return bitserial_step_kind(spec).starts


BITSERIAL = PeKind(name="bitserial", dataflows=tuple(DATAFLOWS), params=None,
                   simulate=simulate_bitserial_gemm, warmup=warmup, toggle_classes=CLASSES,
                   extra_counters=("additions",), structure=structure,
                   schemes=("int", "pann"), fold_starts=fold_starts)
