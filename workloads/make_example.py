"""Write ``workloads/example_cnn.npz``: a tiny 3-layer CNN with random (untrained) integer weights.

Run from the repository root with the package importable (``pip install -e .`` or
``PYTHONPATH=.``): ``python workloads/make_example.py``. The output is byte-identical on every run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from accelsim.workload import Layer, lower, save_workload

SEED = 2024
OUT = Path(__file__).with_name("example_cnn.npz")


def _layer(name: str, op: str, x: np.ndarray, w: np.ndarray, **conv: object) -> Layer:
    """An unsigned 8-bit x, signed 8-bit w layer with its exact int64 reference output."""
    layer = Layer(name, op, x, w, None, 8, 8, False, True, **conv)
    return Layer(name, op, x, w, lower(layer).reference_y(), 8, 8, False, True, **conv)


def _requantize(y: np.ndarray) -> np.ndarray:
    """ReLU, then the smallest right shift that brings the maximum into [0, 255]."""
    y = np.maximum(y, 0)
    return y >> max(0, int(y.max()).bit_length() - 8)


def main() -> None:
    """Build the three layers from a seeded RNG and save them."""
    rng = np.random.default_rng(SEED)
    x1 = rng.integers(0, 256, (4, 1, 8, 8))
    conv1 = _layer("conv1", "conv2d", x1, rng.integers(-128, 128, (8, 1, 3, 3)), padding=(1, 1))
    w2 = rng.integers(-128, 128, (16, 8, 3, 3))
    conv2 = _layer("conv2", "conv2d", _requantize(conv1.y), w2, stride=(2, 2), padding=(1, 1))
    x3 = _requantize(conv2.y).reshape(4, 256)
    fc = _layer("fc", "linear", x3, rng.integers(-128, 128, (10, 256)))
    source = {
        "generator": "workloads/make_example.py",
        "seed": SEED,
        "trained": False,
        "description": (
            "Random integer weights from numpy.random.default_rng(seed); NOT a trained network. "
            "Each next layer's x is ReLU(y) >> shift, clipped to 8 bits; y is the exact int64 sum."
        ),
    }
    save_workload(OUT, "example_cnn", [conv1, conv2, fc], source)


if __name__ == "__main__":
    main()
