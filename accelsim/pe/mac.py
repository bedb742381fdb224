"""The ``mac`` PE: integer multiplier + ripple-carry adder/accumulator (docs/datapath.md).

A lightweight descriptor (no numba at import): ``simulate_mac_gemm`` loads the step
(``accelsim.pe.mac_step``) and runs the layer's GEMM through the dataflow drivers.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.pe.base import Parts, PeKind, Structure
from accelsim.types import ArraySpec, DenseGemm, GemmOperands, GemmResult

#: Toggle classes of a mac array, in counter and trace-column order.
CLASSES = ("x_reg", "w_reg", "psum_reg", "mult", "adder")
#: Largest x_bits + w_bits for which the multiplier's node vectors are tabulated (2^18 rows).
TABLE_MAX_BITS = 18
#: os folds with at least this many MACs run their rows on all cores (numba threads;
#: NUMBA_NUM_THREADS=1 turns it off); untraced ws/is folds run the serial sliced driver. Smaller
#: folds run serially: a parallel region costs a thread hand-off, which on a busy machine can
#: outweigh a small fold's work.
PARALLEL_MIN_MACS = 1 << 17
#: Widest accumulator of the bit-sliced stationary driver (untraced ws/is folds); wider ones run
#: the scalar drivers.
SLICED_MAX_ACC_BITS = 62


@lru_cache(maxsize=8)
def multiplier(x_bits: int, w_bits: int, x_signed: bool, w_signed: bool,
               w_major: bool) -> tuple[tuple[Any, ...], np.ndarray]:
    """The multiplier's parameters ``(x_bits, w_bits, n, m, sa, sb, x_is_a)`` (the narrower
    operand first: ``a`` is n bits) and its node table (datapath.md §2): int64 [2^(x+w), 4] node
    words when x_bits + w_bits <= TABLE_MAX_BITS, ordered by the w operand if ``w_major`` (use
    when w is the stationary one), else a 1-D dummy (nodes evaluated row by row)."""
    from accelsim.kernels.bits import mult_table, node_words

    x_is_a = x_bits <= w_bits
    n, m = (x_bits, w_bits) if x_is_a else (w_bits, x_bits)
    sa, sb = (x_signed, w_signed) if x_is_a else (w_signed, x_signed)
    if x_bits + w_bits <= TABLE_MAX_BITS:  # <= 225 nodes: padded to the step's fixed 4 words
        assert node_words(n, m) <= 4
        table = mult_table(x_bits, w_bits, x_signed, w_signed, 4, w_major)
    else:
        table = np.zeros(1, dtype=np.int64)
    table.setflags(write=False)
    return (x_bits, w_bits, n, m, sa, sb, x_is_a), table


def mac_step_kind(spec: ArraySpec):
    """The fold loop's view of a mac array for ``spec`` (``accelsim.kernels.run.StepKind``)."""
    from accelsim.kernels.run import StepKind
    from accelsim.kernels.sliced_os import MAX_ACC_BITS, OsDriver
    from accelsim.pe.mac_step import STATE_WORDS, MacConsts

    w_major = DATAFLOWS[spec.dataflow].w_held
    (xb, wb, n, m, sa, sb, x_is_a), table = multiplier(spec.x_bits, spec.w_bits, spec.x_signed,
                                                       spec.w_signed, w_major)
    acc = spec.acc_bits
    k = MacConsts(acc, (1 << acc) - 1, 1 << (acc - 1), spec.saturate, w_major, xb, wb, n, m, sa,
                  sb, x_is_a)
    stationary = folds = None
    if acc <= SLICED_MAX_ACC_BITS:
        from accelsim.kernels.sliced_stationary import FoldsDriver
        from accelsim.kernels.sliced_stationary import fold_stationary_sliced as stationary

        folds = FoldsDriver()
    return StepKind(k, table, STATE_WORDS, len(MAC.layout), len(CLASSES),
                    stationary_untraced=stationary, stationary_folds=folds,
                    output_stationary_untraced=OsDriver() if acc <= MAX_ACC_BITS else None)


def simulate_mac_gemm(
    ops: GemmOperands,
    spec: ArraySpec,
    trace: bool = False,
    progress: Callable[[int], None] | None = None,
    params: object | None = None,
    layer: object | None = None,
    *,
    parallel_min_macs: int = PARALLEL_MIN_MACS,
) -> GemmResult:
    """Simulate a (grouped) GEMM on an array of mac PEs; see :class:`GemmResult` for the outputs.

    ``params`` and ``layer`` are unused (no ``pe.mac`` block, no quant data needed).
    Untraced os folds of at least ``parallel_min_macs`` MACs use the multi-core driver; untraced
    ws/is folds the bit-sliced one (``accelsim.kernels.sliced_stationary``).
    """
    from accelsim.kernels.run import run_gemm

    run = run_gemm(mac_step_kind(spec), ops, spec, trace, progress, parallel_min_macs)
    names = MAC.classes(spec.dataflow)
    return GemmResult(
        y=run.y,
        toggles={name: int(run.counts[i]) for i, name in enumerate(names)},
        overflows=int(run.counts[MAC.layout["overflows"]]),
        folds=run.folds,
        cycles_compute=run.cycles_compute,
        cycles_active=run.cycles_active,
        macs=ops.groups * ops.M * ops.K * ops.N,
        trace=run.trace,
    )


def structure(pe: Any, dataflow: Any) -> Structure:
    """One x_bits×w_bits multiplier, an acc_bits adder, x/w/acc registers per PE; an acc_bits
    edge accumulator per column when partial sums leave the array (datapath.md)."""
    edge = Parts(adder_bits=pe.acc_bits) if dataflow.preload else Parts()
    return Structure(Parts(pe.x_bits * pe.w_bits, pe.acc_bits,
                           pe.x_bits + pe.w_bits + pe.acc_bits), column=edge)


def warmup() -> None:
    """Compile (or load from numba's cache) the mac drivers: both families with the tabulated and
    the row-by-row multiplier, serial traced and untraced (sliced) and parallel, on every
    dataflow."""
    x = np.ones((1, 2, 2), dtype=np.int64)
    for dataflow in MAC.dataflows:
        for bits in (2, 10):  # tabulated and direct multiplier paths
            spec = ArraySpec(2, 2, dataflow, False, bits, bits, 2 * bits, False, True, True)
            for trace, min_macs in ((False, 0), (False, 1 << 62), (True, 0)):
                simulate_mac_gemm(DenseGemm(x, x), spec, trace=trace, parallel_min_macs=min_macs)


MAC = PeKind(name="mac", dataflows=tuple(DATAFLOWS), params=None, simulate=simulate_mac_gemm,
             warmup=warmup, toggle_classes=CLASSES, structure=structure,
             schemes=("int", "pann"), step_kind=mac_step_kind)
