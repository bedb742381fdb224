"""Numba kernels (no simpy/yaml/dataclasses here). ``warmup()`` compiles them all once."""

from __future__ import annotations


def warmup() -> None:
    """Compile (or load from numba's cache) every registered PE kind's kernels on tiny inputs."""
    from accelsim.pe import REGISTRY

    for kind in REGISTRY.values():
        if kind.warmup is not None:
            kind.warmup()
