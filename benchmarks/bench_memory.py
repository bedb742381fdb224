"""Benchmark: cost of the memory system (tiling plan + SimPy schedule) on a ResNet-18 run.

For each dataflow, loads the shipped ``arch_configs/<df>-32x32-int8-lpddr4.yaml`` (or ``--arch``),
builds the ``LayerGeometry`` of ResNet-18's 21 MAC layers (224×224, batch 1;
``benchmarks.resnet18``) and times, best of ``--repeat``: the tiling plan (``plan_memory``, NumPy
and Python), the SimPy schedule (``Schedule.run``: prefetch/compute/writeback processes and the
DRAM channel) and their sum (what ``simulate_memory`` costs). It reports SimPy events processed,
steps (folds or re-tiled chunks) and the run's cycles and stall fraction. With ``--kernels`` it
also times the lead's array kernels (``simulate_gemm``, mac PEs, once per layer, after
``kernels.warmup()``) on the same layers' seeded int8 data and prints the memory system's share
of the whole run: memory / (memory + kernels).

Usage: ``python -m benchmarks.bench_memory [--dataflows os,ws,is] [--layers all|quick]
[--kernels] [--repeat 3] [--arch FILE]``
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import simpy

from accelsim.config import load_arch
from accelsim.sim.memory import layer_geometry, plan_memory
from accelsim.sim.memory.scheduler import Schedule
from benchmarks.resnet18 import QUICK, resnet18_layers

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("dataflow", "steps", "SimPy events", "plan s", "SimPy s", "memory s", "kernels s",
           "memory share", "cycles", "stall")


def time_memory(arch, geoms, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` times (s) of the plan and the schedule, and the run's figures."""
    best = {"plan s": float("inf"), "SimPy s": float("inf")}
    for _ in range(repeat):
        t0 = time.perf_counter()
        plans, planner, dram, _ = plan_memory(arch, geoms)
        t1 = time.perf_counter()
        sched = Schedule(plans, dram, [a[1] for a in planner.allocs])
        makespan = sched.run()
        t2 = time.perf_counter()
        best["plan s"] = min(best["plan s"], t1 - t0)
        best["SimPy s"] = min(best["SimPy s"], t2 - t1)
    compute = sum(st.compute for st in sched.steps)
    best.update({"steps": len(sched.steps), "SimPy events": sched.events,
                 "cycles": makespan, "stall": 1 - compute / makespan})
    best["memory s"] = best["plan s"] + best["SimPy s"]
    return best


def time_kernels(arch, layers) -> float:
    """Seconds ``simulate_gemm`` takes on ``layers`` (once each, after warm-up)."""
    from accelsim.kernels import warmup
    from accelsim.sim.layer import array_spec
    from accelsim.sim.array import simulate_gemm
    from accelsim.workload.lower import lower

    warmup()
    tiny = layers[-1]
    simulate_gemm(lower(tiny), array_spec(arch, tiny), kind=arch.pe.kind)  # multiplier tables
    total = 0.0
    for layer in layers:
        low = lower(layer)
        t0 = time.perf_counter()
        simulate_gemm(low, array_spec(arch, layer), kind=arch.pe.kind)
        total += time.perf_counter() - t0
        print(f"  kernels {arch.array.dataflow} {layer.name}: {time.perf_counter() - t0:.2f} s",
              file=sys.stderr, flush=True)
    return total


def print_table(rows: list[dict]) -> None:
    """A Markdown table of the result rows."""
    def cells(r: dict) -> list[str]:
        k = r.get("kernels s")
        share = r["memory s"] / (r["memory s"] + k) if k else None
        return [r["dataflow"], f"{r['steps']:,}", f"{r['SimPy events']:,}", f"{r['plan s']:.3f}",
                f"{r['SimPy s']:.3f}", f"{r['memory s']:.3f}", "—" if k is None else f"{k:.2f}",
                "—" if share is None else f"{100 * share:.1f} %", f"{r['cycles']:,.0f}",
                f"{100 * r['stall']:.1f} %"]
    table = [list(COLUMNS)] + [cells(r) for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(COLUMNS))]
    for n, t in enumerate(table):
        print("| " + " | ".join(c.rjust(w) if i else c.ljust(w)
                                for i, (c, w) in enumerate(zip(t, widths))) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":"
                                 for i, w in enumerate(widths)) + "|")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_memory",
                                description=__doc__.split("\n")[0])
    p.add_argument("--dataflows", default="os,ws,is")
    p.add_argument("--layers", choices=("all", "quick"), default="all")
    p.add_argument("--kernels", action="store_true",
                   help="also time simulate_gemm on the same layers (slow: ~10 s per dataflow)")
    p.add_argument("--repeat", type=int, default=3, help="memory timers: best of (default 3)")
    p.add_argument("--arch", default=None,
                   help="arch file for every dataflow "
                        "(default: arch_configs/<df>-32x32-int8-lpddr4.yaml)")
    args = p.parse_args(argv)
    dataflows = [d.strip() for d in args.dataflows.split(",") if d.strip()]
    layers, data = resnet18_layers(0, None if args.layers == "all" else QUICK)
    shown = " ".join(sys.argv[1:] if argv is None else argv)
    print("# accelsim memory-system benchmark: ResNet-18 224x224 batch 1")
    print(f"command: python -m benchmarks.bench_memory {shown}".rstrip())
    print(f"date: {datetime.datetime.now().isoformat(timespec='seconds')}; machine: "
          f"{platform.machine()}, {os.cpu_count()} logical CPUs, {platform.platform()}")
    print(f"python {platform.python_version()}, simpy {simpy.__version__}, numpy {np.__version__};"
          f" data: {data}; {len(layers)} layers")
    rows = []
    for df in dataflows:
        default = ROOT / "arch_configs" / f"{df}-32x32-int8-lpddr4.yaml"
        path = Path(args.arch) if args.arch else default
        arch = load_arch(path)
        if args.arch:
            arch = dataclasses.replace(arch, array=dataclasses.replace(arch.array, dataflow=df))
        print(f"{df}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        geoms = [layer_geometry(arch, layer) for layer in layers]
        row = {"dataflow": df, **time_memory(arch, geoms, args.repeat)}
        if args.kernels:
            row["kernels s"] = time_kernels(arch, layers)
        rows.append(row)
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
