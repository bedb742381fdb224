"""Strict loading of architecture files (SPEC §3) into ``schema.Arch``.

Every problem is a ``ConfigError`` naming the file, the dotted key path, what was expected and what
was found: unreadable file, bad YAML, duplicate key, unknown key (with the closest recognized one),
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
from pathlib import Path
from typing import Any, Callable, TypeVar

import yaml

from accelsim.config.schema import Arch, BufferConfig, PeConfig
from accelsim.errors import ConfigError
from accelsim.pe import REGISTRY

T = TypeVar("T")

#: Folder of the built-in technology tables (``<name>.yaml``).
TECH_DIR = Path(__file__).resolve().parents[1] / "energy" / "tech"
#: The default technology, valid even before its table ships.
DEFAULT_TECHNOLOGY = "45nm"


class _Shown(str):
    """A description shown verbatim (unquoted) as an error's ``got``, e.g. ``an unknown key``."""

    def __repr__(self) -> str:
        return str(self)


def _got(value: object) -> object:
    """What to show as ``got`` for a value: containers by kind, scalars as themselves."""
    if isinstance(value, dict):
        return _Shown("a mapping")
    if isinstance(value, list):
        return _Shown("a list")
    return value


def _join(key_path: str, key: object) -> str:
    """Dotted key path of ``key`` inside ``key_path`` (the top level is ``""``)."""
    return f"{key_path}.{key}" if key_path else str(key)


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` rejecting duplicate mapping keys, naming the key path and both lines."""

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self.file = file

    def get_single_data(self) -> Any:
        """Compose the single document, check it for duplicate keys, then construct it."""
        node = self.get_single_node()
        if node is None:
            return None
        self._reject_duplicates(node, "", set())
        return self.construct_document(node)

    def _reject_duplicates(self, node: yaml.Node, key_path: str, seen: set[int]) -> None:
        """Walk the node tree (aliases visited once) and raise on a key repeated in a mapping."""
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._reject_duplicates(item, f"{key_path}[{i}]", seen)
        elif isinstance(node, yaml.MappingNode):
            lines: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                scalar = isinstance(key, yaml.ScalarNode)
                path = _join(key_path, key.value if scalar else "?")
                if scalar and key.tag != "tag:yaml.org,2002:merge":
                    line = key.start_mark.line + 1
                    if (key.tag, key.value) in lines:
                        first = lines[key.tag, key.value]
                        raise ConfigError(
                            self.file, path, f"each key once per mapping (first at line {first})",
                            _Shown(f"a duplicate at line {line}"),
                        )
                    lines[key.tag, key.value] = line
                self._reject_duplicates(value, path, seen)


def _read_yaml(path: Path, file: str) -> Any:
    """Parse ``path`` as one YAML document with ``_StrictLoader``; None for an empty document."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(file, "", "an existing, readable file", _Shown(exc.strerror)) from None
    except UnicodeDecodeError:
        raise ConfigError(file, "", "a UTF-8 text file", _Shown("undecodable bytes")) from None
    loader = _StrictLoader(text, file)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(file, "", "valid YAML", _Shown(f"{exc.problem}{where}")) from None
    except yaml.YAMLError as exc:
        raise ConfigError(file, "", "valid YAML", _Shown(str(exc))) from None
    finally:
        loader.dispose()


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
        return f"{noun} > {meta['gt']}"
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
    names = _yaml_names(cls)
    for key in mapping:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"(did you mean {close[0]!r}?) " if close else ""
            raise ConfigError(
                file, _join(key_path, key),
                f"a known key {hint}- recognized: {', '.join(names)}", _Shown("an unknown key"),
            )
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
            raise ConfigError(file, f"{path}.{name}", expected, _Shown("a block"))
        if params_cls is None:
            expected = f"no {path}.{name} block: PE kind {name!r} takes no parameters"
            raise ConfigError(file, f"{path}.{name}", expected, _Shown("a block"))
    if params_cls is None:
        return pe
    params = parse_dataclass(params_cls, blocks.get(pe.kind, {}), file, f"{path}.{pe.kind}")
    return dataclasses.replace(pe, params=params)


#: Block types whose parsing needs more than their own fields.
_BLOCK_PARSERS: dict[type, Callable[[object, str, str], Any]] = {PeConfig: _parse_pe}


def _check(arch: Arch, file: str) -> None:
    """Cross-field rules: accumulator wide enough for a product; dataflow supported by the PE."""
    pe, dataflow = arch.pe, arch.array.dataflow
    if pe.acc_bits < pe.x_bits + pe.w_bits:
        expected = f"an integer >= pe.x_bits + pe.w_bits = {pe.x_bits + pe.w_bits} (and <= 48)"
        raise ConfigError(file, "pe.acc_bits", expected, pe.acc_bits)
    supported = REGISTRY[pe.kind].dataflows
    if dataflow not in supported:
        expected = f"one of {', '.join(supported)} (the dataflows of pe.kind {pe.kind!r})"
        raise ConfigError(file, "array.dataflow", expected, dataflow)


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
    """Load and validate an architecture YAML file (SPEC §3), with every default filled in.

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
    return parse_arch(_read_yaml(Path(path), file), file, Path(path).parent)


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """Parse a YAML file strictly (duplicate keys rejected); None for an empty document.

    Raises
    ------
    ConfigError
        Unreadable file, not UTF-8, invalid YAML or a duplicate key, naming the file.
    """
    return _read_yaml(Path(path), str(path))


def parse_arch(doc: object, file: str, folder: Path) -> Arch:
    """Validate an architecture already parsed from YAML (``doc``, a mapping) into an ``Arch``.

    ``file`` names the source in error messages; relative technology paths resolve against
    ``folder``. :func:`load_arch` is this on a file's contents; a sweep calls it per point.
    """
    if not isinstance(doc, dict):
        got = _Shown("an empty document") if doc is None else _got(doc)
        raise ConfigError(file, "", "a mapping of architecture keys at the top level", got)
    if "version" in doc:  # before anything else: a newer file's other keys would mislead
        version = next(f for f in dataclasses.fields(Arch) if f.name == "version")
        _parse_field(version, int, doc["version"], file, "version")
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
    return out


def arch_to_dict(arch: Arch) -> dict[str, Any]:
    """The resolved ``arch`` as a JSON-ready dict in the YAML's key names (the report's ``arch``).

    Loading a YAML dump of the result gives back an equal ``Arch``.
    """
    return _to_dict(arch)
