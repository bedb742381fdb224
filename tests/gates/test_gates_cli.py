"""``accelsim gates``: runs Yosys synthesis (small int4 PEs, few cycles, to stay fast)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accelsim.cli import main

ROOT = Path(__file__).resolve().parents[2]
WORKLOAD = ROOT / "workloads" / "digits_int4.npz"
ARCH = """\
name: gates-int4
array: {rows: 8, cols: 8, dataflow: ws}
pe: {kind: mac, x_bits: 4, w_bits: 4, acc_bits: 16}
"""
PE_V = """\
module pe(input [3:0] x, input signed [3:0] w, input [15:0] psum_in, output [15:0] psum_out);
  wire signed [8:0] p = $signed({1'b0, x}) * w;
  assign psum_out = psum_in + {{7{p[8]}}, p};
endmodule
"""


@pytest.fixture()
def arch(tmp_path: Path) -> Path:
    path = tmp_path / "arch.yaml"
    path.write_text(ARCH)
    return path


def test_gates_report_is_deterministic_and_plausible(tmp_path: Path, arch: Path, capsys) -> None:
    outs = []
    for i in range(2):
        out = tmp_path / f"g{i}.json"
        assert main(["gates", str(arch), str(WORKLOAD), "--layers", "conv2,fc", "--cycles",
                     "150", "--json", str(out), "--plot", str(tmp_path / "g.png")]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    report = json.loads(outs[0])
    assert [layer["name"] for layer in report["layers"]] == ["conv2", "fc"]
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG"
    for layer in report["layers"]:
        assert set(layer["classes"]) == {"mult", "adder"}
        for v in layer["classes"].values():
            assert 0.5 < v["ratio_zero_delay"] < 2.0  # same function, other gates
            assert v["glitch_factor"] >= 1.0  # unit delay only adds transitions
            assert v["correlation_zero_delay"] > 0.5
    assert "conv2" in capsys.readouterr().out


def test_gates_with_user_rtl(tmp_path: Path, arch: Path) -> None:
    rtl = tmp_path / "pe.v"
    rtl.write_text(PE_V)
    out = tmp_path / "g.json"
    assert main(["gates", str(arch), str(WORKLOAD), "--layers", "fc", "--cycles", "200",
                 "--rtl", str(rtl), "--json", str(out)]) == 0
    (layer,) = json.loads(out.read_text())["layers"]
    assert set(layer["classes"]) == {"datapath"}


def test_gates_bad_rtl_is_one_line_exit_2(tmp_path: Path, arch: Path, capsys) -> None:
    rtl = tmp_path / "pe.v"
    rtl.write_text("module pe(input x; endmodule\n")
    out = tmp_path / "g.json"
    assert main(["gates", str(arch), str(WORKLOAD), "--layers", "fc", "--cycles", "50",
                 "--rtl", str(rtl), "--json", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pe.v" in err[0] and "--rtl" in err[0]
    assert not out.exists()


def test_gates_rejects_non_mac_pe(tmp_path: Path, capsys) -> None:
    path = tmp_path / "pann.yaml"
    path.write_text(ARCH.replace("kind: mac", "kind: pann"))
    assert main(["gates", str(path), str(WORKLOAD), "--cycles", "50"]) == 2
    assert "pe.kind" in capsys.readouterr().err


def test_gates_tech_out_is_a_loadable_recalibrated_table(tmp_path: Path, arch: Path) -> None:
    from accelsim.energy.tech import load_tech, power_law

    out, report = tmp_path / "t.yaml", tmp_path / "g.json"
    assert main(["gates", str(arch), str(WORKLOAD), "--layers", "fc", "--cycles", "200",
                 "--tech-out", str(out), "--json", str(report)]) == 0
    ratios = json.loads(report.read_text())["recalibration"]
    assert set(ratios) == {"mult", "adder"} and all(0.5 < r < 2 for r in ratios.values())
    base, table = load_tech("45nm"), load_tech(str(out))
    mult4 = {p.at: p.energy_pj for p in table.operations["multiply"]}[4.0]
    add16 = {p.at: p.energy_pj for p in table.operations["add"]}[16.0]
    assert mult4 == pytest.approx(power_law(base.operations["multiply"], 4.0)[0]
                                  * ratios["mult"], rel=1e-4)
    assert add16 == pytest.approx(power_law(base.operations["add"], 16.0)[0] * ratios["adder"],
                                  rel=1e-4)
    assert table.register == base.register  # registers keep their reference (add at 8 bits)


def test_gates_output_may_not_be_an_input(arch: Path, capsys) -> None:
    assert main(["gates", str(arch), str(WORKLOAD), "--cycles", "50",
                 "--tech-out", str(arch)]) == 2
    assert "--tech-out" in capsys.readouterr().err


def test_gates_rejects_a_pe_that_computes_something_else(tmp_path: Path, arch: Path,
                                                         capsys) -> None:
    """A PE whose multiplier treats the unsigned x as signed is caught before any figure."""
    rtl = tmp_path / "pe.v"
    rtl.write_text(PE_V.replace("$signed({1'b0, x})", "$signed(x)").replace("[8:0] p", "[7:0] p")
                   .replace("{{7{p[8]}}, p}", "{{8{p[7]}}, p}"))
    assert main(["gates", str(arch), str(WORKLOAD), "--layers", "fc", "--cycles", "100",
                 "--rtl", str(rtl)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "psum_out" in err[0]


def test_gates_rejects_layers_wider_than_the_pe(tmp_path: Path, capsys) -> None:
    path = tmp_path / "arch.yaml"
    path.write_text(ARCH)
    int8 = ROOT / "workloads" / "digits_int8.npz"
    assert main(["gates", str(path), str(int8), "--cycles", "50"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "digits_int8.npz" in err[0]
