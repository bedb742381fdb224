"""Strict loading of architecture files (docs/reference/arch.md) into ``schema.Arch``.

Every problem is a ``ConfigError`` naming the file, the dotted key path, what was expected and what
was found: unreadable or special file, over 1 MiB, bad YAML, control characters, nesting deeper
than 32, duplicate key (``accelsim.inputfile``), unknown key (with the closest recognized one),
missing key, wrong type, out-of-range or unlisted value, and cross-field rules (accumulator width,
dataflow supported by the PE kind, technology table). One generic parser, driven by the dataclass
fields, their type hints and metadata, handles every block, including PE kinds' parameter blocks.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import types
import typing
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, TypeVar

from accelsim.config.dram_presets import PRESETS as DRAM_PRESETS
from accelsim.config.schema import (
    Arch, BufferConfig, DramConfig, DramUnits, LayerMappingConfig, LayerMappings, PeConfig,
)
from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.dataflows.mapping import legal_orders, order_label
from accelsim.errors import ConfigError
from accelsim.inputfile import Shown, brief, read_yaml
from accelsim.pe import REGISTRY

T = TypeVar("T")

#: Folder of the built-in technology tables (``<name>.yaml``).
TECH_DIR = Path(__file__).resolve().parents[1] / "energy" / "tech"
#: The default technology, valid even before its table ships.
DEFAULT_TECHNOLOGY = "45nm"


def _got(value: object) -> object:
    """What to show as ``got`` for a value: containers by kind, scalars as themselves (cut to
    120 characters)."""
    if isinstance(value, dict):
        return Shown("a mapping")
    if isinstance(value, list):
        return Shown("a list")
    return brief(value)


def _join(key_path: str, key: object) -> str:
    """Dotted key path of ``key`` inside ``key_path`` (the top level is ``""``)."""
    return f"{key_path}.{key}" if key_path else str(key)


def _strip_optional(hint: Any) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; any other hint -> ``(hint, False)``."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(hint)) == 2:
            return args[0], True
    return hint, False


_NOUNS = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}


def _describe(tp: type, meta: typing.Mapping[str, Any]) -> str:
    """The "expected ..." text for a field of type ``tp`` with range/choice ``meta``."""
    if "expected" in meta:
        return meta["expected"]
    if "choices" in meta:
        return "one of " + ", ".join(str(c) for c in meta["choices"])
    if dataclasses.is_dataclass(tp):
        return "a mapping with keys " + ", ".join(_yaml_names(tp))
    noun, lo, hi = _NOUNS[tp], meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        return f"{noun} in {lo}..{hi}"
    if lo is not None:
        return f"{noun} >= {lo}"
    if "gt" in meta:
        return f"{noun} > {meta['gt']}" + ("" if hi is None else f" and <= {hi}")
    return noun if hi is None else f"{noun} <= {hi}"


def _scalar_ok(tp: type, value: object) -> bool:
    """Whether ``value`` has type ``tp`` in the file's terms (bool is no int; int is a float)."""
    if tp is float:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return number and math.isfinite(value)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp in (bool, str):
        return isinstance(value, tp)
    raise TypeError(f"unsupported config field type {tp!r}")


def _in_range(value: Any, meta: typing.Mapping[str, Any]) -> bool:
    """Whether ``value`` satisfies the ``choices``/``min``/``max``/``gt`` metadata."""
    return (
        ("choices" not in meta or value in meta["choices"])
        and ("min" not in meta or value >= meta["min"])
        and ("max" not in meta or value <= meta["max"])
        and ("gt" not in meta or value > meta["gt"])
    )


def _parse_field(f: dataclasses.Field, hint: Any, value: object, file: str, path: str) -> Any:
    """Parse one present value of field ``f`` (type hint ``hint``) found at key path ``path``."""
    tp, optional = _strip_optional(hint)
    if value is None and optional:
        return None
    if tp in _BLOCK_PARSERS:
        return _BLOCK_PARSERS[tp](value, file, path)
    if dataclasses.is_dataclass(tp):
        return parse_dataclass(tp, value, file, path)
    if not (_scalar_ok(tp, value) and _in_range(value, f.metadata)):
        raise ConfigError(file, path, _describe(tp, f.metadata), _got(value))
    return float(value) if tp is float else value


def _yaml_fields(cls: type) -> list[dataclasses.Field]:
    """The fields of dataclass ``cls`` read from their own YAML key, in declaration order."""
    return [f for f in dataclasses.fields(cls) if f.metadata.get("yaml", True)]


def _yaml_names(cls: type) -> list[str]:
    """The YAML keys recognized in a block parsed into ``cls``."""
    return [f.name for f in _yaml_fields(cls)]


def parse_dataclass(cls: type[T], mapping: object, file: str, key_path: str) -> T:
    """Build dataclass ``cls`` from the YAML ``mapping`` found at ``key_path`` in ``file``.

    Parameters
    ----------
    cls : type
        A dataclass whose fields are the block's keys; type hints may be ``bool``, ``int``,
        ``float``, ``str``, another dataclass, or any of these ``| None``; ``metadata`` as in
        ``schema``.
    mapping : object
        The parsed YAML value (must be a dict).
    file, key_path : str
        Where the block is, for error messages (``""`` for the top level).

    Raises
    ------
    ConfigError
        Not a mapping, unknown key (with the closest recognized one), missing required key, or a
        value of the wrong type, out of range or not among the choices.
    """
    if not isinstance(mapping, dict):
        raise ConfigError(file, key_path, _describe(cls, {}), _got(mapping))
    _reject_unknown(mapping, _yaml_names(cls), file, key_path)
    hints = typing.get_type_hints(cls)
    values = {}
    for f in _yaml_fields(cls):
        path = _join(key_path, f.name)
        if f.name in mapping:
            values[f.name] = _parse_field(f, hints[f.name], mapping[f.name], file, path)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            expected = _describe(_strip_optional(hints[f.name])[0], f.metadata)
            raise ConfigError(file, path, f"{expected} (required key is missing)")
    return cls(**values)


def _parse_pe(value: object, file: str, path: str) -> PeConfig:
    """Parse ``pe:``; its ``pe.<kind>`` block goes through the kind's ``params`` dataclass."""
    blocks = {k: v for k, v in value.items() if k in REGISTRY} if isinstance(value, dict) else {}
    rest = {k: v for k, v in value.items() if k not in blocks} if isinstance(value, dict) else value
    pe = parse_dataclass(PeConfig, rest, file, path)
    params_cls = REGISTRY[pe.kind].params
    for name in blocks:
        if name != pe.kind:
            expected = f"no {path}.{name} block when {path}.kind is {pe.kind!r}"
            raise ConfigError(file, f"{path}.{name}", expected, Shown("a block"))
        if params_cls is None:
            expected = f"no {path}.{name} block: PE kind {name!r} takes no parameters"
            raise ConfigError(file, f"{path}.{name}", expected, Shown("a block"))
    if params_cls is None:
        return pe
    params = parse_dataclass(params_cls, blocks.get(pe.kind, {}), file, f"{path}.{pe.kind}")
    return dataclasses.replace(pe, params=params)


#: Block types whose parsing needs more than their own fields.
def _parse_layer_mappings(value: object, file: str, path: str) -> LayerMappings:
    """``mapping.layers``: layer name -> ``LayerMappingConfig``; an order names M, K, N once."""
    if not isinstance(value, dict):
        raise ConfigError(file, path, "a mapping of layer names to {order, chunk}", _got(value))
    out = []
    for name, entry in value.items():
        where = _join(path, name)
        cfg = parse_dataclass(LayerMappingConfig, entry, file, where)
        if sorted(cfg.order.split(">")) != ["K", "M", "N"]:
            raise ConfigError(file, _join(where, "order"), "M, K and N joined by '>', each once"
                              " (e.g. N>K>M)", cfg.order)
        out.append((str(name), cfg))
    return LayerMappings(tuple(out))


_BLOCK_PARSERS: dict[type, Callable[[object, str, str], Any]] = {
    PeConfig: _parse_pe, LayerMappings: _parse_layer_mappings}


def _check(arch: Arch, file: str) -> None:
    """Cross-field rules: accumulator wide enough for a product; dataflow supported by the PE."""
    pe, dataflow = arch.pe, arch.array.dataflow
    if pe.acc_bits < pe.x_bits + pe.w_bits:
        expected = f"an integer >= pe.x_bits + pe.w_bits = {pe.x_bits + pe.w_bits} (and <= 48)"
        raise ConfigError(file, "pe.acc_bits", expected, pe.acc_bits)
    if arch.output is not None and arch.output.shift_bits >= pe.acc_bits:
        expected = f"an integer in 0..pe.acc_bits - 1 = {pe.acc_bits - 1}"
        raise ConfigError(file, "output.shift_bits", expected, arch.output.shift_bits)
    supported = REGISTRY[pe.kind].dataflows
    if dataflow not in supported:
        expected = f"one of {', '.join(supported)} (the dataflows of pe.kind {pe.kind!r})"
        raise ConfigError(file, "array.dataflow", expected, dataflow)
    legal = [order_label(o) for o in legal_orders(DATAFLOWS[dataflow])]
    for name, cfg in (arch.mapping.layers.by_name if arch.mapping.layers else ()):
        if cfg.order not in legal:
            raise ConfigError(file, f"mapping.layers.{name}.order",
                              f"one of {', '.join(legal)} (the legal orders of {dataflow})",
                              cfg.order)


def _clock_mhz(doc: dict, file: str) -> float:
    """The file's ``clock_mhz`` (checked), or its default."""
    clock = next(f for f in dataclasses.fields(Arch) if f.name == "clock_mhz")
    if "clock_mhz" not in doc:
        return clock.default
    return _parse_field(clock, float, doc["clock_mhz"], file, "clock_mhz")


def _to_cycles(value: float, clock_mhz: float, unit: str) -> Fraction:
    """``value`` (ns, or GB/s) in cycles (or bytes/cycle) at ``clock_mhz``, exact in decimal."""
    v, mhz = Fraction(repr(value)), Fraction(repr(clock_mhz))
    return v * 1000 / mhz if unit == "gb_per_s" else v * mhz / 1000


def _reject_unknown(mapping: dict, names: list[str], file: str, key_path: str) -> None:
    """ConfigError naming the first key of ``mapping`` not in ``names`` (with the closest name
    as a hint)."""
    for key in mapping:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"(did you mean {close[0]!r}?) " if close else ""
            raise ConfigError(
                file, _join(key_path, key),
                f"a known key {hint}- recognized: {', '.join(names)}", Shown("an unknown key"),
            )


def _dram_in_cycles(block: dict, doc: dict, file: str) -> dict:
    """The ``dram:`` block with its preset and physical-unit keys (``DramUnits``) replaced by
    ``DramConfig``'s cycle keys at the file's ``clock_mhz``; the block's own keys win."""
    unit_names, cycle_names = _yaml_names(DramUnits), _yaml_names(DramConfig)
    _reject_unknown(block, cycle_names + unit_names, file, "dram")
    units = parse_dataclass(DramUnits, {k: v for k, v in block.items() if k in unit_names},
                            file, "dram")
    out = {k: v for k, v in block.items() if k in cycle_names}
    given: dict[str, Any] = {}
    if units.preset is not None:
        given = {k: v for k, (v, _) in DRAM_PRESETS[units.preset].items()}
    mhz = None  # the file's clock_mhz, parsed on first need
    for f in dataclasses.fields(DramUnits):
        target = f.metadata.get("cycles")
        if target is None:
            continue
        value = getattr(units, f.name)
        if value is not None and target in block:
            raise ConfigError(file, f"dram.{f.name}", f"either dram.{f.name} or dram.{target}, "
                              "not both", value)
        if value is not None:
            given[f.name] = value
        if f.name in given and target not in block:
            unit = "gb_per_s" if f.name.endswith("_gb_per_s") else "ns"
            mhz = _clock_mhz(doc, file) if mhz is None else mhz
            cycles = _to_cycles(given.pop(f.name), mhz, unit)
            out[target] = math.ceil(cycles) if target == "latency_cycles" else float(cycles)
        given.pop(f.name, None)
    for key, value in given.items():  # the preset's unit-free keys
        out.setdefault(key, value)
    for f in dataclasses.fields(DramUnits):
        target = f.metadata.get("cycles")
        cycle_field = next((c for c in dataclasses.fields(DramConfig) if c.name == target), None)
        if cycle_field is not None and cycle_field.default is dataclasses.MISSING \
                and target not in out:
            raise ConfigError(file, f"dram.{target}", f"dram.{target}, dram.{f.name} or a "
                              f"dram.preset ({', '.join(DRAM_PRESETS)}) (required key is "
                              "missing)")
    return out


def builtin_technologies() -> set[str]:
    """Names of the built-in technology tables: ``45nm`` and every ``TECH_DIR/*.yaml`` stem."""
    return {DEFAULT_TECHNOLOGY} | {p.stem for p in TECH_DIR.glob("*.yaml")}


def _resolve_technology(technology: str, arch_path: Path, file: str) -> str:
    """A built-in name as is, else the absolute path of an existing file (relative to the arch)."""
    builtins = builtin_technologies()
    if technology in builtins:
        return technology
    candidate = arch_path.parent / Path(technology).expanduser()
    if technology and candidate.is_file():
        return str(candidate.resolve())
    expected = f"a built-in technology ({', '.join(sorted(builtins))}) or an existing YAML file"
    raise ConfigError(file, "energy.technology", expected, technology)


def _resolve(arch: Arch, arch_path: Path, file: str) -> Arch:
    """Fill load-time defaults: buffer port widths and the technology table's location."""
    buffers = arch.buffers
    if buffers is not None:
        ports = max(arch.array.rows, arch.array.cols)

        def fill(b: BufferConfig) -> BufferConfig:
            return dataclasses.replace(
                b,
                read_words_per_cycle=b.read_words_per_cycle or ports,
                write_words_per_cycle=b.write_words_per_cycle or ports,
            )

        buffers = dataclasses.replace(
            buffers,
            ifmap=fill(buffers.ifmap),
            filter=fill(buffers.filter),
            ofmap=fill(buffers.ofmap),
        )
    technology = _resolve_technology(arch.energy.technology, arch_path, file)
    energy = dataclasses.replace(arch.energy, technology=technology)
    return dataclasses.replace(arch, buffers=buffers, energy=energy)


def load_arch(path: str | os.PathLike[str]) -> Arch:
    """Load and validate an architecture YAML file (docs/reference/arch.md), defaults filled in.

    Parameters
    ----------
    path : str or path-like
        The ``arch.yaml`` file; relative technology paths in it resolve against its folder.

    Returns
    -------
    Arch
        The resolved architecture: buffer port widths and the technology location filled in.

    Raises
    ------
    ConfigError
        For any problem with the file (see the module docstring); ``.one_line()`` is the message.
    """
    file = str(path)
    return parse_arch(read_yaml(path), file, Path(path).parent)


def parse_arch(doc: object, file: str, folder: Path) -> Arch:
    """Validate an architecture already parsed from YAML (``doc``, a mapping) into an ``Arch``.

    ``file`` names the source in error messages; relative technology paths resolve against
    ``folder``. :func:`load_arch` is this on a file's contents; a sweep calls it per point.
    """
    if not isinstance(doc, dict):
        got = Shown("an empty document") if doc is None else _got(doc)
        raise ConfigError(file, "", "a mapping of architecture keys at the top level", got)
    if "version" in doc:  # before anything else: a newer file's other keys would mislead
        version = next(f for f in dataclasses.fields(Arch) if f.name == "version")
        _parse_field(version, int, doc["version"], file, "version")
    if isinstance(doc.get("dram"), dict):  # presets and physical units -> cycles
        doc = {**doc, "dram": _dram_in_cycles(doc["dram"], doc, file)}
    arch = parse_dataclass(Arch, doc, file, "")
    _check(arch, file)
    return _resolve(arch, folder / "arch.yaml", file)


def _to_dict(obj: object) -> Any:
    """A config dataclass as nested dicts keyed by YAML names; ``pe.params`` under ``pe.<kind>``."""
    if not dataclasses.is_dataclass(obj):
        return obj
    out = {f.name: _to_dict(getattr(obj, f.name)) for f in _yaml_fields(type(obj))}
    if isinstance(obj, PeConfig) and obj.params is not None:
        out[obj.kind] = _to_dict(obj.params)
    if isinstance(obj, LayerMappings):
        out = {name: _to_dict(cfg) for name, cfg in obj.by_name}
    return out


def arch_to_dict(arch: Arch) -> dict[str, Any]:
    """The resolved ``arch`` as a JSON-ready dict in the YAML's key names (the report's ``arch``).

    Loading a YAML dump of the result gives back an equal ``Arch``.
    """
    out = _to_dict(arch)
    if arch.output is None:  # absent block: reports of runs without it stay as they were
        del out["output"]
    return out
