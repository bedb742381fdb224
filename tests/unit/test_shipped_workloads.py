"""The shipped trained workloads (``workloads/digits_*.npz``, written by
``workloads/train_digits.py``): they load, their stored host stage reproduces every layer's x and y,
and the simulator reproduces every y exactly on every dataflow, with the exporter's accuracy
recomputed from the simulated outputs. NumPy only (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accelsim.config import load_arch
from accelsim.export import host
from accelsim.pe import REGISTRY
from accelsim.sim.layer import check_layer, simulate_layer
from accelsim.workload import load_workload

WORKLOADS = Path(__file__).resolve().parents[2] / "workloads"
SHIPPED = sorted(WORKLOADS.glob("digits_*.npz"))
#: The schemes train_digits.py ships, each in at least one file.
EXPECTED = {"int8", "int4", "int2", "lsqplus4", "pann_r2", "pann_r4"}


def test_the_set_is_shipped_and_small() -> None:
    tags = {p.stem.removeprefix("digits_") for p in SHIPPED}
    assert EXPECTED <= tags
    assert all(p.stat().st_size < 1 << 20 for p in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_loads_and_host_stage_reproduces_every_layer(path: Path) -> None:
    wl = load_workload(path)
    assert wl.source["trained"] is True
    assert wl.labels is not None and len(wl.labels) == wl.layers[0].x.shape[0]
    acc = wl.accuracy
    assert acc["samples"] == len(wl.labels) and 0.9 <= acc["float"] <= 1.0
    assert 0.85 <= acc["quantized"] <= 1.0
    graph = wl.source["graph"]
    first = next(n for n in graph["nodes"] if n["op"] == "layer")
    x0 = wl.layers[0].x.astype(np.int64) - first["x_offset"]
    _, xs, ys = host.run_graph(graph, {layer.name: layer for layer in wl.layers}, x0)
    for layer in wl.layers:
        assert np.array_equal(xs[layer.name], layer.x), layer.name
        assert np.array_equal(ys[layer.name], layer.y), layer.name
    pred = host.workload_predictions(wl.source, wl.layers)
    assert np.mean(pred == wl.labels) == acc["quantized"]
    if wl.layers[-1].quant["scheme"] != "lsqplus":  # no bias, no offset: plain argmax
        assert np.array_equal(pred, np.argmax(wl.layers[-1].y, axis=1))


def _arch(tmp_path: Path, kind: str, dataflow: str) -> object:
    extra = {"mac": "", "pann": ", pann: {adders: 1, sign: dual_accumulator}",
             "lsqplus": ", lsqplus: {rescale: output}"}[kind]
    p = tmp_path / f"{kind}-{dataflow}.yaml"
    p.write_text(
        f"version: 1\nname: {kind}-{dataflow}-8x8\n"
        f"array: {{rows: 8, cols: 8, dataflow: {dataflow}}}\n"
        f"pe: {{kind: {kind}, x_bits: 8, w_bits: 8, acc_bits: 32{extra}}}\n"
    )
    return load_arch(p)


def _runs(path: Path) -> list[tuple[Path, str, str]]:
    scheme = load_workload(path).layers[0].quant["scheme"]
    kinds = {"int": ["mac"], "pann": ["mac", "pann"], "lsqplus": ["lsqplus"]}[scheme]
    return [(path, kind, df) for kind in kinds for df in ("os", "ws", "is")]


@pytest.mark.parametrize(
    "path, kind, dataflow",
    [run for p in SHIPPED for run in _runs(p)],
    ids=lambda v: v.stem if isinstance(v, Path) else v,
)
def test_simulates_exactly(tmp_path: Path, path: Path, kind: str, dataflow: str) -> None:
    if kind not in REGISTRY:
        pytest.skip(f"PE kind {kind!r} not available")
    wl = load_workload(path)
    arch = _arch(tmp_path, kind, dataflow)
    y_last = None
    for layer in wl.layers:
        check_layer(arch, layer, str(path))
        sim = simulate_layer(arch, layer)
        assert sim.check == "exact", layer.name
        y_last = sim.y
    pred = host.workload_predictions(wl.source, wl.layers, y_last)
    assert np.mean(pred == wl.labels) == wl.accuracy["quantized"]
