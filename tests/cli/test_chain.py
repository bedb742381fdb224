"""``accelsim run --chain``, the accuracy of the simulated outputs, PANN's additions in the report,
and the ``export`` subcommand, end to end through :func:`accelsim.cli.main`.

A chained run feeds every layer after the first from the host stage applied to the *simulated*
outputs of the earlier layers; with an exact accelerator every layer still equals the exporter's
``y`` and the accuracy equals the exporter's figure.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.export import host
from accelsim.workload import Layer, load_workload, save_workload

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ROOT / "workloads"
EXAMPLE = WORKLOADS / "example_cnn.npz"
DIGITS_INT8 = WORKLOADS / "digits_int8.npz"


def write_arch(folder: Path, kind: str, dataflow: str, rows: int = 8) -> Path:
    extra = ", pann: {adders: 1, sign: dual_accumulator}" if kind == "pann" else ""
    path = folder / f"{kind}-{dataflow}-{rows}.yaml"
    path.write_text(
        f"version: 1\nname: {kind}-{dataflow}-{rows}x{rows}\n"
        f"array: {{rows: {rows}, cols: {rows}, dataflow: {dataflow}}}\n"
        f"pe: {{kind: {kind}, x_bits: 8, w_bits: 8, acc_bits: 32{extra}}}\n"
    )
    return path


def run_json(tmp_path: Path, *argv: str) -> tuple[int, dict]:
    out = tmp_path / "r.json"
    out.unlink(missing_ok=True)
    rc = main(["run", *argv, "--quiet", "--json", str(out)])
    return rc, json.loads(out.read_text()) if out.exists() else {}


def assert_one_line_error(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("accelsim: error: ") and "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# ------------------------------------------------------------------------------- chained runs


@pytest.mark.parametrize("name, kind", [("digits_int8", "mac"), ("digits_pann_r2", "pann")])
@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_chained_run_is_exact_with_the_exporters_accuracy(tmp_path: Path, capsys, name: str,
                                                          kind: str, dataflow: str) -> None:
    path = WORKLOADS / f"{name}.npz"
    rc, doc = run_json(tmp_path, str(write_arch(tmp_path, kind, dataflow)), str(path), "--chain",
                       "--csv", str(tmp_path / "r.csv"))
    assert rc == 0
    assert [lr["check"] for lr in doc["layers"]] == ["exact"] * 3
    wl = load_workload(path)
    accuracy = doc["total"]["accuracy"]
    assert accuracy == {"simulated": wl.accuracy["quantized"],
                        "exporter": wl.accuracy["quantized"], "samples": 200}
    text = capsys.readouterr().out
    assert "simulated" in text and "chained" in text
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    if kind == "pann":  # PANN's additions: per layer, in total, in the CSV
        for lr, row in zip(doc["layers"], rows):
            assert lr["additions"] == int(row["additions"]) > 0
            assert lr["additions_per_mac"] == round(lr["additions"] / lr["macs"], 6)
            assert row["additions_per_mac"] == f"{lr['additions_per_mac']:.6f}"
        total = doc["total"]
        assert total["additions"] == sum(lr["additions"] for lr in doc["layers"])
        assert abs(total["additions_per_mac"] - wl.source["pann"]["additions_per_mac"]) < 1e-6
        assert "additions:" in text
    else:
        assert all("additions" not in part for part in (*doc["layers"], doc["total"]))
        assert "additions" not in rows[0]


def _corrupting(layer_name: str):
    """A simulate_layer that zeroes the outputs of ``layer_name`` (a broken accelerator)."""
    import accelsim.sim.layer as sim_layer

    real = sim_layer.simulate_layer

    def fake(arch, layer, **kwargs):  # noqa: ANN001, ANN202
        sim = real(arch, layer, **kwargs)
        if layer.name != layer_name:
            return sim
        return dataclasses.replace(sim, y=np.zeros_like(sim.y), check="mismatch")

    return fake


def test_chain_feeds_the_simulated_outputs_forward(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr("accelsim.sim.layer.simulate_layer", _corrupting("conv1"))
    arch = str(write_arch(tmp_path, "mac", "ws"))
    rc, doc = run_json(tmp_path, arch, str(DIGITS_INT8))  # each layer from the file's x
    assert rc == 1 and [lr["check"] for lr in doc["layers"]] == ["mismatch", "exact", "exact"]
    assert doc["total"]["accuracy"]["simulated"] == doc["total"]["accuracy"]["exporter"]
    rc, doc = run_json(tmp_path, arch, str(DIGITS_INT8), "--chain")  # the error propagates
    assert rc == 1 and [lr["check"] for lr in doc["layers"]] == ["mismatch"] * 3
    assert doc["total"]["accuracy"]["simulated"] < 0.5 < doc["total"]["accuracy"]["exporter"]
    assert "MISMATCH" in capsys.readouterr().err


def test_run_chained_drives_the_host_graph() -> None:
    wl = load_workload(DIGITS_INT8)
    calls: list[str] = []

    def compute(layer: Layer, x: np.ndarray) -> np.ndarray:
        calls.append(layer.name)
        return host.layer_output(layer, x)

    _, xs, ys = host.run_chained(wl.source["graph"], wl.layers, compute)
    assert calls == ["conv1", "conv2", "fc"]
    for layer in wl.layers:
        assert np.array_equal(xs[layer.name], layer.x) and np.array_equal(ys[layer.name], layer.y)
    graph = dict(wl.source["graph"])
    with pytest.raises(ValueError, match="one layer node per workload layer"):
        host.run_chained(graph, wl.layers[:2], compute)
    bad = {**graph, "nodes": [n for n in graph["nodes"] if n["name"] != "relu1"]}
    with pytest.raises(ValueError, match="not defined before"):
        host.check_graph(bad, [layer.name for layer in wl.layers])
    with pytest.raises(ValueError, match="version"):
        host.check_graph({**graph, "version": 2}, [layer.name for layer in wl.layers])


def test_chain_needs_a_graph_and_every_layer(tmp_path: Path, capsys) -> None:
    arch = str(write_arch(tmp_path, "mac", "ws"))
    assert main(["run", arch, str(EXAMPLE), "--chain", "--quiet"]) == 2
    assert_one_line_error(capsys.readouterr().err, "--chain", "source.graph")
    assert main(["run", arch, str(DIGITS_INT8), "--chain", "--layers", "conv1,fc"]) == 2
    assert_one_line_error(capsys.readouterr().err, "--chain", "every layer")


def test_a_broken_graph_is_bad_input(tmp_path: Path, capsys) -> None:
    wl = load_workload(DIGITS_INT8)
    graph = wl.source["graph"]
    source = {**wl.source, "graph": {**graph, "nodes": graph["nodes"][:-1]}}  # no fc node
    path = tmp_path / "broken.npz"
    save_workload(path, wl.name, wl.layers, source, wl.labels, wl.accuracy)
    assert main(["run", str(write_arch(tmp_path, "mac", "ws")), str(path), "--quiet"]) == 2
    assert_one_line_error(capsys.readouterr().err, "source.graph")


# ---------------------------------------------------------------------------------- accuracy


def test_accuracy_only_with_labels_and_the_last_layer(tmp_path: Path) -> None:
    arch = str(write_arch(tmp_path, "mac", "ws"))
    rc, doc = run_json(tmp_path, arch, str(EXAMPLE))  # no labels
    assert rc == 0 and "accuracy" not in doc["total"]
    rc, doc = run_json(tmp_path, arch, str(DIGITS_INT8), "--layers", "conv1")  # no last layer
    assert rc == 0 and "accuracy" not in doc["total"]
    rc, doc = run_json(tmp_path, arch, str(DIGITS_INT8), "--layers", "fc")
    assert rc == 0 and doc["total"]["accuracy"]["simulated"] == 0.98
    assert all("accuracy" not in lr for lr in doc["layers"])


def test_accuracy_without_a_graph_is_argmax(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(3)
    x, w = rng.integers(-8, 8, (6, 5)), rng.integers(-8, 8, (4, 5))
    y = x @ w.T
    labels = np.argmax(y, axis=1)
    labels[0] = (labels[0] + 1) % 4  # one wrong out of six
    path = tmp_path / "labelled.npz"
    save_workload(path, "labelled", [Layer("fc", "linear", x, w, y, 4, 4, True, True)],
                  {"generator": "tests/cli/test_chain.py"}, labels)
    rc, doc = run_json(tmp_path, str(write_arch(tmp_path, "mac", "os")), str(path))
    assert rc == 0
    assert doc["total"]["accuracy"] == {"simulated": round(5 / 6, 6), "exporter": None,
                                        "samples": 6}
    assert "exporter none in the file" in capsys.readouterr().out


# ------------------------------------------------------------------------------------ export

MODEL_FILE = """
import torch
from torch import nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(36, 3)

    def forward(self, x):
        a = torch.relu(self.conv1(x))
        b = torch.relu(self.conv2(a) + a)
        return self.fc(torch.flatten(self.pool(b), 1))


def model():
    torch.manual_seed(0)
    return Tiny().eval()
"""


def test_export_subcommand(tmp_path: Path, capsys) -> None:
    pytest.importorskip("torch")
    (tmp_path / "net.py").write_text(MODEL_FILE)
    rng = np.random.default_rng(1)
    np.save(tmp_path / "x.npy", rng.normal(size=(10, 1, 6, 6)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, 10))
    out = tmp_path / "tiny.npz"
    args = ["export", f"{tmp_path / 'net.py'}:model", "--data", str(tmp_path / "x.npy"),
            "--labels", str(tmp_path / "y.npy"), "--scheme", "int:8"]
    assert main([*args, "--out", str(out)]) == 0
    assert "accuracy float" in capsys.readouterr().out
    wl = load_workload(out)
    assert any(n["op"] == "add" for n in wl.source["graph"]["nodes"])
    # the residual network runs end to end on the accelerator (conv1's x is signed: mac)
    rc, doc = run_json(tmp_path, str(write_arch(tmp_path, "mac", "ws", rows=4)), str(out),
                       "--chain")
    assert rc == 0 and doc["total"]["check"] == "exact"
    assert doc["total"]["accuracy"]["simulated"] == wl.accuracy["quantized"]
    capsys.readouterr()
    missing = tmp_path / "missing.npy"
    bad = [*args[:3], str(missing), *args[4:], "--out", str(tmp_path / "bad.npz")]
    assert main(bad) == 2
    assert_one_line_error(capsys.readouterr().err, "missing.npy")
    assert not (tmp_path / "bad.npz").exists()
