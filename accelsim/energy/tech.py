"""Technology tables (docs/energy.md §7): load and validate a technology YAML into a :class:`Tech`.

A table holds *reference* figures, each with a ``source``: per-operation energies at given widths,
the register and clock references, SRAM read energy versus capacity, DRAM energy per byte and per
row activation, and leakage. The per-toggle energies are derived from it by
:mod:`accelsim.energy.calibrate`. The schema is documented in ``docs/energy.md``.

Interpolation rules live here too, next to the data they read:

- SRAM access energy is a power law of capacity between neighbouring table capacities (the nearest
  segment's exponent outside the table) and scales linearly with word width.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelsim.energy.area import AreaTable, parse_area
from accelsim.errors import ConfigError
from accelsim.inputfile import brief, parse_yaml, read_yaml

#: Schema version of technology files this code reads.
VERSION = 2
#: Widest operation the calibration's node models take (bits).
MAX_WIDTH_BITS = 32
#: Largest ``calibration.exact_max_bits`` (2^20 operand pairs are enumerated at most).
MAX_EXACT_BITS = 20
#: Largest ``calibration.samples``: a sampled width-32 multiplier holds 376 bytes of node state
#: per sample (38 MB at this limit), whose estimate varies by 0.02 % from seed to seed there.
MAX_SAMPLES = 100_000
#: Largest number in a table, in its unit (pJ, pW, KiB, ratio): 5000 times the largest shipped
#: figure, small enough that no run's energy sum overflows to infinity.
MAX_NUMBER = 1e12
#: Calibrated unit kinds (node models in ``accelsim.energy.calibrate``).
UNITS = ("multiplier", "adder", "register")
#: ``toggle_classes.<class>.width`` choices: the PE's operand width or its accumulator width.
WIDTH_RULES = ("operands", "acc_bits")
#: Which operation of ``operations`` calibrates each unit (``register`` names its own).
UNIT_OPERATION = {"multiplier": "multiply", "adder": "add"}

_TOP = ("version", "name", "description", "operations", "register", "calibration",
        "toggle_classes", "clock_pj_per_bit_cycle", "sram", "dram", "leakage", "area")
_LEAKAGE = ("multiplier_pw_per_partial_product", "adder_pw_per_bit", "register_pw_per_bit",
            "sram_pw_per_kib")


@dataclass(frozen=True)
class Value:
    """A number with its ``source``."""

    value: float
    source: str


@dataclass(frozen=True)
class RefPoint:
    """A reference energy ``energy_pj`` at ``at`` (a width in bits, or a capacity in KiB)."""

    at: float
    energy_pj: float
    source: str


@dataclass(frozen=True)
class RegisterRef:
    """Registers are calibrated on ``operation`` at ``width_bits`` (a width the table lists)."""

    operation: str
    width_bits: int
    source: str


@dataclass(frozen=True)
class CalibrationSettings:
    """Operand encoding (``signed``), exact enumeration limit (total operand bits) and sampling."""

    signed: bool
    exact_max_bits: int
    samples: int
    seed: int


@dataclass(frozen=True)
class ClassSpec:
    """A toggle class is priced as a toggle of ``unit`` at a width: ``width`` (a rule from
    :data:`WIDTH_RULES`) or a fixed ``width_bits``; registers have neither."""

    unit: str
    width: str | None
    width_bits: int | None
    source: str


@dataclass(frozen=True)
class Tech:
    """A validated technology table; ``file`` is where it came from."""

    name: str
    description: str
    file: str
    operations: dict[str, tuple[RefPoint, ...]]
    register: RegisterRef
    calibration: CalibrationSettings
    toggle_classes: dict[str, ClassSpec]
    clock_pj_per_bit_cycle: Value
    sram_word_bits: int
    sram_read_pj: tuple[RefPoint, ...]
    sram_write_to_read: Value
    dram_pj_per_byte: Value
    dram_pj_per_activation: Value
    leakage: dict[str, Value]
    area: AreaTable | None = None  # optional ``area:`` block (accelsim.energy.area)

    def sources(self) -> list[tuple[str, str]]:
        """``(key path, source)`` of every number in the table, in file order."""
        out: list[tuple[str, str]] = []
        for op, points in self.operations.items():
            out += [(f"operations.{op}[{p.at:g} bit]", p.source) for p in points]
        out.append(("register", self.register.source))
        out += [(f"toggle_classes.{c}", s.source) for c, s in self.toggle_classes.items()]
        out.append(("clock_pj_per_bit_cycle", self.clock_pj_per_bit_cycle.source))
        out += [(f"sram.read_pj[{p.at:g} KiB]", p.source) for p in self.sram_read_pj]
        out.append(("sram.write_to_read_ratio", self.sram_write_to_read.source))
        out.append(("dram.pj_per_byte", self.dram_pj_per_byte.source))
        out.append(("dram.pj_per_activation", self.dram_pj_per_activation.source))
        out += [(f"leakage.{k}", v.source) for k, v in self.leakage.items()]
        if self.area is not None:
            out += [(f"area.cells_um2.{k}", v[1]) for k, v in self.area.cells_um2.items()]
            out += [(f"area.sram_um2[{p[0]:g} KiB]", p[2]) for p in self.area.sram_um2]
        return out

    def sram_access_pj(self, size_kib: float, word_bits: int,
                       write: bool = False) -> tuple[float, str]:
        """Energy (pJ) of one ``word_bits`` access to an SRAM (bank) of ``size_kib``, and its status
        ``table`` | ``interpolated`` | ``extrapolated`` (capacity) — a word width other than the
        table's always makes it ``interpolated`` at least."""
        energy, status = power_law(self.sram_read_pj, size_kib)
        energy *= word_bits / self.sram_word_bits
        if word_bits != self.sram_word_bits and status == "table":
            status = "interpolated"
        if write:
            energy *= self.sram_write_to_read.value
        return energy, status


def power_law(points: tuple[RefPoint, ...], at: float) -> tuple[float, str]:
    """Value at ``at`` of the piecewise power law through ``points`` (sorted by ``at``).

    Between two neighbouring points ``y = y0 · (at/x0)^β`` with ``β = ln(y1/y0) / ln(x1/x0)``;
    outside the table the nearest segment's β extends it; one point gives a constant. Returns
    ``(value, status)``, status ``table`` | ``interpolated`` | ``extrapolated``.
    """
    xs = [p.at for p in points]
    for p in points:
        if p.at == at:
            return p.energy_pj, "table"
    if len(points) == 1:
        return points[0].energy_pj, "extrapolated"
    i = 0 if at < xs[0] else len(xs) - 2 if at > xs[-1] else next(
        k for k in range(len(xs) - 1) if xs[k] < at < xs[k + 1])
    p0, p1 = points[i], points[i + 1]
    beta = math.log(p1.energy_pj / p0.energy_pj) / math.log(p1.at / p0.at)
    status = "interpolated" if xs[0] < at < xs[-1] else "extrapolated"
    return p0.energy_pj * (at / p0.at) ** beta, status


# ------------------------------------------------------------------------------------ loading


def builtin_names() -> tuple[str, ...]:
    """Names of the technology tables shipped in ``accelsim/energy/tech/``."""
    folder = importlib.resources.files("accelsim.energy") / "tech"
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


@functools.lru_cache(maxsize=None)
def load_tech(technology: str) -> Tech:
    """Load a built-in table by name (``"45nm"``) or a technology YAML by path (a regular file
    of at most ``accelsim.inputfile.MAX_YAML_BYTES``).

    Raises ConfigError naming the file and key path for a missing file or an invalid entry.
    """
    if technology in builtin_names():
        resource = importlib.resources.files("accelsim.energy") / "tech" / f"{technology}.yaml"
        text = resource.read_text(encoding="utf-8")
        return parse_tech(parse_yaml(text, str(resource)), str(resource))
    path = Path(technology)
    if not path.exists():
        expected = f"a built-in table ({', '.join(builtin_names())}) or a technology YAML file"
        raise ConfigError(technology, "energy.technology", expected, technology)
    return parse_tech(read_yaml(path), technology)


def _mapping(node: Any, file: str, key: str, allowed: tuple[str, ...],
             required: tuple[str, ...]) -> dict:
    """``node`` as a dict with only ``allowed`` keys and every ``required`` one."""
    if not isinstance(node, dict):
        raise ConfigError(file, key, f"a mapping with keys {', '.join(required)}",
                          type(node).__name__)
    for k in node:
        if k not in allowed:
            near = difflib.get_close_matches(str(k), allowed, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            path = f"{key}.{k}" if key else str(k)
            raise ConfigError(file, path, f"one of {', '.join(allowed)}{hint}", k)
    for k in required:
        if k not in node:
            raise ConfigError(file, f"{key}.{k}" if key else k, "a value (required)")
    return node


def _number(node: Any, file: str, key: str, positive: bool = False) -> float:
    bad = isinstance(node, bool) or not isinstance(node, (int, float))
    if bad or not 0 <= node <= MAX_NUMBER or (positive and node == 0):
        raise ConfigError(file, key, f"a number {'> 0' if positive else '>= 0'} and <= "
                          f"{MAX_NUMBER:g}", brief(node))
    return float(node)


def _int(node: Any, file: str, key: str, minimum: int, maximum: int | None = None) -> int:
    bad = isinstance(node, bool) or not isinstance(node, int) or node < minimum
    if bad or (maximum is not None and node > maximum):
        expected = f"an integer >= {minimum}" + (f" and <= {maximum}" if maximum else "")
        raise ConfigError(file, key, expected, brief(node))
    return node


def _source(node: dict, file: str, key: str) -> str:
    source = node.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(file, f"{key}.source", "a non-empty string naming where it comes from",
                          source)
    return " ".join(source.split())


def _value(node: Any, file: str, key: str) -> Value:
    """``{value: number >= 0, source: str}``."""
    node = _mapping(node, file, key, ("value", "source"), ("value", "source"))
    return Value(_number(node["value"], file, f"{key}.value"), _source(node, file, key))


def _points(node: Any, file: str, key: str, at_key: str) -> tuple[RefPoint, ...]:
    """A non-empty list of ``{<at_key>: > 0, energy_pj: > 0, source}``, increasing in at_key."""
    if not isinstance(node, list) or not node:
        raise ConfigError(file, key, f"a non-empty list of {{{at_key}, energy_pj, source}}", node)
    points = []
    for i, item in enumerate(node):
        k = f"{key}[{i}]"
        item = _mapping(item, file, k, (at_key, "energy_pj", "source"),
                        (at_key, "energy_pj", "source"))
        at = (_int(item[at_key], file, f"{k}.{at_key}", 1, MAX_WIDTH_BITS)
              if at_key == "width_bits"
              else _number(item[at_key], file, f"{k}.{at_key}", positive=True))
        points.append(RefPoint(float(at), _number(item["energy_pj"], file, f"{k}.energy_pj",
                                                  positive=True), _source(item, file, k)))
        if i and points[-1].at <= points[-2].at:
            raise ConfigError(file, f"{k}.{at_key}", f"{at_key} increasing along the list", at)
    return tuple(points)


def parse_tech(data: Any, file: str) -> Tech:
    """Validate a technology table's mapping and build a :class:`Tech`."""
    optional = ("description", "area")
    data = _mapping(data, file, "", _TOP, tuple(k for k in _TOP if k not in optional))
    if data["version"] != VERSION:
        raise ConfigError(file, "version", f"{VERSION} (only version {VERSION} is supported)",
                          data["version"])
    if not isinstance(data["name"], str) or not data["name"].strip():
        raise ConfigError(file, "name", "a non-empty string", data["name"])
    ops = _mapping(data["operations"], file, "operations", tuple(UNIT_OPERATION.values()),
                   tuple(UNIT_OPERATION.values()))
    operations = {op: _points(ops[op], file, f"operations.{op}", "width_bits") for op in ops}
    return Tech(
        name=data["name"],
        description=" ".join(str(data.get("description", "")).split()),
        file=file,
        operations=operations,
        register=_register(data["register"], file, operations),
        calibration=_calibration(data["calibration"], file),
        toggle_classes=_classes(data["toggle_classes"], file),
        clock_pj_per_bit_cycle=_value(data["clock_pj_per_bit_cycle"], file,
                                      "clock_pj_per_bit_cycle"),
        **_sram(data["sram"], file),
        **_dram(data["dram"], file),
        leakage={k: _value(v, file, f"leakage.{k}") for k, v in
                 _mapping(data["leakage"], file, "leakage", _LEAKAGE, _LEAKAGE).items()},
        area=parse_area(data.get("area"), file),
    )


def _register(node: Any, file: str, operations: dict[str, tuple[RefPoint, ...]]) -> RegisterRef:
    keys = ("operation", "width_bits", "source")
    node = _mapping(node, file, "register", keys, keys)
    op = node["operation"]
    if op not in operations:
        raise ConfigError(file, "register.operation", f"one of {', '.join(operations)}", op)
    width = _int(node["width_bits"], file, "register.width_bits", 1)
    widths = [int(p.at) for p in operations[op]]
    if width not in widths:
        raise ConfigError(file, "register.width_bits",
                          f"a width listed in operations.{op} ({', '.join(map(str, widths))})",
                          width)
    return RegisterRef(op, width, _source(node, file, "register"))


def _calibration(node: Any, file: str) -> CalibrationSettings:
    keys = ("signed", "exact_max_bits", "samples", "seed")
    node = _mapping(node, file, "calibration", keys, keys)
    if not isinstance(node["signed"], bool):
        raise ConfigError(file, "calibration.signed", "true or false", node["signed"])
    return CalibrationSettings(
        signed=node["signed"],
        exact_max_bits=_int(node["exact_max_bits"], file, "calibration.exact_max_bits", 0,
                            MAX_EXACT_BITS),
        samples=_int(node["samples"], file, "calibration.samples", 100, MAX_SAMPLES),
        seed=_int(node["seed"], file, "calibration.seed", 0, 2**64 - 1),
    )


def _classes(node: Any, file: str) -> dict[str, ClassSpec]:
    if not isinstance(node, dict) or not node:
        raise ConfigError(file, "toggle_classes", "a mapping of toggle class -> {unit, source}",
                          node)
    out = {}
    for cls, spec in node.items():
        key = f"toggle_classes.{cls}"
        spec = _mapping(spec, file, key, ("unit", "width", "width_bits", "source"),
                        ("unit", "source"))
        unit = spec["unit"]
        if unit not in UNITS:
            raise ConfigError(file, f"{key}.unit", f"one of {', '.join(UNITS)}", unit)
        width, width_bits = spec.get("width"), spec.get("width_bits")
        if unit == "register":
            if width is not None or width_bits is not None:
                raise ConfigError(file, key, "no width for a register (priced per bit)",
                                  width or width_bits)
        elif (width is None) == (width_bits is None):
            raise ConfigError(file, key, "exactly one of width (operands | acc_bits) and "
                              "width_bits")
        if width is not None and width not in WIDTH_RULES:
            raise ConfigError(file, f"{key}.width", f"one of {', '.join(WIDTH_RULES)}", width)
        if width_bits is not None:
            _int(width_bits, file, f"{key}.width_bits", 1, 64)
        out[str(cls)] = ClassSpec(unit, width, width_bits, _source(spec, file, key))
    return out


def _sram(node: Any, file: str) -> dict[str, Any]:
    keys = ("word_bits", "read_pj", "write_to_read_ratio")
    node = _mapping(node, file, "sram", keys, keys)
    return {
        "sram_word_bits": _int(node["word_bits"], file, "sram.word_bits", 1, 4096),
        "sram_read_pj": _points(node["read_pj"], file, "sram.read_pj", "size_kib"),
        "sram_write_to_read": _value(node["write_to_read_ratio"], file,
                                     "sram.write_to_read_ratio"),
    }


def _dram(node: Any, file: str) -> dict[str, Any]:
    keys = ("pj_per_byte", "pj_per_activation")
    node = _mapping(node, file, "dram", keys, keys)
    return {"dram_pj_per_byte": _value(node["pj_per_byte"], file, "dram.pj_per_byte"),
            "dram_pj_per_activation": _value(node["pj_per_activation"], file,
                                             "dram.pj_per_activation")}
