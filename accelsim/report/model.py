"""The run report (SPEC §7) as one frozen dataclass tree, built from the simulation results.

Every float is rounded to ``DECIMALS`` places when the tree is built, so the serialized report is
byte-identical for identical inputs. Memory is ideal for now: ``cycles.stall`` is 0 and
``cycles.total`` equals ``cycles.compute``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import accelsim
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
    ``energy_pj`` per toggle class plus ``clock``, ``leakage`` and ``total`` (pJ); ``reference``
    says where the checked reference came from (``workload`` | ``numpy-int64``)."""

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
    check: str
    reference: str


@dataclass(frozen=True)
class TotalReport:
    """Sums over the reported layers; ``utilization`` over the summed cycles; ``check`` is
    ``exact`` if every layer is exact, else ``mismatch``."""

    folds: int
    cycles: Cycles
    utilization: float
    macs: int
    overflows: int
    toggles: dict[str, int]
    energy_pj: dict[str, float]
    check: str


@dataclass(frozen=True)
class Report:
    """A whole run: version, resolved arch (JSON-ready dict), workload, layers and totals."""

    accelsim_version: str
    arch: dict[str, Any]
    workload: WorkloadInfo
    layers: tuple[LayerReport, ...]
    total: TotalReport

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict of SPEC §7."""
        return dataclasses.asdict(self)


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


def layer_report(sim: LayerSim, energy: Mapping[str, float], pes: int) -> LayerReport:
    """Report of one simulated layer on an array of ``pes`` PEs, with its energy (pJ)."""
    r = sim.result
    cycles = Cycles(total=r.cycles_compute, compute=r.cycles_compute, stall=0,
                    compute_active=r.cycles_active)
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
        check=sim.check,
        reference=sim.reference_source,
    )


def build_report(
    arch: dict[str, Any],
    workload: WorkloadInfo,
    sims: Sequence[LayerSim],
    energies: Sequence[Mapping[str, float]],
) -> Report:
    """Assemble the report from the resolved arch dict, the simulated layers and their energies
    (pJ).

    Totals are summed from the unrounded energies, then rounded.
    """
    pes = arch["array"]["rows"] * arch["array"]["cols"]
    layers = tuple(layer_report(s, e, pes) for s, e in zip(sims, energies, strict=True))
    cycles = Cycles(*(sum(getattr(lr.cycles, f) for lr in layers)
                      for f in ("total", "compute", "stall", "compute_active")))
    macs = sum(lr.macs for lr in layers)
    total = TotalReport(
        folds=sum(lr.folds for lr in layers),
        cycles=cycles,
        utilization=_utilization(macs, pes, cycles.total),
        macs=macs,
        overflows=sum(lr.overflows for lr in layers),
        toggles={c: int(t) for c, t in _sum_maps([lr.toggles for lr in layers]).items()},
        energy_pj={k: _round(v) for k, v in _sum_maps(energies).items()},
        check="exact" if all(lr.check == "exact" for lr in layers) else "mismatch",
    )
    return Report(accelsim.__version__, arch, workload, layers, total)
