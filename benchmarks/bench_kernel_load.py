"""Benchmark: what loading the cached numba kernels costs in a fresh process, split into importing
``accelsim.kernels.bits``, numba's initialisation (the first cached load, ``mult_table``), then
either the old up-front warm-up of every mac specialisation followed by the README example's
simulation (``warmup``) or the simulation alone, loading only what it calls (``lazy``, what
``accelsim run`` does now). Arch, workload and calibration are loaded first, untimed.

Usage (numba's cache warm)::

    python -m benchmarks.bench_kernel_load warmup
    python -m benchmarks.bench_kernel_load lazy
"""

from __future__ import annotations

import sys
import time


def main(mode: str) -> int:
    from accelsim.config import load_arch
    from accelsim.energy import calibration
    from accelsim.pipeline import simulate_report
    from accelsim.workload import load_workload

    arch = load_arch("arch_configs/ws-32x32-int8.yaml")
    workload = load_workload("workloads/example_cnn.npz")
    calibration(arch.energy.technology)
    t0 = time.perf_counter()
    from accelsim.kernels.bits import mult_table

    t1 = time.perf_counter()
    mult_table(2, 2, False, False, 4, False)
    t2 = time.perf_counter()
    if mode == "warmup":
        from accelsim.kernels import warmup

        warmup(["mac"])
    t3 = time.perf_counter()
    simulate_report(arch, workload, workload.layers)
    t4 = time.perf_counter()
    print(f"{mode}: import bits {t1 - t0:.3f} s, numba init (first cached load) {t2 - t1:.3f} s, "
          f"warm-up {t3 - t2:.3f} s, simulate {t4 - t3:.3f} s, total {t4 - t0:.3f} s")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] not in (["warmup"], ["lazy"]):
        sys.exit("usage: python -m benchmarks.bench_kernel_load warmup|lazy")
    sys.exit(main(sys.argv[1]))
