"""Serialize a Report (JSON, CSV, human table), simulated outputs (npz) and per-cycle traces
(CSV + PNG), and write files atomically.

Everything is rendered to bytes in memory first; :func:`write_atomically` then stages every file as
a temp file in its target folder and renames them into place only when all were written, so a
failure leaves neither partial outputs nor temp files.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path

import numpy as np

from accelsim.report.model import DECIMALS, Report
from accelsim.sim.types import LayerSim

#: Above this many cycles a trace plot shows per-bin means instead of every cycle.
PLOT_MAX_POINTS = 2000


def report_json(report: Report) -> bytes:
    """The JSON report (SPEC §7): sorted keys, 2-space indent, trailing newline, UTF-8."""
    text = json.dumps(report.to_dict(), sort_keys=True, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _float(value: float) -> str:
    return f"{value:.{DECIMALS}f}"


def report_csv(report: Report) -> bytes:
    """One row per layer; snake_case headers with units; floats with ``DECIMALS`` places."""
    classes = list(dict.fromkeys(c for lr in report.layers for c in lr.toggles))
    energy_keys = list(dict.fromkeys(k for lr in report.layers for k in lr.energy_pj))
    header = ["layer", "op", "groups", "gemm_m", "gemm_k", "gemm_n", "folds", "cycles_total",
              "cycles_compute", "cycles_stall", "cycles_compute_active", "utilization_fraction",
              "macs", "overflows"]
    header += [f"toggles_{c}" for c in classes] + [f"energy_{k}_pj" for k in energy_keys]
    header += ["check", "reference"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for lr in report.layers:
        c = lr.cycles
        writer.writerow(
            [lr.name, lr.op, lr.gemm.groups, lr.gemm.M, lr.gemm.K, lr.gemm.N, lr.folds, c.total,
             c.compute, c.stall, c.compute_active, _float(lr.utilization), lr.macs, lr.overflows]
            + [lr.toggles.get(k, 0) for k in classes]
            + [_float(lr.energy_pj.get(k, 0.0)) for k in energy_keys]
            + [lr.check, lr.reference]
        )
    return buf.getvalue().encode("utf-8")


def outputs_npz(sims: Sequence[LayerSim]) -> bytes:
    """An uncompressed ``.npz`` with one int array ``<layer>/y`` per layer (loads without
    pickle)."""
    buf = io.BytesIO()
    np.savez(buf, **{f"{s.name}/y": np.asarray(s.y) for s in sims})
    return buf.getvalue()


def trace_stem(layer_name: str) -> str:
    """File-name stem for a layer: characters outside ``[A-Za-z0-9._-]`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", layer_name)


def trace_csv(trace: np.ndarray, classes: Sequence[str]) -> bytes:
    """Per-cycle toggles: columns ``cycle``, one per class, ``total``."""
    trace = np.asarray(trace, dtype=np.int64)
    table = np.column_stack([np.arange(len(trace)), trace, trace.sum(axis=1)])
    buf = io.StringIO()
    np.savetxt(buf, table, fmt="%d", delimiter=",", header=",".join(["cycle", *classes, "total"]),
               comments="")
    return buf.getvalue().encode("utf-8")


def trace_png(trace: np.ndarray, classes: Sequence[str], title: str) -> bytes:
    """A PNG of toggles per cycle per class and in total; traces longer than ``PLOT_MAX_POINTS``
    cycles are shown as means over bins of ``ceil(cycles / PLOT_MAX_POINTS)`` cycles."""
    from matplotlib.figure import Figure  # Agg canvas, no pyplot state; imported only for traces

    trace = np.asarray(trace, dtype=np.int64)
    series = np.column_stack([trace, trace.sum(axis=1)]).astype(float)
    cycles = len(series)
    size = max(1, math.ceil(cycles / PLOT_MAX_POINTS))
    bins = math.ceil(cycles / size)
    padded = np.zeros((bins * size, series.shape[1]))
    padded[:cycles] = series
    counts = np.minimum(size, cycles - np.arange(bins) * size)[:, None]
    means = padded.reshape(bins, size, -1).sum(axis=1) / counts
    fig = Figure(figsize=(9, 4), dpi=100)
    ax = fig.add_subplot()
    for i, name in enumerate([*classes, "total"]):
        width = 1.5 if name == "total" else 0.8
        ax.plot(np.arange(bins) * size, means[:, i], label=name, linewidth=width)
    ax.set_xlabel("cycle" if size == 1 else f"cycle (bins of {size} cycles)")
    ax.set_ylabel("toggles per cycle" if size == 1 else "toggles per cycle (bin mean)")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def trace_files(
    sims: Sequence[LayerSim], classes: Sequence[str], folder: Path
) -> dict[Path, bytes]:
    """``folder/<layer>.trace.csv`` and ``.trace.png`` for every layer (needs their traces)."""
    files: dict[Path, bytes] = {}
    for s in sims:
        if s.result.trace is None:
            raise ValueError(f"layer {s.name!r} was simulated without a trace")
        stem = trace_stem(s.name)
        files[folder / f"{stem}.trace.csv"] = trace_csv(s.result.trace, classes)
        files[folder / f"{stem}.trace.png"] = trace_png(s.result.trace, classes,
                                                        f"{s.name}: toggles per cycle")
    return files


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(files: Mapping[Path, bytes]) -> None:
    """Write all files or none: stage each as a temp file in its target folder, then ``os.replace``.

    Raises OSError (after removing every temp file) if any file cannot be staged.
    """
    mode = 0o666 & ~_umask()
    staged: list[tuple[str, Path]] = []
    try:
        for target, data in files.items():
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            staged.append((tmp, target))
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, mode)
        while staged:
            tmp, target = staged[0]
            os.replace(tmp, target)
            staged.pop(0)
    finally:
        for tmp, _ in staged:
            with suppress(OSError):
                os.unlink(tmp)


def _top_components(energy: Mapping[str, float], n: int = 2) -> str:
    """``"mult 48%, adder 22%"``: the ``n`` largest energy components as shares of the total."""
    total = energy.get("total", 0.0)
    parts = sorted(((v, k) for k, v in energy.items() if k != "total"), key=lambda p: (-p[0], p[1]))
    if total <= 0:
        return "-"
    return ", ".join(f"{k} {100 * v / total:.0f}%" for v, k in parts[:n])


def format_columns(header: Sequence[str], rows: Sequence[Sequence[str]], left: set[int],
                   footer: Sequence[str] | None = None) -> str:
    """Aligned text columns: a header, a rule, the rows and an optional footer below a second rule.
    Columns whose index is in ``left`` are left-aligned, the others right-aligned."""
    all_rows = [header, *rows] + ([footer] if footer else [])
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if i in left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "-" * len(line(header))
    lines = [line(header), rule, *map(line, rows)]
    return "\n".join(lines + ([rule, line(footer)] if footer else []))


def format_table(report: Report) -> str:
    """The human-readable per-layer table with a TOTAL line (units in the headers)."""
    header = ("layer", "cycles", "util %", "stall cycles", "energy µJ", "top energy", "check")
    rows = [
        (lr.name, f"{lr.cycles.total:,}", f"{100 * lr.utilization:.2f}", f"{lr.cycles.stall:,}",
         f"{lr.energy_pj['total'] / 1e6:.6f}", _top_components(lr.energy_pj), lr.check)
        for lr in report.layers
    ]
    t = report.total
    footer = ("TOTAL", f"{t.cycles.total:,}", f"{100 * t.utilization:.2f}", f"{t.cycles.stall:,}",
              f"{t.energy_pj['total'] / 1e6:.6f}", _top_components(t.energy_pj), t.check)
    return format_columns(header, rows, left={0, 5, 6}, footer=footer)
