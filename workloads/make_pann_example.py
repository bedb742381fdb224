"""Write ``workloads/example_pann.npz``: a tiny 3-layer CNN for ``pe.kind: pann`` arrays, with random
(untrained) weights that are small signed repetition counts (|w| <= 7, 4 bits) and unsigned 8-bit
activations (``quant: {"scheme": "pann"}``, SPEC §4, docs/pann.md).

Run from the repository root with the package importable (``pip install -e .`` or
``PYTHONPATH=.``): ``python workloads/make_pann_example.py``. The output is byte-identical on every
run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from accelsim.workload import Layer, lower, save_workload

SEED = 2025
OUT = Path(__file__).with_name("example_pann.npz")
W_MAX = 7  # largest repetition count |w|
PANN = {"scheme": "pann"}


def _counts(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Signed counts from a rounded Laplace distribution (scale 2), clipped to [-W_MAX, W_MAX]:
    mostly small, many zeros and ±1, like PANN's low-precision weights (but NOT trained)."""
    return np.clip(np.rint(rng.laplace(0.0, 2.0, shape)), -W_MAX, W_MAX).astype(np.int64)


def _layer(name: str, op: str, x: np.ndarray, w: np.ndarray, **conv: object) -> Layer:
    """An unsigned 8-bit x, signed 4-bit w pann layer with its exact int64 reference output."""
    layer = Layer(name, op, x, w, None, 8, 4, False, True, quant=PANN, **conv)
    y = lower(layer).reference_y()
    return Layer(name, op, x, w, y, 8, 4, False, True, quant=PANN, **conv)


def _requantize(y: np.ndarray) -> np.ndarray:
    """ReLU, then the smallest right shift that brings the maximum into [0, 255]."""
    y = np.maximum(y, 0)
    return y >> max(0, int(y.max()).bit_length() - 8)


def main() -> None:
    """Build the three layers from a seeded RNG and save them."""
    rng = np.random.default_rng(SEED)
    x1 = rng.integers(0, 256, (4, 1, 8, 8))
    conv1 = _layer("conv1", "conv2d", x1, _counts(rng, (8, 1, 3, 3)), padding=(1, 1))
    conv2 = _layer("conv2", "conv2d", _requantize(conv1.y), _counts(rng, (16, 8, 3, 3)),
                   stride=(2, 2), padding=(1, 1))
    x3 = _requantize(conv2.y).reshape(4, 256)
    fc = _layer("fc", "linear", x3, _counts(rng, (10, 256)))
    source = {
        "generator": "workloads/make_pann_example.py",
        "seed": SEED,
        "trained": False,
        "description": (
            "Random weights from numpy.random.default_rng(seed): rounded Laplace(0, 2) counts "
            "clipped to [-7, 7]; NOT a trained network. x is unsigned 8-bit; each next layer's x is "
            "ReLU(y) >> shift, clipped to 8 bits; y is the exact int64 sum. For pe.kind pann."
        ),
    }
    save_workload(OUT, "example_pann", [conv1, conv2, fc], source)


if __name__ == "__main__":
    main()
