"""Serialize a Report (JSON, CSV, human table), simulated outputs (npz) and per-cycle traces
(CSV + PNG) to bytes in memory; :func:`accelsim.report.outputs.write_atomically` writes them all or
none.
"""

from __future__ import annotations

import csv
import io
import json
import math
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from accelsim.report.memory import DRAM_COUNTS, csv_fields, table_rows
from accelsim.report.model import DECIMALS, Report
from accelsim.sim.types import LayerSim

#: Above this many cycles a trace plot shows per-bin means instead of every cycle.
PLOT_MAX_POINTS = 2000


def report_json(report: Report) -> bytes:
    """The JSON report (docs/reference/report.md): sorted keys, 2-space indent, trailing newline,
    UTF-8."""
    text = json.dumps(report.to_dict(), sort_keys=True, indent=2, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _float(value: float) -> str:
    return f"{value:.{DECIMALS}f}"


def _cell(value: Any) -> Any:
    """A CSV cell: floats with ``DECIMALS`` places, anything else as it is."""
    return _float(value) if isinstance(value, float) else value


def report_csv(report: Report) -> bytes:
    """One row per layer; snake_case headers with units; floats with ``DECIMALS`` places.
    ``sram_<buffer>_<reads|writes|energy_pj>`` (words, pJ), ``dram_<key>`` and the other memory
    columns (``accelsim.report.memory.csv_fields``) appear only when the memory system was
    simulated; ``additions`` and ``additions_per_mac`` (PANN's R) only when the PE kind counts
    additions."""
    classes = list(dict.fromkeys(c for lr in report.layers for c in lr.toggles))
    energy_keys = list(dict.fromkeys(k for lr in report.layers for k in lr.energy_pj))
    sram_keys = list(dict.fromkeys((b, k) for lr in report.layers for b, counts in
                                   (lr.sram or {}).items() for k in counts))
    dram_keys = list(dict.fromkeys(k for lr in report.layers for k in (lr.dram or {})
                                   if k in DRAM_COUNTS))
    memory = [csv_fields(lr) for lr in report.layers]
    memory_keys = list(dict.fromkeys(k for fields in memory for k in fields))
    adds = any(lr.additions is not None for lr in report.layers)
    header = ["layer", "op", "groups", "gemm_m", "gemm_k", "gemm_n", "folds", "cycles_total",
              "cycles_compute", "cycles_stall", "cycles_compute_active", "utilization_fraction",
              "macs"] + (["additions", "additions_per_mac"] if adds else []) + ["overflows"]
    header += [f"toggles_{c}" for c in classes] + [f"energy_{k}_pj" for k in energy_keys]
    header += ["energy_per_mac_pj", "energy_per_inference_pj", "power_mw"]
    header += [f"sram_{b}_{k}" for b, k in sram_keys] + [f"dram_{k}" for k in dram_keys]
    header += memory_keys
    header += ["check", "reference"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for lr, fields in zip(report.layers, memory):
        c = lr.cycles
        r = ([] if not adds else ["", ""] if lr.additions is None else
             [lr.additions, _float(lr.additions_per_mac or 0.0)])
        writer.writerow(
            [lr.name, lr.op, lr.gemm.groups, lr.gemm.M, lr.gemm.K, lr.gemm.N, lr.folds, c.total,
             c.compute, c.stall, c.compute_active, _float(lr.utilization), lr.macs, *r,
             lr.overflows]
            + [lr.toggles.get(k, 0) for k in classes]
            + [_float(lr.energy_pj.get(k, 0.0)) for k in energy_keys]
            + [_float(lr.energy_per_mac_pj), _float(lr.energy_per_inference_pj),
               _float(lr.power_mw)]
            + [_cell((lr.sram or {}).get(b, {}).get(k, "")) for b, k in sram_keys]
            + [_cell((lr.dram or {}).get(k, "")) for k in dram_keys]
            + [_cell(fields.get(k, "")) for k in memory_keys]
            + [lr.check, lr.reference]
        )
    return buf.getvalue().encode("utf-8")


def outputs_npz(sims: Sequence[LayerSim]) -> bytes:
    """An uncompressed ``.npz`` with one int array ``<layer>/y`` per layer (the raw array
    outputs), plus ``<layer>/y_out`` for a layer the on-chip output unit requantized (its outputs
    as they leave the chip, datapath.md §7); loads without pickle."""
    buf = io.BytesIO()
    arrays = {f"{s.name}/y": np.asarray(s.y) for s in sims}
    arrays.update({f"{s.name}/y_out": np.asarray(s.y_out) for s in sims if s.y_out is not None})
    np.savez(buf, **arrays)
    return buf.getvalue()


#: Longest file-name stem taken from a layer name (characters), before the hash suffix.
STEM_MAX = 80


def trace_stem(layer_name: str) -> str:
    """File-name stem for a layer: characters outside ``[A-Za-z0-9._-]`` become ``_`` and a
    leading ``.`` becomes ``_`` (no hidden files); a stem longer than :data:`STEM_MAX` is cut
    and suffixed like a collision (see :func:`trace_stems`)."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", layer_name)
    stem = "_" + stem[1:] if stem.startswith(".") or not stem else stem
    return stem if len(stem) <= STEM_MAX else f"{stem[:STEM_MAX]}-{_name_hash(layer_name)}"


def _name_hash(layer_name: str) -> str:
    return hashlib.sha256(layer_name.encode("utf-8")).hexdigest()[:8]


def trace_stems(layer_names: Sequence[str]) -> dict[str, str]:
    """Unique, deterministic file-name stems: :func:`trace_stem` of each name, and where two
    names give the same stem (compared case-insensitively, for case-insensitive file systems),
    each of those gets ``-`` and the first 8 hex digits of the SHA-256 of its UTF-8 name. A stem
    depends only on the names it collides with, not on their order."""
    stems = {name: trace_stem(name) for name in layer_names}
    count: dict[str, int] = {}
    for stem in stems.values():
        count[stem.casefold()] = count.get(stem.casefold(), 0) + 1
    return {name: stem if count[stem.casefold()] == 1 else f"{stem}-{_name_hash(name)}"
            for name, stem in stems.items()}


def trace_paths(layer_names: Sequence[str], folder: Path, power: bool = True
                ) -> dict[str, dict[str, Path]]:
    """``{layer: {"trace.csv": path, "trace.png": ..., "power.csv": ..., "power.png": ...}}``,
    the files :func:`trace_files` writes in ``folder`` (power files only with ``power``)."""
    kinds = ("trace.csv", "trace.png") + (("power.csv", "power.png") if power else ())
    return {name: {kind: folder / f"{stem}.{kind}" for kind in kinds}
            for name, stem in trace_stems(layer_names).items()}


def trace_csv(trace: np.ndarray, classes: Sequence[str]) -> bytes:
    """Per-cycle toggles: columns ``cycle``, one per class, ``total``."""
    trace = np.asarray(trace, dtype=np.int64)
    table = np.column_stack([np.arange(len(trace)), trace, trace.sum(axis=1)])
    buf = io.StringIO()
    np.savetxt(buf, table, fmt="%d", delimiter=",", header=",".join(["cycle", *classes, "total"]),
               comments="")
    return buf.getvalue().encode("utf-8")


def _bin_means(series: np.ndarray, size: int) -> np.ndarray:
    """Means of ``series`` rows over consecutive bins of ``size`` rows (the last may be shorter)."""
    rows = len(series)
    bins = math.ceil(rows / size)
    padded = np.zeros((bins * size, series.shape[1]))
    padded[:rows] = series
    counts = np.minimum(size, rows - np.arange(bins) * size)[:, None]
    return padded.reshape(bins, size, -1).sum(axis=1) / counts


def _line_plot(series: np.ndarray, names: Sequence[str], title: str, ylabel: str) -> bytes:
    """PNG of the columns of ``series`` (one row per cycle) over time, as means over bins of
    ``ceil(cycles / PLOT_MAX_POINTS)`` cycles when longer than ``PLOT_MAX_POINTS``; each class in
    its fixed colour (:func:`accelsim.report.colors.class_color`)."""
    from matplotlib.figure import Figure  # Agg canvas, no pyplot state; imported only for plots

    size = max(1, math.ceil(len(series) / PLOT_MAX_POINTS))
    means = _bin_means(series, size)
    from accelsim.report.colors import class_color

    fig = Figure(figsize=(9, 4), dpi=100)
    ax = fig.add_subplot()
    for i, name in enumerate(names):
        width = 1.5 if name == "total" else 0.8
        ax.plot(np.arange(len(means)) * size, means[:, i], label=name, linewidth=width,
                color=class_color(name))
    ax.set_xlabel("cycle" if size == 1 else f"cycle (bins of {size} cycles)")
    ax.set_ylabel(ylabel if size == 1 else f"{ylabel} (bin mean)")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def trace_png(trace: np.ndarray, classes: Sequence[str], title: str) -> bytes:
    """A PNG of toggles per cycle per class and in total; traces longer than ``PLOT_MAX_POINTS``
    cycles are shown as means over bins of ``ceil(cycles / PLOT_MAX_POINTS)`` cycles."""
    trace = np.asarray(trace, dtype=np.int64)
    series = np.column_stack([trace, trace.sum(axis=1)]).astype(float)
    return _line_plot(series, [*classes, "total"], title, "toggles per cycle")


def power_csv(columns: Sequence[str], energy_pj: np.ndarray, clock_mhz: float,
              bin_cycles: int = 1) -> bytes:
    """Average power (mW) per bin of ``bin_cycles`` cycles from per-cycle energies (pJ):
    columns ``cycle`` (first cycle of the bin), ``cycles`` (bin length: the stated bin size, the
    last bin may be shorter), then ``<column>_mw``."""
    energy_pj = np.asarray(energy_pj, dtype=np.float64).reshape(-1, len(columns))
    cycles = len(energy_pj)
    means = _bin_means(energy_pj, bin_cycles) * clock_mhz / 1e3  # pJ/cycle · MHz = µW
    starts = np.arange(len(means)) * bin_cycles
    lengths = np.minimum(bin_cycles, cycles - starts)
    buf = io.StringIO()
    buf.write(",".join(["cycle", "cycles", *(f"{c}_mw" for c in columns)]) + "\n")
    for start, length, row in zip(starts, lengths, means):
        buf.write(f"{start},{length}," + ",".join(_float(v) for v in row) + "\n")
    return buf.getvalue().encode("utf-8")


def power_png(columns: Sequence[str], energy_pj: np.ndarray, clock_mhz: float,
              title: str) -> bytes:
    """A PNG of power (mW) over time per column (binned like :func:`trace_png`)."""
    series = np.asarray(energy_pj, dtype=np.float64) * clock_mhz / 1e3
    return _line_plot(series, list(columns), title, "power mW")


def trace_files(
    sims: Sequence[LayerSim],
    classes: Sequence[str],
    folder: Path,
    power: Mapping[str, tuple[Sequence[str], np.ndarray]] | None = None,
    clock_mhz: float = 500.0,
    bin_cycles: int = 1,
    all_names: Sequence[str] | None = None,
) -> dict[Path, bytes]:
    """``folder/<stem>.trace.csv`` and ``.trace.png`` (toggles per cycle) for every layer (needs
    their traces; stems from :func:`trace_stems`); with ``power`` ({layer: (columns, per-cycle
    pJ)}) also ``<stem>.power.csv`` (average mW per bin of ``bin_cycles``) and
    ``<stem>.power.png``. ``all_names`` (default: the
    simulated layers) are the names the stems are made unique among: pass every layer of the
    workload so that a layer's file names do not depend on which layers were run."""
    files: dict[Path, bytes] = {}
    names = [s.name for s in sims] if all_names is None else all_names
    paths = trace_paths(names, folder, power is not None)
    for s in sims:
        if s.result.trace is None:
            raise ValueError(f"layer {s.name!r} was simulated without a trace")
        path = paths[s.name]
        files[path["trace.csv"]] = trace_csv(s.result.trace, classes)
        files[path["trace.png"]] = trace_png(s.result.trace, classes,
                                             f"{s.name}: toggles per cycle")
        if power is not None:
            columns, table = power[s.name]
            files[path["power.csv"]] = power_csv(columns, table, clock_mhz, bin_cycles)
            files[path["power.png"]] = power_png(
                columns, table, clock_mhz, f"{s.name}: power at {clock_mhz:g} MHz")
    return files


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
    sampled = report.total.energy_ci95_pj is not None
    header = ("layer", "cycles", "util %", "stall cycles", "energy µJ",
              *(("± 95% µJ",) if sampled else ()), "top energy", "check")

    def row(name: str, part: Any) -> tuple[str, ...]:
        ci = part.energy_ci95_pj
        spread = (f"{(ci[1] - ci[0]) / 2e6:.6f}",) if sampled and ci is not None else \
            ("",) if sampled else ()
        return (name, f"{part.cycles.total:,}", f"{100 * part.utilization:.2f}",
                f"{part.cycles.stall:,}", f"{part.energy_pj['total'] / 1e6:.6f}", *spread,
                _top_components(part.energy_pj), part.check)

    rows = [row(lr.name, lr) for lr in report.layers]
    left = {0, 6, 7} if sampled else {0, 5, 6}
    return format_columns(header, rows, left=left, footer=row("TOTAL", report.total))


def _uj(pj: float) -> str:
    return f"{pj / 1e6:.6f}"


def _power_split(t: Any) -> str:
    """`` (on chip X mW + off chip (DRAM) Y mW)`` when the report has the split, else ``""``."""
    if t.power_on_chip_mw is None:
        return ""
    if t.power_off_chip_mw is None:
        return f" (on chip {t.power_on_chip_mw:.3f} mW; DRAM not modelled)"
    return (f" = on chip {t.power_on_chip_mw:.3f} mW + off chip (DRAM) "
            f"{t.power_off_chip_mw:.3f} mW")


def format_memory(report: Report) -> str:
    """The memory table (DRAM KiB per operand, average and peak bandwidth, bus utilization,
    stall cycles by cause per layer and in total) and the SRAM energy per buffer; ``""`` with
    ideal memory."""
    table = table_rows(report)
    if table is None:
        return ""
    header, rows, footer = table
    window = (report.total.dram or {}).get("peak_window_cycles")
    title = ("memory: stall cycles by cause" if window is None else
             f"memory: DRAM KiB by operand, bus bandwidth in bytes/cycle (average, peak over "
             f"{window}-cycle windows) and utilization, stall cycles by cause")
    lines = [title, format_columns(header, rows, left={0}, footer=footer)]
    sram = report.total.sram or {}
    parts = [f"{b} {_uj(c['energy_pj'])}" for b, c in sram.items() if "energy_pj" in c]
    if parts:
        lines.append("SRAM energy by buffer, µJ: " + ", ".join(parts))
    return "\n".join(lines)


def format_summary(report: Report, clock_mhz: float) -> str:
    """Lines below the table: energy per MAC, per inference and average power (split into on
    chip and off chip when memory is modelled), the total energy by class (µJ and share), the
    memory table (:func:`format_memory`), then PANN's additions per MAC and the accuracy of the
    simulated outputs when the report has them."""
    t = report.total
    e = t.energy_pj
    head = (f"energy: {_uj(e.get('total', 0.0))} µJ total, {t.energy_per_mac_pj:.4f} pJ/MAC, "
            f"{_uj(t.energy_per_inference_pj)} µJ/inference ({t.inferences} inferences); "
            f"average power {t.power_mw:.3f} mW at {clock_mhz:g} MHz{_power_split(t)}")
    total = e.get("total", 0.0)
    parts = [f"{k} {_uj(v)} ({100 * v / total:.1f}%)" if total > 0 else f"{k} {_uj(v)}"
             for k, v in e.items() if k != "total"]
    lines = [head, "energy by class, µJ: " + ", ".join(parts)]
    memory = format_memory(report)
    if memory:
        lines.append(memory)
    if t.additions is not None:
        lines.append(f"additions: {t.additions:,} ({t.additions_per_mac:.4f} per MAC)")
    if t.sample is not None:
        s = t.sample
        lines.append(f"sampled: {s['folds_sampled']:,} of {s['folds_total']:,} folds "
                     f"(--sample {s['fraction']:g}, seed {s['seed']}; {s['folds_run']:,} folds "
                     f"run with warm-up); toggles and energy are estimates with 95% intervals "
                     f"(JSON: toggles_ci95, energy_ci95_pj), cycles and memory exact, outputs "
                     f"from an exact GEMM")
    if t.accuracy is not None:
        a = t.accuracy
        exporter = "none in the file" if a.exporter is None else f"{a.exporter:.4f}"
        lines.append(f"accuracy (top-1, {a.samples} samples): simulated {a.simulated:.4f}, "
                     f"exporter {exporter}")
    if report.area_mm2 is not None:
        from accelsim.energy.area import format_area

        lines.append(format_area(report.area_mm2))
    return "\n".join(lines)


#: Display order of energy classes (unknown toggle classes go before ``clock``).
ENERGY_ORDER = ("x_reg", "w_reg", "psum_reg", "acc_reg", "mult", "adder", "rescale", "rowsum",
                "clock", "sram", "dram", "leakage")


def ordered_classes(energies: Iterable[Mapping[str, float]]) -> list[str]:
    """The energy classes of ``energies`` (``total`` left out) in :data:`ENERGY_ORDER`; classes
    it does not list go just before ``clock``, in order of appearance."""
    keys = dict.fromkeys(k for e in energies for k in e if k != "total")
    clock = ENERGY_ORDER.index("clock")
    return sorted(keys, key=lambda k: ENERGY_ORDER.index(k) if k in ENERGY_ORDER else clock - 1)


def energy_classes(runs: Sequence[tuple[str, Report]]) -> list[str]:
    """The energy classes of all runs' totals in :data:`ENERGY_ORDER` (:func:`ordered_classes`)."""
    return ordered_classes(r.total.energy_pj for _, r in runs)


def format_compare(runs: Sequence[tuple[str, Report]]) -> str:
    """Runs side by side, one column each: workload (when they differ), cycles, latency, energy
    (total, on chip, per MAC / inference), power, SRAM and DRAM bytes ("-" with ideal memory), the
    energy breakdown by class (µJ) and the output check."""
    from accelsim.report.summary import part_metrics

    header = ("", *(label for label, _ in runs))
    keys = energy_classes(runs)
    metrics = {id(r): part_metrics(r.to_dict()["total"], float(r.arch.get("clock_mhz", 500.0)))
               for _, r in runs}

    def row(name: str, cell: Callable[[Report], str]) -> tuple[str, ...]:
        return (name, *(cell(r) for _, r in runs))

    def count(key: str) -> Callable[[Report], str]:
        return lambda r: "-" if metrics[id(r)][key] is None else f"{metrics[id(r)][key]:,}"

    rows = [row("workload", lambda r: r.workload.name)] if len(
        {r.workload.sha256 for _, r in runs}) > 1 else []
    rows += [
        row("cycles", lambda r: f"{r.total.cycles.total:,}"),
        row("stall cycles", lambda r: f"{r.total.cycles.stall:,}"),
        row("latency µs", lambda r: f"{metrics[id(r)]['latency_us']:.3f}"),
        row("utilization %", lambda r: f"{100 * r.total.utilization:.2f}"),
        row("energy µJ", lambda r: _uj(r.total.energy_pj.get("total", 0.0))),
        row("energy on chip µJ", lambda r: _uj(metrics[id(r)]["energy_onchip_pj"])),
        row("energy / MAC pJ", lambda r: f"{r.total.energy_per_mac_pj:.4f}"),
        row("energy / inference µJ", lambda r: _uj(r.total.energy_per_inference_pj)),
        row("average power mW", lambda r: f"{r.total.power_mw:.3f}"),
        row("SRAM read bytes", count("sram_read_bytes")),
        row("SRAM write bytes", count("sram_write_bytes")),
        row("DRAM read bytes", count("dram_read_bytes")),
        row("DRAM write bytes", count("dram_write_bytes")),
    ]
    rows += [row(f"  {k} µJ", lambda r, k=k: _uj(r.total.energy_pj[k])
                 if k in r.total.energy_pj else "-") for k in keys]
    rows.append(row("area mm²", lambda r: "-" if r.area_mm2 is None
                    else f"{r.area_mm2['total']:.4g}"))
    rows.append(row("check", lambda r: r.total.check))
    return format_columns(header, rows, left={0})
