"""``accelsim compare``, ``accelsim inspect --tech`` and the energy figures ``run`` prints: exit
codes, one-line errors, agreement with ``run``'s JSON, and no partial outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import accelsim
from accelsim.cli import main
from tests.cli.test_cli import assert_one_line_error, write_arch, write_workload


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def table_rows(text: str) -> dict[str, list[str]]:
    """The compare table's rows by label (cells are separated by two or more spaces)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line) == {"-"})
    cells = [re.split(r"\s{2,}", line.strip()) for line in lines[start + 1:]]
    return {c[0]: c[1:] for c in cells}


def test_compare_matches_run(tmp_path: Path, out: Path, capsys) -> None:
    workload = write_workload(tmp_path)
    archs = [write_arch(tmp_path, "ws"), write_arch(tmp_path, "os", extra="clock_mhz: 250\n")]
    totals = []
    for i, arch in enumerate(archs):
        assert main(["run", str(arch), str(workload), "--json", str(out / f"{i}.json"),
                     "--quiet"]) == 0
        totals.append(json.loads((out / f"{i}.json").read_text())["total"])
    capsys.readouterr()
    plot = out / "cmp.png"
    assert main(["compare", *map(str, archs), str(workload), "--plot", str(plot), "--quiet"]) == 0
    text = capsys.readouterr().out
    header = text.splitlines()[1]  # after the "workload: ..." line; both archs are named tiny
    assert re.split(r"\s{2,}", header.strip()) == [f"tiny ({a})" for a in archs]
    rows = table_rows(text)
    for i, total in enumerate(totals):
        assert rows["cycles"][i] == f"{total['cycles']['total']:,}"
        assert rows["energy µJ"][i] == f"{total['energy_pj']['total'] / 1e6:.6f}"
        assert rows["energy / MAC pJ"][i] == f"{total['energy_per_mac_pj']:.4f}"
        assert rows["average power mW"][i] == f"{total['power_mw']:.3f}"
        assert rows["mult µJ"][i] == f"{total['energy_pj']['mult'] / 1e6:.6f}"
        assert rows["check"][i] == "exact"
    assert rows["psum_reg µJ"][1] == "-" and rows["acc_reg µJ"][0] == "-"
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert sorted(p.name for p in out.iterdir()) == ["0.json", "1.json", "cmp.png"]


def test_compare_labels_duplicate_names_by_file(tmp_path: Path, capsys) -> None:
    workload = write_workload(tmp_path)
    a, b = write_arch(tmp_path, "ws"), write_arch(tmp_path, "is")
    assert main(["compare", str(a), str(b), str(workload), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert f"tiny ({a})" in text and f"tiny ({b})" in text


def test_compare_mismatch_exits_1(tmp_path: Path, capsys) -> None:
    workload = write_workload(tmp_path, y_delta=1)
    assert main(["compare", str(write_arch(tmp_path)), str(workload), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert table_rows(captured.out)["check"] == ["mismatch"]
    assert "MISMATCH" in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize("case", ["missing-arch", "one-file", "bad-tech", "bad-plot",
                                  "bad-layer"])
def test_compare_bad_input(tmp_path: Path, out: Path, case: str, capsys) -> None:
    workload = write_workload(tmp_path)
    arch = write_arch(tmp_path)
    plot = out / "p.png"
    args, needles = {
        "missing-arch": ([str(arch), str(tmp_path / "nope.yaml"), str(workload)], ["nope.yaml"]),
        "one-file": ([str(workload)], ["compare"]),
        "bad-tech": ([str(write_arch(tmp_path, "os", extra="energy: {technology: 3nm}\n")),
                      str(workload)], ["energy.technology"]),
        "bad-plot": ([str(arch), str(workload), "--plot", str(out / "missing" / "p.png")],
                     ["--plot"]),
        "bad-layer": ([str(arch), str(workload), "--layers", "zz"], ["--layers", "zz"]),
    }[case]
    if case != "bad-plot":
        args += ["--plot", str(plot)]
    assert main(["compare", *args]) == 2
    captured = capsys.readouterr()
    assert_one_line_error(captured.err, *needles)
    assert captured.out == "" and list(out.iterdir()) == []


# ------------------------------------------------------------------------------ inspect


def test_inspect_tech_prints_table_calibration_and_sources(capsys) -> None:
    assert main(["inspect", "--tech", "45nm"]) == 0
    text = capsys.readouterr().out
    assert "technology: 45nm" in text
    for figure in ("multiply            8   0.2", "multiply           32   3.1",
                   "add                 8  0.03", "add                32   0.1"):
        assert figure in text
    assert "exact (65536 operand pairs)" in text and "sampled (20000 operand pairs" in text
    assert "(interpolated)" in text and "(extrapolated)" in text
    assert "Horowitz" in text and "Aladdin" in text and "sources:" in text
    assert "rescale   multiplier at 32 bits" in text


def test_inspect_tech_by_path_and_arch_prices(tmp_path: Path, capsys) -> None:
    from accelsim.energy.tech import builtin_names

    path = Path(accelsim.__file__).parent / "energy" / "tech" / "45nm.yaml"
    assert "45nm" in builtin_names()
    assert main(["inspect", "--tech", str(path)]) == 0
    assert f"file: {path}" in capsys.readouterr().out
    assert main(["inspect", str(write_arch(tmp_path, "os", bits=4, acc_bits=16))]) == 0
    text = capsys.readouterr().out
    assert "acc_reg" in text and "fJ per toggle (at 4 bit, extrapolated)" in text
    assert "fJ per toggle (at 16 bit, interpolated)" in text and "µW per PE" in text


@pytest.mark.parametrize("args, needle", [
    (["inspect"], "--tech"),
    (["inspect", "x.npz", "--tech", "45nm"], "--tech"),
    (["inspect", "--tech", "7nm"], "energy.technology"),
])  # fmt: skip
def test_inspect_bad_input(args: list[str], needle: str, capsys) -> None:
    assert main(args) == 2
    assert_one_line_error(capsys.readouterr().err, needle)


# ----------------------------------------------------------------------------------- run


def test_run_prints_energy_summary(tmp_path: Path, out: Path, capsys) -> None:
    workload = write_workload(tmp_path)
    args = ["run", str(write_arch(tmp_path)), str(workload), "--json", str(out / "r.json"),
            "--quiet"]
    assert main(args) == 0
    text = capsys.readouterr().out
    total = json.loads((out / "r.json").read_text())["total"]
    assert total["inferences"] == 1  # a gemm workload is one inference
    assert f"{total['energy_per_mac_pj']:.4f} pJ/MAC" in text
    assert f"average power {total['power_mw']:.3f} mW at 500 MHz" in text
    assert "energy by class, µJ: x_reg" in text


def test_trace_bin(tmp_path: Path, out: Path, capsys) -> None:
    workload = write_workload(tmp_path)
    arch = str(write_arch(tmp_path))
    assert main(["run", arch, str(workload), "--trace", str(out / "t"), "--trace-bin", "5",
                 "--json", str(out / "r.json"), "--quiet"]) == 0
    cycles = json.loads((out / "r.json").read_text())["layers"][0]["cycles"]["total"]
    lines = (out / "t" / "a.power.csv").read_text().splitlines()
    assert len(lines) == 1 + -(-cycles // 5)
    assert lines[1].split(",")[:2] == ["0", "5"]
    assert main(["run", arch, str(workload), "--trace-bin", "0"]) == 2
    assert "--trace-bin" in capsys.readouterr().err


# ------------------------------------------------------------------- compare --json / --csv

MEMORY = ("buffers:\n  ifmap: {size_kib: 1, word_bits: 8}\n  filter: {size_kib: 1, word_bits: 8}\n"
          "  ofmap: {size_kib: 1, word_bits: 32}\ndram: {preset: lpddr4-3200}\n")


def run_reports(pairs: list[tuple[Path, Path]], out: Path) -> list[dict]:
    """``accelsim run --json`` of every (arch, workload)."""
    reports = []
    for i, (arch, workload) in enumerate(pairs):
        path = out / f"run{i}.json"
        assert main(["run", str(arch), str(workload), "--json", str(path), "--quiet"]) == 0
        reports.append(json.loads(path.read_text()))
        path.unlink()
    return reports


def csv_rows(path: Path) -> list[dict[str, str]]:
    import csv

    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def check_part(row: dict, part: dict, clock_mhz: float) -> None:
    """A JSON summary (numbers) or CSV row (text: floats with 6 decimals, empty for None)
    against the run report's layer or total."""
    sram, dram = part.get("sram"), part.get("dram")
    expect = {
        "macs": part["macs"], "cycles_total": part["cycles"]["total"],
        "cycles_stall": part["cycles"]["stall"], "energy_pj": part["energy_pj"]["total"],
        "energy_offchip_pj": part["energy_pj"].get("dram", 0.0),
        "latency_us": round(part["cycles"]["total"] / clock_mhz, 6),
        "dram_read_bytes": dram["read_bytes"] if dram else None,
        "sram_read_bytes": sum(b["read_bytes"] for b in sram.values()) if sram else None,
        "sram_write_bytes": sum(b["write_bytes"] for b in sram.values()) if sram else None,
        "power_mw": part["power_mw"], "check": part["check"],
    }
    text = isinstance(row["macs"], str)
    for key, value in expect.items():
        if text:
            value = "" if value is None else f"{value:.6f}" if isinstance(value, float) else str(
                value)
        assert row[key] == value, key


def test_compare_json_and_csv_equal_the_run_reports(tmp_path: Path, out: Path, capsys) -> None:
    workload = write_workload(tmp_path)
    archs = [write_arch(tmp_path, "ws", extra=MEMORY), write_arch(tmp_path, "os",
                                                                  extra="clock_mhz: 250\n")]
    reports = run_reports([(a, workload) for a in archs], out)
    assert reports[0]["total"]["sram"] and reports[0]["total"]["dram"]  # memory simulated
    args = ["compare", *map(str, archs), str(workload), "--quiet", "--json", str(out / "c.json"),
            "--csv", str(out / "c.csv"), "--plot", str(out / "c.png")]
    assert main(args) == 0
    text = capsys.readouterr().out
    doc = json.loads((out / "c.json").read_text())
    rows = csv_rows(out / "c.csv")
    assert len(rows) == 2 * (2 + 1)  # two layers and a total per architecture
    for i, (arch, report) in enumerate(zip(archs, reports)):
        run = doc["runs"][i]
        assert run["arch_file"] == str(arch) and run["workload_file"] == str(workload)
        assert run["report"] == report  # exactly what run --json wrote
        clock = float(report["arch"]["clock_mhz"])
        mine = [r for r in rows if r["arch_file"] == str(arch)]
        assert [r["part"] for r in mine] == ["layer", "layer", "total"]
        for layer, summary_layer, row in zip(report["layers"], run["summary"]["layers"], mine):
            assert row["layer"] == summary_layer["name"] == layer["name"]
            check_part(summary_layer, layer, clock)
            check_part(row, layer, clock)
        check_part(run["summary"]["total"], report["total"], clock)
        check_part(mine[-1], report["total"], clock)
        assert mine[-1]["energy_mult_pj"] == f"{report['total']['energy_pj']['mult']:.6f}"
    assert rows[-1]["energy_psum_reg_pj"] == "" and rows[-1]["dram_read_bytes"] == ""
    table = table_rows(text)
    total = reports[0]["total"]
    assert table["DRAM write bytes"] == [f"{total['dram']['write_bytes']:,}", "-"]
    sram_reads = sum(b["read_bytes"] for b in total["sram"].values())
    assert table["SRAM read bytes"] == [f"{sram_reads:,}", "-"]
    assert table["latency µs"][1] == f"{reports[1]['total']['cycles']['total'] / 250:.3f}"


def test_compare_outputs_are_deterministic(tmp_path: Path, out: Path) -> None:
    workload = write_workload(tmp_path)
    archs = [str(write_arch(tmp_path, "ws", extra=MEMORY)), str(write_arch(tmp_path, "is"))]
    outputs = []
    for name in ("a", "b"):
        files = [out / f"{name}.{ext}" for ext in ("json", "csv", "png")]
        assert main(["compare", *archs, str(workload), "--quiet", "--json", str(files[0]),
                     "--csv", str(files[1]), "--plot", str(files[2])]) == 0
        outputs.append([f.read_bytes() for f in files])
    assert outputs[0] == outputs[1]


def test_compare_pairs_architectures_with_workloads(tmp_path: Path, out: Path, capsys) -> None:
    """``A.yaml W8.npz B.yaml W4.npz``: each architecture on its own workload, as run does."""
    w8 = write_workload(tmp_path, name="w8.npz")
    w4 = write_workload(tmp_path, bits=4, name="w4.npz")
    a8, a4 = write_arch(tmp_path, "ws"), write_arch(tmp_path, "ws", bits=4, acc_bits=16)
    pairs = [(a8, w8), (a8, w4), (a4, w4)]
    reports = run_reports(pairs, out)
    capsys.readouterr()
    assert main(["compare", str(a8), str(w8), str(a8), str(a4), str(w4), "--quiet",
                 "--json", str(out / "c.json")]) == 0
    text = capsys.readouterr().out
    doc = json.loads((out / "c.json").read_text())
    assert [(r["arch_file"], r["workload_file"]) for r in doc["runs"]] == [
        (str(a), str(w)) for a, w in pairs]
    assert [r["report"] for r in doc["runs"]] == reports
    assert text.startswith(f"workloads: tiny (2 layers, {w8}), tiny (2 layers, {w4})\n")
    header = re.split(r"\s{2,}", text.splitlines()[1].strip())
    assert header == [f"tiny / tiny ({a}, {w})" for a, w in pairs]


@pytest.mark.parametrize("case", ["workload-first", "two-workloads-in-a-row", "json-is-input",
                                  "csv-is-workload", "json-equals-csv", "json-missing-folder",
                                  "csv-is-folder"])
def test_compare_bad_paths_exit_2(tmp_path: Path, out: Path, case: str, capsys) -> None:
    workload = write_workload(tmp_path)
    other = write_workload(tmp_path, name="other.npz")
    arch = write_arch(tmp_path)
    args, needles = {
        "workload-first": ([str(workload), str(arch), str(other)], [str(workload), "compare"]),
        "two-workloads-in-a-row": ([str(arch), str(workload), str(other), str(arch),
                                    str(workload)], [str(other), "compare"]),
        "json-is-input": ([str(arch), str(workload), "--json", str(arch)], ["--json"]),
        "csv-is-workload": ([str(arch), str(other), str(arch), str(workload), "--csv",
                             str(other)], ["--csv", "input"]),
        "json-equals-csv": ([str(arch), str(workload), "--json", str(out / "x"), "--csv",
                             str(out / "x")], ["--csv", "--json"]),
        "json-missing-folder": ([str(arch), str(workload), "--json",
                                 str(out / "no" / "c.json")], ["--json"]),
        "csv-is-folder": ([str(arch), str(workload), "--csv", str(out)], ["--csv"]),
    }[case]
    before = {p: p.read_bytes() for p in tmp_path.glob("*.*")}
    assert main(["compare", *args, "--quiet", "--plot", str(out / "p.png")]) == 2
    captured = capsys.readouterr()
    assert_one_line_error(captured.err, *needles)
    assert captured.out == "" and list(out.iterdir()) == []
    assert {p: p.read_bytes() for p in tmp_path.glob("*.*")} == before


def test_stacked_energy_uses_class_colours_and_stacking_order() -> None:
    from matplotlib.colors import to_hex
    from matplotlib.figure import Figure

    from accelsim.report.colors import class_color
    from accelsim.report.plots import stacked_energy

    ax = Figure().add_subplot()
    classes = ["x_reg", "mult", "future_unit", "dram"]
    stacked_energy(ax, ["a", "b"], [{"x_reg": 1.0, "mult": 2.0, "future_unit": 0.5, "dram": 3.0,
                                     "total": 6.5}, {"mult": 1.0}], classes)
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == classes[::-1]  # top of the stack first
    colours = [to_hex(p.get_facecolor()) for p in ax.patches]
    assert colours == [class_color(c) for c in classes for _ in range(2)]
    assert class_color("dram") == "#d62728" and class_color("future_unit") == class_color(
        "future_unit") and class_color("future_unit") not in {class_color(c) for c in classes[:2]}
    tops = [p.get_y() + p.get_height() for p in ax.patches]
    assert tops[-2:] == pytest.approx([6.5e-6, 1.0e-6], rel=1e-12)  # µJ, stacked
