"""What a processing-element kind declares to the rest of the simulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class PeKind:
    """A PE kind: its name, the dataflows it supports, the dataclass of its ``pe.<name>:`` block
    (None if it has none) and the fold simulator per dataflow (``simulate_gemm``-compatible)."""

    name: str
    dataflows: tuple[str, ...]
    params: type | None
    simulate: Callable | None = None
