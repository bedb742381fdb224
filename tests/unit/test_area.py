"""Area model (accelsim.energy.area): hand-computed cell areas, SRAM interpolation, validation."""

from __future__ import annotations

import pytest

from accelsim.config import load_arch
from accelsim.energy.area import (arch_area_mm2, cells_area_um2, mac_pe_cells, parse_area,
                                  sram_area_um2, unit_cells)
from accelsim.energy.tech import load_tech
from accelsim.errors import ConfigError
from accelsim.gates.datapath import multiplier
from accelsim.gates.netlist import Netlist
from tests.cli.test_cli import ROOT


def test_8x8_multiplier_area_by_hand() -> None:
    """8x8 Baugh-Wooley: 64 partial products of which 7 + 7 are NAND, 7 rows of 8 full adders.
    NanGate45 X1 cells: AND2 1.064, NAND2 0.798, FA 4.256 um2."""
    table = load_tech("45nm").area
    cells = mac_pe_cells(8, 8, 32)
    mult = {"AND2": cells["AND2"], "NAND2": cells["NAND2"], "FA": 56}
    assert mult == {"AND2": 50, "NAND2": 14, "FA": 56}
    assert cells_area_um2(table, mult) == pytest.approx(50 * 1.064 + 14 * 0.798 + 56 * 4.256)
    # the same counts as the gate-level structure the equivalence tests simulate
    nl = Netlist()
    multiplier(nl, nl.input("x", 8), nl.input("w", 8), True, True)
    stats = nl.stats()
    assert stats["NAND"] == 14 and stats["AND"] - 2 * 56 == 50  # an FA is 2 AND + 2 XOR + 1 OR
    assert stats["XOR"] == 2 * 56 and stats["OR"] == 56


def test_pe_and_array_area_of_shipped_config() -> None:
    arch = load_arch(ROOT / "arch_configs" / "ws-32x32-int8-lpddr4.yaml")
    area = arch_area_mm2(arch, load_tech("45nm").area)
    pe_um2 = 50 * 1.064 + 14 * 0.798 + (56 + 32) * 4.256 + (8 + 8 + 32) * 4.522
    assert area["pe"] == pytest.approx(pe_um2 * 1e-6, rel=1e-5)
    assert area["array"] == pytest.approx(1024 * pe_um2 * 1e-6, rel=1e-5)
    assert area["edge"] == pytest.approx(32 * 32 * 4.256 * 1e-6, rel=1e-5)  # a 32-bit adder/column
    parts = [k for k in area if k not in ("pe", "array", "total")]
    assert parts == ["edge", "ifmap", "filter", "ofmap"]
    assert area["total"] == pytest.approx(area["array"] + sum(area[k] for k in parts), rel=1e-5)


def test_run_report_area_is_the_hand_computed_pe(tmp_path) -> None:
    """``accelsim run --json``: area_mm2.pe of the 8x8 PE (32-bit accumulator) from cell counts."""
    import json

    from accelsim.cli import main

    out = tmp_path / "r.json"
    assert main(["run", str(ROOT / "arch_configs" / "os-8x8-int8.yaml"),
                 str(ROOT / "workloads" / "example_cnn.npz"), "--json", str(out),
                 "--quiet"]) == 0
    area = json.loads(out.read_text())["area_mm2"]
    pe_um2 = 50 * 1.064 + 14 * 0.798 + (56 + 32) * 4.256 + (8 + 8 + 32) * 4.522  # 655.956 um2
    assert area["pe"] == pytest.approx(pe_um2 * 1e-6, rel=1e-5)
    assert area == {"pe": area["pe"], "array": area["array"], "total": area["total"]}  # os: no edge
    assert area["array"] == area["total"] == pytest.approx(64 * pe_um2 * 1e-6, rel=1e-5)


def test_other_pe_kinds_by_hand(tmp_path) -> None:
    """bitserial, pann and lsqplus cell counts (docs/gates.md §3)."""
    table = load_tech("45nm").area
    lsq = unit_cells(load_arch(ROOT / "arch_configs" / "ws-16x16-lsqplus-output.yaml"))
    # per column: 32x32 Baugh-Wooley (1024 gates, 62 NAND, 31*32 FA), R1/R4/R6/R8 adders, 2 regs
    assert lsq["rescale"] == {"AND2": 16 * 962, "NAND2": 16 * 62, "FA": 16 * (992 + 132),
                              "DFF": 16 * 64}
    arch = load_arch(ROOT / "arch_configs" / "ws-16x16-lsqplus-pe.yaml")
    x, w, acc = arch.pe.x_bits, arch.pe.w_bits, arch.pe.acc_bits
    pe = unit_cells(arch)["pe"]  # two subtractors + (x+1)x(w+1) signed multiplier
    assert pe == {"AND2": (x + 1) * (w + 1) - x - w, "NAND2": x + w,
                  "FA": max(x, w) * (min(x, w) + 1) + acc + (x + 1) + (w + 1), "DFF": x + w + acc}
    pann = load_arch(ROOT / "arch_configs" / "ws-16x16-pann.yaml")
    cells = unit_cells(pann)
    acc = pann.pe.acc_bits
    assert cells["pe"]["FA"] == pann.pe.params.adders * acc
    assert cells["pe"]["DFF"] == pann.pe.x_bits + pann.pe.w_bits + 2 * acc  # dual accumulator
    assert cells_area_um2(table, cells["pe"]) > 0
    text = (ROOT / "arch_configs" / "ws-8x8-int8.yaml").read_text()
    assert "kind: mac" in text
    path = tmp_path / "bs.yaml"
    path.write_text(text.replace("kind: mac", "kind: bitserial"))
    bs = load_arch(path)
    assert unit_cells(bs)["pe"] == {"AND2": bs.pe.w_bits, "FA": bs.pe.acc_bits,
                                    "DFF": bs.pe.x_bits + bs.pe.w_bits + bs.pe.acc_bits}



def test_sram_area_points_power_law_and_tiling() -> None:
    table = load_tech("45nm").area
    assert sram_area_um2(table, 0.5) == pytest.approx(3817.1)
    assert sram_area_um2(table, 4) == pytest.approx(17301.4)
    assert 3817.1 < sram_area_um2(table, 2) < 17301.4
    assert sram_area_um2(table, 64) == pytest.approx(16 * 17301.4)  # tiles of the 4 KiB macro


@pytest.mark.parametrize("node, key", [
    ({"cells_um2": {}, "sram_um2": []}, "area.cells_um2"),
    ({"cells_um2": {c: {"value": 1, "source": "s"} for c in ("AND2", "NAND2", "FA", "DFF")},
      "sram_um2": [{"size_kib": 4, "area_um2": -1, "source": "s"}]}, "area.sram_um2[0].area_um2"),
    ({"cells_um2": {c: {"value": 1} for c in ("AND2", "NAND2", "FA", "DFF")},
      "sram_um2": [{"size_kib": 4, "area_um2": 1, "source": "s"}]}, "area.cells_um2.AND2.source"),
])
def test_bad_area_block(node, key) -> None:
    with pytest.raises(ConfigError) as err:
        parse_area(node, "t.yaml")
    assert err.value.key == key
