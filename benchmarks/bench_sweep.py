"""Benchmark: the 18-point digits sweep (``sweeps/digits-study.yaml``) three ways, in one run:

1. a sequential loop of ``accelsim run`` processes, one per point (what a user scripts by hand);
2. ``accelsim sweep --workers 0`` semantics: every point in this process, one after the other;
3. ``accelsim sweep`` on an embedded Dask ``LocalCluster`` with N process workers.

Reports wall seconds of each, the sum of the points' own simulation seconds (measured on the
workers), and the per-point overhead of the Dask run: (wall × workers − Σ point seconds) / points.
The sweep tables of (2) and (3) are compared byte for byte (a mismatch exits 1).

Usage::

    python -m benchmarks.bench_sweep [--workers 2] [--sweep sweeps/digits-study.yaml]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _cli_loop(sweep_path: Path, tmp: Path) -> float:
    """Wall seconds of one ``accelsim run`` process per point (arch written as a YAML file)."""
    from accelsim.sweep import load_sweep

    sweep = load_sweep(str(sweep_path))
    start = time.perf_counter()
    for point in sweep.points:
        arch = tmp / f"{point.id}.yaml"
        arch.write_text(yaml.safe_dump(point.arch_doc), encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "accelsim.cli", "run", str(arch),
                               point.workload.path, "--quiet"], capture_output=True)
        if done.returncode != 0:
            sys.exit(f"bench_sweep: accelsim run failed on {point.id}: {done.stderr.decode()}")
    return time.perf_counter() - start


def _sweep(sweep_path: Path, out: Path, workers: int) -> tuple[float, float, int]:
    """(wall seconds, Σ point seconds, points) of run_sweep with ``workers`` (0: in process)."""
    from accelsim.sweep import load_sweep, run_sweep

    seconds = []
    start = time.perf_counter()
    sweep = load_sweep(str(sweep_path))
    run_sweep(sweep, out, workers=workers, done=lambda o: seconds.append(o.seconds))
    return time.perf_counter() - start, sum(seconds), len(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sweep", type=Path, default=REPO / "sweeps" / "digits-study.yaml")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        # Warm numba's cache once so no variant pays the first compile.
        _sweep(args.sweep, tmp / "warm", 0)
        loop = _cli_loop(args.sweep, tmp)
        seq_wall, seq_points, n = _sweep(args.sweep, tmp / "seq", 0)
        dask_wall, dask_points, _ = _sweep(args.sweep, tmp / "dask", args.workers)
        for name in ("results.csv", "results.json", "layers.csv"):
            if (tmp / "seq" / name).read_bytes() != (tmp / "dask" / name).read_bytes():
                print(f"bench_sweep: {name} differs between sequential and Dask runs")
                return 1
    overhead = (dask_wall * args.workers - dask_points) / n
    print(f"sweep: {args.sweep.relative_to(REPO)} ({n} points), machine: {os.cpu_count()} cores")
    print(f"{'variant':<44} {'wall s':>8} {'s/point':>8}")
    print(f"{'loop of accelsim run processes':<44} {loop:8.2f} {loop / n:8.3f}")
    print(f"{'sweep, sequential in one process':<44} {seq_wall:8.2f} {seq_wall / n:8.3f}")
    print(f"{f'sweep, Dask LocalCluster, {args.workers} workers':<44} {dask_wall:8.2f} "
          f"{dask_wall / n:8.3f}")
    print(f"sum of point simulation seconds: sequential {seq_points:.2f}, Dask {dask_points:.2f}")
    print(f"Dask per-point overhead (wall x workers - point seconds) / points: {overhead:.3f} s")
    print(f"speed-up over the loop of processes: {loop / dask_wall:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
