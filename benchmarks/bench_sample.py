"""Sampled mode against the exact run (``accelsim run --sample``, docs/sampling.md).

For each network: the exact run and sampled runs (``--sample FRACTION``, seeds 0..SEEDS-1) of
the whole network through ``simulate_report`` (kernels, output check, energy, report), each timed
once after the kernels' warm-up and one untimed sampled run; prints per network the CPU-time
ratio, how many toggle classes fell inside their 95 % interval, whether the total energy did,
and the energy error (and its standard deviation over the seeds).

Times are CPU seconds (``time.process_time``) of this process, exact and sampled runs of one
network back to back. Networks (seeded synthetic 8-bit data, built here; nothing is
downloaded): ResNet-18 at 224×224, batch 1, its 21 MAC layers (``benchmarks/resnet18.py``); a
VGG-style CNN at 48×48; a MobileNet-style CNN at 112×112 (depthwise + pointwise); ResNet-50-style
bottleneck blocks at 112×112; a transformer encoder's GEMMs (two blocks, 128 tokens).

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
from accelsim.workload import Layer
from benchmarks.resnet18 import resnet18_layers

ROOT = Path(__file__).resolve().parents[1]


def _act(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.clip(np.rint(np.maximum(rng.normal(0, 64, shape), 0)), 0, 255).astype(np.uint8)


def _wts(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.clip(np.rint(rng.normal(0, 40, shape)), -128, 127).astype(np.int8)


def _conv(rng: np.random.Generator, name: str, ci: int, co: int, k: int, hw: int, s: int,
          g: int = 1) -> Layer:
    """A k×k conv (stride ``s``, same padding, ``g`` groups) on a ``ci``×hw×hw input, batch 1."""
    return Layer(name, "conv2d", _act(rng, (1, ci, hw, hw)), _wts(rng, (co, ci // g, k, k)),
                 None, 8, 8, False, True, (s, s), (k // 2, k // 2), groups=g)


def vgg(seed: int = 1) -> list[Layer]:
    """VGG-style at 48×48: 3×3 convs 3→64→64, 64→128 (stride 2) →128, 128→256 (stride 2)
    →256, then fc 9216→256→10 (stride-2 convs stand for the max-pools); 0.34 GMAC."""
    rng = np.random.default_rng(seed)
    shapes = (("c1", 3, 64, 48, 1), ("c2", 64, 64, 48, 1), ("c3", 64, 128, 48, 2),
              ("c4", 128, 128, 24, 1), ("c5", 128, 256, 24, 2), ("c6", 256, 256, 12, 1))
    layers = [_conv(rng, n, ci, co, 3, hw, s) for n, ci, co, hw, s in shapes]
    layers += [Layer("fc1", "linear", _act(rng, (1, 9216)), _wts(rng, (256, 9216)), None, 8, 8,
                     False, True),
               Layer("fc2", "linear", _act(rng, (1, 256)), _wts(rng, (10, 256)), None, 8, 8,
                     False, True)]
    return layers


def mobilenet(seed: int = 2) -> list[Layer]:
    """MobileNet-style at 112×112: a stem 3×3/2 conv 3→32, then five depthwise-separable blocks
    (depthwise 3×3 with groups = channels, pointwise 1×1), widths 32→64→128→128→256→256."""
    rng = np.random.default_rng(seed)
    layers = [_conv(rng, "stem", 3, 32, 3, 112, 2)]
    blocks = ((32, 64, 56, 1), (64, 128, 56, 2), (128, 128, 28, 1), (128, 256, 28, 2),
              (256, 256, 14, 1))
    for i, (ci, co, hw, s) in enumerate(blocks):
        layers.append(_conv(rng, f"dw{i}", ci, ci, 3, hw, s, g=ci))
        layers.append(_conv(rng, f"pw{i}", ci, co, 1, hw // s, 1))
    return layers


def bottleneck(seed: int = 3) -> list[Layer]:
    """ResNet-50-style bottlenecks at 112×112: a 7×7/2 stem 3→64, then four bottleneck blocks
    (1×1 reduce, 3×3, 1×1 expand, and the first block's 1×1 projection) at 56×56 (64/256 wide)
    and 28×28 (128/512 wide, the first 3×3 with stride 2)."""
    rng = np.random.default_rng(seed)
    layers = [_conv(rng, "stem", 3, 64, 7, 112, 2)]
    for stage, (mid, out, hw, s) in enumerate(((64, 256, 56, 1), (128, 512, 56, 2))):
        cin = 64 if stage == 0 else 256
        for b in range(2):
            pre = f"s{stage}b{b}"
            c_in = cin if b == 0 else out
            size = hw if b == 0 else hw // s
            stride = s if b == 0 else 1
            layers.append(_conv(rng, pre + ".reduce", c_in, mid, 1, size, 1))
            layers.append(_conv(rng, pre + ".conv", mid, mid, 3, size, stride))
            layers.append(_conv(rng, pre + ".expand", mid, out, 1, size // stride, 1))
            if b == 0:
                layers.append(_conv(rng, pre + ".proj", c_in, out, 1, size, stride))
    return layers


def transformer(seed: int = 4) -> list[Layer]:
    """A transformer encoder's GEMMs, 128 tokens, width 384, MLP 1536, two blocks: the q, k, v
    and output projections and the two MLP layers per block (attention scores have no weights
    and are left out)."""
    rng = np.random.default_rng(seed)
    layers = []
    for b in range(2):
        for name, fi, fo in (("q", 384, 384), ("k", 384, 384), ("v", 384, 384),
                             ("o", 384, 384), ("mlp1", 384, 1536), ("mlp2", 1536, 384)):
            layers.append(Layer(f"b{b}.{name}", "linear", _act(rng, (128, fi)),
                                _wts(rng, (fo, fi)), None, 8, 8, False, True))
    return layers


def _net(name: str, layers: list[Layer]) -> SimpleNamespace:
    """A workload-like object for ``simulate_report`` (no file, no labels)."""
    return SimpleNamespace(name=name, sha256="-", path=name, labels=None, layers=layers)


def networks() -> list[tuple[str, object]]:
    """(name, workload) of the five networks (module doc)."""
    return [("resnet18", _net("resnet18", resnet18_layers(0)[0])),
            ("vgg48", _net("vgg48", vgg())), ("mobilenet112", _net("mobilenet112", mobilenet())),
            ("bottleneck112", _net("bottleneck112", bottleneck())),
            ("transformer", _net("transformer", transformer()))]


def measure(arch: object, wl: object, fraction: float, seeds: int) -> dict[str, object]:
    """Exact and sampled runs of one network (module doc), after one untimed sampled run: the
    sampled mode's own kernels (stream units, the preload census) compile or load there, not in
    a timed run."""
    simulate_report(arch, wl, wl.layers, sample=SampleSpec(fraction, 0))
    t0 = time.process_time()
    exact = simulate_report(arch, wl, wl.layers).report.total
    t_exact = time.process_time() - t0
    rows = []
    for seed in range(seeds):
        t0 = time.process_time()
        t = simulate_report(arch, wl, wl.layers, sample=SampleSpec(fraction, seed)).report.total
        wall = time.process_time() - t0
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
    t0 = time.process_time()
    warmup([arch.pe.kind])
    print(f"arch {arch.name}; --sample {args.fraction}; seeds 0..{args.seeds - 1}; "
          f"warm-up {time.process_time() - t0:.1f} s (not timed below)")
    print("| network | MACs | folds | exact CPU s | sampled CPU s (mean) | speed-up | "
          "folds sampled / run | classes inside 95 % CI (per seed) | energy inside CI | "
          "energy error % (per seed) | its standard deviation % | CI half-width % | "
          "cycles exact | check |")
    print("|---|---:|---:|---:|---:|---:|---|---|---|---|---:|---|---|---|")
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
              f"{np.std([x['err'] for x in runs]):.2f} | "
              f"{max(x['half'] for x in runs):.2f} | {cycles} | {runs[0]['check']} |",
              flush=True)


if __name__ == "__main__":
    main()
