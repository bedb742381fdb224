"""Memory-report figures from a finished schedule: DRAM bandwidth per operand and stall cycles
by cause (docs/memory.md §5, "What the report says"). NumPy and plain Python, no SimPy.

**Bandwidth** is measured on the bus over each layer's cycles ``[start, end)`` (the interval
``cycles.total`` counts), whichever layer's data it carried, like the bus utilization: a
transfer's bytes are spread evenly over its time on the bus. ``average`` = bytes moved in the
interval / its cycles; ``peak`` = the largest average over fixed windows of
``PEAK_WINDOW_CYCLES`` cycles from the layer's first cycle, the remainder joining the last window
(so windows last W to 2W − 1 cycles, a layer shorter than W is one window, and the average, a
length-weighted mean of the windows, never exceeds the peak).

**Stall attribution.** A step (fold or chunk) that waits from ``t0`` (the previous step's end)
to its start ``t1`` waits for a *blocking transfer*: its own last operand load, or the drain of
the ofmap allocation whose room it reuses, whichever ends later on the bus. Until that transfer
leaves the bus, every cycle is charged to the transfer the bus is serving (FIFO: it is the one
ahead of ours, or ours), to that transfer's layer and cause; cycles after it (the read latency)
and any cycle the bus is idle go to the blocking transfer itself. Causes: ``ifmap``, ``filter``
(reads), ``psum`` (spilled partial sums, read or written), ``ofmap_drain`` (outputs written),
``sram_port`` (a step longer than its compute because an SRAM port is too narrow, charged to the
step's layer). The final writeback after the last step is charged the same way. So a layer whose
output drain holds up the next layer's prefetch is charged for it; per layer the causes need not
sum to its ``cycles.stall``, over a run they do exactly.
"""

from __future__ import annotations

import math

import numpy as np

from accelsim.sim.memory.scheduler import OPERAND_KEYS, Schedule

#: Length of the windows the peak bandwidth is taken over (cycles).
PEAK_WINDOW_CYCLES = 1024

#: Stall causes, in report order.
CAUSES = ("ifmap", "filter", "psum", "ofmap_drain", "sram_port")

_CAUSE_OF = {"ifmap_read": 0, "filter_read": 1, "psum_read": 2, "psum_write": 2, "ofmap_write": 3}


def _key(operand: str, direction: str) -> str:
    return f"{operand}_{direction}"


def bandwidth(sched: Schedule, bounds: list[tuple[int, int]],
              window: int = PEAK_WINDOW_CYCLES) -> list[dict[str, dict[str, float]]]:
    """Per layer ``{"average": {key: B/cycle}, "peak": {key: B/cycle}, "peak_window_cycles":
    window}`` over its cycles ``bounds[l] = (start, end)``, for every key of ``OPERAND_KEYS``
    and ``total``."""
    spans = sched.dram_spans
    index = {k: i for i, k in enumerate(OPERAND_KEYS)}
    kind = np.array([index[_key(s.operand, s.direction)] for s in spans], dtype=np.int64)
    times = np.array([(s.start, s.end) for s in spans], dtype=float).reshape(-1, 2)
    moved_by = np.array([(0, s.bytes) for s in spans], dtype=float).reshape(-1, 2)
    cum = {}
    for key in (*OPERAND_KEYS, "total"):
        chosen = slice(None) if key == "total" else kind == index[key]
        cum[key] = (times[chosen].ravel(), np.cumsum(moved_by[chosen].ravel()))
    out = []
    for a, b in bounds:
        edges = np.append(a + window * np.arange(max(1, (b - a) // window), dtype=float),
                          float(b))
        lengths = np.diff(edges)
        avg, peak = {}, {}
        for key, (knots, moved) in cum.items():
            if b <= a or knots.size == 0:
                avg[key] = peak[key] = 0.0
                continue
            f = np.interp(edges, knots, moved, left=0.0, right=moved[-1])
            avg[key] = float((f[-1] - f[0]) / (b - a))
            peak[key] = float(np.max(np.diff(f) / lengths))
        out.append({"average": avg, "peak": peak, "peak_window_cycles": window})
    return out


def stall_causes(sched: Schedule, makespan: float, stall_total: int) -> list[dict[str, int]]:
    """Stall cycles per layer by cause (module doc), whole cycles that sum to ``stall_total``
    (the run's stall cycles; the float charges are rounded cumulatively, so each is off by less
    than one cycle and the last absorbs the rounding of the run's end to a whole cycle)."""
    names = {n: i for i, n in enumerate(sched.names)}
    charge = np.zeros((len(sched.plans), len(CAUSES)))
    spans = sched.dram_spans
    ends = np.array([s.end for s in spans], dtype=float)

    def bus(a: float, b: float, layer: int, cause: int) -> None:
        """Charge [a, b) to the transfers on the bus, the rest to (layer, cause)."""
        if b <= a:
            return
        covered = 0.0
        j = int(np.searchsorted(ends, a, side="right"))
        while j < len(spans) and spans[j].start < b:
            s = spans[j]
            part = min(s.end, b) - max(s.start, a)
            if part > 0:
                charge[names[s.layer], _CAUSE_OF[_key(s.operand, s.direction)]] += part
                covered += part
            j += 1
        charge[layer, cause] += max(b - a - covered, 0.0)

    steps, latency = sched.steps, sched.dram.read_latency
    prev_end = 0.0
    for i, st in enumerate(steps):
        port = st.duration - st.compute
        charge[st.layer, CAUSES.index("sram_port")] += port
        t0, t1 = prev_end, sched.step_start[i]  # the array waits from the previous step's end
        prev_end = t1 + st.duration
        if t1 - t0 <= 1e-12:
            continue
        ready = sched.ready.at[i] if st.loads else -math.inf
        drain = (sched.drain_end[st.alloc_wait] if st.alloc_new and st.alloc_wait >= 0
                 else -math.inf)
        if st.loads and ready >= drain:
            who = (st.layer, _CAUSE_OF[_key(st.loads[-1][0], "read")])
            block = ready - latency
        else:
            last = steps[sched.alloc_last[st.alloc_wait]] if drain > -math.inf else st
            kind = last.stores[-1][0] if last.stores else "ofmap"
            who, block = (last.layer, _CAUSE_OF[_key(kind, "write")]), drain
        bus(t0, min(t1, block), *who)
        if t1 > block:
            charge[who] += t1 - max(t0, block)
    if steps and makespan > prev_end:
        bus(prev_end, makespan, steps[-1].layer, CAUSES.index("ofmap_drain"))
    return _whole_cycles(charge, stall_total)


def _whole_cycles(charge: np.ndarray, total: int) -> list[dict[str, int]]:
    """Round ``charge`` [layers, causes] to ints summing to ``total`` (cumulative rounding, the
    largest charge last so that it takes the final remainder)."""
    flat = charge.ravel()
    order = list(range(flat.size))
    if flat.size:
        big = int(np.argmax(flat))
        order.remove(big)
        order.append(big)
    out = np.zeros(flat.size, dtype=np.int64)
    done, acc = 0, 0.0
    for n, k in enumerate(order):
        acc += flat[k]
        upto = total if n == len(order) - 1 else min(total, max(done, int(round(acc))))
        out[k] = upto - done
        done = upto
    table = out.reshape(charge.shape)
    return [{c: int(v) for c, v in zip(CAUSES, row)} for row in table]
