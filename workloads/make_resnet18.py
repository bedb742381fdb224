"""Write a ResNet-18-shaped int8 workload (224×224, batch 1) for benchmarks, on demand.

The network follows torchvision's ``resnet18`` layer for layer (conv1 7×7/2 + BN + ReLU, 3×3/2
max-pool, four stages of two BasicBlocks with residual adds — the first block of stages 2–4 has
stride 2 and a 1×1/2 downsample conv + BN —, global average pool, fc 512→1000), defined here so
torchvision is not needed. Its weights are **random, not trained** (PyTorch's default init, seeded;
the manifest says ``"trained": false``). Each BatchNorm's running statistics are set from the input
image itself (one forward pass in training mode), so every layer's activations have realistic
ranges (about half zeros after each ReLU) instead of shrinking with depth.

The input is a real photograph: scikit-learn's bundled ``china.jpg`` (no download), centre-cropped
to a square, resized to 224×224 (bilinear, NumPy) and normalised with the ImageNet mean/std. The
whole network is exported with ``accelsim.export`` scheme ``int:8`` (or ``--scheme``), so every
layer's ``x`` is derived from the previous layers' exact integer outputs by the host stage. There
are no real labels: ``labels`` holds the float network's own top-1 class, so the manifest's
accuracy is the agreement of the quantized network with the float one on this image.

Usage (needs torch and scikit-learn; ~20 MB, do not commit the output)::

    python workloads/make_resnet18.py OUT.npz [--scheme int:8] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

IMAGE = "china.jpg"
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


class BasicBlock(nn.Module):
    """torchvision's BasicBlock: two 3×3 conv + BN, ReLU, residual add (1×1 downsample)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet18(nn.Module):
    """ResNet-18 for 1000 classes (torchvision's module names)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths, cin = (64, 128, 256, 512), 64
        for i, width in enumerate(widths, start=1):
            stride = 1 if i == 1 else 2
            blocks = OrderedDict([("0", BasicBlock(cin, width, stride)),
                                  ("1", BasicBlock(width, width, 1))])
            setattr(self, f"layer{i}", nn.Sequential(blocks))
            cin = width
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def sample_image(size: int = 224) -> np.ndarray:
    """``china.jpg`` as float32 [1, 3, size, size]: centre square, bilinear, ImageNet mean/std."""
    from sklearn.datasets import load_sample_image

    img = load_sample_image(IMAGE).astype(np.float64) / 255.0  # [H, W, 3]
    h, w, _ = img.shape
    side = min(h, w)
    img = img[(h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]
    pos = (np.arange(size) + 0.5) * side / size - 0.5  # pixel centres, align_corners=False
    i0 = np.clip(np.floor(pos).astype(int), 0, side - 1)
    i1, f = np.clip(i0 + 1, 0, side - 1), np.clip(pos - i0, 0.0, 1.0)
    rows = img[i0] * (1 - f)[:, None, None] + img[i1] * f[:, None, None]
    out = rows[:, i0] * (1 - f)[None, :, None] + rows[:, i1] * f[None, :, None]
    out = (out - MEAN) / STD
    return np.ascontiguousarray(out.transpose(2, 0, 1)[None], dtype=np.float32)


def build(seed: int, image: np.ndarray) -> nn.Module:
    """Seeded random ResNet-18 whose BatchNorm statistics come from ``image``."""
    torch.manual_seed(seed)
    model = ResNet18()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 1.0  # running stats := this batch's stats
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(image))
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    """Build, export and write the workload; print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, metavar="OUT.npz")
    parser.add_argument("--scheme", default="int:8", help="export scheme (default int:8)")
    parser.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    args = parser.parse_args(argv)
    from accelsim.export.capture import from_module
    from accelsim.export.export import export_network, parse_scheme

    start = time.perf_counter()
    torch.set_num_threads(2)
    image = sample_image()
    model = build(args.seed, image)
    with torch.no_grad():
        label = np.array([int(model(torch.from_numpy(image)).argmax())])
    graph = from_module(model, "workloads/make_resnet18.py")
    provenance = {
        "model": "workloads/make_resnet18.py (ResNet-18 shaped, torchvision layer names)",
        "trained": False,
        "weights": f"random: PyTorch default init, torch.manual_seed({args.seed}); BatchNorm "
                   "running statistics set from the input image",
        "input": f"scikit-learn sample image {IMAGE}, centre crop, bilinear resize to 224x224, "
                 "ImageNet mean/std",
        "labels": "the float network's own top-1 class (no ground truth): accuracy = agreement "
                  "of the quantized network with the float one",
    }
    exported = export_network(model, graph, image, label, parse_scheme(args.scheme),
                              name="resnet18_" + args.scheme.replace(":", ""),
                              provenance=provenance)
    exported.save(args.out)
    macs = sum(int(np.prod(layer.y.shape)) * int(np.prod(layer.w.shape[1:]))
               for layer in exported.layers)
    print(f"{args.out}: {len(exported.layers)} layers, {macs / 1e9:.2f} GMAC, "
          f"{args.out.stat().st_size / 2**20:.1f} MiB, agreement with float "
          f"{exported.accuracy['quantized']:.0f}, {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
