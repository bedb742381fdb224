"""Train the small digits CNN and export the shipped ``workloads/digits_*.npz`` workloads.

The network (``digits_cnn``): conv1 1→8 3×3 pad 1, ReLU, conv2 8→16 3×3 stride 2 pad 1, ReLU,
flatten, fc 256→10 (no bias: its integer output is then the logits up to one scale, so the class is
``argmax(y)`` of the last layer). Data: scikit-learn's bundled 8×8 digits (1797 images, pixel
values 0..16, scaled to [0, 1]; shipped inside scikit-learn, no download). A seeded permutation
holds out ``TEST`` images; the rest train the network and calibrate the quantizers. Training is
seeded and deterministic (Adam, ``EPOCHS`` epochs, 2 threads, a few seconds on a laptop).

Every scheme in :data:`SCHEMES` is post-training quantization of ``digits_cnn.pt``. In addition,
``digits_int2_qat.npz`` comes from a copy fine-tuned for ``QAT_EPOCHS`` epochs with int2
quantization in the loop (:func:`qat_finetune`: straight-through rounding, the exporter's own
quantizers — per-channel minimum-MSE weight steps recomputed every step, activation grids
recalibrated every epoch), saved as ``digits_cnn_int2_qat.pt`` and exported like the others.

Run from the repository root (needs the ``[export]`` extra, i.e. torch, and scikit-learn)::

    python workloads/train_digits.py            # export from digits_cnn.pt (train if missing)
    python workloads/train_digits.py --retrain  # train again, overwrite digits_cnn.pt, export

Training and QAT take 5–25 s on 2 cores (``--retrain``), the exports about 10 s.
Export the same network yourself with the command line, e.g.::

    accelsim export workloads/train_digits.py:load_model --data X.npy --labels Y.npy \\
        --scheme int:8 --out my.npz
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

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE / "digits_cnn.pt"
QAT_WEIGHTS = HERE / "digits_cnn_int2_qat.pt"
SEED = 0
TEST = 200
EPOCHS = 20
BATCH = 64
LR = 5e-3
QAT_BITS, QAT_EPOCHS, QAT_LR = 2, 3, 2e-3
#: (file tag, scheme, options) of the shipped workloads.
SCHEMES = (
    ("int8", "int:8", {}),
    ("int4", "int:4", {}),
    ("int2", "int:2", {}),
    ("lsqplus8", "lsqplus:8", {}),
    ("lsqplus4", "lsqplus:4", {}),
    ("lsqplus4_wzp", "lsqplus:4", {"weight_zero_points": True}),
    ("pann_r1", "pann:1:8", {}),
    ("pann_r2", "pann:2:8", {}),
    ("pann_r4", "pann:4:8", {}),
    ("pann_r2_x4", "pann:2:4", {}),
)


def digits_cnn() -> nn.Module:
    """The untrained network (module names become the workload's layer names)."""
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(1, 8, 3, padding=1)),
        ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(8, 16, 3, stride=2, padding=1)),
        ("relu2", nn.ReLU()),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(16 * 4 * 4, 10, bias=False)),
    ]))  # fmt: skip


def load_model(weights: Path = WEIGHTS) -> nn.Module:
    """The trained network from ``workloads/digits_cnn.pt`` (for ``accelsim export``)."""
    model = digits_cnn()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.eval()


def load_qat_model() -> nn.Module:
    """The int2 quantization-aware fine-tuned network (``digits_cnn_int2_qat.pt``)."""
    return load_model(QAT_WEIGHTS)


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train x, train y, test x, test y): x float32 [N, 1, 8, 8] in [0, 1], y int64."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    order = np.random.default_rng(SEED).permutation(len(x))
    test, train = order[:TEST], order[TEST:]
    return x[train], y[train].astype(np.int64), x[test], y[test].astype(np.int64)


def train(x: np.ndarray, y: np.ndarray) -> nn.Module:
    """Seeded, deterministic Adam training on CPU."""
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)
    model = digits_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(SEED)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(EPOCHS):
        for idx in torch.randperm(len(xt), generator=gen).split(BATCH):
            opt.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
        sched.step()
    return model.eval()


def _fake_quant(v: torch.Tensor, scale: object, zero: int, lo: int, hi: int) -> torch.Tensor:
    """``scale · (clamp(round(v / scale) + zero, lo, hi) − zero)`` with a straight-through
    gradient for the rounding (LSQ/QAT's STE)."""
    r = v / scale
    q = torch.clamp(r + (torch.round(r) - r).detach() + zero, lo, hi)
    return (q - zero) * scale


def _qat_forward(model: nn.Module, x: torch.Tensor, bits: int, grids: dict) -> torch.Tensor:
    """``model`` (a Sequential of Conv2d/Linear/ReLU/Flatten) with int``bits`` quantizers where
    the exporter puts them: the input, every weight, and every layer's output after its ReLU."""
    from accelsim.export.quantize import int_range, weight_scales

    lo, hi = int_range(bits, True)
    g = grids["input"]
    v = _fake_quant(x, g.scale, g.zero_point, g.lo, g.hi)
    last = [n for n, m in model.named_children() if isinstance(m, (nn.Conv2d, nn.Linear))][-1]
    prev = None
    for name, m in model.named_children():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            w = m.weight
            step = weight_scales(w.detach().double().numpy(), bits, per_channel=name != last)
            wq = _fake_quant(w, torch.from_numpy(step).float().reshape(-1, *[1] * (w.ndim - 1)),
                             0, lo, hi)
            if isinstance(m, nn.Conv2d):
                v = nn.functional.conv2d(v, wq, m.bias, m.stride, m.padding)
            else:
                v = nn.functional.linear(v, wq, m.bias)
            prev = name
        elif isinstance(m, nn.ReLU):
            g = grids[prev]
            v = _fake_quant(torch.relu(v), g.scale, g.zero_point, g.lo, g.hi)
        else:
            v = m(v)
    return v


def _calibrate(model: nn.Module, x: np.ndarray, bits: int) -> dict:
    """Activation grids of the input and of each layer's post-ReLU output (exporter's rule)."""
    from accelsim.export.quantize import activation_grid

    grids = {"input": activation_grid(x, bits, "unsigned")}
    v, prev = torch.from_numpy(x), None
    with torch.no_grad():
        for name, m in model.named_children():
            v = m(v)
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                prev = name
            elif isinstance(m, nn.ReLU):
                grids[prev] = activation_grid(v.numpy(), bits, "unsigned")
    return grids


def qat_finetune(model: nn.Module, x: np.ndarray, y: np.ndarray, bits: int) -> nn.Module:
    """Quantization-aware fine-tuning of a copy of ``model`` at ``bits`` (seeded)."""
    import copy

    torch.manual_seed(SEED)
    tuned = copy.deepcopy(model).train()
    opt = torch.optim.Adam(tuned.parameters(), lr=QAT_LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(SEED)
    for _ in range(QAT_EPOCHS):
        grids = _calibrate(tuned, x, bits)
        for idx in torch.randperm(len(xt), generator=gen).split(BATCH):
            opt.zero_grad()
            nn.functional.cross_entropy(_qat_forward(tuned, xt[idx], bits, grids),
                                        yt[idx]).backward()
            opt.step()
    return tuned.eval()


def main(argv: list[str] | None = None) -> int:
    """Train (if asked or needed), then export every scheme of :data:`SCHEMES` into workloads/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retrain", action="store_true", help="train again and overwrite the .pt")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the .npz files")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    from accelsim.export.capture import from_module
    from accelsim.export.export import export_network, parse_scheme

    x_train, y_train, x_test, y_test = digits_split()
    if args.retrain or not WEIGHTS.exists():
        start = time.perf_counter()
        model = train(x_train, y_train)
        torch.save(model.state_dict(), WEIGHTS)
        print(f"trained in {time.perf_counter() - start:.1f} s -> {WEIGHTS.name}")
        start = time.perf_counter()
        tuned = qat_finetune(load_model(), x_train, y_train, QAT_BITS)
        torch.save(tuned.state_dict(), QAT_WEIGHTS)
        print(f"int{QAT_BITS} QAT fine-tuned in {time.perf_counter() - start:.1f} s -> "
              f"{QAT_WEIGHTS.name}")
    print(f"{'workload':<24} {'scheme':<12} {'float':>6} {'quant':>6} {'size KiB':>9}")
    qat = ("int2_qat", f"int:{QAT_BITS}", {})
    for tag, text, options in (*SCHEMES, qat):
        model = load_qat_model() if tag == "int2_qat" else load_model()
        spec = "load_qat_model" if tag == "int2_qat" else "load_model"
        graph = from_module(model, f"workloads/train_digits.py:{spec}")
        scheme = parse_scheme(text, **options)
        provenance = {
            "model": f"workloads/train_digits.py:{spec}",
            "trained": True,
            "dataset": f"sklearn.datasets.load_digits, seeded split (seed {SEED}): {TEST} held-out "
                       f"test images exported, the other {len(x_train)} trained and calibrated",
            "training": f"Adam lr {LR}, cosine schedule, {EPOCHS} epochs, batch {BATCH}, "
                        f"seed {SEED}",
        }
        if tag == "int2_qat":
            provenance["qat"] = (f"then {QAT_EPOCHS} epochs of int{QAT_BITS} quantization-aware "
                                 f"fine-tuning (Adam lr {QAT_LR}, straight-through rounding)")
        exported = export_network(model, graph, x_test, y_test, scheme, calib=x_train,
                                  name=f"digits_{tag}", provenance=provenance)
        path = args.out / f"digits_{tag}.npz"
        exported.save(path)
        acc = exported.accuracy
        print(f"{path.name:<24} {scheme.text:<12} {acc['float']:6.3f} {acc['quantized']:6.3f} "
              f"{path.stat().st_size / 1024:9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
