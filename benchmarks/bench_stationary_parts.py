"""Benchmark: where the exact ws/is mac kernel spends its time, per simulated MAC, by stream length.

Times the parts of one untraced stationary fold of a 32×32 8-bit mac array
(``accelsim.kernels.sliced_stationary``) on random operands: the multipliers (bit-sliced over
time; packed layout below ``SHORT_T``), the column chain (adders, psum registers and edges,
``accelsim.kernels.column_lanes``), the moving streams' toggles, and the whole stream phase.
CPU time (``time.process_time``), the best of 5 batches; ns per MAC of the fold (rows × cols × T).
ws: unsigned 8-bit x moving, signed 8-bit w stationary; is: the reverse. 32-bit wrapping
accumulator.

Usage::

    NUMBA_NUM_THREADS=1 python -m benchmarks.bench_stationary_parts [--streams 3136,196,64,49]
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import numpy as np

from accelsim.kernels import sliced_stationary as ss
from accelsim.kernels.column_lanes import column_chain
from accelsim.kernels.drivers import stream_toggles
from accelsim.pe.mac_step import MacConsts

#: 8×8 multiplier (x the column operand), 32-bit wrapping accumulator, unsigned x, signed w.
CONSTS = MacConsts(32, (1 << 32) - 1, 1 << 31, False, False, 8, 8, 8, 8, False, True, True)


def per_mac(fn: Callable[[], object], macs: int, reps: int = 4) -> float:
    """Best-of-5 CPU ns per MAC of ``fn`` (after one untimed call)."""
    fn()
    best = float("inf")
    for _ in range(5):
        t = time.process_time()
        for _ in range(reps):
            fn()
        best = min(best, time.process_time() - t)
    return best / reps / macs * 1e9


def parts(T: int, mov_is_x: bool, R: int, C: int, seed: int = 0) -> dict[str, float]:
    """ns/MAC of the parts of one fold with streams of ``T`` cycles."""
    rng = np.random.default_rng(seed)
    if mov_is_x:
        Ht, S = rng.integers(0, 256, (R, T)), rng.integers(-128, 128, (R, C))
    else:
        Ht, S = rng.integers(-128, 128, (R, T)), rng.integers(0, 256, (R, C))
    k = CONSTS
    state = np.zeros((R, C, 4), np.int64)
    psum, mreg = np.zeros((R, C), np.int64), np.zeros((R, C), np.int64)
    out, es, ec = np.zeros((T, C), np.int64), np.zeros(C, np.int64), np.zeros(C, np.int64)
    counts, tally = np.zeros(8, np.int64), np.zeros(3, np.int64)
    tog = stream_toggles(Ht, 255)
    macs = R * C * T
    if T >= ss.SHORT_T:
        mult = per_mac(lambda: ss._mult_stream(k, Ht, S, state, mov_is_x, 8, 8), macs)
    else:
        mult = per_mac(lambda: ss._mult_packed(k, Ht, S, state, mov_is_x, 8, 8), macs)
    return {
        "multipliers": mult,
        "column chain": per_mac(
            lambda: column_chain(k, Ht, S, out, False, psum, state, es, ec, tally), macs),
        "stream toggles": per_mac(lambda: stream_toggles(Ht, 255), macs),
        "stream phase": per_mac(lambda: ss._stream(k, Ht, S, out, False, R, C, mov_is_x, 8, 8,
                                                   tog, mreg, psum, state, es, ec, counts), macs),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", default="3136,196,64,49", help="stream lengths T, comma-separated")
    ap.add_argument("--array", type=int, default=32, help="rows = columns of the array")
    args = ap.parse_args()
    print("| dataflow | T | multipliers | column chain | stream toggles | stream phase |")
    print("|---|---:|---:|---:|---:|---:|")
    for df, mov_is_x in (("ws", True), ("is", False)):
        for T in (int(t) for t in args.streams.split(",")):
            p = parts(T, mov_is_x, args.array, args.array)
            print(f"| {df} | {T} | " + " | ".join(f"{v:.3f}" for v in p.values()) + " |")


if __name__ == "__main__":
    main()
