"""Toggle counts -> energy in pJ. PROVISIONAL first energy model.

The per-toggle energies of ``tech/45nm.yaml`` are hand-derived from Horowitz (ISSCC 2014)
per-operation energies divided by an assumed toggle count per operation; clock and leakage are
order-of-magnitude estimates. A later issue calibrates the table properly (SPEC §5.6, §6) and adds
SRAM and DRAM energies; until then memory is ideal and contributes no energy, so there are no
``sram``/``dram`` entries.

Model, per layer:

- dynamic: ``Σ_class toggles[class] × toggle_energy_pj[class]``;
- clock: ``clock_pj_per_bit_cycle ×`` enabled register bit-cycles, counted as the registers that
  load valid data in an enabled PE cycle (one per MAC): ``ws`` x_reg + psum_reg, ``os`` x_reg +
  w_reg + acc_reg, ``is`` w_reg + psum_reg. Preloads of stationary registers and ``idle: zero``
  zero-loads are not counted yet;
- leakage: ``leakage_pw_per_pe × rows × cols ×`` layer time (cycles / clock).
"""

from __future__ import annotations

import functools
import importlib.resources
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from accelsim.errors import ConfigError
from accelsim.sim.types import LayerSim

#: Register classes that load valid data once per MAC, per dataflow (see module docstring).
_LOADED_PER_MAC = {
    "ws": ("x_reg", "psum_reg"),
    "os": ("x_reg", "w_reg", "acc_reg"),
    "is": ("w_reg", "psum_reg"),
}
_TOP_KEYS = {"version", "name", "status", "toggle_energy_pj", "clock_pj_per_bit_cycle",
             "leakage_pw_per_pe"}


@dataclass(frozen=True)
class Tech:
    """A technology table: ``toggle_pj`` per class (pJ/toggle), ``clock_pj_per_bit_cycle``
    (pJ per enabled register bit per cycle), ``leakage_pw_per_pe`` (pW); ``file`` it came from."""

    name: str
    toggle_pj: dict[str, float]
    clock_pj_per_bit_cycle: float
    leakage_pw_per_pe: float
    file: str


def builtin_names() -> tuple[str, ...]:
    """Names of the technology tables shipped in ``accelsim/energy/tech/``."""
    folder = importlib.resources.files("accelsim.energy") / "tech"
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


@functools.lru_cache(maxsize=None)
def load_tech(technology: str) -> Tech:
    """Load a built-in table by name (``"45nm"``) or a technology YAML by path.

    Raises ConfigError naming the file and key for a missing file or an invalid entry.
    """
    if technology in builtin_names():
        resource = importlib.resources.files("accelsim.energy") / "tech" / f"{technology}.yaml"
        return _parse(yaml.safe_load(resource.read_text(encoding="utf-8")), str(resource))
    path = Path(technology)
    if not path.is_file():
        expected = f"a built-in table ({', '.join(builtin_names())}) or a technology YAML file"
        raise ConfigError(technology, "energy.technology", expected, technology)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(technology, "", "valid YAML", str(exc).splitlines()[0]) from None
    return _parse(data, technology)


def _parse(data: Any, file: str) -> Tech:
    """Validate a technology table's mapping and build a Tech."""
    if not isinstance(data, dict):
        raise ConfigError(file, "", "a mapping at the top level", type(data).__name__)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(file, unknown[0], f"one of {', '.join(sorted(_TOP_KEYS))}", unknown[0])
    if data.get("version") != 1:
        raise ConfigError(file, "version", "1 (only version 1 is supported)", data.get("version"))
    toggles = data.get("toggle_energy_pj")
    if not isinstance(toggles, dict) or not toggles:
        expected = "a mapping of class -> {value, source}"
        raise ConfigError(file, "toggle_energy_pj", expected, toggles)
    return Tech(
        name=str(data.get("name", file)),
        toggle_pj={c: _entry(v, file, f"toggle_energy_pj.{c}") for c, v in toggles.items()},
        clock_pj_per_bit_cycle=_entry(data.get("clock_pj_per_bit_cycle"), file,
                                      "clock_pj_per_bit_cycle"),
        leakage_pw_per_pe=_entry(data.get("leakage_pw_per_pe"), file, "leakage_pw_per_pe"),
        file=file,
    )


def _entry(node: Any, file: str, key: str) -> float:
    """``{value: number >= 0, source: non-empty str}`` -> value."""
    expected = "{value: a finite number >= 0, source: a non-empty string}"
    if not isinstance(node, dict) or set(node) != {"value", "source"}:
        raise ConfigError(file, key, expected, node)
    value, source = node["value"], node["source"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(file, f"{key}.value", "a finite number >= 0", value)
    if not math.isfinite(value) or value < 0:
        raise ConfigError(file, f"{key}.value", "a finite number >= 0", value)
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(file, f"{key}.source", "a non-empty string", source)
    return float(value)


def energy_pj(arch: Any, layer_sim: LayerSim) -> dict[str, float]:
    """Energy of one simulated layer (pJ): one entry per toggle class, then ``clock``, ``leakage``
    and ``total``.

    ``arch`` is a loaded ``accelsim.config.Arch``. Raises ConfigError if the technology table has
    no per-toggle energy for a class the layer reports.
    """
    tech = load_tech(arch.energy.technology)
    result = layer_sim.result
    out: dict[str, float] = {}
    for cls, count in result.toggles.items():
        if cls not in tech.toggle_pj:
            raise ConfigError(tech.file, f"toggle_energy_pj.{cls}", "a per-toggle energy (pJ)")
        out[cls] = int(count) * tech.toggle_pj[cls]
    reg_bits = {"x_reg": arch.pe.x_bits, "w_reg": arch.pe.w_bits,
                "psum_reg": arch.pe.acc_bits, "acc_reg": arch.pe.acc_bits}
    bits_per_mac = sum(reg_bits[c] for c in _LOADED_PER_MAC[arch.array.dataflow])
    out["clock"] = tech.clock_pj_per_bit_cycle * bits_per_mac * result.macs
    # Ideal memory: total cycles = compute cycles. pW * s = pJ.
    seconds = result.cycles_compute / (arch.clock_mhz * 1e6)
    out["leakage"] = tech.leakage_pw_per_pe * arch.array.rows * arch.array.cols * seconds
    out["total"] = sum(out.values())
    return out
