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
