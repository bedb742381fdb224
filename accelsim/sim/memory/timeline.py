"""``--trace DIR`` output of the memory system: fold and DRAM timelines as CSV and a Gantt PNG.

Files (rendered to bytes by :func:`timeline_files`; the command line writes them with its other
outputs, all or none):

- ``memory_folds.csv``: ``layer,fold,start_cycle,end_cycle,stall_cycles`` — one row per fold;
- ``memory_dram.csv``: ``layer,direction,operand,start_cycle,end_cycle,bytes`` — one row per DRAM
  transfer (bus busy interval);
- ``memory_timeline.png``: lanes ``array`` (folds, coloured by layer, stalls in grey just before
  each fold), ``DRAM read`` and ``DRAM write``, time in cycles.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from accelsim.sim.memory.scheduler import DramSpan, FoldSpan

if TYPE_CHECKING:
    from accelsim.sim.memory import MemoryResult


def _fmt(v: float) -> str:
    """Cycle times with at most 3 decimals, integers without any."""
    return str(int(v)) if float(v).is_integer() else f"{v:.3f}"


#: The files :func:`timeline_files` renders, in ``DIR``.
TIMELINE_FILES = ("memory_folds.csv", "memory_dram.csv", "memory_timeline.png")


def _csv(header: str, rows: list[list[object]]) -> bytes:
    """CSV bytes (layer names quoted where they hold commas, quotes or line breaks)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header.split(","))
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def timeline_files(results: Sequence[MemoryResult], names: Sequence[str],
                   out_dir: Path) -> dict[Path, bytes]:
    """The fold and DRAM timelines of ``results`` (one ``MemoryResult`` per layer, named
    ``names``) as ``{out_dir / file: bytes}`` for the :data:`TIMELINE_FILES`: two CSV files and a
    Gantt-style PNG."""
    out = Path(out_dir)
    folds = [e for r in results for e in r.timeline if isinstance(e, FoldSpan)]
    spans = sorted((e for r in results for e in r.timeline if isinstance(e, DramSpan)),
                   key=lambda s: (s.start, s.end))
    folds_csv, dram_csv, png = TIMELINE_FILES
    return {
        out / folds_csv: _csv("layer,fold,start_cycle,end_cycle,stall_cycles",
                              [[f.layer, f.fold, _fmt(f.start), _fmt(f.end), _fmt(f.stall)]
                               for f in folds]),
        out / dram_csv: _csv("layer,direction,operand,start_cycle,end_cycle,bytes",
                             [[s.layer, s.direction, s.operand, _fmt(s.start), _fmt(s.end),
                               s.bytes] for s in spans]),
        out / png: _gantt(folds, spans, list(names)),
    }


def _gantt(folds: list[FoldSpan], spans: list[DramSpan], names: list[str]) -> bytes:
    """The PNG bytes of the Gantt chart."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.2), dpi=100)
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps["tab20"]
    color = {n: cmap(i % 20) for i, n in enumerate(names)}
    lanes = {"array": 2, "DRAM read": 1, "DRAM write": 0}
    by_layer: dict[str, list] = {}
    stalls = []
    for f in folds:
        by_layer.setdefault(f.layer, []).append((f.start, f.end - f.start))
        if f.stall > 0:
            stalls.append((f.start - f.stall, f.stall))
    for layer, bars in by_layer.items():
        ax.broken_barh(bars, (lanes["array"] - 0.4, 0.8), facecolors=color.get(layer, "C0"),
                       label=layer)
    if stalls:
        ax.broken_barh(stalls, (lanes["array"] - 0.4, 0.8), facecolors="0.75", label="stall")
    for direction, lane in (("read", "DRAM read"), ("write", "DRAM write")):
        for layer in names:  # DRAM transfers in the colour of the layer they serve
            bars = [(s.start, s.end - s.start) for s in spans
                    if s.direction == direction and s.layer == layer]
            if bars:
                ax.broken_barh(bars, (lanes[lane] - 0.4, 0.8), facecolors=color[layer])
    ax.set_yticks(list(lanes.values()), list(lanes.keys()))
    ax.set_xlabel("cycles")
    ax.set_ylim(-0.6, 2.6)
    if len(by_layer) <= 24:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=6, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
