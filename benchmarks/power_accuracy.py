"""Power–accuracy study on the trained digits CNN: energy per inference against top-1 accuracy.

Every point is one quantization of the same trained network (``workloads/train_digits.py``), run
end to end on one array — a 16×16 weight-stationary array at 500 MHz, 24-bit wrapping
accumulators, ideal memory, 45 nm table — with ``accelsim run ARCH WORKLOAD --chain``: every
layer after the first is fed by the host stage from the *simulated* outputs of the layer before,
and the accuracy is that of the simulated last-layer outputs on the 200 held-out test images.
Energy per inference is the report's ``total.energy_per_inference_pj``; the *datapath* share is
the toggle classes alone (registers, multiplier/adders, rescale and row-sum units: total minus
clock and leakage).

Points (PE widths always equal the workload's data widths):

- ``int:b`` (b = 2, 4, 8; the shipped ``digits_int{b}.npz``, and ``digits_int2_qat.npz``) on a
  ``mac`` PE, activations **unsigned** (post-ReLU codes, and non-negative pixels);
- the same networks with **signed** activations: every layer's input code ``q`` in [0, 2^b − 1]
  is fed as ``q − 2^(b−1)`` (signed b-bit) and the host adds ``2^(b−1)·Σ_window w`` back, through
  the host graph's ``x_offset`` (the exporter's ``--unsigned-offset`` run backwards). The
  integers after that correction are the unsigned run's, so the accuracy is identical by
  construction and only the arithmetic's energy differs (PANN's signed-vs-unsigned question);
- ``pann:R:8`` for R in 0.5 … 8 and ``pann:R:4`` on a ``pann`` PE (one adder, dual accumulator),
  the shipped files where they exist, the other R exported at run time into a temp folder
  (needs torch and scikit-learn; skipped without them);
- ``lsqplus:4`` (symmetric and per-channel-zero-point weights) and ``lsqplus:8`` on an
  ``lsqplus`` PE in both placements (``output`` and ``pe``), against ``int:4`` / ``int:8``.

Writes ``power_accuracy.csv`` and ``power_accuracy.png`` into ``--out`` (default
``benchmarks/``) and prints the table. Usage::

    NUMBA_CACHE_DIR=/tmp/nbc_pa python -m benchmarks.power_accuracy [--out DIR] [--no-export]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import dataclasses
import io
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accelsim.cli import main as accelsim_main
from accelsim.export import host
from accelsim.workload import load_workload, save_workload

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ROOT / "workloads"
ACC_BITS = 24
#: PANN's R at 8-bit and 4-bit activations (shipped files: r1, r2, r4, r2_x4).
PANN_R_X8 = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
PANN_R_X4 = (1.0, 2.0, 4.0)
SHIPPED_PANN = {(1.0, 8): "digits_pann_r1", (2.0, 8): "digits_pann_r2",
                (4.0, 8): "digits_pann_r4", (2.0, 4): "digits_pann_r2_x4"}
COLUMNS = ("point", "family", "workload", "pe", "x_bits", "w_bits", "x_signed",
           "additions_per_mac", "accuracy_simulated", "accuracy_exporter", "accuracy_float",
           "energy_per_inference_nj", "datapath_per_inference_nj", "energy_per_mac_pj",
           "cycles", "power_mw", "check")


@dataclass(frozen=True)
class Point:
    """One run: a label, its family (plot series), the workload file and the PE."""

    label: str
    family: str
    workload: Path
    kind: str  # mac | pann | lsqplus | bitserial
    rescale: str | None = None  # lsqplus placement


def arch_yaml(point: Point, x_bits: int, w_bits: int) -> str:
    """The one array of the study, with the point's PE kind and the workload's data widths."""
    extra = {"mac": "", "bitserial": "",
             "pann": "\n  pann: {adders: 1, sign: dual_accumulator}",
             "lsqplus": f"\n  lsqplus: {{rescale: {point.rescale}}}"}[point.kind]
    return (f"version: 1\nname: ws-16x16-{point.kind}{'-' + point.rescale if point.rescale else ''}"
            f"-x{x_bits}w{w_bits}\nclock_mhz: 500\n"
            f"array: {{rows: 16, cols: 16, dataflow: ws, idle: hold}}\n"
            f"pe:\n  kind: {point.kind}\n  x_bits: {x_bits}\n  w_bits: {w_bits}\n"
            f"  acc_bits: {ACC_BITS}\n  overflow: wrap{extra}\n"
            f"energy: {{technology: 45nm}}\n")


def signed_variant(path: Path, out: Path) -> Path:
    """``path`` with every layer's unsigned input code q fed as the signed q − 2^(b−1); the host
    graph's ``x_offset`` removes the offset exactly, so every value after the correction, and the
    accuracy, are unchanged. The x and y are recomputed by the host stage (``run_graph``)."""
    wl = load_workload(path)
    graph = copy.deepcopy(wl.source["graph"])
    by_name = {layer.name: layer for layer in wl.layers}
    first = next(n for n in graph["nodes"] if n["op"] == "layer")
    input_q = np.asarray(by_name[first["layer"]].x, np.int64) - first.get("x_offset", 0)
    for node in graph["nodes"]:
        if node["op"] == "layer":
            layer = by_name[node["layer"]]
            if layer.x_signed or node.get("x_offset", 0):
                raise ValueError(f"{path}: layer {layer.name} is not fed unsigned codes")
            node["x_offset"] = -(1 << (layer.x_bits - 1))
    _, xs, ys = host.run_graph(graph, by_name, input_q)
    layers = [dataclasses.replace(layer, x=xs[layer.name], y=ys[layer.name], x_signed=True)
              for layer in wl.layers]
    source = {**wl.source, "graph": graph,
              "signed_variant": f"{path.name} with signed activations q - 2^(b-1), offset "
                                f"removed on the host (benchmarks/power_accuracy.py)"}
    pred = host.workload_predictions(source, layers)
    assert np.mean(pred == wl.labels) == wl.accuracy["quantized"], path
    target = out / f"{path.stem}_signed.npz"
    save_workload(target, f"{wl.name}_signed", layers, source, wl.labels, wl.accuracy)
    return target


def export_pann(r: float, bits: int, out: Path) -> Path | None:
    """``pann:R:bits`` of the trained digits CNN, exported like train_digits.py does (test split,
    calibrated on the training images); None without torch / scikit-learn."""
    try:
        sys.path.insert(0, str(WORKLOADS))
        import train_digits as td
    except ImportError:
        return None
    finally:
        sys.path.remove(str(WORKLOADS))
    from accelsim.export.capture import from_module
    from accelsim.export.export import export_network, parse_scheme

    x_train, _, x_test, y_test = td.digits_split()
    model = td.load_model()
    text = f"pann:{r:g}:{bits}"
    exported = export_network(model, from_module(model, "workloads/train_digits.py:load_model"),
                              x_test, y_test, parse_scheme(text), calib=x_train,
                              name=f"digits_pann_r{r:g}_x{bits}",
                              provenance={"trained": True, "generator": "power_accuracy.py"})
    target = out / f"digits_pann_r{r:g}_x{bits}.npz"
    exported.save(target)
    return target


def points(tmp: Path, export: bool) -> tuple[list[Point], list[str]]:
    """Every point of the study, and notes on the ones left out."""
    pts: list[Point] = []
    notes: list[str] = []
    for b in (2, 4, 8):
        path = WORKLOADS / f"digits_int{b}.npz"
        pts.append(Point(f"int{b} unsigned", "int, unsigned x (mac)", path, "mac"))
        pts.append(Point(f"int{b} signed", "int, signed x (mac)", signed_variant(path, tmp),
                         "mac"))
    for b in (2, 4, 8):  # the same integers on a bit-serial PE: b cycles per MAC
        pts.append(Point(f"int{b} bitserial", "int, unsigned x (bitserial)",
                         WORKLOADS / f"digits_int{b}.npz", "bitserial"))
    qat = WORKLOADS / "digits_int2_qat.npz"
    pts.append(Point("int2 QAT unsigned", "int2 QAT (mac)", qat, "mac"))
    pts.append(Point("int2 QAT signed", "int2 QAT (mac)", signed_variant(qat, tmp), "mac"))
    for bits, rs in ((8, PANN_R_X8), (4, PANN_R_X4)):
        for r in rs:
            shipped = SHIPPED_PANN.get((r, bits))
            path = WORKLOADS / f"{shipped}.npz" if shipped else (
                export_pann(r, bits, tmp) if export else None)
            if path is None:
                notes.append(f"pann R={r:g} x{bits}: not shipped and not exported")
                continue
            pts.append(Point(f"pann R={r:g} x{bits}", f"pann, {bits}-bit x", path, "pann"))
    for tag in ("lsqplus4", "lsqplus4_wzp", "lsqplus8"):
        for rescale in ("output", "pe"):
            pts.append(Point(f"{tag} {rescale}", f"lsqplus ({rescale} placement)",
                             WORKLOADS / f"digits_{tag}.npz", "lsqplus", rescale))
    return pts, notes


def run_point(point: Point, tmp: Path) -> dict:
    """``accelsim run ARCH WORKLOAD --chain --json`` for one point; the CSV row."""
    wl = load_workload(point.workload)
    x_bits = max(layer.x_bits for layer in wl.layers)
    w_bits = max(layer.w_bits for layer in wl.layers)
    arch = tmp / f"arch-{point.label.replace(' ', '_').replace('=', '')}.yaml"
    arch.write_text(arch_yaml(point, x_bits, w_bits))
    report = tmp / "report.json"
    with contextlib.redirect_stdout(io.StringIO()):
        rc = accelsim_main(["run", str(arch), str(point.workload), "--chain", "--quiet",
                            "--json", str(report)])
    if rc != 0:
        raise SystemExit(f"{point.label}: accelsim run exited {rc}")
    doc = json.loads(report.read_text())
    total = doc["total"]
    energy = total["energy_pj"]
    datapath = energy["total"] - sum(energy.get(k, 0.0) for k in ("clock", "leakage", "sram",
                                                                   "dram"))
    n = total["inferences"]
    acc = total["accuracy"]
    return {
        "point": point.label, "family": point.family, "workload": point.workload.name,
        "pe": point.kind + (f" ({point.rescale})" if point.rescale else ""),
        "x_bits": x_bits, "w_bits": w_bits,
        "x_signed": any(layer.x_signed for layer in wl.layers),
        "additions_per_mac": total.get("additions_per_mac", ""),
        "accuracy_simulated": acc["simulated"], "accuracy_exporter": acc["exporter"],
        "accuracy_float": wl.accuracy["float"],
        "energy_per_inference_nj": total["energy_per_inference_pj"] / 1e3,
        "datapath_per_inference_nj": datapath / n / 1e3,
        "energy_per_mac_pj": total["energy_per_mac_pj"], "cycles": total["cycles"]["total"],
        "power_mw": total["power_mw"], "check": total["check"],
    }  # fmt: skip


def write_csv(rows: list[dict], path: Path) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
    path.write_text(buf.getvalue())


def plot(rows: list[dict], path: Path) -> None:
    """Two panels (total and datapath energy per inference vs accuracy), one series per family."""
    from matplotlib.figure import Figure

    families = list(dict.fromkeys(r["family"] for r in rows))
    markers = "os^vDP*Xh"
    fig = Figure(figsize=(13, 5.5), dpi=100)
    for i, key in enumerate(("energy_per_inference_nj", "datapath_per_inference_nj")):
        ax = fig.add_subplot(1, 2, i + 1)
        for j, fam in enumerate(families):
            pts = [r for r in rows if r["family"] == fam]
            ax.plot([r[key] for r in pts], [100 * r["accuracy_simulated"] for r in pts],
                    marker=markers[j % len(markers)], linestyle="-" if "pann" in fam else "none",
                    label=fam)
            for r in pts:
                words = r["point"].split(" ")
                tag = (words[1] if "pann" in fam else words[0].removeprefix("lsqplus") if
                       "lsqplus" in fam else " ".join(words[:-1]))
                ax.annotate(tag, (r[key], 100 * r["accuracy_simulated"]), fontsize=6,
                            textcoords="offset points", xytext=(3, 3))
        ax.axhline(100 * rows[0]["accuracy_float"], color="gray", linestyle="--", linewidth=0.8,
                   label="float model")
        ax.set_xscale("log")
        ax.set_xlabel(("total" if i == 0 else "datapath (toggles only)") +
                      " energy per inference, nJ (log)")
        ax.set_ylabel("top-1 accuracy of the simulated outputs, %")
        ax.set_title("digits CNN, 16×16 ws, 45 nm, 200 test images")
        ax.grid(alpha=0.3)
        if i == 1:
            ax.legend(fontsize="small", loc="lower right")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})


def table(rows: list[dict]) -> str:
    header = ("point", "pe", "x/w bits", "R", "acc sim", "acc exp", "nJ/inf", "datapath nJ/inf",
              "pJ/MAC", "cycles", "check")
    lines = [header]
    for r in rows:
        lines.append((r["point"], r["pe"], f"{r['x_bits']}/{r['w_bits']}",
                      f"{r['additions_per_mac']:.2f}" if r["additions_per_mac"] != "" else "",
                      f"{r['accuracy_simulated']:.3f}", f"{r['accuracy_exporter']:.3f}",
                      f"{r['energy_per_inference_nj']:.3f}",
                      f"{r['datapath_per_inference_nj']:.3f}", f"{r['energy_per_mac_pj']:.4f}",
                      f"{r['cycles']:,}", r["check"]))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(line, widths))) for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks",
                        help="folder for power_accuracy.csv and power_accuracy.png")
    parser.add_argument("--no-export", action="store_true",
                        help="only the shipped workloads (no torch needed)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="accelsim-pa-") as folder:
        tmp = Path(folder)
        pts, notes = points(tmp, export=not args.no_export)
        rows = [run_point(p, tmp) for p in pts]
    write_csv(rows, args.out / "power_accuracy.csv")
    plot(rows, args.out / "power_accuracy.png")
    print(table(rows))
    for note in notes:
        print(f"note: {note}")
    print(f"wrote {args.out / 'power_accuracy.csv'} and .png in "
          f"{time.perf_counter() - start:.1f} s")
    return 0 if all(r["check"] == "exact" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
