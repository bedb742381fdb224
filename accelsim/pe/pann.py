"""The ``pann`` PE: adder-only, a product x·w as |w| additions of x (SPEC §5.4, docs/pann.md).

``simulate_pann_gemm`` runs a layer's GEMM fold by fold through the numba kernels of
``accelsim.kernels.pann_array``, carrying register state across folds; each fold's steps are
stretched to their slowest enabled PE (lock-step timing, pann.md §4).
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

    adders: int = field(default=1, metadata={"min": 1})
    """Adders per PE, chained, all usable in one cycle (count, >= 1): a MAC with weight w takes
    ceil(|w| / adders) cycles. Default 1."""
    sign: str = field(default="dual_accumulator", metadata={"choices": SIGN_MODES})
    """How negative weights are handled: ``dual_accumulator`` (separate positive and negative
    accumulators, subtracted once at the output) or ``subtract`` (one accumulator; the adders
    subtract x for w < 0). Default ``dual_accumulator``."""


#: Toggle classes of a pann array, in counter and trace-column order (pann.md §5).
CLASSES = ("x_reg", "w_reg", "psum_reg", "adder")


def class_names(dataflow: str) -> tuple[str, ...]:
    """Toggle classes of a pann array on ``dataflow`` (a name), in trace-column order."""
    return DATAFLOWS[dataflow].class_names(CLASSES)


def _signed(patterns: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement values of ``bits``-wide patterns."""
    return np.where(patterns >= 1 << (bits - 1), patterns - (1 << bits), patterns)


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
    params = params if params is not None else PannParams()
    df = DATAFLOWS[spec.dataflow]
    R, C = spec.rows, spec.cols
    G, M, K, N = ops.groups, ops.M, ops.K, ops.N
    _, _, T = df.dims(M, K, N)
    L = df.fold_cycles(R, C, T)
    # Adders beyond the largest |w| never evaluate: clamping A keeps timing and toggles exact.
    A = chain_adders(int(params.adders), spec.w_bits, spec.w_signed)
    state = _State.new(R, C, A, not df.preload)
    starts = np.zeros(L + 1, dtype=np.int64)
    traces: list[np.ndarray] = []
    y = np.zeros((G, M, N), dtype=np.int64)
    compute = active = 0
    out = np.zeros((0, 0), dtype=np.int64)
    for f in df.folds(G, M, K, N, R, C):
        if not df.preload:
            out, tr = _fold_os(ops, spec, df, f, A, params, state, starts, trace)
        else:
            if df.first_of_tile(f):
                out = np.zeros(df.out_shape(f, T), dtype=np.int64)
            tr = _fold_stationary(ops, spec, df, f, A, params, state, starts, trace, out)
        if df.completes(f, K):
            df.scatter(y, f, _signed(out, spec.acc_bits))
        compute += int(starts[L])
        active += int(starts[df.last_step(R, f.r1 - f.r0, f.c1 - f.c0, T)])  # last enabled step
        if trace:
            traces.append(tr)
        if progress is not None:
            progress(1)
    names = class_names(spec.dataflow)
    counts = state.counts
    # Each weight serves M MACs; a MAC with ceil(|w|/A) > 1 addition cycles reloads its (active)
    # accumulator once per extra cycle, outside the mac schedule the energy model clocks.
    extra_loads = sum(
        M * int(np.maximum(-(-np.abs(ops.w_block(g, 0, K, 0, N)) // A), 1).sum() - K * N)
        for g in range(G)
    )
    return GemmResult(
        y=y,
        toggles={names[i]: int(counts[i]) for i in range(4)},
        overflows=int(counts[4]),
        folds=df.count(G, M, K, N, R, C),
        cycles_compute=compute,
        cycles_active=active,
        macs=G * M * K * N,
        trace=np.concatenate(traces) if trace else None,
        additions=int(counts[5]),
        clock_bits_extra=extra_loads * spec.acc_bits,
    )


@dataclass(frozen=True)
class _State:
    """Register and node state of the array, carried across the folds of a layer (int64)."""

    regs: dict[str, np.ndarray]  # x, w, p (psum/acc, P in dual mode), n (N in dual mode): [R, C]
    add_s: np.ndarray  # adder 0's previous sum nodes [R, C]
    add_c: np.ndarray  # ... and carry nodes
    chain_s: np.ndarray | None  # adders 1 … A-1: [R, C, A-1], None for one adder
    chain_c: np.ndarray | None
    sub_s: np.ndarray  # dual subtractors' previous sum nodes: [C] (ws/is) or [R, C] (os)
    sub_c: np.ndarray
    edge_s: np.ndarray  # edge accumulators' previous nodes [C] (ws/is)
    edge_c: np.ndarray
    counts: np.ndarray  # x_reg, w_reg, psum_reg|acc_reg, adder toggles; overflows; additions

    @classmethod
    def new(cls, R: int, C: int, A: int, os: bool) -> _State:
        def z(*shape: int) -> np.ndarray:
            return np.zeros(shape, dtype=np.int64)

        sub = (R, C) if os else (C,)
        chain_s, chain_c = (None, None) if A == 1 else (z(R, C, A - 1), z(R, C, A - 1))
        return cls({k: z(R, C) for k in "xwpn"}, z(R, C), z(R, C), chain_s, chain_c, z(*sub),
                   z(*sub), z(C), z(C), z(6))


def _trace_rows(starts: np.ndarray, trace: bool) -> np.ndarray:
    """The fold's trace buffer: [stretched cycles, 4], or [0, 4] when not tracing."""
    return np.zeros((int(starts[-1]) if trace else 0, 4), dtype=np.int64)


def _fold_os(ops: GemmOperands, spec: ArraySpec, df: Dataflow, f: Fold, A: int,
             params: PannParams, st: _State, starts: np.ndarray,
             trace: bool) -> tuple[np.ndarray, np.ndarray]:
    """One os fold: (output patterns [r_act, c_act], trace rows)."""
    from accelsim.kernels.pann_array import fold_output_stationary, fold_starts_os

    X, Wt = df.fold_operands(ops, f)
    fold_starts_os(Wt, f.r1 - f.r0, spec.rows, spec.cols, A, starts)
    tr = _trace_rows(starts, trace)
    out = np.zeros((f.r1 - f.r0, f.c1 - f.c0), dtype=np.int64)
    fold_output_stationary(
        X, Wt, out, spec.rows, spec.cols, spec.x_bits, spec.w_bits, spec.acc_bits, spec.saturate,
        spec.idle_zero, A, params.sign == "dual_accumulator", starts, st.regs["x"], st.regs["w"],
        st.regs["p"], st.regs["n"], st.add_s, st.add_c, st.chain_s, st.chain_c, st.sub_s, st.sub_c,
        st.counts, tr,
    )
    return out, tr


def _fold_stationary(ops: GemmOperands, spec: ArraySpec, df: Dataflow, f: Fold, A: int,
                     params: PannParams, st: _State, starts: np.ndarray, trace: bool,
                     out: np.ndarray) -> np.ndarray:
    """One ws/is fold into ``out`` [T, c_act] (written on the first K-fold, else accumulated);
    returns the trace rows."""
    from accelsim.kernels.pann_array import fold_starts_is, fold_starts_ws, fold_stationary

    Ht, S = df.fold_operands(ops, f)
    ws = df.moving_is_x
    if ws:  # the weights are stationary: step lengths from S
        fold_starts_ws(S, Ht.shape[1], spec.rows, spec.cols, A, starts)
    else:  # the weights stream: step lengths from Ht
        fold_starts_is(Ht, f.c1 - f.c0, spec.rows, spec.cols, A, starts)
    tr = _trace_rows(starts, trace)
    mov, sta = (st.regs["x"], st.regs["w"]) if ws else (st.regs["w"], st.regs["x"])
    mov_bits, sta_bits = df.operand_bits(spec.x_bits, spec.w_bits)
    fold_stationary(
        Ht, S, out, df.first_of_tile(f), spec.rows, spec.cols, ws, mov_bits, sta_bits, spec.x_bits,
        spec.acc_bits, spec.saturate, spec.idle_zero, A, params.sign == "dual_accumulator",
        starts, mov, sta, st.regs["p"], st.regs["n"], st.add_s, st.add_c, st.chain_s, st.chain_c,
        st.edge_s, st.edge_c, st.sub_s, st.sub_c, st.counts, tr,
    )
    return tr


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
    structure=structure,
)
