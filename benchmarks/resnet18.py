"""ResNet-18's conv and linear layers at 224×224, batch 1, as accelsim ``Layer`` objects.

Shapes follow torchvision's ``resnet18``: conv1 7×7/2 3→64, four stages of two BasicBlocks (3×3
convs; the first block of stages 2–4 has stride 2 and a 1×1/2 downsample conv), fc 512→1000.
Max-pool, batch-norm, ReLU and the residual adds have no MACs and are left out.

Data is synthetic and seeded (the weights are not trained): activations are unsigned 8-bit and
post-ReLU-like, ``clip(round(max(0, N(0, 64))), 0, 255)`` (about 50 % zeros); weights are signed
8-bit, ``clip(round(N(0, 40)), -128, 127)``. Optionally conv1's input is a real photograph, one of
scikit-learn's bundled sample images, when scikit-learn is installed; every other layer stays
random, since the weights are random anyway.
"""

from __future__ import annotations

import numpy as np

from accelsim.workload.npz import Layer

#: (name, in channels, out channels, kernel, stride, padding, input height = width)
CONV_SHAPES: tuple[tuple[str, int, int, int, int, int, int], ...] = (
    ("conv1", 3, 64, 7, 2, 3, 224),
    ("layer1.0.conv1", 64, 64, 3, 1, 1, 56),
    ("layer1.0.conv2", 64, 64, 3, 1, 1, 56),
    ("layer1.1.conv1", 64, 64, 3, 1, 1, 56),
    ("layer1.1.conv2", 64, 64, 3, 1, 1, 56),
    ("layer2.0.conv1", 64, 128, 3, 2, 1, 56),
    ("layer2.0.conv2", 128, 128, 3, 1, 1, 28),
    ("layer2.0.downsample", 64, 128, 1, 2, 0, 56),
    ("layer2.1.conv1", 128, 128, 3, 1, 1, 28),
    ("layer2.1.conv2", 128, 128, 3, 1, 1, 28),
    ("layer3.0.conv1", 128, 256, 3, 2, 1, 28),
    ("layer3.0.conv2", 256, 256, 3, 1, 1, 14),
    ("layer3.0.downsample", 128, 256, 1, 2, 0, 28),
    ("layer3.1.conv1", 256, 256, 3, 1, 1, 14),
    ("layer3.1.conv2", 256, 256, 3, 1, 1, 14),
    ("layer4.0.conv1", 256, 512, 3, 2, 1, 14),
    ("layer4.0.conv2", 512, 512, 3, 1, 1, 7),
    ("layer4.0.downsample", 256, 512, 1, 2, 0, 14),
    ("layer4.1.conv1", 512, 512, 3, 1, 1, 7),
    ("layer4.1.conv2", 512, 512, 3, 1, 1, 7),
)
#: (name, in features, out features)
FC_SHAPE = ("fc", 512, 1000)

#: One layer of each kind of GEMM shape, for a fast run (``--layers quick``).
QUICK = ("conv1", "layer1.0.conv1", "layer2.0.downsample", "layer3.0.conv2", "layer4.1.conv2", "fc")

#: scikit-learn's bundled photograph used for conv1 with ``image=True``.
SAMPLE_IMAGE = "china.jpg"


def _activations(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Unsigned 8-bit, ReLU of a Gaussian (≈ 50 % zeros, small values most likely)."""
    a = np.clip(np.rint(np.maximum(rng.normal(0.0, 64.0, shape), 0.0)), 0, 255)
    return _frozen(a.astype(np.uint8))


def _weights(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Signed 8-bit, a clipped Gaussian (bell-shaped like trained weights)."""
    return _frozen(np.clip(np.rint(rng.normal(0.0, 40.0, shape)), -128, 127).astype(np.int8))


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def sample_image(size: int = 224) -> np.ndarray | None:
    """scikit-learn's ``china.jpg`` as uint8 [1, 3, size, size] (centre square, nearest-neighbour
    resize), or None when scikit-learn is not installed."""
    try:
        from sklearn.datasets import load_sample_image
    except ImportError:
        return None
    img = load_sample_image(SAMPLE_IMAGE)  # [H, W, 3] uint8
    h, w, _ = img.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    idx = (np.arange(size) * side) // size
    crop = img[top + idx[:, None], left + idx[None, :]]  # [size, size, 3]
    return _frozen(np.ascontiguousarray(crop.transpose(2, 0, 1)[None], dtype=np.uint8))


def resnet18_layers(
    seed: int = 0, names: tuple[str, ...] | None = None, image: bool = False
) -> tuple[list[Layer], str]:
    """ResNet-18's 21 MAC layers (batch 1, 224×224) with seeded synthetic data.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``; each layer draws from its own child stream, so a
        subset (``names``) gets the same data as in the full list.
    names : tuple of str, optional
        Keep only these layers (network order is kept); None keeps all.
    image : bool
        Use scikit-learn's sample photograph as conv1's input if scikit-learn is installed.

    Returns
    -------
    (layers, data) : (list of Layer, str)
        Unsigned 8-bit x, signed 8-bit w, no ``y``; ``data`` says where conv1's input came from.
    """
    all_names = [s[0] for s in CONV_SHAPES] + [FC_SHAPE[0]]
    if names is not None:
        unknown = sorted(set(names) - set(all_names))
        if unknown:
            raise ValueError(f"unknown ResNet-18 layers: {', '.join(unknown)}")
    streams = dict(zip(all_names, np.random.default_rng(seed).spawn(len(all_names))))
    photo = sample_image() if image else None
    if photo is not None:
        data = f"conv1 x: scikit-learn sample image {SAMPLE_IMAGE}; other layers seeded random"
    elif image:
        data = f"seeded random, seed {seed} (scikit-learn not installed: no sample image)"
    else:
        data = f"seeded random, seed {seed}"
    layers = []
    for name, cin, cout, k, s, p, hw in CONV_SHAPES:
        if names is not None and name not in names:
            continue
        rng = streams[name]
        use_photo = name == "conv1" and photo is not None
        x = photo if use_photo else _activations(rng, (1, cin, hw, hw))
        w = _weights(rng, (cout, cin, k, k))
        layers.append(Layer(name, "conv2d", x, w, None, 8, 8, False, True, (s, s), (p, p)))
    name, fin, fout = FC_SHAPE
    if names is None or name in names:
        rng = streams[name]
        x, w = _activations(rng, (1, fin)), _weights(rng, (fout, fin))
        layers.append(Layer(name, "linear", x, w, None, 8, 8, False, True))
    return layers, data
