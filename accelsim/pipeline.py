"""The run pipeline: load and check → simulate every layer (optionally chained through the host
stage) → schedule memory → account energy → build the report. No printing here: ``accelsim.cli``
presents the result; a sweep can call :func:`simulate_report` directly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from accelsim.config import Arch
from accelsim.errors import WorkloadError
from accelsim.sim.types import LayerSim
from accelsim.workload import Layer, Workload


@dataclass(frozen=True)
class CheckedRun:
    """An arch loaded and checked against a run's layers, with the run's memory plan
    (``accelsim.sim.memory.MemoryPlan``; None when memory is ideal), so that the run plans its
    memory once: pass it to :func:`simulate_report`."""

    arch: Arch
    memory_plan: Any | None


def check_run(arch_path: str, workload: Workload, layers: Sequence[Layer]) -> CheckedRun:
    """Load an arch, check every layer fits it, that its technology table prices it and that its
    buffers hold the layers' tiles (by planning the memory traffic); all before any simulation
    (AccelsimError otherwise)."""
    from accelsim.config import load_arch

    arch = load_arch(arch_path)
    return CheckedRun(arch, check_arch(arch, workload, layers, arch_path))


def check_arch(arch: Arch, workload: Workload, layers: Sequence[Layer], arch_file: str) -> Any:
    """Check that every layer fits ``arch``, its technology table prices it and its buffers hold
    a tile (AccelsimError otherwise; buffer problems name ``arch_file``); return the memory plan
    (None when memory is ideal)."""
    from accelsim.energy import class_toggle_pj
    from accelsim.energy.account import kind_classes
    from accelsim.sim.layer import check_layer
    from accelsim.sim.memory import layer_geometry, plan_run
    from accelsim.sim.output import extra_classes

    for layer in layers:
        check_layer(arch, layer, workload.path)
    class_toggle_pj(arch, kind_classes(arch) + extra_classes(arch))  # loads, calibrates
    if arch.buffers is None and arch.dram is None:
        return None
    return plan_run(arch, [layer_geometry(arch, layer) for layer in layers], arch_file)


def host_graph(workload: Workload, layers: Sequence[Layer], chain: bool) -> dict[str, Any] | None:
    """The workload's host graph (``source.graph``), checked; None when it has none.

    Raises WorkloadError before any simulation: ``chain`` without a graph or without every layer,
    or a graph that is not a valid host graph for the workload.
    """
    from accelsim.export import host

    graph = workload.source.get("graph")
    if graph is None:
        if chain:
            raise WorkloadError(workload.path, "--chain", "an exported workload whose manifest "
                                "holds the integer host stage between layers (source.graph, "
                                "written by accelsim export)", "no source.graph")
        return None
    if chain and len(layers) != len(workload.layers):
        raise WorkloadError(workload.path, "--chain", "every layer (a chained run feeds each "
                            "layer from the ones before it; drop --layers)",
                            ",".join(layer.name for layer in layers))
    try:
        host.check_graph(graph, [layer.name for layer in workload.layers])
        host.output_layer(workload.source, workload.layers)
    except (ValueError, KeyError, TypeError) as exc:
        raise WorkloadError(workload.path, "manifest.source.graph",
                            "a host graph as accelsim export writes it (docs/export.md)",
                            str(exc)) from None
    return graph


def simulate_layers(arch: Arch, layers: Sequence[Layer], trace: bool = False,
                    graph: dict[str, Any] | None = None, file: str = "",
                    on_layer: Callable[[str], None] | None = None,
                    progress: Callable[[int], None] | None = None,
                    mappings: Sequence[Any] | None = None,
                    sample: Any | None = None) -> list[LayerSim]:
    """Simulate every layer; ``on_layer(name)`` is called before each, ``progress(n)`` per folds.
    ``mappings``: per layer, the ``accelsim.dataflows.mapping.Mapping`` to run (a memory plan's
    ``mappings``; None: the fixed mapping). With ``sample`` (``accelsim.sim.sample.SampleSpec``)
    each layer is simulated on a sample of its folds, in the fixed mapping's order
    (``check_sampling`` refuses other mappings), and its totals estimated (docs/sampling.md).

    With a host ``graph`` (``--chain``) the layers run in graph order and every layer after the
    first takes its ``x`` from the host stage applied to the simulated outputs of the earlier
    layers (:func:`_chained`); the results are returned in ``layers`` order either way.
    """
    from accelsim.sim.layer import simulate_layer
    from accelsim.sim.sample import simulate_layer_sampled

    by_name = {}
    if mappings is not None:
        by_name = {layer.name: (m.order, m.chunk) for layer, m in zip(layers, mappings)}

    def simulate(layer: Layer) -> LayerSim:
        if on_layer is not None:
            on_layer(layer.name)
        if sample is not None:
            return simulate_layer_sampled(arch, layer, sample, progress=progress, file=file)
        return simulate_layer(arch, layer, trace=trace, progress=progress,
                              mapping=by_name.get(layer.name))

    if graph is None:
        return [simulate(layer) for layer in layers]
    return _chained(graph, layers, simulate, file)


def _chained(graph: dict[str, Any], layers: Sequence[Layer],
             simulate: Callable[[Layer], LayerSim], file: str) -> list[LayerSim]:
    """The chained run: :func:`accelsim.export.host.run_chained` with the simulator as the array.

    Each layer keeps the file's ``y`` as its reference, so the check says whether the accelerator,
    fed by its own earlier outputs, still produces the exporter's integers.
    """
    from accelsim.export import host
    from accelsim.workload.npz import value_range

    by_name = {layer.name: layer for layer in layers}
    sims: dict[str, Any] = {}

    def compute(stub: Any, x: Any) -> Any:
        layer = dataclasses.replace(by_name[stub.name], x=x)
        lo, hi = value_range(layer.x_bits, layer.x_signed)
        if x.size and (int(x.min()) < lo or int(x.max()) > hi):
            raise WorkloadError(file, f"--chain: layers[{layer.name!r}].x", f"chained inputs in "
                                f"the declared range [{lo}, {hi}] (an earlier layer's outputs "
                                f"differ from the reference)", f"[{int(x.min())}, {int(x.max())}]")
        sims[layer.name] = simulate(layer)
        return sims[layer.name].y

    host.run_chained(graph, layers, compute)
    return [sims[layer.name] for layer in layers]


def simulate_memory(arch: Arch, layers: Sequence[Layer], sims: Sequence[LayerSim],
                    plan: Any | None = None) -> list[Any] | None:
    """Schedule the layers' folds against the SRAM/DRAM model (None when memory is ideal),
    with ``plan`` (:class:`CheckedRun`'s ``memory_plan``) when it still fits the layers.

    A PE kind whose folds are longer than SCALE-Sim's (pann) hands the scheduler its mean fold
    length (and so is planned again); the stall cycles are then approximate and
    ``cycles.total`` = compute + stall.
    """
    from accelsim.sim import memory

    if arch.buffers is None and arch.dram is None:
        return None
    geoms = []
    for i, (layer, sim) in enumerate(zip(layers, sims)):
        geom = memory.layer_geometry(arch, layer)
        r = sim.result
        if r.cycles_compute != _planned_compute(plan, i, geom, r.folds):
            geom = dataclasses.replace(geom, fold_cycles=-(-r.cycles_compute // r.folds))
        geoms.append(geom)
    memories = memory.simulate_memory(arch, geoms, plan=plan)
    return [dataclasses.replace(m, cycles_total=s.result.cycles_compute + m.cycles_stall)
            for m, s in zip(memories, sims)]


def _planned_compute(plan: Any | None, i: int, geom: Any, folds: int) -> int:
    """Compute cycles the memory plan gives layer ``i`` (one fold window per run: SCALE-Sim's
    count under the fixed mapping); ``folds`` × the fold window without a plan."""
    if plan is None or i >= len(plan.plans) or plan.geometries[i] != geom:
        return folds * geom.fold_cycles
    return sum(st.compute for st in plan.plans[i].steps)


def accuracy(workload: Workload, sims: Sequence[LayerSim]) -> Any:
    """Top-1 accuracy of the simulated outputs of the workload's last layer
    (:class:`accelsim.report.Accuracy`), or None without labels or when that layer was not
    simulated."""
    import numpy as np

    from accelsim.export import host
    from accelsim.report import Accuracy

    if workload.labels is None:
        return None
    last = host.output_layer(workload.source, workload.layers)
    sim = next((s for s in sims if s.name == last), None)
    if sim is None:
        return None
    pred = host.workload_predictions(workload.source, workload.layers, sim.y)
    acc = workload.accuracy
    exporter = acc.get("quantized") if isinstance(acc, dict) else None
    if isinstance(exporter, bool) or not isinstance(exporter, (int, float)):
        exporter = None
    return Accuracy(simulated=float(np.mean(pred == workload.labels)), exporter=exporter,
                    samples=int(len(workload.labels)))


def inferences(layers: Sequence[Layer]) -> int:
    """Inferences in a run: the batch size N of the first layer's x (conv2d, linear); a gemm
    layer counts as one inference."""
    first = layers[0]
    return 1 if first.op == "gemm" else int(first.x.shape[0])


@dataclass(frozen=True)
class RunResult:
    """A simulated run: the report, each layer's simulation and memory result (None: ideal)."""

    report: Any
    sims: list[LayerSim]
    memories: list[Any] | None


def simulate_report(arch: Arch, workload: Workload, layers: Sequence[Layer], trace: bool = False,
                    graph: dict[str, Any] | None = None,
                    on_layer: Callable[[str], None] | None = None,
                    progress: Callable[[int], None] | None = None,
                    memory_plan: Any | None = None, sample: Any | None = None) -> RunResult:
    """Simulate ``layers`` on ``arch`` (chained through the host ``graph`` if given; on a sample
    of their folds with ``sample``, a ``SampleSpec``), schedule their memory traffic (with
    :func:`check_run`'s ``memory_plan`` if given, else planned here), account their energy and
    build the report (with the accuracy when the workload has labels)."""
    from accelsim.config import arch_to_dict
    from accelsim.energy import energy_pj
    from accelsim.energy.account import sram_buffer_pj
    from accelsim.energy.area import report_area_mm2
    from accelsim.report import WorkloadInfo, build_report

    if memory_plan is None and (arch.buffers is not None or arch.dram is not None):
        from accelsim.sim.memory import layer_geometry, plan_run

        memory_plan = plan_run(arch, [layer_geometry(arch, layer) for layer in layers])
    sims = simulate_layers(arch, layers, trace=trace, graph=graph, file=workload.path,
                           on_layer=on_layer, progress=progress,
                           mappings=memory_plan.mappings if memory_plan is not None else None,
                           sample=sample)
    memories = simulate_memory(arch, layers, sims, memory_plan)
    mems = memories or [None] * len(sims)
    energies = [energy_pj(arch, s, m) for s, m in zip(sims, mems)]
    report = build_report(arch_to_dict(arch), WorkloadInfo(workload.name, workload.sha256),
                          sims, energies, inferences=inferences(layers), memories=memories,
                          accuracy=accuracy(workload, sims), area_mm2=report_area_mm2(arch),
                          sram_energies=[sram_buffer_pj(arch, m) for m in mems])
    return RunResult(report, sims, memories)
