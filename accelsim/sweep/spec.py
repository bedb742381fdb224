"""SWEEP.yaml: a base architecture, axes over arch keys, workloads, and the points they span.

Parsing only (no simulation): a strict YAML read (duplicate keys rejected), every problem a
:class:`~accelsim.errors.ConfigError` naming the sweep file and the key path. The file format is
documented in ``docs/sweep.md``.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import itertools
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelsim.errors import ConfigError

#: Keys of a sweep file.
KEYS = ("version", "name", "base", "workloads", "axes", "zip", "layers")
#: Sweep file format version understood.
VERSION = 1
#: Most points one sweep may span (a guard against an axis typo exploding the product).
MAX_POINTS = 100_000
#: Axis naming the workload of a point (its values are workload names).
WORKLOAD_AXIS = "workload"
#: Axis setting ``array.rows`` and ``array.cols`` together from ``[rows, cols]`` (or one int).
SIZE_AXIS = "array.size"

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class WorkloadRef:
    """A workload of the sweep: its short ``name`` (used in axes and tables) and file ``path``."""

    name: str
    path: str


@dataclass(frozen=True)
class Point:
    """One design point.

    Attributes
    ----------
    id : str
        ``p0000``-style, in expansion order (tables are sorted by it).
    values : dict
        Axis key -> value, in the sweep's axis order (includes ``workload``).
    workload : WorkloadRef
    arch_doc : dict
        The base architecture with this point's axis values applied (as parsed YAML).
    """

    id: str
    values: dict[str, Any]
    workload: WorkloadRef
    arch_doc: dict[str, Any]

    @property
    def label(self) -> str:
        """The axis values, short, for plots and progress: ``16x16 ws int8``."""
        return " ".join(format_value(k, v) for k, v in self.values.items())


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep file: where it is, its workloads, axis keys (table columns) and points."""

    file: str
    name: str
    workloads: tuple[WorkloadRef, ...]
    axis_keys: tuple[str, ...]
    points: tuple[Point, ...]
    layers: tuple[str, ...] | None
    base_folder: Path


def format_value(key: str, value: Any) -> str:
    """Axis ``key``'s value as a table cell: sizes as ``RxC`` (one int ``n`` as ``nxn``), other
    lists joined by ``x``, booleans as ``true``/``false``, the rest as str."""
    if key == SIZE_AXIS and not isinstance(value, list):
        return f"{value}x{value}"
    if isinstance(value, list):
        return "x".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _shown(text: str) -> Any:
    from accelsim.inputfile import Shown

    return Shown(text)


def _known_key_paths() -> list[str]:
    """Every dotted arch key a sweep may vary, from the schema dataclasses (PE kinds' blocks as
    ``pe.<kind>.<key>``), plus the sweep's own ``array.size`` and ``workload``."""
    from accelsim.config.load import _yaml_fields
    from accelsim.config.schema import Arch, PeConfig
    from accelsim.pe import REGISTRY

    paths: list[str] = []

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in _yaml_fields(cls):
            tp = hints[f.name]
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            inner = args[0] if args and len(args) == 1 else tp
            if dataclasses.is_dataclass(inner):
                walk(inner, f"{prefix}{f.name}.")
            else:
                paths.append(f"{prefix}{f.name}")
        if cls is PeConfig:
            for kind in REGISTRY.values():
                if kind.params is not None:
                    walk(kind.params, f"{prefix}{kind.name}.")

    walk(Arch, "")
    return paths + [SIZE_AXIS, WORKLOAD_AXIS]


def _check_axis_key(key: object, file: str, where: str, known: list[str]) -> str:
    if not isinstance(key, str) or not _KEY_RE.match(key) or key not in known:
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(file, f"{where}.{key}", f"an arch key path such as array.dataflow or "
                          f"pe.x_bits, {SIZE_AXIS} or {WORKLOAD_AXIS}{hint}",
                          _shown("an unknown key"))
    return key


def _values(value: object, file: str, path: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise ConfigError(file, path, "a non-empty list of values", value)
    for i, item in enumerate(value):
        if isinstance(item, dict):
            raise ConfigError(file, f"{path}[{i}]", "a scalar or a list", _shown("a mapping"))
    return value


def _workloads(value: object, file: str, folder: Path) -> tuple[WorkloadRef, ...]:
    """``workloads:`` — a list of paths or of ``{name, path}`` mappings (name: the file stem)."""
    if not isinstance(value, list) or not value:
        raise ConfigError(file, "workloads", "a non-empty list of workload .npz paths or "
                          "{name: NAME, path: PATH} mappings", value)
    refs = []
    for i, item in enumerate(value):
        where = f"workloads[{i}]"
        if isinstance(item, str):
            item = {"path": item}
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise ConfigError(file, where, "a path or a mapping with a path", item)
        unknown = set(item) - {"name", "path"}
        if unknown:
            raise ConfigError(file, f"{where}.{sorted(unknown)[0]}", "name or path",
                              _shown("an unknown key"))
        path = (folder / Path(item["path"]).expanduser()).resolve()
        name = item.get("name", path.stem)
        if not isinstance(name, str) or not name:
            raise ConfigError(file, f"{where}.name", "a non-empty string", name)
        if not path.is_file():
            raise ConfigError(file, f"{where}.path", "an existing workload .npz file",
                              item["path"])
        refs.append(WorkloadRef(name, str(path)))
    names = [r.name for r in refs]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise ConfigError(file, f"workloads[{i}].name", "unique workload names (give each "
                              "one a name:)", name)
    return tuple(refs)


def _base(value: object, file: str, folder: Path) -> tuple[dict[str, Any], Path]:
    """``base:`` — an arch YAML path (relative to the sweep file) or an inline arch mapping."""
    from accelsim.config.load import read_yaml

    if isinstance(value, dict):
        return value, folder
    if not isinstance(value, str):
        raise ConfigError(file, "base", "an architecture YAML path or an inline architecture "
                          "mapping", value)
    path = (folder / Path(value).expanduser()).resolve()
    if not path.is_file():
        raise ConfigError(file, "base", "an existing architecture YAML file", value)
    doc = read_yaml(path)
    if not isinstance(doc, dict):
        raise ConfigError(str(path), "", "a mapping of architecture keys at the top level")
    return doc, path.parent


def _set(doc: dict[str, Any], key: str, value: Any) -> None:
    """Set dotted ``key`` in the arch mapping ``doc`` (``array.size`` sets rows and cols)."""
    if key == SIZE_AXIS:  # checked by _check_size: [rows, cols] or one int
        rows, cols = value if isinstance(value, list) else (value, value)
        _set(doc, "array.rows", rows)
        _set(doc, "array.cols", cols)
        return
    *parents, leaf = key.split(".")
    node = doc
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[leaf] = value


def _check_size(value: Any, file: str, path: str) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) or (
        isinstance(value, list) and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value))
    if not ok:
        raise ConfigError(file, path, "an array size: [rows, cols] or one integer (square)",
                          value)


def _groups(doc: dict[str, Any], file: str, workloads: tuple[WorkloadRef, ...]
            ) -> list[tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """The axes as groups of keys varying together: each ``axes`` key alone, each ``zip`` entry
    one group; ``workload`` implicitly over all workloads when no group names it."""
    known = _known_key_paths()
    groups: list[tuple[tuple[str, ...], list[tuple[Any, ...]]]] = []
    axes = doc.get("axes", {})
    if not isinstance(axes, dict):
        raise ConfigError(file, "axes", "a mapping of arch key paths to lists of values", axes)
    for key, value in axes.items():
        _check_axis_key(key, file, "axes", known)
        groups.append(((key,), [(v,) for v in _values(value, file, f"axes.{key}")]))
    zips = doc.get("zip", [])
    if not isinstance(zips, list):
        raise ConfigError(file, "zip", "a list of mappings whose value lists vary together", zips)
    for i, group in enumerate(zips):
        where = f"zip[{i}]"
        if not isinstance(group, dict) or not group:
            raise ConfigError(file, where, "a mapping of key paths to equally long lists", group)
        keys = tuple(_check_axis_key(k, file, where, known) for k in group)
        lists = [_values(group[k], file, f"{where}.{k}") for k in keys]
        if len({len(v) for v in lists}) != 1:
            raise ConfigError(file, where, "value lists of equal length (they vary together)",
                              _shown(", ".join(f"{k}: {len(v)}" for k, v in zip(keys, lists))))
        groups.append((keys, list(zip(*lists))))
    seen: set[str] = set()
    for keys, _ in groups:
        for key in keys:
            if key in seen:
                raise ConfigError(file, key, "each key in one axis or zip group only",
                                  _shown("a key given twice"))
            seen.add(key)
    names = [w.name for w in workloads]
    if WORKLOAD_AXIS not in seen:
        groups.insert(0, ((WORKLOAD_AXIS,), [(n,) for n in names]))
    for keys, rows in groups:
        for key in keys:
            for row in rows:
                value = row[keys.index(key)]
                if key == WORKLOAD_AXIS and value not in names:
                    raise ConfigError(file, WORKLOAD_AXIS, f"a workload name among "
                                      f"{', '.join(names)}", value)
                if key == SIZE_AXIS:
                    _check_size(value, file, SIZE_AXIS)
    return groups


def _layers(value: object, file: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(file, "layers", "a list of layer names (or a comma-separated string)",
                          value)
    return tuple(value)


def load_sweep(path: str) -> Sweep:
    """Read and check SWEEP.yaml and expand its points (no arch is validated here: an invalid
    combination is that point's error, reported in the results).

    Raises
    ------
    ConfigError
        The sweep file itself is invalid (naming the key path).
    """
    from accelsim.config.load import read_yaml

    file = str(path)
    folder = Path(path).resolve().parent
    doc = read_yaml(path)
    if not isinstance(doc, dict):
        raise ConfigError(file, "", "a mapping with base, workloads and axes")
    for key in doc:
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f"(did you mean {close[0]!r}?) " if close else ""
            raise ConfigError(file, str(key), f"a known key {hint}- recognized: "
                              f"{', '.join(KEYS)}", _shown("an unknown key"))
    version = doc.get("version", VERSION)
    if version != VERSION or isinstance(version, bool):
        raise ConfigError(file, "version", f"{VERSION} (the sweep format this accelsim reads)",
                          version)
    for key in ("base", "workloads"):
        if key not in doc:
            raise ConfigError(file, key, "a value (required key is missing)")
    name = doc.get("name", Path(path).stem)
    if not isinstance(name, str) or not name:
        raise ConfigError(file, "name", "a non-empty string", name)
    base, base_folder = _base(doc["base"], file, folder)
    workloads = _workloads(doc["workloads"], file, folder)
    groups = _groups(doc, file, workloads)
    count = 1
    for _, rows in groups:
        count *= len(rows)
    if count > MAX_POINTS:
        raise ConfigError(file, "axes", f"at most {MAX_POINTS:,} points", count)
    axis_keys = tuple(k for keys, _ in groups for k in keys)
    by_name = {w.name: w for w in workloads}
    points = []
    for i, combo in enumerate(itertools.product(*(rows for _, rows in groups))):
        values = {k: v for (keys, _), row in zip(groups, combo) for k, v in zip(keys, row)}
        arch_doc = copy.deepcopy(base)
        for key, value in values.items():
            if key != WORKLOAD_AXIS:
                _set(arch_doc, key, copy.deepcopy(value))
        ordered = {k: values[k] for k in axis_keys}
        points.append(Point(f"p{i:04d}", ordered, by_name[values[WORKLOAD_AXIS]], arch_doc))
    return Sweep(file, name, workloads, axis_keys, tuple(points),
                 _layers(doc.get("layers"), file), base_folder)
