"""Simulate one workload layer on an architecture: lower → array simulation → output check."""

from __future__ import annotations

from typing import Callable

import numpy as np

from accelsim.config import Arch
from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.errors import WorkloadError
from accelsim.pe import REGISTRY
from accelsim.sim import output
from accelsim.sim.array import simulate_gemm
from accelsim.sim.types import ArraySpec, LayerSim
from accelsim.workload import Layer, check_fits, lower


#: The quant schemes each PE kind runs, as its descriptor declares them (docs/decisions.md 26).
#: A scheme missing from a kind's list is refused before any simulation.
SCHEMES_BY_KIND = {name: kind.schemes for name, kind in REGISTRY.items()}


def check_layer(arch: Arch, layer: Layer, file: str) -> None:
    """Reject a layer the array cannot run: a quant scheme its PE kind does not implement
    (:data:`SCHEMES_BY_KIND`), operands wider than the PE (``check_fits``), the kind's own
    rules, or unsigned × unsigned products that do not fit the signed ``acc_bits`` accumulator
    (they need x_bits + w_bits + 1 bits; signed or mixed products need x_bits + w_bits)."""
    scheme, kind_name = layer.quant.get("scheme", "int"), arch.pe.kind
    if scheme not in SCHEMES_BY_KIND[kind_name]:
        runners = [k for k, schemes in SCHEMES_BY_KIND.items() if scheme in schemes]
        raise WorkloadError(
            file, f"layers[{layer.name!r}].quant.scheme",
            f"a scheme the architecture's pe.kind {kind_name} runs "
            f"({', '.join(SCHEMES_BY_KIND[kind_name])}); a {scheme} layer runs on pe.kind "
            f"{' or '.join(runners)}", scheme,
        )
    check_fits(layer, arch.pe.x_bits, arch.pe.w_bits, file)
    kind = REGISTRY[kind_name]
    if kind.check is not None:
        kind.check(arch, layer, file)
    need = layer.x_bits + layer.w_bits + (0 if layer.x_signed or layer.w_signed else 1)
    if need > arch.pe.acc_bits:
        raise WorkloadError(
            file, f"layers[{layer.name!r}]",
            f"products that fit the architecture's signed pe.acc_bits = {arch.pe.acc_bits}; "
            f"{'signed' if layer.x_signed else 'unsigned'} {layer.x_bits}-bit x times "
            f"{'signed' if layer.w_signed else 'unsigned'} {layer.w_bits}-bit w needs {need} bits",
        )


def array_spec(arch: Arch, layer: Layer, mapping: tuple | None = None) -> ArraySpec:
    """The kernels' view of ``arch`` for ``layer``'s operand signedness, running ``mapping``
    ((loop order, chunk); None: the fixed mapping)."""
    return ArraySpec(
        rows=arch.array.rows,
        cols=arch.array.cols,
        dataflow=arch.array.dataflow,
        idle_zero=arch.array.idle == "zero",
        x_bits=arch.pe.x_bits,
        w_bits=arch.pe.w_bits,
        acc_bits=arch.pe.acc_bits,
        saturate=arch.pe.overflow == "saturate",
        x_signed=layer.x_signed,
        w_signed=layer.w_signed,
        mapping=mapping,
    )


def count_folds(arch: Arch, layer: Layer) -> int:
    """Folds the layer takes on ``arch`` (for progress bars)."""
    low = lower(layer)
    df = DATAFLOWS[arch.array.dataflow]
    return df.count(low.groups, low.M, low.K, low.N, arch.array.rows, arch.array.cols)


def simulate_layer(
    arch: Arch,
    layer: Layer,
    trace: bool = False,
    progress: Callable[[int], None] | None = None,
    mapping: tuple | None = None,
) -> LayerSim:
    """Simulate ``layer`` under ``mapping`` ((loop order, chunk) of
    ``accelsim.dataflows.mapping``; None: fixed) and compare its outputs with the workload's
    ``y`` (else NumPy int64)."""
    low = lower(layer)
    kind = REGISTRY[arch.pe.kind]
    spec = array_spec(arch, layer, mapping)
    result = simulate_gemm(low, spec, trace=trace, progress=progress,
                           kind=kind.name, params=arch.pe.params, layer=layer)
    y = low.to_layer_shape(result.y)
    if layer.y is not None:
        reference, source = np.asarray(layer.y, dtype=np.int64), "workload"
    elif kind.reference is not None:
        reference, source = kind.reference(low, layer), "numpy-int64"
    else:
        reference, source = low.reference_y(), "numpy-int64"
    exact = np.array_equal(y, reference)
    y_out = None
    unit = output.unit_params(arch, layer)
    if unit is not None:  # the on-chip output path (datapath.md §7)
        result, y_gemm = output.apply_unit(spec, unit, result, low.K)
        y_out = low.to_layer_shape(y_gemm)
        exact = exact and np.array_equal(y_out, output.requantize_reference(reference, unit))
    elif output.extra_classes(arch):
        result = output.bypassed(result)
    return LayerSim(
        name=layer.name, op=layer.op, groups=low.groups, M=low.M, K=low.K, N=low.N,
        result=result, y=y, reference=reference, reference_source=source,
        check="exact" if exact else "mismatch", y_out=y_out, mapping=mapping,
    )
