"""SCALE-Sim studies → an accelsim arch.yaml and a workload of seeded synthetic tensors.

Reads SCALE-Sim's published inputs (v2/v3): the INI ``.cfg`` (``[general] run_name``,
``[architecture_presets]`` ``ArrayHeight``, ``ArrayWidth``, ``IfmapSramSzkB``, ``FilterSramSzkB``,
``OfmapSramSzkB``, ``Dataflow``, ``Bandwidth``; ``[run_presets] InterfaceBandwidth``) and a
topology CSV, either conv (``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width,
Channels, Num Filter, Strides[, Stride width]``, a name containing ``DP`` = depthwise) or GEMM
(``Layer, M, N, K``). The mapping rules are in docs/interop.md; this module only builds data.
"""

from __future__ import annotations

import configparser
import csv
import dataclasses
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.errors import AccelsimError
from accelsim.export.host import accumulate
from accelsim.workload.npz import Layer, value_range

#: Largest synthetic layer (x, w and y elements together), checked before allocating.
MAX_ELEMENTS = 1 << 27

#: Synthetic data distributions of ``--data``.
DATA = ("relu-gauss", "uniform", "gauss")

_ARCH_KEYS = {"arrayheight": "ArrayHeight", "arraywidth": "ArrayWidth",
              "ifmapsramszkb": "IfmapSramSzkB", "filtersramszkb": "FilterSramSzkB",
              "ofmapsramszkb": "OfmapSramSzkB", "dataflow": "Dataflow"}


class ScaleSimError(AccelsimError):
    """A SCALE-Sim config or topology file cannot be imported."""


@dataclass(frozen=True)
class ScaleSimConfig:
    """The parts of a SCALE-Sim ``.cfg`` that accelsim maps (sizes in KiB, bandwidth in words per
    cycle, None in SCALE-Sim's ``CALC`` mode)."""

    run_name: str
    rows: int
    cols: int
    ifmap_kib: int
    filter_kib: int
    ofmap_kib: int
    dataflow: str
    bandwidth_words_per_cycle: int | None
    ignored: tuple[str, ...]


@dataclass(frozen=True)
class TopologyLayer:
    """One row of a topology CSV, in SCALE-Sim's terms (no padding: the IFMAP is as stored)."""

    name: str
    gemm: bool
    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    filters: int
    stride_h: int
    stride_w: int
    depthwise: bool

    @property
    def ofmap(self) -> tuple[int, int]:
        """SCALE-Sim's output size: ceil((H − R + S) / S) per dimension (pixels)."""
        return ((self.ifmap_h - self.filter_h) // self.stride_h + 1,
                (self.ifmap_w - self.filter_w) // self.stride_w + 1)

    def gemm_dims(self) -> tuple[int, int, int, int]:
        """(groups, M, K, N) of SCALE-Sim's operand matrices: M output pixels, K window size,
        N filters; a depthwise layer is one group per channel (SCALE-Sim runs one layer each)."""
        ho, wo = self.ofmap
        if self.gemm:
            return 1, self.ifmap_h, self.ifmap_w, self.filters
        groups = self.channels if self.depthwise else 1
        return groups, ho * wo, self.filter_h * self.filter_w * (self.channels // groups), \
            self.filters


def _int(file: str, key: str, text: str, minimum: int = 1) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ScaleSimError(file, key, f"an integer >= {minimum}", text.strip())
    return value


def read_config(path: str) -> ScaleSimConfig:
    """Parse a SCALE-Sim ``.cfg``; a missing or malformed key is a ScaleSimError naming it."""
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ScaleSimError(path, "", "a readable SCALE-Sim .cfg (INI) file",
                            str(exc).splitlines()[0]) from None
    section = "architecture_presets"
    if not parser.has_section(section):
        raise ScaleSimError(path, f"[{section}]", "a section with the array and SRAM sizes")
    arch = parser[section]
    for key, shown in _ARCH_KEYS.items():
        if key not in arch:
            raise ScaleSimError(path, f"[{section}] {shown}", "a value")
    dataflow = arch["dataflow"].strip().lower()
    if dataflow not in DATAFLOWS:
        raise ScaleSimError(path, f"[{section}] Dataflow", "os, ws or is", arch["dataflow"])
    mode = parser.get("run_presets", "interfacebandwidth", fallback="CALC").strip().upper()
    if mode not in ("USER", "CALC"):
        raise ScaleSimError(path, "[run_presets] InterfaceBandwidth", "USER or CALC", mode)
    bandwidth = None
    if mode == "USER":
        if "bandwidth" not in arch:
            raise ScaleSimError(path, f"[{section}] Bandwidth", "a value (InterfaceBandwidth is "
                                "USER)")
        # one value per memory bank in SCALE-Sim; the narrowest bank limits a single channel
        bandwidth = min(_int(path, f"[{section}] Bandwidth", b)
                        for b in arch["bandwidth"].split(","))
    used = {(section, k) for k in (*_ARCH_KEYS, "bandwidth")} | {
        ("run_presets", "interfacebandwidth"), ("general", "run_name")}
    ignored = tuple(f"[{s}] {k}" for s in parser.sections() for k in parser[s]
                    if (s, k) not in used)
    return ScaleSimConfig(
        run_name=parser.get("general", "run_name", fallback="").strip() or "scalesim",
        rows=_int(path, f"[{section}] ArrayHeight", arch["arrayheight"]),
        cols=_int(path, f"[{section}] ArrayWidth", arch["arraywidth"]),
        ifmap_kib=_int(path, f"[{section}] IfmapSramSzkB", arch["ifmapsramszkb"]),
        filter_kib=_int(path, f"[{section}] FilterSramSzkB", arch["filtersramszkb"]),
        ofmap_kib=_int(path, f"[{section}] OfmapSramSzkB", arch["ofmapsramszkb"]),
        dataflow=dataflow, bandwidth_words_per_cycle=bandwidth, ignored=ignored)


def read_topology(path: str) -> list[TopologyLayer]:
    """Parse a conv or GEMM topology CSV (the header tells which); rows end with a comma or not."""
    try:
        with open(path, encoding="utf-8") as f:
            rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(f.read()))]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ScaleSimError(path, "", "a readable topology CSV file", str(exc)) from None
    rows = [r[:-1] if r and r[-1] == "" else r for r in rows if any(r)]
    if len(rows) < 2:
        raise ScaleSimError(path, "", "a header row and at least one layer")
    header = [h.lower() for h in rows[0]]
    gemm = header[1:4] == ["m", "n", "k"]
    if not gemm and (len(header) < 8 or "ifmap" not in header[1]):
        raise ScaleSimError(path, "header", "SCALE-Sim's conv header (Layer name, IFMAP Height, "
                            "…, Strides) or GEMM header (Layer, M, N, K)", ",".join(rows[0]))
    layers, names = [], set()
    for i, row in enumerate(rows[1:], start=2):
        want = 4 if gemm else 8
        if len(row) < want:
            raise ScaleSimError(path, f"line {i}", f"at least {want} columns", ",".join(row))
        name = row[0]
        if not name or name in names:
            raise ScaleSimError(path, f"line {i}: layer name", "a unique non-empty name", name)
        names.add(name)
        v = [_int(path, f"line {i}: {rows[0][j] if j < len(rows[0]) else j}", row[j])
             for j in range(1, min(len(row), 4 if gemm else 9))]
        if gemm:
            m, n, k = v
            layers.append(TopologyLayer(name, True, m, k, 1, k, 1, n, 1, 1, False))
            continue
        h, w, fh, fw, c, o, sh = v[:7]
        sw = v[7] if len(v) > 7 else sh
        if fh > h or fw > w:
            raise ScaleSimError(path, f"line {i}: Filter Height/Width",
                                "a filter no larger than the IFMAP", f"{fh}x{fw} on {h}x{w}")
        layers.append(TopologyLayer(name, False, h, w, fh, fw, c, o, sh, sw, "DP" in name))
    for i, t in enumerate(layers, start=2):
        groups, m, k, n = t.gemm_dims()
        size = groups * (m * k + k * n + m * n) if t.gemm else \
            t.channels * t.ifmap_h * t.ifmap_w + groups * n * k + groups * n * m
        if size > MAX_ELEMENTS:
            raise ScaleSimError(path, f"layer {t.name!r}", f"at most {MAX_ELEMENTS} tensor "
                                "elements per layer (x, w and y together)", size)
    return layers


def arch_yaml(cfg: ScaleSimConfig, bits: int, acc_bits: int) -> str:
    """The arch.yaml text for ``cfg`` (rules in docs/interop.md)."""
    word_bytes = -(-bits // 8)
    lines = [
        f"# Imported from SCALE-Sim config '{cfg.run_name}' by accelsim import-scalesim.",
        "version: 1",
        f"name: \"{''.join(c if c.isalnum() or c in '-_.' else '-' for c in cfg.run_name)}\"",
        "clock_mhz: 500",
        "array:",
        f"  rows: {cfg.rows}",
        f"  cols: {cfg.cols}",
        f"  dataflow: {cfg.dataflow}",
        "  idle: hold",
        "pe:",
        "  kind: mac",
        f"  x_bits: {bits}",
        f"  w_bits: {bits}",
        f"  acc_bits: {acc_bits}",
        "  overflow: wrap",
        "buffers:",
        f"  ifmap:  {{size_kib: {cfg.ifmap_kib}, word_bits: {bits}}}",
        f"  filter: {{size_kib: {cfg.filter_kib}, word_bits: {bits}}}",
        f"  ofmap:  {{size_kib: {cfg.ofmap_kib}, word_bits: {acc_bits}}}",
    ]
    if cfg.bandwidth_words_per_cycle is not None:
        lines += [
            "dram:",
            f"  bandwidth_bytes_per_cycle: {cfg.bandwidth_words_per_cycle * word_bytes}",
            "  latency_cycles: 0",
            "  burst_bytes: 1",
            "  row_bytes: 2048",
        ]
    lines += ["energy:", "  technology: 45nm", ""]
    return "\n".join(lines)


def acc_bits_for(bits: int, layers: Sequence[TopologyLayer]) -> int:
    """Accumulator width that never overflows: 2·bits + ceil(log2(max K)), at least 32, at most 48
    (bits)."""
    k = max(t.gemm_dims()[2] for t in layers)
    return min(48, max(32, 2 * bits + math.ceil(math.log2(max(k, 2)))))


def _draw(rng: np.random.Generator, shape: tuple[int, ...], data: str, bits: int,
          signed: bool) -> np.ndarray:
    lo, hi = value_range(bits, signed)
    if data == "uniform":
        return rng.integers(lo, hi + 1, size=shape, dtype=np.int64)
    sigma = (hi - lo + 1) / 8  # ±4σ spans the code range
    v = np.rint(rng.normal(0.0, sigma, size=shape))
    if data == "relu-gauss" and not signed:
        v = np.maximum(v, 0)
    return np.clip(v, lo, hi).astype(np.int64)


def synthetic_layer(t: TopologyLayer, data: str, bits: int, sparsity: float, seed: int,
                    batch: int = 1) -> Layer:
    """A workload layer of ``t``'s shapes holding seeded synthetic integers.

    Activations are unsigned ``bits``-bit codes (``relu-gauss``: a rectified Gaussian, about half
    zeros; ``uniform``: uniform over the codes; ``gauss``: a clipped Gaussian, signed), weights
    signed ``bits``-bit codes of the same family, a fraction ``sparsity`` of them set to 0 (the
    weight sparsity SCALE-Sim v3 models). ``y`` is the exact accumulator sum.
    """
    rng = np.random.default_rng(seed)
    x_signed = data == "gauss"
    if t.gemm:
        x = _draw(rng, (t.ifmap_h, t.ifmap_w), data, bits, x_signed)
        w = _draw(rng, (t.ifmap_w, t.filters), data, bits, True)
        op, conv = "gemm", {}
    else:
        groups = t.channels if t.depthwise else 1
        out = t.filters * groups
        x = _draw(rng, (batch, t.channels, t.ifmap_h, t.ifmap_w), data, bits, x_signed)
        w = _draw(rng, (out, t.channels // groups, t.filter_h, t.filter_w), data, bits, True)
        op, conv = "conv2d", {"stride": (t.stride_h, t.stride_w), "groups": groups}
    if sparsity > 0:
        w = np.where(rng.random(w.shape) < sparsity, 0, w)
    layer = Layer(name=t.name, op=op, x=x, w=w, y=None, x_bits=bits, w_bits=bits,
                  x_signed=x_signed, w_signed=True, **conv)
    return dataclasses.replace(layer, y=accumulate(layer, x))


def expected_compute_cycles(t: TopologyLayer, rows: int, cols: int, dataflow: str) -> int:
    """SCALE-Sim's stall-free compute cycles of ``t``: folds × (R + C + T − 2) for os,
    folds × (2R + C + T − 2) for ws/is, summed over a depthwise layer's channels (cycles)."""
    groups, m, k, n = t.gemm_dims()
    s_row, s_col, time = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[dataflow]
    folds = math.ceil(s_row / rows) * math.ceil(s_col / cols)
    per_fold = DATAFLOWS[dataflow].fold_cycles(rows, cols, time)
    return groups * folds * per_fold


def import_scalesim(cfg_path: str, topology_path: str, data: str, bits: int, sparsity: float,
                    seed: int = 0) -> tuple[str, str, list[Layer], dict]:
    """Read a SCALE-Sim study; return (arch.yaml text, workload name, layers, provenance).

    Layer ``i`` draws from ``numpy.random.default_rng(seed + i)``, so a layer's data does not
    depend on the layers before it.
    """
    cfg = read_config(cfg_path)
    topology = read_topology(topology_path)
    acc_bits = acc_bits_for(bits, topology)
    layers = [synthetic_layer(t, data, bits, sparsity, seed + i) for i, t in enumerate(topology)]
    source = {
        "producer": "accelsim import-scalesim",
        "scalesim_config": {"file": os.path.basename(cfg_path), "run_name": cfg.run_name,
                            "ignored_keys": list(cfg.ignored)},
        "topology": os.path.basename(topology_path),
        "data": data, "bits": bits, "sparsity": sparsity, "seed": seed,
        "scalesim_compute_cycles": {
            t.name: expected_compute_cycles(t, cfg.rows, cfg.cols, cfg.dataflow)
            for t in topology},
    }
    name = os.path.splitext(os.path.basename(topology_path))[0]
    return arch_yaml(cfg, bits, acc_bits), name, layers, source
