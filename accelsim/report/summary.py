"""Flat figures of one part of a run report (a layer or the total), for side-by-side tables:
``accelsim compare`` and ``accelsim sweep`` read the same numbers the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Keys of :func:`part_metrics`, in table order (units in the names; ``sram_*``/``dram_*`` None
#: with ideal memory).
METRICS = ("macs", "cycles_total", "cycles_compute", "cycles_stall", "latency_us",
           "utilization_fraction", "energy_pj", "energy_onchip_pj", "energy_offchip_pj",
           "sram_read_bytes", "sram_write_bytes", "dram_read_bytes", "dram_write_bytes", "check")


def part_metrics(part: Mapping[str, Any], clock_mhz: float) -> dict[str, Any]:
    """Cycles, latency (µs at ``clock_mhz``), energy (pJ: total, on chip, off chip = DRAM), SRAM
    bytes (summed over the buffers) and DRAM bytes of a layer or total of a JSON report dict.
    Memory figures are None when the memory was ideal (not simulated)."""
    energy = part["energy_pj"]
    total = float(energy.get("total", 0.0))
    dram_pj = float(energy.get("dram", 0.0))
    cycles = part["cycles"]
    sram, dram = part.get("sram"), part.get("dram")
    return {
        "macs": part["macs"], "cycles_total": cycles["total"],
        "cycles_compute": cycles["compute"], "cycles_stall": cycles["stall"],
        "latency_us": cycles["total"] / clock_mhz,
        "utilization_fraction": part["utilization"], "energy_pj": total,
        "energy_onchip_pj": total - dram_pj, "energy_offchip_pj": dram_pj,
        "sram_read_bytes": None if sram is None else sum(b["read_bytes"] for b in sram.values()),
        "sram_write_bytes": None if sram is None else sum(b["write_bytes"]
                                                          for b in sram.values()),
        "dram_read_bytes": None if dram is None else dram["read_bytes"],
        "dram_write_bytes": None if dram is None else dram["write_bytes"],
        "check": part["check"],
    }
