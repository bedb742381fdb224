"""The on-chip output path (docs/datapath.md §7): the ``output:`` block, the output unit in a
run (outputs, check, toggles, energy, leakage, trace), the DRAM bytes of outputs, ``--outputs``,
and that an arch without the block reports exactly as before."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.config import arch_to_dict, load_arch
from accelsim.energy.account import leakage_pw
from accelsim.errors import ConfigError
from accelsim.sim.output import output_bits, requantize_reference, unit_params
from accelsim.workload import Layer, load_workload, save_workload

ROOT = Path(__file__).resolve().parents[2]
ARCH = """\
name: tiny-out
array: {{rows: 4, cols: 4, dataflow: {dataflow}}}
pe: {{kind: mac, x_bits: 8, w_bits: 8, acc_bits: 24}}
buffers:
  ifmap: {{size_kib: 16, word_bits: 8}}
  filter: {{size_kib: 16, word_bits: 8}}
  ofmap: {{size_kib: 16, word_bits: 24}}
dram: {{bandwidth_bytes_per_cycle: 8, latency_cycles: 10, burst_bytes: 16}}
mapping: {{policy: fixed}}
"""
OUTPUT = "output: {requantize: shift, shift_bits: 6, bits: 4, signed: true, relu: true}\n"


def write(folder: Path, dataflow: str = "ws", extra: str = "", name: str = "a.yaml") -> Path:
    path = folder / name
    path.write_text(ARCH.format(dataflow=dataflow) + extra)
    return path


@pytest.fixture
def workload(tmp_path: Path) -> Path:
    """A conv layer (odd shape) and a linear layer, int8 signed, with reference ``y``."""
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, (2, 3, 5, 6))
    w = rng.integers(-128, 128, (5, 3, 3, 3))
    conv = Layer("c", "conv2d", x, w, None, 8, 8, True, True, (1, 1), (1, 0), (1, 1), 1)
    fc = Layer("f", "linear", rng.integers(-128, 128, (3, 7)), rng.integers(-128, 128, (6, 7)),
               None, 8, 8, True, True)
    path = tmp_path / "w.npz"
    save_workload(path, "out-path", [conv, fc], {"generator": "tests/unit/test_output_path.py"})
    return path


def run(arch: Path, wl: Path, out: Path, *extra: str) -> dict:
    assert main(["run", str(arch), str(wl), "--json", str(out), "--quiet", *extra]) == 0
    return json.loads(out.read_text())


def test_block_defaults_and_absent_block_not_reported(tmp_path: Path) -> None:
    plain = load_arch(write(tmp_path))
    assert plain.output is None and "output" not in arch_to_dict(plain)
    arch = load_arch(write(tmp_path, extra="output: {requantize: shift}\n", name="b.yaml"))
    out = arch.output
    assert (out.requantize, out.shift_bits, out.bits, out.signed, out.relu) == \
        ("shift", 0, 8, True, False)
    assert arch_to_dict(arch)["output"]["requantize"] == "shift"


@pytest.mark.parametrize("extra,key", [
    ("output: {requantize: auto}\n", "output.requantize"),
    ("output: {requantize: shift, shift_bits: 24}\n", "output.shift_bits"),
    ("output: {requantize: shift, bits: 1}\n", "output.bits"),
    ("output: {requantise: shift}\n", "output.requantise"),
])
def test_bad_block_is_a_config_error(tmp_path: Path, extra: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_arch(write(tmp_path, extra=extra))
    assert err.value.key == key


def test_output_bits_per_layer_scheme(tmp_path: Path, workload: Path) -> None:
    layer = load_workload(workload).layers[0]
    assert output_bits(load_arch(write(tmp_path)), layer) == 24
    arch = load_arch(write(tmp_path, extra=OUTPUT, name="b.yaml"))
    assert output_bits(arch, layer) == 4
    p = unit_params(arch, layer)
    assert (p.lo, p.hi, p.shift) == (0, 7, 6)
    lsq = Layer("q", "gemm", np.zeros((2, 2)), np.zeros((2, 2)), None, 8, 8, False, True,
                quant={"scheme": "lsqplus", "y_bits": 5})
    assert unit_params(arch, lsq) is None and output_bits(arch, lsq) == 5


@pytest.mark.parametrize("dataflow", ("os", "ws", "is"))
def test_run_requantizes_on_chip(tmp_path: Path, workload: Path, dataflow: str) -> None:
    raw = run(write(tmp_path, dataflow), workload, tmp_path / "raw.json",
              "--outputs", str(tmp_path / "raw.npz"))
    rq = run(write(tmp_path, dataflow, OUTPUT, "b.yaml"), workload, tmp_path / "rq.json",
             "--outputs", str(tmp_path / "rq.npz"))
    assert rq["total"]["check"] == "exact"
    for lr, lq in zip(raw["layers"], rq["layers"]):
        assert "output_unit" not in lr["toggles"] and "output_unit" not in lr["energy_pj"]
        assert lq["toggles"]["output_unit"] > 0 and lq["energy_pj"]["output_unit"] > 0
        for cls in lr["toggles"]:  # the array itself is unchanged
            assert lq["toggles"][cls] == lr["toggles"][cls]
        assert lq["dram"]["read_bytes"] == lr["dram"]["read_bytes"]
        assert lq["dram"]["write_bytes"] < lr["dram"]["write_bytes"]
    assert rq["total"]["energy_pj"]["leakage"] > 0
    with np.load(tmp_path / "raw.npz") as a, np.load(tmp_path / "rq.npz") as b:
        assert sorted(a.files) == ["c/y", "f/y"]
        assert sorted(b.files) == ["c/y", "c/y_out", "f/y", "f/y_out"]
        arch = load_arch(write(tmp_path, dataflow, OUTPUT, "b.yaml"))
        p = unit_params(arch, load_workload(workload).layers[0])
        for name in ("c", "f"):
            np.testing.assert_array_equal(b[f"{name}/y"], a[f"{name}/y"])  # raw stays available
            np.testing.assert_array_equal(b[f"{name}/y_out"],
                                          requantize_reference(a[f"{name}/y"], p))
            assert b[f"{name}/y_out"].min() >= 0 and b[f"{name}/y_out"].max() <= 7


def test_output_bytes_follow_the_width(tmp_path: Path, workload: Path) -> None:
    """Outputs of 24-bit accumulators leave as 3 bytes, after the unit as 1 (bits 8) or half a
    byte (bits 4, packed two per byte): the per-layer write bytes scale with the element size up
    to burst rounding."""
    raw = run(write(tmp_path), workload, tmp_path / "raw.json")
    one = run(write(tmp_path, extra=OUTPUT, name="b.yaml"), workload, tmp_path / "rq.json")
    eight = run(write(tmp_path, extra=OUTPUT.replace("bits: 4", "bits: 8"), name="c.yaml"),
                workload, tmp_path / "rq8.json")
    # outputs: conv [2, 5, 5, 4] (H 5 + 2·1 − 2, W 6 − 2), linear [3, 6]
    for n, lr, lq, l8 in zip((200, 18), raw["layers"], one["layers"], eight["layers"]):
        b4, b8, b24 = (r["dram"]["write_bytes"] for r in (lq, l8, lr))
        assert n // 2 <= b4 < b8 < b24 and n <= b8 < 3 * n <= b24


def test_leakage_adds_the_units(tmp_path: Path) -> None:
    plain = load_arch(write(tmp_path))
    arch = load_arch(write(tmp_path, extra=OUTPUT, name="b.yaml"))
    assert leakage_pw(arch)["array"] > leakage_pw(plain)["array"]


def test_trace_has_the_unit_column(tmp_path: Path, workload: Path) -> None:
    doc = run(write(tmp_path, extra=OUTPUT, name="b.yaml"), workload, tmp_path / "r.json",
              "--trace", str(tmp_path / "tr"))
    header = (tmp_path / "tr" / "c.trace.csv").read_text().splitlines()[0]
    assert "output_unit" in header
    rows = np.loadtxt(tmp_path / "tr" / "c.trace.csv", delimiter=",", skiprows=1, ndmin=2)
    col = header.split(",").index("output_unit")
    assert int(rows[:, col].sum()) == doc["layers"][0]["toggles"]["output_unit"]


def test_technology_without_the_class_is_refused(tmp_path: Path, workload: Path, capsys) -> None:
    tech = (ROOT / "accelsim" / "energy" / "tech" / "45nm.yaml").read_text()
    start = tech.index("  output_unit:")
    end = tech.index("\nclock_pj_per_bit_cycle")
    (tmp_path / "t.yaml").write_text(tech[:start] + tech[end + 1:])
    arch = write(tmp_path, extra=OUTPUT + "energy: {technology: t.yaml}\n")
    assert main(["run", str(arch), str(workload), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "toggle_classes.output_unit" in err and len(err.strip().splitlines()) == 1


def test_lsqplus_layers_bypass_the_unit(tmp_path: Path) -> None:
    """lsqplus layers keep their rescale unit's outputs and report the unit's class with 0
    toggles (so a run mixing int and lsqplus layers keeps one set of classes)."""
    arch = ROOT / "arch_configs" / "ws-16x16-lsqplus-output.yaml"
    wl = ROOT / "workloads" / "example_lsqplus.npz"
    extra = arch.read_text() + OUTPUT
    rq = tmp_path / "rq.yaml"
    rq.write_text(extra)
    base = run(arch, wl, tmp_path / "a.json")
    doc = run(rq, wl, tmp_path / "b.json", "--trace", str(tmp_path / "tr"))
    assert doc["total"]["check"] == "exact"
    for la, lb in zip(base["layers"], doc["layers"]):
        assert lb["toggles"]["output_unit"] == 0
        assert {k: v for k, v in lb["toggles"].items() if k != "output_unit"} == la["toggles"]


def test_vcd_with_the_unit_checks_the_array_classes(tmp_path: Path, workload: Path) -> None:
    """``--vcd`` records the PEs; its check against the trace ignores the unit's column."""
    arch = write(tmp_path, extra=OUTPUT)
    assert main(["run", str(arch), str(workload), "--quiet", "--layers", "c", "--vcd",
                 str(tmp_path / "a.vcd"), "--vcd-pes", "all", "--vcd-cycles", "0:40"]) == 0
    assert (tmp_path / "a.vcd").stat().st_size > 0
