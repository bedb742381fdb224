"""Re-exports of the contract types (``accelsim.types``) and the mac array's toggle classes, for
callers that import them from here."""

from __future__ import annotations

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.types import ArraySpec, DenseGemm, GemmOperands, GemmResult, LayerSim

#: Toggle classes of the ``mac`` array, in the order of its counters and trace columns (the
#: dataflow names index 2: ``acc_reg`` or ``psum_reg``).
ARRAY_CLASSES = ("x_reg", "w_reg", "psum_reg", "mult", "adder")


def class_names(dataflow: str) -> tuple[str, ...]:
    """Toggle-class names of the mac array for a dataflow, in counter order."""
    return DATAFLOWS[dataflow].class_names(ARRAY_CLASSES)


__all__ = ["ARRAY_CLASSES", "ArraySpec", "DenseGemm", "GemmOperands", "GemmResult", "LayerSim",
           "class_names"]
