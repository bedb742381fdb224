"""Choosing a layer's mapping (``mapping: {policy: auto}``; docs/mapping.md).

Every legal mapping of the layer (``accelsim.dataflows.mapping.legal_orders`` × the chunk sizes
worth trying, :func:`candidates`) is planned with the same planner as the run and scheduled alone
on a fresh DRAM channel; the one with the least energy — DRAM, SRAM and leakage over its cycles;
the array's toggle energy needs the datapath kernels and is not part of the score — then the
fewest cycles, then the earliest in enumeration order (the fixed mapping first) runs.

Chunk sizes: for one order a larger chunk never moves more DRAM bytes (fewer tile reloads, fewer
halo rows) and never adds preloads, so per order and partial-sum mode only the largest legal chunk
is a candidate: the largest the ifmap/filter slots allow, capped, when the held partial sums scale
with the chunk, by the largest that keeps them resident in an ofmap slot (partial sums stay on
chip) and, as a second candidate, by one step's partial sums (they spill).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from accelsim.dataflows.mapping import Mapping, legal_orders, order_label, psum_group
from accelsim.errors import ConfigError
from accelsim.sim.memory.dram import DramChannel
from accelsim.sim.memory.scheduler import Schedule
from accelsim.sim.memory.tiling import LayerPlan, Planner, nbursts

#: DRAM traffic kinds per candidate, in report order.
OPERANDS = ("ifmap", "filter", "psum", "ofmap")


@dataclass(frozen=True)
class Candidate:
    """One evaluated mapping of a layer: DRAM bytes per operand (``read_bytes`` of ifmap,
    filter and spilled partial sums; ``write_bytes`` of partial sums and outputs), ``cycles``
    (the layer scheduled alone) and ``energy_pj`` (DRAM + SRAM + leakage, pJ)."""

    mapping: Mapping
    psum_mode: str
    runs: int
    read_bytes: dict[str, int]
    write_bytes: dict[str, int]
    cycles: int
    energy_pj: float

    def to_dict(self) -> dict:
        """The report's candidate entry."""
        return {
            "order": order_label(self.mapping.order), "chunk": self.mapping.chunk,
            "psum": self.psum_mode, "runs": self.runs,
            "dram_read_bytes": dict(self.read_bytes), "dram_write_bytes": dict(self.write_bytes),
            "cycles": self.cycles, "energy_pj": round(self.energy_pj, 3),
        }


def candidates(planner: Planner, geom) -> list[Mapping]:
    """Every mapping worth evaluating for ``geom`` (the fixed one first; a mapping that runs the
    same steps in the same order as an earlier one, because the loops it moves have one
    iteration, is left out)."""
    df = planner.df
    t_io, t_nr = planner.chunk_limits(geom)
    out = [planner.fixed(geom)]
    cdim = df.dims(geom.M, geom.K, geom.N)[1]
    slot = planner.slots["ofmap"].slot_bytes
    for order in legal_orders(df):
        if df.holds_outputs or planner.psum_mode(geom, order, t_io) == "resident":
            chunks = [t_io]
        else:
            chunks = [min(t_io, t_nr)]  # partial sums spill (or stream out)
            t_full, c_full = psum_group(df, order)
            if not t_full and slot < math.inf:  # largest chunk keeping them in an ofmap slot
                t_res = int(slot // ((cdim if c_full else min(planner.C, cdim))
                                     * geom.psum_elem_bytes))
                if t_res >= 1:
                    chunks.append(min(t_io, t_res))
        for chunk in chunks:
            m = Mapping(order, chunk)
            if _steps_key(planner, geom, m) not in {_steps_key(planner, geom, o) for o in out}:
                out.append(m)
    return out


def _steps_key(planner: Planner, geom, m: Mapping) -> tuple:
    """Two mappings with the same key run the same steps in the same order: the order with the
    loops of one iteration left out, and the chunk."""
    df = planner.df
    rdim, cdim, T = df.dims(geom.M, geom.K, geom.N)
    trips = {df.rows_dim: -(-rdim // planner.R), df.cols_dim: -(-cdim // planner.C),
             df.time_dim: -(-T // m.chunk)}
    return tuple(d for d in m.order if trips[d] > 1), min(m.chunk, T)


def for_order(planner: Planner, geom, order: tuple[str, ...], chunk: int | None,
              key: str) -> Mapping:
    """The mapping of an override (``mapping.layers.<name>``, named by ``key`` in errors):
    ``chunk`` checked against what the buffers allow, or by default the largest that keeps
    partial sums on chip under ``order``, else the largest allowed.

    Raises
    ------
    ConfigError
        ``chunk`` larger than the buffers allow for this layer and order.
    """
    df = planner.df
    T = df.dims(geom.M, geom.K, geom.N)[2]
    t_io, t_nr = planner.chunk_limits(geom)
    if chunk is None:
        fits = [m.chunk for m in candidates(planner, geom) if m.order == order
                and planner.psum_mode(geom, order, m.chunk) in ("resident", "none")]
        return Mapping(order, max(fits) if fits else min(t_io, t_nr))
    limit = t_io
    if planner.psum_mode(geom, order, min(chunk, T)) not in ("resident", "none"):
        limit = min(t_io, t_nr)
    if chunk > limit:
        raise ConfigError(planner.file, f"{key}.chunk", f"at most {limit} (the largest chunk the "
                          f"buffers hold for layer {geom.name!r} in order {'>'.join(order)})",
                          chunk)
    return Mapping(order, chunk)


def evaluate(arch, planner_args: tuple, geom, mapping: Mapping, tech,
             leak_pw: float | None = None, slots=None) -> Candidate:
    """Plan ``geom`` under ``mapping`` on a fresh planner and schedule it alone (``leak_pw``:
    the machine's total leakage, pW; ``slots``: ``buffer_slots(arch)``; both depend on the arch
    alone, so :func:`choose` computes them once; None: computed here)."""
    from accelsim.energy.account import dram_pj, leakage_pw, sram_pj
    from accelsim.sim.memory.sram import buffer_slots

    leak_pw = leakage_pw(arch)["total"] if leak_pw is None else leak_pw
    slots = buffer_slots(arch) if slots is None else slots
    planner = Planner(*planner_args)
    plan = planner.plan(0, geom, mapping)
    planner.finalize()
    sched = Schedule([plan], DramChannel(arch.dram), [a[1] for a in planner.allocs],
                     trace=False)
    cycles = int(-(-sched.run() // 1))
    read, write = traffic(plan, planner.bb)
    acc = sched.layer_dram[0]
    energy = leak_pw * cycles / (arch.clock_mhz * 1e6)
    if arch.dram is not None:
        energy += dram_pj(tech, {"read_bytes": acc[0], "write_bytes": acc[1],
                                 "activations": acc[3]})
    if arch.buffers is not None:
        energy += sram_pj(arch, tech, plan.sram.report(slots))
    return Candidate(mapping, plan.psum_mode, sum(1 for s in plan.steps if s.first), read,
                     write, cycles, energy)


def traffic(plan: LayerPlan, burst_bytes: int) -> tuple[dict[str, int], dict[str, int]]:
    """DRAM (read, write) bytes per operand of a plan (whole bursts)."""
    read = dict.fromkeys(OPERANDS, 0)
    write = dict.fromkeys(OPERANDS, 0)
    for st in plan.steps:
        for buf, b, _ in st.loads:
            read[buf] += nbursts(b) * burst_bytes
        for kind, b in st.stores or ():
            write[kind] += nbursts(b) * burst_bytes
    return ({k: read[k] for k in ("ifmap", "filter", "psum")},
            {k: write[k] for k in ("psum", "ofmap")})


def choose(arch, planner_args: tuple, geom) -> tuple[Mapping, list[Candidate]]:
    """The mapping ``auto`` runs for ``geom`` and every candidate's figures (enumeration
    order)."""
    from accelsim.energy.account import leakage_pw
    from accelsim.energy.tech import load_tech
    from accelsim.sim.memory.sram import buffer_slots

    tech = load_tech(arch.energy.technology)
    leak_pw, slots = leakage_pw(arch)["total"], buffer_slots(arch)
    probe = Planner(*planner_args)
    cands = [evaluate(arch, planner_args, geom, m, tech, leak_pw, slots)
             for m in candidates(probe, geom)]
    best = min(range(len(cands)),
               key=lambda i: (round(cands[i].energy_pj, 6), cands[i].cycles, i))
    return cands[best].mapping, cands
