"""The ``lsqplus`` PE: zero points, row-sum correction and fixed-point rescale (docs/datapath.md,
docs/lsqplus.md).

``simulate_lsqplus_gemm`` runs the array part through the mac kernels (``simulate_mac_gemm``,
unchanged: on the raw codes for placement ``output``, on the zero-point-offset operands with
one-bit-wider signed PE operands for placement ``pe``), then the lsqplus units of
``accelsim.kernels.lsqplus_units`` fold by fold: the raw-code registers and per-PE subtractors
(``pe``), the row-sum unit (``output``) and the per-column rescale unit (both).

:func:`reference` is the exact requantized output, TFLite's ``MultiplyByQuantizedMultiplier``
from ``accelsim.fixedpoint`` with the rescale unit's wrapping left shift, used when a workload
has no ``y``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.dataflows import Dataflow
from accelsim.errors import WorkloadError
from accelsim.fixedpoint import multiply_by_quantized_multiplier, wrap32
from accelsim.pe.base import Parts, PeKind, Structure
from accelsim.pe.mac import CLASSES as MAC_CLASSES
from accelsim.pe.mac import simulate_mac_gemm
from accelsim.pe.mac import structure as mac_structure
from accelsim.types import ArraySpec, DenseGemm, GemmOperands, GemmResult

#: Placements of the zero-point handling, ``pe.lsqplus.rescale``.
PLACEMENTS = ("output", "pe")


@dataclass(frozen=True, kw_only=True)
class LsqplusParams:
    """``pe.lsqplus:`` — where the zero points are handled (docs/lsqplus.md §2)."""

    rescale: str = field(default="output", metadata={"choices": PLACEMENTS})
    """Placement of the zero-point handling: ``output`` (plain integer MAC array, constant
    corrections folded into the bias, a row-sum unit for the z_w·Σx term, a rescale unit per
    column) or ``pe`` (each PE subtracts the zero points before a one-bit-wider signed multiply;
    same rescale unit). Both give identical outputs. Default ``output``."""


#: Toggle classes of an lsqplus array, in counter and trace-column order (lsqplus.md §6).
CLASSES = (*MAC_CLASSES, "rescale", "rowsum")


def toggle_classes(dataflow: str) -> tuple[str, ...]:
    """Toggle classes of an lsqplus array on ``dataflow`` (a name), in trace-column order."""
    return DATAFLOWS[dataflow].class_names(CLASSES)


# --------------------------------------------------------------------------------- quant data


@dataclass(frozen=True)
class Quant:
    """An lsqplus layer's quantization data per output channel ``o = g·N + n`` (int64 [G, N]).

    ``requant`` is False for ``int`` layers (zero points 0, no rescale: raw sums).
    """

    requant: bool
    zx: int
    zw: np.ndarray
    bias: np.ndarray
    mult: np.ndarray
    shift: np.ndarray
    zy: int
    lo: int
    hi: int
    y_bits: int

    @classmethod
    def of(cls, quant: dict[str, Any] | None, groups: int, N: int) -> Quant:
        """From a layer's ``quant`` block (docs/reference/workload.md) for a GEMM of
        ``groups`` × ``N`` columns."""
        q = quant or {"scheme": "int"}
        zeros = np.zeros((groups, N), dtype=np.int64)
        if q.get("scheme", "int") != "lsqplus":
            return cls(False, 0, zeros, zeros, zeros, zeros, 0, 0, 0, 32)

        def per_channel(v: Any) -> np.ndarray:  # a writable contiguous copy
            return np.array(np.broadcast_to(np.asarray(v, dtype=np.int64), (groups * N,))
                            ).reshape(groups, N)

        from accelsim.workload.npz import value_range  # not at import: arch loading stays light

        lo, hi = value_range(q["y_bits"], q["y_signed"])
        return cls(True, int(q["x_zero_point"]), per_channel(q["w_zero_point"]),
                   per_channel(q["bias"]), per_channel(q["multiplier"]), per_channel(q["shift"]),
                   int(q["y_zero_point"]), lo, hi, int(q["y_bits"]))

    @property
    def rowsum_enabled(self) -> bool:
        """The row-sum unit runs only for layers with some nonzero weight zero point."""
        return self.requant and bool(np.any(self.zw != 0))


@dataclass(frozen=True)
class _OffsetOps:
    """``GemmOperands`` of the offset operands ``X − z_x`` and ``W − z_w`` (placement pe)."""

    ops: GemmOperands
    zx: int
    zw: np.ndarray  # [G, N]

    @property
    def groups(self) -> int:
        return self.ops.groups

    @property
    def M(self) -> int:
        return self.ops.M

    @property
    def K(self) -> int:
        return self.ops.K

    @property
    def N(self) -> int:
        return self.ops.N

    def x_block(self, g: int, m0: int, m1: int, k0: int, k1: int) -> np.ndarray:
        return self.ops.x_block(g, m0, m1, k0, k1) - self.zx

    def w_block(self, g: int, k0: int, k1: int, n0: int, n1: int) -> np.ndarray:
        return self.ops.w_block(g, k0, k1, n0, n1) - self.zw[g, n0:n1][None, :]


# ---------------------------------------------------------------------------------- simulate


def simulate_lsqplus_gemm(
    ops: GemmOperands,
    spec: ArraySpec,
    trace: bool = False,
    progress: Callable[[int], None] | None = None,
    params: LsqplusParams | None = None,
    layer: object | None = None,
) -> GemmResult:
    """Simulate a (grouped) GEMM on an lsqplus array (docs/lsqplus.md).

    Parameters
    ----------
    ops : GemmOperands
        X [G, M, K] and W [G, K, N] raw integer codes fitting the spec's widths.
    spec : ArraySpec
        Array, dataflow, PE widths (bits), idle and overflow modes, the layer's signedness.
    trace : bool
        Also return the per-cycle toggles, int64 [cycles_compute, 7] (lsqplus.md §6).
    progress : callable, optional
        Called with 1 after every fold of the array.
    params : LsqplusParams, optional
        The ``pe.lsqplus`` block (default placement ``output``).
    layer : object, optional
        Anything with the layer's ``quant`` dict (docs/reference/workload.md); absent or ``int``:
        raw sums.

    Returns
    -------
    GemmResult
        ``y`` int64 [G, M, N]: requantized outputs (lsqplus) or accumulator sums (int);
        ``toggles`` in the order of :func:`toggle_classes`.
    """
    params = params if params is not None else LsqplusParams()
    q = Quant.of(getattr(layer, "quant", None), ops.groups, ops.N)
    pe_side = params.rescale == "pe"
    if pe_side:
        wide = replace(spec, x_bits=spec.x_bits + 1, w_bits=spec.w_bits + 1, x_signed=True,
                       w_signed=True)
        base = simulate_mac_gemm(_OffsetOps(ops, q.zx, q.zw), wide, trace=trace,
                                 progress=progress)
    else:
        base = simulate_mac_gemm(ops, spec, trace=trace, progress=progress)
    names = toggle_classes(spec.dataflow)
    counts = np.zeros(8, dtype=np.int64)
    counts[:5] = [base.toggles[n] for n in names[:5]]
    counts[7] = base.overflows
    trace7 = np.zeros((base.cycles_compute if trace else 0, 7), dtype=np.int64)
    if trace:
        trace7[:, :5] = base.trace
    sx = None
    if pe_side:
        counts[0:2] = 0
        if trace:
            trace7[:, 0:2] = 0
        _operand_pass(ops, spec, q, counts, trace7)
    elif q.rowsum_enabled:
        sx = _rowsum_pass(ops, spec, counts, trace7)
    y = base.y
    if q.requant:
        y = _rescale_pass(ops, spec, q, base.y, sx, pe_side, counts, trace7)
    return GemmResult(
        y=y,
        toggles={names[i]: int(counts[i]) for i in range(7)},
        overflows=int(counts[7]),
        folds=base.folds,
        cycles_compute=base.cycles_compute,
        cycles_active=base.cycles_active,
        macs=base.macs,
        trace=trace7 if trace else None,
    )


def _folds(ops: GemmOperands, spec: ArraySpec):
    """(fold index, dataflow, fold, fold window L, T) in execution order."""
    df = DATAFLOWS[spec.dataflow]
    _, _, T = df.dims(ops.M, ops.K, ops.N)
    L = df.fold_cycles(spec.rows, spec.cols, T)
    for i, f in enumerate(df.folds(ops.groups, ops.M, ops.K, ops.N, spec.rows, spec.cols)):
        yield i, df, f, L, T


def _operand_pass(ops: GemmOperands, spec: ArraySpec, q: Quant, counts: np.ndarray,
                  trace7: np.ndarray) -> None:
    """Placement pe: raw-code operand registers and zero-point subtractors (lsqplus.md §4)."""
    from accelsim.kernels.lsqplus_units import operands_os, operands_stationary

    R, C = spec.rows, spec.cols
    st = [np.zeros((R, C), dtype=np.int64) for _ in range(6)]  # x_reg, w_reg, 4 subtractor inputs
    x_reg, w_reg = st[0], st[1]
    tracing = trace7.shape[0] > 0
    for i, df, f, L, T in _folds(ops, spec):
        tr = trace7[i * L : (i + 1) * L] if tracing else trace7
        A, B = df.fold_operands(ops, f)
        if not df.preload:
            operands_os(
                A, B, q.zx, np.ascontiguousarray(q.zw[f.g, f.c0 : f.c1]), R, C, spec.x_bits,
                spec.w_bits, spec.idle_zero, x_reg, w_reg, st[2], st[3], st[4], st[5], counts, tr,
            )
            continue
        if df.moving_is_x:  # x streams (one z_x), w is held (its column's z_w)
            zH = np.full(T, q.zx, dtype=np.int64)
            zS = np.ascontiguousarray(q.zw[f.g, f.c0 : f.c1])
            mov, sta = x_reg, w_reg
        else:  # w streams (z_w per stream step), x is held
            zH = np.ascontiguousarray(q.zw[f.g])
            zS = np.full(f.c1 - f.c0, q.zx, dtype=np.int64)
            mov, sta = w_reg, x_reg
        mb, sb = df.operand_bits(spec.x_bits, spec.w_bits)
        operands_stationary(
            A, B, zH, zS, R, C, df.moving_is_x, mb, sb, spec.idle_zero, mov, sta, st[2], st[3],
            st[4], st[5], counts, tr,
        )


def _rowsum_pass(ops: GemmOperands, spec: ArraySpec, counts: np.ndarray,
                 trace7: np.ndarray) -> list[dict[int, np.ndarray]]:
    """Placement output: the row-sum unit (lsqplus.md §3.3).

    Returns, per fold index that completes outputs, the Sx values (int64) its rescale
    evaluations use: ``{fold index: Sx}`` with Sx [T] (ws), [r_act] (os) or [c_act] (is).
    """
    from accelsim.kernels.lsqplus_units import rowsum_is, rowsum_os, rowsum_ws

    R, C, K, acc = spec.rows, spec.cols, ops.K, spec.acc_bits
    n = max(R, C)
    rs_reg, rs_s, rs_c = (np.zeros(n, dtype=np.int64) for _ in range(3))
    edge = np.zeros(2, dtype=np.int64)
    buf = np.zeros(0, dtype=np.int64)
    tracing = trace7.shape[0] > 0
    out: dict[int, np.ndarray] = {}
    for i, df, f, L, T in _folds(ops, spec):
        tr = trace7[i * L : (i + 1) * L] if tracing else trace7
        A, B = df.fold_operands(ops, f)
        first = df.first_of_tile(f)
        if not df.preload:  # a cell per row accumulates the row's x stream
            rowsum_os(A, acc, spec.saturate, rs_reg, rs_s, rs_c, counts, tr)
            out[i] = _signed(rs_reg[: f.r1 - f.r0], acc)
        elif df.moving_is_x:  # a row-sum column beside the array, x streaming in: A is Ht
            if first:
                buf = np.zeros(T, dtype=np.int64)
            rowsum_ws(A, first, R, C, acc, spec.saturate, spec.idle_zero, rs_reg, rs_s, rs_c,
                      edge, buf, counts, tr)
            if df.completes(f, K):
                out[i] = _signed(buf, acc)
        else:  # a cell per column taps the preload of x: B is S
            rowsum_is(B, first, R, acc, spec.saturate, rs_reg, rs_s, rs_c, counts, tr)
            if df.completes(f, K):
                out[i] = _signed(rs_reg[: f.c1 - f.c0], acc)
    return out


def _signed(patterns: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement values of ``bits``-wide patterns (a copy)."""
    p = np.array(patterns, dtype=np.int64)
    return np.where(p >= 1 << (bits - 1), p - (1 << bits), p)


def _rescale_pass(ops: GemmOperands, spec: ArraySpec, q: Quant, acc: np.ndarray,
                  sx: dict[int, np.ndarray] | None, pe_side: bool, counts: np.ndarray,
                  trace7: np.ndarray) -> np.ndarray:
    """The per-column rescale unit (+ row-sum correction): requantized outputs [G, M, N]."""
    from accelsim.kernels.bits import node_words
    from accelsim.kernels.lsqplus_units import (
        HIGHMUL_WORDS,
        RESCALE_WORDS,
        rescale_evals,
        rescale_init,
    )

    R, C, K = spec.rows, spec.cols, ops.K
    bias = q.bias if pe_side else _folded_bias(ops, q)
    parts: list[tuple[np.ndarray, ...]] = []
    for i, df, f, L, T in _folds(ops, spec):
        r_act, c_act = f.r1 - f.r0, f.c1 - f.c0
        if not df.preload:  # cycle r + c + K - 1; m = m0 + r, n = n0 + c
            r, c = (a.ravel() for a in np.meshgrid(np.arange(r_act), np.arange(c_act),
                                                   indexing="ij"))
            cyc = r + c + K - 1
            m, n = df.output_index(f, r, c)
            s = sx[i][r] if sx is not None else None
        else:
            if not df.completes(f, K):
                continue
            c, t = (a.ravel() for a in np.meshgrid(np.arange(c_act), np.arange(T),
                                                   indexing="ij"))
            cyc = R + t + r_act - 1 + c
            m, n = df.output_index(f, t, c)
            # Sx per output row m: ws by stream step t, is by column c
            s = (sx[i][t] if df.moving_is_x else sx[i][c]) if sx is not None else None
        g = np.full(m.shape, f.g)
        parts.append((g, m, n, c, i * L + cyc, s if s is not None else np.zeros(m.shape, np.int64)))
    g, m, n, col, cyc, s = (np.concatenate([p[j] for p in parts]).astype(np.int64)
                            for j in range(6))
    zw_bits = spec.w_bits
    cw = node_words(zw_bits, spec.acc_bits) + 2
    st_words = np.zeros((C, RESCALE_WORDS), dtype=np.int64)
    st_mwords = np.zeros((C, HIGHMUL_WORDS), dtype=np.int64)
    st_cwords = np.zeros((C, cw), dtype=np.int64)
    rescale_init(zw_bits, spec.acc_bits, spec.w_signed, q.y_bits, st_words, st_mwords, st_cwords)
    y_out = np.zeros(len(g), dtype=np.int64)
    rescale_evals(
        cyc, col, acc[g, m, n], bias[g, n], q.mult[g, n], q.shift[g, n], q.zw[g, n], s,
        sx is not None, spec.acc_bits, zw_bits, spec.w_signed, q.zy, q.lo, q.hi, q.y_bits,
        st_words, st_mwords, st_cwords, y_out, counts, trace7,
    )
    y = np.zeros_like(acc)
    y[g, m, n] = y_out
    return y


def _folded_bias(ops: GemmOperands, q: Quant) -> np.ndarray:
    """Placement output: ``b' = wrap32(bias − z_x·Σ_k w + K·z_x·z_w)`` per channel [G, N]
    (lsqplus.md §3.2), computed by the host from the weights."""
    sw = np.stack([ops.w_block(g, 0, ops.K, 0, ops.N).sum(axis=0) for g in range(ops.groups)])
    return wrap32(q.bias - q.zx * sw + ops.K * q.zx * q.zw)


def warmup() -> None:
    """Compile (or load from numba's cache) the lsqplus kernels: every dataflow and placement on
    a tiny GEMM, tabulated and direct multipliers, with and without a trace."""
    x = np.ones((1, 2, 2), dtype=np.int64)
    quant = {"scheme": "lsqplus", "x_zero_point": 1, "w_zero_point": np.array([1, 0]),
             "bias": np.array([3, -3]), "multiplier": np.array([1 << 30, 1 << 30]),
             "shift": np.array([-1, 1]), "y_zero_point": 0, "y_bits": 8, "y_signed": True}
    layer = _Quantized(quant)
    for dataflow in LSQPLUS.dataflows:
        for bits in (2, 10):
            spec = ArraySpec(2, 2, dataflow, False, bits, bits, 2 * bits + 2, False, True, True)
            for placement in PLACEMENTS:
                for trace in (False, True):
                    simulate_lsqplus_gemm(DenseGemm(x, x), spec, trace=trace, layer=layer,
                                          params=LsqplusParams(rescale=placement))


@dataclass(frozen=True)
class _Quantized:
    """The part of a workload layer ``simulate_lsqplus_gemm`` reads."""

    quant: dict


# --------------------------------------------------------------------------------- reference


def requantize(acc: np.ndarray, quant: dict[str, Any], channel_axis: int) -> np.ndarray:
    """``clamp(z_y + MBQM(wrap32(acc + bias), multiplier, shift))`` of exact sums ``acc`` whose
    output channels lie along ``channel_axis`` (lsqplus.md §1)."""
    acc = np.asarray(acc, dtype=np.int64)
    shape = [1] * acc.ndim
    shape[channel_axis] = -1

    def channel(key: str) -> np.ndarray:
        return np.asarray(quant[key], dtype=np.int64).reshape(shape)

    from accelsim.workload.npz import value_range

    v = multiply_by_quantized_multiplier(wrap32(acc + channel("bias")), channel("multiplier"),
                                         channel("shift"), overflow="wrap")
    return np.clip(quant["y_zero_point"] + v, *value_range(quant["y_bits"], quant["y_signed"]))


def reference(lowered: Any, layer: Any) -> np.ndarray:
    """The exact expected output of a layer on an lsqplus PE, shaped like the layer's ``y``.

    ``int`` layers: the raw sum (``lowered.reference_y()``). ``lsqplus``: the offset sums
    ``Σ(x − z_x)(w − z_w)`` computed exactly (conv2d without im2col, padding contributing 0),
    then :func:`requantize`.
    """
    q = layer.quant
    if q.get("scheme", "int") != "lsqplus":
        return lowered.reference_y()
    from accelsim.workload.lower import lower

    w = np.asarray(layer.w, dtype=np.int64)
    zw = np.asarray(q["w_zero_point"], dtype=np.int64)
    channels = w.shape[1] if layer.op == "gemm" else w.shape[0]
    zw = np.broadcast_to(zw, (channels,))
    w_off = w - (zw[None, :] if layer.op == "gemm" else zw.reshape((-1,) + (1,) * (w.ndim - 1)))
    x_off = np.asarray(layer.x, dtype=np.int64) - int(q["x_zero_point"])
    offset = replace(layer, x=x_off, w=w_off, y=None, quant={"scheme": "int"})
    return requantize(lower(offset).reference_y(), q, channel_axis=1)


# ------------------------------------------------------------------------------------- check


def check_lsqplus_layer(arch: Any, layer: Any, file: str) -> None:
    """Reject a layer an lsqplus PE cannot run: ``pann`` layers, and, in placement ``pe``,
    lsqplus layers whose offset products ``(x − z_x)(w − z_w)`` (x_bits + w_bits + 1 signed
    bits) do not fit ``pe.acc_bits``."""
    scheme = layer.quant.get("scheme", "int")
    where = f"layers[{layer.name!r}]"
    if scheme not in ("int", "lsqplus"):
        raise WorkloadError(
            file, f"{where}.quant.scheme",
            "int or lsqplus: an lsqplus PE multiplies; a pann layer's weights are repetition "
            "counts for pe.kind pann", scheme,
        )
    params = getattr(arch.pe, "params", None) or LsqplusParams()
    need = layer.x_bits + layer.w_bits + 1
    if scheme == "lsqplus" and params.rescale == "pe" and arch.pe.acc_bits < need:
        raise WorkloadError(
            file, where,
            f"offset products that fit pe.acc_bits = {arch.pe.acc_bits} (pe.lsqplus.rescale: pe "
            f"multiplies (x - z_x)(w - z_w), {need} signed bits for {layer.x_bits}-bit x and "
            f"{layer.w_bits}-bit w)", f"acc_bits {arch.pe.acc_bits}",
        )


def structure(pe: Any, dataflow: Dataflow) -> Structure:
    """The mac array (placement ``pe``: two zero-point subtractors per PE and an
    (x_bits+1)×(w_bits+1) multiplier) plus, per column, the rescale unit (lsqplus.md §5.1: a 32×32
    multiplier, the 32/34/33/33-bit adders R1, R4, R6, R8, bias and multiplier registers) and, in
    placement ``output``, the row-sum unit (§3.3: an acc_bits cell per row (ws, os) or column
    (is), the edge adder of the x-streaming
    stationary dataflow, and per column the correction multiplier (w_bits × acc_bits) and
    32-bit subtractor)."""
    params = pe.params if getattr(pe, "params", None) is not None else LsqplusParams()
    base = mac_structure(pe, dataflow)
    rescale = Parts(32 * 32, 32 + 34 + 33 + 33, 2 * 32)
    column, row, array, per_pe = base.column + rescale, Parts(), Parts(), base.pe
    if params.rescale == "pe":
        wide = (pe.x_bits + 1) * (pe.w_bits + 1)
        per_pe = Parts(wide, base.pe.adder_bits + pe.x_bits + pe.w_bits + 2,
                       base.pe.register_bits)
    else:
        cell = Parts(adder_bits=pe.acc_bits, register_bits=pe.acc_bits)
        correction = Parts(pe.w_bits * pe.acc_bits, 32)
        column = column + correction
        if dataflow.preload and not dataflow.moving_is_x:
            column = column + cell  # a cell per column taps the preload of x
        else:
            row = cell  # a cell per row beside the array
        if dataflow.preload and dataflow.moving_is_x:
            array = Parts(adder_bits=pe.acc_bits)  # the row-sum edge adder
    return Structure(per_pe, column=column, row=row, array=array,
                     acc_registers=base.acc_registers)


LSQPLUS = PeKind(
    name="lsqplus", dataflows=("os", "ws", "is"), params=LsqplusParams,
    simulate=simulate_lsqplus_gemm, check=check_lsqplus_layer, reference=reference, warmup=warmup,
    toggle_classes=CLASSES, structure=structure, schemes=("int", "lsqplus"),
)
