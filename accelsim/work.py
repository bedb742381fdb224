"""How much work a run is, before it starts: MACs from the layer shapes (no tensor is lowered)
and an estimated simulation time from measured simulation rates.

The estimate is printed by the command line before a run, and ``--max-macs`` refuses runs larger
than a limit (docs/decisions.md, "Work limit and estimate").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Default ``--max-macs``: 2e10 simulated MACs, about five ResNet-18 inferences (1.8e9 MACs
#: each) or 2.5 ResNet-50s (4.1e9), i.e. 20-56 s at the ``mac`` rates below and about
#: 3.5-5 min at the scalar drivers' (one thread).
DEFAULT_MAX_MACS = 20_000_000_000

#: Simulation time per MAC (ns) by dataflow, one thread, full toggle accounting, on the 2-core
#: AMD EPYC (Zen 4) benchmark machine (benchmarks/RESULTS.md, "Exact kernels and sampled mode
#: on merged main, night"): the ``mac`` kind's untraced drivers on ResNet-18's 21 layers, 32×32
#: array ...
MAC_NS_PER_MAC = {"os": 1.01, "ws": 2.68, "is": 2.80}
#: ... and the scalar drivers every other kind runs (the same machine, ResNet-18's quick layers).
SCALAR_NS_PER_MAC = {"os": 14.21, "ws": 10.49, "is": 10.32}

#: Cost of the other PE kinds relative to a scalar ``mac`` on the same layer and array, as
#: ``(per MAC, per stretched step)``: ns/MAC = ``SCALAR_NS_PER_MAC × (a + b × steps per MAC)``.
#: Fitted to one run of ``benchmarks/bench_estimate.py`` (benchmarks/RESULTS.md, "Simulation
#: rate per PE kind": mac 12.0, pann 10.8/12.7/19.3 at 1.25/2.14/4.07 steps per MAC, lsqplus
#: 13.9/14.1 ns/MAC on one 16×16 ws layer); run-to-run noise there was up to 35 %.
KIND_COST = {"pann": (0.58, 0.25), "lsqplus": (1.16, 0.0)}


def gemm_dims(layer: Any) -> tuple[int, int, int, int]:
    """``(groups, M, K, N)`` of a layer's GEMM (docs/datapath.md) from its shapes alone.

    conv2d: ``M = N·Ho·Wo``, ``K = C/groups·kh·kw``, ``N = O/groups``; linear: ``x [M, K]``,
    ``w [N, K]``; gemm: ``x [M, K]``, ``w [K, N]``.
    """
    x, w = layer.x.shape, layer.w.shape
    if layer.op == "linear":
        return 1, x[0], x[1], w[0]
    if layer.op == "gemm":
        return 1, x[0], x[1], w[1]
    n, _, h, wd = x
    o, cg, kh, kw = w
    (sh, sw), (ph, pw), (dh, dw) = layer.stride, layer.padding, layer.dilation
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    return layer.groups, n * ho * wo, cg * kh * kw, o // layer.groups


def layer_macs(layer: Any) -> int:
    """Multiply-accumulates of a layer: ``groups·M·K·N`` (Python int: no overflow)."""
    groups, m, k, n = (int(v) for v in gemm_dims(layer))
    return groups * m * k * n


def steps_per_mac(layer: Any, adders: int) -> float:
    """PANN's mean step length: ``mean(max(1, ceil(|w| / adders)))`` over the layer's weights
    (cycles per MAC of one PE; the lock-step array can only be slower)."""
    w = np.abs(np.asarray(layer.w, dtype=np.int64))
    return float(np.maximum(1, -(-w // adders)).mean()) if w.size else 1.0


def estimate_seconds(arch: Any, layers: Sequence[Any]) -> float:
    """Estimated simulation time (s) of ``layers`` on ``arch`` on one thread of the benchmark
    machine: MACs × ns/MAC of the dataflow (:data:`MAC_NS_PER_MAC` for ``mac``, else
    :data:`SCALAR_NS_PER_MAC` × the PE kind's cost :data:`KIND_COST`, in which pann grows with
    its steps per MAC)."""
    if arch.pe.kind == "mac":
        return sum(layer_macs(x) for x in layers) * MAC_NS_PER_MAC[arch.array.dataflow] * 1e-9
    per_mac, per_step = KIND_COST.get(arch.pe.kind, (1.0, 0.0))
    total = 0.0
    for layer in layers:
        steps = steps_per_mac(layer, arch.pe.params.adders) if per_step else 0.0
        total += layer_macs(layer) * (per_mac + per_step * steps)
    return total * SCALAR_NS_PER_MAC[arch.array.dataflow] * 1e-9


def parse_count(text: str) -> int:
    """A non-negative count written as an integer or in float notation (``2e10``, ``1_000``).

    Raises
    ------
    ValueError
        Not a number, not finite, negative, or not a whole number.
    """
    try:
        value = int(text)
    except ValueError:
        number = float(text)
        if not np.isfinite(number) or number != int(number):
            raise ValueError(f"not a whole number: {text!r}") from None
        value = int(number)
    if value < 0:
        raise ValueError(f"negative: {text!r}")
    return value


def format_seconds(seconds: float) -> str:
    """``"under 0.1 s"``, ``"0.4 s"``, ``"12 s"``, ``"3.5 min"``, ``"2.1 h"``."""
    if seconds < 0.1:
        return "under 0.1 s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
