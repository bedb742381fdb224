"""Shared plotting: stacked energy bars in the fixed class colours (:mod:`accelsim.report.colors`)
with the legend in stacking order, and the ``accelsim compare`` figure (energy by class, the same
on chip only, and latency, side by side). matplotlib is imported only when a plot is drawn."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from accelsim.report.colors import LATENCY_COLORS, class_color
from accelsim.report.model import Report
from accelsim.report.write import ordered_classes


def png(fig: Any) -> bytes:
    """The figure as PNG bytes, without a software stamp (same inputs, same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def stacked_energy(ax: Any, labels: Sequence[str], energies: Sequence[Mapping[str, float]],
                   classes: Sequence[str]) -> None:
    """Stacked bars of each energy breakdown (pJ, drawn in µJ) by class, bottom to top in
    ``classes`` order; the legend lists the classes top of the stack first, as they appear."""
    bottom = [0.0] * len(energies)
    handles = []
    for key in classes:
        values = [e.get(key, 0.0) / 1e6 for e in energies]
        handles.append(ax.bar(labels, values, bottom=bottom, label=key, color=class_color(key)))
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.legend(handles[::-1], list(classes)[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize="small")
    ax.set_ylabel("energy µJ")
    ax.tick_params(axis="x", labelrotation=30, labelsize=7)


def compare_png(runs: Sequence[tuple[str, Report]], title: str) -> bytes:
    """Three panels, one bar per labelled run: total energy by class (µJ), the same on chip only
    (DRAM left out), and latency (µs at each run's clock) split into compute and memory stall."""
    from matplotlib.figure import Figure

    labels = [label for label, _ in runs]
    energies = [r.total.energy_pj for _, r in runs]
    classes = ordered_classes(energies)
    clocks = [float(r.arch.get("clock_mhz", 500.0)) for _, r in runs]
    stall = [r.total.cycles.stall / mhz for (_, r), mhz in zip(runs, clocks)]
    busy = [r.total.cycles.total / mhz - s for (_, r), mhz, s in zip(runs, clocks, stall)]
    fig = Figure(figsize=(max(12.0, 3 * len(runs) + 7.5), 5.0), dpi=100)
    ax_all, ax_chip, ax_time = fig.subplots(1, 3)
    stacked_energy(ax_all, labels, energies, classes)
    ax_all.set_title("energy by class")
    stacked_energy(ax_chip, labels, energies, [c for c in classes if c != "dram"])
    ax_chip.set_title("on chip (DRAM left out)")
    bars = [ax_time.bar(labels, busy, color=LATENCY_COLORS["compute"]),
            ax_time.bar(labels, stall, bottom=busy, color=LATENCY_COLORS["stall"])]
    ax_time.legend(bars[::-1], ["memory stall", "compute"], loc="upper left",
                   bbox_to_anchor=(1.01, 1.0), fontsize="small")
    ax_time.set_ylabel("latency µs")
    ax_time.set_title("latency")
    ax_time.tick_params(axis="x", labelrotation=30, labelsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return png(fig)


def distinct_colors(n: int) -> list[Any]:
    """``n`` distinct colours (tab20) for series that are not energy classes (e.g. workloads)."""
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]
