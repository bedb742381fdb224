"""Dataflows: how a GEMM maps onto the array and is cut into folds (docs/datapath.md §5).

A dataflow is an object (:class:`Dataflow`, one module per dataflow): the fold iteration, the
operand blocks of a fold, the output scatter, register roles and names, the clock-enable window and
the memory tile policy. ``REGISTRY`` maps ``array.dataflow`` names to them; adding a dataflow = one
module here + one line in ``REGISTRY``.
"""

from __future__ import annotations

from accelsim.dataflows.base import Dataflow, Fold
from accelsim.dataflows.input_stationary import IS
from accelsim.dataflows.output_stationary import OS
from accelsim.dataflows.weight_stationary import WS

REGISTRY: dict[str, Dataflow] = {df.name: df for df in (OS, WS, IS)}

#: Dataflow names accepted in ``array.dataflow``.
NAMES = tuple(REGISTRY)

__all__ = ["NAMES", "REGISTRY", "Dataflow", "Fold"]
