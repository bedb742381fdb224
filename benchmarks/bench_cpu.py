"""Benchmark: CPU time of the exact simulation per ResNet-18 layer (A/B runs on a shared machine).

Prints one JSON object: per layer, ``[sim CPU s, MACs, toggle sum, overflows]`` (``--gemm``: also
the plain numba GEMM's CPU s, best of ``--repeat`` alternating with the simulation). Run it from
two checkouts in turn (each on its own ``PYTHONPATH`` and ``NUMBA_CACHE_DIR``) and compare: CPU
time (``time.process_time``) is less disturbed by other processes than wall time, and equal
toggle sums and overflows show both checkouts simulated the same thing.

Usage::

    NUMBA_NUM_THREADS=1 python -m benchmarks.bench_cpu [--dataflow os] [--layers all|quick]
        [--repeat 1] [--gemm]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from accelsim.sim.array import simulate_gemm
from accelsim.workload.lower import lower
from benchmarks.bench_kernels import numba_gemm, operands, spec_for, warm
from benchmarks.resnet18 import QUICK, resnet18_layers


def main(argv: list[str] | None = None) -> None:
    """Time every layer and print the JSON object (exits 1 if the simulation's y is wrong)."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_cpu",
                                description=__doc__.split("\n")[0])
    p.add_argument("--dataflow", choices=("os", "ws", "is"), default="os")
    p.add_argument("--layers", choices=("all", "quick"), default="all")
    p.add_argument("--repeat", type=int, default=1, help="best of this many (default 1)")
    p.add_argument("--gemm", action="store_true", help="also time the plain numba GEMM")
    args = p.parse_args(argv)
    warm(32, [args.dataflow])
    layers, _ = resnet18_layers(0, None if args.layers == "all" else QUICK, False)
    spec = spec_for(args.dataflow, 32)
    out: dict[str, list] = {}
    for layer in layers:
        low = lower(layer)
        x, w = operands(low) if args.gemm else (None, None)
        best_sim = best_gemm = float("inf")
        for _ in range(max(1, args.repeat)):
            if args.gemm:
                t0 = time.process_time()
                y = numba_gemm(x, w)
                best_gemm = min(best_gemm, time.process_time() - t0)
            t0 = time.process_time()
            res = simulate_gemm(low, spec)
            best_sim = min(best_sim, time.process_time() - t0)
            if args.gemm and not np.array_equal(res.y, y):
                raise SystemExit(f"MISMATCH: {low.name}: simulated y differs from the GEMM")
        row = [best_sim, res.macs, int(sum(res.toggles.values())), int(res.overflows)]
        out[low.name] = row + ([best_gemm] if args.gemm else [])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
