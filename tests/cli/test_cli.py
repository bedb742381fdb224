"""The command line end to end: exit codes, one-line errors, no partial outputs, determinism,
and every shipped architecture on the example workload."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.workload import Layer, save_workload

ROOT = Path(__file__).resolve().parents[2]
ARCH_CONFIGS = sorted((ROOT / "arch_configs").glob("*.yaml"))
EXAMPLE = ROOT / "workloads" / "example_cnn.npz"
ARCH_8 = ROOT / "arch_configs" / "ws-8x8-int8.yaml"

ARCH_YAML = """\
name: tiny
array: {{rows: 4, cols: 4, dataflow: {dataflow}}}
pe: {{kind: mac, x_bits: {bits}, w_bits: {bits}, acc_bits: {acc_bits}}}
"""


def write_arch(folder: Path, dataflow: str = "ws", bits: int = 8, acc_bits: int = 32,
               extra: str = "") -> Path:
    path = folder / f"arch-{dataflow}-{bits}-{acc_bits}.yaml"
    path.write_text(ARCH_YAML.format(dataflow=dataflow, bits=bits, acc_bits=acc_bits) + extra)
    return path


def write_workload(folder: Path, y_delta: int = 0, bits: int = 8, k: int = 6,
                   name: str = "w.npz") -> Path:
    """Two gemm layers ``a`` (5×k · k×3) and ``b``; ``y_delta`` is added to one element of a's y."""
    rng = np.random.default_rng(7)
    lo, hi = -(1 << (bits - 1)), 1 << (bits - 1)
    layers = []
    for lname, m, n in (("a", 5, 3), ("b", 3, 6)):
        x, w = rng.integers(lo, hi, (m, k)), rng.integers(lo, hi, (k, n))
        y = x @ w
        if lname == "a":
            y[1, 2] += y_delta
        layers.append(Layer(lname, "gemm", x, w, y, bits, bits, True, True))
    path = folder / name
    save_workload(path, "tiny", layers, {"generator": "tests/cli/test_cli.py"})
    return path


def raw_workload(folder: Path, layer_changes: dict, manifest_changes: dict | None = None) -> Path:
    """A workload written without validation, to reach the loader's error paths."""
    x = np.arange(6).reshape(2, 3)
    layer = {"name": "a", "op": "gemm", "x": "a.x", "w": "a.w", "x_bits": 8, "w_bits": 8,
             "x_signed": True, "w_signed": True, **layer_changes}
    manifest = {"format": "accelsim-workload", "version": 1, "name": "raw", "source": {},
                "layers": [layer], **(manifest_changes or {})}
    path = folder / "raw.npz"
    np.savez(path, manifest=np.array(json.dumps(manifest)), **{"a.x": x, "a.w": x.T * 100})
    return path


def outputs_args(folder: Path) -> list[str]:
    return ["--json", str(folder / "r.json"), "--csv", str(folder / "r.csv"),
            "--outputs", str(folder / "y.npz"), "--trace", str(folder / "trace")]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def assert_one_line_error(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("accelsim: error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# --------------------------------------------------------------------------------- success


@pytest.mark.parametrize("arch", ARCH_CONFIGS, ids=[p.stem for p in ARCH_CONFIGS])
def test_shipped_arch_runs_example_exactly(arch: Path, out: Path, capsys) -> None:
    assert main(["run", str(arch), str(EXAMPLE), "--json", str(out / "r.json"), "--quiet"]) == 0
    doc = json.loads((out / "r.json").read_text())
    assert doc["total"]["check"] == "exact"
    assert [lr["check"] for lr in doc["layers"]] == ["exact"] * 3
    assert doc["arch"]["name"] == arch.stem
    table = capsys.readouterr().out
    assert "TOTAL" in table and "mismatch" not in table


def test_shipped_configs_exist() -> None:
    assert ARCH_CONFIGS and EXAMPLE.is_file()


def test_json_twice_is_byte_identical(out: Path) -> None:
    for name in ("1.json", "2.json"):
        assert main(["run", str(ARCH_8), str(EXAMPLE), "--json", str(out / name), "--quiet"]) == 0
    assert (out / "1.json").read_bytes() == (out / "2.json").read_bytes()


def test_all_outputs(out: Path, capsys) -> None:
    assert main(["run", str(ARCH_8), str(EXAMPLE), *outputs_args(out)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.out.splitlines()[0].split()[:2] == ["layer", "cycles"]
    doc = json.loads((out / "r.json").read_text())
    csv_lines = (out / "r.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + len(doc["layers"])
    with np.load(EXAMPLE, allow_pickle=False) as wl, \
            np.load(out / "y.npz", allow_pickle=False) as y:
        assert sorted(y.files) == ["conv1/y", "conv2/y", "fc/y"]
        for name in ("conv1", "conv2", "fc"):
            np.testing.assert_array_equal(y[f"{name}/y"], wl[f"{name}.y"])
    traces = sorted(p.name for p in (out / "trace").iterdir())
    assert traces == [f"{n}.{kind}.{e}" for n in ("conv1", "conv2", "fc")
                      for kind in ("power", "trace") for e in ("csv", "png")]
    lines = (out / "trace" / "fc.trace.csv").read_text().splitlines()
    assert lines[0] == "cycle,x_reg,w_reg,psum_reg,mult,adder,total"
    fc = next(lr for lr in doc["layers"] if lr["name"] == "fc")
    assert len(lines) == 1 + fc["cycles"]["total"]
    power = (out / "trace" / "fc.power.csv").read_text().splitlines()
    assert power[0].startswith("cycle,cycles,x_reg_mw") and power[0].endswith(",total_mw")
    assert len(power) == 1 + fc["cycles"]["total"]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_layers_subset(out: Path) -> None:
    args = ["run", str(ARCH_8), str(EXAMPLE), "--layers", "fc,conv1", "--json", str(out / "r.json")]
    assert main([*args, "--quiet"]) == 0
    doc = json.loads((out / "r.json").read_text())
    assert [lr["name"] for lr in doc["layers"]] == ["conv1", "fc"]  # file order


def test_inspect(tmp_path: Path, capsys) -> None:
    assert main(["inspect", str(EXAMPLE)]) == 0
    text = capsys.readouterr().out
    assert "example_cnn" in text and "conv2" in text and "uint8" in text
    assert main(["inspect", str(ARCH_8)]) == 0
    assert "array.dataflow" in capsys.readouterr().out
    other = tmp_path / "x.txt"
    other.write_text("")
    assert main(["inspect", str(other)]) == 2
    assert_one_line_error(capsys.readouterr().err, str(other))


def test_inspect_summary_and_full(capsys) -> None:
    digits = ROOT / "workloads" / "digits_int8.npz"
    assert main(["inspect", str(digits)]) == 0
    text = capsys.readouterr().out
    assert "layers: 3, 5,120,000 MACs; schemes: int" in text
    assert "3,686,400" in text and "accuracy: " in text and '"quantized": 0.98' in text
    assert "source keys: " in text and '"graph"' not in text  # the host graph only with --full
    assert main(["inspect", str(digits), "--full"]) == 0
    full = capsys.readouterr().out
    source = next(line for line in full.splitlines() if line.startswith("source: "))
    assert "graph" in json.loads(source[len("source: "):])


def test_help_lists_every_command(capsys) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for command in ("run", "compare", "sweep", "export", "inspect"):
        assert command in text


# -------------------------------------------------------------------------------- mismatch


def test_mismatch_exits_1(tmp_path: Path, out: Path, capsys) -> None:
    workload = write_workload(tmp_path, y_delta=1)
    arch = write_arch(tmp_path)
    rc = main(["run", str(arch), str(workload), "--json", str(out / "r.json"), "--quiet"])
    assert rc == 1
    captured = capsys.readouterr()
    assert "MISMATCH" in captured.err and " a" in captured.err and "acc_bits" not in captured.err
    assert "Traceback" not in captured.err
    doc = json.loads((out / "r.json").read_text())
    assert [lr["check"] for lr in doc["layers"]] == ["mismatch", "exact"]
    assert doc["total"]["check"] == "mismatch"


def test_overflow_mismatch_suggests_wider_accumulator(tmp_path: Path, capsys) -> None:
    workload = write_workload(tmp_path, bits=4, k=16)
    arch = write_arch(tmp_path, bits=4, acc_bits=8)
    assert main(["run", str(arch), str(workload), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "MISMATCH" in err and "pe.acc_bits" in err


def test_exact_run_of_tiny_workload(tmp_path: Path) -> None:
    for dataflow in ("os", "ws", "is"):
        assert main(["run", str(write_arch(tmp_path, dataflow)),
                     str(write_workload(tmp_path)), "--quiet"]) == 0


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("extra, key", [
    ("clock_mhz: -1\n", "clock_mhz"),
    ("energy: {technology: 7nm}\n", "energy.technology"),
    ("dram: {bandwidth_bytes_per_cycle: 16}\n", "dram.latency_cycles"),
    ("colour: red\n", "colour"),
])  # fmt: skip
def test_bad_arch(tmp_path: Path, out: Path, extra: str, key: str, capsys) -> None:
    arch = write_arch(tmp_path, extra=extra)
    rc = main(["run", str(arch), str(write_workload(tmp_path)), *outputs_args(out)])
    assert rc == 2
    assert_one_line_error(capsys.readouterr().err, str(arch), key)
    assert list(out.iterdir()) == []


def test_missing_arch_file(tmp_path: Path, out: Path, capsys) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["run", str(missing), str(EXAMPLE), *outputs_args(out)]) == 2
    assert_one_line_error(capsys.readouterr().err, str(missing))
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("layer_changes, manifest_changes, key", [
    ({}, {"version": 2}, "manifest.version"),
    ({"x_bits": 2}, None, "layers[0].x"),
    ({"w": "a.ww"}, None, "layers[0].w"),
    ({"op": "conv3d"}, None, "layers[0].op"),
])  # fmt: skip
def test_bad_workload(tmp_path: Path, out: Path, layer_changes: dict,
                      manifest_changes: dict | None, key: str, capsys) -> None:
    workload = raw_workload(tmp_path, layer_changes, manifest_changes)
    assert main(["run", str(ARCH_8), str(workload), *outputs_args(out)]) == 2
    assert_one_line_error(capsys.readouterr().err, str(workload), key)
    assert list(out.iterdir()) == []


def test_workload_wider_than_pe(tmp_path: Path, out: Path, capsys) -> None:
    workload = write_workload(tmp_path, bits=8)
    arch = write_arch(tmp_path, bits=4, acc_bits=16)
    assert main(["run", str(arch), str(workload), *outputs_args(out)]) == 2
    assert_one_line_error(capsys.readouterr().err, str(workload), "x_bits")
    assert list(out.iterdir()) == []


def test_unknown_layer_name(out: Path, capsys) -> None:
    args = ["run", str(ARCH_8), str(EXAMPLE), "--layers", "conv1,conv9", *outputs_args(out)]
    assert main(args) == 2
    assert_one_line_error(capsys.readouterr().err, "conv9", "--layers")
    assert list(out.iterdir()) == []


def test_output_folder_missing(tmp_path: Path, capsys) -> None:
    target = tmp_path / "missing" / "r.json"
    assert main(["run", str(ARCH_8), str(EXAMPLE), "--json", str(target)]) == 2
    assert_one_line_error(capsys.readouterr().err, str(target), "--json")


def test_usage_error_exits_2(capsys) -> None:
    assert main(["run", str(ARCH_8)]) == 2
    assert "Traceback" not in capsys.readouterr().err


# ------------------------------------------------------------------------------ subprocess


def accelsim_command() -> list[str]:
    script = Path(sys.executable).with_name("accelsim")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "accelsim.cli"]


def test_console_script(tmp_path: Path, out: Path) -> None:
    ok = subprocess.run([*accelsim_command(), "run", str(ARCH_8), str(EXAMPLE), "--json",
                         str(out / "r.json")], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "TOTAL" in ok.stdout and "Traceback" not in ok.stderr
    assert "it/s" not in ok.stderr and "fold/s" not in ok.stderr  # stderr is no terminal: no bar
    bad = write_arch(tmp_path, extra="colour: red\n")
    failed = subprocess.run([*accelsim_command(), "run", str(bad), str(EXAMPLE)],
                            capture_output=True, text=True, check=False)
    assert failed.returncode == 2
    assert_one_line_error(failed.stderr, str(bad), "colour")
    assert failed.stdout == ""
