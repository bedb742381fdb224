"""The memory part of the run report (docs/reference/report.md, "Memory"): DRAM bytes and
bandwidth per operand, bus utilization, SRAM energy per buffer, stall cycles by cause and the
on-chip / off-chip split of energy and average power; their CSV columns and printed table.

Built from the memory-system results (duck-typed ``MemoryResult``; figures a result does not
carry are left out) as plain dicts of unrounded numbers: ``model`` rounds them. Off-chip means
DRAM (its access and activation energy); on-chip is everything else (array, clock, SRAM,
leakage).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


#: The DRAM counters of a memory result (they add up over layers).
DRAM_COUNTS = ("read_bytes", "write_bytes", "row_hits", "row_misses", "activations")


def _power_mw(energy_pj: float, cycles: int, clock_mhz: float) -> float:
    """Average power (mW) of ``energy_pj`` over ``cycles`` at ``clock_mhz`` (pJ · MHz = µW)."""
    return energy_pj * clock_mhz / cycles / 1e3 if cycles else 0.0


def _split(energy_pj: float, dram_pj: float | None, cycles: int, clock_mhz: float
           ) -> dict[str, float]:
    """``energy_on_chip_pj``, ``power_on_chip_mw`` and, when DRAM is modelled (``dram_pj`` not
    None), ``energy_off_chip_pj``, ``power_off_chip_mw``."""
    on = energy_pj - (dram_pj or 0.0)
    out = {"energy_on_chip_pj": on, "power_on_chip_mw": _power_mw(on, cycles, clock_mhz)}
    if dram_pj is not None:
        out["energy_off_chip_pj"] = dram_pj
        out["power_off_chip_mw"] = _power_mw(dram_pj, cycles, clock_mhz)
    return out


def _sram(memory: Any, sram_pj: Mapping[str, float]) -> dict[str, dict[str, Any]] | None:
    out = {}
    for buffer, counts in memory.sram.items():
        out[buffer] = {k: int(v) for k, v in counts.items()}
        if buffer in sram_pj:
            out[buffer]["energy_pj"] = float(sram_pj[buffer])
    return out or None


def _dram(memory: Any) -> dict[str, Any] | None:
    if not memory.dram:
        return None
    out: dict[str, Any] = {k: int(v) for k, v in memory.dram.items()}
    by_operand = getattr(memory, "dram_bytes_by_operand", None)
    bandwidth = getattr(memory, "dram_bandwidth", None)
    if by_operand:
        out["bytes_by_operand"] = {k: int(v) for k, v in by_operand.items()}
    if bandwidth:
        out["bandwidth_bytes_per_cycle"] = {
            kind: {k: float(v) for k, v in bandwidth[kind].items()} for kind in ("average", "peak")}
        out["peak_window_cycles"] = int(bandwidth["peak_window_cycles"])
        out["utilization"] = float(memory.dram_bandwidth_utilization)
    return out


def layer_sections(memory: Any, sram_pj: Mapping[str, float] | None,
                   energy: Mapping[str, float], cycles: int, clock_mhz: float) -> dict[str, Any]:
    """The memory fields of one layer's report: ``sram`` (per buffer, with ``energy_pj``),
    ``dram`` (with ``bytes_by_operand``, ``bandwidth_bytes_per_cycle``, ``peak_window_cycles``,
    ``utilization``), ``stall_cycles_by_cause`` and the energy/power split; {} with ideal
    memory (``memory`` None), None for a part the memory result does not have."""
    if memory is None:
        return {}
    causes = getattr(memory, "stall_by_cause", None)
    out = {"sram": _sram(memory, sram_pj or {}), "dram": _dram(memory),
           "stall_cycles_by_cause": {k: int(v) for k, v in causes.items()} if causes else None}
    out.update(_split(float(energy.get("total", 0.0)),
                      float(energy["dram"]) if "dram" in energy else None, cycles, clock_mhz))
    return out


def _sums(parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Key-wise sums of (nested) maps, keys in order of first appearance."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, Mapping):
                out[key] = _sums([out.get(key, {}), value])
            else:
                out[key] = out.get(key, 0) + value
    return out


def _total_dram(layers: Sequence[Mapping[str, Any]], cycles: Sequence[int]) -> dict[str, Any]:
    """Sums of the counts; bandwidth averages and utilization weighted by the layers' cycles
    (so they are over the run's cycles); the peak is the largest layer's peak."""
    scalar = [{k: v for k, v in d.items() if k in DRAM_COUNTS} for d in layers]
    out = _sums(scalar)
    if all("bytes_by_operand" in d for d in layers):
        out["bytes_by_operand"] = _sums([d["bytes_by_operand"] for d in layers])
    if all("bandwidth_bytes_per_cycle" in d for d in layers):
        run = sum(cycles)
        bws = [d["bandwidth_bytes_per_cycle"] for d in layers]
        keys = bws[0]["average"]
        out["bandwidth_bytes_per_cycle"] = {
            "average": {k: (sum(b["average"][k] * c for b, c in zip(bws, cycles)) / run
                            if run else 0.0) for k in keys},
            "peak": {k: max(b["peak"][k] for b in bws) for k in keys},
        }
        out["peak_window_cycles"] = layers[0]["peak_window_cycles"]
        out["utilization"] = (sum(d["utilization"] * c for d, c in zip(layers, cycles)) / run
                              if run else 0.0)
    return out


def total_sections(layers: Sequence[Mapping[str, Any]], energy: Mapping[str, float],
                   cycles: Sequence[int], clock_mhz: float) -> dict[str, Any]:
    """The memory fields of the totals from the layers' :func:`layer_sections` (unrounded),
    the run's summed ``energy`` (pJ) and each layer's ``cycles.total``; {} with ideal memory."""
    if not layers or not layers[0]:
        return {}
    sram = [d["sram"] for d in layers if d.get("sram")]
    dram = [d["dram"] for d in layers if d.get("dram")]
    causes = [d["stall_cycles_by_cause"] for d in layers if d.get("stall_cycles_by_cause")]
    out = {"sram": _sums(sram) if sram else None,
           "dram": _total_dram(dram, cycles) if len(dram) == len(layers) else None,
           "stall_cycles_by_cause": _sums(causes) if causes else None}
    out.update(_split(float(energy.get("total", 0.0)),
                      float(energy["dram"]) if "dram" in energy else None, sum(cycles),
                      clock_mhz))
    return out


# ------------------------------------------------------------------------ CSV and table


def csv_fields(layer: Any) -> dict[str, Any]:
    """The memory columns of one layer's CSV row beyond ``sram_<buffer>_<key>`` and the DRAM
    counters: ``dram_<operand>_<read|write>_bytes``, ``dram_avg_<key>_bytes_per_cycle``,
    ``dram_peak_<key>_bytes_per_cycle``, ``dram_peak_window_cycles``,
    ``dram_utilization_fraction``, ``stall_<cause>_cycles`` and the energy/power split."""
    out: dict[str, Any] = {}
    dram = layer.dram or {}
    for key, value in dram.get("bytes_by_operand", {}).items():
        out[f"dram_{key}_bytes"] = value
    for kind, short in (("average", "avg"), ("peak", "peak")):
        for key, value in dram.get("bandwidth_bytes_per_cycle", {}).get(kind, {}).items():
            out[f"dram_{short}_{key}_bytes_per_cycle"] = value
    if "utilization" in dram:
        out["dram_peak_window_cycles"] = dram["peak_window_cycles"]
        out["dram_utilization_fraction"] = dram["utilization"]
    for cause, value in (layer.stall_cycles_by_cause or {}).items():
        out[f"stall_{cause}_cycles"] = value
    for key in ("energy_on_chip_pj", "energy_off_chip_pj", "power_on_chip_mw",
                "power_off_chip_mw"):
        if getattr(layer, key) is not None:
            out[key] = getattr(layer, key)
    return out


#: Table columns: (header, DRAM operand key or stall cause).
_TABLE_BYTES = (("ifmap", "ifmap_read"), ("filter", "filter_read"), ("psum rd", "psum_read"),
                ("psum wr", "psum_write"), ("ofmap", "ofmap_write"))
_TABLE_STALLS = (("ifmap", "ifmap"), ("filter", "filter"), ("psum", "psum"),
                 ("drain", "ofmap_drain"), ("port", "sram_port"))


def _kib(n: int) -> str:
    return f"{n / 1024:,.1f}"


def table_rows(report: Any) -> tuple[tuple[str, ...], list[tuple[str, ...]], tuple[str, ...]
                                     ] | None:
    """Header, rows and TOTAL footer of the printed memory table (None with ideal memory or
    without these figures): DRAM KiB per operand, average and peak B/cycle, bus utilization
    and stall cycles by cause."""
    parts = [*report.layers, report.total]
    if any(p.stall_cycles_by_cause is None for p in parts):
        return None
    with_dram = all(p.dram and "bytes_by_operand" in p.dram for p in parts)
    header: tuple[str, ...] = ("layer",)
    if with_dram:
        header += (*(f"{h} KiB" for h, _ in _TABLE_BYTES), "avg B/c", "peak B/c", "bus %")
    header += tuple(f"stall {h}" for h, _ in _TABLE_STALLS)

    def row(name: str, p: Any) -> tuple[str, ...]:
        cells: tuple[str, ...] = (name,)
        if with_dram:
            bw = p.dram["bandwidth_bytes_per_cycle"]
            cells += (*(_kib(p.dram["bytes_by_operand"][k]) for _, k in _TABLE_BYTES),
                      f"{bw['average']['total']:.2f}", f"{bw['peak']['total']:.2f}",
                      f"{100 * p.dram['utilization']:.1f}")
        return cells + tuple(f"{p.stall_cycles_by_cause[k]:,}" for _, k in _TABLE_STALLS)

    return header, [row(lr.name, lr) for lr in report.layers], row("TOTAL", report.total)
