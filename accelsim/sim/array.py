"""Entry point of the array simulation: dispatch a GEMM to its PE kind's fold simulator."""

from __future__ import annotations

from typing import Callable

from accelsim.pe import REGISTRY
from accelsim.sim.types import ArraySpec, GemmOperands, GemmResult


def simulate_gemm(
    ops: GemmOperands,
    spec: ArraySpec,
    trace: bool = False,
    progress: Callable[[int], None] | None = None,
    kind: str = "mac",
    params: object | None = None,
    layer: object | None = None,
) -> GemmResult:
    """Simulate ``ops`` on the array described by ``spec`` with PE kind ``kind`` (see PeKind)."""
    return REGISTRY[kind].simulate(ops, spec, trace=trace, progress=progress, params=params,
                                   layer=layer)
