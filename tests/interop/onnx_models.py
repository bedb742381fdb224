"""Small float ONNX networks, quantized by ONNX Runtime, for the import-onnx parity tests.

Built with ``onnx.helper`` from seeded random weights (no downloads, no PyTorch): a CNN with a
residual add, a depthwise-separable CNN, an MLP and a depthwise-separable CNN with ReLU6
(``Clip(0, 6)``, as MobileNet), all on scikit-learn's 8×8 digits. Each is
quantized with ``onnxruntime.quantization.quantize_static`` (per-channel int8 weights, uint8
activations, MinMax calibration on 64 digits) in QDQ or QOperator form.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NETWORKS = ("resnet", "dwsep", "mlp", "dwsep6")


def digits(n: int = 200, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` digits from sklearn's bundled set (float32 [n, 1, 8, 8] in [0, 1]) and labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images[offset:offset + n] / 16.0).astype(np.float32)[:, None]
    return x, d.target[offset:offset + n].astype(np.int64)


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def _name(self, op: str) -> str:
        self.count += 1
        return f"{op.lower()}{self.count}"

    def init(self, name: str, a: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(a.astype(np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], **attrs: object) -> str:
        name = self._name(op)
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def conv(self, x: str, cin: int, cout: int, k: int, groups: int = 1, stride: int = 1) -> str:
        fan_in = cin // groups * k * k
        w = self.rng.normal(0, np.sqrt(2.0 / fan_in), (cout, cin // groups, k, k))
        b = self.rng.normal(0, 0.1, cout)
        n = self._name("w")
        return self.node("Conv", [x, self.init(n + "_w", w), self.init(n + "_b", b)],
                         pads=[k // 2] * 4, strides=[stride, stride], group=groups,
                         kernel_shape=[k, k])

    def gemm(self, x: str, k: int, o: int) -> str:
        w = self.rng.normal(0, np.sqrt(2.0 / k), (o, k))
        b = self.rng.normal(0, 0.1, o)
        n = self._name("w")
        return self.node("Gemm", [x, self.init(n + "_w", w), self.init(n + "_b", b)], transB=1)

    def model(self, x_shape: list[int], out: str, name: str) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                             ["N", *x_shape[1:]])],
            [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", 10])], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def float_model(network: str, seed: int = 0) -> onnx.ModelProto:
    """One of :data:`NETWORKS`, input [N, 1, 8, 8], 10 logits: seeded random features and a
    classifier (the last Gemm) fitted by ridge regression on digits 200..999."""
    model = _random_model(network, seed)
    return _fit_classifier(model)


def _fit_classifier(model: onnx.ModelProto) -> onnx.ModelProto:
    import onnxruntime as ort

    last = model.graph.node[-1]
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.append(helper.make_tensor_value_info(last.input[0], TensorProto.FLOAT,
                                                            None))
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    x, y = digits(800, offset=200)
    feats = sess.run([last.input[0]], {"input": x})[0].astype(np.float64)
    f1 = np.hstack([feats, np.ones((len(feats), 1))])
    target = np.eye(10)[y]
    sol = np.linalg.solve(f1.T @ f1 + 1e-2 * np.eye(f1.shape[1]), f1.T @ target)
    inits = {t.name: t for t in model.graph.initializer}
    inits[last.input[1]].CopyFrom(numpy_helper.from_array(sol[:-1].T.astype(np.float32),
                                                          last.input[1]))
    inits[last.input[2]].CopyFrom(numpy_helper.from_array(sol[-1].astype(np.float32),
                                                          last.input[2]))
    return model


def _random_model(network: str, seed: int) -> onnx.ModelProto:
    b = _Builder(seed)
    if network == "mlp":
        h = b.node("Flatten", ["input"], axis=1)
        h = b.node("Relu", [b.gemm(h, 64, 48)])
        h = b.node("Relu", [b.gemm(h, 48, 32)])
        return b.model([1, 1, 8, 8], b.gemm(h, 32, 10), network)
    if network == "resnet":
        a = b.node("Relu", [b.conv("input", 1, 8, 3)])
        h = b.node("Relu", [b.conv(a, 8, 8, 3)])
        h = b.conv(h, 8, 8, 3)
        h = b.node("Relu", [b.node("Add", [h, a])])
        h = b.node("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
        h = b.node("Flatten", [h], axis=1)
        return b.model([1, 1, 8, 8], b.gemm(h, 8 * 16, 10), network)
    if network == "dwsep":
        h = b.node("Relu", [b.conv("input", 1, 8, 3)])
        h = b.node("Relu", [b.conv(h, 8, 8, 3, groups=8)])
        h = b.node("Relu", [b.conv(h, 8, 16, 1)])
        h = b.node("Relu", [b.conv(h, 16, 16, 3, groups=16, stride=2)])
        h = b.node("Relu", [b.conv(h, 16, 16, 1)])
        h = b.node("Flatten", [h], axis=1)
        return b.model([1, 1, 8, 8], b.gemm(h, 16 * 16, 10), network)
    if network == "dwsep6":
        lo, hi = b.init("clip_lo", np.array(0.0)), b.init("clip_hi", np.array(6.0))
        h = b.node("Clip", [b.conv("input", 1, 8, 3), lo, hi])
        h = b.node("Clip", [b.conv(h, 8, 8, 3, groups=8), lo, hi])
        h = b.node("Clip", [b.conv(h, 8, 16, 1), lo, hi])
        h = b.node("Flatten", [h], axis=1)
        return b.model([1, 1, 8, 8], b.gemm(h, 16 * 64, 10), network)
    raise ValueError(f"unknown network {network!r}")


def quantized_model(network: str, folder: Path, form: str = "qdq", seed: int = 0) -> Path:
    """Write ``folder/<network>-<form>.onnx``: :func:`float_model` quantized by ONNX Runtime's
    ``quantize_static`` (``form``: ``qdq`` or ``qoperator``); returns its path."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            calib, _ = digits(64, offset=1000)
            self.batches = iter([{"input": calib[i:i + 16]} for i in range(0, 64, 16)])

        def get_next(self) -> dict | None:
            return next(self.batches, None)

    src = folder / f"{network}-float.onnx"
    onnx.save(float_model(network, seed), src)
    dst = folder / f"{network}-{form}.onnx"
    quantize_static(str(src), str(dst), Reader(),
                    quant_format=QuantFormat.QDQ if form == "qdq" else QuantFormat.QOperator,
                    per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8)
    return dst


def integer_model(folder: Path, seed: int = 0) -> Path:
    """``folder/integer.onnx``: QuantizeLinear → ConvInteger (uint8 weights, zero point 128) →
    Cast → Mul → Add(bias) → QuantizeLinear → Flatten → MatMulInteger (int8 weights) →
    Cast → Mul → QuantizeLinear → DequantizeLinear: the integer-operator form with constant
    scales."""
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(np.array(1 / 255, np.float32), "xs"),
        numpy_helper.from_array(np.array(0, np.uint8), "xz"),
        numpy_helper.from_array(rng.integers(96, 160, (6, 1, 3, 3)).astype(np.uint8), "w1"),
        numpy_helper.from_array(np.array(128, np.uint8), "w1z"),
        numpy_helper.from_array(np.float32(1 / 255 * 0.02) * np.ones((1, 6, 1, 1), np.float32),
                                "s1"),
        numpy_helper.from_array(rng.normal(0, 0.05, (1, 6, 1, 1)).astype(np.float32), "b1"),
        numpy_helper.from_array(np.array(0.004, np.float32), "ys1"),
        numpy_helper.from_array(np.array(128, np.uint8), "yz1"),
        numpy_helper.from_array(rng.integers(-60, 60, (6 * 36, 10)).astype(np.int8), "w2"),
        numpy_helper.from_array(np.float32(0.004 * 0.01), "s2"),
        numpy_helper.from_array(np.array(0.05, np.float32), "ys2"),
        numpy_helper.from_array(np.array(128, np.uint8), "yz2"),
        numpy_helper.from_array(np.array(128, np.uint8), "xz2"),
    ]
    n = helper.make_node
    nodes = [
        n("QuantizeLinear", ["input", "xs", "xz"], ["xq"]),
        n("ConvInteger", ["xq", "w1", "xz", "w1z"], ["acc1"]),
        n("Cast", ["acc1"], ["f1"], to=TensorProto.FLOAT),
        n("Mul", ["f1", "s1"], ["m1"]),
        n("Add", ["m1", "b1"], ["a1"]),
        n("QuantizeLinear", ["a1", "ys1", "yz1"], ["q1"]),
        n("Flatten", ["q1"], ["fl"], axis=1),
        n("MatMulInteger", ["fl", "w2", "xz2"], ["acc2"]),
        n("Cast", ["acc2"], ["f2"], to=TensorProto.FLOAT),
        n("Mul", ["f2", "s2"], ["m2"]),
        n("QuantizeLinear", ["m2", "ys2", "yz2"], ["q2"]),
        n("DequantizeLinear", ["q2", "ys2", "yz2"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes, "integer", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                         ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = folder / "integer.onnx"
    onnx.save(model, path)
    return path
