"""What a processing-element kind declares to the rest of the simulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class PeKind:
    """A PE kind, registered in ``accelsim.pe.REGISTRY``.

    ``simulate(ops, spec, trace=False, progress=None, params=None, layer=None) -> GemmResult``
    runs a lowered GEMM (``params``: the parsed ``pe.<name>:`` block; ``layer``: the workload layer,
    for its ``quant`` block). Optional hooks: ``check(arch, layer, file)`` raises WorkloadError for
    a layer this kind cannot run; ``reference(lowered, layer)`` gives the exact expected outputs
    (shaped like the layer's ``y``) when the workload has no ``y`` (default: the int64 GEMM);
    ``warmup()`` compiles the kind's kernels on tiny inputs (``accelsim.kernels.warmup`` calls it);
    ``classes(dataflow)`` names the toggle classes the kind reports, in trace-column order.
    """

    name: str
    dataflows: tuple[str, ...]
    params: type | None
    simulate: Callable | None = None
    check: Callable | None = None
    reference: Callable | None = None
    warmup: Callable | None = None
    classes: Callable[[str], tuple[str, ...]] | None = None
