"""Simulation rate per PE kind, for the command line's work estimate (``accelsim/work.py``).

The trained digits CNN's conv2 (8→16 filters 3×3, stride 2) with its batch repeated ``--repeat``
times, on a 16×16 weight-stationary array of each PE kind (the shipped 16×16 configs; ``mac`` as
their int8 twin), ideal memory, one numba thread; the whole ``simulate_report`` (kernels, check,
energy, report) is timed once after the warm-up. Prints ns per MAC, and for ``pann`` also ns per
stretched step (``mean(max(1, ceil(|w| / adders)))`` steps per MAC).

    NUMBA_NUM_THREADS=1 python -m benchmarks.bench_estimate
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from accelsim.config import load_arch
from accelsim.kernels import warmup
from accelsim.pipeline import simulate_report
from accelsim.work import layer_macs, steps_per_mac

ROOT = Path(__file__).resolve().parents[1]
MAC_16 = (ROOT / "arch_configs" / "ws-16x16-lsqplus-output.yaml").read_text().replace(
    "kind: lsqplus", "kind: mac").replace("  lsqplus: {rescale: output}\n", "").replace(
    "name: ws-16x16-lsqplus-output", "name: ws-16x16-int8")
CASES = (("mac", "digits_int8", None), ("pann", "digits_pann_r1", "ws-16x16-pann.yaml"),
         ("pann", "digits_pann_r2", "ws-16x16-pann.yaml"),
         ("pann", "digits_pann_r4", "ws-16x16-pann.yaml"),
         ("lsqplus", "digits_lsqplus8", "ws-16x16-lsqplus-output.yaml"),
         ("lsqplus", "digits_lsqplus8", "ws-16x16-lsqplus-pe.yaml"))


def _repeated(layer, times: int):
    """The layer with its batch repeated ``times`` times (x and y)."""
    return dataclasses.replace(layer, x=np.concatenate([layer.x] * times),
                               y=np.concatenate([layer.y] * times))


def main() -> None:
    from accelsim.workload import load_workload

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=20, help="batch repetitions (default 20)")
    args = p.parse_args()
    warmup(["mac", "pann", "lsqplus"])
    with tempfile.TemporaryDirectory() as tmp:
        mac_arch = Path(tmp) / "ws-16x16-int8.yaml"
        mac_arch.write_text(MAC_16)
        for kind, name, config in CASES:
            arch = load_arch(str(mac_arch if config is None else ROOT / "arch_configs" / config))
            wl = load_workload(ROOT / "workloads" / f"{name}.npz")
            layer = _repeated(next(lr for lr in wl.layers if lr.name == "conv2"), args.repeat)
            macs = layer_macs(layer)
            start = time.perf_counter()
            run = simulate_report(arch, wl, [layer])
            seconds = time.perf_counter() - start
            assert run.report.total.check == "exact" and run.report.total.macs == macs
            line = (f"{kind:8} {arch.name:26} {name:16} MACs {macs:>11,}  {seconds:7.3f} s  "
                    f"{1e9 * seconds / macs:6.2f} ns/MAC")
            if kind == "pann":
                r = steps_per_mac(layer, arch.pe.params.adders)
                line += f"  steps/MAC {r:.3f}  {1e9 * seconds / macs / r:6.2f} ns/step"
            print(line, flush=True)


if __name__ == "__main__":
    main()
