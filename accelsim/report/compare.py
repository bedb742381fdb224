"""``accelsim compare`` outputs: the runs side by side as JSON (every run's full report and a
summary per layer and in total) and as CSV (one row per run and layer, plus each run's total).
Every figure is read from the runs' reports (:func:`accelsim.report.summary.part_metrics`), so it
equals what ``accelsim run --json`` writes for the same architecture and workload."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from accelsim.report.model import DECIMALS, Report
from accelsim.report.summary import METRICS, part_metrics
from accelsim.report.write import ordered_classes

#: Per-part figures after :data:`METRICS` (copied from the report).
EXTRA = ("energy_per_mac_pj", "energy_per_inference_pj", "power_mw")


@dataclass(frozen=True)
class CompareRun:
    """One column of a comparison: its ``label``, the files it read and its report."""

    label: str
    arch_file: str
    workload_file: str
    report: Report


def _clean(value: Any) -> Any:
    return round(value, DECIMALS) if isinstance(value, float) else value


def _part(part: Mapping[str, Any], clock_mhz: float) -> dict[str, Any]:
    metrics = part_metrics(part, clock_mhz)
    metrics.update({k: part[k] for k in EXTRA})
    return {k: _clean(v) for k, v in metrics.items()}


def summary(report: Report) -> dict[str, Any]:
    """``{"layers": [{"name", "op", METRICS..., EXTRA...}], "total": {...}}`` of a report."""
    doc = report.to_dict()
    clock = float(report.arch.get("clock_mhz", 500.0))
    layers = [{"name": lr["name"], "op": lr["op"], **_part(lr, clock)} for lr in doc["layers"]]
    return {"layers": layers, "total": _part(doc["total"], clock)}


def compare_json(runs: Sequence[CompareRun]) -> bytes:
    """``{"accelsim_version", "runs": [{"label", "arch_file", "workload_file", "summary",
    "report"}]}`` (``report`` exactly as ``accelsim run --json``), sorted keys, 2-space indent."""
    from accelsim import __version__

    doc = {"accelsim_version": __version__,
           "runs": [{"label": r.label, "arch_file": r.arch_file, "workload_file": r.workload_file,
                     "summary": summary(r.report), "report": r.report.to_dict()} for r in runs]}
    return (json.dumps(doc, sort_keys=True, indent=2, allow_nan=False) + "\n").encode("utf-8")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return f"{value:.{DECIMALS}f}" if isinstance(value, float) else value


def compare_csv(runs: Sequence[CompareRun]) -> bytes:
    """One row per run and layer (``part`` = ``layer``) and one per run total (``part`` =
    ``total``, ``layer`` and ``op`` empty): the :data:`METRICS` (``check`` last), energy per class
    (``energy_<class>_pj``, empty where a run has no such class), then :data:`EXTRA`. Memory
    columns are empty with ideal memory; floats have ``DECIMALS`` places."""
    classes = ordered_classes(r.report.total.energy_pj for r in runs)
    numbers = [k for k in METRICS if k != "check"]
    header = ["label", "arch_file", "workload_file", "part", "layer", "op", *numbers,
              *(f"energy_{c}_pj" for c in classes), *EXTRA, "check"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for run in runs:
        doc = run.report.to_dict()
        parts = summary(run.report)
        rows = [("layer", lr["name"], lr["op"], lr, raw) for lr, raw in
                zip(parts["layers"], doc["layers"])]
        rows.append(("total", "", "", parts["total"], doc["total"]))
        for kind, name, op, metrics, raw in rows:
            energy = raw["energy_pj"]
            writer.writerow([run.label, run.arch_file, run.workload_file, kind, name, op,
                             *(_cell(metrics[k]) for k in numbers),
                             *(_cell(energy.get(c)) for c in classes),
                             *(_cell(metrics[k]) for k in EXTRA), metrics["check"]])
    return buf.getvalue().encode("utf-8")
