"""Output rules shared by the import commands: never overwrite an input, write all or nothing."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from accelsim.errors import AccelsimError
from accelsim.workload.npz import Layer, save_workload


def refuse_inputs(outputs: Sequence[Path], inputs: Sequence[str], option: str) -> None:
    """Raise AccelsimError if an output path names one of the inputs (or a folder)."""
    given = {os.path.realpath(p) for p in inputs}
    for out in outputs:
        if os.path.realpath(out) in given:
            raise AccelsimError(str(out), option, "an output path that is not one of the inputs")
        if out.is_dir():
            raise AccelsimError(str(out), option, "a file path, not a folder")
        if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
            raise AccelsimError(str(out), option, "a path in an existing, writable folder")


def workload_bytes(name: str, layers: Sequence[Layer], source: dict[str, Any],
                   labels: Any = None, accuracy: Any = None, where: Path | None = None) -> bytes:
    """A validated workload file's bytes (:func:`save_workload` into a private temp folder)."""
    with tempfile.TemporaryDirectory(prefix=".accelsim-", dir=where) as tmp:
        path = Path(tmp) / "workload.npz"
        save_workload(path, name, layers, source, labels=labels, accuracy=accuracy)
        return path.read_bytes()


def load_npy(path: str, option: str, kind: str) -> Any:
    """An ``.npy`` array (never pickled): ``kind`` ``"float"`` or ``"int"`` (AccelsimError
    naming ``option`` otherwise)."""
    import numpy as np

    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise AccelsimError(path, option, "a readable .npy array", str(exc).splitlines()[0]
                            if str(exc) else type(exc).__name__) from None
    if not isinstance(a, np.ndarray) or a.dtype.kind not in ("f" if kind == "float" else "iu"):
        raise AccelsimError(path, option, f"a {kind} array", getattr(a, "dtype", type(a)))
    return a
