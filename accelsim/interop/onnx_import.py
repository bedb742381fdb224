"""Quantized ONNX graphs → a workload whose layers use the ``lsqplus`` scheme and whose integer
host stage (``source.graph``, :mod:`accelsim.export.host`) runs everything between layers.

Both forms ONNX Runtime's ``quantize_static`` writes are read:

- QDQ: ``QuantizeLinear`` / ``DequantizeLinear`` pairs around float ``Conv``, ``Gemm``,
  ``MatMul``, ``Add``, ``MaxPool``, ``Relu``, ``Flatten``, ``Identity``;
- QOperator: ``QLinearConv``, ``QLinearMatMul``, ``QGemm``, ``QLinearAdd`` and integer
  ``MaxPool`` / ``Flatten``.

A ``Conv``/``Gemm``/``MatMul`` between a DequantizeLinear of activations and a QuantizeLinear is
one array layer: ``x`` the input codes (zero point ``x_zero_point``), ``w`` the integer weights
(per-channel zero points), ``bias`` the int32 bias on the ``x_scale·w_scale`` grid, and the real
multiplier ``x_scale·w_scale[o] / y_scale`` (float32, as ONNX Runtime computes it) as the
(multiplier, shift) closest to ONNX Runtime's float32 requantization (:func:`requant_multipliers`).
A ``Relu`` (or a ReLU that ONNX Runtime folded into the output grid) is the clamp at the output
zero point. The float graph is never evaluated: every value comes from the integers
(docs/interop.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.export import host
from accelsim.export.quantize import quantize_multipliers
from accelsim.workload.npz import Layer

_INT_TYPES = {2: (8, False), 3: (8, True), 4: (16, False), 5: (16, True)}  # ONNX elem types
_UNARY = ("Relu", "MaxPool", "Flatten", "Identity")


class OnnxImportError(AccelsimError):
    """The ONNX file cannot be turned into a workload."""


@dataclass(frozen=True)
class _Const:
    """An integer initializer and, when dequantized, its scale and zero point per channel."""

    q: np.ndarray
    scale: np.ndarray | None = None
    zero: np.ndarray | None = None


@dataclass(frozen=True)
class _Float:
    """A float tensor: the exact dequantized value of host node ``node`` (``kind == "dq"``), the
    network input with unary ops pending (``"input"``), an op awaiting its QuantizeLinear
    (``"pending"``), or a ConvInteger/MatMulInteger accumulator being scaled (``"acc"``: ``op`` =
    (node, x node, weights, weight zero points, scale or None, real bias or None))."""

    kind: str
    node: str = ""
    op: Any = None


class _Converter:
    def __init__(self, model: Any, file: str) -> None:
        from onnx import numpy_helper

        self.file = file
        self.graph = model.graph
        self.inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        for n in model.graph.node:  # Constant nodes are initializers too
            if n.op_type == "Constant":
                self.inits[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
        inputs = [i.name for i in model.graph.input if i.name not in self.inits]
        if len(inputs) != 1:
            raise OnnxImportError(file, "graph.input", "exactly one non-constant input",
                                  len(inputs))
        self.input = inputs[0]
        self.consts: dict[str, _Const] = {}
        self.ints: dict[str, str] = {}  # integer tensor -> host node
        self.floats: dict[str, _Float] = {self.input: _Float("input", op=[])}
        self.grids: dict[str, dict] = {}
        self.nodes: list[dict[str, Any]] = []
        self.layers: dict[str, Layer] = {}
        self.used: set[str] = set()
        self.tensors: dict[str, dict[str, str]] = {}  # layer -> ONNX tensors of its x and y
        self.tensor_of: dict[str, str] = {}  # host node -> the ONNX integer tensor holding it

    # -- helpers

    def _err(self, node: Any, expected: str, got: object = None) -> OnnxImportError:
        return OnnxImportError(self.file, f"node {node.name or node.op_type!r} ({node.op_type})",
                               expected, got)

    def _const(self, node: Any, name: str) -> np.ndarray:
        if name not in self.inits:
            raise self._err(node, f"a constant (initializer) for input {name!r}")
        return self.inits[name]

    def _unique(self, base: str) -> str:
        name = "".join(c if c.isalnum() or c in "_-." else "_" for c in base) or "node"
        out, i = name, 1
        while out in self.used:
            i += 1
            out = f"{name}_{i}"
        self.used.add(out)
        return out

    def _grid(self, node: Any, scale: Any, zero: Any, like: str | None = None) -> dict:
        scale = np.asarray(scale, dtype=np.float64).ravel()
        zero_a = np.asarray(zero)
        if scale.size != 1 or zero_a.size != 1:
            raise self._err(node, "a per-tensor activation scale and zero point",
                            f"{scale.size} scales")
        bits, signed = _INT_TYPES.get(_elem_type(zero_a), (None, None))
        if bits is None:
            raise self._err(node, "a uint8, int8, uint16 or int16 zero point", zero_a.dtype)
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        return {"scale": float(np.float32(scale[0])), "zero_point": int(zero_a.ravel()[0]),
                "min": lo, "max": hi, "bits": bits, "signed": signed}

    def _add_node(self, entry: dict[str, Any], grid: dict | None) -> str:
        self.nodes.append(entry)
        if grid is not None:
            self.grids[entry["name"]] = grid
        return entry["name"]

    def _dq_source(self, node: Any, name: str) -> str:
        f = self.floats.get(name)
        if f is None or f.kind != "dq":
            raise self._err(node, f"input {name!r} dequantized from an integer tensor "
                                  "(DequantizeLinear of a quantized activation)")
        return f.node

    # -- the walk

    def run(self) -> None:
        for node in self.graph.node:
            op = node.op_type
            handler = getattr(self, f"_op_{op}", None)
            if handler is None:
                raise self._err(node, "an operator among QuantizeLinear, DequantizeLinear, Conv, "
                                "Gemm, MatMul, Add, Relu, MaxPool, Flatten, Identity, "
                                "QLinearConv, QLinearMatMul, QGemm, QLinearAdd, ConvInteger, "
                                "MatMulInteger (with constant scales), Cast, Mul", op)
            handler(node)

    def _op_Constant(self, node: Any) -> None:
        pass

    def _op_QuantizeLinear(self, node: Any) -> None:
        src, out = node.input[0], node.output[0]
        grid = self._grid(node, self._const(node, node.input[1]),
                          self._const(node, node.input[2]) if len(node.input) > 2 else
                          np.uint8(0))
        f = self.floats.get(src)
        if f is None:
            raise self._err(node, f"a float input {src!r} computed from the network input")
        if f.kind == "input":
            name = self._add_node({"name": self._unique(self.input), "op": "input",
                                   "grid": grid}, grid)
            for unary in f.op:
                name = self._unary(unary, name)
            self.ints[out] = name
        elif f.kind == "dq":
            if not _same(self.grids[f.node], grid):
                raise self._err(node, "a QuantizeLinear onto the grid its input came from "
                                "(requantization between grids is not supported)")
            self.ints[out] = f.node
        elif f.kind == "acc":
            self.ints[out] = self._finish_acc(f.op, grid)
            self._record(self.ints[out], f.op[1], out)
        else:
            self.ints[out] = self._finish(node, f.op, grid)
            if f.op[0] == "layer":
                layer = self.nodes[-1 if f.op[2] is False else -2]
                self._record(layer["layer"], layer["input"], out)
        self.tensor_of.setdefault(self.ints[out], out)

    def _op_DequantizeLinear(self, node: Any) -> None:
        src, out = node.input[0], node.output[0]
        if src in self.inits:
            scale = np.asarray(self._const(node, node.input[1]), dtype=np.float64)
            zero = (np.asarray(self._const(node, node.input[2])) if len(node.input) > 2
                    else np.zeros_like(scale, dtype=np.int64))
            self.consts[out] = _Const(np.asarray(self.inits[src]), scale, zero)
            return
        if src not in self.ints:
            raise self._err(node, f"an integer input {src!r} (from QuantizeLinear or a QLinear "
                                  "operator)")
        grid = self._grid(node, self._const(node, node.input[1]),
                          self._const(node, node.input[2]) if len(node.input) > 2 else
                          np.uint8(0))
        if not _same(self.grids[self.ints[src]], grid):
            raise self._err(node, "a DequantizeLinear with the grid of its QuantizeLinear")
        self.floats[out] = _Float("dq", self.ints[src])

    def _unary_pending(self, node: Any) -> None:
        src = node.input[0]
        f = self.floats.get(src)
        if src in self.ints:  # QOperator: MaxPool / Flatten on the integers themselves
            self.ints[node.output[0]] = self._unary(node, self.ints[src])
            self.tensor_of[self.ints[node.output[0]]] = node.output[0]
        elif f is not None and f.kind == "input":
            if node.op_type not in ("Flatten", "Identity"):
                raise self._err(node, "only Flatten or Identity before the input QuantizeLinear")
            self.floats[node.output[0]] = _Float("input", op=[*f.op, node])
        elif f is not None and f.kind == "pending" and f.op[0] == "layer" and \
                node.op_type == "Relu" and not f.op[2]:
            self.floats[node.output[0]] = _Float("pending", op=(*f.op[:2], True))
        else:
            self.floats[node.output[0]] = _Float("pending",
                                                 op=("unary", node, self._dq_source(node, src)))

    _op_Relu = _op_MaxPool = _op_Flatten = _op_Identity = _unary_pending

    def _unary(self, node: Any, src: str) -> str:
        op, attrs = node.op_type, _attrs(node)
        entry: dict[str, Any] = {"name": self._unique(node.name or node.output[0]),
                                 "input": src}
        if op == "Relu":
            entry.update(op="relu", grid=self.grids[src])
        elif op == "Identity":
            entry["op"] = "identity"
        elif op == "Flatten":
            if attrs.get("axis", 1) != 1:
                raise self._err(node, "Flatten with axis 1", attrs.get("axis"))
            entry["op"] = "flatten"
        else:
            kernel = list(attrs["kernel_shape"])
            pads = list(attrs.get("pads", [0, 0, 0, 0]))
            if pads[:2] != pads[2:] or attrs.get("ceil_mode", 0) or \
                    attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise self._err(node, "MaxPool with symmetric explicit padding and ceil_mode 0")
            entry.update(op="maxpool2d", kernel=kernel,
                         stride=list(attrs.get("strides", kernel)), padding=pads[:2],
                         dilation=list(attrs.get("dilations", [1, 1])))
        return self._add_node(entry, self.grids.get(src))

    # -- array layers

    def _op_Conv(self, node: Any) -> None:
        x = self._dq_source(node, node.input[0])
        w = self.consts.get(node.input[1])
        if w is None:
            raise self._err(node, "weights from a DequantizeLinear of an integer initializer")
        b = self.consts.get(node.input[2]) if len(node.input) > 2 else None
        if b is None and len(node.input) > 2:
            b = _Const(np.asarray(self._const(node, node.input[2])))
        self.floats[node.output[0]] = _Float("pending", op=("layer", (node, x, w, b), False))

    def _op_Gemm(self, node: Any) -> None:
        attrs = _attrs(node)
        if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or \
                attrs.get("beta", 1.0) != 1.0:
            raise self._err(node, "Gemm with transA 0, alpha 1, beta 1")
        self._op_Conv(node)

    _op_MatMul = _op_Gemm

    def _op_Add(self, node: Any) -> None:
        acc = self.floats.get(node.input[0])
        if acc is not None and acc.kind == "acc" and node.input[1] in self.inits:
            node_, x, w, wz, scale, bias = acc.op
            if scale is None or bias is not None:
                raise self._err(node, "a bias added after the accumulator is scaled (Mul)")
            real = np.asarray(self.inits[node.input[1]], dtype=np.float64).ravel()
            self.floats[node.output[0]] = _Float("acc", op=(node_, x, w, wz, scale, real))
            return
        a, b = (self._dq_source(node, i) for i in node.input)
        self.floats[node.output[0]] = _Float("pending", op=("add", node, [a, b]))

    def _finish_acc(self, op: tuple, grid: dict) -> str:
        """A scaled ConvInteger/MatMulInteger accumulator quantized onto ``grid``: the layer."""
        node, x, w, wz, scale, real = op
        if scale is None:
            raise self._err(node, "its int32 output scaled by a constant Mul before "
                            "QuantizeLinear")
        out = w.shape[0] if node.op_type == "ConvInteger" else w.shape[1]
        acc_scale = np.broadcast_to(scale, (out,)).astype(np.float64)
        bias = None if real is None else np.rint(np.broadcast_to(real, (out,)) / acc_scale)
        return self._layer(node, x, w, wz, bias, acc_scale, grid, float32_scales=False)

    def _finish(self, qnode: Any, op: tuple, grid: dict) -> str:
        kind = op[0]
        if kind == "unary":
            _, node, src = op
            if not _same(self.grids[src], grid):
                raise self._err(node, "the same quantization grid on its input and output")
            return self._unary(node, src)
        if kind == "add":
            _, node, srcs = op
            return self._add(node, srcs, grid)
        (node, x, w, b), relu = op[1], op[2]
        g_in = self.grids[x]
        acc_scale = np.float32(g_in["scale"]) * np.asarray(w.scale, np.float32).ravel()
        bias = None
        if b is not None:
            bias = b.q if b.scale is not None and np.allclose(
                np.broadcast_to(b.scale, acc_scale.shape), acc_scale, rtol=1e-6) else None
            if bias is None:
                real = b.q * (1.0 if b.scale is None else b.scale)
                bias = np.rint(np.asarray(real, dtype=np.float64) / acc_scale)
        name = self._layer(node, x, w.q, w.zero, bias, acc_scale, grid)
        if relu:
            name = self._add_node({"name": self._unique(name + "_relu"), "op": "relu",
                                   "input": name, "grid": grid}, grid)
        return name

    def _add(self, node: Any, srcs: list[str], grid: dict) -> str:
        grids = [self.grids[s] for s in srcs]
        m, s = quantize_multipliers(np.array([g["scale"] / grid["scale"] for g in grids]))
        left = max(0, min(20, 30 - max(g["bits"] for g in grids) - 1 - max(int(s.max()), 0)))
        return self._add_node({"name": self._unique(node.name or node.output[0]), "op": "add",
                               "inputs": srcs, "multiplier": m.tolist(), "shift": s.tolist(),
                               "left_shift": left, "grid": grid}, grid)

    def _layer(self, node: Any, x: str, w_q: np.ndarray, w_zero: Any, bias: Any,
               acc_scale: np.ndarray, grid: dict, float32_scales: bool = True) -> str:
        """Add the array layer and its host node; return the host node's name.

        ``acc_scale`` is the accumulator's scale per output channel; with ``float32_scales`` it
        is ``x_scale · w_scale`` rounded to float32 and the real multiplier is that divided by
        ``y_scale`` in float32, as ONNX Runtime computes it (:func:`requant_multipliers`).
        """
        g_in = self.grids[x]
        w = np.asarray(w_q)
        attrs = _attrs(node)
        conv: dict[str, Any] = {}
        if node.op_type in ("Conv", "QLinearConv", "ConvInteger"):
            op = "conv2d"
            pads = list(attrs.get("pads", [0, 0, 0, 0]))
            if pads[:2] != pads[2:] or attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET",
                                                                                "NOTSET"):
                raise self._err(node, "symmetric explicit padding")
            conv = {"stride": tuple(attrs.get("strides", [1, 1])), "padding": tuple(pads[:2]),
                    "dilation": tuple(attrs.get("dilations", [1, 1])),
                    "groups": int(attrs.get("group", 1))}
        else:
            op = "linear"
            if node.op_type in ("MatMul", "QLinearMatMul", "MatMulInteger") or \
                    not attrs.get("transB", 0):
                w = w.T  # [K, N] -> [O, K]
        out = w.shape[0]
        if w.dtype.kind not in "iu":
            raise self._err(node, "integer weights")
        w_bits, w_signed = _INT_TYPES[_elem_type(w)]
        zero = np.broadcast_to(np.asarray(0 if w_zero is None else w_zero, np.int64).ravel(),
                               (out,)) if np.size(w_zero) in (0, 1, out) else None
        if zero is None:
            raise self._err(node, "one weight zero point, or one per output channel")
        bias = np.zeros(out, np.int64) if bias is None else np.asarray(bias).astype(np.int64)
        if float32_scales:  # ONNX Runtime's output scale: float32 (x_scale · w_scale) / y_scale
            real = np.asarray(acc_scale, np.float32) / np.float32(grid["scale"])
        else:
            real = np.asarray(acc_scale, np.float64) / grid["scale"]
        mult, shift = requant_multipliers(np.broadcast_to(real, (out,)).astype(np.float64),
                                          grid)
        name = self._unique(node.name or node.output[0])
        self.layers[name] = Layer(
            name, op, np.zeros((1,), np.int64), w.astype(np.int64), None, g_in["bits"], w_bits,
            g_in["signed"], w_signed,
            quant={"scheme": "lsqplus", "x_zero_point": g_in["zero_point"],
                   "w_zero_point": int(zero[0]) if np.all(zero == zero[0]) else zero.copy(),
                   "bias": np.broadcast_to(bias, (out,)).copy(), "multiplier": mult,
                   "shift": shift, "y_zero_point": grid["zero_point"], "y_bits": grid["bits"],
                   "y_signed": grid["signed"]},
            **conv)
        return self._add_node({"name": name, "op": "layer", "layer": name, "input": x,
                               "x_offset": 0, "requant": None, "grid": grid}, grid)

    # -- ConvInteger / MatMulInteger with constant scales

    def _op_ConvInteger(self, node: Any) -> None:
        x = self._int_in(node, 0)
        x_zero = self.inits.get(node.input[2], np.uint8(0)) if len(node.input) > 2 and \
            node.input[2] else np.uint8(0)
        if int(np.asarray(x_zero).ravel()[0]) != self.grids[x]["zero_point"]:
            raise self._err(node, "the input's zero point (a constant equal to its "
                                  "QuantizeLinear's)")
        w = np.asarray(self._const(node, node.input[1]))
        w_zero = (np.asarray(self._const(node, node.input[3])) if len(node.input) > 3 and
                  node.input[3] else None)
        self.floats[node.output[0]] = _Float("acc", op=(node, x, w, w_zero, None, None))

    _op_MatMulInteger = _op_ConvInteger

    def _op_Cast(self, node: Any) -> None:
        f = self.floats.get(node.input[0])
        if f is None or f.kind != "acc":
            raise self._err(node, "a Cast of a ConvInteger/MatMulInteger output")
        self.floats[node.output[0]] = f

    def _op_Mul(self, node: Any) -> None:
        f = self.floats.get(node.input[0])
        if f is None or f.kind != "acc" or f.op[4] is not None or node.input[1] not in self.inits:
            raise self._err(node, "a constant scale multiplying a ConvInteger/MatMulInteger "
                                  "output")
        scale = np.asarray(self.inits[node.input[1]], dtype=np.float64).ravel()
        self.floats[node.output[0]] = _Float("acc", op=(*f.op[:4], scale, None))

    # -- QOperator form

    def _int_in(self, node: Any, i: int) -> str:
        src = node.input[i]
        if src not in self.ints:
            raise self._err(node, f"an integer input {src!r}")
        return self.ints[src]

    def _qlinear(self, node: Any, x_i: int, w_i: int, y_i: int, b_i: int | None) -> None:
        x = self._int_in(node, x_i)
        if not _same(self.grids[x], self._grid(node, self._const(node, node.input[x_i + 1]),
                                               self._const(node, node.input[x_i + 2]))):
            raise self._err(node, "an input scale and zero point equal to its producer's")
        w = np.asarray(self._const(node, node.input[w_i]))
        w_scale = np.asarray(self._const(node, node.input[w_i + 1]), dtype=np.float64)
        w_zero = np.asarray(self._const(node, node.input[w_i + 2]))
        grid = self._grid(node, self._const(node, node.input[y_i]),
                          self._const(node, node.input[y_i + 1]))
        bias = None
        if b_i is not None and len(node.input) > b_i and node.input[b_i]:
            bias = np.asarray(self._const(node, node.input[b_i]))
        acc_scale = np.float32(self.grids[x]["scale"]) * w_scale.astype(np.float32).ravel()
        self.ints[node.output[0]] = self._layer(node, x, w, w_zero, bias, acc_scale, grid)
        self._record(self.ints[node.output[0]], x, node.output[0])

    def _record(self, layer: str, x_node: str, y_tensor: str) -> None:
        self.tensor_of.setdefault(layer, y_tensor)
        self.tensors[layer] = {"x": self.tensor_of.get(x_node, ""), "y": y_tensor}

    def _op_QLinearConv(self, node: Any) -> None:
        self._qlinear(node, 0, 3, 6, 8)

    def _op_QLinearMatMul(self, node: Any) -> None:
        self._qlinear(node, 0, 3, 6, None)

    def _op_QGemm(self, node: Any) -> None:
        if len(node.input) < 9 or not node.input[7]:
            raise self._err(node, "QGemm with an output scale (integer output)")
        attrs = _attrs(node)
        if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0:
            raise self._err(node, "QGemm with transA 0 and alpha 1")
        self._qlinear(node, 0, 3, 7, 6)

    def _op_QLinearAdd(self, node: Any) -> None:
        srcs = []
        for i in (0, 3):
            src = self._int_in(node, i)
            if not _same(self.grids[src], self._grid(node, self._const(node, node.input[i + 1]),
                                                     self._const(node, node.input[i + 2]))):
                raise self._err(node, "input scales and zero points equal to their producers'")
            srcs.append(src)
        grid = self._grid(node, self._const(node, node.input[6]),
                          self._const(node, node.input[7]))
        self.ints[node.output[0]] = self._add(node, srcs, grid)
        self.tensor_of[self.ints[node.output[0]]] = node.output[0]

    def output(self) -> str:
        outs = list(self.graph.output)
        if len(outs) != 1:
            raise OnnxImportError(self.file, "graph.output", "exactly one output", len(outs))
        name = outs[0].name
        if name in self.ints:
            return self.ints[name]
        f = self.floats.get(name)
        if f is None or f.kind != "dq":
            raise OnnxImportError(self.file, "graph.output", "an output dequantized from the "
                                  "integers (DequantizeLinear) or an integer tensor", name)
        return f.node


def _elem_type(a: np.ndarray) -> int:
    return {np.dtype(np.uint8): 2, np.dtype(np.int8): 3, np.dtype(np.uint16): 4,
            np.dtype(np.int16): 5}.get(np.asarray(a).dtype, 0)


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _same(a: dict, b: dict) -> bool:
    return (a["zero_point"], a["bits"], a["signed"]) == (b["zero_point"], b["bits"],
                                                         b["signed"]) and \
        abs(a["scale"] - b["scale"]) <= 1e-7 * abs(b["scale"])


def requant_multipliers(reals: np.ndarray, grid: dict) -> tuple[np.ndarray, np.ndarray]:
    """The lsqplus ``(multiplier, shift)`` per channel that best reproduces ONNX Runtime's
    float32 requantization ``round_half_even(acc · real)`` with the gemmlowp rescale.

    Two encodings of each real multiplier (< 1) are weighed:

    - TFLite's normalized one (:func:`~accelsim.export.quantize.quantize_multipliers`,
      multiplier in ``[2^30, 2^31)``, right shift ``r``): it rounds twice (the high
      multiplication to an integer with ``r`` fraction bits, then ``RoundingDivideByPOT``),
      which differs from one rounding on a fraction ``2^-(r+1)`` of accumulator values;
    - shift 0, multiplier ``round(real · 2^31)``: one rounding; it differs only where the
      multiplier's own rounding error moves ``acc · real`` across a half-integer. A float32
      ``real >= 2^-8`` is then exact (its 24-bit significand fits 31 bits).

    Each one's expected mismatch is taken over accumulator values spread evenly over the
    outputs that survive the clamp (``|acc · real| <= R``, ``R`` half the grid's span from
    the zero point, plus 0.5): the double-rounding fraction plus the multiplier error's,
    ``R · |multiplier · 2^(shift − 31) − real| / (2 · real)`` (both estimates match exhaustive
    counts, docs/interop.md). The smaller wins (ties: shift 0).
    Ties of ``acc · real`` on a half-integer still round away from zero (ONNX Runtime: to even).
    """
    m_t, s_t = quantize_multipliers(reals)
    reach = max(grid["zero_point"] - grid["min"], grid["max"] - grid["zero_point"]) + 0.5
    mult, shift = m_t.copy(), s_t.copy()
    for i, real in enumerate(np.ravel(reals)):
        if not 0.0 < real < 1.0:
            continue
        m0 = math.floor(real * 2.0 ** 31 + 0.5)
        if m0 > (1 << 31) - 1:
            continue
        err0 = reach * abs(m0 / 2.0 ** 31 - real) / (2 * real)
        r = -int(s_t.flat[i])
        err_t = (2.0 ** -(r + 1) if r > 0 else 0.0) + \
            reach * abs(int(m_t.flat[i]) * 2.0 ** (-r - 31) - real) / (2 * real)
        if err0 <= err_t:
            mult.flat[i], shift.flat[i] = m0, 0
    return mult, shift


def quantize_input(grid: dict, data: np.ndarray) -> np.ndarray:
    """ONNX QuantizeLinear in float32, as ONNX Runtime computes it: round half to even of
    ``x / scale``, plus the zero point, saturated (codes as int64)."""
    q = np.rint(np.asarray(data, np.float32) / np.float32(grid["scale"])).astype(np.int64)
    return np.clip(q + grid["zero_point"], grid["min"], grid["max"])


def convert(model_path: str, data: np.ndarray, labels: np.ndarray | None = None,
            ) -> tuple[str, list[Layer], dict[str, Any], dict[str, Any] | None]:
    """Convert a quantized ONNX model evaluated on float ``data`` (batch first).

    Returns (name, layers with their reference ``x`` and ``y``, source with the host graph,
    accuracy or None). Raises OnnxImportError for a graph outside the supported forms.
    """
    import onnx

    try:
        model = onnx.load(model_path)
    except Exception as exc:  # onnx raises DecodeError, OSError, ValueError…
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise OnnxImportError(model_path, "", "a readable ONNX model",
                              f"{type(exc).__name__}: {first}") from None
    conv = _Converter(model, model_path)
    declared = next(i for i in model.graph.input if i.name == conv.input)
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in declared.type.tensor_type.shape.dim]
    if len(dims) != data.ndim or any(d not in (None, s) for d, s in zip(dims[1:], data.shape[1:])):
        raise OnnxImportError(model_path, f"input {conv.input!r}", f"data of shape "
                              f"{['N' if d is None else d for d in dims]}", list(data.shape))
    conv.run()
    if not conv.layers:
        raise OnnxImportError(model_path, "graph", "at least one quantized Conv, Gemm or MatMul")
    graph = {"version": host.GRAPH_VERSION, "nodes": conv.nodes, "output": conv.output()}
    try:
        host.check_graph(graph, list(conv.layers))
        chain = host.output_chain(graph)
    except ValueError as exc:
        raise OnnxImportError(model_path, "graph", "a network whose output comes from its last "
                              "array layer through unary ops", str(exc)) from None
    input_q = quantize_input(conv.nodes[0]["grid"], data)
    try:
        _, xs, ys = host.run_graph(graph, conv.layers, input_q)
    except ValueError as exc:
        raise OnnxImportError(model_path, "graph", "shapes that fit the data", str(exc)) from None
    layers = [host._with_x(layer, xs[n]) for n, layer in conv.layers.items()]
    layers = [Layer(l.name, l.op, l.x, l.w, ys[l.name], l.x_bits, l.w_bits, l.x_signed,
                    l.w_signed, l.stride, l.padding, l.dilation, l.groups, l.quant)
              for l in layers]
    source = {"generator": "accelsim import-onnx", "onnx_file": model_path.rsplit("/", 1)[-1],
              "producer": f"{model.producer_name} {model.producer_version}".strip(),
              "opsets": {o.domain or "ai.onnx": int(o.version) for o in model.opset_import},
              "host_stage": "source.graph, executed by accelsim.export.host.run_graph",
              "onnx_tensors": conv.tensors, "graph": graph}
    accuracy = None
    if labels is not None:
        last = next(layer for layer in layers if layer.name == chain[0]["layer"])
        pred = host.predictions(graph, last, last.y)
        accuracy = {"quantized": float(np.mean(pred == labels)), "samples": int(len(labels)),
                    "metric": "top-1"}
    return model.graph.name or "onnx", layers, source, accuracy


def import_onnx(model_path: str, data_path: str, labels_path: str | None) -> tuple[bytes, str]:
    """``accelsim import-onnx``: the workload file's bytes and a one-line summary."""
    from accelsim.interop.files import load_npy, workload_bytes

    data = load_npy(data_path, "--data", "float")
    if data.ndim < 2 or data.shape[0] < 1:
        raise AccelsimError(data_path, "--data", "a batch of model inputs [N, ...]",
                            list(data.shape))
    labels = None
    if labels_path is not None:
        labels = load_npy(labels_path, "--labels", "int")
        if labels.shape != (data.shape[0],):
            raise AccelsimError(labels_path, "--labels", f"one label per sample, shape "
                                f"[{data.shape[0]}]", list(labels.shape))
        labels = labels.astype(np.int64)
    name, layers, source, accuracy = convert(model_path, data, labels)
    blob = workload_bytes(name, layers, source, labels=labels, accuracy=accuracy)
    hosts = sum(n["op"] != "layer" for n in source["graph"]["nodes"])
    summary = f"{len(layers)} layers (lsqplus), {hosts} host nodes, {data.shape[0]} samples"
    if accuracy is not None:
        summary += f"; top-1 of the integer pipeline {accuracy['quantized']:.4f}"
    return blob, summary
