"""Contract types between lowering, the dataflows, the PE kinds, the array simulation and the
report (the bottom layer: imports only NumPy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class ArraySpec:
    """Everything the array kernels need about the machine and the layer's number formats."""

    rows: int
    cols: int
    dataflow: str  # a name in accelsim.dataflows.REGISTRY
    idle_zero: bool  # idle: zero (True) or hold (False)
    x_bits: int  # PE operand widths (bits)
    w_bits: int
    acc_bits: int
    saturate: bool  # overflow: saturate (True) or wrap (False)
    x_signed: bool  # the layer's operand signedness
    w_signed: bool
    mapping: tuple | None = None  # (loop order, chunk) of accelsim.dataflows.mapping; None: fixed


class GemmOperands(Protocol):
    """A (grouped) GEMM ``Y[g] = X[g] @ W[g]`` whose operand blocks are fetched on demand."""

    groups: int
    M: int
    K: int
    N: int

    def x_block(self, g: int, m0: int, m1: int, k0: int, k1: int) -> np.ndarray:
        """int64 values ``X[g, m0:m1, k0:k1]``."""
        ...

    def w_block(self, g: int, k0: int, k1: int, n0: int, n1: int) -> np.ndarray:
        """int64 values ``W[g, k0:k1, n0:n1]``."""
        ...


@dataclass(frozen=True)
class DenseGemm:
    """GemmOperands over in-memory arrays ``x`` [G, M, K] and ``w`` [G, K, N]."""

    x: np.ndarray
    w: np.ndarray

    @property
    def groups(self) -> int:
        return self.x.shape[0]

    @property
    def M(self) -> int:
        return self.x.shape[1]

    @property
    def K(self) -> int:
        return self.x.shape[2]

    @property
    def N(self) -> int:
        return self.w.shape[2]

    def x_block(self, g: int, m0: int, m1: int, k0: int, k1: int) -> np.ndarray:
        return np.ascontiguousarray(self.x[g, m0:m1, k0:k1], dtype=np.int64)

    def w_block(self, g: int, k0: int, k1: int, n0: int, n1: int) -> np.ndarray:
        return np.ascontiguousarray(self.w[g, k0:k1, n0:n1], dtype=np.int64)


@dataclass(frozen=True)
class GemmResult:
    """What the array simulation of one layer produces.

    ``y`` int64 [G, M, N] output values; ``toggles`` per class (the PE kind's, named for the
    dataflow); ``overflows`` accumulator overflow events; ``folds``; ``cycles_compute``
    (SCALE-Sim convention per run: one fold window per fold under the fixed mapping; or the kind's
    stretched steps, cycles); ``cycles_active`` (last valid
    register load per fold, cycles); ``macs`` = G·M·K·N; ``trace`` int64 [cycles_compute,
    len(toggles)] per-cycle toggles, columns in the order of ``toggles``, or None; ``additions``
    adder operations (kinds that count them: pann, bitserial), else None; ``clock_bits_extra``
    register bit-loads beyond the mac schedule's (the accumulator's reloads in the extra cycles of
    stretched steps), for the clock energy.
    """

    y: np.ndarray
    toggles: dict[str, int]
    overflows: int
    folds: int
    cycles_compute: int
    cycles_active: int
    macs: int
    trace: np.ndarray | None = None
    additions: int | None = None
    clock_bits_extra: int = 0


@dataclass(frozen=True)
class LayerSim:
    """One simulated layer: GEMM shape, the array result, and the output check.

    ``y`` are the simulated outputs shaped like the workload's ``y`` (int64); ``reference`` is the
    workload's ``y`` or, when absent, an independent NumPy int64 computation (``reference_source``
    says which: ``"workload"`` | ``"numpy-int64"``); ``check`` is ``"exact"`` or ``"mismatch"``
    (both ``y`` and, when present, ``y_out`` against the reference). ``y_out``: the outputs as
    they leave the chip after the on-chip output unit (datapath.md §7), shaped like ``y``, or
    None when the layer's outputs leave raw. ``mapping``: the (loop order, chunk) the kernels
    ran (``ArraySpec.mapping``; None: fixed). ``sample``: what a sampled run
    (``accelsim.sim.sample.SampleInfo``) ran and estimated, None for an exact run.
    """

    name: str
    op: str
    groups: int
    M: int
    K: int
    N: int
    result: GemmResult
    y: np.ndarray
    reference: np.ndarray
    reference_source: str
    check: str
    mapping: tuple | None = None
    y_out: np.ndarray | None = None
    sample: Any = None
