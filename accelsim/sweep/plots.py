"""Sweep plots (PNG bytes): the energy–latency Pareto front, the energy breakdown of the Pareto
points (all classes, and on chip only), and accuracy against energy when the workloads have labels.
Energy classes keep their colours from :mod:`accelsim.report.colors`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from accelsim.report.plots import distinct_colors, png, stacked_energy
from accelsim.report.write import ordered_classes


def _label(row: Mapping[str, Any], axis_keys: Sequence[str]) -> str:
    from accelsim.sweep.spec import format_value

    return " ".join(format_value(k, row[k]) for k in axis_keys)


def pareto_png(rows: Sequence[Mapping[str, Any]], axis_keys: Sequence[str], title: str) -> bytes:
    """Energy (µJ) against latency (cycles) of every measured point; the Pareto front in red,
    joined by a step line and labelled by id and axis values (other points by id, in grey, when
    there are at most 60)."""
    from matplotlib.figure import Figure

    measured = [r for r in rows if r["energy_pj"] is not None]
    front = sorted((r for r in measured if r["pareto"]), key=lambda r: r["cycles_total"])
    fig = Figure(figsize=(9.0, 6.0), dpi=100)
    ax = fig.add_subplot()
    others = [r for r in measured if not r["pareto"]]
    ax.scatter([r["cycles_total"] for r in others], [r["energy_pj"] / 1e6 for r in others],
               color="#7f7f7f", s=22, label="design point")
    ax.step([r["cycles_total"] for r in front], [r["energy_pj"] / 1e6 for r in front],
            where="post", color="#d62728", linewidth=1.2)
    ax.scatter([r["cycles_total"] for r in front], [r["energy_pj"] / 1e6 for r in front],
               color="#d62728", s=40, zorder=3, label="Pareto front")
    for r in front:
        ax.annotate(f"{r['point']} {_label(r, axis_keys)}",
                    (r["cycles_total"], r["energy_pj"] / 1e6), textcoords="offset points",
                    xytext=(4, 4), fontsize=7, color="#d62728")
    if len(measured) <= 60:  # ids only: the table maps them to axis values
        for r in others:
            ax.annotate(r["point"], (r["cycles_total"], r["energy_pj"] / 1e6),
                        textcoords="offset points", xytext=(4, -8), fontsize=6, color="#7f7f7f")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("latency, cycles (log)")
    ax.set_ylabel("energy µJ (log)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="upper right", fontsize="small")
    fig.tight_layout()
    return png(fig)


def breakdown_png(rows: Sequence[Mapping[str, Any]], reports: Mapping[str, Mapping[str, Any]],
                  axis_keys: Sequence[str], title: str) -> bytes:
    """Energy by class of the Pareto points (lowest latency first): all classes, then on chip
    only (DRAM left out)."""
    from matplotlib.figure import Figure

    front = sorted((r for r in rows if r["pareto"]), key=lambda r: r["cycles_total"])
    chosen = [reports[r["point"]] for r in front]
    labels = [f"{r['point']}\n{_label(r, axis_keys)}" for r in front]
    energies = [r["total"]["energy_pj"] for r in chosen]
    classes = ordered_classes(energies)
    fig = Figure(figsize=(max(8.0, 1.3 * len(front) * 2 + 4), 5.5), dpi=100)
    ax_all, ax_chip = fig.subplots(1, 2)
    stacked_energy(ax_all, labels, energies, classes)
    ax_all.set_title("all energy")
    stacked_energy(ax_chip, labels, energies, [c for c in classes if c != "dram"])
    ax_chip.set_title("on chip (DRAM left out)")
    fig.suptitle(title)
    fig.tight_layout()
    return png(fig)


def accuracy_png(rows: Sequence[Mapping[str, Any]], axis_keys: Sequence[str], title: str
                 ) -> bytes:
    """Top-1 accuracy of the simulated outputs against energy (µJ), one colour per workload."""
    from matplotlib.figure import Figure

    measured = [r for r in rows if r["accuracy_top1"] is not None]
    workloads = list(dict.fromkeys(r["workload"] for r in measured))
    colors = distinct_colors(len(workloads))
    fig = Figure(figsize=(8.0, 5.5), dpi=100)
    ax = fig.add_subplot()
    for color, name in zip(colors, workloads):
        mine = [r for r in measured if r["workload"] == name]
        ax.scatter([r["energy_pj"] / 1e6 for r in mine], [r["accuracy_top1"] for r in mine],
                   color=color, label=name, s=26)
    ax.set_xscale("log")
    ax.set_xlabel("energy µJ (log)")
    ax.set_ylabel("top-1 accuracy (simulated outputs)")
    ax.set_title(title)
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return png(fig)
