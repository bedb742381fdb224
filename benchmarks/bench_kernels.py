"""Benchmark: ns per simulated MAC with full toggle accounting, against plain integer GEMMs.

For every ResNet-18 layer (224×224, batch 1; ``benchmarks.resnet18``) and dataflow, times
``simulate_gemm`` on the lowered layer (mac PEs, every toggle class counted, no trace) and, in the
same process on the same X [M, K] and W [K, N], a plain ``@njit`` int64 triple-loop GEMM and a
NumPy int64 ``X @ W`` (NumPy's integer matmul never uses BLAS: single thread). The simulation
gathers its im2col blocks itself (that is part of its cost); the baselines get X materialized once,
outside their timers. Every timer takes the best of a few runs (the simulation's first run in a
fresh process also pays its first touches of memory, which varied by up to 1.6× on this
virtual machine). Outputs are compared (a correctness guard: a mismatch exits 1).

Usage::

    python -m benchmarks.bench_kernels [--array 32] [--dataflows os,ws,is] [--layers all|quick]
        [--repeat 3] [--sim-repeat 2]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from typing import Callable

import numba
import numpy as np
from numba import njit

from accelsim.kernels import warmup
from accelsim.sim.array import simulate_gemm
from accelsim.sim.types import ArraySpec, DenseGemm
from accelsim.workload.lower import LoweredLayer, lower
from benchmarks.resnet18 import QUICK, resnet18_layers

#: PE and number formats of ``arch_configs/*-32x32-int8.yaml``: 8-bit operands, 32-bit wrapping
#: accumulator, idle PEs hold their registers; unsigned x, signed w (the layers' signedness).
ACC_BITS = 32
COLUMNS = ("layer", "M", "K", "N", "MACs", "sim s", "gemm s", "numpy s",
           "ns/MAC sim", "ns/MAC gemm", "ns/MAC numpy", "sim/gemm", "sim/numpy")  # fmt: skip


@njit(cache=True, nogil=True)
def gemm_int64(X, W, Y):
    """Plain int64 GEMM ``Y = X @ W`` (X [M, K], W [K, N], Y [M, N]): m, k, n loops, n innermost
    (unit stride, so LLVM vectorizes it)."""
    M, K = X.shape
    N = W.shape[1]
    for m in range(M):
        for n in range(N):
            Y[m, n] = 0
        for k in range(K):
            a = X[m, k]
            for n in range(N):
                Y[m, n] += a * W[k, n]


def spec_for(dataflow: str, size: int) -> ArraySpec:
    """A size×size array of 8-bit mac PEs for unsigned-x, signed-w layers."""
    return ArraySpec(size, size, dataflow, False, 8, 8, ACC_BITS, False, False, True)


def best_of(repeat: int, fn: Callable[[], object]) -> tuple[float, object]:
    """Smallest wall time of ``repeat`` calls (s) and the last call's result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def operands(low: LoweredLayer) -> tuple[np.ndarray, np.ndarray]:
    """The whole im2col X [G, M, K] and W [G, K, N] as contiguous int64 arrays."""
    x = np.stack([low.x_block(g, 0, low.M, 0, low.K) for g in range(low.groups)])
    w = np.stack([low.w_block(g, 0, low.K, 0, low.N) for g in range(low.groups)])
    return x, w


def numba_gemm(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Grouped plain-numba GEMM into a fresh int64 [G, M, N]."""
    y = np.empty((x.shape[0], x.shape[1], w.shape[2]), dtype=np.int64)
    for g in range(x.shape[0]):
        gemm_int64(x[g], w[g], y[g])
    return y


def warm(size: int, dataflows: list[str]) -> dict[str, float]:
    """Compile everything before any timer (STYLE §3); returns the set-up times (s)."""
    t0 = time.perf_counter()
    warmup()
    t1 = time.perf_counter()
    tiny = np.ones((1, 2, 2), dtype=np.int64)
    numba_gemm(tiny, tiny)
    t2 = time.perf_counter()
    for df in dataflows:  # builds the 8×8 multiplier's node table (once per table order)
        simulate_gemm(DenseGemm(tiny, tiny), spec_for(df, size))
    t3 = time.perf_counter()
    return {"accelsim.kernels.warmup()": t1 - t0, "plain GEMM compile": t2 - t1,
            "8x8 multiplier tables": t3 - t2}  # fmt: skip


def bench_layer(low: LoweredLayer, spec: ArraySpec, repeat: int,
                sim_repeat: int) -> dict[str, object]:
    """Time one layer: simulation best of ``sim_repeat``, baselines best of ``repeat``; exits 1
    on a mismatch."""
    x, w = operands(low)
    t_gemm, y_gemm = best_of(repeat, lambda: numba_gemm(x, w))
    t_np, y_np = best_of(repeat, lambda: np.matmul(x, w))
    t_sim, res = best_of(sim_repeat, lambda: simulate_gemm(low, spec, trace=False))
    for what, y in (("plain numba GEMM", y_gemm), ("numpy matmul", y_np)):
        if not np.array_equal(res.y, y):
            bad = int(np.count_nonzero(res.y != y))
            sys.exit(f"MISMATCH: {low.name} ({spec.dataflow}): simulated y differs from the "
                     f"{what} in {bad} of {y.size} outputs")  # fmt: skip
    return {"layer": low.name, "M": low.M, "K": low.K, "N": low.N, "MACs": res.macs,
            "sim s": t_sim, "gemm s": t_gemm, "numpy s": t_np}  # fmt: skip


def row(r: dict[str, object]) -> list[str]:
    """Table cells of a result row (per-MAC figures and ratios derived here)."""
    macs = r["MACs"]
    sim, gemm, npy = r["sim s"], r["gemm s"], r["numpy s"]
    cells = [r["layer"], r["M"], r["K"], r["N"], f"{macs:,}", f"{sim:.3f}", f"{gemm:.4f}",
             f"{npy:.4f}", f"{1e9 * sim / macs:.2f}", f"{1e9 * gemm / macs:.3f}",
             f"{1e9 * npy / macs:.3f}", f"{sim / gemm:.1f}", f"{sim / npy:.1f}"]  # fmt: skip
    return [str(c) for c in cells]


def print_table(rows: list[list[str]]) -> None:
    """A Markdown table (left-aligned first column, numbers right-aligned)."""
    widths = [max(len(r[i]) for r in [list(COLUMNS), *rows]) for i in range(len(COLUMNS))]

    def line(cells: list[str]) -> str:
        out = [c.rjust(wd) if i else c.ljust(wd) for i, (c, wd) in enumerate(zip(cells, widths))]
        return "| " + " | ".join(out) + " |"

    rule = [("-" * (wd + 1) + ":") if i else ("-" * (wd + 2)) for i, wd in enumerate(widths)]
    print(line(list(COLUMNS)))
    print("|" + "|".join(rule) + "|")
    for r in rows:
        print(line(r))


def source_version() -> str:
    """``git describe --always --dirty`` of the checkout holding accelsim, or "unknown"."""
    import accelsim

    folder = os.path.dirname(os.path.abspath(accelsim.__file__))
    try:
        out = subprocess.run(["git", "-C", folder, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; ``--dataflows`` becomes a list."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_kernels", description=__doc__.split("\n")[0]
    )
    p.add_argument("--array", type=int, default=32, help="array rows = cols (default 32)")
    p.add_argument("--dataflows", default="os,ws,is", help="comma-separated (default os,ws,is)")
    p.add_argument("--layers", choices=("all", "quick"), default="all",
                   help="all 21 ResNet-18 MAC layers, or quick: " + ", ".join(QUICK))
    p.add_argument("--repeat", type=int, default=3,
                   help="baselines: best of this many runs (default 3)")  # fmt: skip
    p.add_argument("--sim-repeat", type=int, default=2,
                   help="simulation: best of this many runs (default 2; 1: a fresh process's "
                        "first run, with its first touches of memory)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    p.add_argument("--image", action="store_true",
                   help="conv1 input: scikit-learn's sample photo, if scikit-learn is installed")
    args = p.parse_args(argv)
    args.dataflows = [d.strip() for d in args.dataflows.split(",") if d.strip()]
    bad = [d for d in args.dataflows if d not in ("os", "ws", "is")]
    if bad or not args.dataflows:
        p.error(f"--dataflows: expected names from os, ws, is; got {args.dataflows}")
    if args.array < 1 or args.repeat < 1 or args.sim_repeat < 1:
        p.error("--array, --repeat and --sim-repeat must be >= 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print Markdown tables (per-layer progress goes to stderr)."""
    args = parse_args(argv)
    shown = " ".join(sys.argv[1:] if argv is None else argv)
    layers, data = resnet18_layers(args.seed, None if args.layers == "all" else QUICK, args.image)
    size = f"{args.array}x{args.array}"
    print(f"# accelsim kernel benchmark: ResNet-18 224x224 batch 1, {size} array")
    print(f"command: python -m benchmarks.bench_kernels {shown}".rstrip())
    print(f"date: {datetime.datetime.now().isoformat(timespec='seconds')}; "
          f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs, {platform.platform()}")
    print(f"python {platform.python_version()}, numba {numba.__version__}, "
          f"numpy {np.__version__}; NUMBA_CACHE_DIR={os.environ.get('NUMBA_CACHE_DIR', '(unset)')}")
    print(f"accelsim {source_version()}; data: {data}")
    print(f"x uint8, w int8, {ACC_BITS}-bit wrapping accumulator, idle hold; trace off")
    print(f"timers: simulate_gemm best of {args.sim_repeat} per layer; plain GEMM and numpy "
          f"best of {args.repeat}")
    for what, s in warm(args.array, args.dataflows).items():
        print(f"set-up (not timed below): {what}: {s:.2f} s")
    lowered = [lower(layer) for layer in layers]
    for df in args.dataflows:
        spec = spec_for(df, args.array)
        print(f"\n## dataflow {df}\n")
        results = []
        for low in lowered:
            results.append(bench_layer(low, spec, args.repeat, args.sim_repeat))
            print(f"  {low.name}: {1e9 * results[-1]['sim s'] / results[-1]['MACs']:.2f} ns/MAC",
                  file=sys.stderr, flush=True)
        total = {"layer": f"TOTAL {df}", "M": "", "K": "", "N": ""}
        for key in ("MACs", "sim s", "gemm s", "numpy s"):
            total[key] = sum(r[key] for r in results)
        print_table([row(r) for r in results] + [row(total)])
        sys.stdout.flush()
    print("\nall simulated outputs equal the plain GEMM and numpy outputs")


if __name__ == "__main__":
    main()
