"""The ``mac`` PE: integer multiplier + ripple-carry adder/accumulator (SPEC §5.4).

``simulate_mac_gemm`` runs a layer's GEMM fold by fold through the numba kernels of
``accelsim.kernels.mac_array``, carrying register state across folds (datapath.md §4–§5).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.kernels.bits import mult_table, node_words
from accelsim.kernels.mac_array import (
    fold_output_stationary,
    fold_output_stationary_parallel,
    fold_stationary,
    fold_stationary_parallel,
)
from accelsim.pe.base import PeKind
from accelsim.sim.types import ArraySpec, DenseGemm, GemmOperands, GemmResult, class_names

#: Largest x_bits + w_bits for which the multiplier's node vectors are tabulated (2^18 rows).
TABLE_MAX_BITS = 18
#: Folds with at least this many MACs run their columns (ws/is) or rows (os) on all cores (numba
#: threads; NUMBA_NUM_THREADS=1 turns it off). Smaller folds run serially: a parallel region costs
#: a thread hand-off, which on a busy machine can outweigh a small fold's work.
PARALLEL_MIN_MACS = 1 << 17


@lru_cache(maxsize=8)
def multiplier(x_bits: int, w_bits: int, x_signed: bool, w_signed: bool, w_major: bool):
    """(params int64[9], node table) for the kernels' ``_mult_toggles`` (datapath.md §2).

    ``w_major`` orders the table by the w operand (use when w is the stationary one)."""
    x_is_a = x_bits <= w_bits
    n, m = (x_bits, w_bits) if x_is_a else (w_bits, x_bits)
    sa, sb = (x_signed, w_signed) if x_is_a else (w_signed, x_signed)
    use_table = x_bits + w_bits <= TABLE_MAX_BITS
    params = np.array([use_table, x_bits, w_bits, n, m, sa, sb, x_is_a, w_major], dtype=np.int64)
    if use_table:  # <= 225 nodes: padded to the kernels' fixed 4 words
        assert node_words(n, m) <= 4
        table = mult_table(x_bits, w_bits, x_signed, w_signed, 4, w_major)
    else:
        table = np.zeros(1, dtype=np.int64)  # 1-D: the kernels evaluate nodes row by row
    table.setflags(write=False)
    return params, table


def _signed(patterns: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement values of ``bits``-wide patterns."""
    return np.where(patterns >= 1 << (bits - 1), patterns - (1 << bits), patterns)


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

    ``params`` and ``layer`` are unused (the mac PE has no ``pe.mac`` block and needs no quant data).
    Untraced folds of at least ``parallel_min_macs`` MACs use the multi-core kernels.
    """
    df = DATAFLOWS[spec.dataflow]
    R, C = spec.rows, spec.cols
    G, M, K, N = ops.groups, ops.M, ops.K, ops.N
    _, _, T = df.dims(M, K, N)
    L = df.fold_cycles(R, C, T)
    n_folds = df.count(G, M, K, N, R, C)
    mult, table = multiplier(spec.x_bits, spec.w_bits, spec.x_signed, spec.w_signed,
                             spec.dataflow == "ws")
    regs = {name: np.zeros((R, C), dtype=np.int64) for name in ("x", "w", "psum", "px", "pw", "s", "c")}
    edge_s = np.zeros(C, dtype=np.int64)
    edge_c = np.zeros(C, dtype=np.int64)
    counts = np.zeros(6, dtype=np.int64)
    trace_all = np.zeros((n_folds * L if trace else 0, 5), dtype=np.int64)
    y = np.zeros((G, M, N), dtype=np.int64)
    active = 0
    out = None
    for i, f in enumerate(df.folds(G, M, K, N, R, C)):
        tr = trace_all[i * L : (i + 1) * L]
        r_act, c_act = f.r1 - f.r0, f.c1 - f.c0
        # Without a trace, large folds run on all cores: the same integers (per-column counters).
        parallel = not trace and r_act * c_act * T >= parallel_min_macs
        os_kernel = fold_output_stationary_parallel if parallel else fold_output_stationary
        stationary_kernel = fold_stationary_parallel if parallel else fold_stationary
        if spec.dataflow == "os":
            out = np.zeros((r_act, c_act), dtype=np.int64)
            os_kernel(
                ops.x_block(f.g, f.r0, f.r1, 0, K),
                np.ascontiguousarray(ops.w_block(f.g, 0, K, f.c0, f.c1).T),
                out, R, C, spec.x_bits, spec.w_bits, spec.acc_bits, spec.saturate,
                spec.idle_zero, mult, table, regs["x"], regs["w"], regs["psum"], regs["px"],
                regs["pw"], regs["s"], regs["c"], counts, tr,
            )
            y[f.g, f.r0 : f.r1, f.c0 : f.c1] = _signed(out, spec.acc_bits)
            active += r_act + c_act + T - 2
        else:
            ws = spec.dataflow == "ws"
            if ws:  # rows <-> K, cols <-> N, time <-> M
                Ht = ops.x_block(f.g, 0, M, f.r0, f.r1).T
                S = ops.w_block(f.g, f.r0, f.r1, f.c0, f.c1)
            else:  # is: rows <-> K, cols <-> M, time <-> N
                Ht = ops.w_block(f.g, f.r0, f.r1, 0, N)
                S = ops.x_block(f.g, f.c0, f.c1, f.r0, f.r1).T
            first = f.r0 == 0
            if first:
                out = np.zeros((T, c_act), dtype=np.int64)
            mov, sta = (regs["x"], regs["w"]) if ws else (regs["w"], regs["x"])
            mov_bits, sta_bits = (spec.x_bits, spec.w_bits) if ws else (spec.w_bits, spec.x_bits)
            stationary_kernel(
                np.ascontiguousarray(Ht), np.ascontiguousarray(S), out, first, R, C, ws,
                mov_bits, sta_bits, spec.acc_bits, spec.saturate, spec.idle_zero, mult, table,
                mov, sta, regs["psum"], regs["px"], regs["pw"], regs["s"], regs["c"],
                edge_s, edge_c, counts, tr,
            )
            if f.r1 == K:  # last K-fold of this output tile
                vals = _signed(out, spec.acc_bits)
                if ws:
                    y[f.g, :, f.c0 : f.c1] = vals
                else:
                    y[f.g, f.c0 : f.c1, :] = vals.T
            active += R + T + r_act + c_act - 2
        if progress is not None:
            progress(1)
    names = class_names(spec.dataflow)
    return GemmResult(
        y=y,
        toggles={names[i]: int(counts[i]) for i in range(5)},
        overflows=int(counts[5]),
        folds=n_folds,
        cycles_compute=n_folds * L,
        cycles_active=active,
        macs=G * M * K * N,
        trace=trace_all if trace else None,
    )


def warmup() -> None:
    """Compile (or load from numba's cache) the mac kernels: os and ws/is fold kernels with the
    tabulated and the row-by-row multiplier, traced (one signature each)."""
    x = np.ones((1, 2, 2), dtype=np.int64)
    for dataflow in ("os", "ws"):
        for bits in (2, 10):  # tabulated and direct multiplier paths
            spec = ArraySpec(2, 2, dataflow, False, bits, bits, 2 * bits, False, True, True)
            for trace in (False, True):  # parallel and serial kernels
                simulate_mac_gemm(DenseGemm(x, x), spec, trace=trace, parallel_min_macs=0)


MAC = PeKind(name="mac", dataflows=("os", "ws", "is"), params=None, simulate=simulate_mac_gemm,
             warmup=warmup, classes=class_names)
