"""Reading the files a user names: regular files only, size-capped, YAML nesting-bounded.

Every loader of a user path (architecture, technology and workload files, the exporter's arrays)
reads through :func:`read_regular_file`, so a FIFO, a device such as ``/dev/zero`` or a huge file
is a typed error naming the file, never a hang or an unbounded read. The limits are in
``docs/limits.md``.
"""

from __future__ import annotations

import os
import stat
from typing import Any, BinaryIO

import yaml

from accelsim.errors import AccelsimError, ConfigError

#: Largest YAML file read (bytes): architecture and technology files are a few KiB.
MAX_YAML_BYTES = 1 << 20
#: Deepest nesting of mappings and sequences in a YAML file (levels; the files need 4).
MAX_YAML_DEPTH = 32

_KINDS = (
    (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)  # fmt: skip


class Shown(str):
    """A description shown verbatim (unquoted) as an error's ``got``, e.g. ``a FIFO``."""

    def __repr__(self) -> str:
        return str(self)


def brief(value: object, limit: int = 120) -> object:
    """``value`` to show as an error's ``got``: itself, or its repr cut to ``limit`` characters
    (a value in a file can be megabytes long; the message stays one readable line)."""
    text = repr(value)
    return value if len(text) <= limit else Shown(f"{text[:limit]}... ({len(text)} characters)")


def open_regular_file(path: str | os.PathLike[str], max_bytes: int,
                      error: type[AccelsimError], key: str = "") -> BinaryIO:
    """Open a regular file of at most ``max_bytes`` bytes for binary reading.

    The file is opened without blocking (a FIFO never waits for a writer) and checked with
    ``fstat`` on the open descriptor, so what is checked is what is read.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    max_bytes : int
        Largest size accepted (bytes).
    error : type
        The :class:`~accelsim.errors.AccelsimError` subclass to raise.
    key : str
        Key path for the message (``""``: the file itself).

    Raises
    ------
    AccelsimError
        (of type ``error``) missing or unreadable, not a regular file, or larger than
        ``max_bytes``.
    """
    file = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(file, key, "an existing, readable file", Shown(exc.strerror or exc)) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "a special file")
        raise error(file, key, "a regular file", Shown(kind))
    if info.st_size > max_bytes:
        os.close(fd)
        raise error(file, key, f"a file of at most {max_bytes} bytes",
                    Shown(f"{info.st_size} bytes"))
    return os.fdopen(fd, "rb")


def read_regular_file(path: str | os.PathLike[str], max_bytes: int,
                      error: type[AccelsimError], key: str = "") -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` bytes
    (:func:`open_regular_file`; a file that grows past the limit while read is refused too)."""
    with open_regular_file(path, max_bytes, error, key) as f:
        try:
            data = f.read(max_bytes + 1)
        except OSError as exc:
            raise error(str(path), key, "a readable file", Shown(exc.strerror or exc)) from None
    if len(data) > max_bytes:
        raise error(str(path), key, f"a file of at most {max_bytes} bytes",
                    Shown(f"more than {max_bytes} bytes"))
    return data


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """Parse a regular UTF-8 file of at most :data:`MAX_YAML_BYTES` as one YAML document
    (:func:`parse_yaml`).

    Raises
    ------
    ConfigError
        Naming the file, and the key path or the line and column of the problem.
    """
    file = str(path)
    data = read_regular_file(path, MAX_YAML_BYTES, ConfigError)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(file, "", "a UTF-8 text file",
                          Shown(f"undecodable bytes at line {line}, byte {exc.start}")) from None
    return parse_yaml(text, file)


def parse_yaml(text: str, file: str) -> Any:
    """One YAML document of ``text`` (from ``file``), with safe YAML only; duplicate mapping keys,
    nesting deeper than :data:`MAX_YAML_DEPTH` and non-printable characters are errors.
    Returns None for an empty document.

    Raises
    ------
    ConfigError
        Naming the file, and the key path or the line and column of the problem.
    """
    loader = None
    try:
        loader = _StrictLoader(text, file)
        return loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        raise ConfigError(file, "", "YAML text without control characters",
                          Shown(_reader_problem(exc, text))) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(file, "", "valid YAML", Shown(f"{exc.problem}{where}")) from None
    except yaml.YAMLError as exc:
        raise ConfigError(file, "", "valid YAML", Shown(str(exc))) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ConfigError(file, "", "valid YAML", Shown(str(exc))) from None
    finally:
        if loader is not None:
            loader.dispose()


def _reader_problem(exc: yaml.reader.ReaderError, text: str) -> str:
    """``character 0x.. at line L, column C`` of a non-printable character."""
    line = text.count("\n", 0, exc.position) + 1
    column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    char = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return f"character {char:#04x} at line {line}, column {column}"


def _join(key_path: str, key: object) -> str:
    """Dotted key path of ``key`` inside ``key_path`` (the top level is ``""``)."""
    return f"{key_path}.{key}" if key_path else str(key)


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` rejecting duplicate mapping keys (naming the key path and both lines)
    and nesting deeper than :data:`MAX_YAML_DEPTH`, in the text or through aliases."""

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self.file = file
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        """Compose one node, refusing a nesting deeper than :data:`MAX_YAML_DEPTH`."""
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                self._too_deep(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def _too_deep(self, line: int) -> None:
        raise ConfigError(self.file, "", f"nesting depth <= {MAX_YAML_DEPTH}",
                          Shown(f"deeper at line {line}"))

    def get_single_data(self) -> Any:
        """Compose the single document, check its depth and keys, then construct it."""
        node = self.get_single_node()
        if node is None:
            return None
        self._height(node, 1, set(), {})
        self._reject_duplicates(node, "", set())
        return self.construct_document(node)

    def _height(self, node: yaml.Node, depth: int, path: set[int], memo: dict[int, int]) -> int:
        """Levels of nesting from ``node`` down (aliases followed), checking that ``depth`` (the
        node's own level) plus them stays within :data:`MAX_YAML_DEPTH`; a node that contains
        itself through an alias nests without end."""
        if id(node) in memo:
            height = memo[id(node)]
        elif id(node) in path or depth > MAX_YAML_DEPTH:
            height = MAX_YAML_DEPTH + 1
        else:
            path.add(id(node))
            children = node.value if isinstance(node, yaml.SequenceNode) else (
                [n for pair in node.value for n in pair]
                if isinstance(node, yaml.MappingNode) else [])
            height = 1 + max((self._height(c, depth + 1, path, memo) for c in children),
                             default=0)
            path.discard(id(node))
            memo[id(node)] = height
        if depth + height - 1 > MAX_YAML_DEPTH:
            self._too_deep(node.start_mark.line + 1)
        return height

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
                            Shown(f"a duplicate at line {line}"),
                        )
                    lines[key.tag, key.value] = line
                self._reject_duplicates(value, path, seen)
