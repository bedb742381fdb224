"""Numba kernels (no simpy/yaml/dataclasses here): the dataflow drivers, the PE-step protocol,
the fold loop, bit-level helpers and unit kernels. ``warmup`` (beside the PE registry) compiles
the kernels of the PE kinds in use."""

from __future__ import annotations

from accelsim.pe import warmup

__all__ = ["warmup"]
