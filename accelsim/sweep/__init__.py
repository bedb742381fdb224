"""Design-space sweeps: SWEEP.yaml → points → Dask (or sequential) simulation → one results table,
per-layer table, every point's report and Pareto plots (``docs/sweep.md``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelsim.sweep.point import Outcome, Task, prepare
from accelsim.sweep.spec import Sweep, load_sweep

__all__ = ["SweepRun", "check_sweep_outputs", "load_sweep", "run_sweep", "exit_status"]

#: Tables a sweep writes into its folder.
TABLES = ("results.csv", "results.json", "layers.csv")
#: Plots (``pareto*`` when some point ran, ``accuracy_energy`` when a workload has labels).
PLOTS = ("pareto.png", "pareto_breakdown.png", "accuracy_energy.png")


@dataclass(frozen=True)
class SweepRun:
    """A finished sweep: the parsed sweep, one row per point (sorted by id), the files written."""

    sweep: Sweep
    rows: list[dict[str, Any]]
    files: tuple[Path, ...]


def exit_status(rows: list[dict[str, Any]]) -> str:
    """The worst point status: ``internal-error`` > ``error`` > ``mismatch`` > ``ok``."""
    order = ("ok", "mismatch", "error", "internal-error")
    return max((r["status"] for r in rows), key=order.index, default="ok")


def check_sweep_outputs(sweep: Sweep, out: Path) -> None:
    """Check every file :func:`run_sweep` may write into ``out`` (tables, plots, point reports
    and keys) with :func:`accelsim.report.check_outputs`: none may be an input (the sweep file,
    a workload) or an unusable path. Raises OutputError."""
    from accelsim.report import check_outputs
    from accelsim.sweep.execute import point_files

    paths = [out / name for name in TABLES + PLOTS]
    if (out / "points").is_dir():  # a new points folder cannot hold an input
        paths += [f for p in sweep.points for f in point_files(out, p.id)]
    inputs = [("SWEEP.yaml", Path(sweep.file))] + [("workload", Path(w.path))
                                                   for w in sweep.workloads]
    check_outputs([("--out", path) for path in paths], inputs, out if not out.exists() else None)


def run_sweep(sweep: Sweep, out: Path, workers: int | None = None, scheduler: str | None = None,
              resume: bool = False, done: Callable[[Outcome], None] | None = None) -> SweepRun:
    """Check every point, simulate the valid ones, write the results into ``out``.

    Parameters
    ----------
    sweep : Sweep
        From :func:`load_sweep`.
    out : Path
        Results folder (created): ``results.csv``, ``results.json``, ``layers.csv``,
        ``points/<id>.json``, ``pareto.png``, ``pareto_breakdown.png`` and, when a workload has
        labels, ``accuracy_energy.png``.
    workers : int or None
        Embedded Dask workers (None: one per core; 0: run sequentially in this process).
    scheduler : str or None
        Address of an existing Dask scheduler (``tcp://HOST:PORT``); overrides ``workers``.
    resume : bool
        Reuse ``points/<id>.json`` reports whose content key matches.
    done : callable, optional
        Called with each point's Outcome as it finishes (invalid points first).
    """
    from accelsim.report import write_atomically
    from accelsim.sweep import plots, results
    from accelsim.sweep.execute import run_tasks
    from accelsim.workload import load_workload

    workloads = {w.name: load_workload(w.path) for w in sweep.workloads}
    prepared = [prepare(sweep, p, workloads) for p in sweep.points]
    outcomes = {o.id: o for o in prepared if isinstance(o, Outcome)}
    for outcome in outcomes.values():
        if done is not None:
            done(outcome)
    tasks = [t for t in prepared if isinstance(t, Task)]
    (out / "points").mkdir(parents=True, exist_ok=True)
    outcomes.update(run_tasks(tasks, out, workers, scheduler, resume, done or (lambda o: None)))

    rows, layer_rows, reports = results.build_rows(sweep, outcomes)
    csv_rows, json_rows, csv_layers = TABLES
    pareto, breakdown, accuracy = PLOTS
    files = {
        out / csv_rows: results.table_csv(rows, results.point_columns(sweep)),
        out / json_rows: results.results_json(sweep, rows),
        out / csv_layers: results.table_csv(layer_rows, results.layer_columns(sweep)),
    }
    if reports:
        title = f"{sweep.name}: energy vs latency"
        files[out / pareto] = plots.pareto_png(rows, sweep.axis_keys, title)
        files[out / breakdown] = plots.breakdown_png(
            rows, reports, sweep.axis_keys, f"{sweep.name}: energy of the Pareto points")
    if any(r["accuracy_top1"] is not None for r in rows):
        files[out / accuracy] = plots.accuracy_png(
            rows, sweep.axis_keys, f"{sweep.name}: accuracy vs energy")
    write_atomically(files)
    return SweepRun(sweep, rows, tuple(files))
