"""``accelsim import-onnx`` against ONNX Runtime on networks quantized by ``quantize_static``.

Four networks (a CNN with a residual add, a depthwise-separable CNN, an MLP, a
depthwise-separable CNN with ReLU6) in both of ONNX Runtime's static forms (QDQ and QOperator).
``isolated``: every layer is fed ONNX Runtime's own input codes, so the figure is the arithmetic
parity of one layer (fixed-point rescale against ONNX Runtime's float32 requantization).
``chain``: ``accelsim run --chain`` from the quantized input, where a one-LSB difference would
move later layers (docs/interop.md). The acceptance bound: within one LSB and at least 99.5 %
exact, both ways.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from accelsim.cli import main
from tests.interop.onnx_models import NETWORKS, digits, float_model
from tests.interop.parity import ROOT, measure


@pytest.mark.parametrize("form", ["qdq", "qoperator"])
@pytest.mark.parametrize("network", NETWORKS)
def test_parity_with_onnx_runtime(tmp_path, network, form):
    row = measure(network, form, tmp_path, samples=100)
    iso, chain = row["isolated"], row["chain"]
    for mode in (iso, chain):
        assert mode["exact"] >= 0.995 and mode["max_lsb"] <= 1, row
        assert mode["top1_agreement"] >= 0.99, row


def test_float_model_is_refused(tmp_path, capsys):
    x, _ = digits(8)
    np.save(tmp_path / "x.npy", x)
    onnx.save(float_model("mlp"), tmp_path / "f.onnx")
    assert main(["import-onnx", str(tmp_path / "f.onnx"), "--data", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "w.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "f.onnx" in err[0] and "Gemm" in err[0]
    assert not (tmp_path / "w.npz").exists()


def test_output_may_not_be_an_input(tmp_path, capsys):
    x, _ = digits(8)
    np.save(tmp_path / "x.npy", x)
    onnx.save(float_model("mlp"), tmp_path / "f.onnx")
    before = (tmp_path / "x.npy").read_bytes()
    assert main(["import-onnx", str(tmp_path / "f.onnx"), "--data", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "x.npy")]) == 2
    assert "not one of the inputs" in capsys.readouterr().err
    assert (tmp_path / "x.npy").read_bytes() == before


def test_bad_data_and_labels(tmp_path, capsys):
    from tests.interop.onnx_models import quantized_model

    model = quantized_model("mlp", tmp_path)
    x, y = digits(8)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "xi.npy", (x * 16).astype(np.int64))
    np.save(tmp_path / "y.npy", y[:5])
    out = str(tmp_path / "w.npz")
    assert main(["import-onnx", str(model), "--data", str(tmp_path / "xi.npy"), "--out", out]) == 2
    assert "--data: expected a float array" in capsys.readouterr().err
    assert main(["import-onnx", str(model), "--data", str(tmp_path / "x.npy"), "--labels",
                 str(tmp_path / "y.npy"), "--out", out]) == 2
    assert "one label per sample" in capsys.readouterr().err
    np.save(tmp_path / "x5.npy", x[:, :, :5, :5])
    assert main(["import-onnx", str(model), "--data", str(tmp_path / "x5.npy"), "--out", out]) == 2
    assert "expected data of shape ['N', 1, 8, 8]" in capsys.readouterr().err
    assert not Path(out).exists()


def test_integer_operator_form(tmp_path):
    """ConvInteger (uint8 weights with zero point 128) and MatMulInteger with constant scales:
    every layer within one LSB of ONNX Runtime and at least 99.5 % exact, chained. (The float
    bias of this form is rounded onto the accumulator grid, the int32 bias the hardware adds: one
    rounding ONNX Runtime's float path does not make, docs/interop.md.)"""
    from tests.interop.onnx_models import integer_model
    from tests.interop.parity import ort_tensors

    model = integer_model(tmp_path)
    x, _ = digits(50)
    np.save(tmp_path / "x.npy", x)
    wl = tmp_path / "w.npz"
    assert main(["import-onnx", str(model), "--data", str(tmp_path / "x.npy"), "--out",
                 str(wl)]) == 0
    from accelsim.workload import load_workload

    workload = load_workload(wl)
    assert [layer.op for layer in workload.layers] == ["conv2d", "linear"]
    assert workload.layers[0].quant["w_zero_point"] == 128 and not workload.layers[0].w_signed
    tensors = workload.source["onnx_tensors"]
    ref = ort_tensors(model, [t["y"] for t in tensors.values()], x)
    out = tmp_path / "o.npz"
    assert main(["run", str(ROOT / "arch_configs" / "ws-16x16-lsqplus-output.yaml"), str(wl),
                 "--chain", "--outputs", str(out), "--quiet"]) == 0
    sim = np.load(out, allow_pickle=False)
    for name, t in tensors.items():
        d = np.abs(sim[f"{name}/y"].astype(np.int64) - ref[t["y"]].astype(np.int64))
        assert d.max() <= 1 and np.mean(d == 0) >= 0.995, name


def test_qdq_and_qoperator_give_the_same_integers(tmp_path):
    from accelsim.workload import load_workload
    from tests.interop.onnx_models import quantized_model

    x, _ = digits(20)
    np.save(tmp_path / "x.npy", x)
    loaded = []
    for form in ("qdq", "qoperator"):
        model = quantized_model("resnet", tmp_path, form)
        assert main(["import-onnx", str(model), "--data", str(tmp_path / "x.npy"), "--out",
                     str(tmp_path / f"{form}.npz")]) == 0
        loaded.append(load_workload(tmp_path / f"{form}.npz").layers)
    for a, b in zip(*loaded, strict=True):
        assert np.array_equal(a.x, b.x) and np.array_equal(a.w, b.w) and np.array_equal(a.y, b.y)
        for k in a.quant:
            assert np.array_equal(np.asarray(a.quant[k]), np.asarray(b.quant[k])), k


def test_unreadable_model(tmp_path, capsys):
    x, _ = digits(4)
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "m.onnx").write_bytes(b"not a protobuf \x00\xff")
    assert main(["import-onnx", str(tmp_path / "m.onnx"), "--data", str(tmp_path / "x.npy"),
                 "--out", str(tmp_path / "w.npz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "m.onnx" in err[0] and "ONNX model" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "x.npy"]
