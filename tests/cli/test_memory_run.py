"""`accelsim run` with a memory system: stalls, SRAM/DRAM counts and their energy reach the report;
with ideal memory none of those keys appear."""

from __future__ import annotations

import json
from pathlib import Path

from accelsim.cli import main
from tests.cli.test_cli import EXAMPLE

CONFIGS = Path(__file__).resolve().parents[2] / "arch_configs"


def run_json(arch: Path, tmp_path: Path) -> dict:
    out = tmp_path / "r.json"
    assert main(["run", str(arch), str(EXAMPLE), "--json", str(out), "--quiet"]) == 0
    return json.loads(out.read_text())


def test_memory_run_reports_stalls_and_traffic(tmp_path: Path) -> None:
    report = run_json(CONFIGS / "ws-32x32-int8-lpddr4.yaml", tmp_path)
    ideal = run_json(CONFIGS / "ws-32x32-int8.yaml", tmp_path)
    for layer, ideal_layer in zip(report["layers"], ideal["layers"]):
        c = layer["cycles"]
        assert c["compute"] == ideal_layer["cycles"]["compute"]  # memory never changes compute
        assert c["total"] == c["compute"] + c["stall"] and c["stall"] >= 0
        assert layer["dram"]["read_bytes"] > 0 and layer["dram"]["write_bytes"] > 0
        assert set(layer["sram"]) == {"ifmap", "filter", "ofmap"}
        assert layer["energy_pj"]["dram"] > 0 and layer["energy_pj"]["sram"] > 0
        assert "dram" not in ideal_layer and "sram" not in ideal_layer
        assert "dram" not in ideal_layer["energy_pj"]
    assert report["total"]["cycles"]["stall"] > 0  # the first tiles must be loaded


def test_buffer_too_small_is_bad_input(tmp_path: Path, capsys) -> None:
    text = (CONFIGS / "ws-32x32-int8-lpddr4.yaml").read_text()
    arch = tmp_path / "tiny.yaml"
    arch.write_text(text.replace("size_kib: 256,", "size_kib: 0.001,"))
    out = tmp_path / "r.json"
    assert main(["run", str(arch), str(EXAMPLE), "--json", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(arch) in err[0] and "size_kib" in err[0]
    assert not out.exists()
