"""Sampled mode against the exact run (``accelsim run --sample``, docs/sampling.md).

For each network: the exact run and sampled runs (``--sample FRACTION``, seeds 0..SEEDS-1) of
the whole network through ``simulate_report`` (kernels, output check, energy, report), each timed
once after the kernels' warm-up; prints per network the wall-time ratio, how many toggle classes
fell inside their 95 % interval, whether the total energy did, and the energy error.

Networks (all built here or shipped; nothing is downloaded): ResNet-18 at 224×224, batch 1, its
21 MAC layers with seeded synthetic data (``benchmarks/resnet18.py``); the trained digits CNN
(``workloads/digits_int8.npz``, 200 images); the example CNN (``workloads/example_cnn.npz``); a
small VGG-style CNN and a small MobileNet-style CNN (depthwise + pointwise convs), both seeded
random, built here.

    NUMBA_NUM_THREADS=1 python -m benchmarks.bench_sample --fraction 0.05 --seeds 3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from accelsim.config import load_arch
from accelsim.kernels import warmup
from accelsim.pipeline import simulate_report
from accelsim.sim.sample import SampleSpec
from accelsim.workload import Layer, load_workload
from benchmarks.resnet18 import resnet18_layers

ROOT = Path(__file__).resolve().parents[1]


def _act(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.clip(np.rint(np.maximum(rng.normal(0, 64, shape), 0)), 0, 255).astype(np.uint8)


def _wts(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.clip(np.rint(rng.normal(0, 40, shape)), -128, 127).astype(np.int8)


def vgg_small(seed: int = 1) -> list[Layer]:
    """Three 3×3 convs (3→32→64→64, 32×32 then 16×16 inputs) and an fc 4096→10, batch 2."""
    rng = np.random.default_rng(seed)
    shapes = (("c1", 3, 32, 32, 1), ("c2", 32, 64, 32, 2), ("c3", 64, 64, 16, 2))
    layers = [Layer(n, "conv2d", _act(rng, (2, ci, hw, hw)), _wts(rng, (co, ci, 3, 3)), None, 8,
                    8, False, True, (s, s), (1, 1)) for n, ci, co, hw, s in shapes]
    layers.append(Layer("fc", "linear", _act(rng, (2, 4096)), _wts(rng, (10, 4096)), None, 8, 8,
                        False, True))
    return layers


def mobilenet_small(seed: int = 2) -> list[Layer]:
    """A stem conv, then two depthwise-separable blocks (depthwise 3×3 with groups = channels,
    pointwise 1×1) on 32×32 → 16×16 inputs, batch 1."""
    rng = np.random.default_rng(seed)

    def conv(name: str, ci: int, co: int, k: int, hw: int, s: int, g: int) -> Layer:
        return Layer(name, "conv2d", _act(rng, (1, ci, hw, hw)), _wts(rng, (co, ci // g, k, k)),
                     None, 8, 8, False, True, (s, s), (k // 2, k // 2), groups=g)

    return [conv("stem", 3, 32, 3, 32, 1, 1), conv("dw1", 32, 32, 3, 32, 2, 32),
            conv("pw1", 32, 64, 1, 16, 1, 1), conv("dw2", 64, 64, 3, 16, 1, 64),
            conv("pw2", 64, 128, 1, 16, 1, 1)]


def _net(name: str, layers: list[Layer]) -> SimpleNamespace:
    """A workload-like object for ``simulate_report`` (no file, no labels)."""
    return SimpleNamespace(name=name, sha256="-", path=name, labels=None, layers=layers)


def networks() -> list[tuple[str, object]]:
    """(name, workload) of the five networks (module doc)."""
    nets = [("resnet18", _net("resnet18", resnet18_layers(0)[0]))]
    for name in ("digits_int8", "example_cnn"):
        nets.append((name, load_workload(ROOT / "workloads" / f"{name}.npz")))
    nets += [("vgg_small", _net("vgg_small", vgg_small())),
             ("mobilenet_small", _net("mobilenet_small", mobilenet_small()))]
    return nets


def measure(arch: object, wl: object, fraction: float, seeds: int) -> dict[str, object]:
    """Exact and sampled runs of one network (module doc)."""
    t0 = time.perf_counter()
    exact = simulate_report(arch, wl, wl.layers).report.total
    t_exact = time.perf_counter() - t0
    rows = []
    for seed in range(seeds):
        t0 = time.perf_counter()
        t = simulate_report(arch, wl, wl.layers, sample=SampleSpec(fraction, seed)).report.total
        wall = time.perf_counter() - t0
        inside = sum(t.toggles_ci95[c][0] <= exact.toggles[c] <= t.toggles_ci95[c][1]
                     for c in exact.toggles)
        e, (lo, hi) = exact.energy_pj["total"], t.energy_ci95_pj
        rows.append({"wall": wall, "inside": inside, "energy_in": lo <= e <= hi,
                     "err": 100 * (t.energy_pj["total"] / e - 1), "half": 50 * (hi - lo) / e,
                     "folds": t.sample["folds_sampled"], "run": t.sample["folds_run"],
                     "cycles_equal": t.cycles == exact.cycles, "check": t.check})
    return {"exact_s": t_exact, "classes": len(exact.toggles), "folds": exact.folds,
            "macs": exact.macs, "runs": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default=str(ROOT / "arch_configs" / "os-32x32-int8.yaml"))
    ap.add_argument("--fraction", type=float, default=0.05)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--nets", default="all", help="comma-separated network names, or all")
    args = ap.parse_args()
    arch = load_arch(args.arch)
    t0 = time.perf_counter()
    warmup([arch.pe.kind])
    print(f"arch {arch.name}; --sample {args.fraction}; seeds 0..{args.seeds - 1}; "
          f"warm-up {time.perf_counter() - t0:.1f} s (not timed below)")
    print("| network | MACs | folds | exact s | sampled s (mean) | speed-up | folds sampled / "
          "run | classes inside 95 % CI (per seed) | energy inside CI | energy error % "
          "(per seed) | CI half-width % | cycles exact | check |")
    print("|---|---:|---:|---:|---:|---:|---|---|---|---|---|---|---|")
    for name, wl in networks():
        if args.nets != "all" and name not in args.nets.split(","):
            continue
        r = measure(arch, wl, args.fraction, args.seeds)
        runs = r["runs"]
        wall = float(np.mean([x["wall"] for x in runs]))
        inside = ", ".join(f"{x['inside']}/{r['classes']}" for x in runs)
        errors = ", ".join(f"{x['err']:+.2f}" for x in runs)
        energy_in = sum(x["energy_in"] for x in runs)
        cycles = "yes" if all(x["cycles_equal"] for x in runs) else "NO"
        print(f"| {name} | {r['macs']:,} | {r['folds']:,} | {r['exact_s']:.1f} | {wall:.2f} | "
              f"{r['exact_s'] / wall:.1f}× | {runs[0]['folds']:,} / {runs[0]['run']:,} | "
              f"{inside} | {energy_in}/{len(runs)} | {errors} | "
              f"{max(x['half'] for x in runs):.2f} | {cycles} | {runs[0]['check']} |",
              flush=True)


if __name__ == "__main__":
    main()
