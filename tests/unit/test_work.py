"""The work estimate: MACs from shapes (equal to the lowered GEMM and to the report), PANN's steps
per MAC, the estimate line, ``--max-macs`` parsing, and trace file-name stems."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.report.write import STEM_MAX, trace_stem, trace_stems
from accelsim.work import (
    MAC_NS_PER_MAC, estimate_seconds, format_seconds, gemm_dims, layer_macs, parse_count,
    steps_per_mac,
)
from accelsim.workload import Layer, load_workload, lower

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = sorted((ROOT / "workloads").glob("*.npz"))


@pytest.mark.parametrize("path", WORKLOADS, ids=[p.stem for p in WORKLOADS])
def test_gemm_dims_match_the_lowering(path: Path) -> None:
    for layer in load_workload(path).layers:
        low = lower(layer)
        assert gemm_dims(layer) == (low.groups, low.M, low.K, low.N)
        assert layer_macs(layer) == low.groups * low.M * low.K * low.N


def test_strided_dilated_grouped_conv() -> None:
    x = np.zeros((2, 6, 11, 9), dtype=np.int64)
    w = np.zeros((4, 3, 3, 2), dtype=np.int64)
    layer = Layer("c", "conv2d", x, w, None, 8, 8, True, True, stride=(2, 1), padding=(1, 2),
                  dilation=(2, 3), groups=2)
    low = lower(layer)
    assert gemm_dims(layer) == (2, low.M, 18, 2) and low.M == 2 * 5 * 10


def test_macs_equal_the_report(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    example = ROOT / "workloads" / "example_cnn.npz"
    assert main(["run", str(ROOT / "arch_configs" / "ws-8x8-int8.yaml"), str(example),
                 "--json", str(out), "--quiet"]) == 0
    report = json.loads(out.read_text())
    layers = load_workload(example).layers
    assert [layer_macs(x) for x in layers] == [lr["macs"] for lr in report["layers"]]


def test_steps_per_mac() -> None:
    layer = SimpleNamespace(w=np.array([[0, 1, -2], [3, -7, 8]]))
    assert steps_per_mac(layer, 1) == pytest.approx((1 + 1 + 2 + 3 + 7 + 8) / 6)
    assert steps_per_mac(layer, 4) == pytest.approx((1 + 1 + 1 + 1 + 2 + 2) / 6)


def test_estimate_grows_with_pann_steps() -> None:
    def arch(kind: str) -> SimpleNamespace:
        return SimpleNamespace(array=SimpleNamespace(dataflow="ws"),
                               pe=SimpleNamespace(kind=kind, params=SimpleNamespace(adders=1)))

    x = np.zeros((1000, 100), dtype=np.int64)
    small = Layer("a", "gemm", x, np.ones((100, 10), np.int64), None, 8, 8, False, True)
    large = Layer("a", "gemm", x, np.full((100, 10), 9, np.int64), None, 8, 8, False, True)
    mac = estimate_seconds(arch("mac"), [small])
    assert mac == pytest.approx(1e6 * MAC_NS_PER_MAC["ws"] * 1e-9)
    assert estimate_seconds(arch("pann"), [small]) < estimate_seconds(arch("pann"), [large])
    assert estimate_seconds(arch("pann"), [large]) > 2 * mac


def test_estimate_line_on_stderr_unless_quiet(tmp_path: Path, capsys) -> None:
    args = ["run", str(ROOT / "arch_configs" / "ws-8x8-int8.yaml"),
            str(ROOT / "workloads" / "example_cnn.npz")]
    assert main(args) == 0
    err = capsys.readouterr().err
    macs = sum(layer_macs(x) for x in load_workload(ROOT / "workloads" / "example_cnn.npz").layers)
    assert f"simulating 3 layer(s), {macs:,} MACs on ws-8x8-int8: estimated" in err
    assert main([*args, "--quiet"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("text, value", [("0", 0), ("20000000000", 20_000_000_000),
                                         ("1e9", 10**9), ("2.5e3", 2500), ("1_000", 1000)])
def test_parse_count(text: str, value: int) -> None:
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["1.5", "-1", "-1e3", "nan", "inf", "lots", ""])
def test_parse_count_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_count(text)


def test_format_seconds() -> None:
    assert [format_seconds(s) for s in (0.01, 0.45, 12.4, 210, 9000)] == [
        "under 0.1 s", "0.5 s", "12 s", "3.5 min", "2.5 h"]


def test_trace_stems_unique_and_deterministic() -> None:
    names = ["a/b", "a_b", "A.b", "a.b", "conv1", ".hidden", "x" * 300]
    stems = trace_stems(names)
    assert len({s.casefold() for s in stems.values()}) == len(names)
    assert stems["conv1"] == "conv1" and stems[".hidden"] == "_hidden"
    assert stems == trace_stems(list(reversed(names)))
    assert stems["a/b"].startswith("a_b-") and stems["a/b"] != stems["a_b"]
    assert len(stems["x" * 300]) == STEM_MAX + 9 and trace_stem("x" * 300) == stems["x" * 300]
    assert all(set(s) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
               for s in stems.values())
