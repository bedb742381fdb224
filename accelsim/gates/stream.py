"""Operand streams a PE sees on a workload's real layers, sampled (seeded) for gate-level runs.

A *run* is a PE's consecutive enabled cycles in the arch's dataflow: in ``ws`` one PE (k, n)
while ``m`` streams (its psum input is the partial sum over the rows above it in its K-fold), in
``is`` one PE (k, m) while ``n`` streams, in ``os`` one PE (m, n) over successive ``k`` (its
accumulator input is the running sum). Runs are concatenated, so one transition per run boundary
joins two unrelated PEs' streams.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.workload import Layer
from accelsim.workload.lower import lower

#: Cycles per run (at most; a shorter dimension gives shorter runs).
RUN_CYCLES = 64


@dataclass(frozen=True)
class Stream:
    """Operand values per cycle: ``x`` [T], ``w`` [T] (integers) and the adder's accumulator
    input ``acc`` [T] (integer, before wrapping to the accumulator width)."""

    x: np.ndarray
    w: np.ndarray
    acc: np.ndarray


def layer_stream(layer: Layer, dataflow: str, rows: int, cycles: int,
                 rng: np.random.Generator) -> Stream:
    """About ``cycles`` cycles of runs drawn from ``layer`` (see the module docstring)."""
    low = lower(layer)
    xs, ws, accs = [], [], []
    total = 0
    while total < cycles:
        g = int(rng.integers(low.groups))
        if DATAFLOWS[dataflow].holds_outputs:
            m, n = int(rng.integers(low.M)), int(rng.integers(low.N))
            length = min(RUN_CYCLES, low.K, cycles - total)
            k0 = int(rng.integers(low.K - length + 1))
            x = low.x_block(g, m, m + 1, 0, k0 + length)[0]
            w = low.w_block(g, 0, k0 + length, n, n + 1)[:, 0]
            prod = x * w
            acc = np.concatenate([[0], np.cumsum(prod)[:-1]])[k0:]
            x, w = x[k0:], w[k0:]
        else:
            k = int(rng.integers(low.K))
            fold0 = (k // rows) * rows
            stream_dim = low.M if DATAFLOWS[dataflow].holds_w else low.N
            length = min(RUN_CYCLES, stream_dim, cycles - total)
            t0 = int(rng.integers(stream_dim - length + 1))
            if DATAFLOWS[dataflow].holds_w:
                n = int(rng.integers(low.N))
                xb = low.x_block(g, t0, t0 + length, fold0, k + 1)
                wb = low.w_block(g, fold0, k + 1, n, n + 1)[:, 0]
                x, w = xb[:, -1], np.full(length, wb[-1])
                acc = (xb[:, :-1] * wb[None, :-1]).sum(axis=1)
            else:
                m = int(rng.integers(low.M))
                xb = low.x_block(g, m, m + 1, fold0, k + 1)[0]
                wb = low.w_block(g, fold0, k + 1, t0, t0 + length)
                x, w = np.full(length, xb[-1]), wb[-1]
                acc = (xb[:-1, None] * wb[:-1]).sum(axis=0)
        xs.append(x)
        ws.append(w)
        accs.append(acc)
        total += length
    return Stream(*(np.concatenate(a).astype(np.int64) for a in (xs, ws, accs)))


def uniform_stream(x_bits: int, w_bits: int, acc_bits: int, x_signed: bool, w_signed: bool,
                   cycles: int, rng: np.random.Generator) -> Stream:
    """Uniformly random operands and accumulator inputs (the calibration stream)."""
    def draw(bits: int, signed: bool) -> np.ndarray:
        lo = -(1 << (bits - 1)) if signed else 0
        return rng.integers(lo, lo + (1 << bits), size=cycles)

    return Stream(draw(x_bits, x_signed), draw(w_bits, w_signed), draw(acc_bits, True))
