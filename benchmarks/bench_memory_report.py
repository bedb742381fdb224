"""Benchmark: the memory report on ResNet-18 (224×224, batch 1, 21 MAC layers).

For each dataflow's shipped ``arch_configs/<df>-32x32-int8-lpddr4.yaml`` and its int4 twin
(``pe.x_bits = pe.w_bits = 4``, everything else equal), runs ``simulate_memory`` and prints the
run's cycles, stall cycles by cause and DRAM bytes by operand (so the packing's effect shows), and
times, best of ``--repeat``, the whole ``simulate_memory`` against its report statistics alone
(``stats.bandwidth`` + ``stats.stall_causes`` on the finished schedule).

Usage: ``python -m benchmarks.bench_memory_report [--dataflows ws,os,is] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from accelsim.config import load_arch
from accelsim.sim.memory import layer_geometry, plan_run, simulate_memory
from accelsim.sim.memory.dram import DramChannel
from accelsim.sim.memory.scheduler import OPERAND_KEYS, Schedule
from accelsim.sim.memory.stats import CAUSES, bandwidth, stall_causes
from benchmarks.resnet18 import resnet18_layers

ROOT = Path(__file__).resolve().parents[1]


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(arch, layers, repeat: int) -> dict:
    """Figures and timings of one arch on ``layers``."""
    geoms = [layer_geometry(arch, layer) for layer in layers]
    plan = plan_run(arch, geoms)
    results = simulate_memory(arch, geoms, plan=plan)
    sched = Schedule(list(plan.plans), DramChannel(arch.dram), list(plan.alloc_last))
    makespan = sched.run()
    bounds, t = [], 0
    for r in results:
        bounds.append((t, t + r.cycles_total))
        t += r.cycles_total
    stall = sum(r.cycles_stall for r in results)
    return {
        "cycles": sum(r.cycles_total for r in results), "stall": stall,
        "causes": {c: sum(r.stall_by_cause[c] for r in results) for c in CAUSES},
        "bytes": {k: sum(r.dram_bytes_by_operand[k] for r in results) for k in OPERAND_KEYS},
        "simulate s": _best(lambda: simulate_memory(arch, geoms, plan=plan), repeat),
        "stats s": _best(lambda: (bandwidth(sched, bounds), stall_causes(sched, makespan, stall)),
                         repeat),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_memory_report",
                                description=__doc__.split("\n")[0])
    p.add_argument("--dataflows", default="ws,os,is")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    layers, data = resnet18_layers(0, None)
    print(f"# memory report, ResNet-18 224x224 batch 1 ({len(layers)} layers, {data})")
    print("| arch | bits | cycles | stall | " + " | ".join(f"stall {c}" for c in CAUSES) + " | "
          + " | ".join(f"{k} MB" for k in OPERAND_KEYS) + " | simulate_memory s | stats s |")
    print("|---|---:|" + "---:|" * (4 + len(CAUSES) + len(OPERAND_KEYS)))
    for df in (d.strip() for d in args.dataflows.split(",") if d.strip()):
        base = load_arch(ROOT / "arch_configs" / f"{df}-32x32-int8-lpddr4.yaml")
        for bits in (8, 4):
            arch = dataclasses.replace(base, pe=dataclasses.replace(base.pe, x_bits=bits,
                                                                    w_bits=bits))
            m = measure(arch, layers, args.repeat)
            print(f"| {base.name} | {bits} | {m['cycles']:,} | {m['stall']:,} | "
                  + " | ".join(f"{m['causes'][c]:,}" for c in CAUSES) + " | "
                  + " | ".join(f"{m['bytes'][k] / 1e6:.3f}" for k in OPERAND_KEYS)
                  + f" | {m['simulate s']:.2f} | {m['stats s']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
