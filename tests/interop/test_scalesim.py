"""``accelsim import-scalesim`` on SCALE-Sim's own example configs and topologies.

tests/interop/data holds SCALE-Sim v2's shipped ``google.cfg`` and ``scale.cfg`` and the topologies
``alexnet.csv``, ``resnet18.csv`` (conv) and ``test_mnk_input.csv`` (GEMM), in its published
formats, plus two small topologies of ours for simulation. The expected compute cycles are
computed here from the CSV columns alone, with SCALE-Sim's own rules (ofmap = (H − R) // S + 1, no padding; a ``DP``
layer runs once per channel; a GEMM row M, N, K is a 1×K filter over an M×K ifmap).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.config import load_arch
from accelsim.dataflows import REGISTRY
from accelsim.workload import load_workload, lower

DATA = Path(__file__).parent / "data"


def scalesim_cycles(row: list[str], gemm: bool, R: int, C: int, df: str) -> int:
    """SCALE-Sim's stall-free compute cycles of one topology row (independent of accelsim)."""
    if gemm:
        m, n, k = (int(v) for v in row[1:4])
        reps, px, window, filters = 1, m, k, n
    else:
        h, w, fh, fw, ch, nf, s = (int(v) for v in row[1:8])
        reps = ch if "DP" in row[0] else 1
        ch = 1 if reps > 1 else ch
        px = ((h - fh) // s + 1) * ((w - fw) // s + 1)
        window, filters = fh * fw * ch, nf
    sr, sc, t = {"os": (px, filters, window), "ws": (window, filters, px),
                 "is": (window, px, filters)}[df]
    per_fold = (R if df == "os" else 2 * R) + C + t - 2
    return reps * math.ceil(sr / R) * math.ceil(sc / C) * per_fold


def topology_rows(name: str) -> tuple[bool, list[list[str]]]:
    with open(DATA / name) as f:
        rows = [[c.strip() for c in r] for r in csv.reader(f) if any(c.strip() for c in r)]
    return rows[0][1].upper() == "M", rows[1:]


def imported(tmp: Path, cfg: str, topology: str, *extra: str) -> Path:
    out = tmp / f"{Path(cfg).stem}-{Path(topology).stem}"
    tmp.mkdir(parents=True, exist_ok=True)
    assert main(["import-scalesim", str(DATA / cfg), str(DATA / topology), "--out", str(out),
                 *extra]) == 0
    return out


@pytest.fixture(scope="module")
def full_imports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("scalesim")
    return {t: imported(tmp, "google.cfg", t)
            for t in ("alexnet.csv", "resnet18.csv", "test_mnk_input.csv")}


@pytest.mark.parametrize("topology", ["alexnet.csv", "resnet18.csv", "test_mnk_input.csv"])
@pytest.mark.parametrize("array", [(256, 256), (32, 32), (8, 16)])
@pytest.mark.parametrize("df", ["os", "ws", "is"])
def test_full_shapes_give_scalesim_compute_cycles(full_imports, topology, array, df):
    """Layer by layer, fold count × per-fold cycles of the lowered layers = SCALE-Sim's count."""
    R, C = array
    flow = REGISTRY[df]
    wl = load_workload(full_imports[topology] / "workload.npz")
    gemm, rows = topology_rows(topology)
    assert [layer.name for layer in wl.layers] == [r[0] for r in rows]
    for layer, row in zip(wl.layers, rows):
        low = lower(layer)
        got = flow.count(low.groups, low.M, low.K, low.N, R, C) * flow.fold_cycles(
            R, C, flow.dims(low.M, low.K, low.N)[2])
        assert got == scalesim_cycles(row, gemm, R, C, df), (topology, layer.name)


def test_google_cfg_maps_to_arch(full_imports):
    arch = load_arch(full_imports["alexnet.csv"] / "arch.yaml")
    assert (arch.array.rows, arch.array.cols, arch.array.dataflow) == (256, 256, "ws")
    assert (arch.buffers.ifmap.size_kib, arch.buffers.filter.size_kib,
            arch.buffers.ofmap.size_kib) == (6144, 6144, 2048)
    assert arch.dram is None  # InterfaceBandwidth: CALC = SCALE-Sim's stall-free bandwidth
    wl = load_workload(full_imports["alexnet.csv"] / "workload.npz")
    assert wl.layers[0].x.shape == (1, 3, 224, 224) and wl.layers[0].w.shape == (96, 3, 11, 11)
    y = wl.layers[0].y
    assert y.shape == (1, 96, 54, 54)


def test_scale_cfg_user_bandwidth(tmp_path):
    out = imported(tmp_path, "scale.cfg", "small_gemm.csv", "--bits", "4")
    arch = load_arch(out / "arch.yaml")
    assert (arch.array.rows, arch.array.cols, arch.array.dataflow) == (32, 32, "os")
    assert arch.dram.bandwidth_bytes_per_cycle == 64  # 64 words/cycle of 1 byte (4-bit words)
    assert arch.pe.x_bits == arch.pe.w_bits == 4
    wl = load_workload(out / "workload.npz")
    assert [layer.op for layer in wl.layers] == ["gemm", "gemm"]
    assert wl.layers[0].x.shape == (20, 36) and wl.layers[0].w.shape == (36, 12)
    assert wl.layers[0].x.max() <= 15 and wl.layers[0].w.min() >= -8


@pytest.mark.parametrize("cfg", ["scale.cfg", "google.cfg"])
def test_small_study_simulates_scalesim_cycles(tmp_path, cfg):
    """End to end: import, run, every layer exact and its cycles.compute = SCALE-Sim's count."""
    out = imported(tmp_path, cfg, "small_conv.csv", "--sparsity", "0.3")
    report = tmp_path / "r.json"
    assert main(["run", str(out / "arch.yaml"), str(out / "workload.npz"), "--json",
                 str(report), "--quiet"]) == 0
    layers = json.loads(report.read_text())["layers"]
    arch = load_arch(out / "arch.yaml")
    gemm, rows = topology_rows("small_conv.csv")
    for lr, row in zip(layers, rows, strict=True):
        assert lr["check"] == "exact"
        want = scalesim_cycles(row, gemm, arch.array.rows, arch.array.cols, arch.array.dataflow)
        assert lr["cycles"]["compute"] == want, lr["name"]


def test_data_options_and_determinism(tmp_path):
    a = imported(tmp_path / "a", "scale.cfg", "small_conv.csv", "--data", "uniform", "--seed", "3")
    b = imported(tmp_path / "b", "scale.cfg", "small_conv.csv", "--data", "uniform", "--seed", "3")
    assert (a / "workload.npz").read_bytes() == (b / "workload.npz").read_bytes()
    w = load_workload(a / "workload.npz").layers[1].w
    assert w.min() < -100 and w.max() > 100  # uniform over the int8 codes
    sparse = imported(tmp_path / "c", "scale.cfg", "small_conv.csv", "--sparsity", "0.5")
    w = np.concatenate([layer.w.ravel() for layer in load_workload(sparse / "workload.npz").layers])
    assert 0.4 < np.mean(w == 0) < 0.65
    relu = load_workload(sparse / "workload.npz").layers[1].x
    assert 0.4 < np.mean(relu == 0) < 0.6 and relu.min() == 0


def test_refuses_bad_inputs_and_input_as_output(tmp_path, capsys):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text((DATA / "scale.cfg").read_text().replace("Dataflow : os", "Dataflow : rs"))
    assert main(["import-scalesim", str(cfg), str(DATA / "small_conv.csv"), "--out",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "bad.cfg" in err and "Dataflow" in err
    assert not (tmp_path / "o").exists()
    topo = tmp_path / "t.csv"
    topo.write_text((DATA / "small_conv.csv").read_text().replace("20,2", "x,2"))
    assert main(["import-scalesim", str(DATA / "scale.cfg"), str(topo), "--out",
                 str(tmp_path / "o")]) == 2
    assert "t.csv: line 2" in capsys.readouterr().err
    # an --out folder whose workload.npz would replace the topology given as input
    shutil.copy(DATA / "small_conv.csv", tmp_path / "workload.npz")
    before = (tmp_path / "workload.npz").read_bytes()
    assert main(["import-scalesim", str(DATA / "scale.cfg"), str(tmp_path / "workload.npz"),
                 "--out", str(tmp_path)]) == 2
    assert "not one of the inputs" in capsys.readouterr().err
    assert (tmp_path / "workload.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.cfg", "t.csv", "workload.npz"]


@pytest.mark.parametrize("text,key", [
    ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
     "Strides,\n", "a header row and at least one layer"),
    ("Layer, M, N, K,\nbig, 100000, 100000, 100000,\n", "tensor elements per layer"),
    ("Layer, M, N, K,\na, 4, 4, 4,\na, 4, 4, 4,\n", "unique non-empty name"),
    ("Layer, M, N, K,\na, 4, 0, 4,\n", "an integer >= 1"),
    ("name, x, y\na, 1, 2\n", "conv header"),
])
def test_bad_topologies(tmp_path, capsys, text, key):
    topo = tmp_path / "t.csv"
    topo.write_text(text)
    assert main(["import-scalesim", str(DATA / "scale.cfg"), str(topo), "--out",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "t.csv" in err[0] and key in err[0]
    assert not (tmp_path / "o").exists()
