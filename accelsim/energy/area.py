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


def multiplier_cells(n_bits: int, m_bits: int, signed: bool = True) -> dict[str, int]:
    """Cells of the §2 n×m multiplier: n·m partial-product gates (Baugh–Wooley: (n−1)+(m−1) of
    them NAND2) and (m−1)·min(n, m) full adders."""
    n, m = min(n_bits, m_bits), max(n_bits, m_bits)
    nand = (n - 1) + (m - 1) if signed else 0
    return {"AND2": n * m - nand, "NAND2": nand, "FA": (m - 1) * n}


def _add(*parts: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in parts:
        for k, v in p.items():
            out[k] = out.get(k, 0) + v
    return out


def mac_pe_cells(x_bits: int, w_bits: int, acc_bits: int) -> dict[str, int]:
    """Cell counts of a mac PE: a signed (Baugh–Wooley) n×m multiplier — n·m partial-product
    gates, of which (n-1)+(m-1) are NAND, and (m-1)·n full adders — an ``acc_bits`` ripple-carry
    adder, and x, w and psum/acc registers."""
    return _add(multiplier_cells(x_bits, w_bits), {"FA": acc_bits,
                                                  "DFF": x_bits + w_bits + acc_bits})


def unit_cells(arch: Any) -> dict[str, dict[str, int]]:
    """Cell counts of the arch's compute structures: ``pe`` (one PE) and, where the PE kind has
    them, ``edge`` (the per-column edge accumulators of ``ws``/``is``, all columns), ``rescale``
    (lsqplus: one rescale unit per column, all columns) and ``rowsum`` (lsqplus placement
    ``output``: the row-sum cells, their edge adder and the per-column corrections). Multiplexers,
    valid bits, isolation latches and control are not counted (docs/gates.md §3)."""
    from accelsim.dataflows import REGISTRY as DATAFLOWS

    pe, kind = arch.pe, arch.pe.kind
    R, C = arch.array.rows, arch.array.cols
    df = DATAFLOWS[arch.array.dataflow]
    x, w, acc = pe.x_bits, pe.w_bits, pe.acc_bits
    regs = {"DFF": x + w + acc}
    out: dict[str, dict[str, int]] = {}
    edge_adders = 1 if df.preload else 0
    if kind == "mac":
        out["pe"] = mac_pe_cells(x, w, acc)
    elif kind == "bitserial":  # w_bits AND gates, one shift-adder (bitserial.md §6)
        out["pe"] = _add({"AND2": w, "FA": acc}, regs)
    elif kind == "pann":  # chained adders, one or two accumulators (pann.md)
        params = pe.params
        dual = params.sign == "dual_accumulator"
        adders = params.adders + (1 if dual and not df.preload else 0)
        out["pe"] = {"FA": adders * acc, "DFF": x + w + (2 if dual else 1) * acc}
        edge_adders += 1 if dual and df.preload else 0
    elif kind == "lsqplus":  # lsqplus.md §3–§5
        placement = pe.params.rescale
        if placement == "pe":
            out["pe"] = _add(multiplier_cells(x + 1, w + 1), {"FA": acc + x + w + 2}, regs)
        else:
            out["pe"] = mac_pe_cells(x, w, acc)
        out["rescale"] = {k: v * C for k, v in _add(
            multiplier_cells(32, 32), {"FA": 32 + 34 + 33 + 33, "DFF": 2 * 32}).items()}
        if placement == "output":
            cells = (C if df.preload and not df.moving_is_x else R) * acc
            edge = acc if df.preload and df.moving_is_x else 0
            corr = _add(multiplier_cells(w, acc), {"FA": 32})
            out["rowsum"] = _add({"FA": cells + edge, "DFF": cells},
                                 {k: v * C for k, v in corr.items()})
    else:
        raise ValueError(f"no area model for PE kind {kind!r}")
    if edge_adders:
        out["edge"] = {"FA": edge_adders * acc * C}
    return out


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
    """Area per component in mm² (6 significant digits): ``pe`` (one PE), ``array`` (all PEs),
    ``edge``/``rescale``/``rowsum`` where the arch has them (:func:`unit_cells`), each configured
    SRAM buffer from its capacity, and ``total`` (everything but ``pe``)."""
    units = unit_cells(arch)
    pe = cells_area_um2(table, units.pop("pe"))
    out = {"pe": pe * 1e-6, "array": pe * arch.array.rows * arch.array.cols * 1e-6}
    for name, cells in units.items():
        out[name] = cells_area_um2(table, cells) * 1e-6
    if arch.buffers is not None:
        for name in ("ifmap", "filter", "ofmap"):
            out[name] = sram_area_um2(table, getattr(arch.buffers, name).size_kib) * 1e-6
    out["total"] = sum(v for k, v in out.items() if k != "pe")
    return {k: float(f"{v:.6g}") for k, v in out.items()}


def report_area_mm2(arch: Any) -> dict[str, float] | None:
    """:func:`arch_area_mm2` with the arch's technology table, or None when the table has no
    ``area:`` block."""
    from accelsim.energy.tech import load_tech

    table = load_tech(arch.energy.technology).area
    return None if table is None else arch_area_mm2(arch, table)


def format_area(area: dict[str, float]) -> str:
    """``"area, mm²: array 0.6717, edge 0.004358, ..., total 6.766 (one PE 0.000656)"``."""
    parts = [f"{k} {v:.4g}" for k, v in area.items() if k not in ("pe", "total")]
    return (f"area, mm² (cell counts × the technology table's cell areas, SRAM from capacity): "
            f"{', '.join(parts)}, total {area['total']:.4g} (one PE {area['pe']:.4g})")
