"""Fixed cost of one stationary kernel call against the cost of one stream element.

Sampled mode (docs/sampling.md) weighs kernel calls against stream elements with
``accelsim.sim.sample_stream.CALL_ELEMENTS``; this measures that ratio on the mac array's
bit-sliced stationary stream (``accelsim.kernels.stream_units.tile_pass``): every K-fold of one
column tile streams a chunk of ``n`` elements, for n = 1 and n = 1 + STEP, and

    per element = (t(1 + STEP) - t(1)) / STEP,   per call = (t(1) - 2 · per element) / 2,

per fold (each fold streams two chunks: one warm-up element, then the chunk), CPU time, one
thread. Run::

    NUMBA_NUM_THREADS=1 python -m benchmarks.bench_call_cost [--rows 32 --cols 32 --repeat 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from accelsim.kernels.stream_units import tile_pass
from accelsim.pe.mac import mac_step_kind
from accelsim.types import ArraySpec

STEP = 64


def per_fold_seconds(R: int, C: int, n: int, folds: int, repeat: int) -> float:
    """Best of ``repeat`` CPU times of one tile pass (``folds`` K-folds, chunks of ``n``
    elements, int8 × int8, 32-bit accumulator), per fold."""
    rng = np.random.default_rng(0)
    spec = ArraySpec(R, C, "ws", False, 8, 8, 32, False, True, True)
    step = mac_step_kind(spec)
    H = rng.integers(-128, 128, (folds * R, n + 1))
    S = rng.integers(-128, 128, (folds * R, C))
    segments = np.array([[0, 1, 0], [1, n + 1, 1]], dtype=np.int64)
    best = float("inf")
    for _ in range(repeat + 1):  # the first run compiles or loads the kernel
        regs = [np.zeros((R, C), dtype=np.int64) for _ in range(2)]
        state = np.zeros((R, C, max(1, step.state_words)), dtype=np.int64)
        edges = [np.zeros(C, dtype=np.int64) for _ in range(2)]
        counts = np.zeros(step.counters, dtype=np.int64)
        out = np.zeros((n + 1, C), dtype=np.int64)
        t = time.process_time()
        tile_pass(step.consts, H, S, 0, C, 0, folds, R, C, True, 8, 8, segments, regs[0],
                  regs[1], state, edges[0], edges[1], out, counts, counts.copy())
        best = min(best, time.process_time() - t)
    return best / folds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--cols", type=int, default=32)
    ap.add_argument("--folds", type=int, default=200, help="K-folds per pass (default 200)")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    short = per_fold_seconds(a.rows, a.cols, 1, a.folds, a.repeat)
    long = per_fold_seconds(a.rows, a.cols, 1 + STEP, a.folds, a.repeat)
    element = (long - short) / STEP
    call = (short - 2 * element) / 2
    print(f"{a.rows}x{a.cols} mac ws, int8, per fold: one call {call * 1e6:.1f} us, one element "
          f"{element * 1e6:.2f} us: a call costs {call / element:.1f} elements")


if __name__ == "__main__":
    main()
