"""The derived technology tables (``45nm-lp``, ``22nm-scaled``, ``7nm-scaled``) as functions of
``45nm.yaml`` and published scaling data; ``python -m accelsim.energy.scaling`` rewrites them.

Every factor is a named constant here with its source, and every scaled number in a derived table
carries the 45nm source it came from plus the factor's citation (docs/gates.md §4).

- Energies (operations, register, clock, SRAM access): ``7nm-scaled`` by Stillmaker & Baas 2017's
  energy polynomials for HP devices (45 nm at 0.9 V -> 7 nm at 0.7 V); ``22nm-scaled`` by CACTI 7's
  ITRS-HP device tables (switched capacitance per device C·W with W ∝ F, times Vdd²), because
  Stillmaker & Baas tabulate 20 nm but not 22 nm.
- Leakage: power per device = (I_off + I_gate) per µm × W × Vdd with W ∝ F, from CACTI 7's ITRS-HP
  tables at 300 K. CACTI has no 7 nm device data: ``7nm-scaled`` keeps the 22 nm per-µm currents
  (an assumption, stated in every such source) at 7 nm width and 0.7 V.
- Area: cells by Stillmaker & Baas's area factor (7 nm) or CACTI's logic scaling coefficient
  (22 nm); SRAM macros by the same factors.
- DRAM is a separate chip: unchanged.
"""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import yaml

SB = ("Stillmaker & Baas, 'Scaling equations for the accurate prediction of CMOS device "
      "performance "
      "from 180 nm to 7 nm', Integration 58 (2017), Table of fitted coefficients as transcribed in "
      "UCLA NanoCAD's nodeScale (github.com/wromaszkan/nodeScale, nodeScale.py)")
CACTI = "CACTI 7 (github.com/HewlettPackard/cacti) tech_params/{node}.dat, ITRS-HP column, 300 K"

#: Stillmaker & Baas energy fit a·V² + b·V + c (HP devices), per node.
SB_ENERGY = {45: (1.018, -0.3107, 0.1539), 7: (0.1776, -0.09097, 0.02447)}
#: Stillmaker & Baas area factor 45 nm -> 7 nm.
SB_AREA_45_TO_7 = 0.059
#: CACTI 7 ITRS-HP devices at 300 K: Vdd (V), C_g_ideal + C_fringe (F/µm), I_off_n, I_g_on_n
#: (A/µm), logic_scaling_co_eff.
CACTI_HP = {45: {"vdd": 1.0, "c": 6.78e-16 + 5e-17, "i_off": 2.8e-7, "i_g": 3.59e-8, "logic": 0.49},
            22: {"vdd": 0.8, "c": 3.27e-16 + 6e-17, "i_off": 1.216e-7, "i_g": 1.81e-9,
                 "logic": 0.2401}}
#: CACTI 6.5/7 45 nm ITRS-LSTP devices: Vdd, I_off_n, I_g_on_n (45nm-lp SRAM).
CACTI_LSTP_45 = {"vdd": 1.1, "i_off": 1.01e-11, "i_g": 9.47e-12}
V45, V7 = 0.9, 0.7  # the 45nm table's supply (Horowitz) and the 7 nm node's


def sb_energy_factor(node_from: int, v_from: float, node_to: int, v_to: float) -> float:
    """Stillmaker & Baas energy factor between two (node, Vdd) points."""
    def fit(node: int, v: float) -> float:
        a, b, c = SB_ENERGY[node]
        return a * v * v + b * v + c
    return fit(node_to, v_to) / fit(node_from, v_from)


def cacti_energy_factor(node_from: int, node_to: int) -> float:
    """C per µm × width (∝ F) × Vdd² from CACTI's HP device tables."""
    a, b = CACTI_HP[node_from], CACTI_HP[node_to]
    return (b["c"] * node_to * b["vdd"] ** 2) / (a["c"] * node_from * a["vdd"] ** 2)


def leakage_factor(node_from: int, node_to: int, currents_node: int, vdd_to: float) -> float:
    """(I_off + I_g) per µm × width (∝ F) × Vdd, ``node_to`` at ``vdd_to`` with the per-µm
    currents of ``currents_node``, over ``node_from`` (CACTI HP tables)."""
    a, b = CACTI_HP[node_from], CACTI_HP[currents_node]
    return ((b["i_off"] + b["i_g"]) * node_to * vdd_to) / ((a["i_off"] + a["i_g"]) * node_from
                                                          * a["vdd"])


def lstp_sram_factors() -> tuple[float, float]:
    """(leakage, access energy) factors of ITRS-LSTP over ITRS-HP SRAM at 45 nm (CACTI)."""
    hp, lp = CACTI_HP[45], CACTI_LSTP_45
    leak = (lp["i_off"] + lp["i_g"]) * lp["vdd"] / ((hp["i_off"] + hp["i_g"]) * hp["vdd"])
    return leak, (lp["vdd"] / hp["vdd"]) ** 2


def _g(v: float) -> float:
    return float(f"{v:.5g}")


def _scale_entry(entry: dict, key: str, factor: float, note: str) -> None:
    entry[key] = _g(entry[key] * factor)
    entry["source"] = f"{' '.join(entry['source'].split())}; x {factor:.4g}: {note}"


def base_table() -> dict[str, Any]:
    """The raw ``45nm.yaml`` mapping."""
    text = (resources.files("accelsim.energy") / "tech" / "45nm.yaml").read_text()
    return yaml.safe_load(text)


def derive(name: str) -> dict[str, Any]:
    """The derived table ``name`` (``45nm-lp``, ``22nm-scaled`` or ``7nm-scaled``)."""
    t = copy.deepcopy(base_table())
    t["name"] = name
    if name == "45nm-lp":
        leak, acc = lstp_sram_factors()
        src = (f"{CACTI.format(node='45nm')} vs its ITRS-LSTP column: (I_off_n + I_g_on_n) x Vdd, "
               "LSTP (1.01e-11 + 9.47e-12 A/um) x 1.1 V over HP (2.8e-7 + 3.59e-8 A/um) x 1.0 V")
        _scale_entry(t["leakage"]["sram_pw_per_kib"], "value", leak, src)
        for p in t["sram"]["read_pj"]:
            _scale_entry(p, "energy_pj", acc, f"{CACTI.format(node='45nm')}: access energy ~ "
                         "C Vdd^2 at equal capacitance, LSTP Vdd 1.1 V vs HP 1.0 V")
        t["description"] = ("45nm with the on-chip SRAM built from low-standby-power (ITRS LSTP) "
                            "devices: SRAM leakage and access energy rescaled with CACTI's 45 nm "
                            "device tables; logic, registers, clock and DRAM as in 45nm.")
        return t
    if name == "7nm-scaled":
        e = sb_energy_factor(45, V45, 7, V7)
        e_note = (f"{SB}: energy factor a V^2 + b V + c, HP 45 nm (1.018, -0.3107, 0.1539) "
                  "at 0.9 V "
                  "-> HP 7 nm (0.1776, -0.09097, 0.02447) at 0.7 V")
        a, a_note = SB_AREA_45_TO_7, f"{SB}: area factor 45 nm -> 7 nm"
        lk = leakage_factor(45, 7, 22, V7)
        l_note = (f"{CACTI.format(node='45nm and 22nm')}: leakage per device (I_off_n + I_g_on_n) "
                  "x W x Vdd, W ~ F; assumption: CACTI has no 7 nm devices, so the 22 nm per-um "
                  "currents (1.216e-7 + 1.81e-9 A/um) are kept at 7 nm width and 0.7 V, over 45 nm "
                  "(2.8e-7 + 3.59e-8 A/um) at 1.0 V")
        desc = ("7 nm FinFET at 0.7 V scaled from 45nm (0.9 V): energies by Stillmaker & Baas 2017 "
                "(HP), area by their area factor, leakage by CACTI device currents (22 nm currents "
                "kept at 7 nm, an assumption); DRAM unchanged (a separate chip).")
    elif name == "22nm-scaled":
        e = cacti_energy_factor(45, 22)
        e_note = (f"{CACTI.format(node='45nm and 22nm')}: switched capacitance "
                  "(C_g_ideal + C_fringe)"
                  " per um x W (~ F) x Vdd^2, 22 nm (3.27e-16 + 6e-17 F/um, 0.8 V) over 45 nm "
                  "(6.78e-16 + 5e-17 F/um, 1.0 V)")
        a = CACTI_HP[22]["logic"] / CACTI_HP[45]["logic"]
        a_note = (f"{CACTI.format(node='45nm and 22nm')}: logic_scaling_co_eff 0.2401 (22 nm) over "
                  "0.49 (45 nm)")
        lk = leakage_factor(45, 22, 22, CACTI_HP[22]["vdd"])
        l_note = (f"{CACTI.format(node='45nm and 22nm')}: leakage per device (I_off_n + I_g_on_n) "
                  "x W x Vdd, W ~ F, 22 nm (1.216e-7 + 1.81e-9 A/um, 0.8 V) over 45 nm "
                  "(2.8e-7 + 3.59e-8 A/um, 1.0 V)")
        desc = ("22 nm planar HP CMOS at 0.8 V scaled from 45nm with CACTI 7's ITRS-HP device "
                "tables: energies by switched capacitance x Vdd^2, leakage by device currents x "
                "Vdd, area by CACTI's logic scaling coefficient; DRAM unchanged (a separate chip).")
    else:
        raise KeyError(name)
    t["description"] = desc
    for entries in t["operations"].values():
        for p in entries:
            _scale_entry(p, "energy_pj", e, e_note)
    _scale_entry(t["clock_pj_per_bit_cycle"], "value", e, e_note)
    for p in t["sram"]["read_pj"]:
        _scale_entry(p, "energy_pj", e, e_note)
    for entry in t["leakage"].values():
        _scale_entry(entry, "value", lk, l_note)
    for entry in t["area"]["cells_um2"].values():
        _scale_entry(entry, "value", a, a_note)
    for p in t["area"]["sram_um2"]:
        _scale_entry(p, "area_um2", a, a_note)
    t["register"]["source"] += (" (the add it is equated with is scaled with the operations)")
    return t


HEADER = ("# accelsim technology table \"{name}\" (schema: docs/energy.md), derived from "
          "45nm.yaml;\n"
          "# generated by `python -m accelsim.energy.scaling` (accelsim/energy/scaling.py): "
          "do not\n"
          "# edit by hand. Every number carries its source.\n")


def render(name: str) -> str:
    """The YAML text of the derived table ``name``."""
    body = yaml.safe_dump(derive(name), sort_keys=False, width=100, allow_unicode=True)
    return HEADER.format(name=name) + body


DERIVED = ("45nm-lp", "22nm-scaled", "7nm-scaled")

if __name__ == "__main__":
    for n in DERIVED:
        (resources.files("accelsim.energy") / "tech" / f"{n}.yaml").write_text(  # type: ignore
            render(n))
