"""One design point: checked on the client (:func:`prepare`), simulated on a worker
(:func:`evaluate`). Tasks and outcomes are small frozen dataclasses that pickle, so they travel to
Dask workers and back; an error travels as its one-line message."""

from __future__ import annotations

import functools
import hashlib
import json
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from accelsim.errors import AccelsimError, ConfigError
from accelsim.sweep.spec import Point, Sweep
from accelsim.workload.select import select_layers


@dataclass(frozen=True)
class Task:
    """A valid point, ready to simulate.

    Attributes
    ----------
    id : str
        The point's id.
    arch : accelsim.config.Arch
        The point's resolved architecture.
    workload_path, workload_sha256 : str
        The workload file and the digest it had when the sweep was checked.
    layers : tuple of str or None
        Layer names to simulate (None: all).
    key : str
        Content hash of (arch, workload digest, layers, accelsim version): ``--resume`` reuses a
        report only under the same key.
    memory_plan : accelsim.sim.memory.MemoryPlan or None
        The memory plan the check built (None: ideal memory), so the worker does not plan again;
        derived from the fields above, so not part of the key or of equality.
    """

    id: str
    arch: Any
    workload_path: str
    workload_sha256: str
    layers: tuple[str, ...] | None
    key: str
    memory_plan: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Outcome:
    """What became of a point: its report (JSON bytes) or its one-line error.

    ``internal`` marks an unexpected exception (a bug) rather than an invalid point;
    ``seconds`` is the wall time on the worker (progress only, never in the tables).
    """

    id: str
    report_json: bytes | None
    error: str | None = None
    internal: bool = False
    seconds: float = 0.0
    resumed: bool = False


def content_key(arch: Any, workload_sha256: str, layers: tuple[str, ...] | None) -> str:
    """sha256 over the resolved arch, the workload digest, the layers and accelsim's version."""
    from accelsim import __version__
    from accelsim.config import arch_to_dict

    doc = {"arch": arch_to_dict(arch), "workload_sha256": workload_sha256,
           "layers": None if layers is None else list(layers), "accelsim_version": __version__}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode("utf-8")).hexdigest()


def prepare(sweep: Sweep, point: Point, workloads: dict[str, Any]) -> Task | Outcome:
    """Check ``point`` as ``accelsim run`` would before simulating (arch valid, every layer fits,
    technology prices it, buffers hold a tile): a Task, or an Outcome carrying the error line.

    ``workloads`` maps workload names to loaded workloads (loaded once by the caller).
    """
    from accelsim.config.load import parse_arch
    from accelsim.pipeline import check_arch, host_graph

    file = f"{sweep.file} [{point.id}: {point.label}]"
    try:
        arch = parse_arch(point.arch_doc, file, sweep.base_folder)
        workload = workloads[point.workload.name]
        layers = select_layers(workload, sweep.layers, sweep.file, "layers", ConfigError)
        if workload.labels is not None:
            host_graph(workload, layers, chain=False)
        plan = check_arch(arch, workload, layers, file)
    except AccelsimError as exc:
        return Outcome(point.id, None, exc.one_line())
    names = None if sweep.layers is None else tuple(layer.name for layer in layers)
    return Task(point.id, arch, point.workload.path, workload.sha256, names,
                content_key(arch, workload.sha256, names), plan)


@functools.lru_cache(maxsize=4)
def _workload(path: str, sha256: str) -> Any:
    """The workload at ``path`` (cached per process: a warm worker loads each file once)."""
    from accelsim.workload import load_workload

    workload = load_workload(path)
    if workload.sha256 != sha256:
        raise ConfigError(path, "", "the workload file unchanged since the sweep was checked",
                          "a different sha256")
    return workload


def evaluate(task: Task) -> Outcome:
    """Simulate one point (on a worker): the JSON report bytes, or the error as one line."""
    from accelsim.pipeline import simulate_report
    from accelsim.report import report_json

    start = time.perf_counter()
    try:
        workload = _workload(task.workload_path, task.workload_sha256)
        layers = select_layers(workload, task.layers, task.workload_path, "layers",
                               ConfigError)
        report = simulate_report(task.arch, workload, layers, memory_plan=task.memory_plan).report
        return Outcome(task.id, report_json(report), seconds=time.perf_counter() - start)
    except AccelsimError as exc:
        return Outcome(task.id, None, exc.one_line(), seconds=time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - a bug at one point must not end the sweep
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f" at {last.filename.rsplit('/', 1)[-1]}:{last.lineno}"
        message = " ".join(f"internal error: {type(exc).__name__}: {exc}{where}".split())
        return Outcome(task.id, None, message, internal=True,
                       seconds=time.perf_counter() - start)
