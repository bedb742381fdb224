"""``accelsim export``: a trained PyTorch network → a version-1 workload file (README,
docs/reference/workload.md).

Pipeline: capture the network as a float graph (:mod:`accelsim.export.capture`), check it against
the model's own forward pass, calibrate integer grids on calibration samples (post-training,
minimum-MSE clipping; :mod:`accelsim.export.quantize`), quantize the weights, then run the whole
network in integers (:mod:`accelsim.export.host`) on the exported samples. Every conv2d/linear
layer becomes a workload layer holding its integer ``x``, ``w`` and the exact ``y`` the accelerator
must produce; the host stage between layers (requantization, ReLU, pooling, residual adds) is stored
in the manifest as ``source["graph"]`` so the integer pipeline can be re-run from the file alone.
The quantized accuracy in the manifest is the accuracy of that integer pipeline.

Schemes (``--scheme``):

``int:B``
    LSQ-style symmetric: weights signed B-bit ``[−2^(B−1), 2^(B−1) − 1]`` with per-output-channel
    steps; activations unsigned B-bit after a ReLU, signed B-bit where a layer's input can be
    negative; ``y`` = the accumulator sum; requantization to the next layer's grid on the host.
``lsqplus:B``
    LSQ+ asymmetric activations (step and integer zero point, unsigned B-bit code); weights signed
    B-bit, symmetric per channel (``--weight-zero-points``: asymmetric, per-channel zero points);
    int32 bias and gemmlowp multiplier/shift inside the layer (``quant`` block,
    docs/reference/workload.md), ``y`` = the requantized output. The logits layer outputs 16-bit
    signed codes.
``pann:R[:B]``
    PANN: weights are signed integer repetition counts ``round(w / step)`` with the step chosen so
    that mean ``|w|`` ≈ R (per output channel); activations unsigned B-bit (default 8);
    ``y`` = ``Σ x·w``. Signed activations need ``--unsigned-offset``.

``--unsigned-offset`` (int, pann): a layer whose input grid is signed gets ``x + 2^(B−1)``
(unsigned) instead; the host subtracts ``2^(B−1) · Σ_window w`` from ``y`` (PANN's unsigned trick).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import accelsim
from accelsim.errors import AccelsimError
from accelsim.export import host
from accelsim.export.capture import ExportError, FloatGraph, Node
from accelsim.export.quantize import (
    CALIB_MAX_VALUES,
    Grid,
    activation_grid,
    asymmetric_weight_grid,
    bits_for,
    int_range,
    pann_equivalent_bits,
    pann_scales,
    quantize_multipliers,
    weight_scales,
)
from accelsim.inputfile import open_regular_file
from accelsim.workload.npz import MAX_FILE_BYTES, Layer, npy_header, save_workload

SCHEMES = ("int", "lsqplus", "pann")
#: Bits of the logits of an lsqplus network (its last layer's requantized output).
LSQPLUS_LOGIT_BITS = 16
#: Float tolerance when the captured graph is checked against the model's forward pass.
CHECK_RTOL = 1e-3
_PRODUCERS = ("input", "conv2d", "linear", "add")
_THROUGH_RELU = ("maxpool2d", "identity", "flatten")  # ops a ReLU commutes with


@dataclass(frozen=True)
class Scheme:
    """A parsed ``--scheme``: kind, activation bits, PANN's R and the options."""

    kind: str
    bits: int
    r: float | None = None
    weight_zero_points: bool = False
    unsigned_offset: bool = False

    @property
    def text(self) -> str:
        if self.kind == "pann":
            return f"pann:{self.r:g}:{self.bits}"
        return f"{self.kind}:{self.bits}"


def parse_scheme(text: str, weight_zero_points: bool = False,
                 unsigned_offset: bool = False) -> Scheme:
    """``int:B``, ``lsqplus:B`` (B in 2..16) or ``pann:R[:B]`` (R > 0; B default 8).

    Raises
    ------
    ExportError
        Malformed text or an option the scheme does not take.
    """
    parts = text.split(":")
    expected = "int:B, lsqplus:B (B = 2..16 bits) or pann:R[:B] (R > 0 additions per MAC)"
    try:
        kind = parts[0]
        if kind in ("int", "lsqplus") and len(parts) == 2:
            scheme = Scheme(kind, int(parts[1]), None, weight_zero_points, unsigned_offset)
        elif kind == "pann" and len(parts) in (2, 3):
            bits = int(parts[2]) if len(parts) == 3 else 8
            scheme = Scheme(kind, bits, float(parts[1]), weight_zero_points, unsigned_offset)
        else:
            raise ValueError
    except ValueError:
        raise ExportError("--scheme", "", expected, text) from None
    if not 2 <= scheme.bits <= 16 or (scheme.r is not None and not 0 < scheme.r < 1e4):
        raise ExportError("--scheme", "", expected, text)
    if weight_zero_points and kind != "lsqplus":
        raise ExportError("--weight-zero-points", "", "the lsqplus scheme", text)
    if unsigned_offset and kind == "lsqplus":
        raise ExportError("--unsigned-offset", "", "the int or pann scheme (lsqplus activations "
                          "are unsigned with a zero point already)", text)
    return scheme


@dataclass
class Exported:
    """An exported network, ready for :func:`accelsim.workload.save_workload`."""

    name: str
    layers: list[Layer]
    source: dict[str, Any]
    labels: np.ndarray
    accuracy: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Validate and write the workload atomically."""
        save_workload(path, self.name, self.layers, self.source, self.labels, self.accuracy)


# ------------------------------------------------------------------------------ the pipeline


def export_network(
    model: Any,
    graph: FloatGraph,
    data: np.ndarray,
    labels: np.ndarray,
    scheme: Scheme,
    calib: np.ndarray | None = None,
    name: str = "network",
    provenance: dict[str, Any] | None = None,
) -> Exported:
    """Quantize a captured network and run it in integers on ``data``.

    Parameters
    ----------
    model : callable
        The float model (``nn.Module`` or TorchScript module), for the float accuracy and for
        checking the captured graph.
    graph : FloatGraph
        From :func:`accelsim.export.capture.from_module` / ``from_torchscript``.
    data : numpy.ndarray
        Exported samples, in the model's input layout (float).
    labels : numpy.ndarray
        Integer class per sample.
    scheme : Scheme
    calib : numpy.ndarray, optional
        Calibration samples (default: ``data``).
    name : str
        Workload name.
    provenance : dict, optional
        Merged into the manifest's ``source``.

    Returns
    -------
    Exported

    Raises
    ------
    ExportError
        Unsupported graph, bad data, or integers that leave the formats' ranges.
    """
    import torch

    data = _float_batch(data, "--data")
    calib = data if calib is None else _float_batch(calib, "--calib")
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != data.shape[0] or labels.dtype.kind not in "iu":
        raise ExportError("--labels", "", f"an integer array of shape [{data.shape[0]}]",
                          f"dtype {labels.dtype}, shape {list(labels.shape)}")
    from accelsim.export.capture import evaluate

    float_out = _forward(model, data)
    graph_out = _chunked(lambda b: evaluate(graph, b)[graph.output], data)
    tol = CHECK_RTOL * max(1.0, float(np.abs(float_out).max()))
    if float_out.shape != graph_out.shape or not np.allclose(graph_out, float_out, atol=tol):
        raise ExportError(graph.source, "model", "a network whose captured graph reproduces its "
                          "forward pass (an operation was misread or is not supported)",
                          "outputs differ")
    plan = _Plan(graph, scheme, _calibration_values(graph, calib))
    input_q = plan.grids[plan.input_name].quantize(data)
    try:
        values, xs, ys = host.run_graph(plan.host_graph, plan.stubs, input_q)
    except OverflowError:
        raise ExportError(graph.source, "scheme", "accumulator sums plus bias that fit int32 "
                          "for requantization (use fewer bits)", scheme.text) from None
    layers = [plan.final_layer(n, xs[n], ys[n]) for n in plan.layer_names]
    pred = host.predictions(plan.host_graph, layers[-1], ys[layers[-1].name])
    accuracy = {
        "float": float(np.mean(np.argmax(float_out.reshape(len(data), -1), 1) == labels)),
        "quantized": float(np.mean(pred == labels)),
        "samples": int(len(data)),
        "metric": "top-1",
        "predictions": "accelsim.export.host.workload_predictions(source, layers, y_last)",
    }
    source = {
        "generator": "accelsim export",
        "accelsim_version": accelsim.__version__,
        "torch_version": torch.__version__,
        "scheme": scheme.text,
        "options": {"weight_zero_points": scheme.weight_zero_points,
                    "unsigned_offset": scheme.unsigned_offset},
        "calibration": {"samples": int(len(calib)), "method": "post-training, minimum-MSE "
                        "clipping per activation grid and per weight channel"},
        "host_stage": "source.graph, executed by accelsim.export.host.run_graph (NumPy, integers)",
        "layers": {n: plan.layer_info[n] for n in plan.layer_names},
        "graph": plan.host_graph,
        **(provenance or {}),
    }
    if scheme.kind == "pann":
        counts = np.concatenate([np.abs(layer.w).ravel() for layer in layers])
        macs = sum(int(np.prod(layer.y.shape)) * int(np.prod(layer.w.shape[1:]))
                   for layer in layers)
        adds = sum(int(np.prod(layer.y.shape)) * float(np.mean(np.abs(layer.w))) *
                   int(np.prod(layer.w.shape[1:])) for layer in layers)
        source["pann"] = {
            "R": scheme.r, "x_bits": scheme.bits,
            "mean_abs_w": float(np.mean(counts)),
            "additions_per_mac": adds / macs,
            "equivalent_mac_bits": round(pann_equivalent_bits(scheme.r, scheme.bits), 2),
            "budget": "R additions of x_bits-wide activations ~ the energy of one MAC of "
                      "equivalent_mac_bits (first-order 45 nm model, docs/export.md)",
        }  # fmt: skip
    return Exported(name, layers, source, labels.astype(np.int64), accuracy,
                    {"values": values, "float_out": float_out})


def _calibration_values(graph: FloatGraph, calib: np.ndarray, chunk: int = 64) -> dict:
    """Float values at every quantization point (input, conv2d, linear, add) on the calibration
    samples, evaluated ``chunk`` samples at a time; a point holding more than ``CALIB_MAX_VALUES``
    values keeps a seeded random subset of each chunk instead (bounded memory)."""
    from accelsim.export.capture import evaluate

    points = [n.name for n in graph.nodes if n.op in _PRODUCERS]
    starts = range(0, len(calib), chunk)
    parts: dict[str, list[np.ndarray]] = {p: [] for p in points}
    for i in starts:
        values = _chunked(lambda b: evaluate(graph, b), calib[i : i + chunk], chunk)
        for p in points:
            v = values[p]
            per_chunk = CALIB_MAX_VALUES // len(starts)
            parts[p].append(v if v.size * len(starts) <= CALIB_MAX_VALUES else
                            _subsample(v, max(per_chunk, 1 << 12), i))
    return {p: np.concatenate([a.ravel() for a in parts[p]]) for p in points}


def _subsample(v: np.ndarray, limit: int, seed: int) -> np.ndarray:
    flat = v.ravel()
    if flat.size <= limit:
        return flat
    return np.random.default_rng(seed).choice(flat, limit, replace=False)


def _float_batch(a: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "fiu" or a.ndim < 2 or a.shape[0] < 1:
        raise ExportError(what, "", "a numeric array [samples, ...] in the model's input layout",
                          f"dtype {a.dtype}, shape {list(a.shape)}")
    if not np.all(np.isfinite(a)):
        raise ExportError(what, "", "finite values (no NaN or infinity)")
    return np.ascontiguousarray(a, dtype=np.float32)


def _chunked(fn: Any, data: np.ndarray, size: int = 256) -> Any:
    """``fn`` on ``size``-sample torch batches of ``data``, results as NumPy, concatenated
    (a dict of tensors becomes a dict of arrays)."""
    import torch

    with torch.no_grad():
        outs = [fn(torch.from_numpy(data[i : i + size])) for i in range(0, len(data), size)]
    if isinstance(outs[0], dict):
        return {k: np.concatenate([o[k].numpy() for o in outs]) for k in outs[0]}
    return np.concatenate([o.numpy() for o in outs])


def _forward(model: Any, data: np.ndarray) -> np.ndarray:
    try:
        return _chunked(model, data)
    except Exception as e:  # the model's own forward failing on the data: wrong layout
        raise ExportError("--data", "", "samples the model accepts (its input layout)",
                          f"{type(e).__name__}: {str(e).splitlines()[0]}") from None


class _Plan:
    """Grids, integer weights and the host graph of one network under one scheme."""

    def __init__(self, graph: FloatGraph, scheme: Scheme, calib: dict[str, np.ndarray]) -> None:
        self.graph, self.scheme, self.calib = graph, scheme, calib
        self.source = graph.source
        self.input_name = graph.nodes[0].name
        self.chain = self._output_chain()
        last = self.chain[0]
        self.logits = all(n.op in ("flatten", "identity") for n in self.chain[1:])
        self.last_layer = last.name
        self.grids: dict[str, Grid | None] = {}
        self.host_nodes: list[dict[str, Any]] = []
        self.stubs: dict[str, Layer] = {}
        self.layer_info: dict[str, dict[str, Any]] = {}
        self.layer_names: list[str] = []
        self._fused = {n.name: self._relu_follows(n.name) for n in graph.nodes}
        for node in graph.nodes:
            self._node(node)
        self.host_graph = {"version": host.GRAPH_VERSION, "nodes": self.host_nodes,
                           "output": graph.output}

    # -- structure

    def _output_chain(self) -> list[Node]:
        g = self.graph
        chain = [g.node(g.output)]
        if not any(n.op in ("conv2d", "linear") for n in g.nodes):
            raise ExportError(self.source, "model", "at least one Conv2d or Linear layer")
        while chain[-1].op not in ("conv2d", "linear"):
            n = chain[-1]
            if n.op in ("add", "input"):
                raise ExportError(self.source, "model output", "logits computed by a conv2d/linear "
                                  "layer, followed only by ReLU, pooling or Flatten",
                                  f"output depends on {n.op} {n.name!r}")
            chain.append(g.node(n.inputs[0]))
        layers = [n.name for n in g.nodes if n.op in ("conv2d", "linear")]
        if not layers or chain[-1].name != layers[-1]:
            raise ExportError(self.source, "model output", "logits from the last conv2d/linear "
                              "layer", f"output comes from {chain[-1].name!r}, not {layers[-1]!r}")
        return chain[::-1]

    def _relu_follows(self, name: str) -> bool:
        """A ReLU follows ``name`` through single-consumer ops it commutes with."""
        cur = name
        while True:
            cons = self.graph.consumers(cur)
            if len(cons) != 1:
                return False
            if cons[0].op == "relu":
                return True
            if cons[0].op not in _THROUGH_RELU:
                return False
            cur = cons[0].name

    # -- grids

    def _calibrate(self, name: str, values: np.ndarray, signed_ok: bool) -> Grid:
        s, fused = self.scheme, self._fused[name]
        if fused:
            values = np.maximum(values, 0.0)
        if s.kind == "lsqplus":
            return activation_grid(values, s.bits, "asymmetric")
        nonneg = fused or (signed_ok and float(values.min(initial=0.0)) >= 0.0)
        return activation_grid(values, s.bits, "unsigned" if nonneg else "signed")

    # -- nodes

    def _node(self, n: Node) -> None:
        op = n.op
        if op == "input":
            g = self._calibrate(n.name, self.calib[n.name], signed_ok=True)
            self.grids[n.name] = g
            self.host_nodes.append({"name": n.name, "op": "input", "grid": g.to_json()})
        elif op in ("conv2d", "linear"):
            self._layer(n)
        elif op == "add":
            self._add(n)
        else:
            g = self.grids[n.inputs[0]]
            entry: dict[str, Any] = {"name": n.name, "op": op, "input": n.inputs[0]}
            if g is None:
                raise ExportError(self.source, f"layer {n.name!r}", "host ops after the logits "
                                  "that keep their order (Flatten, Identity)", op)
            if op == "relu":
                entry["grid"] = g.to_json()
            elif op == "maxpool2d":
                entry.update({k: n.attrs[k] for k in ("kernel", "stride", "padding", "dilation")})
            elif op in ("avgpool2d", "adaptive_avgpool2d"):
                entry.update(op="avgpool2d", kernel=n.attrs["kernel"], stride=n.attrs["stride"])
            self.grids[n.name] = g
            self.host_nodes.append(entry)

    def _add(self, n: Node) -> None:
        ga, gb = (self.grids[i] for i in n.inputs)
        if ga is None or gb is None:
            raise ExportError(self.source, f"layer {n.name!r}", "an add of two activations")
        g = self._calibrate(n.name, self.calib[n.name], signed_ok=False)
        m, s = quantize_multipliers(np.array([ga.scale / g.scale, gb.scale / g.scale]))
        left = max(0, min(20, 30 - max(ga.bits, gb.bits) - 1 - max(int(s.max()), 0)))
        self.grids[n.name] = g
        self.host_nodes.append({
            "name": n.name, "op": "add", "inputs": list(n.inputs), "multiplier": m.tolist(),
            "shift": s.tolist(), "left_shift": left, "grid": g.to_json(),
        })  # fmt: skip

    def _layer(self, n: Node) -> None:
        s, name = self.scheme, n.name
        g_in = self.grids[n.inputs[0]]
        if g_in is None:
            raise ExportError(self.source, f"layer {name!r}", "a layer fed by activations")
        logits = self.logits and name == self.last_layer
        x_offset, x_signed = 0, g_in.signed
        if g_in.signed and s.kind in ("int", "pann"):
            if s.unsigned_offset:
                x_offset, x_signed = 1 << (g_in.bits - 1), False
            elif s.kind == "pann":
                raise ExportError(self.source, f"layer {name!r}", "unsigned activations for pann "
                                  "(this layer's input can be negative: pass --unsigned-offset)")
        w_float, b_float = n.attrs["weight"], n.attrs["bias"]
        if b_float is None:
            b_float = np.zeros(w_float.shape[0])
        quant, w_q, w_scale, w_zero, w_bits = self._weights(w_float, logits)
        acc_scale = g_in.scale * w_scale
        bias = np.rint(b_float / acc_scale).astype(np.int64)
        g_out = None
        if not logits or s.kind == "lsqplus":
            if logits:
                g_out = activation_grid(self.calib[name], LSQPLUS_LOGIT_BITS, "signed")
            else:
                g_out = self._calibrate(name, self.calib[name], signed_ok=False)
        entry: dict[str, Any] = {"name": name, "op": "layer", "layer": name, "input": n.inputs[0],
                                 "x_offset": x_offset, "requant": None, "grid": None}
        if g_out is not None:
            mult, shift = quantize_multipliers(acc_scale / g_out.scale)
            entry["grid"] = g_out.to_json()
            if s.kind == "lsqplus":
                quant.update(x_zero_point=g_in.zero_point, bias=bias, multiplier=mult,
                             shift=shift, y_zero_point=g_out.zero_point, y_bits=g_out.bits,
                             y_signed=g_out.signed)
            else:
                entry["requant"] = {"bias": bias.tolist(), "multiplier": mult.tolist(),
                                    "shift": shift.tolist()}
        elif np.any(bias):
            entry["requant"] = {"bias": bias.tolist()}
        self._check_int32(name, bias, "bias")
        self.grids[name] = g_out
        self.host_nodes.append(entry)
        conv = {}
        if n.op == "conv2d":
            conv = {"stride": tuple(n.attrs["stride"]), "padding": tuple(n.attrs["padding"]),
                    "dilation": tuple(n.attrs["dilation"]), "groups": n.attrs["groups"]}
        x_stub = np.zeros((1,), dtype=np.int64)
        self.stubs[name] = Layer(name, n.op, x_stub, w_q, None, g_in.bits, w_bits, x_signed, True,
                                 quant=quant, **conv)
        self.layer_names.append(name)
        info: dict[str, Any] = {
            "module": name, "x_grid": g_in.to_json(), "x_offset": x_offset,
            "w_scale": [float(v) for v in w_scale], "w_per_channel": not logits,
            "folded_batchnorm": n.attrs.get("folded"),
        }  # fmt: skip
        if w_zero is not None:
            info["w_zero_point"] = [int(v) for v in w_zero]
        if s.kind == "pann":
            info["additions_per_mac"] = float(np.mean(np.abs(w_q)))
        self.layer_info[name] = info

    def _weights(
        self, w: np.ndarray, logits: bool
    ) -> tuple[dict[str, Any], np.ndarray, np.ndarray, np.ndarray | None, int]:
        """(quant block, integer weights, step per channel, zero points or None, w_bits)."""
        s = self.scheme
        shape = (-1,) + (1,) * (w.ndim - 1)
        if s.kind == "pann":
            step = pann_scales(w, s.r, per_channel=not logits)
            lim = (1 << 15) - 1
            w_q = np.clip(np.rint(w / step.reshape(shape)), -lim, lim).astype(np.int64)
            return {"scheme": "pann"}, w_q, step, None, bits_for(w_q, signed=True)
        lo, hi = int_range(s.bits, True)
        if s.kind == "lsqplus" and s.weight_zero_points:
            step, zero = asymmetric_weight_grid(w, s.bits)
            w_q = np.clip(np.rint(w / step.reshape(shape)) + zero.reshape(shape), lo, hi)
            quant = {"scheme": "lsqplus", "w_zero_point": zero.astype(np.int64)}
            return quant, w_q.astype(np.int64), step, zero, s.bits
        step = weight_scales(w, s.bits, per_channel=not logits)
        w_q = np.clip(np.rint(w / step.reshape(shape)), lo, hi).astype(np.int64)
        quant = {"scheme": s.kind} if s.kind == "int" else {"scheme": "lsqplus", "w_zero_point": 0}
        return quant, w_q, step, None, s.bits

    def _check_int32(self, name: str, a: np.ndarray, what: str) -> None:
        if a.size and (a.min() < -(1 << 31) or a.max() > (1 << 31) - 1):
            raise ExportError(self.source, f"layer {name!r}", f"a {what} that fits int32",
                              f"values in [{a.min()}, {a.max()}]")

    def final_layer(self, name: str, x: np.ndarray, y: np.ndarray) -> Layer:
        """The workload layer with its exported inputs and exact outputs."""
        stub = self.stubs[name]
        if self.scheme.kind != "lsqplus":
            self._check_int32(name, y, "accumulator sum (y)")
        self.layer_info[name]["acc_bits_needed"] = bits_for(y, signed=True)
        return Layer(name, stub.op, x, stub.w, y, stub.x_bits, stub.w_bits, stub.x_signed,
                     stub.w_signed, stub.stride, stub.padding, stub.dilation, stub.groups,
                     stub.quant)


# ------------------------------------------------------------------------------ loading


def load_model(spec: str) -> tuple[Any, FloatGraph]:
    """Load ``module:function`` / ``path/file.py:function`` (returns an ``nn.Module``) or a
    TorchScript file, and capture it.

    Raises
    ------
    ExportError
        torch missing, the model cannot be loaded, or it is not an ``nn.Module``.
    """
    try:
        import torch
    except ImportError:
        raise ExportError(spec, "", "PyTorch installed for 'accelsim export' "
                          "(pip install 'accelsim[export]', i.e. torch==2.13.0 CPU)") from None
    from accelsim.export.capture import from_module, from_torchscript, load_torchscript

    if os.path.isfile(spec):
        if not zipfile.is_zipfile(spec):
            raise ExportError(spec, "", "a TorchScript file (a zip written by torch.jit.save)")
        graph = from_torchscript(spec)
        return load_torchscript(spec).eval(), graph
    module_name, sep, function = spec.rpartition(":")
    if not sep or not module_name or not function:
        raise ExportError(spec, "MODEL", "module:function, path/to/file.py:function, or a "
                          "TorchScript file", spec)
    try:
        if module_name.endswith(".py"):
            open_regular_file(module_name, MAX_FILE_BYTES, ExportError, "MODEL").close()
            loaded = importlib.util.spec_from_file_location(Path(module_name).stem, module_name)
            if loaded is None or loaded.loader is None:
                raise ImportError(f"cannot import {module_name}")
            module = importlib.util.module_from_spec(loaded)
            sys.modules[loaded.name] = module
            loaded.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
        model = getattr(module, function)()
    except (ImportError, AttributeError, OSError) as e:
        raise ExportError(spec, "MODEL", "an importable module:function returning an nn.Module",
                          f"{type(e).__name__}: {e}") from None
    if not isinstance(model, torch.nn.Module):
        raise ExportError(spec, "MODEL", "a function returning a torch.nn.Module",
                          type(model).__name__)
    model.eval()
    if isinstance(model, torch.jit.ScriptModule):
        raise ExportError(spec, "MODEL", "an nn.Module (save a ScriptModule to a file instead)")
    return model, from_module(model, spec)


def _load_array(path: str, what: str) -> np.ndarray:
    """A regular ``.npy`` file whose size matches its header, read without pickle."""
    with open_regular_file(path, MAX_FILE_BYTES, ExportError, what) as f:
        try:
            dtype, shape, offset = npy_header(f)
            declared, size = math.prod(shape) * dtype.itemsize, os.fstat(f.fileno()).st_size
            if offset + declared != size:
                raise ValueError(f"the header declares {declared} data bytes, the file holds "
                                 f"{size - offset}")
            f.seek(0)
            return np.load(f, allow_pickle=False)
        except (OSError, ValueError, EOFError) as e:
            raise ExportError(path, what, "a readable .npy array (no pickle)", str(e)) from None


# ------------------------------------------------------------------------------ command line


def _parser() -> argparse.ArgumentParser:
    from accelsim.cli import OneLineParser

    p = OneLineParser(
        prog="accelsim export",
        description="Quantize a trained PyTorch network and write a version-1 workload: every "
                    "conv2d/linear layer's integer inputs and weights, exact reference outputs, "
                    "labels and the measured float and quantized accuracy.",
    )
    p.add_argument("model", metavar="MODEL",
                   help="module:function or path/file.py:function returning an nn.Module, or a "
                        "TorchScript file")
    p.add_argument("--data", required=True, metavar="X.npy",
                   help="input samples, float, in the model's input layout")
    p.add_argument("--labels", required=True, metavar="Y.npy", help="integer label per sample")
    p.add_argument("--scheme", required=True, metavar="SCHEME",
                   help="int:B | lsqplus:B | pann:R[:B] (see docs/export.md)")
    p.add_argument("--out", required=True, metavar="W.npz", help="workload file to write")
    p.add_argument("--samples", type=int, metavar="N",
                   help="export the first N samples (default: all)")
    p.add_argument("--calib", metavar="C.npy",
                   help="calibration samples (default: all of --data)")
    p.add_argument("--unsigned-offset", action="store_true",
                   help="int/pann: feed signed activations as x + 2^(B-1) (unsigned); the host "
                        "removes the offset")
    p.add_argument("--weight-zero-points", action="store_true",
                   help="lsqplus: asymmetric weights with per-channel zero points")
    p.add_argument("--name", help="workload name (default: the output file's stem)")
    return p


def _output_path(args: argparse.Namespace) -> Path:
    """The file ``--out`` writes (a symlink resolved): a regular or new file that is none of the
    inputs (docs/decisions.md, "Output paths"); ExportError otherwise."""
    from accelsim.report.outputs import check_outputs

    model = args.model if os.path.isfile(args.model) else args.model.rpartition(":")[0]
    inputs = [("MODEL", Path(model)), ("--data", Path(args.data)),
              ("--labels", Path(args.labels))]
    inputs += [] if args.calib is None else [("--calib", Path(args.calib))]
    [out] = check_outputs([("--out", Path(args.out))], inputs)
    if out.target.stream:
        raise ExportError(args.out, "--out", "a regular file (a workload is written to a temp "
                          "file and renamed)", "a device or FIFO")
    return out.target.real


def export_main(argv: Sequence[str] | None = None) -> int:
    """``accelsim export`` (README): returns 0, or 2 after a one-line error on stderr."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        out = _output_path(args)
        scheme = parse_scheme(args.scheme, args.weight_zero_points, args.unsigned_offset)
        data, labels = _load_array(args.data, "--data"), _load_array(args.labels, "--labels")
        calib = data if args.calib is None else _load_array(args.calib, "--calib")
        if args.samples is not None:
            if not 1 <= args.samples <= len(data):
                raise ExportError(args.data, "--samples", f"a count in [1, {len(data)}]",
                                  args.samples)
            data, labels = data[: args.samples], labels[: args.samples]
        model, graph = load_model(args.model)
        exported = export_network(model, graph, data, labels, scheme, calib,
                                  args.name or Path(args.out).stem, {"model": args.model})
        exported.save(out)
    except AccelsimError as exc:
        print(f"accelsim: error: {exc.one_line()}", file=sys.stderr)
        return 2
    acc = exported.accuracy
    print(f"{args.out}: {len(exported.layers)} layers, {acc['samples']} samples, scheme "
          f"{scheme.text}: accuracy float {acc['float']:.4f}, quantized {acc['quantized']:.4f}")
    return 0
