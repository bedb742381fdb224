"""The memory system in time (docs/memory.md; docs/memory.md): SRAM buffers, DRAM, SimPy scheduling.

``simulate_memory(arch, layers)`` plans every layer's DRAM↔SRAM traffic from the buffer
capacities (``tiling``; or takes the :class:`MemoryPlan` that ``plan_run`` built when the run
was checked, so a run plans once), then runs prefetch, compute and writeback as SimPy processes
over all layers in order (``scheduler``) against a DRAM channel with banks and row buffers (``dram``). The
array's compute cycles per fold come from the geometry (the kernels' SCALE-Sim count); the memory
system adds the stalls. With neither ``buffers`` nor ``dram`` in the arch, memory is ideal and
``simulate_memory`` returns None.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, replace

import numpy as np

from accelsim.config.schema import Arch
from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.dataflows.mapping import order_label
from accelsim.errors import ConfigError
from accelsim.sim.memory.dram import DramChannel
from accelsim.sim.memory.packing import elem_bytes, packed_bytes
from accelsim.sim.memory.mapping_search import choose, for_order
from accelsim.sim.memory.scheduler import DramSpan, FoldSpan, Schedule
from accelsim.sim.memory.sram import buffer_slots
from accelsim.sim.memory.stats import bandwidth, stall_causes
from accelsim.sim.memory.tiling import LayerPlan, Planner
from accelsim.sim.memory.timeline import TIMELINE_FILES, timeline_files
from accelsim.sim.output import output_bits

__all__ = ["DramSpan", "FoldSpan", "LayerGeometry", "MemoryPlan", "MemoryResult",
           "layer_geometry", "plan_memory", "plan_run", "simulate_memory", "timeline_files",
           "TIMELINE_FILES"]


@dataclass(frozen=True)
class LayerGeometry:
    """One layer as the memory system sees it.

    ``x_bytes_unique``: the ifmap tensor as stored in DRAM (bytes): unpadded (padding is made on
    chip), ``x_elem_bytes`` per element. ``w_bytes``, ``y_bytes``: weights and outputs in DRAM
    (bytes). ``*_elem_bytes``: bytes per element in DRAM and SRAM (``psum_elem_bytes``: a partial
    sum in the ofmap buffer or spilled). ``fold_cycles``: compute cycles of every fold (SCALE-Sim
    convention). ``conv``: ``(N, C, H, W, kh, kw, stride, padding, dilation)`` for conv2d
    (stride/padding/dilation an int or a (rows, cols) pair), else None (X is row-major [M, K]).
    ``y_elem_bytes``: bytes per output element (None: ``y_bytes`` spread over the outputs).
    Byte counts follow the packing rule of ``accelsim.sim.memory.packing``.
    """

    name: str
    dataflow: str
    rows: int
    cols: int
    groups: int
    M: int
    K: int
    N: int
    x_bytes_unique: int
    w_bytes: int
    y_bytes: int
    x_elem_bytes: float
    w_elem_bytes: float
    psum_elem_bytes: float
    fold_cycles: int
    conv: tuple | None
    y_elem_bytes: float | None = None


@dataclass(frozen=True)
class MemoryResult:
    """One layer's memory-system figures.

    ``cycles_total`` (cycles from the end of the previous layer's last fold to the end of this
    one's; the last layer also includes the final writeback) and ``cycles_stall`` = total − the
    layer's compute cycles. ``sram``: ``{buffer: {"reads", "writes", "read_bytes",
    "write_bytes"}}`` (words of the buffer's ``word_bits``; bytes), empty without ``buffers:``.
    ``dram``: ``{"read_bytes", "write_bytes", "row_hits", "row_misses", "activations"}``, empty
    without ``dram:``. ``dram_bandwidth_utilization``: fraction of the layer's cycles the DRAM bus
    spent moving data (any layer's). ``timeline``: the layer's ``FoldSpan``s, then its
    ``DramSpan``s. ``dram_bytes_by_operand``: ``{OPERAND_KEYS: bytes}`` of the layer's
    transfers; ``dram_bandwidth``: ``{"average" | "peak": {OPERAND_KEYS | "total": bytes per
    cycle}, "peak_window_cycles": int}`` on the bus during the layer's cycles;
    ``stall_by_cause``: ``{CAUSES: cycles}`` charged to this layer (``stats``). The last three
    are empty when not measured. ``mapping``: the layer's mapping report entry
    (``mapping_report``).
    """

    cycles_total: int
    cycles_stall: int
    sram: dict[str, dict[str, int]]
    dram: dict[str, int]
    dram_bandwidth_utilization: float
    timeline: list[tuple]
    dram_bytes_by_operand: dict[str, int] = field(default_factory=dict)
    dram_bandwidth: dict = field(default_factory=dict)
    stall_by_cause: dict[str, int] = field(default_factory=dict)
    mapping: dict | None = None


def _check(arch: Arch, layers: list[LayerGeometry], file: str) -> None:
    """Cross-field rules of the memory blocks, and geometry/arch agreement."""
    d = arch.dram
    if d is not None:
        if d.row_bytes % d.burst_bytes:
            raise ConfigError(file, "dram.row_bytes",
                              f"a multiple of dram.burst_bytes = {d.burst_bytes}", d.row_bytes)
        if d.address_mapping == "row_bank_col_xor" and d.banks & (d.banks - 1):
            raise ConfigError(file, "dram.banks",
                              "a power of two (address_mapping row_bank_col_xor)", d.banks)
    a = arch.array
    for g in layers:
        if (g.dataflow, g.rows, g.cols) != (a.dataflow, a.rows, a.cols):
            raise ValueError(f"layer {g.name!r}: geometry is for {g.dataflow} {g.rows}x{g.cols},"
                             f" arch is {a.dataflow} {a.rows}x{a.cols}")


def plan_memory(arch: Arch, layers: list[LayerGeometry], file: str | None = None,
                mappings: list | None = None):
    """Plan every layer's tiles (no simulation): ``(plans, planner, dram channel, choices)``.

    Each layer runs ``mappings[i]`` if given, else its override (``mapping.layers``), else the
    mapping ``arch.mapping.policy`` picks (``mapping_search``; the fixed one without
    ``buffers:``); ``choices[i]`` is the layer's
    list of evaluated candidates (empty when none were searched).

    Raises
    ------
    ConfigError
        A buffer cannot hold even the smallest tile of a fold, an override names no layer of
        ``layers`` or asks for a chunk the buffers cannot hold, or a ``dram`` cross-field rule
        fails (``row_bytes`` not a multiple of ``burst_bytes``; XOR mapping with non-power-of-two
        banks). ``file`` names the arch file in the message (default: the arch's name).
    """
    file = file or arch.name
    _check(arch, layers, file)
    slots = buffer_slots(arch)
    dram = DramChannel(arch.dram)
    double = arch.buffers is None or arch.buffers.double_buffered
    args = (DATAFLOWS[arch.array.dataflow], arch.array.rows, arch.array.cols, slots,
            dram.burst_bytes, dram.row_bytes, double, file)
    planner = Planner(*args)
    auto = arch.mapping.policy == "auto" and arch.buffers is not None
    overrides = dict(arch.mapping.layers.by_name if arch.mapping.layers else ())
    unknown = sorted(set(overrides) - {g.name for g in layers})
    if mappings is None and unknown:
        raise ConfigError(file, f"mapping.layers.{unknown[0]}", "the name of a layer of the "
                          "workload", unknown[0])
    plans, choices = [], []
    for i, g in enumerate(layers):
        chosen, cands = None, []
        if mappings is not None:
            chosen = mappings[i]
        elif g.name in overrides:
            cfg = overrides[g.name]
            chosen = for_order(planner, g, tuple(cfg.order.split(">")), cfg.chunk,
                               f"mapping.layers.{g.name}")
        elif auto:
            chosen, cands = choose(arch, args, g)
        plans.append(planner.plan(i, g, chosen))
        choices.append(cands)
    planner.finalize()
    return plans, planner, dram, choices


@dataclass(frozen=True)
class MemoryPlan:
    """A run's tiling plan, built once (``plan_run``) and handed to ``simulate_memory``.

    ``arch`` and ``geometries``: what it was planned for; ``plans``: one ``LayerPlan`` per layer;
    ``alloc_last``: the last step of every ofmap allocation; ``candidates``: per layer, the
    mappings ``auto`` evaluated (``mapping_search.Candidate``; empty under ``fixed``).
    Scheduling only reads it.
    """

    arch: Arch
    geometries: tuple[LayerGeometry, ...]
    plans: tuple[LayerPlan, ...]
    alloc_last: tuple[int, ...]
    candidates: tuple[tuple, ...] = ()

    @property
    def mappings(self) -> list:
        """The mapping each layer runs (``accelsim.dataflows.mapping.Mapping``)."""
        return [p.mapping for p in self.plans]


def plan_run(arch: Arch, layers: list[LayerGeometry], file: str | None = None,
             mappings: list | None = None) -> MemoryPlan:
    """The :class:`MemoryPlan` of ``layers`` on ``arch`` (``plan_memory``; same errors)."""
    plans, planner, _, choices = plan_memory(arch, layers, file, mappings)
    return MemoryPlan(arch, tuple(layers), tuple(plans), tuple(a[1] for a in planner.allocs),
                      tuple(tuple(c) for c in choices))


def simulate_memory(
    arch: Arch, layers: list[LayerGeometry], file: str | None = None,
    plan: MemoryPlan | None = None,
) -> list[MemoryResult] | None:
    """Simulate the memory system for ``layers`` run in order on ``arch``.

    Parameters
    ----------
    arch : Arch
        The loaded architecture; its ``buffers`` and ``dram`` blocks drive the model.
    layers : list of LayerGeometry
        In execution order.
    file : str, optional
        The arch file, named in configuration errors.
    plan : MemoryPlan, optional
        A plan from ``plan_run``; used when it was made for this ``arch`` and these ``layers``
        (else, e.g. when a PE kind stretched the folds, the layers are planned again).

    Returns
    -------
    list of MemoryResult or None
        One per layer; None when memory is ideal (no ``buffers`` and no ``dram``).
    """
    if arch.buffers is None and arch.dram is None:
        return None
    if plan is None or plan.geometries != tuple(layers) or plan.arch != arch:
        old = plan
        plan = plan_run(arch, layers, file, old.mappings if old is not None else None)
        if old is not None:  # same mappings, re-planned for the stretched folds: same search
            plan = dataclasses.replace(plan, candidates=old.candidates)
    plans = list(plan.plans)
    sched = Schedule(plans, DramChannel(arch.dram), list(plan.alloc_last))
    makespan = sched.run()
    results = _results(arch, plans, sched, makespan, buffer_slots(arch))
    cands = plan.candidates or ((),) * len(plans)
    return [dataclasses.replace(r, mapping=mapping_report(arch, p, c))
            for r, p, c in zip(results, plans, cands)]


def mapping_report(arch: Arch, plan: LayerPlan, candidates: tuple) -> dict:
    """A layer's ``mapping`` report entry: the policy, the mapping that ran (loop order
    outermost first, chunk in stream elements, partial-sum mode, ``runs``: continuous streams,
    each after one preload of the stationary operand in ws/is) and, under ``auto``, every
    candidate's figures."""
    chosen = {"order": order_label(plan.mapping.order), "chunk": plan.mapping.chunk,
              "psum": plan.psum_mode, "runs": sum(1 for s in plan.steps if s.first)}
    overridden = {n for n, _ in (arch.mapping.layers.by_name if arch.mapping.layers else ())}
    policy = arch.mapping.policy if arch.buffers is not None else "fixed"
    out = {"policy": "override" if plan.name in overridden else policy, "chosen": chosen}
    if candidates:
        out["candidates"] = [c.to_dict() for c in candidates]
    return out


def _results(arch: Arch, plans: list[LayerPlan], sched: Schedule, makespan: float,
             slots) -> list[MemoryResult]:
    """Per-layer ``MemoryResult``s from a finished schedule."""
    steps, starts, waits = sched.steps, sched.step_start, sched.step_wait
    bw = arch.dram.bandwidth_bytes_per_cycle if arch.dram is not None else math.inf
    spans = sched.dram_spans
    s_start = np.array([s.start for s in spans])
    s_end = np.array([s.end for s in spans])
    s_data = np.array([s.bytes / bw for s in spans]) if spans else np.zeros(0)
    out, bounds, i, prev_t = [], [], 0, 0
    for li, plan in enumerate(plans):
        folds: list[FoldSpan] = []
        compute = 0
        for st in plan.steps:
            if st.first:
                f_start, f_stall = starts[i], 0.0
            f_stall += waits[i]
            compute += st.compute
            if st.last:
                folds.append(FoldSpan(plan.name, st.fold, f_start, starts[i] + st.duration,
                                      f_stall))
            i += 1
        end = makespan if li == len(plans) - 1 else (starts[i - 1] + steps[i - 1].duration
                                                       if plan.steps else prev_t)
        t_end = max(prev_t, int(math.ceil(end - 1e-9)))
        total = t_end - prev_t
        util = 0.0
        if total > 0 and spans:
            lo, hi = np.maximum(s_start, prev_t), np.minimum(s_end, t_end)
            length = np.maximum(s_end - s_start, 1e-12)
            util = float(np.sum(np.clip(hi - lo, 0, None) / length * s_data) / total)
        acc = sched.layer_dram[li]
        dram = {} if arch.dram is None else {
            "read_bytes": int(acc[0]), "write_bytes": int(acc[1]), "row_hits": int(acc[2]),
            "row_misses": int(acc[3]), "activations": int(acc[3])}
        sram = {} if arch.buffers is None else plan.sram.report(slots)
        timeline = list(folds) + [s for s in spans if s.layer == plan.name]
        out.append(MemoryResult(total, total - compute, sram, dram, min(util, 1.0), timeline))
        bounds.append((prev_t, t_end))
        prev_t = t_end
    causes = stall_causes(sched, makespan, sum(r.cycles_stall for r in out))
    if arch.dram is None:
        return [replace(r, stall_by_cause=c) for r, c in zip(out, causes)]
    return [replace(r, dram_bytes_by_operand=dict(sched.layer_operand_bytes[li]),
                    dram_bandwidth=bw_l, stall_by_cause=c)
            for li, (r, bw_l, c) in enumerate(zip(out, bandwidth(sched, bounds), causes))]


def layer_geometry(arch: Arch, layer) -> LayerGeometry:
    """The ``LayerGeometry`` of a workload ``Layer`` on ``arch`` (one convention, documented in
    docs/memory.md §1): elements of the PE widths stored packed (``packing``: sub-byte widths
    share bytes, wider ones take whole bytes), x at ``x_bits``, w at ``w_bits``; partial sums at
    ``acc_bits``; outputs at the width they leave the chip with (``accelsim.sim.output.
    output_bits``: ``y_bits`` for the lsqplus scheme, the output unit's bits when it requantizes,
    else the accumulator width), packed too; the ifmap unpadded; fold cycles SCALE-Sim's
    ``df.fold_cycles`` (a PE kind that lengthens folds replaces ``fold_cycles``)."""
    df = DATAFLOWS[arch.array.dataflow]
    pe = arch.pe
    y_bits = output_bits(arch, layer)
    x, w = layer.x, layer.w
    conv = None
    if layer.op == "conv2d":
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        (sh, sw), (ph, pw), (dh, dw) = layer.stride, layer.padding, layer.dilation
        ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        groups, M, K, N = layer.groups, n * ho * wo, cg * kh * kw, o // layer.groups
        conv = (n, c, h, wd, kh, kw, (sh, sw), (ph, pw), (dh, dw))
    elif layer.op == "linear":
        groups, (M, K), N = 1, x.shape, w.shape[0]
    else:
        groups, (M, K), N = 1, x.shape, w.shape[1]
    _, _, T = df.dims(M, K, N)
    return LayerGeometry(
        name=layer.name, dataflow=df.name, rows=arch.array.rows, cols=arch.array.cols,
        groups=groups, M=M, K=K, N=N, x_bytes_unique=packed_bytes(x.size, pe.x_bits),
        w_bytes=packed_bytes(w.size, pe.w_bits), y_bytes=packed_bytes(groups * M * N, y_bits),
        x_elem_bytes=elem_bytes(pe.x_bits), w_elem_bytes=elem_bytes(pe.w_bits),
        psum_elem_bytes=elem_bytes(pe.acc_bits),
        fold_cycles=df.fold_cycles(arch.array.rows, arch.array.cols, T), conv=conv,
        y_elem_bytes=elem_bytes(y_bits),
    )
