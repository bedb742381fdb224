"""Workload files (docs/reference/workload.md) and their lowering to GEMMs (docs/datapath.md §5)."""

from accelsim.workload.lower import LoweredLayer, lower
from accelsim.workload.npz import (
    FORMAT,
    OPS,
    SCHEMES,
    VERSION,
    Layer,
    Workload,
    check_fits,
    conv_output_size,
    load_workload,
    save_workload,
    value_range,
)

__all__ = [
    "FORMAT",
    "OPS",
    "SCHEMES",
    "VERSION",
    "Layer",
    "LoweredLayer",
    "Workload",
    "check_fits",
    "conv_output_size",
    "load_workload",
    "lower",
    "save_workload",
    "value_range",
]
