"""A/B benchmark: the mac kernels of two accelsim checkouts, interleaved on the same machine.

On a shared machine one run of ``bench_kernels`` per checkout mostly measures the load at the
time. This runs the checkouts in alternation — per round and dataflow, a fresh single-thread
worker process per checkout, the starting checkout rotated every round — and reports per
dataflow the median ns/MAC of each checkout and the median of the per-round ratios to the base.
Times are the worker process's CPU time (``time.process_time``), which waiting for a core does
not inflate. Each worker also times the plain numba int64 GEMM of ``bench_kernels`` on the same layers, so
the ratio simulation / GEMM is measured in the same process.

Usage::

    python -m benchmarks.bench_ab --base /work/wt/base [--new .[,OTHER...]] [--rounds 5]
        [--dataflows os,ws,is] [--layers quick|all]

Each checkout runs with its own ``NUMBA_CACHE_DIR`` (``<checkout>/.numba-cache``) and
``NUMBA_NUM_THREADS=1``. The worker is this file run as a script with the checkout first on
``PYTHONPATH``, so it imports that checkout's ``accelsim`` and ``benchmarks``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def cpu_seconds(fn) -> tuple[float, object]:
    """CPU time of one call of ``fn`` (s, this process) and its result."""
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def worker(dataflow: str, layers: str, array: int) -> None:
    """Time ``simulate_gemm`` (once per layer) and the plain GEMM (best of 3) of one dataflow on
    the ResNet-18 layers; print one JSON line {sim_s, gemm_s, macs}."""
    import numpy as np

    from accelsim.kernels import warmup
    from accelsim.sim.array import simulate_gemm
    from accelsim.workload.lower import lower
    from benchmarks.bench_kernels import numba_gemm, operands, spec_for, warm
    from benchmarks.resnet18 import QUICK, resnet18_layers

    warmup()
    warm(array, [dataflow])
    chosen, _ = resnet18_layers(0, None if layers == "all" else QUICK, False)
    spec = spec_for(dataflow, array)
    sim_s = gemm_s = 0.0
    macs = 0
    for low in (lower(layer) for layer in chosen):
        x, w = operands(low)
        gemm = [cpu_seconds(lambda: numba_gemm(x, w)) for _ in range(3)]
        t_sim, res = cpu_seconds(lambda: simulate_gemm(low, spec, trace=False))
        sim_s += t_sim
        gemm_s += min(t for t, _ in gemm)
        y_gemm = gemm[-1][1]
        macs += res.macs
        if not np.array_equal(res.y, y_gemm):
            sys.exit(f"MISMATCH: {low.name} ({dataflow})")
    print(json.dumps({"sim_s": sim_s, "gemm_s": gemm_s, "macs": macs}))


def run_worker(checkout: str, dataflow: str, layers: str, array: int) -> dict[str, float]:
    """One worker process on ``checkout``; its JSON result."""
    env = dict(os.environ, PYTHONPATH=checkout, NUMBA_NUM_THREADS="1",
               NUMBA_CACHE_DIR=os.path.join(checkout, ".numba-cache"))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", dataflow,
                          "--layers", layers, "--array", str(array)],
                         env=env, cwd=checkout, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"worker failed in {checkout} ({dataflow}): {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Interleave the two checkouts and print per-round figures and the medians."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_ab",
                                description=__doc__.split("\n")[0])
    p.add_argument("--base", help="the reference checkout")
    p.add_argument("--new", default=".",
                   help="the checkout(s) under test, comma-separated (default .)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--dataflows", default="os,ws,is")
    p.add_argument("--layers", choices=("quick", "all"), default="quick")
    p.add_argument("--array", type=int, default=32)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.layers, args.array)
        return
    if not args.base:
        p.error("--base is required")
    sides = {"base": os.path.abspath(args.base)}
    for i, path in enumerate(args.new.split(",")):
        sides["new" if i == 0 else f"new{i + 1}"] = os.path.abspath(path)
    dataflows = [d.strip() for d in args.dataflows.split(",") if d.strip()]
    for side in sides.values():  # compile or load each checkout's kernels outside the rounds
        run_worker(side, dataflows[0], "quick", 4)
    names = list(sides)
    runs = {df: {s: [] for s in names} for df in dataflows}
    print("; ".join(f"{s} {path}" for s, path in sides.items())
          + f"; layers {args.layers}; {args.array}x{args.array}; NUMBA_NUM_THREADS=1; CPU time")
    for rnd in range(args.rounds):
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        for df in dataflows:
            for side in order:
                runs[df][side].append(run_worker(sides[side], df, args.layers, args.array))
            cells = [f"{s} {1e9 * runs[df][s][-1]['sim_s'] / runs[df][s][-1]['macs']:.2f}"
                     for s in names]
            print(f"round {rnd + 1} {df} (ns/MAC): " + ", ".join(cells), flush=True)
    print("\n| dataflow | checkout | ns/MAC (median) | / base (median of rounds) | range | / GEMM |")
    print("|---|---|---:|---:|---|---:|")
    for df in dataflows:
        base = runs[df]["base"]
        for s in names:
            mine = runs[df][s]
            ratios = [y["sim_s"] / x["sim_s"] for x, y in zip(base, mine)]
            ns = statistics.median(1e9 * r["sim_s"] / r["macs"] for r in mine)
            vs_gemm = statistics.median(r["sim_s"] / r["gemm_s"] for r in mine)
            print(f"| {df} | {s} | {ns:.2f} | {statistics.median(ratios):.3f} | "
                  f"{min(ratios):.3f}–{max(ratios):.3f} | {vs_gemm:.1f} |")

if __name__ == "__main__":
    main()
