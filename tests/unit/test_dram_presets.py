"""``dram:`` presets and physical units: converted at ``clock_mhz`` to the cycle keys when the
file is loaded; explicit keys win over the preset; a preset equals the shipped configs that spell
out the same part in cycles; every preset number carries its source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from accelsim.config import arch_to_dict, load_arch
from accelsim.config.dram_presets import PRESETS
from accelsim.config.schema import DramConfig, DramUnits
from accelsim.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
BASE = {"name": "t", "array": {"rows": 4, "cols": 4, "dataflow": "ws"},
        "pe": {"kind": "mac", "x_bits": 8, "w_bits": 8, "acc_bits": 32}}


def _load(tmp_path: Path, dram: object, **top: object):
    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump({**BASE, **top, "dram": dram}))
    return load_arch(path)


def _error(tmp_path: Path, dram: object, **top: object) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, dram, **top)
    return exc.value


@pytest.mark.parametrize("preset, shipped", [
    ("lpddr4-3200", "ws-32x32-int8-lpddr4.yaml"),
    ("ddr4-2400", "ws-32x32-int8-ddr4.yaml"),
])
def test_preset_equals_the_shipped_cycle_fields(tmp_path: Path, preset: str, shipped: str) -> None:
    explicit = load_arch(REPO / "arch_configs" / shipped)
    assert explicit.clock_mhz == 500
    got = _load(tmp_path, {"preset": preset}, clock_mhz=500).dram
    assert got == explicit.dram
    # and the same part spelled out in physical units, key by key
    units = {k: v for k, (v, _) in PRESETS[preset].items()}
    assert _load(tmp_path, units, clock_mhz=500).dram == explicit.dram


def test_hand_converted_values(tmp_path: Path) -> None:
    d = _load(tmp_path, {"preset": "lpddr4-3200"}, clock_mhz=1000).dram
    assert (d.bandwidth_bytes_per_cycle, d.latency_cycles) == (12.8, 60)  # 12.8 GB/s / 1 GHz
    assert (d.t_rcd_cycles, d.t_rp_cycles, d.t_cl_cycles) == (18.0, 18.0, 17.5)
    assert (d.burst_bytes, d.banks, d.row_bytes) == (64, 8, 4096)
    d = _load(tmp_path, {"preset": "ddr4-2400"}, clock_mhz=800).dram
    assert d.bandwidth_bytes_per_cycle == 24.0  # 19.2e9 B/s / 800e6 /s
    assert d.latency_cycles == 48 and d.t_cl_cycles == 11.328  # 60 ns, 14.16 ns · 0.8 GHz
    d = _load(tmp_path, {"preset": "ddr4-2400"}, clock_mhz=333).dram
    assert d.latency_cycles == 20  # 60 ns · 0.333 GHz = 19.98: rounded up to a whole cycle
    assert d.bandwidth_bytes_per_cycle == 19200 / 333


def test_explicit_keys_override_the_preset(tmp_path: Path) -> None:
    d = _load(tmp_path, {"preset": "lpddr4-3200", "latency_cycles": 50, "t_cl_ns": 20,
                         "banks": 4, "page_policy": "closed"}, clock_mhz=500).dram
    assert (d.latency_cycles, d.t_cl_cycles, d.banks, d.page_policy) == (50, 10.0, 4, "closed")
    assert d.bandwidth_bytes_per_cycle == 25.6 and d.t_rcd_cycles == 9.0  # still the preset's
    d = _load(tmp_path, {"preset": "ddr4-2400", "bandwidth_bytes_per_cycle": 8}).dram
    assert d.bandwidth_bytes_per_cycle == 8.0


def test_units_without_a_preset_and_the_default_clock(tmp_path: Path) -> None:
    d = _load(tmp_path, {"bandwidth_gb_per_s": 10, "latency_ns": 45, "burst_bytes": 32,
                         "t_rcd_ns": 15}).dram  # clock_mhz defaults to 500
    assert d == DramConfig(bandwidth_bytes_per_cycle=20.0, latency_cycles=23, burst_bytes=32,
                           t_rcd_cycles=7.5)


def test_resolved_arch_holds_cycles_only_and_round_trips(tmp_path: Path) -> None:
    arch = _load(tmp_path, {"preset": "ddr4-2400"})
    dumped = arch_to_dict(arch)["dram"]
    assert set(dumped) == {f for f in DramConfig.__dataclass_fields__}
    path = tmp_path / "again.yaml"
    path.write_text(yaml.safe_dump(arch_to_dict(arch)))
    assert load_arch(path) == arch


def test_bad_dram_blocks(tmp_path: Path) -> None:
    e = _error(tmp_path, {"preset": "hbm9"})
    assert e.key == "dram.preset" and "lpddr4-3200" in e.expected and e.got == "hbm9"
    e = _error(tmp_path, {"preset": "lpddr4-3200", "bandwidth_gb_per_s": 10,
                          "bandwidth_bytes_per_cycle": 4})
    assert e.key == "dram.bandwidth_gb_per_s" and "not both" in e.expected
    e = _error(tmp_path, {"preset": "lpddr4-3200", "latency_n": 3})
    assert e.key == "dram.latency_n" and "did you mean 'latency_ns'" in e.expected
    e = _error(tmp_path, {"latency_ns": 60, "burst_bytes": 64})
    assert e.key == "dram.bandwidth_bytes_per_cycle" and "preset" in e.expected
    e = _error(tmp_path, {"preset": "ddr4-2400", "t_rp_ns": -1})
    assert e.key == "dram.t_rp_ns" and e.got == -1
    e = _error(tmp_path, {"bandwidth_gb_per_s": 0, "latency_cycles": 1, "burst_bytes": 64})
    assert e.key == "dram.bandwidth_gb_per_s"
    e = _error(tmp_path, {"preset": "ddr4-2400"}, clock_mhz="fast")
    assert e.key == "clock_mhz"
    e = _error(tmp_path, {"preset": True})
    assert e.key == "dram.preset"


def test_every_preset_number_has_a_source_and_a_key() -> None:
    keys = set(DramConfig.__dataclass_fields__) | set(DramUnits.__dataclass_fields__)
    for name, entries in PRESETS.items():
        for key, (value, source) in entries.items():
            assert key in keys and key != "preset", (name, key)
            assert isinstance(value, (int, float)) and value > 0, (name, key)
            assert isinstance(source, str) and len(source) > 20, (name, key)
        assert {"bandwidth_gb_per_s", "latency_ns", "burst_bytes"} <= set(entries)


def test_a_run_with_the_preset_reports_the_same_bytes(tmp_path: Path) -> None:
    from accelsim.pipeline import check_run, simulate_report
    from accelsim.report import report_json
    from accelsim.workload import load_workload

    shipped = (REPO / "arch_configs" / "ws-32x32-int8-lpddr4.yaml").read_text()
    head, _, _ = shipped.partition("\ndram:\n")
    preset = tmp_path / "preset.yaml"
    preset.write_text(head + "\ndram: {preset: lpddr4-3200}\nenergy: {technology: 45nm}\n")
    workload = load_workload(str(REPO / "workloads" / "example_cnn.npz"))
    reports = []
    for path in (REPO / "arch_configs" / "ws-32x32-int8-lpddr4.yaml", preset):
        checked = check_run(str(path), workload, workload.layers)
        run = simulate_report(checked.arch, workload, workload.layers,
                              memory_plan=checked.memory_plan)
        reports.append(report_json(run.report))
    assert reports[0] == reports[1]
    total = json.loads(reports[0])["total"]
    assert total["cycles"]["stall"] > 0 and total["dram"]["row_misses"] > 0  # memory exercised
