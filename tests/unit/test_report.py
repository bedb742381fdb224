"""Report layer without the simulator: hand-built LayerSim objects -> JSON, CSV, npz, table, traces,
power traces, compare table and plot, atomic writes. (Energy model: tests/unit/test_energy.py.)"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import accelsim
from accelsim.errors import OutputError
from accelsim.report import (
    WorkloadInfo,
    build_report,
    compare_png,
    format_compare,
    format_summary,
    format_table,
    outputs_npz,
    report_csv,
    report_json,
    trace_files,
    write_atomically,
)
from accelsim.report.write import power_csv
from accelsim.sim.types import GemmResult, LayerSim, class_names

ARCH = {
    "version": 1,
    "name": "t-4x4",
    "clock_mhz": 500.0,
    "array": {"rows": 4, "cols": 4, "dataflow": "ws", "idle": "hold"},
    "pe": {"kind": "mac", "x_bits": 8, "w_bits": 8, "acc_bits": 32, "overflow": "wrap"},
    "buffers": None,
    "dram": None,
    "energy": {"technology": "45nm"},
}
WORKLOAD = WorkloadInfo(name="tiny", sha256="ab" * 32)
CLASSES = class_names("ws")


def make_sim(name: str, seed: int, check: str = "exact", cycles: int = 40,
             trace: bool = False) -> LayerSim:
    """A LayerSim with deterministic pseudo-random figures (a 2×3 gemm output)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(-1000, 1000, size=(2, 3))
    counts = rng.integers(0, 10, size=(cycles, len(CLASSES)))
    result = GemmResult(
        y=y[None],
        toggles={c: int(t) for c, t in zip(CLASSES, counts.sum(axis=0))},
        overflows=int(check == "mismatch"),
        folds=2,
        cycles_compute=cycles,
        cycles_active=cycles - 3,
        macs=2 * 5 * 3,
        trace=counts if trace else None,
    )
    reference = y + (check == "mismatch")
    return LayerSim(name=name, op="gemm", groups=1, M=2, K=5, N=3, result=result, y=y,
                    reference=reference, reference_source="workload", check=check)


def make_energy(seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    e = {c: float(v) for c, v in zip(CLASSES, rng.random(len(CLASSES)) * 10 / 3)}
    e["clock"], e["leakage"] = 1.0 / 3, 2.0 / 7
    e["total"] = sum(e.values())
    return e


def make_report(checks: tuple[str, ...] = ("exact", "exact"), trace: bool = False):
    sims = [make_sim(f"l{i}", i, c, trace=trace) for i, c in enumerate(checks)]
    energies = [make_energy(i) for i in range(len(checks))]
    return build_report(json.loads(json.dumps(ARCH)), WORKLOAD, sims, energies), sims, energies


# ------------------------------------------------------------------------------------- JSON


def test_json_is_byte_identical_for_identical_inputs() -> None:
    assert report_json(make_report()[0]) == report_json(make_report()[0])


def test_json_key_layout_matches_spec() -> None:
    doc = json.loads(report_json(make_report()[0]))
    assert set(doc) == {"accelsim_version", "arch", "workload", "layers", "total"}
    assert doc["accelsim_version"] == accelsim.__version__
    assert doc["arch"] == ARCH
    assert doc["workload"] == {"name": "tiny", "sha256": "ab" * 32}
    layer = doc["layers"][0]
    assert set(layer) == {"name", "op", "gemm", "folds", "cycles", "utilization", "macs",
                          "overflows", "toggles", "energy_pj", "energy_per_mac_pj",
                          "energy_per_inference_pj", "power_mw", "check", "reference"}
    assert set(layer["gemm"]) == {"M", "K", "N", "groups"}
    assert set(layer["cycles"]) == {"total", "compute", "stall", "compute_active"}
    assert set(layer["toggles"]) == set(CLASSES)
    assert set(layer["energy_pj"]) == set(CLASSES) | {"clock", "leakage", "total"}
    assert set(doc["total"]) == {"folds", "cycles", "utilization", "macs", "overflows",
                                 "toggles", "energy_pj", "energy_per_mac_pj",
                                 "energy_per_inference_pj", "inferences", "power_mw", "check"}


def test_json_is_sorted_indented_and_ends_with_newline() -> None:
    text = report_json(make_report()[0]).decode()
    assert text.endswith("}\n") and text.startswith('{\n  "accelsim_version"')
    doc = json.loads(text)
    assert text == json.dumps(doc, sort_keys=True, indent=2) + "\n"


def test_layer_figures_and_rounding() -> None:
    report, sims, energies = make_report()
    lr, sim = report.layers[0], sims[0]
    assert lr.cycles.total == lr.cycles.compute == sim.result.cycles_compute
    assert lr.cycles.stall == 0 and lr.cycles.compute_active == sim.result.cycles_active
    assert lr.utilization == round(30 / (16 * 40), 6)
    assert lr.toggles == sim.result.toggles and lr.reference == "workload"
    assert lr.energy_pj == {k: round(v, 6) for k, v in energies[0].items()}
    assert lr.energy_pj["clock"] == 0.333333


def test_totals_sum_layers() -> None:
    report, sims, energies = make_report(("exact", "mismatch"))
    t = report.total
    assert t.folds == 4 and t.macs == 60 and t.overflows == 1
    assert t.cycles.total == 80 and t.cycles.stall == 0 and t.cycles.compute_active == 74
    assert t.utilization == round(60 / (16 * 80), 6)
    for c in CLASSES:
        assert t.toggles[c] == sum(s.result.toggles[c] for s in sims)
        assert t.energy_pj[c] == round(energies[0][c] + energies[1][c], 6)
    assert t.check == "mismatch"
    assert make_report()[0].total.check == "exact"


def test_os_dataflow_reports_acc_reg() -> None:
    sim = make_sim("a", 0)
    toggles = dict(zip(class_names("os"), sim.result.toggles.values()))
    result = GemmResult(**{**sim.result.__dict__, "toggles": toggles})
    sim = LayerSim(**{**sim.__dict__, "result": result})
    report = build_report(ARCH, WORKLOAD, [sim], [{"acc_reg": 1.0, "total": 1.0}])
    assert "acc_reg" in report.total.toggles and "psum_reg" not in report.total.toggles


# -------------------------------------------------------------------------------------- CSV


def test_csv_headers_and_rows() -> None:
    report = make_report()[0]
    text = report_csv(report).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "layer", "op", "groups", "gemm_m", "gemm_k", "gemm_n", "folds", "cycles_total",
        "cycles_compute", "cycles_stall", "cycles_compute_active", "utilization_fraction", "macs",
        "overflows", "toggles_x_reg", "toggles_w_reg", "toggles_psum_reg", "toggles_mult",
        "toggles_adder", "energy_x_reg_pj", "energy_w_reg_pj", "energy_psum_reg_pj",
        "energy_mult_pj", "energy_adder_pj", "energy_clock_pj", "energy_leakage_pj",
        "energy_total_pj", "energy_per_mac_pj", "energy_per_inference_pj", "power_mw", "check",
        "reference",
    ]  # fmt: skip
    assert len(rows) == 1 + len(report.layers)
    assert all(len(r) == len(rows[0]) for r in rows)
    assert not any(line.endswith(",") for line in text.splitlines())
    row = dict(zip(rows[0], rows[1]))
    lr = report.layers[0]
    assert row["layer"] == "l0" and int(row["cycles_total"]) == lr.cycles.total
    assert int(row["toggles_mult"]) == lr.toggles["mult"]
    assert row["energy_total_pj"] == f"{lr.energy_pj['total']:.6f}"
    assert row["utilization_fraction"] == f"{lr.utilization:.6f}"
    assert "\r" not in text


# -------------------------------------------------------------------------------------- npz


def test_outputs_npz_round_trip(tmp_path: Path) -> None:
    sims = make_report()[1]
    path = tmp_path / "y.npz"
    path.write_bytes(outputs_npz(sims))
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["l0/y", "l1/y"]
        for s in sims:
            assert npz[f"{s.name}/y"].dtype.kind == "i"
            np.testing.assert_array_equal(npz[f"{s.name}/y"], s.y)


# ----------------------------------------------------------------------------- atomic write


def test_write_atomically_writes_all(tmp_path: Path) -> None:
    files = {tmp_path / "a.json": b"{}\n", tmp_path / "b.csv": b"x\n"}
    write_atomically(files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.csv"]
    assert (tmp_path / "b.csv").read_bytes() == b"x\n"
    mode = (tmp_path / "a.json").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_write_atomically_leaves_nothing_on_failure(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_bytes(b"old")
    files = {
        tmp_path / "new.csv": b"x\n",
        tmp_path / "old.json": b"new",
        tmp_path / "missing" / "c.npz": b"z",  # its folder does not exist
    }
    with pytest.raises(OutputError, match="missing"):
        write_atomically(files)
    assert [p.name for p in tmp_path.iterdir()] == ["old.json"]
    assert (tmp_path / "old.json").read_bytes() == b"old"


# ------------------------------------------------------------------------------------ table


def test_table_formatting() -> None:
    report = make_report(("exact", "mismatch"))[0]
    lines = format_table(report).splitlines()
    assert lines[0].split() == ["layer", "cycles", "util", "%", "stall", "cycles", "energy", "µJ",
                                "top", "energy", "check"]
    assert set(lines[1]) == {"-"} and set(lines[-2]) == {"-"}
    assert len(lines) == 2 + len(report.layers) + 2
    assert lines[-1].startswith("TOTAL") and lines[-1].endswith("mismatch")
    assert lines[2].startswith("l0") and lines[2].endswith("exact")
    # Right-aligned numeric columns line up at the header's right edge.
    cycles_end = lines[0].index("cycles") + len("cycles")
    assert all(line[cycles_end - 1] != " " for line in lines[2:4])
    lr = report.layers[0]
    assert f"{lr.energy_pj['total'] / 1e6:.6f}" in lines[2]
    assert f"{100 * lr.utilization:.2f}" in lines[2]
    top = max((k for k in lr.energy_pj if k != "total"), key=lr.energy_pj.get)
    assert f"{top} {100 * lr.energy_pj[top] / lr.energy_pj['total']:.0f}%" in lines[2]


# ------------------------------------------------------------------------------------ trace


@pytest.mark.parametrize("cycles", [40, 4321])
def test_trace_files(tmp_path: Path, cycles: int) -> None:
    sims = [make_sim("conv/1", 0, cycles=cycles, trace=True)]
    files = trace_files(sims, CLASSES, tmp_path)
    assert sorted(p.name for p in files) == ["conv_1.trace.csv", "conv_1.trace.png"]
    rows = list(csv.reader(io.StringIO(files[tmp_path / "conv_1.trace.csv"].decode())))
    assert rows[0] == ["cycle", *CLASSES, "total"]
    assert len(rows) == 1 + cycles
    table = np.array(rows[1:], dtype=np.int64)
    np.testing.assert_array_equal(table[:, 0], np.arange(cycles))
    np.testing.assert_array_equal(table[:, 1:-1], sims[0].result.trace)
    np.testing.assert_array_equal(table[:, -1], sims[0].result.trace.sum(axis=1))
    assert files[tmp_path / "conv_1.trace.png"].startswith(b"\x89PNG\r\n\x1a\n")


def test_trace_files_need_traces(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="without a trace"):
        trace_files([make_sim("a", 0)], CLASSES, tmp_path)


# ------------------------------------------------------------------ derived energy figures


def test_energy_per_mac_inference_and_power() -> None:
    sims = [make_sim(f"l{i}", i) for i in range(2)]
    energies = [make_energy(i) for i in range(2)]
    report = build_report(ARCH, WORKLOAD, sims, energies, inferences=4)
    for lr, e in zip(report.layers, energies):
        assert lr.energy_per_mac_pj == round(e["total"] / 30, 6)
        assert lr.energy_per_inference_pj == round(e["total"] / 4, 6)
        # e pJ over 40 cycles of 2 ns = e / 80 ns = e / 80 * 1e-12 / 1e-9 W = e / 80 mW
        assert lr.power_mw == round(e["total"] / 80, 6)
    total = energies[0]["total"] + energies[1]["total"]
    t = report.total
    assert t.inferences == 4 and t.energy_per_inference_pj == round(total / 4, 6)
    assert t.energy_per_mac_pj == round(total / 60, 6)
    assert t.power_mw == round(total / 160, 6)


def memory_result(seed: int, compute: int = 40) -> SimpleNamespace:
    """A hand-built object shaped like accelsim.sim.memory.MemoryResult."""
    rng = np.random.default_rng(seed)
    sram = {b: {"reads": int(rng.integers(1, 99)), "writes": int(rng.integers(0, 99))}
            for b in ("ifmap", "filter", "ofmap")}
    dram = {"read_bytes": 640, "write_bytes": 64, "row_hits": 9, "row_misses": 2,
            "activations": 2}
    return SimpleNamespace(cycles_total=compute + 10 + seed, cycles_stall=10 + seed, sram=sram,
                           dram=dram, dram_bandwidth_utilization=0.5, timeline=None)


def test_memory_sections_only_when_measured() -> None:
    sims = [make_sim(f"l{i}", i) for i in range(2)]
    energies = [make_energy(i) for i in range(2)]
    ideal = json.loads(report_json(build_report(ARCH, WORKLOAD, sims, energies)))
    assert not {"sram", "dram"} & (set(ideal["layers"][0]) | set(ideal["total"]))
    mems = [memory_result(0), memory_result(1)]
    report = build_report(ARCH, WORKLOAD, sims, energies, memories=mems)
    doc = json.loads(report_json(report))
    for layer, mem in zip(doc["layers"], mems):
        assert layer["sram"] == mem.sram and layer["dram"] == mem.dram
        assert layer["cycles"]["total"] == mem.cycles_total
        assert layer["cycles"]["stall"] == mem.cycles_stall
        assert layer["cycles"]["compute"] == 40
    assert doc["total"]["sram"]["ifmap"]["reads"] == sum(m.sram["ifmap"]["reads"] for m in mems)
    assert doc["total"]["dram"]["read_bytes"] == 1280
    assert doc["total"]["cycles"]["stall"] == 21 and doc["total"]["cycles"]["total"] == 101
    rows = list(csv.reader(io.StringIO(report_csv(report).decode())))
    row = dict(zip(rows[0], rows[1]))
    assert int(row["sram_filter_writes"]) == mems[0].sram["filter"]["writes"]
    assert int(row["dram_activations"]) == 2 and int(row["cycles_stall"]) == 10


# ------------------------------------------------------------------------------ power trace


def test_power_csv_bins_and_units() -> None:
    columns = ("mult", "clock", "total")
    energy = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 5.0], [5.0, 0.0, 5.0]])  # pJ per cycle
    rows = list(csv.reader(io.StringIO(power_csv(columns, energy, 500.0, 2).decode())))
    assert rows[0] == ["cycle", "cycles", "mult_mw", "clock_mw", "total_mw"]
    # bin 0: mean 2 pJ of mult per 2 ns cycle = 1 mW; bin 1 is the last, 1 cycle long
    assert rows[1] == ["0", "2", "1.000000", "1.000000", "2.000000"]
    assert rows[2] == ["2", "1", "2.500000", "0.000000", "2.500000"]
    per_cycle = list(csv.reader(io.StringIO(power_csv(columns, energy, 1000.0).decode())))
    assert len(per_cycle) == 4 and per_cycle[2][1] == "1" and per_cycle[2][2] == "3.000000"


def test_trace_files_with_power(tmp_path: Path) -> None:
    sims = [make_sim("a", 0, cycles=50, trace=True)]
    table = np.ones((50, 3))
    files = trace_files(sims, CLASSES, tmp_path, {"a": (("mult", "clock", "total"), table)},
                        250.0, 7)
    assert sorted(p.name for p in files) == ["a.power.csv", "a.power.png", "a.trace.csv",
                                             "a.trace.png"]
    lines = files[tmp_path / "a.power.csv"].decode().splitlines()
    assert len(lines) == 1 + 8 and lines[-1].startswith("49,1,")
    assert files[tmp_path / "a.power.png"].startswith(b"\x89PNG")


# ------------------------------------------------------------------- summary and compare


def test_summary_lines() -> None:
    report = build_report(ARCH, WORKLOAD, [make_sim("a", 0)], [make_energy(0)], inferences=2)
    text = format_summary(report, 500.0)
    t = report.total
    assert f"{t.energy_per_mac_pj:.4f} pJ/MAC" in text and "(2 inferences)" in text
    assert f"{t.power_mw:.3f} mW at 500 MHz" in text
    share = 100 * t.energy_pj["mult"] / t.energy_pj["total"]
    assert f"mult {t.energy_pj['mult'] / 1e6:.6f} ({share:.1f}%)" in text


def test_compare_table_and_plot() -> None:
    a = build_report(ARCH, WORKLOAD, [make_sim("a", 0)], [make_energy(0)])
    os_energy = {"acc_reg": 5.0, "clock": 1.0, "total": 6.0}
    b = build_report(ARCH, WORKLOAD, [make_sim("a", 1, check="mismatch")], [os_energy])
    lines = format_compare([("A", a), ("B", b)]).splitlines()
    assert lines[0].split() == ["A", "B"]
    cells = [re.split(r"\s{2,}", line.strip()) for line in lines[2:]]
    rows = {c[0]: c[1:] for c in cells}
    assert rows["energy µJ"] == [f"{a.total.energy_pj['total'] / 1e6:.6f}", "0.000006"]
    assert rows["psum_reg µJ"][1] == "-" and rows["acc_reg µJ"] == ["-", "0.000005"]
    assert rows["check"] == ["exact", "mismatch"]
    order = [c[0] for c in cells]
    assert order.index("psum_reg µJ") < order.index("acc_reg µJ") < order.index("mult µJ")
    assert order.index("mult µJ") < order.index("clock µJ") < order.index("leakage µJ")
    assert compare_png([("A", a), ("B", b)], "t").startswith(b"\x89PNG")


def test_area_in_summary_and_compare() -> None:
    area = {"pe": 0.000656, "array": 0.6717, "edge": 0.004358, "total": 0.676058}
    a = build_report(ARCH, WORKLOAD, [make_sim("a", 0)], [make_energy(0)], area_mm2=area)
    b = build_report(ARCH, WORKLOAD, [make_sim("a", 0)], [make_energy(0)])
    assert a.to_dict()["area_mm2"] == area and "area_mm2" not in b.to_dict()
    assert "array 0.6717, edge 0.004358, total 0.6761 (one PE 0.000656)" in format_summary(a, 500.0)
    assert "area" not in format_summary(b, 500.0)
    lines = format_compare([("A", a), ("B", b)]).splitlines()
    rows = {c[0]: c[1:] for c in (re.split(r"\s{2,}", line.strip()) for line in lines[2:])}
    assert rows["area mm²"] == ["0.6761", "-"]
