"""Generate the ``arch.yaml`` reference (docs/reference/arch.md) from the schema itself.

``python -m accelsim.config.reference > docs/reference/arch.md``. Every key, its type and range
(the loader's own "expected" wording), its default and its meaning come from the dataclasses of
``accelsim.config.schema``, the PE kinds' parameter blocks and the DRAM presets, so the page
cannot drift from what the loader accepts (a test compares the checked-in file with this output).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import sys
import textwrap
import typing

from accelsim.config.dram_presets import PRESETS
from accelsim.config.load import _describe, _strip_optional, _yaml_fields
from accelsim.config.schema import (
    Arch, BufferConfig, BuffersConfig, DramUnits, LayerMappingConfig, MappingConfig,
)
from accelsim.pe import REGISTRY

COMMAND = "python -m accelsim.config.reference > docs/reference/arch.md"

INTRO = f"""\
# Architecture file (`arch.yaml`)

<!-- Generated from accelsim/config/schema.py by `{COMMAND}`;
do not edit by hand (tests/unit/test_reference_docs.py checks it is current). -->

An architecture is one YAML mapping. Every quantity carries its unit in its key's name (`_bits`,
`_kib`, `_cycles`, `_mhz`, `_ns`, ...). The loader is strict: an unknown key is an error that names
its path and suggests the closest valid key, a key given twice is an error naming both lines, and
every value is checked against the type and range below. Required keys: `name`, `array.rows`,
`array.cols`, `array.dataflow`, `pe.kind`, `pe.x_bits`, `pe.w_bits`, `pe.acc_bits`. Without both
`buffers:` and `dram:` memory is ideal (unbounded, no stalls). Examples: `arch_configs/`.
A bad file is reported in one line naming the file, the key and what was expected (exit code 2,
see [exit-codes.md](exit-codes.md)).
"""


def _field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of dataclass ``cls`` (read from its source)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body
    docs = {}
    for stmt, nxt in zip(body, body[1:]):
        if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)):
            docs[stmt.target.id] = nxt.value.value
    return docs


def _markdown(doc: str) -> str:
    """A docstring as one line of Markdown: RST literals and roles become code spans."""
    text = " ".join(inspect.cleandoc(doc).split())
    text = re.sub(r":\w+:`([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def _default(f: dataclasses.Field) -> str:
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
        return "required"
    value = f.default
    if value is None:
        return "absent"
    if dataclasses.is_dataclass(value):
        return "its defaults"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value:g}`" if isinstance(value, float) else f"`{value}`"


def _value(f: dataclasses.Field, hint: object) -> str:
    tp, optional = _strip_optional(hint)
    if dataclasses.is_dataclass(tp):
        return "a mapping (below)"
    return _describe(tp, f.metadata) + (" or null" if optional and f.default is not None else "")


def _table(cls: type, prefix: str, fields: list[dataclasses.Field] | None = None) -> list[str]:
    """A Markdown table of ``cls``'s YAML keys, named ``prefix.key``."""
    hints, docs = typing.get_type_hints(cls), _field_docs(cls)
    rows = ["| key | value | default | meaning |", "|---|---|---|---|"]
    for f in fields if fields is not None else _yaml_fields(cls):
        key = f"{prefix}.{f.name}" if prefix else f.name
        rows.append(f"| `{key}` | {_cell(_value(f, hints[f.name]))} | {_default(f)} | "
                    f"{_cell(_markdown(docs.get(f.name, '')))} |")
    return rows


def _section(title: str, cls: type, prefix: str) -> list[str]:
    return ["", f"## {title}", "", _markdown(cls.__doc__ or ""), "", *_table(cls, prefix)]


def _presets() -> list[str]:
    lines = ["", "### DRAM presets", "",
             "`dram.preset` fills these keys (converted at `clock_mhz` like the keys above); "
             "a key the file gives wins.", ""]
    for name, entries in PRESETS.items():
        lines += [f"`{name}`:", "", "| key | value | source |", "|---|---|---|"]
        lines += [f"| `{key}` | {value:g} | {_cell(source)} |"
                  for key, (value, source) in entries.items()]
        lines.append("")
    return lines[:-1]


def arch_reference() -> str:
    """The whole ``docs/reference/arch.md`` text."""
    hints = typing.get_type_hints(Arch)
    top = [f for f in _yaml_fields(Arch) if not dataclasses.is_dataclass(
        _strip_optional(hints[f.name])[0])]
    lines = [INTRO, "## Top level", "", *_table(Arch, "", top)]
    for f in _yaml_fields(Arch):
        tp = _strip_optional(hints[f.name])[0]
        if not dataclasses.is_dataclass(tp):
            continue
        lines += _section(f"`{f.name}:`", tp, f.name)
        if tp is BuffersConfig:
            lines += _section("`buffers.<name>:` (`ifmap`, `filter`, `ofmap`)", BufferConfig,
                              "buffers.<name>")
        if tp is MappingConfig:
            lines += _section("`mapping.layers.<layer name>:`", LayerMappingConfig,
                              "mapping.layers.<layer name>")
        if f.name == "dram":
            lines += _section("`dram:` presets and physical units", DramUnits, "dram")
            lines += _presets()
        if f.name == "pe":
            for kind, pe in REGISTRY.items():
                if pe.params is not None:
                    lines += _section(f"`pe.{kind}:` (with `pe.kind: {kind}`)", pe.params,
                                      f"pe.{kind}")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Print the reference to stdout."""
    sys.stdout.write(arch_reference())


if __name__ == "__main__":
    main()
