"""One fixed colour per energy class for every plot of the project, so a class keeps its colour
from one figure to the next (run traces, compare, sweep); a trace's ``total`` is black. Classes
not listed (a future PE kind's) get a colour from a reserved grey-to-brown range, chosen by a
stable hash of the name."""

from __future__ import annotations

import zlib

#: Energy class -> matplotlib colour (tab20 entries), datapath first, then memory and leakage.
CLASS_COLORS: dict[str, str] = {
    "x_reg": "#1f77b4",
    "w_reg": "#aec7e8",
    "psum_reg": "#ff7f0e",
    "acc_reg": "#ffbb78",
    "mult": "#2ca02c",
    "adder": "#98df8a",
    "rescale": "#9467bd",
    "rowsum": "#c5b0d5",
    "output": "#e377c2",
    "clock": "#f7b6d2",
    "sram": "#17becf",
    "dram": "#d62728",
    "leakage": "#7f7f7f",
    "total": "#000000",
}

#: Latency bars (not energy classes): compute cycles and memory stall cycles.
LATENCY_COLORS: dict[str, str] = {"compute": "#393b79", "stall": "#e7ba52"}

_SPARE = ("#8c564b", "#c49c94", "#bcbd22", "#dbdb8d", "#9edae5", "#c7c7c7")


def class_color(name: str) -> str:
    """The colour of energy class ``name`` (stable across runs and processes)."""
    if name in CLASS_COLORS:
        return CLASS_COLORS[name]
    return _SPARE[zlib.crc32(name.encode("utf-8")) % len(_SPARE)]
