"""PE kinds. Adding a kind = one module here (a descriptor that imports no numba, plus its step)
+ one line in REGISTRY."""

from __future__ import annotations

from collections.abc import Iterable

from accelsim.pe.base import PeKind
from accelsim.pe.bitserial import BITSERIAL
from accelsim.pe.lsqplus import LSQPLUS
from accelsim.pe.mac import MAC
from accelsim.pe.pann import PANN

REGISTRY: dict[str, PeKind] = {
    kind.name: kind for kind in (MAC, PANN, LSQPLUS, BITSERIAL)
}


def warmup(kinds: Iterable[str] | None = None) -> None:
    """Compile (or load from numba's cache) the kernels of the PE ``kinds`` named (default: every
    registered kind) on tiny inputs."""
    for name in REGISTRY if kinds is None else kinds:
        if REGISTRY[name].warmup is not None:
            REGISTRY[name].warmup()
