"""``accelsim import-onnx`` against ONNX Runtime on networks quantized by ``quantize_static``.

Three networks (a CNN with a residual add, a depthwise-separable CNN, an MLP) in both of ONNX
Runtime's static forms (QDQ and QOperator). ``isolated``: every layer is fed ONNX Runtime's own
input codes, so the figure is the arithmetic parity of one layer (fixed-point rescale against
ONNX Runtime's float32 requantization). ``chain``: ``accelsim run --chain`` from the quantized
input, where a one-LSB difference can move later layers (docs/interop.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from accelsim.cli import main
from tests.interop.onnx_models import NETWORKS, digits, float_model
from tests.interop.parity import measure


@pytest.mark.parametrize("form", ["qdq", "qoperator"])
@pytest.mark.parametrize("network", NETWORKS)
def test_parity_with_onnx_runtime(tmp_path, network, form):
    row = measure(network, form, tmp_path, samples=100)
    iso, chain = row["isolated"], row["chain"]
    assert iso["exact"] >= 0.995 and iso["max_lsb"] <= 1, row
    assert iso["top1_agreement"] >= 0.99, row
    assert chain["exact"] >= 0.98 and chain["top1_agreement"] >= 0.95, row


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
    assert not Path(out).exists()
