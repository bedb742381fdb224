"""Area model (accelsim.energy.area): hand-computed cell areas, SRAM interpolation, validation."""

from __future__ import annotations

import pytest

from accelsim.config import load_arch
from accelsim.energy.area import (arch_area_mm2, cells_area_um2, mac_pe_cells, parse_area,
                                  sram_area_um2)
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
    buffers = [k for k in area if k not in ("pe", "array", "total")]
    assert buffers == ["ifmap", "filter", "ofmap"]
    assert area["total"] == pytest.approx(area["array"] + sum(area[k] for k in buffers), rel=1e-5)


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
