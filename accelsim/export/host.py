"""The host stage of an exported network: everything between two array layers, in integers.

NumPy only (no torch), so anyone holding a workload file can re-run its integer pipeline: the
exporter stores the *host graph* in the manifest (``source["graph"]``) and this module executes it.
An exported network runs as: quantize the input once (float → integer, :class:`Grid`), then per
node in topological order

- ``layer``   the accelerator's layer: ``x = value(input) + x_offset``; ``y`` = what the array
  computes (:func:`layer_output`); then on the host
  ``acc = y − x_offset · Σ_window w`` (undoes the unsigned-offset trick, border-exact), and
  ``requant`` — none (lsqplus: ``y`` is already requantized; the value is ``y``), ``{"bias"}``
  only (the logits: ``acc + bias``), or ``{"bias", "multiplier", "shift"}``:
  ``q = clamp(z + MultiplyByQuantizedMultiplier(acc + bias[o], multiplier[o], shift[o]), min, max)``
  on the node's output ``grid`` (a ReLU right after the layer is this clamp at ``z``);
- ``relu``    ``max(q, z)``;            ``maxpool2d`` max over the window (padding never wins);
- ``avgpool2d`` ``floor((2·Σq + n) / 2n)`` — the window mean rounded half up;
- ``flatten`` ``[N, …] → [N, prod]``;    ``identity`` (dropout in eval mode);
- ``add``     ``clamp(z + RoundingDivideByPOT(Σ_i MBQM((q_i − z_i)·2^L, m_i, s_i), L), min, max)``
  with ``L = left_shift`` (TFLite's ADD: both inputs rescaled to the output grid with ``L`` extra
  fraction bits, summed, rounded once).

MBQM is TFLite's MultiplyByQuantizedMultiplier (:mod:`accelsim.fixedpoint`; a left shift that
leaves int32 raises ``OverflowError``). The network's
prediction is ``argmax`` over the output node's value flattened per sample (:func:`predictions`).

One driver, :func:`run_graph`, executes the graph for both users: the exporter (the array's
output is the exact :func:`layer_output`, giving every layer's reference ``x`` and ``y``) and
``accelsim run --chain`` (:func:`run_chained`: the array's output is the simulator's, so every
layer after the first is fed by the host stage applied to simulated outputs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from accelsim.fixedpoint import multiply_by_quantized_multiplier, rounding_divide_by_pot
from accelsim.workload.npz import Layer, value_range

GRAPH_VERSION = 1
_EXACT_FLOAT = float(1 << 52)


# ----------------------------------------------------------------------------- array layers


def int_conv2d(
    x: np.ndarray,
    w: np.ndarray,
    stride: Sequence[int] = (1, 1),
    padding: Sequence[int] = (0, 0),
    dilation: Sequence[int] = (1, 1),
    groups: int = 1,
    pad_value: int = 0,
) -> np.ndarray:
    """Exact int64 ``conv2d`` (PyTorch semantics) of integer ``x`` [N, C, H, W] and ``w``.

    Uses a float64 GEMM when every partial sum stays below 2^52 (then it is exact whatever the
    summation order), else an int64 einsum.
    """
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    o, cg, kh, kw = w.shape
    xp = np.pad(np.asarray(x), ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    win = sliding_window_view(xp, span, axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]
    bound = float(np.abs(xp).max(initial=0)) * float(np.abs(w).max(initial=0)) * cg * kh * kw
    exact_float = bound < _EXACT_FLOAT
    dtype = np.float64 if exact_float else np.int64
    og = o // groups
    outs = []
    for g in range(groups):
        xs = win[:, g * cg : (g + 1) * cg].astype(dtype)  # [N, cg, Ho, Wo, kh, kw]
        ws = np.asarray(w[g * og : (g + 1) * og], dtype=dtype)  # [og, cg, kh, kw]
        if exact_float:
            outs.append(np.tensordot(xs, ws, axes=([1, 4, 5], [1, 2, 3])))  # [N, Ho, Wo, og]
        else:
            outs.append(np.einsum("nchwij,ocij->nhwo", xs, ws))
    y = np.concatenate(outs, axis=3).transpose(0, 3, 1, 2)
    return np.rint(y).astype(np.int64) if exact_float else y.astype(np.int64)


def int_linear(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Exact int64 ``x @ w.T`` (x [N, K], w [O, K])."""
    bound = float(np.abs(x).max(initial=0)) * float(np.abs(w).max(initial=0)) * x.shape[1]
    if bound < _EXACT_FLOAT:
        return np.rint(np.asarray(x, np.float64) @ np.asarray(w, np.float64).T).astype(np.int64)
    return np.asarray(x, np.int64) @ np.asarray(w, np.int64).T


def accumulate(layer: Layer, x: np.ndarray, x_zero: int = 0, w_zero: Any = 0) -> np.ndarray:
    """Exact ``Σ (x − x_zero)(w − w_zero)`` of ``layer``'s op on ``x`` (padding encodes 0)."""
    w = np.asarray(layer.w, dtype=np.int64)
    if not np.isscalar(w_zero) or w_zero != 0:
        w = w - np.asarray(w_zero, dtype=np.int64).reshape((-1,) + (1,) * (w.ndim - 1))
    xs = np.asarray(x, dtype=np.int64) - x_zero
    if layer.op == "conv2d":
        return int_conv2d(xs, w, layer.stride, layer.padding, layer.dilation, layer.groups)
    if layer.op == "linear":
        return int_linear(xs, w)
    return int_linear(xs, w.T)  # gemm: w is [K, N]


def layer_output(layer: Layer, x: np.ndarray | None = None) -> np.ndarray:
    """The exact integer output the accelerator must produce for ``layer``
    (docs/reference/workload.md, docs/datapath.md).

    ``int`` and ``pann``: the accumulator sum ``Σ x·w``. ``lsqplus``:
    ``clamp(z_y + MBQM(Σ(x − z_x)(w − z_w) + bias, multiplier, shift), y range)``.

    Parameters
    ----------
    layer : Layer
    x : numpy.ndarray, optional
        Inputs to use instead of ``layer.x``.
    """
    x = layer.x if x is None else x
    q = layer.quant
    if q.get("scheme", "int") != "lsqplus":
        return accumulate(layer, x)
    acc = accumulate(layer, x, q["x_zero_point"], q["w_zero_point"])
    shape = (1, -1) + (1,) * (acc.ndim - 2)
    bias = np.asarray(q["bias"], dtype=np.int64).reshape(shape)
    mult = np.asarray(q["multiplier"], dtype=np.int64).reshape(shape)
    shift = np.asarray(q["shift"], dtype=np.int64).reshape(shape)
    y = q["y_zero_point"] + multiply_by_quantized_multiplier(acc + bias, mult, shift,
                                                             overflow="raise")
    return np.clip(y, *value_range(q["y_bits"], q["y_signed"]))


def window_sums(layer: Layer, batch_shape: tuple[int, ...]) -> np.ndarray:
    """``Σ w`` over the taps that fall on real (unpadded) inputs, per output element, [1, O, …]."""
    w = np.asarray(layer.w, dtype=np.int64)
    if layer.op == "conv2d":
        ones = np.ones((1, *batch_shape[1:]), dtype=np.int64)
        return int_conv2d(ones, w, layer.stride, layer.padding, layer.dilation, layer.groups)
    return (w.sum(axis=1) if layer.op == "linear" else w.sum(axis=0))[None, :]


# -------------------------------------------------------------------------------- host ops


def _channel(values: Sequence[int], ndim: int) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).reshape((1, -1) + (1,) * (ndim - 2))


def after_layer(node: Mapping[str, Any], layer: Layer, y: np.ndarray) -> np.ndarray:
    """The host stage after an array layer: offset correction, then requantization (module doc)."""
    acc = np.asarray(y, dtype=np.int64)
    if node.get("x_offset", 0):
        acc = acc - node["x_offset"] * window_sums(layer, layer.x.shape)
    requant = node.get("requant")
    if requant is None:
        return acc
    biased = acc + _channel(requant["bias"], acc.ndim)
    if "multiplier" not in requant:
        return biased
    grid = node["grid"]
    mult, shift = _channel(requant["multiplier"], acc.ndim), _channel(requant["shift"], acc.ndim)
    q = grid["zero_point"] + multiply_by_quantized_multiplier(biased, mult, shift,
                                                              overflow="raise")
    return np.clip(q, grid["min"], grid["max"])


def max_pool(q: np.ndarray, kernel: Sequence[int], stride: Sequence[int],
             padding: Sequence[int], dilation: Sequence[int]) -> np.ndarray:
    """Integer max pooling (PyTorch semantics, ``ceil_mode=False``; padding never wins)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    xp = np.pad(q, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=np.iinfo(np.int64).min)
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    win = sliding_window_view(xp, span, axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]
    return win.max(axis=(4, 5))


def avg_pool(q: np.ndarray, kernel: Sequence[int], stride: Sequence[int]) -> np.ndarray:
    """Integer average pooling without padding: window mean rounded half up,
    ``floor((2·Σ + n) / 2n)``."""
    (kh, kw), (sh, sw) = kernel, stride
    win = sliding_window_view(q, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    n = kh * kw
    return (2 * win.sum(axis=(4, 5), dtype=np.int64) + n) // (2 * n)


def add(node: Mapping[str, Any], inputs: Sequence[np.ndarray], grids: Sequence[dict]) -> np.ndarray:
    """Integer residual add onto the node's output grid (module doc)."""
    left = node["left_shift"]
    total = 0
    for q, g, m, s in zip(inputs, grids, node["multiplier"], node["shift"]):
        shifted = (np.asarray(q, dtype=np.int64) - g["zero_point"]) << left
        total = total + multiply_by_quantized_multiplier(shifted, np.int64(m), np.int64(s),
                                                         overflow="raise")
    grid = node["grid"]
    out = grid["zero_point"] + rounding_divide_by_pot(total, np.int64(left))
    return np.clip(out, grid["min"], grid["max"])


def _unary(node: Mapping[str, Any], v: np.ndarray) -> np.ndarray:
    op = node["op"]
    if op == "relu":
        return np.maximum(v, node["grid"]["zero_point"])
    if op == "maxpool2d":
        return max_pool(v, node["kernel"], node["stride"], node["padding"], node["dilation"])
    if op == "avgpool2d":
        return avg_pool(v, node["kernel"], node["stride"])
    if op == "flatten":
        return v.reshape(v.shape[0], -1)
    if op == "identity":
        return v
    raise ValueError(f"host graph node {node['name']!r}: unknown op {op!r}")


# ------------------------------------------------------------------------------ the graph


def run_graph(
    graph: Mapping[str, Any],
    layers: Mapping[str, Layer],
    input_q: np.ndarray | None,
    compute: Callable[[Layer, np.ndarray], np.ndarray] | None = None,
    given_x: Mapping[str, np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Execute a host graph on an integer input: the one driver of the integer pipeline.

    The exporter runs it with the default ``compute`` to make every layer's reference ``x`` and
    ``y``; ``accelsim run --chain`` (:func:`run_chained`) runs it with the simulator as
    ``compute``, so each layer's ``x`` comes from the *simulated* outputs of the earlier layers.

    Parameters
    ----------
    graph : mapping
        ``{"version": 1, "nodes": [...], "output": name}`` (module doc).
    layers : mapping of str to Layer
        The array layers by name (their ``w``, conv parameters and ``quant`` are used).
    input_q : numpy.ndarray or None
        The ``input`` node's integer value; may be None when ``given_x`` makes it unnecessary.
    compute : callable, optional
        ``compute(layer, x) -> y``, the array's output; ``layer`` is the named layer with inputs
        ``x`` (and no ``y``). Default :func:`layer_output`.
    given_x : mapping of str to numpy.ndarray, optional
        Array layers whose ``x`` (offset included) is given rather than computed from their input
        node; nodes needed only to compute those inputs are not evaluated.

    Returns
    -------
    (values, xs, ys) : three dicts
        The value of every evaluated node; every array layer's ``x`` and ``y`` by layer name.

    Raises
    ------
    ValueError
        The graph needs the network input but ``input_q`` is None.
    """
    compute = layer_output if compute is None else compute
    given_x = {} if given_x is None else given_x
    nodes = graph["nodes"]
    needed = _needed(graph, given_x)
    grids: dict[str, dict] = {}
    for node in nodes:  # the grid of every node, evaluated or not (add needs its inputs' grids)
        grids[node["name"]] = node.get("grid") or grids.get(node.get("input", ""), {})
    values: dict[str, np.ndarray] = {}
    xs: dict[str, np.ndarray] = {}
    ys: dict[str, np.ndarray] = {}
    for node in nodes:
        name, op = node["name"], node["op"]
        if name not in needed:
            continue
        if op == "input":
            if input_q is None:
                raise ValueError(f"host graph: the network input (node {name!r}) is needed")
            values[name] = np.asarray(input_q, dtype=np.int64)
        elif op == "layer":
            layer = layers[node["layer"]]
            if layer.name in given_x:
                x = np.asarray(given_x[layer.name], dtype=np.int64)
            else:
                x = values[node["input"]] + node.get("x_offset", 0)
            layer = _with_x(layer, x)
            y = np.asarray(compute(layer, x), dtype=np.int64)
            xs[layer.name], ys[layer.name] = x, y
            values[name] = after_layer(node, layer, y)
        elif op == "add":
            ins = node["inputs"]
            values[name] = add(node, [values[i] for i in ins], [grids[i] for i in ins])
        else:
            values[name] = _unary(node, values[node["input"]])
    return values, xs, ys


def _needed(graph: Mapping[str, Any], given_x: Mapping[str, np.ndarray]) -> set[str]:
    """Names of the nodes to evaluate: the output and every array layer, with what they read
    (a layer in ``given_x`` reads nothing)."""
    by_name = {n["name"]: n for n in graph["nodes"]}
    todo = [graph["output"], *(n["name"] for n in graph["nodes"] if n["op"] == "layer")]
    needed: set[str] = set()
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        node = by_name[name]
        if node["op"] == "layer" and node["layer"] in given_x:
            continue
        todo += node.get("inputs", []) or ([node["input"]] if "input" in node else [])
    return needed


def run_chained(
    graph: Mapping[str, Any],
    layers: Sequence[Layer],
    compute: Callable[[Layer, np.ndarray], np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """:func:`run_graph` from the first array layer's stored ``x``: every later layer's ``x`` is
    the host stage applied to the ``compute``-d outputs of the earlier layers.

    The first layer (in graph order) takes its ``x`` from ``layers``; when it reads the network
    input directly, that input is recovered exactly (``x − x_offset``) for any other node that
    reads it. ``compute(layer, x)`` is called once per layer, in graph order.

    Raises
    ------
    ValueError
        The graph is not a valid host graph for ``layers`` (:func:`check_graph`), or it needs the
        network input elsewhere and the first layer does not read it directly.
    """
    check_graph(graph, [layer.name for layer in layers])
    by_name = {layer.name: layer for layer in layers}
    nodes = {n["name"]: n for n in graph["nodes"]}
    first = next(n for n in graph["nodes"] if n["op"] == "layer")
    x0 = np.asarray(by_name[first["layer"]].x, dtype=np.int64)
    input_q = None
    if nodes[first["input"]]["op"] == "input":
        input_q = x0 - first.get("x_offset", 0)
    return run_graph(graph, by_name, input_q, compute, {first["layer"]: x0})


#: Host-graph ops and the keys each needs besides ``name`` and ``op``.
_NODE_KEYS = {
    "input": ("grid",), "layer": ("input", "layer"), "relu": ("input", "grid"),
    "maxpool2d": ("input", "kernel", "stride", "padding", "dilation"),
    "avgpool2d": ("input", "kernel", "stride"), "flatten": ("input",), "identity": ("input",),
    "add": ("inputs", "multiplier", "shift", "left_shift", "grid"),
}  # fmt: skip


def check_graph(graph: Any, layer_names: Sequence[str]) -> None:
    """Check the structure of a host graph for a workload whose layers are ``layer_names``.

    Version 1; every node has a unique name, a known op and that op's keys; nodes read only
    earlier nodes; every array layer appears in exactly one ``layer`` node; the output exists.
    (The values inside the nodes are the exporter's and are not re-derived.)

    Raises
    ------
    ValueError
        Naming the first problem found.
    """
    if not isinstance(graph, Mapping) or graph.get("version") != GRAPH_VERSION:
        got = graph.get("version") if isinstance(graph, Mapping) else type(graph).__name__
        raise ValueError(f"host graph version {GRAPH_VERSION} (got {got!r})")
    nodes = graph.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        raise ValueError("host graph: a non-empty list of nodes")
    seen: set[str] = set()
    used: list[str] = []
    for i, node in enumerate(nodes):
        if not isinstance(node, Mapping) or not isinstance(node.get("name"), str):
            raise ValueError(f"host graph: node {i} is not an object with a name")
        name, op = node["name"], node.get("op")
        if op not in _NODE_KEYS or name in seen:
            raise ValueError(f"host graph node {name!r}: a known op and a unique name "
                             f"(got op {op!r})")
        missing = [k for k in _NODE_KEYS[op] if k not in node]
        reads = list(node.get("inputs") or []) + ([node["input"]] if "input" in node else [])
        unknown = [r for r in reads if r not in seen]
        if missing or unknown:
            raise ValueError(f"host graph node {name!r}: missing keys {missing} or reads "
                             f"nodes not defined before it {unknown}")
        if op == "layer":
            used.append(node["layer"])
        seen.add(name)
    if sorted(used) != sorted(layer_names):
        raise ValueError(f"host graph: one layer node per workload layer ({sorted(layer_names)}, "
                         f"got {sorted(map(str, used))})")
    if graph.get("output") not in seen:
        raise ValueError(f"host graph: an output node (got {graph.get('output')!r})")


def _with_x(layer: Layer, x: np.ndarray) -> Layer:
    """``layer`` with inputs ``x`` (same everything else; no validation)."""
    return Layer(
        layer.name, layer.op, x, layer.w, None, layer.x_bits, layer.w_bits, layer.x_signed,
        layer.w_signed, layer.stride, layer.padding, layer.dilation, layer.groups, layer.quant,
    )  # fmt: skip


def output_chain(graph: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The nodes from the last array layer to the output (the layer first).

    Raises
    ------
    ValueError
        The output does not depend on one array layer through unary host ops only.
    """
    by_name = {n["name"]: n for n in graph["nodes"]}
    chain = [by_name[graph["output"]]]
    while chain[-1]["op"] != "layer":
        node = chain[-1]
        if node["op"] in ("add", "input"):
            raise ValueError(f"the network output depends on {node['op']} node {node['name']!r}")
        chain.append(by_name[node["input"]])
    return chain[::-1]


def predictions(graph: Mapping[str, Any], last: Layer, y_last: np.ndarray) -> np.ndarray:
    """Predicted class per sample from the last array layer's output ``y_last``.

    Runs the host stage after the last layer (offset correction, bias or requantization, then
    the unary ops up to the output) and takes ``argmax`` of each sample's flattened value
    (first maximum wins). Works on simulated outputs as well as on the workload's ``y``.
    """
    chain = output_chain(graph)
    v = after_layer(chain[0], last, y_last)
    for node in chain[1:]:
        v = _unary(node, v)
    return np.argmax(v.reshape(v.shape[0], -1), axis=1)


def output_layer(source: Mapping[str, Any], layers: Sequence[Layer]) -> str:
    """Name of the array layer whose output gives the predictions: the layer at the head of the
    host graph's output chain, or the workload's last layer when there is no graph."""
    graph = source.get("graph")
    return layers[-1].name if graph is None else output_chain(graph)[0]["layer"]


def workload_predictions(source: Mapping[str, Any], layers: Sequence[Layer],
                         y_last: np.ndarray | None = None) -> np.ndarray:
    """:func:`predictions` for a loaded workload (``source`` holds the host graph).

    ``y_last`` (the output of :func:`output_layer`) defaults to that layer's ``y`` in the file;
    pass the simulated outputs to get the accelerator's predictions. A workload without a host
    graph (``source["graph"]``) predicts ``argmax`` of each sample's flattened ``y_last``.
    """
    by_name = {layer.name: layer for layer in layers}
    last = by_name[output_layer(source, layers)]
    y = last.y if y_last is None else y_last
    if source.get("graph") is None:
        y = np.asarray(y)
        return np.argmax(y.reshape(y.shape[0], -1), axis=1)
    return predictions(source["graph"], last, y)
