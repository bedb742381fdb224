"""The memory report (docs/reference/report.md, "Memory"): JSON keys and totals from hand-built
memory results, the CSV columns and printed lines, and an end-to-end run showing an int4 layer's
ifmap and filter DRAM bytes at exactly half its int8 twin's."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.report import build_report, format_summary, report_csv, report_json
from accelsim.workload.npz import Layer, save_workload
from tests.unit.test_report import ARCH, WORKLOAD, make_energy, make_sim

KEYS = ("ifmap_read", "filter_read", "psum_read", "psum_write", "ofmap_write")
CAUSES = ("ifmap", "filter", "psum", "ofmap_drain", "sram_port")


def memory(cycles: int, stall: int, by_operand: tuple, avg: tuple, peak: tuple, util: float,
           causes: tuple) -> SimpleNamespace:
    """A hand-built object shaped like accelsim.sim.memory.MemoryResult."""
    reads = by_operand[0] + by_operand[1] + by_operand[2]
    return SimpleNamespace(
        cycles_total=cycles, cycles_stall=stall,
        sram={b: {"reads": 10, "writes": 4} for b in ("ifmap", "filter", "ofmap")},
        dram={"read_bytes": reads, "write_bytes": by_operand[3] + by_operand[4], "row_hits": 5,
              "row_misses": 1, "activations": 1},
        dram_bandwidth_utilization=util, timeline=None,
        dram_bytes_by_operand=dict(zip(KEYS, by_operand)),
        dram_bandwidth={"average": {**dict(zip(KEYS, avg)), "total": sum(avg)},
                        "peak": {**dict(zip(KEYS, peak)), "total": max(peak)},
                        "peak_window_cycles": 1024},
        stall_by_cause=dict(zip(CAUSES, causes)))


def two_layers():
    sims = [make_sim("l0", 0), make_sim("l1", 1)]
    energies = [make_energy(0), make_energy(1)]
    for e, dram in zip(energies, (30.0, 10.0)):
        e["dram"] = dram
        e["total"] += dram
    mems = [memory(100, 70, (640, 64, 0, 0, 256), (6.4, 0.64, 0, 0, 2.56), (8, 1, 0, 0, 4), 0.5,
                   (20, 10, 0, 40, 0)),
            memory(300, 210, (0, 128, 64, 64, 32), (1, 0.5, 0.25, 0.25, 0.1), (2, 1, 1, 1, 0.5),
                   0.25, (0, 0, 200, 0, 10))]
    srams = [{"ifmap": 1.5, "filter": 2.0, "ofmap": 4.0}, {"ifmap": 0.5, "filter": 1.0,
                                                          "ofmap": 2.0}]
    report = build_report(ARCH, WORKLOAD, sims, energies, memories=mems, sram_energies=srams)
    return report, energies, mems


def test_layer_keys() -> None:
    report, energies, mems = two_layers()
    layer = json.loads(report_json(report))["layers"][0]
    assert layer["dram"]["bytes_by_operand"] == dict(zip(KEYS, (640, 64, 0, 0, 256)))
    assert layer["dram"]["bandwidth_bytes_per_cycle"]["peak"]["total"] == 8
    assert (layer["dram"]["peak_window_cycles"], layer["dram"]["utilization"]) == (1024, 0.5)
    assert layer["sram"]["filter"] == {"reads": 10, "writes": 4, "energy_pj": 2.0}
    assert layer["stall_cycles_by_cause"] == dict(zip(CAUSES, (20, 10, 0, 40, 0)))
    # 100 cycles at 500 MHz = 200 ns: pJ / 200 ns = mW / 200.
    assert layer["energy_off_chip_pj"] == 30.0
    assert layer["energy_on_chip_pj"] == pytest.approx(energies[0]["total"] - 30.0, abs=1e-6)
    assert layer["power_off_chip_mw"] == pytest.approx(30.0 / 200)
    assert layer["power_on_chip_mw"] + layer["power_off_chip_mw"] == pytest.approx(
        layer["power_mw"], abs=2e-6)


def test_totals() -> None:
    report, energies, _ = two_layers()
    total = json.loads(report_json(report))["total"]
    dram = total["dram"]
    assert dram["bytes_by_operand"] == dict(zip(KEYS, (640, 192, 64, 64, 288)))
    assert dram["read_bytes"] == 640 + 64 + 128 + 64 and dram["write_bytes"] == 256 + 96
    # Averages over the run's 400 cycles: (6.4·100 + 1·300) / 400 = 2.35 for ifmap reads.
    avg = dram["bandwidth_bytes_per_cycle"]["average"]
    assert avg["ifmap_read"] == pytest.approx(2.35)
    assert avg["total"] == pytest.approx((9.6 * 100 + 2.1 * 300) / 400)
    assert dram["bandwidth_bytes_per_cycle"]["peak"] == {**dict(zip(KEYS, (8, 1, 1, 1, 4))),
                                                         "total": 8}
    assert dram["utilization"] == pytest.approx((0.5 * 100 + 0.25 * 300) / 400)
    assert total["stall_cycles_by_cause"] == dict(zip(CAUSES, (20, 10, 200, 40, 10)))
    assert sum(total["stall_cycles_by_cause"].values()) == total["cycles"]["stall"] == 280
    assert total["sram"]["ofmap"] == {"reads": 20, "writes": 8, "energy_pj": 6.0}
    assert total["energy_off_chip_pj"] == 40.0
    e_total = energies[0]["total"] + energies[1]["total"]
    assert total["energy_on_chip_pj"] == pytest.approx(e_total - 40.0, abs=1e-6)
    assert total["power_off_chip_mw"] == pytest.approx(40.0 / 800)


def test_csv_and_printed_lines() -> None:
    report, _, _ = two_layers()
    rows = list(csv.DictReader(io.StringIO(report_csv(report).decode())))
    assert rows[0]["dram_ifmap_read_bytes"] == "640" and rows[1]["dram_psum_write_bytes"] == "64"
    assert rows[0]["dram_peak_total_bytes_per_cycle"] == "8.000000"
    assert rows[1]["dram_avg_psum_read_bytes_per_cycle"] == "0.250000"
    assert rows[0]["dram_utilization_fraction"] == "0.500000"
    assert rows[1]["stall_psum_cycles"] == "200" and rows[0]["stall_ofmap_drain_cycles"] == "40"
    assert rows[0]["sram_filter_energy_pj"] == "2.000000"
    assert rows[0]["energy_off_chip_pj"] == "30.000000"
    assert len(rows[0]) == len(set(rows[0]))  # no column twice
    text = format_summary(report, 500.0)
    t = report.total
    assert (f"average power {t.power_mw:.3f} mW at 500 MHz = on chip "
            f"{t.power_on_chip_mw:.3f} mW + off chip (DRAM) {t.power_off_chip_mw:.3f} mW") in text
    table = [line.split() for line in text.splitlines() if line.startswith(("l0 ", "TOTAL"))]
    # TOTAL: KiB per operand, avg and peak B/cycle, bus %, then stalls by cause.
    assert table[-1] == ["TOTAL", "0.6", "0.2", "0.1", "0.1", "0.3", "3.98", "8.00", "31.2", "20",
                         "10", "200", "40", "10"]
    assert "SRAM energy by buffer, µJ: ifmap 0.000002, filter 0.000003, ofmap 0.000006" in text


def test_ideal_memory_has_no_memory_lines() -> None:
    report = build_report(ARCH, WORKLOAD, [make_sim("a", 0)], [make_energy(0)])
    text = format_summary(report, 500.0)
    assert "memory:" not in text and "on chip" not in text
    assert report.total.stall_cycles_by_cause is None and report.total.power_on_chip_mw is None


ARCH_YAML = """\
name: packed-{bits}
array: {{rows: 4, cols: 4, dataflow: ws}}
pe: {{kind: mac, x_bits: {bits}, w_bits: {bits}, acc_bits: 32}}
buffers:
  ifmap:  {{size_kib: 64, word_bits: 8}}
  filter: {{size_kib: 64, word_bits: 8}}
  ofmap:  {{size_kib: 64, word_bits: 32}}
dram: {{bandwidth_bytes_per_cycle: 16, latency_cycles: 20, burst_bytes: 64}}
"""


def run_packed(tmp_path: Path, bits: int) -> dict:
    """A conv2d (x [1, 8, 8, 8], w [16, 8, 3, 3], padding 1) and a gemm (X[64, 32]·W[32, 16])
    with int4-range values, declared ``bits`` wide, on a ``bits``-wide 4×4 ws array."""
    rng = np.random.default_rng(11)
    x = rng.integers(0, 16, (1, 8, 8, 8))
    w = rng.integers(-8, 8, (16, 8, 3, 3))
    gx, gw = rng.integers(0, 16, (64, 32)), rng.integers(-8, 8, (32, 16))
    layers = [Layer("conv", "conv2d", x, w, None, bits, bits, False, True, (1, 1), (1, 1)),
              Layer("fc", "gemm", gx, gw, gx @ gw, bits, bits, False, True)]
    work = tmp_path / f"w{bits}.npz"
    save_workload(work, f"packed-{bits}", layers, {"generator": "tests/unit/test_report_memory"})
    arch = tmp_path / f"a{bits}.yaml"
    arch.write_text(ARCH_YAML.format(bits=bits))
    out = tmp_path / f"r{bits}.json"
    assert main(["run", str(arch), str(work), "--json", str(out), "--quiet"]) == 0
    return json.loads(out.read_text())


def test_int4_ifmap_and_filter_dram_bytes_are_half_of_int8(tmp_path: Path) -> None:
    r8, r4 = run_packed(tmp_path, 8), run_packed(tmp_path, 4)
    # Everything fits on chip, so each operand is read once: conv x 512 elements, w 1152;
    # gemm X 2048, W 512; at 64-byte bursts every size is whole bursts in int8 and int4.
    expected8 = [(512, 1152), (2048, 512)]
    for l8, l4, (x, w) in zip(r8["layers"], r4["layers"], expected8):
        b8, b4 = l8["dram"]["bytes_by_operand"], l4["dram"]["bytes_by_operand"]
        assert (b8["ifmap_read"], b8["filter_read"]) == (x, w)
        assert (b4["ifmap_read"], b4["filter_read"]) == (x // 2, w // 2)
        assert b4["ofmap_write"] == b8["ofmap_write"]  # int32 outputs either way
        assert l4["sram"]["ifmap"]["writes"] * 2 == l8["sram"]["ifmap"]["writes"]
    for r in (r8, r4):
        t = r["total"]
        assert sum(t["stall_cycles_by_cause"].values()) == t["cycles"]["stall"]
        ops = t["dram"]["bytes_by_operand"]
        assert ops["ifmap_read"] + ops["filter_read"] + ops["psum_read"] == t["dram"]["read_bytes"]
        assert ops["psum_write"] + ops["ofmap_write"] == t["dram"]["write_bytes"]
        assert t["energy_on_chip_pj"] + t["energy_off_chip_pj"] == pytest.approx(
            t["energy_pj"]["total"], abs=1e-5)
    assert r4["total"]["energy_pj"]["dram"] < r8["total"]["energy_pj"]["dram"]
