"""Capture a PyTorch network as a small float graph of the operations accelsim can export.

Two front ends produce the same :class:`FloatGraph`: an ``nn.Module`` is traced with
``torch.fx`` (which sees functional ops such as ``torch.relu``, ``x + y`` and ``x.view`` between
layers, unlike forward hooks), a TorchScript file is read from its inlined TorchScript graph (where
Python hooks never fire). BatchNorm is folded into the conv2d/linear it follows. The graph is then
evaluated in float32 with ``torch.nn.functional`` (:func:`evaluate`), and checked against the
model's own forward pass by the exporter, so a capture that misread the network cannot go unnoticed.

Supported: Conv2d (zero padding), Linear, BatchNorm1d/2d right after one of them, ReLU, MaxPool2d,
AvgPool2d (no padding), AdaptiveAvgPool2d (output size dividing the input), Flatten / view /
reshape to ``[N, -1]``, the sum of two tensors (residual add), Dropout and Identity. Anything else
raises :class:`ExportError` naming the module or operation.
"""

from __future__ import annotations

import operator
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from accelsim.errors import AccelsimError

SUPPORTED = (
    "Conv2d, Linear, BatchNorm1d/2d (folded into the conv2d/linear before it), ReLU, MaxPool2d, "
    "AvgPool2d, AdaptiveAvgPool2d, Flatten, residual add, Dropout, Identity"
)


class ExportError(AccelsimError):
    """A network, its data or an export option cannot be exported (names what and why)."""


@dataclass
class Node:
    """One operation of a :class:`FloatGraph`.

    ``op`` is one of ``input conv2d linear batchnorm relu maxpool2d avgpool2d adaptive_avgpool2d
    flatten add identity``; ``attrs`` holds its parameters (weights as float64 NumPy arrays).
    """

    name: str
    op: str
    inputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class FloatGraph:
    """Nodes in topological order, one ``input`` node, and the name of the output node."""

    nodes: list[Node]
    output: str
    source: str

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def consumers(self, name: str) -> list[Node]:
        """Nodes that read ``name`` (the output counts as a consumer named ``<output>``)."""
        out = [n for n in self.nodes if name in n.inputs]
        if name == self.output:
            out.append(Node("<output>", "output", [name]))
        return out


def _unsupported(source: str, what: str, got: str) -> ExportError:
    return ExportError(source, what, f"a supported layer ({SUPPORTED})", got)


def _np(t: Any) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().double().numpy().copy()


def _pair(v: Any) -> list[int]:
    return [int(v), int(v)] if isinstance(v, int) else [int(e) for e in v]


# ------------------------------------------------------------------------------ nn.Module


def _module_node(name: str, m: Any, inputs: list[str], source: str) -> Node:
    """The graph node for a leaf ``torch.nn`` module (``name`` = its path in the model)."""
    import torch.nn as nn

    if type(m) is nn.Conv2d:
        if m.padding_mode != "zeros":
            raise _unsupported(source, f"module {name!r}",
                               f"Conv2d with padding_mode={m.padding_mode!r}")
        padding = m.padding
        if isinstance(padding, str):  # 'valid' or 'same' (stride 1)
            padding = [0, 0] if padding == "valid" else [
                d * (k - 1) // 2 for d, k in zip(m.dilation, m.kernel_size)
            ]
            if any(d * (k - 1) % 2 for d, k in zip(m.dilation, m.kernel_size)):
                raise _unsupported(source, f"module {name!r}", "Conv2d padding='same' (asymmetric)")
        return Node(name, "conv2d", inputs, {
            "weight": _np(m.weight), "bias": _np(m.bias), "stride": _pair(m.stride),
            "padding": _pair(padding), "dilation": _pair(m.dilation), "groups": int(m.groups),
        })  # fmt: skip
    if type(m) is nn.Linear:
        return Node(name, "linear", inputs, {"weight": _np(m.weight), "bias": _np(m.bias)})
    if type(m) in (nn.BatchNorm1d, nn.BatchNorm2d):
        if m.running_mean is None:
            raise _unsupported(source, f"module {name!r}", "BatchNorm without running statistics")
        return Node(name, "batchnorm", inputs, _bn_attrs(
            m.weight, m.bias, m.running_mean, m.running_var, m.eps))  # fmt: skip
    if type(m) is nn.ReLU:
        return Node(name, "relu", inputs)
    if type(m) is nn.MaxPool2d:
        return _maxpool(name, inputs, m.kernel_size, m.stride, m.padding, m.dilation,
                        m.ceil_mode or m.return_indices, source)
    if type(m) is nn.AvgPool2d:
        return _avgpool(name, inputs, m.kernel_size, m.stride, m.padding, m.ceil_mode,
                        m.divisor_override, source)
    if type(m) is nn.AdaptiveAvgPool2d:
        return Node(name, "adaptive_avgpool2d", inputs, {"output_size": m.output_size})
    if type(m) is nn.Flatten:
        if m.start_dim != 1 or m.end_dim != -1:
            raise _unsupported(source, f"module {name!r}", "Flatten not from dim 1 to -1")
        return Node(name, "flatten", inputs)
    if type(m) in (nn.Dropout, nn.Identity):
        return Node(name, "identity", inputs)
    raise _unsupported(source, f"module {name!r}", type(m).__name__)


def _bn_attrs(weight: Any, bias: Any, mean: Any, var: Any, eps: float) -> dict[str, Any]:
    """BatchNorm in eval mode as ``y = scale · x + shift`` per channel."""
    mean_, var_ = _np(mean), _np(var)
    gamma = np.ones_like(mean_) if weight is None else _np(weight)
    beta = np.zeros_like(mean_) if bias is None else _np(bias)
    scale = gamma / np.sqrt(var_ + float(eps))
    return {"scale": scale, "shift": beta - mean_ * scale}


def _maxpool(name: str, inputs: list[str], kernel: Any, stride: Any, padding: Any,
             dilation: Any, unsupported_mode: bool, source: str) -> Node:
    if unsupported_mode:
        raise _unsupported(source, f"module {name!r}", "MaxPool2d with ceil_mode or return_indices")
    stride = kernel if stride is None or stride == [] else stride
    return Node(name, "maxpool2d", inputs, {
        "kernel": _pair(kernel), "stride": _pair(stride), "padding": _pair(padding),
        "dilation": _pair(dilation),
    })  # fmt: skip


def _avgpool(name: str, inputs: list[str], kernel: Any, stride: Any, padding: Any,
             ceil_mode: bool, divisor: Any, source: str) -> Node:
    stride = kernel if stride is None or stride == [] else stride
    if any(_pair(padding)) or ceil_mode or divisor is not None:
        raise _unsupported(source, f"module {name!r}",
                           "AvgPool2d with padding, ceil_mode or divisor_override")
    return Node(name, "avgpool2d", inputs, {"kernel": _pair(kernel), "stride": _pair(stride)})


def from_module(model: Any, source: str) -> FloatGraph:
    """Trace an ``nn.Module`` with ``torch.fx`` into a :class:`FloatGraph` (BatchNorm folded).

    Raises
    ------
    ExportError
        The model cannot be traced, or uses a module or function outside :data:`SUPPORTED`.
    """
    import torch
    import torch.fx
    import torch.nn.functional as F

    model.eval()
    try:
        gm = torch.fx.symbolic_trace(model)
    except Exception as e:  # torch.fx raises many types for untraceable code
        raise ExportError(source, "model", "a network torch.fx can trace (no data-dependent "
                          "Python control flow)", f"{type(e).__name__}: {e}") from None
    modules = dict(gm.named_modules())
    nodes: list[Node] = []
    shape_ops: set[str] = set()
    output = None
    relus = (torch.relu, F.relu, torch.relu_)
    adds = (operator.add, operator.iadd, torch.add)
    for n in gm.graph.nodes:
        count = len(nodes)
        tensor_args = [a.name for a in n.args if isinstance(a, torch.fx.Node)]
        tensors = [a for a in tensor_args if a not in shape_ops]
        if n.op == "placeholder":
            if any(x.op == "input" for x in nodes):
                raise ExportError(source, f"input {n.name!r}", "a network with one input tensor")
            nodes.append(Node(n.name, "input", []))
        elif n.op == "call_module":
            nodes.append(_module_node(n.target, modules[n.target], tensors, source))
        elif n.op == "call_function":
            fn, what = n.target, f"function {getattr(n.target, '__name__', n.target)!s}"
            if fn in relus:
                nodes.append(Node(n.name, "relu", tensors[:1]))
            elif fn in adds and len(tensors) == 2 and len(n.args) == 2 and not n.kwargs:
                nodes.append(Node(n.name, "add", tensors))
            elif fn is torch.flatten and _flatten_from_1(n.args[1:], n.kwargs):
                nodes.append(Node(n.name, "flatten", tensors[:1]))
            elif fn is F.max_pool2d:
                a = _call_args(n, ("input", "kernel_size", "stride", "padding", "dilation",
                                   "ceil_mode", "return_indices"), (None, None, None, 0, 1, False,
                                                                    False))
                nodes.append(_maxpool(n.name, tensors[:1], a[1], a[2], a[3], a[4],
                                      a[5] or a[6], source))
            elif fn is F.avg_pool2d:
                a = _call_args(n, ("input", "kernel_size", "stride", "padding", "ceil_mode",
                                   "count_include_pad", "divisor_override"),
                               (None, None, None, 0, False, True, None))
                nodes.append(_avgpool(n.name, tensors[:1], a[1], a[2], a[3], a[4], a[6], source))
            elif fn is F.adaptive_avg_pool2d:
                size = _call_args(n, ("input", "output_size"), (None, None))[1]
                nodes.append(Node(n.name, "adaptive_avgpool2d", tensors[:1], {"output_size": size}))
            elif fn is F.dropout:
                nodes.append(Node(n.name, "identity", tensors[:1]))
            elif fn is getattr and n.args[1] == "shape":
                shape_ops.add(n.name)
            elif fn is operator.getitem and tensor_args and tensor_args[0] in shape_ops:
                shape_ops.add(n.name)
            else:
                raise _unsupported(source, what, f"{what} at {n.name!r}")
        elif n.op == "call_method":
            if n.target in ("relu", "relu_"):
                nodes.append(Node(n.name, "relu", tensors[:1]))
            elif n.target == "size":
                shape_ops.add(n.name)
            elif n.target in ("view", "reshape"):
                nodes.append(Node(n.name, "flatten", tensors[:1], {"reshape": True}))
            elif n.target == "flatten" and _flatten_from_1(n.args[1:], n.kwargs):
                nodes.append(Node(n.name, "flatten", tensors[:1]))
            elif n.target in ("add", "add_") and len(tensors) == 2 and not n.kwargs:
                nodes.append(Node(n.name, "add", tensors))
            elif n.target == "contiguous":
                nodes.append(Node(n.name, "identity", tensors[:1]))
            else:
                raise _unsupported(source, f"method .{n.target}()", f"tensor method {n.target!r}")
        elif n.op == "get_attr":
            raise _unsupported(source, f"attribute {n.target!r}",
                               "a parameter used outside a supported module")
        elif n.op == "output":
            arg = n.args[0]
            if not isinstance(arg, torch.fx.Node):
                raise ExportError(source, "model output", "a single tensor (the logits)",
                                  type(arg).__name__)
            output = arg.name
        if len(nodes) > count:  # a node was added: unique name, remember its fx name
            node = nodes[-1]
            node.name = _unique(node.name, {x.name for x in nodes[:-1]})
            node.attrs["_fx_name"] = n.name
    return _finish(nodes, output, source)


def _unique(name: str, used: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``… if taken (a module called twice)."""
    out, k = name, 1
    while out in used:
        k += 1
        out = f"{name}_{k}"
    return out


def _flatten_from_1(args: tuple, kwargs: dict) -> bool:
    start = args[0] if args else kwargs.get("start_dim", 0)
    end = args[1] if len(args) > 1 else kwargs.get("end_dim", -1)
    return start == 1 and end == -1


def _call_args(n: Any, names: tuple[str, ...], defaults: tuple) -> list[Any]:
    out = list(defaults)
    for i, a in enumerate(n.args):
        out[i] = a
    for k, v in n.kwargs.items():
        if k in names:
            out[names.index(k)] = v
    return out


def _finish(nodes: list[Node], output: str | None, source: str) -> FloatGraph:
    """Resolve fx names to node names, fold BatchNorm, check the graph's shape."""
    alias = {n.attrs.pop("_fx_name", n.name): n.name for n in nodes}
    for n in nodes:
        n.inputs = [alias.get(i, i) for i in n.inputs]
    if output is None or alias.get(output, output) not in {n.name for n in nodes}:
        raise ExportError(source, "model output", "a tensor computed by the network", output)
    if not nodes or nodes[0].op != "input":
        raise ExportError(source, "model", "a network with one input tensor")
    graph = FloatGraph(nodes, alias.get(output, output), source)
    _fold_batchnorm(graph)
    return graph


def _fold_batchnorm(graph: FloatGraph) -> None:
    """Fold each BatchNorm into the conv2d/linear it directly follows (its only consumer)."""
    for bn in [n for n in graph.nodes if n.op == "batchnorm"]:
        prev = graph.node(bn.inputs[0])
        if prev.op not in ("conv2d", "linear") or len(graph.consumers(prev.name)) != 1:
            raise ExportError(graph.source, f"module {bn.name!r}",
                              "a BatchNorm directly after a conv2d/linear (it is folded into it)",
                              f"BatchNorm after {prev.op} {prev.name!r}")
        scale, shift = bn.attrs["scale"], bn.attrs["shift"]
        w = prev.attrs["weight"]
        prev.attrs["weight"] = w * scale.reshape((-1,) + (1,) * (w.ndim - 1))
        bias = prev.attrs["bias"] if prev.attrs["bias"] is not None else np.zeros(w.shape[0])
        prev.attrs["bias"] = bias * scale + shift
        prev.attrs["folded"] = bn.name
        for n in graph.nodes:
            n.inputs = [prev.name if i == bn.name else i for i in n.inputs]
        if graph.output == bn.name:
            graph.output = prev.name
        graph.nodes.remove(bn)


# ------------------------------------------------------------------------------ TorchScript


def from_torchscript(path: str) -> FloatGraph:
    """Read a TorchScript file (``torch.jit.save`` of a scripted or traced module).

    Raises
    ------
    ExportError
        Not a TorchScript file, or an operation outside :data:`SUPPORTED`.
    """
    import torch

    m = load_torchscript(path)
    m.eval()
    for name, sub in m.named_modules():
        kind = getattr(sub, "original_name", "")
        is_nn = isinstance(getattr(torch.nn, kind, None), type)
        if name and is_nn and kind not in _NN_LEAVES and not list(sub.children()):
            raise _unsupported(path, f"module {name!r}", kind)
    return _TorchScriptReader(m, path).graph()


def load_torchscript(path: str) -> Any:
    """``torch.jit.load`` on CPU, without torch's TorchScript deprecation warnings.

    Raises
    ------
    ExportError
        Not a TorchScript file.
    """
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.load(path, map_location="cpu")
    except Exception as e:  # RuntimeError / pickle errors for non-TorchScript files
        got = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        raise ExportError(path, "", "a TorchScript file (torch.jit.save of a scripted or "
                          "traced module)", got) from None


#: torch.nn classes the TorchScript reader understands (others are rejected by name up front).
_NN_LEAVES = (
    "Conv2d", "Linear", "BatchNorm1d", "BatchNorm2d", "ReLU", "MaxPool2d", "AvgPool2d",
    "AdaptiveAvgPool2d", "Flatten", "Dropout", "Identity",
)  # fmt: skip


class _Dynamic:
    """A non-tensor value only known at run time (sizes, flags)."""


class _TorchScriptReader:
    """Walks an inlined TorchScript graph; tensors become :class:`Node` names."""

    def __init__(self, module: Any, source: str) -> None:
        self.module = module
        self.source = source
        self.env: dict[int, Any] = {}  # value unique id -> python object / node name / _Dynamic
        self.paths: dict[int, str] = {}  # value unique id -> attribute path ("layer1.0.conv1")
        self.nodes: list[Node] = []
        self.names: set[str] = set()

    def graph(self) -> FloatGraph:
        g = self.module.inlined_graph
        ins = list(g.inputs())
        if len(ins) != 2:
            raise ExportError(self.source, "forward", "a forward(self, x) with one input tensor",
                              f"{len(ins) - 1} inputs")
        self.env[ins[0].unique()], self.paths[ins[0].unique()] = self.module, ""
        self.env[ins[1].unique()] = self._add(Node("input", "input", []))
        for n in g.nodes():
            self._node(n)
        outs = list(g.outputs())
        out = self.env.get(outs[0].unique()) if len(outs) == 1 else None
        if not isinstance(out, str):
            raise ExportError(self.source, "forward", "a single output tensor (the logits)")
        return _finish(self.nodes, out, self.source)

    def _add(self, node: Node) -> str:
        base, k = node.name, 1
        while node.name in self.names:
            k += 1
            node.name = f"{base}_{k}"
        self.names.add(node.name)
        self.nodes.append(node)
        return node.name

    def _arg(self, v: Any) -> Any:
        return self.env.get(v.unique(), _Dynamic())

    def _tensor(self, v: Any, kind: str) -> str:
        a = self._arg(v)
        if not isinstance(a, str):
            raise _unsupported(self.source, f"operation {kind}", f"{kind} on a constant tensor")
        return a

    def _node(self, n: Any) -> None:  # noqa: C901 — one branch per TorchScript op
        import torch

        kind, ins, outs = n.kind(), list(n.inputs()), list(n.outputs())
        is_tensor = [o.type().kind() == "TensorType" for o in outs]
        if kind == "prim::Constant":
            self.env[outs[0].unique()] = outs[0].toIValue() if n.attributeNames() else None
            return
        if kind == "prim::GetAttr":
            obj, attr = self._arg(ins[0]), n.s("name")
            self.env[outs[0].unique()] = getattr(obj, attr, _Dynamic())
            parent = self.paths.get(ins[0].unique(), "")
            self.paths[outs[0].unique()] = f"{parent}.{attr}" if parent else attr
            return
        if kind in ("prim::ListConstruct", "prim::TupleConstruct"):
            self.env[outs[0].unique()] = [self._arg(i) for i in ins]
            return
        if kind == "prim::If" and not outs:
            return  # an input check that raises (e.g. BatchNorm's dimension check)
        if not any(is_tensor):
            if kind.startswith("prim::If") or kind.startswith("prim::Loop"):
                raise _unsupported(self.source, f"operation {kind}", "data-dependent control flow")
            for o in outs:
                self.env[o.unique()] = _Dynamic()
            return
        a = [self._arg(i) for i in ins]
        where = n.scopeName().replace("__module.", "") or kind
        name = None
        if kind in ("aten::conv2d", "aten::_convolution"):
            if kind == "aten::_convolution" and a[6]:
                raise _unsupported(self.source, f"operation {where!r}", "transposed convolution")
            groups = a[6] if kind == "aten::conv2d" else a[8]
            name = self._param_name(ins[1], where)
            node = Node(name, "conv2d", [self._tensor(ins[0], kind)], {
                "weight": _np(a[1]), "bias": _np(a[2]) if isinstance(a[2], torch.Tensor) else None,
                "stride": _pair(a[3]), "padding": _pair(a[4]), "dilation": _pair(a[5]),
                "groups": int(groups),
            })  # fmt: skip
        elif kind == "aten::linear":
            name = self._param_name(ins[1], where)
            node = Node(name, "linear", [self._tensor(ins[0], kind)], {
                "weight": _np(a[1]), "bias": _np(a[2]) if isinstance(a[2], torch.Tensor) else None,
            })  # fmt: skip
        elif kind == "aten::batch_norm":
            if a[5] is True:
                raise _unsupported(self.source, f"operation {where!r}",
                                   "BatchNorm in training mode")
            node = Node(self._param_name(ins[3], where), "batchnorm", [self._tensor(ins[0], kind)],
                        _bn_attrs(a[1], a[2], a[3], a[4], a[7]))
        elif kind in ("aten::relu", "aten::relu_"):
            node = Node("relu", "relu", [self._tensor(ins[0], kind)])
        elif kind == "aten::max_pool2d":
            node = _maxpool("maxpool", [self._tensor(ins[0], kind)], a[1], a[2], a[3], a[4],
                            a[5], self.source)
        elif kind == "aten::avg_pool2d":
            node = _avgpool("avgpool", [self._tensor(ins[0], kind)], a[1], a[2], a[3], a[4],
                            a[6], self.source)
        elif kind == "aten::adaptive_avg_pool2d":
            node = Node("avgpool", "adaptive_avgpool2d", [self._tensor(ins[0], kind)],
                        {"output_size": a[1]})
        elif kind == "aten::flatten" and a[1] == 1 and a[2] == -1:
            node = Node("flatten", "flatten", [self._tensor(ins[0], kind)])
        elif kind in ("aten::view", "aten::reshape"):
            node = Node("flatten", "flatten", [self._tensor(ins[0], kind)], {"reshape": True})
        elif kind in ("aten::add", "aten::add_") and len(a) == 3 and a[2] == 1 and all(
            isinstance(t, str) for t in a[:2]
        ):
            node = Node("add", "add", [a[0], a[1]])
        elif kind in ("aten::dropout", "aten::dropout_", "aten::contiguous", "aten::detach"):
            node = Node("identity", "identity", [self._tensor(ins[0], kind)])
        else:
            raise _unsupported(self.source, f"operation {where!r}", kind)
        self.env[outs[0].unique()] = self._add(node)

    def _param_name(self, weight: Any, where: str) -> str:
        """The layer's module path, from its weight's attribute path (``conv1.weight``)."""
        path = self.paths.get(weight.unique(), "")
        return path.rsplit(".", 1)[0] if "." in path else (path or where)


# ------------------------------------------------------------------------------ evaluation


def evaluate(graph: FloatGraph, x: Any) -> dict[str, Any]:
    """Run the graph in float32 on a batch ``x`` (a torch tensor); every node's output tensor.

    Raises
    ------
    ExportError
        A reshape that is not a flatten to ``[N, -1]``, or an adaptive pool whose output size does
        not divide its input.
    """
    import torch
    import torch.nn.functional as F

    v: dict[str, Any] = {}
    with torch.no_grad():
        for n in graph.nodes:
            a = n.attrs
            ins = [v[i] for i in n.inputs]
            if n.op == "input":
                out = x
            elif n.op == "conv2d":
                out = F.conv2d(ins[0], _t(a["weight"]), _t(a["bias"]), a["stride"], a["padding"],
                               a["dilation"], a["groups"])
            elif n.op == "linear":
                if ins[0].ndim != 2:
                    raise ExportError(graph.source, f"layer {n.name!r}",
                                      "a linear layer on [N, features] inputs",
                                      f"input shape {list(ins[0].shape)}")
                out = F.linear(ins[0], _t(a["weight"]), _t(a["bias"]))
            elif n.op == "relu":
                out = torch.relu(ins[0])
            elif n.op == "maxpool2d":
                out = F.max_pool2d(ins[0], a["kernel"], a["stride"], a["padding"], a["dilation"])
            elif n.op == "avgpool2d":
                out = F.avg_pool2d(ins[0], a["kernel"], a["stride"])
            elif n.op == "adaptive_avgpool2d":
                _adaptive_to_fixed(graph, n, ins[0].shape)
                out = F.avg_pool2d(ins[0], n.attrs["kernel"], n.attrs["stride"])
            elif n.op == "flatten":
                out = ins[0].reshape(ins[0].shape[0], -1)
            elif n.op == "add":
                out = ins[0] + ins[1]
            elif n.op == "identity":
                out = ins[0]
            else:  # pragma: no cover - capture only creates the ops above
                raise ExportError(graph.source, f"node {n.name!r}", "a known op", n.op)
            v[n.name] = out
    return v


def _adaptive_to_fixed(graph: FloatGraph, n: Node, shape: Any) -> None:
    """Turn an adaptive average pool into a fixed one for this input size (once)."""
    size = n.attrs["output_size"]
    size = _pair(size) if size is not None else [int(shape[2]), int(shape[3])]
    size = [int(shape[2 + i]) if s is None else int(s) for i, s in enumerate(size)]
    h, w = int(shape[2]), int(shape[3])
    if h % size[0] or w % size[1]:
        raise ExportError(graph.source, f"layer {n.name!r}",
                          "an AdaptiveAvgPool2d whose output size divides its input size",
                          f"{h}x{w} -> {size[0]}x{size[1]}")
    kernel = [h // size[0], w // size[1]]
    if "kernel" in n.attrs and n.attrs["kernel"] != kernel:
        raise ExportError(graph.source, f"layer {n.name!r}", "one input size for every sample")
    n.attrs["kernel"], n.attrs["stride"] = kernel, kernel


def _t(a: np.ndarray | None) -> Any:
    import torch

    return None if a is None else torch.from_numpy(np.asarray(a, dtype=np.float32))
