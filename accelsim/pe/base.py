"""What a processing-element kind declares to the rest of the simulator (a lightweight
descriptor: importing it imports no numba; its kernels load when it first simulates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from accelsim.dataflows import REGISTRY as DATAFLOWS

#: Registers every PE kind has, first in its counters and trace columns: the dataflow drivers load
#: and idle them (``psum_reg`` is named ``acc_reg`` by output-stationary dataflows).
ARRAY_REGISTERS = ("x_reg", "w_reg", "psum_reg")


@dataclass(frozen=True)
class Parts:
    """Hardware whose leakage is priced: multiplier ``partial_products``, ``adder_bits`` and
    ``register_bits`` (counts)."""

    partial_products: int = 0
    adder_bits: int = 0
    register_bits: int = 0

    def __add__(self, other: Parts) -> Parts:
        return Parts(self.partial_products + other.partial_products,
                     self.adder_bits + other.adder_bits, self.register_bits + other.register_bits)

    def __mul__(self, n: int) -> Parts:
        return Parts(self.partial_products * n, self.adder_bits * n, self.register_bits * n)


@dataclass(frozen=True)
class Structure:
    """What an array of a PE kind is built of: ``pe`` per PE, ``column`` per array column (edge
    adders, per-column units), ``row`` per array row (per-row units), ``array`` once (shared
    units); ``acc_registers``: acc_bits registers per PE that load together with the psum/acc
    register (clocked bits)."""

    pe: Parts
    column: Parts = Parts()
    row: Parts = Parts()
    array: Parts = Parts()
    acc_registers: int = 1

    def parts(self, rows: int, cols: int) -> Parts:
        """Everything in a ``rows × cols`` array."""
        return self.pe * (rows * cols) + self.column * cols + self.row * rows + self.array


def counter_layout(classes: tuple[str, ...], extra: tuple[str, ...] = ()) -> dict[str, int]:
    """Index of every counter of a kind's kernels: its toggle classes in order, then
    ``overflows``, then its ``extra`` counters. The one place a kind's counter indices come from."""
    names = (*classes, "overflows", *extra)
    return {name: i for i, name in enumerate(names)}


@dataclass(frozen=True)
class PeKind:
    """A PE kind, registered in ``accelsim.pe.REGISTRY``.

    ``simulate(ops, spec, trace=False, progress=None, params=None, layer=None) -> GemmResult``
    runs a lowered GEMM (``params``: the parsed ``pe.<name>:`` block; ``layer``: the workload layer,
    for its ``quant`` block). ``toggle_classes``: the classes it reports, in counter and
    trace-column order (the first three are :data:`ARRAY_REGISTERS`); ``extra_counters``: its
    counters after ``overflows``. ``structure(pe, dataflow)`` declares its hardware for leakage
    and clocking (:class:`Structure`; default: no parts). Optional hooks: ``check(arch, layer,
    file)`` raises WorkloadError for a layer this kind cannot run; ``reference(lowered, layer)``
    gives the exact expected outputs (shaped like the layer's ``y``) when the workload has no
    ``y`` (default: the int64 GEMM); ``warmup()`` compiles the kind's kernels on tiny inputs;
    ``fold_starts(spec, params, ops)`` gives, for a kind whose steps last more than one cycle,
    the ``StepKind.starts`` function of its array (fold step start cycles; sampled mode counts
    every fold's cycles with it), None (default) for one cycle per step. ``schemes``: the
    workload quant schemes it runs; a layer of another scheme is refused. ``step_kind(spec)``: the ``mac`` kind's ``accelsim.kernels.run.StepKind``
    of an array, whose stationary streams run chunk by chunk (``accelsim.kernels.stream_units``):
    sampled mode then samples chunks of the ws/is streams (``accelsim.sim.sample_stream``); None
    (default, the other kinds): whole output tiles.
    """

    name: str
    dataflows: tuple[str, ...]
    params: type | None
    simulate: Callable | None = None
    check: Callable | None = None
    reference: Callable | None = None
    warmup: Callable | None = None
    toggle_classes: tuple[str, ...] = ARRAY_REGISTERS
    extra_counters: tuple[str, ...] = ()
    structure: Callable[[Any, Any], Structure] | None = None
    schemes: tuple[str, ...] = ("int",)
    fold_starts: Callable | None = None
    step_kind: Callable | None = None
    layout: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "layout", counter_layout(self.toggle_classes,
                                                          self.extra_counters))

    def classes(self, dataflow: str) -> tuple[str, ...]:
        """The toggle classes reported on ``dataflow`` (a name), in trace-column order."""
        return DATAFLOWS[dataflow].class_names(self.toggle_classes)
