"""SimPy scheduling of the planned steps: prefetch, compute and writeback processes.

The environment clock is in cycles. Three processes run over the steps of all layers in order:

- ``prefetch`` issues each step's DRAM reads, in step order, as soon as the room each one needs
  in its buffer is free (the step that last used the tile it replaces has ended; the plan's
  ``finalize`` names that step), and a spilled partial-sum read once its ofmap room has drained;
- ``compute`` occupies the array for each step's duration once its operands are resident and,
  for the first step of an ofmap allocation, once the allocation whose room it takes has
  drained; the time it waits is the step's stall;
- ``writeback`` drains each ofmap allocation to DRAM after its last step.

Events: every cross-process condition is a time known in advance (a transfer's end is fixed when
it is requested, a step's end when it starts), so a process waits with one ``timeout`` to that
time, or, if the time is not known yet, on one event fired when it becomes known. That is at most
a few events per step (fold or chunk), never per cycle, burst or MAC.
"""

from __future__ import annotations

from typing import NamedTuple

import simpy

from accelsim.sim.memory.dram import DramChannel
from accelsim.sim.memory.tiling import LayerPlan


#: DRAM traffic by operand and direction (``<operand>_<direction>`` of a ``DramSpan``).
OPERAND_KEYS = ("ifmap_read", "filter_read", "psum_read", "psum_write", "ofmap_write")


class FoldSpan(NamedTuple):
    """One fold on the array: compute start and end (cycles) and the cycles it stalled."""

    layer: str
    fold: int
    start: float
    end: float
    stall: float


class DramSpan(NamedTuple):
    """One DRAM transfer: ``direction`` ``read`` | ``write``; ``operand`` ``ifmap`` | ``filter``
    | ``psum`` | ``ofmap``; bus busy from ``start`` to ``end`` (cycles); ``bytes`` moved."""

    layer: str
    direction: str
    operand: str
    start: float
    end: float
    bytes: int


class Milestones:
    """Numbered instants (step ``i`` done, data ready, allocation drained), each set once."""

    __slots__ = ("env", "at", "_told")

    def __init__(self, env: simpy.Environment, n: int) -> None:
        self.env = env
        self.at: list[float | None] = [None] * n
        self._told: dict[int, simpy.Event] = {}

    def set(self, i: int, t: float) -> None:
        """Milestone ``i`` happens at time ``t`` (>= now)."""
        self.at[i] = t
        ev = self._told.pop(i, None)
        if ev is not None:
            ev.succeed()

    def wait(self, i: int):
        """Generator for ``yield from``: returns once milestone ``i`` (< 0: none) has happened."""
        if i < 0:
            return
        t = self.at[i]
        if t is None:
            ev = self._told.get(i)
            if ev is None:
                ev = self._told[i] = self.env.event()
            yield ev
            t = self.at[i]
        if t > self.env.now:
            yield self.env.timeout(t - self.env.now)


class Schedule:
    """Runs the steps of ``plans`` on one environment and records what happened.

    Attributes after ``run()``: ``step_start`` and ``step_wait`` per step (cycles),
    ``drain_end`` per ofmap allocation, ``dram_spans`` (list of DramSpan), ``layer_dram`` per
    layer ``[read_bytes, write_bytes, row_hits, row_misses, busy_data_cycles]``,
    ``layer_operand_bytes`` per layer ``{OPERAND_KEYS: bytes}``, ``events`` (SimPy events
    processed).
    """

    def __init__(self, plans: list[LayerPlan], dram: DramChannel, alloc_last: list[int],
                 trace: bool = True) -> None:
        self.plans = plans
        self.steps = [s for p in plans for s in p.steps]
        self.names = [p.name for p in plans]
        self.dram = dram
        self.alloc_last = alloc_last
        self.trace = trace
        n = len(self.steps)
        self.step_start = [0.0] * n
        self.step_wait = [0.0] * n
        self.drain_end = [0.0] * len(alloc_last)
        self.dram_spans: list[DramSpan] = []
        self.layer_dram = [[0, 0, 0, 0, 0.0] for _ in plans]
        self.layer_operand_bytes = [dict.fromkeys(OPERAND_KEYS, 0) for _ in plans]
        self.events = 0

    def run(self) -> float:
        """Simulate; returns the makespan (cycles)."""
        env = simpy.Environment()
        n = len(self.steps)
        self.ready = Milestones(env, n)
        self.done = Milestones(env, n)
        self.drained = Milestones(env, len(self.alloc_last))
        env.process(self._prefetch(env))
        env.process(self._compute(env))
        env.process(self._writeback(env))
        step = env.step
        try:
            while True:
                step()
                self.events += 1
        except simpy.core.EmptySchedule:
            pass
        last_compute = self.done.at[-1] if n else 0.0
        return max([last_compute] + self.drain_end)

    def _transfer(self, now: float, layer: int, operand: str, bursts, write: bool) -> float:
        """One DRAM transfer, accounted to ``layer``; returns when the bus finishes it."""
        dram = self.dram
        before = (dram.row_hits, dram.row_misses, dram.busy_data)
        start, end, nbytes = dram.transfer(now, bursts[0], bursts[1], write)
        acc = self.layer_dram[layer]
        acc[1 if write else 0] += nbytes
        acc[2] += dram.row_hits - before[0]
        acc[3] += dram.row_misses - before[1]
        acc[4] += dram.busy_data - before[2]
        self.layer_operand_bytes[layer][f"{operand}_{'write' if write else 'read'}"] += nbytes
        if self.trace and not dram.ideal:
            self.dram_spans.append(DramSpan(self.names[layer], "write" if write else "read",
                                            operand, start, end, nbytes))
        return end

    def _prefetch(self, env: simpy.Environment):
        ready, done, drained = self.ready, self.done, self.drained
        latency = self.dram.read_latency
        for i, st in enumerate(self.steps):
            if not st.loads:
                continue
            for _, _, wait in st.loads:
                if wait is None:  # spilled partial sums: their ofmap room must have drained
                    yield from drained.wait(st.alloc_wait)
                else:
                    yield from done.wait(wait)
            end = env.now
            for buf, bursts, _ in st.loads:
                end = self._transfer(env.now, st.layer, buf, bursts, False)
            ready.set(i, end + latency)

    def _compute(self, env: simpy.Environment):
        ready, done, drained = self.ready, self.done, self.drained
        start, wait = self.step_start, self.step_wait
        for i, st in enumerate(self.steps):
            t0 = env.now
            if st.alloc_new:
                yield from drained.wait(st.alloc_wait)
            if st.loads:
                yield from ready.wait(i)
            now = env.now
            start[i] = now
            wait[i] = now - t0 + (st.duration - st.compute)
            done.set(i, now + st.duration)
            yield env.timeout(st.duration)

    def _writeback(self, env: simpy.Environment):
        done, drained, steps = self.done, self.drained, self.steps
        for a, last in enumerate(self.alloc_last):
            yield from done.wait(last)
            st = steps[last]
            end = env.now
            for kind, bursts in st.stores or ():
                end = self._transfer(env.now, st.layer, kind, bursts, True)
            self.drain_end[a] = end
            drained.set(a, end)

