"""The fold loop: a dataflow plans the folds, its family's driver runs the PE kind's step.

:func:`run_gemm` is what a PE kind's ``simulate`` calls; it knows no dataflow or PE kind by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.dataflows import Dataflow, Fold
from accelsim.kernels.drivers import (
    fold_output_stationary,
    fold_output_stationary_parallel,
    fold_stationary,
    fold_stationary_parallel,
)
from accelsim.types import ArraySpec, GemmOperands


@dataclass(frozen=True)
class StepKind:
    """A PE kind's step as the fold loop sees it.

    ``consts``: its constants (a NamedTuple with overloads of ``accelsim.kernels.step``); ``aux``:
    its array (int64, any shape);
    ``state_words``: int64 words of datapath state per PE; ``counters``: length of its counter
    layout; ``classes``: number of trace columns; ``starts(df, f, R, C, T, A, B)``: the fold's step
    start cycles (int64 [L + 1], ``L`` = ``df.fold_cycles``; ``A``, ``B`` the fold's operand
    blocks), or None for one cycle per step.
    """

    consts: Any
    aux: np.ndarray
    state_words: int
    counters: int
    classes: int
    starts: Callable[..., np.ndarray] | None = None


@dataclass
class Run:
    """What :func:`run_gemm` returns: ``y`` int64 [G, M, N] output values; ``counts`` the kind's
    counters; ``trace`` int64 [cycles_compute, classes] or None; ``folds``; ``cycles_compute``;
    ``cycles_active`` (end of each fold's last enabled step, summed)."""

    y: np.ndarray
    counts: np.ndarray
    trace: np.ndarray | None
    folds: int
    cycles_compute: int
    cycles_active: int


def signed(patterns: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement values of ``bits``-wide patterns."""
    return np.where(patterns >= 1 << (bits - 1), patterns - (1 << bits), patterns)


def run_gemm(kind: StepKind, ops: GemmOperands, spec: ArraySpec, trace: bool = False,
             progress: Callable[[int], None] | None = None,
             parallel_min_macs: int | None = None) -> Run:
    """Simulate a (grouped) GEMM fold by fold on an array of ``kind`` PEs, carrying register and
    datapath state across folds. Untraced folds of at least ``parallel_min_macs`` MACs (None:
    never) run on all cores."""
    df = DATAFLOWS[spec.dataflow]
    R, C = spec.rows, spec.cols
    G, M, K, N = ops.groups, ops.M, ops.K, ops.N
    _, _, T = df.dims(M, K, N)
    L = df.fold_cycles(R, C, T)
    regs = {name: np.zeros((R, C), dtype=np.int64) for name in ("x", "w", "psum")}
    state = np.zeros((R, C, max(1, kind.state_words)), dtype=np.int64)
    edge_s = np.zeros(C, dtype=np.int64)
    edge_c = np.zeros(C, dtype=np.int64)
    counts = np.zeros(kind.counters, dtype=np.int64)
    unit = np.arange(L + 1, dtype=np.int64)
    no_trace = np.zeros((0, kind.classes), dtype=np.int64)
    traces: list[np.ndarray] = []
    y = np.zeros((G, M, N), dtype=np.int64)
    n_folds = compute = active = 0
    out = np.zeros((0, 0), dtype=np.int64)
    for f in df.folds(G, M, K, N, R, C):
        A, B = df.fold_operands(ops, f)
        starts = unit if kind.starts is None else kind.starts(df, f, R, C, T, A, B)
        tr = np.zeros((int(starts[L]), kind.classes), dtype=np.int64) if trace else no_trace
        parallel = (not trace and parallel_min_macs is not None
                    and (f.r1 - f.r0) * (f.c1 - f.c0) * T >= parallel_min_macs)
        if df.first_of_tile(f):
            out = np.zeros(df.out_shape(f, T), dtype=np.int64)
        _fold(kind.consts, kind.aux, df, f, A, B, out, spec, starts, regs, state, edge_s, edge_c,
              counts, tr, parallel)
        if df.completes(f, K):
            df.scatter(y, f, signed(out, spec.acc_bits))
        n_folds += 1
        compute += int(starts[L])
        active += int(starts[df.last_step(R, f.r1 - f.r0, f.c1 - f.c0, T)])
        if trace:
            traces.append(tr)
        if progress is not None:
            progress(1)
    full = (np.concatenate(traces) if traces else no_trace) if trace else None
    return Run(y, counts, full, n_folds, compute, active)


def _fold(k: Any, aux: np.ndarray, df: Dataflow, f: Fold, A: np.ndarray, B: np.ndarray,
          out: np.ndarray, spec: ArraySpec, starts: np.ndarray, regs: dict[str, np.ndarray],
          state: np.ndarray, edge_s: np.ndarray, edge_c: np.ndarray, counts: np.ndarray,
          tr: np.ndarray, parallel: bool) -> None:
    """Run one fold through its dataflow family's driver."""
    R, C = spec.rows, spec.cols
    if df.preload:
        driver = fold_stationary_parallel if parallel else fold_stationary
        mov_is_x = df.moving_is_x
        mov, sta = (regs["x"], regs["w"]) if mov_is_x else (regs["w"], regs["x"])
        mov_bits, sta_bits = df.operand_bits(spec.x_bits, spec.w_bits)
        driver(k, aux, A, B, out, df.first_of_tile(f), R, C, mov_is_x, mov_bits, sta_bits,
               spec.idle_zero, starts, mov, sta, regs["psum"], state, edge_s, edge_c, counts, tr)
    else:
        driver = fold_output_stationary_parallel if parallel else fold_output_stationary
        driver(k, aux, A, B, out, R, C, spec.x_bits, spec.w_bits, spec.idle_zero, starts, regs["x"],
               regs["w"], regs["psum"], state, counts, tr)
