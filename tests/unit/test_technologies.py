"""The shipped technology tables beside 45nm: each loads by name, every number has a source, and
the derived figures follow from 45nm by the factors their sources state."""

from __future__ import annotations

import pytest

from accelsim.energy.tech import builtin_names, load_tech


def test_tables_load_by_name_with_sources() -> None:
    assert {"45nm", "45nm-lp", "7nm-scaled"} <= set(builtin_names())
    for name in ("45nm-lp", "7nm-scaled"):
        tech = load_tech(name)
        assert tech.name == name and tech.area is not None
        assert all(s.strip() for _, s in tech.sources())


def test_45nm_lp_differs_from_45nm_only_in_sram() -> None:
    hp, lp = load_tech("45nm"), load_tech("45nm-lp")
    ratio = (1.01e-11 + 9.47e-12) * 1.1 / ((2.8e-7 + 3.59e-8) * 1.0)
    assert lp.leakage["sram_pw_per_kib"].value == pytest.approx(
        hp.leakage["sram_pw_per_kib"].value * ratio, rel=1e-4)
    for a, b in zip(hp.sram_read_pj, lp.sram_read_pj, strict=True):
        assert b.energy_pj == pytest.approx(a.energy_pj * 1.21, rel=1e-4)
    assert lp.operations == hp.operations and lp.area == hp.area
    assert {k: v for k, v in lp.leakage.items() if k != "sram_pw_per_kib"} == {
        k: v for k, v in hp.leakage.items() if k != "sram_pw_per_kib"}


def test_7nm_scaled_by_stillmaker_baas() -> None:
    base, scaled = load_tech("45nm"), load_tech("7nm-scaled")

    def factor(a, b, c, v):
        return a * v * v + b * v + c

    k = factor(0.1776, -0.09097, 0.02447, 0.7) / factor(1.103, -0.362, 0.2767, 0.9)
    for op in base.operations:
        for a, b in zip(base.operations[op], scaled.operations[op], strict=True):
            assert b.energy_pj == pytest.approx(a.energy_pj * k, rel=1e-4)
    assert scaled.area.cells_um2["FA"][0] == pytest.approx(base.area.cells_um2["FA"][0] * 0.059,
                                                           rel=1e-4)
    assert scaled.dram_pj_per_byte == base.dram_pj_per_byte
