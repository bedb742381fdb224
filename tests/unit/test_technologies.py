"""The shipped technology tables beside 45nm: each loads by name, every number has a source, the
files are what accelsim.energy.scaling derives from 45nm.yaml, and the derived figures follow
from 45nm by factors recomputed here from the cited coefficients."""

from __future__ import annotations

import pytest

from accelsim.energy.scaling import DERIVED, render
from accelsim.energy.tech import builtin_names, load_tech

TECH = "accelsim/energy/tech"


def test_tables_load_by_name_with_sources() -> None:
    assert {"45nm", "45nm-lp", "22nm-scaled", "7nm-scaled"} <= set(builtin_names())
    for name in DERIVED:
        tech = load_tech(name)
        assert tech.name == name and tech.area is not None
        sources = tech.sources()
        assert len(sources) >= 25
        assert all(s.strip() for _, s in sources)


@pytest.mark.parametrize("name", DERIVED)
def test_shipped_file_is_the_derivation(name: str) -> None:
    with open(f"{TECH}/{name}.yaml", encoding="utf-8") as f:
        assert f.read() == render(name)


def test_45nm_lp_differs_from_45nm_only_in_sram() -> None:
    hp, lp = load_tech("45nm"), load_tech("45nm-lp")
    ratio = (1.01e-11 + 9.47e-12) * 1.1 / ((2.8e-7 + 3.59e-8) * 1.0)  # CACTI 45 nm LSTP / HP
    assert lp.leakage["sram_pw_per_kib"].value == pytest.approx(
        hp.leakage["sram_pw_per_kib"].value * ratio, rel=1e-4)
    for a, b in zip(hp.sram_read_pj, lp.sram_read_pj, strict=True):
        assert b.energy_pj == pytest.approx(a.energy_pj * 1.21, rel=1e-4)
    assert lp.operations == hp.operations
    assert {k: v for k, v in lp.leakage.items() if k != "sram_pw_per_kib"} == {
        k: v for k, v in hp.leakage.items() if k != "sram_pw_per_kib"}


def _check_scaled(name: str, energy: float, leak: float, area: float) -> None:
    base, scaled = load_tech("45nm"), load_tech(name)
    for op in base.operations:
        for a, b in zip(base.operations[op], scaled.operations[op], strict=True):
            assert b.energy_pj == pytest.approx(a.energy_pj * energy, rel=1e-4)
    for a, b in zip(base.sram_read_pj, scaled.sram_read_pj, strict=True):
        assert b.energy_pj == pytest.approx(a.energy_pj * energy, rel=1e-4)
    assert scaled.clock_pj_per_bit_cycle.value == pytest.approx(
        base.clock_pj_per_bit_cycle.value * energy, rel=1e-4)
    for key, entry in base.leakage.items():
        assert scaled.leakage[key].value == pytest.approx(entry.value * leak, rel=1e-4)
    for cell, (value, _) in base.area.cells_um2.items():
        assert scaled.area.cells_um2[cell][0] == pytest.approx(value * area, rel=1e-4)
    for (s0, a0, _), (s1, a1, _) in zip(base.area.sram_um2, scaled.area.sram_um2, strict=True):
        assert s0 == s1 and a1 == pytest.approx(a0 * area, rel=1e-4)
    assert scaled.dram_pj_per_byte == base.dram_pj_per_byte


def test_7nm_scaled_by_stillmaker_baas_hp_and_cacti_leakage() -> None:
    def fit(a, b, c, v):
        return a * v * v + b * v + c

    energy = fit(0.1776, -0.09097, 0.02447, 0.7) / fit(1.018, -0.3107, 0.1539, 0.9)  # HP7 / HP45
    leak = ((1.216e-7 + 1.81e-9) * 7 * 0.7) / ((2.8e-7 + 3.59e-8) * 45 * 1.0)
    assert energy == pytest.approx(0.06842, rel=1e-3)
    _check_scaled("7nm-scaled", energy, leak, 0.059)


def test_22nm_scaled_by_cacti_hp_devices() -> None:
    energy = ((3.27e-16 + 6e-17) * 22 * 0.8**2) / ((6.78e-16 + 5e-17) * 45 * 1.0**2)
    leak = ((1.216e-7 + 1.81e-9) * 22 * 0.8) / ((2.8e-7 + 3.59e-8) * 45 * 1.0)
    _check_scaled("22nm-scaled", energy, leak, 0.2401 / 0.49)
