"""Typed errors. The library raises them; only ``accelsim.cli`` turns them into one line + exit code.

Every error pickles round-trip with its fields and message (a Dask sweep worker sends its
errors to the client): a ``got`` that cannot be pickled travels as a stand-in whose ``repr`` is
the original's, so the message is unchanged.
"""

from __future__ import annotations

import pickle


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

    def __reduce__(self) -> tuple:
        """Pickle as ``(class, (file, key, expected, got))`` (``Exception`` would pickle only the
        message, which ``__init__`` cannot take back), plus the instance ``__dict__``."""
        state = dict(self.__dict__)
        state["got"] = _picklable(self.got)
        return (type(self), (self.file, self.key, self.expected, state["got"]), state)


class _Unpicklable:
    """Stands in for an unpicklable ``got``: its ``repr`` is the original's."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Unpicklable) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _picklable(value: object) -> object:
    """``value`` itself if it pickles, else an ``_Unpicklable`` with its ``repr``."""
    try:
        pickle.dumps(value)
    except Exception:  # noqa: BLE001 - any failure to pickle (TypeError, PicklingError, ...)
        return _Unpicklable(repr(value))
    return value


class ConfigError(AccelsimError):
    """An architecture, technology or sweep YAML file is invalid."""


class WorkloadError(AccelsimError):
    """A workload ``.npz`` file is invalid or does not fit the architecture."""


class OutputError(AccelsimError):
    """An output path is unusable (an input, another output, a folder, ...) or cannot be written."""
