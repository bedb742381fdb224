"""Numba kernels (no simpy/yaml/dataclasses here). ``warmup()`` compiles them all once."""

from __future__ import annotations

from collections.abc import Iterable


def warmup(kinds: Iterable[str] | None = None) -> None:
    """Compile (or load from numba's cache) the kernels of the PE ``kinds`` named (default: every
    registered kind) on tiny inputs."""
    from accelsim.pe import REGISTRY

    for name in REGISTRY if kinds is None else kinds:
        if REGISTRY[name].warmup is not None:
            REGISTRY[name].warmup()
