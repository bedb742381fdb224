"""A sweep's results: one row per point and per (point, layer) from the points' JSON reports,
the energy–latency Pareto front, tables (CSV, JSON, text) and plots (PNG).

Everything is rendered from the reports alone, sorted by point id, with fixed float formatting:
the same points give the same bytes whatever the worker count or completion order.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from accelsim.report.model import DECIMALS
from accelsim.report.summary import part_metrics
from accelsim.sweep.point import Outcome
from accelsim.sweep.spec import Sweep, format_value

#: Columns after the axis columns, in order (units in the names).
METRICS = ("status", "macs", "cycles_total", "cycles_compute", "cycles_stall", "latency_us",
           "utilization_fraction", "energy_pj", "energy_onchip_pj", "energy_offchip_pj",
           "energy_per_mac_pj", "energy_per_inference_pj", "power_mw", "dram_read_bytes",
           "dram_write_bytes", "accuracy_top1", "area_mm2", "pareto", "check", "error")
#: Per-layer columns after point, axis values and layer name.
LAYER_METRICS = ("op", "macs", "cycles_total", "cycles_compute", "cycles_stall",
                 "utilization_fraction", "energy_pj", "energy_onchip_pj", "energy_offchip_pj",
                 "dram_read_bytes", "dram_write_bytes", "check")


def _status(outcome: Outcome, report: Mapping[str, Any] | None) -> str:
    if report is None:
        return "internal-error" if outcome.internal else "error"
    return "ok" if report["total"]["check"] == "exact" else "mismatch"


def _metrics(part: Mapping[str, Any], clock_mhz: float) -> dict[str, Any]:
    """Cycles, energy (total, on-chip, off-chip = DRAM) and DRAM bytes of a layer or total
    (:func:`accelsim.report.summary.part_metrics`; no DRAM traffic counts as 0 bytes here)."""
    metrics = part_metrics(part, clock_mhz)
    for key in ("dram_read_bytes", "dram_write_bytes"):
        metrics[key] = metrics[key] or 0
    return {k: v for k, v in metrics.items() if not k.startswith("sram_")}


def pareto_ids(rows: Sequence[Mapping[str, Any]]) -> set[str]:
    """Ids of the points no other point beats in both energy and total cycles (ties kept)."""
    measured = [r for r in rows if r["energy_pj"] is not None]
    front = set()
    for r in measured:
        dominated = any(o["energy_pj"] <= r["energy_pj"] and o["cycles_total"] <= r["cycles_total"]
                        and (o["energy_pj"] < r["energy_pj"]
                             or o["cycles_total"] < r["cycles_total"]) for o in measured)
        if not dominated:
            front.add(r["point"])
    return front


def build_rows(sweep: Sweep, outcomes: Mapping[str, Outcome]
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(point rows, layer rows, reports by point id), sorted by point id."""
    rows, layer_rows, reports = [], [], {}
    for point in sweep.points:
        outcome = outcomes[point.id]
        report = None if outcome.report_json is None else json.loads(outcome.report_json)
        row: dict[str, Any] = {"point": point.id, **point.values}
        row.update(dict.fromkeys(METRICS))
        row["status"] = _status(outcome, report)
        row["error"] = outcome.error
        if report is not None:
            reports[point.id] = report
            clock = float(report["arch"]["clock_mhz"])
            total = report["total"]
            row.update(_metrics(total, clock))
            row["energy_per_mac_pj"] = total["energy_per_mac_pj"]
            row["energy_per_inference_pj"] = total["energy_per_inference_pj"]
            row["power_mw"] = total["power_mw"]
            accuracy = total.get("accuracy")
            row["accuracy_top1"] = None if accuracy is None else accuracy["simulated"]
            area = report.get("area_mm2")
            row["area_mm2"] = None if area is None else area["total"]
            for layer in report["layers"]:
                layer_rows.append({"point": point.id, **point.values, "layer": layer["name"],
                                   "op": layer["op"], **_metrics(layer, clock)})
        rows.append(row)
    front = pareto_ids(rows)
    for row in rows:
        row["pareto"] = row["point"] in front if row["energy_pj"] is not None else None
    return rows, layer_rows, reports


def _cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.{DECIMALS}f}"
    if isinstance(value, (list, int)) or key in ("point", "layer"):
        return format_value(key, value)
    return str(value)


def table_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> bytes:
    """Rows as CSV with the given columns (axis keys as headers; empty cells for None)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(c, row.get(c)) for c in columns])
    return buf.getvalue().encode("utf-8")


def results_json(sweep: Sweep, rows: Sequence[Mapping[str, Any]]) -> bytes:
    """``{"accelsim_version", "sweep", "axes", "workloads", "points": [row...]}``, sorted keys."""
    from accelsim import __version__

    def clean(value: Any) -> Any:
        return round(value, DECIMALS) if isinstance(value, float) else value

    doc = {"accelsim_version": __version__, "sweep": sweep.name, "axes": list(sweep.axis_keys),
           "workloads": {w.name: w.path for w in sweep.workloads},
           "points": [{k: clean(v) for k, v in row.items()} for row in rows]}
    return (json.dumps(doc, sort_keys=True, indent=2, allow_nan=False) + "\n").encode("utf-8")


def format_results(sweep: Sweep, rows: Sequence[Mapping[str, Any]]) -> str:
    """The printed table: one line per point (``*`` marks the Pareto front)."""
    from accelsim.report.write import format_columns

    header = ("point", *sweep.axis_keys, "status", "cycles", "energy µJ", "pJ/MAC", "DRAM MB",
              "pareto")
    lines = []
    for r in rows:
        measured = r["energy_pj"] is not None
        lines.append((r["point"], *(format_value(k, r[k]) for k in sweep.axis_keys), r["status"],
                      f"{r['cycles_total']:,}" if measured else "-",
                      f"{r['energy_pj'] / 1e6:.4f}" if measured else "-",
                      f"{r['energy_per_mac_pj']:.4f}" if measured else "-",
                      f"{(r['dram_read_bytes'] + r['dram_write_bytes']) / 1e6:.3f}"
                      if measured else "-",
                      "*" if r["pareto"] else ""))
    table = format_columns(header, lines, left=set(range(len(sweep.axis_keys) + 2)))
    errors = [f"{r['point']}: {r['error']}" for r in rows if r["error"]]
    return "\n".join([table, *errors])


def layer_columns(sweep: Sweep) -> list[str]:
    return ["point", *sweep.axis_keys, "layer", *LAYER_METRICS]


def point_columns(sweep: Sweep) -> list[str]:
    return ["point", *sweep.axis_keys, *METRICS]
