"""Choosing layers of a workload by name (``--layers`` of the commands, ``layers`` of a sweep)."""

from __future__ import annotations

from collections.abc import Sequence

from accelsim.errors import AccelsimError, WorkloadError
from accelsim.workload.npz import Layer, Workload


def select_layers(workload: Workload, names: Sequence[str] | None, file: str, key: str,
                  error: type[AccelsimError] = WorkloadError) -> tuple[Layer, ...]:
    """The layers of ``workload`` named in ``names``, in file order (all if ``names`` is None).

    Raises
    ------
    AccelsimError
        Of type ``error``, naming ``file`` and ``key``: an unknown layer name, or no name at all.
    """
    if names is None:
        return workload.layers
    known = [layer.name for layer in workload.layers]
    for name in names:
        if name not in known:
            raise error(file, key, f"layer names of {workload.name} among {', '.join(known)}",
                        name)
    if not names:
        raise error(file, key, "at least one layer name", "none")
    return tuple(layer for layer in workload.layers if layer.name in names)
