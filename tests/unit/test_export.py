"""``accelsim export`` end to end on tiny networks (needs torch; skipped without it).

Each scheme: the file validates, the host graph stored in it reproduces every layer's x and y from
the first layer's input, int/pann layers simulate exactly on os/ws/is mac arrays, and the accuracy
from the simulated last-layer outputs equals the exporter's. Unsupported layers are named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
# torch 2.13 deprecates TorchScript; the exporter still reads TorchScript files (the issue wants it)
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
nn = torch.nn

from accelsim.config import load_arch  # noqa: E402
from accelsim.export import ExportError  # noqa: E402
from accelsim.export import host  # noqa: E402
from accelsim.export.capture import from_module, from_torchscript  # noqa: E402
from accelsim.export.export import export_main, export_network, parse_scheme  # noqa: E402
from accelsim.sim.layer import check_layer, simulate_layer  # noqa: E402
from accelsim.workload import load_workload  # noqa: E402


class Residual(nn.Module):
    """conv+BN+ReLU, max-pool, a residual block with a 1×1 downsample, global pool, fc."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.conv1 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(6, 6, 3, padding=1, groups=2)
        self.down = nn.Conv2d(4, 6, 1, stride=2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(6, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.bn(self.stem(x))))
        y = self.conv2(torch.relu(self.conv1(x)))
        x = torch.relu(y + self.down(x))
        return self.fc(torch.flatten(self.gap(x), 1))


def sequential() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 8, 3, stride=2, padding=1),
        nn.ReLU(), nn.Flatten(), nn.Dropout(0.5), nn.Linear(8 * 4 * 4, 5),
    )  # fmt: skip


def _model(kind: str) -> nn.Module:
    torch.manual_seed(0)
    model = Residual() if kind == "residual" else sequential()
    if kind == "residual":  # non-trivial BatchNorm statistics
        model.bn.running_mean.uniform_(-0.2, 0.2)
        model.bn.running_var.uniform_(0.5, 2.0)
    return model.eval()


def _data(signed: bool, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(n, 1, 8, 8)) if signed else rng.random((n, 1, 8, 8))
    return x.astype(np.float32), rng.integers(0, 5, n)


def _arch(tmp_path: Path, dataflow: str, x_bits: int, w_bits: int) -> object:
    p = tmp_path / f"{dataflow}.yaml"
    p.write_text(
        f"version: 1\nname: t\narray: {{rows: 4, cols: 4, dataflow: {dataflow}}}\n"
        f"pe: {{kind: mac, x_bits: {x_bits}, w_bits: {w_bits}, acc_bits: 32}}\n"
    )
    return load_arch(p)


CASES = [
    ("sequential", "int:8", False, {}),
    ("sequential", "int:4", False, {}),
    ("sequential", "int:2", False, {}),
    ("residual", "int:8", True, {}),
    ("residual", "int:8", True, {"unsigned_offset": True}),
    ("sequential", "pann:2", False, {}),
    ("residual", "pann:3:4", True, {"unsigned_offset": True}),
    ("sequential", "lsqplus:4", True, {}),
    ("residual", "lsqplus:8", True, {"weight_zero_points": True}),
]


@pytest.mark.parametrize("kind, text, signed, options", CASES)
def test_export_round_trip(tmp_path: Path, kind: str, text: str, signed: bool,
                           options: dict) -> None:
    model = _model(kind)
    x, labels = _data(signed)
    scheme = parse_scheme(text, **options)
    exported = export_network(model, from_module(model, kind), x, labels, scheme, name=kind)
    path = tmp_path / "w.npz"
    exported.save(path)
    wl = load_workload(path)  # (a) validates
    assert [layer.name for layer in wl.layers] == [layer.name for layer in exported.layers]
    assert np.array_equal(wl.labels, labels)
    assert set(wl.accuracy) >= {"float", "quantized", "samples"}
    by_name = {layer.name: layer for layer in wl.layers}
    graph = wl.source["graph"]
    first = next(n for n in graph["nodes"] if n["op"] == "layer")
    _, xs, ys = host.run_graph(graph, by_name, wl.layers[0].x.astype(np.int64) - first["x_offset"])
    for layer in wl.layers:  # the host stage in the file reproduces every x and y
        assert np.array_equal(xs[layer.name], layer.x) and np.array_equal(ys[layer.name], layer.y)
        assert layer.quant["scheme"] == scheme.kind
        if scheme.kind == "pann" or scheme.unsigned_offset:
            assert not layer.x_signed
    assert any(layer.x_signed for layer in wl.layers) == (
        signed and scheme.kind == "int" and not scheme.unsigned_offset)
    pred = host.workload_predictions(wl.source, wl.layers)
    assert np.mean(pred == labels) == wl.accuracy["quantized"]
    if scheme.kind == "lsqplus":
        return  # the lsqplus PE checks these; here: y is the exporter's own reference
    x_bits = max(2, *(layer.x_bits for layer in wl.layers))
    w_bits = max(2, *(layer.w_bits for layer in wl.layers))
    for dataflow in ("os", "ws", "is"):  # (b) exact on every dataflow
        arch = _arch(tmp_path, dataflow, x_bits, w_bits)
        sims = []
        for layer in wl.layers:
            check_layer(arch, layer, str(path))
            sims.append(simulate_layer(arch, layer))
            assert sims[-1].check == "exact", (dataflow, layer.name)
        pred = host.workload_predictions(wl.source, wl.layers, sims[-1].y)
        assert np.mean(pred == labels) == wl.accuracy["quantized"]


@pytest.mark.parametrize("text", ["int:8", "lsqplus:8", "pann:8:8"])
def test_quantized_logits_track_float(text: str) -> None:
    """The integer pipeline approximates the float network (not just self-consistent)."""
    model = _model("residual")
    x, labels = _data(True, 32)
    scheme = parse_scheme(text, unsigned_offset=text.startswith("pann"))
    exported = export_network(model, from_module(model, "m"), x, labels, scheme)
    float_out = exported.extras["float_out"]
    last = exported.layers[-1]
    node = host.output_chain(exported.source["graph"])[0]
    v = host.after_layer(node, last, last.y).astype(float)
    if scheme.kind == "lsqplus":
        scale = node["grid"]["scale"]
    else:  # logits layer: one weight step; acc (+ bias) · s_x · s_w
        info = exported.source["layers"][last.name]
        scale = info["x_grid"]["scale"] * info["w_scale"][0]
    err = np.abs(v * scale - float_out).max() / np.abs(float_out).max()
    assert err < 0.1
    assert exported.accuracy["quantized"] >= exported.accuracy["float"] - 0.1


def test_pann_counts_and_budget() -> None:
    model = _model("sequential")
    x, labels = _data(False)
    exported = export_network(model, from_module(model, "m"), x, labels, parse_scheme("pann:3"))
    for layer in exported.layers:
        assert abs(np.abs(layer.w).mean() - 3) < 0.35
    assert exported.source["pann"]["R"] == 3
    assert 3 < exported.source["pann"]["equivalent_mac_bits"] < 5


def test_torchscript_matches_module(tmp_path: Path) -> None:
    model = _model("residual")
    x, labels = _data(True)
    scheme = parse_scheme("int:8")
    ref = export_network(model, from_module(model, "m"), x, labels, scheme)
    for how in ("script", "trace"):
        example = torch.zeros(2, 1, 8, 8)
        ts = torch.jit.script(model) if how == "script" else torch.jit.trace(model, example)
        path = tmp_path / f"{how}.pt"
        torch.jit.save(ts, str(path))
        loaded = torch.jit.load(str(path))
        got = export_network(loaded, from_torchscript(str(path)), x, labels, scheme)
        assert [layer.name for layer in got.layers] == [layer.name for layer in ref.layers]
        for a, b in zip(got.layers, ref.layers):
            assert np.array_equal(a.x, b.x) and np.array_equal(a.w, b.w)
            assert np.array_equal(a.y, b.y)


class _Lstm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(8, 8, batch_first=True)
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.lstm(x.reshape(x.shape[0], 8, 8))[0][:, -1])


class _BnFirst(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(1)
        self.fc = nn.Linear(64, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.norm(x), 1))


@pytest.mark.parametrize(
    "model, named",
    [
        (_Lstm(), "'lstm'"),
        (nn.Sequential(nn.Conv3d(1, 2, 1), nn.Flatten(), nn.Linear(128, 5)), "Conv3d"),
        (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sigmoid(), nn.Flatten(), nn.Linear(72, 5)),
         "Sigmoid"),
        (_BnFirst(), "'norm'"),
    ],
)
def test_unsupported_layers_are_named(tmp_path: Path, model: nn.Module, named: str) -> None:
    model.eval()
    with pytest.raises(ExportError, match=named):
        from_module(model, "m")
    if isinstance(model, _Lstm):  # TorchScript: named too
        path = tmp_path / "lstm.pt"
        torch.jit.save(torch.jit.script(model), str(path))
        with pytest.raises(ExportError, match="module 'lstm'.*LSTM"):
            from_torchscript(str(path))


def test_pann_needs_unsigned_inputs() -> None:
    model = _model("sequential")
    x, labels = _data(True)
    with pytest.raises(ExportError, match="--unsigned-offset"):
        export_network(model, from_module(model, "m"), x, labels, parse_scheme("pann:2"))


@pytest.mark.parametrize(
    "bad", ["int", "int:1", "int:17", "lsq:4", "pann:0", "pann:x", "pann:2:8:1"]
)
def test_bad_schemes(bad: str) -> None:
    with pytest.raises(ExportError, match="--scheme"):
        parse_scheme(bad)


MODEL_FILE = """
import torch.nn as nn, torch

def model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))
"""


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "net.py").write_text(MODEL_FILE)
    x, labels = _data(False, 6)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", labels % 3)
    out = tmp_path / "w.npz"
    base = [f"{tmp_path / 'net.py'}:model", "--data", str(tmp_path / "x.npy"), "--labels",
            str(tmp_path / "y.npy"), "--out", str(out)]
    assert export_main([*base, "--scheme", "int:4", "--samples", "4"]) == 0
    assert "accuracy float" in capsys.readouterr().out
    wl = load_workload(out)
    assert wl.layers[0].x.shape[0] == 4 and wl.name == "w"
    assert wl.source["scheme"] == "int:4" and wl.source["model"].endswith("net.py:model")
    out.unlink()
    for argv, message in (
        ([*base, "--scheme", "int:99"], "--scheme"),
        ([*base, "--scheme", "int:8", "--samples", "99"], "--samples"),
        ([*base[:1], "--data", str(tmp_path / "nope.npy"), *base[3:], "--scheme", "int:8"], "nope"),
        ([f"{tmp_path / 'net.py'}:missing", *base[1:], "--scheme", "int:8"], "missing"),
        ([*base, "--scheme", "int:8", "--weight-zero-points"], "lsqplus"),
        ([str(tmp_path / "x.npy"), *base[1:], "--scheme", "int:8"], "TorchScript"),
    ):
        assert export_main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("accelsim: error:") and message in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
        assert not out.exists()
