"""``accelsim gates``: accelsim's documented PE datapath against a netlist Yosys synthesizes.

For each sampled layer stream (:mod:`accelsim.gates.stream`) both are simulated on the same
operands: the model (the docs/datapath.md multiplier and adder, whose toggles the kernels
reproduce exactly) and the gate level (behavioural ``x * w`` and ``acc + p`` synthesized by
Yosys to generic gates with ABC, or the user's own PE). Per class it reports toggles per
operation, the gate/model ratio *calibrated* on uniformly random operands (the per-toggle
energies of both are calibrated on such operands, so this is the energy ratio), the per-cycle
correlation and the glitch factor (unit-delay / zero-delay toggles).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from accelsim.gates import yosys
from accelsim.gates.datapath import adder, multiplier
from accelsim.gates.evaluate import stream as evaluate_stream
from accelsim.gates.netlist import Netlist
from accelsim.gates.stream import Stream, layer_stream, uniform_stream

@dataclass(frozen=True)
class PeFormat:
    """Operand widths (bits) and signedness of one PE configuration."""

    x_bits: int
    w_bits: int
    acc_bits: int
    x_signed: bool
    w_signed: bool


def _mask(v: np.ndarray, bits: int) -> np.ndarray:
    return np.asarray(v, dtype=np.int64) & ((1 << bits) - 1)


def model_units(f: PeFormat) -> dict[str, Netlist]:
    """The documented multiplier (inputs x, w) and accumulator adder (inputs a, b)."""
    mult = Netlist()
    mult.outputs["p"] = multiplier(mult, mult.input("x", f.x_bits), mult.input("w", f.w_bits),
                                   f.x_signed, f.w_signed)
    add = Netlist()
    add.outputs["s"] = adder(add, add.input("a", f.acc_bits), add.input("b", f.acc_bits))
    return {"mult": mult, "adder": add}


def behavioural_verilog(f: PeFormat) -> dict[str, str]:
    """Behavioural Verilog of the multiplier (``x * w``) and the adder (``a + b``)."""
    def operand(name: str, signed: bool) -> str:
        return f"$signed({name})" if signed else f"$signed({{1'b0, {name}}})"

    pb = f.x_bits + f.w_bits
    mult = (f"module mult(input [{f.x_bits - 1}:0] x, input [{f.w_bits - 1}:0] w, "
            f"output [{pb - 1}:0] p);\n  wire signed [{pb + 1}:0] full = "
            f"{operand('x', f.x_signed)} * {operand('w', f.w_signed)};\n"
            f"  assign p = full[{pb - 1}:0];\nendmodule\n")
    add = (f"module add(input [{f.acc_bits - 1}:0] a, input [{f.acc_bits - 1}:0] b, "
           f"output [{f.acc_bits - 1}:0] s);\n  assign s = a + b;\nendmodule\n")
    return {"mult": mult, "adder": add}


def unit_inputs(cls: str, f: PeFormat, s: Stream) -> dict[str, np.ndarray]:
    """Input bit patterns of unit ``cls`` (``mult``, ``adder`` or ``datapath``) per cycle."""
    if cls == "mult":
        return {"x": _mask(s.x, f.x_bits), "w": _mask(s.w, f.w_bits)}
    if cls == "adder":
        return {"a": _mask(s.acc, f.acc_bits), "b": _mask(s.x * s.w, f.acc_bits)}
    return {"x": _mask(s.x, f.x_bits), "w": _mask(s.w, f.w_bits),
            "psum_in": _mask(s.acc, f.acc_bits)}


@dataclass
class Units:
    """Model and gate-level netlists per class of one PE format."""

    model: dict[str, Netlist]
    gate: dict[str, Netlist]


class FunctionError(ValueError):
    """A gate-level unit does not compute what its port convention says."""


def check_function(units: Units, f: PeFormat, s: Stream) -> None:
    """Require every gate-level unit to compute its function on stream ``s``: ``p = x·w``
    (``x_bits + w_bits`` bits), ``s = a + b`` and ``psum_out = psum_in + x·w`` (``acc_bits``,
    wrapping). Raises FunctionError naming the unit and the first differing cycle."""
    from accelsim.gates.evaluate import outputs

    prod = s.x * s.w
    expect = {"mult": ("p", _mask(prod, f.x_bits + f.w_bits)),
              "adder": ("s", _mask(s.acc + prod, f.acc_bits)),
              "datapath": ("psum_out", _mask(s.acc + prod, f.acc_bits))}
    for cls, gate in units.gate.items():
        port, want = expect[cls]
        if port not in gate.outputs:
            raise FunctionError(f"module has no output port {port!r}")
        got = outputs(gate, unit_inputs(cls, f, s))[port]
        bad = np.flatnonzero(got != want)
        if bad.size:
            i = int(bad[0])
            raise FunctionError(f"{cls} output {port} differs from the expected value for "
                                f"x={int(s.x[i])}, w={int(s.w[i])}, acc={int(s.acc[i])}")


def build_units(f: PeFormat, rtl: str | None) -> Units:
    """Synthesize the gate-level side (Yosys; ``rtl``: the user's module ``pe`` with ports
    ``x``, ``w``, ``psum_in``, ``psum_out``, docs/gates.md) and build the model side."""
    model = model_units(f)
    if rtl is not None:
        return Units(model, {"datapath": yosys.synthesize(rtl, "pe")})
    verilog = behavioural_verilog(f)
    return Units(model, {"mult": yosys.synthesize(verilog["mult"], "mult"),
                         "adder": yosys.synthesize(verilog["adder"], "add")})


def _counts(nl: Netlist, inputs: dict[str, np.ndarray], glitches: bool) -> np.ndarray:
    per_class = evaluate_stream(nl, inputs, glitches=glitches)
    return np.sum(list(per_class.values()), axis=0)


def measure(units: Units, f: PeFormat, s: Stream) -> dict[str, dict[str, np.ndarray]]:
    """Per class: per-cycle toggles of the model, the gate level (zero delay) and the gate level
    with unit delays."""
    out = {}
    for cls, gate in units.gate.items():
        if cls == "datapath":
            model = sum(_counts(units.model[c], unit_inputs(c, f, s), False)
                        for c in ("mult", "adder"))
        else:
            model = _counts(units.model[cls], unit_inputs(cls, f, s), False)
        inputs = unit_inputs(cls, f, s)
        out[cls] = {"model": model, "gate": _counts(gate, inputs, False),
                    "gate_glitch": _counts(gate, inputs, True)}
    return out


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def summarize(m: dict[str, np.ndarray], calib: dict[str, np.ndarray]) -> dict[str, float]:
    """Figures of one class on one stream; ``calib`` is the same on the uniform stream. The
    ratios are calibrated: the zero-delay ratio divides by the zero-delay gate/model toggle ratio
    on the uniform stream, the unit-delay ratio by the unit-delay one."""
    ops = len(m["model"])
    model, gate, glitch = (float(m[k].sum()) for k in ("model", "gate", "gate_glitch"))
    scale = float(calib["gate"].sum()) / float(calib["model"].sum())
    scale_glitch = float(calib["gate_glitch"].sum()) / float(calib["model"].sum())
    return {
        "model_toggles_per_op": model / ops,
        "gate_toggles_per_op": gate / ops,
        "gate_glitch_toggles_per_op": glitch / ops,
        "ratio_zero_delay": (gate / model) / scale if model else float("nan"),
        "ratio_unit_delay": (glitch / model) / scale_glitch if model else float("nan"),
        "correlation_zero_delay": _corr(m["model"], m["gate"]),
        "correlation_unit_delay": _corr(m["model"], m["gate_glitch"]),
        "glitch_factor": glitch / gate if gate else float("nan"),
    }


def run_check(layers, dataflow: str, rows: int, fmt_of, rtl: str | None, cycles: int,
              seed: int) -> dict:
    """The ``accelsim gates`` report as a plain dict: per layer and class the figures of
    :func:`summarize`, plus the calibration stream's toggles per operation and cell counts."""
    rng = np.random.default_rng(seed)
    units_by_fmt: dict[PeFormat, Units] = {}
    calib_by_fmt: dict[PeFormat, dict] = {}
    report: dict = {"seed": seed, "cycles_per_layer": cycles, "dataflow": dataflow,
                    "gate_level": "user RTL" if rtl else "Yosys synth + ABC (generic gates)",
                    "layers": [], "formats": []}
    for layer in layers:
        f = fmt_of(layer)
        if f not in units_by_fmt:
            units_by_fmt[f] = build_units(f, rtl)
            calib = uniform_stream(f.x_bits, f.w_bits, f.acc_bits, f.x_signed, f.w_signed,
                                   cycles, np.random.default_rng(seed))
            check_function(units_by_fmt[f], f, calib)
            calib_by_fmt[f] = measure(units_by_fmt[f], f, calib)
            report["formats"].append({
                "format": f.__dict__,
                "cells": {c: nl.stats() for c, nl in units_by_fmt[f].gate.items()},
                "uniform": {c: {k: float(v.sum()) / cycles for k, v in m.items()}
                            for c, m in calib_by_fmt[f].items()}})
        s = layer_stream(layer, dataflow, rows, cycles, rng)
        check_function(units_by_fmt[f], f, s)
        measured = measure(units_by_fmt[f], f, s)
        report["layers"].append({"name": layer.name, "cycles": len(s.x), "classes": {
            c: summarize(m, calib_by_fmt[f][c]) for c, m in measured.items()}})
    return report


def report_json(report: dict) -> bytes:
    """Deterministic JSON (sorted keys, floats to 6 significant digits, NaN as null)."""
    def clean(o):
        if isinstance(o, float):
            return None if o != o else float(f"{o:.6g}")
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, list):
            return [clean(v) for v in o]
        return o

    return (json.dumps(clean(report), sort_keys=True, indent=1) + "\n").encode()


def format_table(report: dict) -> str:
    """One row per layer and class."""
    head = ("layer", "class", "model t/op", "gate t/op", "ratio 0-delay", "ratio unit-delay",
            "corr", "glitch x")
    rows = [head]
    for layer in report["layers"]:
        for cls, v in layer["classes"].items():
            rows.append((layer["name"], cls, f"{v['model_toggles_per_op']:.2f}",
                         f"{v['gate_toggles_per_op']:.2f}", f"{v['ratio_zero_delay']:.3f}",
                         f"{v['ratio_unit_delay']:.3f}", f"{v['correlation_zero_delay']:.3f}",
                         f"{v['glitch_factor']:.2f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))) for r in rows)


def plot_png(report: dict) -> bytes:
    """Bar chart of the calibrated gate/model ratios per layer and class (zero / unit delay)."""
    import io

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, zero, unit = [], [], []
    for layer in report["layers"]:
        for cls, v in layer["classes"].items():
            labels.append(f"{layer['name']}\n{cls}")
            zero.append(v["ratio_zero_delay"])
            unit.append(v["ratio_unit_delay"])
    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(labels)), 3.5))
    pos = np.arange(len(labels))
    ax.bar(pos - 0.2, zero, 0.4, label="zero delay")
    ax.bar(pos + 0.2, unit, 0.4, label="unit delay (glitches)")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(pos, labels, fontsize=7)
    ax.set_ylabel("gate / model (calibrated)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None}, dpi=100)
    plt.close(fig)
    return buf.getvalue()


def _weighted_per_op(nl: Netlist, inputs: dict[str, np.ndarray]) -> float:
    """Σ over gate outputs of toggles × fan-out, per operation (a switched-capacitance proxy)."""
    from accelsim.gates.evaluate import fanout, net_toggles

    outs = np.array([out for _, out, _ in nl.gates], dtype=np.int64)
    toggles = net_toggles(nl, inputs)[outs].sum(axis=1)
    return float((toggles * fanout(nl)[outs]).sum()) / len(next(iter(inputs.values())))


def recalibrated_tech(f: PeFormat, rtl: str | None, tech, cycles: int, seed: int
                      ) -> tuple[dict, dict[str, float]]:
    """A technology table (YAML mapping) whose multiply and add reference energies at the PE's
    widths (``max(x_bits, w_bits)`` and ``acc_bits``) are scaled by the ratio of switched
    capacitance (toggles × fan-out, uniformly random operands of format ``f``) of the gate-level
    netlist to that of the documented structure; and those ratios per class."""
    import yaml

    from accelsim.energy.tech import power_law

    units = build_units(f, rtl)
    s = uniform_stream(f.x_bits, f.w_bits, f.acc_bits, f.x_signed, f.w_signed, cycles,
                       np.random.default_rng(seed))
    ratios = {}
    for cls, gate in units.gate.items():
        model_cls = ("mult", "adder") if cls == "datapath" else (cls,)
        model = sum(_weighted_per_op(units.model[c], unit_inputs(c, f, s)) for c in model_cls)
        ratios[cls] = _weighted_per_op(gate, unit_inputs(cls, f, s)) / model
    doc = yaml.safe_load(open(tech.file, encoding="utf-8").read())
    targets = {"multiply": (max(f.x_bits, f.w_bits), ratios.get("mult", ratios.get("datapath"))),
               "add": (f.acc_bits, ratios.get("adder", ratios.get("datapath")))}
    for op, (width, ratio) in targets.items():
        energy, _ = power_law(tech.operations[op], float(width))
        points = [p for p in doc["operations"][op] if p["width_bits"] != width]
        points.append({"width_bits": width, "energy_pj": float(f"{energy * ratio:.6g}"),
                       "source": f"accelsim gates: {tech.name} {op} at {width} bits "
                                 f"({energy:.6g} pJ) x {ratio:.4f}, the switched capacitance "
                                 "(toggles x fan-out, uniformly random operands) of the "
                                 f"{'user RTL' if rtl else 'Yosys-synthesized'} netlist over "
                                 "that of the documented structure"})
        doc["operations"][op] = sorted(points, key=lambda p: p["width_bits"])
    doc["name"] = f"{tech.name}-recalibrated"
    doc["description"] = (f"{tech.name} with multiply/add reference energies re-calibrated by "
                          "accelsim gates to a gate-level PE netlist. " + doc.get("description", ""))
    return doc, ratios
