"""Why the fc layer's unit-delay adder ratio is high (docs/gates.md §2): for the uniform
calibration stream and each digits layer's `ws` stream (seed 0, 4096 cycles), the fraction of
opposite-sign additions, the median |psum| and the documented ripple-carry adder's toggles per
operation in zero delay and unit delay.

    PYTHONPATH=. python benchmarks/adder_glitch.py [WORKLOAD.npz]
"""

from __future__ import annotations

import sys

import numpy as np

from accelsim.gates.check import PeFormat, _counts, model_units, unit_inputs
from accelsim.gates.stream import layer_stream, uniform_stream
from accelsim.workload import load_workload


def row(name: str, f: PeFormat, adder, s) -> str:
    b, a, n = s.x * s.w, s.acc, len(s.x)
    inputs = unit_inputs("adder", f, s)
    zero = _counts(adder, inputs, False).sum() / n
    unit = _counts(adder, inputs, True).sum() / n
    opposite = np.mean((a >= 0) != (b >= 0))
    return (f"| {name} | {opposite:.2f} | {np.median(np.abs(a)):.4g} | {zero:.2f} | {unit:.2f} | "
            f"{unit / zero:.2f} |")


def main() -> None:
    wl = load_workload(sys.argv[1] if len(sys.argv) > 1 else "workloads/digits_int8.npz")
    f = PeFormat(8, 8, 32, False, True)
    adder = model_units(f)["adder"]
    print("| stream | opposite-sign a, b | median |psum| | zero delay t/op | unit delay "
          "| glitch x |")
    print(row("uniform", f, adder, uniform_stream(8, 8, 32, False, True, 4096,
                                                  np.random.default_rng(0))))
    rng = np.random.default_rng(0)
    for layer in wl.layers:
        print(row(layer.name, f, adder, layer_stream(layer, "ws", 32, 4096, rng)))


if __name__ == "__main__":
    main()
