"""Run a sweep's tasks: on Dask distributed (an embedded ``LocalCluster`` of process workers, or
an existing cluster by address), or sequentially in this process (``workers=0``).

Workers get ``NUMBA_NUM_THREADS=1`` (one simulation per core) and compile or load the kernels once
(:func:`_warm`), so start-up is paid per worker, not per point. Each finished point's report is
written to ``DIR/points/<id>.json`` (with its content key in ``<id>.key``) as it arrives, so
``--resume`` can skip it after an interruption.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from accelsim.sweep.point import Outcome, Task, evaluate

#: Environment of every embedded worker process.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def point_files(out: Path, point_id: str) -> tuple[Path, Path]:
    """``DIR/points/<id>.json`` (the report) and ``DIR/points/<id>.key`` (its content key)."""
    return out / "points" / f"{point_id}.json", out / "points" / f"{point_id}.key"


def resumed(out: Path, task: Task) -> Outcome | None:
    """The stored outcome of ``task`` when its report exists under the same content key."""
    report, key = point_files(out, task.id)
    try:
        if key.read_text(encoding="ascii").strip() == task.key:
            return Outcome(task.id, report.read_bytes(), resumed=True)
    except (OSError, UnicodeDecodeError):
        pass
    return None


def _store(out: Path, task: Task, outcome: Outcome) -> None:
    from accelsim.report import write_atomically

    if outcome.report_json is not None:
        report, key = point_files(out, task.id)
        write_atomically({report: outcome.report_json, key: (task.key + "\n").encode("ascii")})


def _warm(kinds: Sequence[str]) -> None:
    """Compile (or load from numba's cache) the kernels of ``kinds`` in this process."""
    from accelsim.kernels import warmup

    warmup(list(kinds))


def _client(workers: int | None, scheduler: str | None):  # -> (Client, cluster or None)
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        return Client(scheduler, timeout="30s"), None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR, env=WORKER_ENV)
    return Client(cluster), cluster


def run_tasks(tasks: Sequence[Task], out: Path, workers: int | None, scheduler: str | None,
              resume: bool, done: Callable[[Outcome], None]) -> dict[str, Outcome]:
    """Simulate every task; ``done(outcome)`` is called as each point finishes (any order).

    Returns the outcomes by point id. A worker that dies or raises costs only its point (an
    internal-error outcome); the others go on.
    """
    outcomes: dict[str, Outcome] = {}
    todo = []
    for task in tasks:
        stored = resumed(out, task) if resume else None
        if stored is not None:
            outcomes[task.id] = stored
            done(stored)
        else:
            todo.append(task)
    if not todo:
        return outcomes
    by_id = {t.id: t for t in todo}
    kinds = sorted({t.arch.pe.kind for t in todo})

    def finish(outcome: Outcome) -> None:
        _store(out, by_id[outcome.id], outcome)
        outcomes[outcome.id] = outcome
        done(outcome)

    if workers == 0 and scheduler is None:
        _warm(kinds)
        for task in todo:
            finish(evaluate(task))
        return outcomes
    from dask.distributed import as_completed

    client, cluster = _client(workers, scheduler)
    try:
        client.run(_warm, kinds)
        futures = [client.submit(evaluate, t, key=f"accelsim-{t.id}-{t.key[:16]}", pure=False)
                   for t in todo]
        ids = {f.key: t.id for f, t in zip(futures, todo)}
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker costs its point only
                outcome = Outcome(ids[future.key], None, " ".join(
                    f"internal error: worker failed: {type(exc).__name__}: {exc}".split()),
                    internal=True)
            finish(outcome)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return outcomes
