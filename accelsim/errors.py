"""Typed errors. The library raises them; only ``accelsim.cli`` turns them into one line + exit code."""

from __future__ import annotations


class AccelsimError(Exception):
    """Base class: a problem with a user's input, located by file and key path."""

    def __init__(self, file: str, key: str, expected: str, got: object = None) -> None:
        self.file = str(file)
        self.key = key
        self.expected = expected
        self.got = got
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``FILE: KEY: expected EXPECTED (got GOT)`` on a single line."""
        where = f"{self.file}: {self.key}" if self.key else self.file
        text = f"{where}: expected {self.expected}"
        if self.got is not None:
            text += f" (got {self.got!r})"
        return " ".join(text.split())


class ConfigError(AccelsimError):
    """An architecture, technology or sweep YAML file is invalid."""


class WorkloadError(AccelsimError):
    """A workload ``.npz`` file is invalid or does not fit the architecture."""


class OutputError(AccelsimError):
    """An output path is unusable (an input, another output, a folder, ...) or cannot be written."""
