"""Silicon area (optional ``area:`` block of a technology table; docs/gates.md, "Area").

- Logic: cell counts of the PE's documented gate structure (docs/datapath.md §2–§3 with full
  adders as library FA cells, one flip-flop per register bit) × the table's per-cell areas (µm²).
- SRAM: area of a macro versus capacity from the table's points (a power law between points;
  above the largest point, tiles of the largest macro, so linear in capacity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from accelsim.errors import ConfigError

#: Cells the area model prices (library cell names without drive suffix).
CELLS = ("AND2", "NAND2", "FA", "DFF")


@dataclass(frozen=True)
class AreaTable:
    """Per-cell areas (µm², with sources) and SRAM macro areas: (size_kib, area_um2, source)."""

    cells_um2: dict[str, tuple[float, str]]
    sram_um2: tuple[tuple[float, float, str], ...]


def parse_area(node: Any, file: str) -> AreaTable | None:
    """Validate ``area: {cells_um2: {CELL: {value, source}}, sram_um2: [{size_kib, area_um2,
    source}, ...]}``; None when absent."""
    if node is None:
        return None
    if not isinstance(node, dict) or set(node) != {"cells_um2", "sram_um2"}:
        raise ConfigError(file, "area", "a mapping with keys cells_um2 and sram_um2", node)
    cells = node["cells_um2"]
    if not isinstance(cells, dict) or set(cells) != set(CELLS):
        raise ConfigError(file, "area.cells_um2", f"exactly the cells {', '.join(CELLS)}",
                          sorted(cells) if isinstance(cells, dict) else cells)
    out = {}
    for name in CELLS:
        out[name] = _positive_with_source(cells[name], file, f"area.cells_um2.{name}", "value")
    points = node["sram_um2"]
    if not isinstance(points, list) or not points:
        raise ConfigError(file, "area.sram_um2", "a non-empty list of {size_kib, area_um2, "
                          "source}", points)
    sram = []
    for i, p in enumerate(points):
        key = f"area.sram_um2[{i}]"
        if not isinstance(p, dict) or set(p) != {"size_kib", "area_um2", "source"}:
            raise ConfigError(file, key, "{size_kib, area_um2, source}", p)
        size = _positive(p["size_kib"], file, f"{key}.size_kib")
        area, source = _positive_with_source(p, file, key, "area_um2")
        if sram and size <= sram[-1][0]:
            raise ConfigError(file, f"{key}.size_kib", "size_kib increasing along the list", size)
        sram.append((size, area, source))
    return AreaTable(out, tuple(sram))


def _positive(v: Any, file: str, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ConfigError(file, key, "a finite number > 0", v)
    return float(v)


def _positive_with_source(node: Any, file: str, key: str, value_key: str) -> tuple[float, str]:
    if not isinstance(node, dict) or value_key not in node:
        raise ConfigError(file, key, f"{{{value_key}, source}}", node)
    source = node.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(file, f"{key}.source", "a non-empty string naming where it comes from",
                          source)
    return _positive(node[value_key], file, f"{key}.{value_key}"), " ".join(source.split())


def mac_pe_cells(x_bits: int, w_bits: int, acc_bits: int) -> dict[str, int]:
    """Cell counts of a mac PE: a signed (Baugh–Wooley) n×m multiplier — n·m partial-product
    gates, of which (n-1)+(m-1) are NAND, and (m-1)·n full adders — an ``acc_bits`` ripple-carry
    adder, and x, w and psum/acc registers."""
    n, m = min(x_bits, w_bits), max(x_bits, w_bits)
    nand = (n - 1) + (m - 1)
    return {"AND2": n * m - nand, "NAND2": nand, "FA": (m - 1) * n + acc_bits,
            "DFF": x_bits + w_bits + acc_bits}


def cells_area_um2(table: AreaTable, cells: dict[str, int]) -> float:
    """Σ count × cell area (µm²)."""
    return sum(count * table.cells_um2[name][0] for name, count in cells.items())


def sram_area_um2(table: AreaTable, size_kib: float) -> float:
    """Area (µm²) of ``size_kib`` of SRAM (module docstring)."""
    pts = table.sram_um2
    top_size, top_area, _ = pts[-1]
    if size_kib >= top_size:
        return top_area * size_kib / top_size
    if len(pts) == 1 or size_kib <= pts[0][0]:
        lo, hi = pts[0], pts[min(1, len(pts) - 1)]
    else:
        i = next(k for k in range(len(pts) - 1) if pts[k][0] <= size_kib < pts[k + 1][0])
        lo, hi = pts[i], pts[i + 1]
    if hi[0] == lo[0]:
        return lo[1] * size_kib / lo[0]
    beta = math.log(hi[1] / lo[1]) / math.log(hi[0] / lo[0])
    return lo[1] * (size_kib / lo[0]) ** beta


def arch_area_mm2(arch: Any, table: AreaTable) -> dict[str, float]:
    """``{"pe", "array", <buffer>..., "total"}`` in mm² for a mac arch (PE and array logic from
    :func:`mac_pe_cells`; each configured SRAM buffer from its capacity)."""
    pe = cells_area_um2(table, mac_pe_cells(arch.pe.x_bits, arch.pe.w_bits, arch.pe.acc_bits))
    out = {"pe": pe * 1e-6, "array": pe * arch.array.rows * arch.array.cols * 1e-6}
    if arch.buffers is not None:
        for name in ("ifmap", "filter", "ofmap"):
            out[name] = sram_area_um2(table, getattr(arch.buffers, name).size_kib) * 1e-6
    out["total"] = out["array"] + sum(v for k, v in out.items() if k not in ("pe", "array"))
    return {k: float(f"{v:.6g}") for k, v in out.items()}
