"""Numba kernels (no simpy/yaml/dataclasses here). ``warmup()`` compiles them all once."""

from __future__ import annotations


def warmup() -> None:
    """Compile (or load from numba's cache) every kernel on tiny inputs of each signature."""
    import numpy as np

    from accelsim.pe.mac import simulate_mac_gemm
    from accelsim.sim.types import ArraySpec, DenseGemm

    x = np.ones((1, 2, 2), dtype=np.int64)
    for dataflow in ("os", "ws"):
        for bits in (2, 10):  # tabulated and direct multiplier paths
            spec = ArraySpec(2, 2, dataflow, False, bits, bits, 2 * bits, False, True, True)
            simulate_mac_gemm(DenseGemm(x, x), spec, trace=True)
