"""The run report (docs/reference/report.md) as one frozen dataclass tree, built from the simulation
results.

Every float is rounded to ``DECIMALS`` places when the tree is built, so the serialized report is
byte-identical for identical inputs. Without a memory result (ideal memory) ``cycles.stall`` is 0,
``cycles.total`` equals ``cycles.compute`` and the ``sram`` / ``dram`` sections are absent; with one
(duck-typed ``MemoryResult``: ``cycles_total``, ``cycles_stall``, ``sram``, ``dram``) they are
filled from it.

Derived energy figures (``docs/energy.md``): ``energy_per_mac_pj`` = energy / MACs;
``energy_per_inference_pj`` = energy / ``inferences`` (the batch size N of the first reported
layer's ``x``, 1 for a ``gemm`` layer); ``power_mw`` = energy / (cycles.total / clock_mhz).

Optional keys (left out of the JSON when they do not apply):

- ``additions`` (int) and ``additions_per_mac`` (PANN's R = additions / MACs, 6 decimals), per
  layer and in ``total``: only when the PE kind counts additions (``pann``: the |w| repeated
  additions of each MAC, ``GemmResult.additions``).
- ``total.accuracy`` = ``{"simulated": float, "exporter": float | null, "samples": int}``: only
  when the workload has ``labels`` and its last layer (the one the predictions are read from,
  ``accelsim.export.host.output_layer``) was simulated. ``simulated`` is the top-1 accuracy of
  the predictions made from the *simulated* outputs of that layer through the workload's host
  stage (``accelsim.export.host.workload_predictions``; ``argmax`` per sample without a host
  graph); ``exporter`` is the manifest's ``accuracy.quantized`` (null if the file has none);
  ``samples`` the number of labels. Under ``accelsim run --chain`` the last layer's inputs, and so
  its outputs, come from the simulated outputs of every earlier layer.
- ``sample``, ``toggles_ci95`` and ``energy_ci95_pj``, per layer and in ``total``: only in a
  sampled run (``accelsim run --sample``, docs/sampling.md). ``sample`` = ``{"fraction", "seed",
  "unit" (layers only: fold | tile | chunk | kfolds), "units_total", "units_simulated",
  "folds_total", "folds_sampled", "folds_run"}``; ``toggles_ci95`` = ``{CLASS: [lo, hi]}``, the 95 % interval of
  each estimated class total (toggles); ``energy_ci95_pj`` = ``[lo, hi]``, that of
  ``energy_pj.total`` (pJ). ``toggles``, ``overflows``, ``additions`` and the energies are then
  estimates; folds, cycles, MACs and memory counts stay exact.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import accelsim
from accelsim.report.memory import layer_sections, total_sections
from accelsim.sim.types import LayerSim

#: Decimal places of every float in the report.
DECIMALS = 6


@dataclass(frozen=True)
class WorkloadInfo:
    """Which workload was run: its manifest name and the SHA-256 of its file (hex)."""

    name: str
    sha256: str


@dataclass(frozen=True)
class Gemm:
    """The layer's GEMM after lowering: ``groups`` × (M×K) · (K×N)."""

    M: int
    K: int
    N: int
    groups: int


@dataclass(frozen=True)
class Accuracy:
    """Top-1 accuracy of the simulated last-layer outputs (``simulated``, a fraction), the
    exporter's figure for the same samples (``exporter``, the manifest's ``accuracy.quantized``,
    None if absent) and the number of labelled ``samples``."""

    simulated: float
    exporter: float | None
    samples: int


@dataclass(frozen=True)
class Cycles:
    """Cycle counts (cycles): ``total`` = ``compute`` + ``stall``; ``compute_active`` ends each fold
    at its last valid register load (docs/datapath.md §5)."""

    total: int
    compute: int
    stall: int
    compute_active: int


@dataclass(frozen=True)
class LayerReport:
    """One layer's figures. ``utilization`` = macs / (rows·cols·cycles.total), a fraction;
    ``energy_pj`` per toggle class plus ``clock``, ``sram``/``dram`` (measured memory only),
    ``leakage`` and ``total`` (pJ); ``energy_per_mac_pj`` (pJ/MAC), ``energy_per_inference_pj``
    (pJ), ``power_mw`` (average, mW); ``sram`` reads/writes (words) and energy (pJ) per buffer,
    ``dram`` traffic and bandwidth, ``stall_cycles_by_cause`` and the on-chip / off-chip energy
    (pJ) and power (mW) split (``accelsim.report.memory``), None (absent from JSON) with ideal
    memory; ``reference`` says where the checked reference came from (``workload`` |
    ``numpy-int64``); ``mapping`` the loop order and chunk that ran and, under ``mapping:
    {policy: auto}``, every candidate's DRAM bytes, cycles and energy (docs/mapping.md), None
    (absent) with ideal memory."""

    name: str
    op: str
    gemm: Gemm
    folds: int
    cycles: Cycles
    utilization: float
    macs: int
    overflows: int
    toggles: dict[str, int]
    energy_pj: dict[str, float]
    energy_per_mac_pj: float
    energy_per_inference_pj: float
    power_mw: float
    check: str
    reference: str
    sram: dict[str, dict[str, Any]] | None = None
    dram: dict[str, Any] | None = None
    additions: int | None = None
    additions_per_mac: float | None = None
    stall_cycles_by_cause: dict[str, int] | None = None
    energy_on_chip_pj: float | None = None
    energy_off_chip_pj: float | None = None
    power_on_chip_mw: float | None = None
    power_off_chip_mw: float | None = None
    mapping: dict[str, Any] | None = None
    sample: dict[str, Any] | None = None
    toggles_ci95: dict[str, list[float]] | None = None
    energy_ci95_pj: list[float] | None = None


@dataclass(frozen=True)
class TotalReport:
    """Sums over the reported layers; ``utilization`` over the summed cycles; ``check`` is
    ``exact`` if every layer is exact, else ``mismatch``; ``inferences`` the batch size the
    per-inference energy divides by; ``accuracy`` see the module doc."""

    folds: int
    cycles: Cycles
    utilization: float
    macs: int
    overflows: int
    toggles: dict[str, int]
    energy_pj: dict[str, float]
    energy_per_mac_pj: float
    energy_per_inference_pj: float
    inferences: int
    power_mw: float
    check: str
    sram: dict[str, dict[str, Any]] | None = None
    dram: dict[str, Any] | None = None
    additions: int | None = None
    additions_per_mac: float | None = None
    accuracy: Accuracy | None = None
    stall_cycles_by_cause: dict[str, int] | None = None
    energy_on_chip_pj: float | None = None
    energy_off_chip_pj: float | None = None
    power_on_chip_mw: float | None = None
    power_off_chip_mw: float | None = None
    sample: dict[str, Any] | None = None
    toggles_ci95: dict[str, list[float]] | None = None
    energy_ci95_pj: list[float] | None = None


#: Optional keys left out of the JSON when None: memory sections (ideal memory: nothing was
#: measured; off-chip figures: no DRAM), PANN's additions (other PE kinds), the accuracy (no
#: labels, or last layer not run), the sampling fields (an exact run).
_OPTIONAL = ("sram", "dram", "additions", "additions_per_mac", "accuracy",
             "stall_cycles_by_cause", "energy_on_chip_pj", "energy_off_chip_pj",
             "power_on_chip_mw", "power_off_chip_mw", "mapping", "sample", "toggles_ci95",
             "energy_ci95_pj")


@dataclass(frozen=True)
class Report:
    """A whole run: version, resolved arch (JSON-ready dict), workload, layers and totals."""

    accelsim_version: str
    arch: dict[str, Any]
    workload: WorkloadInfo
    layers: tuple[LayerReport, ...]
    total: TotalReport
    area_mm2: dict[str, float] | None = None  # optional: accelsim.energy.area.arch_area_mm2

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict of docs/reference/report.md (``sram``/``dram`` only where measured,
        ``area_mm2`` only when given)."""
        doc = dataclasses.asdict(self)
        if doc["area_mm2"] is None:
            del doc["area_mm2"]
        for part in (*doc["layers"], doc["total"]):
            for key in _OPTIONAL:
                if key in part and part[key] is None:
                    del part[key]
        return doc


def _round(value: float) -> float:
    return round(float(value), DECIMALS)


def _utilization(macs: int, pes: int, cycles: int) -> float:
    return _round(macs / (pes * cycles)) if cycles else 0.0


def _sum_maps(maps: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Key-wise sums, keys in order of first appearance."""
    out: dict[str, float] = {}
    for m in maps:
        for key, value in m.items():
            out[key] = out.get(key, 0) + value
    return out


def _per(value: float, count: int) -> float:
    return _round(value / count) if count else 0.0


def power_mw(energy_pj: float, cycles: int, clock_mhz: float) -> float:
    """Average power (mW) of ``energy_pj`` spent over ``cycles`` at ``clock_mhz``:
    pJ · MHz / cycles = µW."""
    return energy_pj * clock_mhz / cycles / 1e3 if cycles else 0.0


def _round_tree(value: Any) -> Any:
    """``value`` with every float (also inside nested dicts) rounded to ``DECIMALS`` places."""
    if isinstance(value, Mapping):
        return {k: _round_tree(v) for k, v in value.items()}
    return _round(value) if isinstance(value, float) else value


def layer_report(sim: LayerSim, energy: Mapping[str, float], pes: int, clock_mhz: float = 500.0,
                 inferences: int = 1, memory: Any = None,
                 sram_pj: Mapping[str, float] | None = None) -> LayerReport:
    """Report of one simulated layer on an array of ``pes`` PEs at ``clock_mhz``, with its energy
    (pJ) and, if given, its memory-system result and the energy of each of its buffers (pJ)."""
    r = sim.result
    total, stall = r.cycles_compute, 0
    if memory is not None:
        total, stall = int(memory.cycles_total), int(memory.cycles_stall)
    cycles = Cycles(total=total, compute=r.cycles_compute, stall=stall,
                    compute_active=r.cycles_active)
    e_total = float(energy.get("total", 0.0))
    additions = None if r.additions is None else int(r.additions)
    return LayerReport(
        name=sim.name,
        op=sim.op,
        gemm=Gemm(M=sim.M, K=sim.K, N=sim.N, groups=sim.groups),
        folds=int(r.folds),
        cycles=cycles,
        utilization=_utilization(r.macs, pes, cycles.total),
        macs=int(r.macs),
        overflows=int(r.overflows),
        toggles={c: int(t) for c, t in r.toggles.items()},
        energy_pj={k: _round(v) for k, v in energy.items()},
        energy_per_mac_pj=_per(e_total, int(r.macs)),
        energy_per_inference_pj=_per(e_total, inferences),
        power_mw=_round(power_mw(e_total, cycles.total, clock_mhz)),
        check=sim.check,
        reference=sim.reference_source,
        **_round_tree(layer_sections(memory, sram_pj, energy, total, clock_mhz)),
        additions=additions,
        additions_per_mac=None if additions is None else _per(additions, int(r.macs)),
        mapping=getattr(memory, "mapping", None),
        **_sampled([sim.sample] if sim.sample is not None else [], e_total, layer=True),
    )


#: Keys of a layer's ``sample`` block that a total sums.
_SAMPLE_COUNTS = ("units_total", "units_simulated", "folds_total", "folds_sampled", "folds_run")


def _sampled(infos: Sequence[Any], e_total: float, layer: bool = False) -> dict[str, Any]:
    """The ``sample``, ``toggles_ci95`` and ``energy_ci95_pj`` fields of sampled layers'
    ``SampleInfo`` (``accelsim.sim.sample``), summed; {} for an exact run. The energy interval
    is centred on the reported ``e_total`` (pJ)."""
    if not infos:
        return {}
    est = infos[0].estimate
    for info in infos[1:]:
        est = est + info.estimate
    half = est.half_width()
    names = infos[0].variables
    first = infos[0]
    block: dict[str, Any] = {"fraction": first.fraction, "seed": first.seed}
    if layer:
        block["unit"] = first.unit
    block.update({k: sum(getattr(i, k) for i in infos) for k in _SAMPLE_COUNTS})
    from accelsim.sim.sample import EXTRA_VARIABLES

    n_cls = len(names) - len(EXTRA_VARIABLES)  # the toggle classes come first
    toggles = {c: [_round(est.total[i] - half[i]), _round(est.total[i] + half[i])]
               for i, c in enumerate(names[:n_cls])}
    e_half = half[names.index("energy_pj")] / 1000.0  # the estimator's energy is in fJ
    return {"sample": block, "toggles_ci95": toggles,
            "energy_ci95_pj": [_round(e_total - e_half), _round(e_total + e_half)]}


def build_report(
    arch: dict[str, Any],
    workload: WorkloadInfo,
    sims: Sequence[LayerSim],
    energies: Sequence[Mapping[str, float]],
    inferences: int = 1,
    memories: Sequence[Any] | None = None,
    accuracy: Accuracy | None = None,
    area_mm2: dict[str, float] | None = None,
    sram_energies: Sequence[Mapping[str, float]] | None = None,
) -> Report:
    """Assemble the report from the resolved arch dict, the simulated layers, their energies (pJ),
    the batch size ``inferences``, optionally each layer's memory-system result, the accuracy
    of the simulated outputs (module doc) and each layer's energy per buffer (pJ;
    ``accelsim.energy.account.sram_buffer_pj``).

    Totals are summed from the unrounded energies, then rounded.
    """
    pes = arch["array"]["rows"] * arch["array"]["cols"]
    clock = float(arch.get("clock_mhz", 500.0))
    mems = list(memories) if memories is not None else [None] * len(sims)
    srams = list(sram_energies) if sram_energies is not None else [None] * len(sims)
    layers = tuple(layer_report(s, e, pes, clock, inferences, m, b)
                   for s, e, m, b in zip(sims, energies, mems, srams, strict=True))
    cycles = Cycles(*(sum(getattr(lr.cycles, f) for lr in layers)
                      for f in ("total", "compute", "stall", "compute_active")))
    macs = sum(lr.macs for lr in layers)
    energy = _sum_maps(energies)
    e_total = float(energy.get("total", 0.0))
    counted = [lr.additions for lr in layers]
    additions = None if not counted or None in counted else sum(counted)
    total = TotalReport(
        folds=sum(lr.folds for lr in layers),
        cycles=cycles,
        utilization=_utilization(macs, pes, cycles.total),
        macs=macs,
        overflows=sum(lr.overflows for lr in layers),
        toggles={c: int(t) for c, t in _sum_maps([lr.toggles for lr in layers]).items()},
        energy_pj={k: _round(v) for k, v in energy.items()},
        energy_per_mac_pj=_per(e_total, macs),
        energy_per_inference_pj=_per(e_total, inferences),
        inferences=inferences,
        power_mw=_round(power_mw(e_total, cycles.total, clock)),
        check="exact" if all(lr.check == "exact" for lr in layers) else "mismatch",
        additions=additions,
        additions_per_mac=None if additions is None else _per(additions, macs),
        accuracy=None if accuracy is None else Accuracy(
            simulated=_round(accuracy.simulated),
            exporter=None if accuracy.exporter is None else _round(accuracy.exporter),
            samples=int(accuracy.samples)),
        **_round_tree(total_sections(
            [layer_sections(m, b, e, lr.cycles.total, clock)
             for m, b, e, lr in zip(mems, srams, energies, layers)],
            energy, [lr.cycles.total for lr in layers], clock)),
        **_sampled([s.sample for s in sims if s.sample is not None], e_total),
    )
    return Report(accelsim.__version__, arch, workload, layers, total, area_mm2)
