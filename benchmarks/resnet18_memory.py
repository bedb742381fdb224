"""Benchmark: ResNet-18 on os/ws/is × 16×16/32×32 at equal SRAM, mapping ``fixed`` vs ``auto``.

Each configuration is a shipped ``arch_configs/{df}-{n}x{n}-int8-lpddr4.yaml`` (three 256 KiB
buffers, one LPDDR4-3200 x32 die), with ``pe.x_bits``/``w_bits`` set to the precision and
``mapping.policy`` to the policy. The layers are ``benchmarks.resnet18``'s (224×224, batch 1,
seeded random data); int4 clips them to unsigned 4-bit x and signed 4-bit w. Every layer is
simulated in full (kernels, memory schedule, energy), as ``accelsim run`` does.

Output: one CSV row per (config, precision, policy) with energy (µJ), cycles (total, compute,
stall), DRAM MB per operand (ifmap / filter / psum read, psum / ofmap write) and the outputs'
check; a markdown table of the same on stdout (``--memory-only``: no kernels, energy without the
array's toggles and clock, compute cycles from the plan, check ``not run``); and, with
``--choices``, the mapping ``auto`` chose per layer for each configuration.

Usage: ``python -m benchmarks.resnet18_memory [--layers all|quick|NAME,...] [--dataflows os,ws,is]
[--sizes 16,32] [--bits 8,4] [--csv FILE] [--choices FILE] [--memory-only]``
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from accelsim.config import load_arch
from accelsim.config.schema import MappingConfig
from accelsim.energy import energy_pj
from accelsim.pipeline import simulate_layers, simulate_memory
from accelsim.energy.account import dram_pj, leakage_pw, sram_pj
from accelsim.energy.tech import load_tech
from accelsim.sim import memory
from accelsim.sim.memory import layer_geometry, plan_run
from accelsim.sim.memory.mapping_search import traffic
from benchmarks.resnet18 import QUICK, resnet18_layers

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ("config", "bits", "policy", "layers", "energy_uj", "cycles_total", "cycles_compute",
           "cycles_stall", "dram_ifmap_mb", "dram_filter_mb", "dram_psum_read_mb",
           "dram_psum_write_mb", "dram_ofmap_mb", "check", "seconds")


def at_bits(layers: list, bits: int) -> list:
    """The layers with x clipped to unsigned ``bits`` and w to signed ``bits``."""
    if bits == 8:
        return layers
    hi = (1 << bits) - 1
    lo_w, hi_w = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return [dataclasses.replace(layer, x=np.minimum(layer.x, hi).astype(np.uint8),
                                w=np.clip(layer.w, lo_w, hi_w).astype(np.int8), x_bits=bits,
                                w_bits=bits) for layer in layers]


def run(df: str, size: int, bits: int, policy: str, layers: list,
        memory_only: bool = False) -> tuple[dict, list]:
    """One configuration: (CSV row, per-layer (name, mapping report)). ``memory_only``: no
    kernels; energy is DRAM + SRAM + leakage and compute cycles are the plan's."""
    arch = load_arch(ROOT / "arch_configs" / f"{df}-{size}x{size}-int8-lpddr4.yaml")
    arch = dataclasses.replace(arch, pe=dataclasses.replace(arch.pe, x_bits=bits, w_bits=bits),
                               mapping=MappingConfig(policy=policy))
    t0 = time.perf_counter()
    geoms = [layer_geometry(arch, layer) for layer in layers]
    plan = plan_run(arch, geoms)
    if memory_only:
        memories = memory.simulate_memory(arch, geoms, plan=plan)
        tech = load_tech(arch.energy.technology)
        energy = sum(dram_pj(tech, m.dram) + sram_pj(arch, tech, m.sram)
                     + leakage_pw(arch)["total"] * m.cycles_total / (arch.clock_mhz * 1e6)
                     for m in memories)
        compute = sum(st.compute for p in plan.plans for st in p.steps)
        names, check = [g.name for g in geoms], "not run"
    else:
        sims = simulate_layers(arch, layers, mappings=plan.mappings)
        memories = simulate_memory(arch, layers, sims, plan)
        energy = sum(energy_pj(arch, s, m)["total"] for s, m in zip(sims, memories))
        compute = sum(s.result.cycles_compute for s in sims)
        names = [s.name for s in sims]
        check = "exact" if all(s.check == "exact" for s in sims) else "mismatch"
    seconds = time.perf_counter() - t0
    bb = arch.dram.burst_bytes
    read = {"ifmap": 0, "filter": 0, "psum": 0}
    write = {"psum": 0, "ofmap": 0}
    for p in plan.plans:
        r, w = traffic(p, bb)
        for k in read:
            read[k] += r[k]
        for k in write:
            write[k] += w[k]
    row = {
        "config": f"{df}-{size}x{size}", "bits": bits, "policy": policy, "layers": len(layers),
        "energy_uj": round(energy / 1e6, 3),
        "cycles_total": sum(m.cycles_total for m in memories),
        "cycles_compute": compute,
        "cycles_stall": sum(m.cycles_stall for m in memories),
        "dram_ifmap_mb": round(read["ifmap"] / 1e6, 3),
        "dram_filter_mb": round(read["filter"] / 1e6, 3),
        "dram_psum_read_mb": round(read["psum"] / 1e6, 3),
        "dram_psum_write_mb": round(write["psum"] / 1e6, 3),
        "dram_ofmap_mb": round(write["ofmap"] / 1e6, 3),
        "check": check,
        "seconds": round(seconds, 1),
    }
    return row, [(n, m.mapping) for n, m in zip(names, memories)]


def markdown(rows: list[dict]) -> str:
    """The rows as a markdown table."""
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    out += ["| " + " | ".join(str(r[c]) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(out)


def choices_markdown(config: str, choices: list) -> str:
    """Per layer: the mapping that ran, and the fixed mapping's and the chosen one's figures."""
    out = [f"### {config}", "", "| layer | chosen | chunk | psum | runs | fixed DRAM MB | chosen "
           "DRAM MB | fixed cycles | chosen cycles |",
           "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for name, m in choices:
        c = m["chosen"]
        cands = m.get("candidates", [])
        mine = next(x for x in cands if (x["order"], x["chunk"]) == (c["order"], c["chunk"]))
        fixed = cands[0]

        def mb(x: dict) -> float:
            return round((sum(x["dram_read_bytes"].values())
                          + sum(x["dram_write_bytes"].values())) / 1e6, 3)
        out.append(f"| {name} | {c['order']} | {c['chunk']} | {c['psum']} | {c['runs']} | "
                   f"{mb(fixed)} | {mb(mine)} | {fixed['cycles']} | {mine['cycles']} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", default="all")
    ap.add_argument("--dataflows", default="os,ws,is")
    ap.add_argument("--sizes", default="16,32")
    ap.add_argument("--bits", default="8,4")
    ap.add_argument("--csv", type=Path)
    ap.add_argument("--choices", type=Path)
    ap.add_argument("--memory-only", action="store_true",
                    help="no kernels: energy = DRAM + SRAM + leakage, fast on all 21 layers")
    args = ap.parse_args(argv)
    names = None if args.layers == "all" else (QUICK if args.layers == "quick"
                                               else tuple(args.layers.split(",")))
    base, _ = resnet18_layers(names=names)
    rows, chosen = [], []
    for bits in (int(b) for b in args.bits.split(",")):
        layers = at_bits(base, bits)
        for size in (int(s) for s in args.sizes.split(",")):
            for df in args.dataflows.split(","):
                for policy in ("fixed", "auto"):
                    row, per_layer = run(df, size, bits, policy, layers, args.memory_only)
                    rows.append(row)
                    print(",".join(str(row[c]) for c in COLUMNS), file=sys.stderr, flush=True)
                    if policy == "auto":
                        chosen.append(choices_markdown(f"{df}-{size}x{size} int{bits}",
                                                       per_layer))
    if args.csv:
        with open(args.csv, "w", newline="") as fh:
            w = csv.DictWriter(fh, COLUMNS)
            w.writeheader()
            w.writerows(rows)
    if args.choices:
        args.choices.write_text("\n\n".join(chosen) + "\n")
    print(markdown(rows))


if __name__ == "__main__":
    main()
