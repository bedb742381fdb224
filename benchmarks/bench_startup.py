"""Benchmark: start-up cost of the command line, each figure the median of N fresh processes.

1. ``python -m accelsim.cli --help``;
2. arch loading: a process that imports ``accelsim.config`` and loads the shipped
   ``arch_configs/ws-32x32-int8.yaml``, minus a bare ``python -c pass`` (the import and load
   time itself; also printed is the in-process ``time.perf_counter`` figure);
3. ``accelsim inspect arch_configs/ws-32x32-int8.yaml`` (calibration cache warm);
4. ``accelsim run arch_configs/ws-32x32-int8.yaml workloads/example_cnn.npz`` warm (numba's
   cache and the calibration cache filled by an untimed first run), the README's example;
5. the same run with the calibration cache off (``ACCELSIM_CACHE_DIR=``), to show what the cache
   saves.

Wall seconds per process, and CPU seconds (user + system of the child), which a shared machine
disturbs less. The calibration cache is a fresh temp folder (``ACCELSIM_CACHE_DIR``); numba's
cache is whatever ``NUMBA_CACHE_DIR`` names (default: next to the package). ``--repo DIR`` times
another checkout of accelsim (e.g. an older commit unpacked with ``git archive``) with the same
commands; ``--python EXE`` another interpreter (e.g. the venv the README's set-up creates, which
has no SciPy: numba imports SciPy, when present, to probe for BLAS, ~0.2 s).
``PYTHONDONTWRITEBYTECODE`` is removed from the children's environment: Python's default (and a
user's shell) caches bytecode; without it every run recompiles accelsim's modules (~0.1 s).

Usage::

    python -m benchmarks.bench_startup [--repeat 7] [--repo DIR] [--python EXE]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ARCH = "arch_configs/ws-32x32-int8.yaml"
WORKLOAD = "workloads/example_cnn.npz"
LOAD = ("import time; t = time.perf_counter(); from accelsim.config import load_arch; "
        f"load_arch({ARCH!r}); print(time.perf_counter() - t)")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _seconds(argv: list[str], env: dict[str, str], repo: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds of one process and its stdout (it must exit 0)."""
    cpu, start = _cpu(), time.perf_counter()
    done = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench_startup: {' '.join(argv)} failed: {done.stderr.strip()}")
    return wall, _cpu() - cpu, done.stdout


def _median(argv: list[str], env: dict[str, str], repeat: int, repo: Path
            ) -> tuple[float, float, float]:
    """(median wall, min wall, median CPU) seconds over ``repeat`` processes."""
    runs = [_seconds(argv, env, repo) for _ in range(repeat)]
    walls = [r[0] for r in runs]
    return statistics.median(walls), min(walls), statistics.median(r[1] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="the accelsim checkout to time (default: this one)")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter to time (default: this one)")
    args = parser.parse_args()
    repo, n = args.repo.resolve(), args.repeat
    py = args.python
    cli = [py, "-m", "accelsim.cli"]
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTHONPATH": str(repo), "ACCELSIM_CACHE_DIR": cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        scipy = subprocess.run([py, "-c", "import scipy"], capture_output=True).returncode == 0
        _seconds([*cli, "run", ARCH, WORKLOAD, "--quiet"], env, repo)  # fill the caches
        rows = [("python -c pass", _median([py, "-c", "pass"], env, n, repo))]
        rows.append(("import accelsim.config + load_arch", _median([py, "-c", LOAD], env, n,
                                                                  repo)))
        inner = statistics.median(float(_seconds([py, "-c", LOAD], env, repo)[2])
                                  for _ in range(n))
        rows.append(("accelsim --help", _median([*cli, "--help"], env, n, repo)))
        rows.append(("accelsim inspect ARCH", _median([*cli, "inspect", ARCH], env, n, repo)))
        rows.append(("accelsim run ARCH WORKLOAD (warm)",
                     _median([*cli, "run", ARCH, WORKLOAD], env, n, repo)))
        off = {**env, "ACCELSIM_CACHE_DIR": ""}
        rows.append(("  the same, calibration cache off",
                     _median([*cli, "run", ARCH, WORKLOAD], off, n, repo)))
    print(f"{repo} with {py} (SciPy {'installed' if scipy else 'absent'}): median of {n} "
          f"processes; ARCH = {ARCH}, WORKLOAD = {WORKLOAD}; "
          f"{os.cpu_count()} cores, load average {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after")
    print(f"{'command':<40} {'wall s':>7} {'min s':>7} {'CPU s':>7}")
    for name, (wall, low, cpu) in rows:
        print(f"{name:<40} {wall:7.3f} {low:7.3f} {cpu:7.3f}")
    print(f"arch loading: {rows[1][1][0] - rows[0][1][0]:.3f} s wall over a bare interpreter; "
          f"{inner:.3f} s measured inside the process (import + load)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
