"""Write ``workloads/example_lsqplus.npz``: a tiny 3-layer CNN quantized the LSQ+ way (asymmetric
uint8 activations with zero points, int8 weights with per-channel zero points, int32 bias,
per-channel fixed-point multiplier/shift, uint8 outputs), with random (untrained) weights.

Run from the repository root with the package importable (``pip install -e .`` or
``PYTHONPATH=.``): ``python workloads/make_lsqplus_example.py``. The output is byte-identical on
every run. Each layer's ``y`` is the requantized output of docs/lsqplus.md §1, computed by the
NumPy gemmlowp port ``accelsim.pe.lsqplus.reference``; the next layer's ``x`` is that ``y`` and
its ``x_zero_point`` the previous ``y_zero_point``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from accelsim.fixedpoint import quantize_multiplier
from accelsim.pe.lsqplus import reference
from accelsim.workload import Layer, lower, save_workload

SEED = 2025
OUT = Path(__file__).with_name("example_lsqplus.npz")


def _layer(rng: np.random.Generator, name: str, op: str, x: np.ndarray, x_zero: int,
           x_scale: float, w: np.ndarray, w_zero: np.ndarray | int,
           **conv: object) -> tuple[Layer, float]:
    """An lsqplus layer whose output grid covers its real output range; returns it and its
    output scale (the next layer's x scale)."""
    channels = w.shape[0]
    w_scale = rng.uniform(0.002, 0.004, channels)  # real weight = w_scale · (w_q − w_zero)
    bias = rng.integers(-2000, 2000, channels)
    zero_w = np.zeros(channels, dtype=np.int64) + w_zero
    plain = Layer(name, op, x, w, None, 8, 8, False, True, **conv)
    offset = replace(plain, x=x.astype(np.int64) - x_zero,
                     w=w - zero_w.reshape((-1,) + (1,) * (w.ndim - 1)))  # exact offset sums
    acc = lower(offset).reference_y() + bias.reshape((1, -1) + (1,) * (x.ndim - 2))
    real = acc * (x_scale * w_scale).reshape((1, -1) + (1,) * (x.ndim - 2))
    lo, hi = np.percentile(real, 0.5), np.percentile(real, 99.5)
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    y_scale = (hi - lo) / 255
    y_zero = int(np.clip(round(-lo / y_scale), 0, 255))
    pairs = [quantize_multiplier(float(r)) for r in x_scale * w_scale / y_scale]
    quant = {"scheme": "lsqplus", "x_zero_point": x_zero, "w_zero_point": w_zero, "bias": bias,
             "multiplier": np.array([p[0] for p in pairs]),
             "shift": np.array([p[1] for p in pairs]),
             "y_zero_point": y_zero, "y_bits": 8, "y_signed": False}
    layer = replace(plain, quant=quant)
    return replace(layer, y=reference(lower(layer), layer)), y_scale


def main() -> None:
    """Build the three layers from a seeded RNG and save them."""
    rng = np.random.default_rng(SEED)
    x1 = rng.integers(0, 256, (4, 3, 8, 8))
    conv1, s1 = _layer(rng, "conv1", "conv2d", x1, 128, 1 / 128,
                       rng.integers(-128, 128, (8, 3, 3, 3)), rng.integers(-4, 5, 8),
                       padding=(1, 1))
    conv2, s2 = _layer(rng, "conv2", "conv2d", conv1.y, conv1.quant["y_zero_point"], s1,
                       rng.integers(-128, 128, (16, 4, 3, 3)), rng.integers(-4, 5, 16),
                       stride=(2, 2), padding=(1, 1), groups=2)
    fc, _ = _layer(rng, "fc", "linear", conv2.y.reshape(4, 256), conv2.quant["y_zero_point"], s2,
                   rng.integers(-128, 128, (10, 256)), 0)
    source = {
        "generator": "workloads/make_lsqplus_example.py",
        "seed": SEED,
        "trained": False,
        "description": (
            "Random integer weights and inputs from numpy.random.default_rng(seed); NOT a trained "
            "network. LSQ+-style quantization: uint8 activations with zero points, int8 weights "
            "with per-channel zero points (conv1, conv2; fc symmetric), int32 bias, per-channel "
            "multiplier/shift from TFLite's QuantizeMultiplier, output grids fitted to the "
            "0.5-99.5 percentile of each layer's real output. y is the requantized output "
            "(docs/lsqplus.md §1); each next layer's x is the previous y."
        ),
    }
    save_workload(OUT, "example_lsqplus", [conv1, conv2, fc], source)


if __name__ == "__main__":
    main()
