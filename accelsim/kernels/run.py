"""The fold loop: a dataflow plans the folds, its family's driver runs the PE kind's step.

:func:`run_gemm` is what a PE kind's ``simulate`` calls; it knows no dataflow or PE kind by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.dataflows import Dataflow, Fold
from accelsim.dataflows.mapping import Mapping, fixed_mapping, runs
from accelsim.kernels.drivers import (
    fold_output_stationary,
    fold_output_stationary_parallel,
    fold_stationary,
    fold_stationary_parallel,
)
from accelsim.types import ArraySpec, GemmOperands


#: Largest moving operand (int64 bytes over all groups) whose fold blocks :func:`run_gemm` keeps
#: for the column tiles that stream them again (measured: ResNet-18 layer4 convs under ws, 16
#: column tiles, 1.43 -> 1.29 ns/MAC in CPU time).
MOVING_KEPT_BYTES = 64 << 20


@dataclass(frozen=True)
class StepKind:
    """A PE kind's step as the fold loop sees it.

    ``consts``: its constants (a NamedTuple with overloads of ``accelsim.kernels.step``); ``aux``:
    its array (int64, any shape);
    ``state_words``: int64 words of datapath state per PE; ``counters``: length of its counter
    layout; ``classes``: number of trace columns; ``starts(df, f, R, C, T, A, B)``: the fold's step
    start cycles (int64 [L + 1], ``L`` = ``df.fold_cycles``; ``A``, ``B`` the fold's operand
    blocks), or None for one cycle per step. Optional faster drivers that untraced folds use
    instead of the generic ones (None: the generic driver): ``stationary_untraced`` with
    ``fold_stationary``'s arguments (serial); ``stationary_folds``, its form for consecutive
    K-folds of one output tile in one call (used only with ``stationary_untraced``; arguments
    as ``fold_stationary`` with the rows of all of them and ``bounds``, their row offsets, after
    ``out``); ``output_stationary_untraced(k, A, B, out, R, C, idle_zero, x_reg, w_reg,
    acc_reg, state, counts, parallel)``.
    """

    consts: Any
    aux: np.ndarray
    state_words: int
    counters: int
    classes: int
    starts: Callable[..., np.ndarray] | None = None
    stationary_untraced: Callable[..., None] | None = None
    stationary_folds: Callable[..., None] | None = None
    output_stationary_untraced: Callable[..., None] | None = None


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
    """Two's-complement values of ``bits``-wide patterns (int64, 0 <= p < 2^bits), as a new
    array: ``(p ^ s) − s`` with s the sign bit."""
    sign = np.int64(1) << (bits - 1)
    out = patterns ^ sign
    out -= sign
    return out


def run_gemm(kind: StepKind, ops: GemmOperands, spec: ArraySpec, trace: bool = False,
             progress: Callable[[int], None] | None = None,
             parallel_min_macs: int | None = None, discard: int = 0) -> Run:
    """Simulate a (grouped) GEMM run by run (``spec.mapping``'s order; by default one run per
    fold in SCALE-Sim's order) on an array of ``kind`` PEs, carrying register and datapath state
    across runs. A run of a stationary fold streams a chunk [t0, t1) of T after its own preload,
    so ``cycles_compute`` counts one fold window per run. Untraced runs of at least
    ``parallel_min_macs`` MACs (None: never) run on all cores; where the kind has a faster
    untraced driver for the dataflow's family (``StepKind``), untraced runs use it instead.
    The counters of the first ``discard`` runs are not kept (a warm-up: sampled mode's
    contexts)."""
    df = DATAFLOWS[spec.dataflow]
    R, C = spec.rows, spec.cols
    G, M, K, N = ops.groups, ops.M, ops.K, ops.N
    rdim, _, T = df.dims(M, K, N)
    mapping = (fixed_mapping(df, M, K, N) if spec.mapping is None
               else Mapping(tuple(spec.mapping[0]), int(spec.mapping[1])))
    regs = {name: np.zeros((R, C), dtype=np.int64) for name in ("x", "w", "psum")}
    state = np.zeros((R, C, max(1, kind.state_words)), dtype=np.int64)
    edge_s = np.zeros(C, dtype=np.int64)
    edge_c = np.zeros(C, dtype=np.int64)
    counts = np.zeros(kind.counters, dtype=np.int64)
    warmup = np.zeros(kind.counters, dtype=np.int64)
    no_trace = np.zeros((0, kind.classes), dtype=np.int64)
    traces: list[np.ndarray] = []
    y = np.zeros((G, M, N), dtype=np.int64)
    compute = active = 0
    folds: set = set()
    tiles: dict = {}  # output tile -> its patterns (shaped as df.out_shape), while incomplete
    operands = _operand_source(df, ops, rdim, T)
    run_fold = _fold_runner(kind, df, spec, regs, state, edge_s, edge_c, trace)
    batched = (df.preload and not trace and kind.starts is None
               and kind.stationary_untraced is not None and kind.stationary_folds is not None)
    steps: dict[int, np.ndarray] = {}  # one cycle per step: the starts of a fold of L cycles
    i = 0  # runs so far
    for batch in _batches(runs(df, mapping, G, M, K, N, R, C), batched, discard):
        f, t0, t1 = batch[0]
        if len(batch) > 1:  # the batch's K-folds as one fold of all their rows
            f = Fold(f.g, f.r0, batch[-1][0].r1, f.c0, f.c1)
        A, B = operands(f)
        t = t1 - t0
        if t != T:  # a run streams a chunk of the stationary family's T
            A = np.ascontiguousarray(A[:, t0:t1])
        L = df.fold_cycles(R, C, t)
        if kind.starts is None:
            if L not in steps:
                steps[L] = np.arange(L + 1, dtype=np.int64)
            starts = steps[L]
        else:
            starts = kind.starts(df, f, R, C, t, A, B)
        tr = np.zeros((int(starts[L]), kind.classes), dtype=np.int64) if trace else no_trace
        parallel = (not trace and parallel_min_macs is not None
                    and (f.r1 - f.r0) * (f.c1 - f.c0) * t >= parallel_min_macs)
        key = (f.g, f.c0) if df.preload else f
        if key not in tiles:
            tiles[key] = np.zeros(df.out_shape(f, T), dtype=np.int64)
        out = tiles[key]
        bounds = np.array([b.r0 - f.r0 for b, _, _ in batch] + [f.r1 - f.r0], dtype=np.int64)
        run_fold(f, A, B, out[t0:t1] if t != T else out, starts, bounds,
                 warmup if i < discard else counts, tr, parallel)
        if df.completes(batch[-1][0], rdim) and t1 == T:
            df.scatter(y, f, tiles.pop(key))  # patterns; their values once, at the end
        new = 0
        for b, _, _ in batch:
            if b not in folds:
                folds.add(b)
                new += 1
            active += int(starts[df.last_step(R, b.r1 - b.r0, b.c1 - b.c0, t)])
        if new and progress is not None:
            progress(new)
        compute += len(batch) * int(starts[L])
        i += len(batch)
        if trace:
            traces.append(tr)
    full = (np.concatenate(traces) if traces else no_trace) if trace else None
    return Run(signed(y, spec.acc_bits), counts, full, len(folds), compute, active)


def _batches(steps: Iterator[tuple[Fold, int, int]], batched: bool,
             discard: int) -> Iterator[list[tuple[Fold, int, int]]]:
    """The runs ``(fold, t0, t1)`` in order, grouped for one driver call each: with ``batched``,
    consecutive K-folds of one output tile (one group, column tile and chunk; each run's rows
    following the last's) while their moving block is at most :data:`MOVING_KEPT_BYTES` (int64),
    never across the end of the ``discard`` warm-up runs; otherwise one run each."""
    batch: list[tuple[Fold, int, int]] = []
    n = 0
    for f, t0, t1 in steps:
        if batch:
            first, (last, a, b) = batch[0][0], batch[-1]
            if not (batched and n != discard and (f.g, f.c0, f.c1, t0, t1) == (last.g, last.c0,
                    last.c1, a, b) and f.r0 == last.r1
                    and 8 * (f.r1 - first.r0) * (t1 - t0) <= MOVING_KEPT_BYTES):
                yield batch
                batch = []
        batch.append((f, t0, t1))
        n += 1
    if batch:
        yield batch


def _operand_source(df: Dataflow, ops: GemmOperands, rdim: int,
                    T: int) -> Callable[[Fold], tuple[np.ndarray, np.ndarray]]:
    """A fold's operand blocks (``Dataflow.fold_operands``), the ones that other folds read again
    gathered once: the stationary family streams a rows' moving block once per column tile,
    output-stationary a rows' x block once per column tile and a column tile's w block once per
    row tile. Up to :data:`MOVING_KEPT_BYTES` of the operand that depends on the rows alone
    (int64, all groups), each block is kept for the run; the last w block always (kernels only
    read them)."""
    if not df.preload:
        return _os_operands(df, ops, rdim)
    if 8 * ops.groups * rdim * T > MOVING_KEPT_BYTES:
        return lambda f: df.fold_operands(ops, f)
    moving: dict[tuple[int, int, int], np.ndarray] = {}

    def operands(f: Fold) -> tuple[np.ndarray, np.ndarray]:
        key = (f.g, f.r0, f.r1)
        if key not in moving:
            moving[key] = df.moving_block(ops, f)
        return moving[key], df.stationary_block(ops, f)

    return operands


def _os_operands(df: Dataflow, ops: GemmOperands,
                 rdim: int) -> Callable[[Fold], tuple[np.ndarray, np.ndarray]]:
    """:func:`_operand_source` of the output-stationary family: x rows kept (up to
    :data:`MOVING_KEPT_BYTES`), the last w columns kept."""
    keep_x = 8 * ops.groups * rdim * ops.K <= MOVING_KEPT_BYTES
    xs: dict[tuple[int, int, int], np.ndarray] = {}
    last: dict[tuple[int, int, int], np.ndarray] = {}

    def operands(f: Fold) -> tuple[np.ndarray, np.ndarray]:
        kx, kw = (f.g, f.r0, f.r1), (f.g, f.c0, f.c1)
        X = xs.get(kx)
        if X is None:
            X = df.x_rows(ops, f)
            if keep_x:
                xs[kx] = X
        if kw not in last:
            last.clear()
            last[kw] = df.w_columns(ops, f)
        return X, last[kw]

    return operands


def _fold_runner(kind: StepKind, df: Dataflow, spec: ArraySpec, regs: dict[str, np.ndarray],
                 state: np.ndarray, edge_s: np.ndarray, edge_c: np.ndarray,
                 trace: bool) -> Callable[..., None]:
    """``run(f, A, B, out, starts, bounds, counts, tr, parallel)``: one fold through its
    dataflow family's driver, or through the kind's faster driver for the family when it has one
    (untraced folds only); a stationary fold may be consecutive K-folds, their rows starting at
    ``bounds`` (int64, relative to ``f.r0``, then ``f.r1 − f.r0``; one fold: ``[0, r_act]``),
    for the kind's ``stationary_folds``. What is the same for every fold is looked up once."""
    k, aux, R, C, idle_zero = kind.consts, kind.aux, spec.rows, spec.cols, spec.idle_zero
    if df.preload:
        fast = None if trace else kind.stationary_untraced
        mov_is_x = df.moving_is_x
        mov, sta = (regs["x"], regs["w"]) if mov_is_x else (regs["w"], regs["x"])
        psum = regs["psum"]
        mov_bits, sta_bits = df.operand_bits(spec.x_bits, spec.w_bits)

        folds = None if fast is None else kind.stationary_folds

        def stationary(f: Fold, A: np.ndarray, B: np.ndarray, out: np.ndarray,
                       starts: np.ndarray, bounds: np.ndarray, counts: np.ndarray,
                       tr: np.ndarray, parallel: bool) -> None:
            if folds is not None:
                folds(k, aux, A, B, out, bounds, df.first_of_tile(f), R, C, mov_is_x, mov_bits,
                      sta_bits, idle_zero, starts, mov, sta, psum, state, edge_s, edge_c, counts,
                      tr)
                return
            driver = fast or (fold_stationary_parallel if parallel else fold_stationary)
            driver(k, aux, A, B, out, df.first_of_tile(f), R, C, mov_is_x, mov_bits, sta_bits,
                   idle_zero, starts, mov, sta, psum, state, edge_s, edge_c, counts, tr)

        return stationary
    fast_os = None if trace else kind.output_stationary_untraced

    def output_stationary(f: Fold, A: np.ndarray, B: np.ndarray, out: np.ndarray,
                          starts: np.ndarray, bounds: np.ndarray, counts: np.ndarray,
                          tr: np.ndarray, parallel: bool) -> None:
        if fast_os is not None:
            fast_os(k, A, B, out, R, C, idle_zero, regs["x"], regs["w"], regs["psum"], state,
                    counts, parallel)
            return
        driver = fold_output_stationary_parallel if parallel else fold_output_stationary
        driver(k, aux, A, B, out, R, C, spec.x_bits, spec.w_bits, idle_zero, starts, regs["x"],
               regs["w"], regs["psum"], state, counts, tr)

    return output_stationary
