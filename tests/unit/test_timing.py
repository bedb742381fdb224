"""cycles.compute follows SCALE-Sim's stall-free convention on ResNet-18-shaped layers.

The expected counts are computed here from the layer hyper-parameters alone (output size, im2col
dims, fold counts, per-fold R + C + T − 2 or 2R + C + T − 2), independently of accelsim's lowering
and dataflow code, then compared with what the simulator reports.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from accelsim.config.schema import Arch, ArrayConfig, PeConfig
from accelsim.sim.layer import simulate_layer
from accelsim.workload import Layer, lower

# (name, C_in, C_out, kernel, stride, padding, input size at 224) of ResNet-18's conv layers + fc.
RESNET18 = [("conv1", 3, 64, 7, 2, 3, 224)]
for _stage, (_c, _hw) in enumerate([(64, 56), (128, 28), (256, 14), (512, 7)]):
    for _block in range(2):
        _first = _stage > 0 and _block == 0
        _cin = _c // 2 if _first else _c
        _hin = _hw * 2 if _first else _hw
        RESNET18.append((f"l{_stage + 1}b{_block}c1", _cin, _c, 3, 2 if _first else 1, 1, _hin))
        RESNET18.append((f"l{_stage + 1}b{_block}c2", _c, _c, 3, 1, 1, _hw))
        if _first:
            RESNET18.append((f"l{_stage + 1}b{_block}ds", _cin, _c, 1, 2, 0, _hin))


def expected_cycles(dataflow: str, R: int, C: int, M: int, K: int, N: int) -> int:
    """SCALE-Sim's stall-free compute cycles of one GEMM (the issue's formula)."""
    rows, cols, T = {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[dataflow]
    folds = math.ceil(rows / R) * math.ceil(cols / C)
    per_fold = (R + C + T - 2) if dataflow == "os" else (2 * R + C + T - 2)
    return folds * per_fold


def conv_layer(name, cin, cout, k, stride, pad, hw, batch=1, data=True, seed=0) -> Layer:
    rng = np.random.default_rng(seed)
    shape_x, shape_w = (batch, cin, hw, hw), (cout, cin, k, k)
    x = rng.integers(0, 256, shape_x) if data else np.zeros(shape_x, dtype=np.int64)
    w = rng.integers(-128, 128, shape_w) if data else np.zeros(shape_w, dtype=np.int64)
    return Layer(name=name, op="conv2d", x=x, w=w, y=None, x_bits=8, w_bits=8, x_signed=False,
                 w_signed=True, stride=(stride, stride), padding=(pad, pad))


def arch(dataflow: str, R: int, C: int) -> Arch:
    return Arch(name=f"{dataflow}-{R}x{C}",
                array=ArrayConfig(rows=R, cols=C, dataflow=dataflow),
                pe=PeConfig(kind="mac", x_bits=8, w_bits=8, acc_bits=32))


@pytest.mark.parametrize("array", [(8, 8), (16, 16), (32, 32), (128, 128), (12, 40)])
@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
def test_resnet18_224_geometry(dataflow, array):
    """Full-size ResNet-18: GEMM dims and fold plan give SCALE-Sim's count on every layer."""
    from accelsim.dataflows import REGISTRY

    R, C = array
    df = REGISTRY[dataflow]
    for name, cin, cout, k, stride, pad, hw in RESNET18:
        low = lower(conv_layer(name, cin, cout, k, stride, pad, hw, data=False))
        ho = (hw + 2 * pad - k) // stride + 1
        assert (low.M, low.K, low.N) == (ho * ho, cin * k * k, cout), name
        _, _, T = df.dims(low.M, low.K, low.N)
        got = df.count(1, low.M, low.K, low.N, R, C) * df.fold_cycles(R, C, T)
        assert got == expected_cycles(dataflow, R, C, ho * ho, cin * k * k, cout), name
    fc = Layer(name="fc", op="linear", x=np.zeros((1, 512), dtype=np.int64),
               w=np.zeros((1000, 512), dtype=np.int64), y=None, x_bits=8, w_bits=8,
               x_signed=False, w_signed=True)
    low = lower(fc)
    assert (low.M, low.K, low.N) == (1, 512, 1000)
    got = df.count(1, 1, 512, 1000, R, C) * df.fold_cycles(R, C, df.dims(1, 512, 1000)[2])
    assert got == expected_cycles(dataflow, R, C, 1, 512, 1000)


@pytest.mark.parametrize("dataflow,array", [("os", (8, 8)), ("ws", (16, 16)), ("is", (8, 16))])
def test_resnet18_simulated_cycles(dataflow, array):
    """The simulator's reported cycles.compute equals SCALE-Sim's count on every ResNet-18 layer
    (run at a 32×32 input to keep the test fast), and every output is exact."""
    R, C = array
    scale = 224 // 32
    for i, (name, cin, cout, k, stride, pad, hw) in enumerate(RESNET18):
        layer = conv_layer(name, cin, cout, k, stride, pad, max(hw // scale, 1), seed=i)
        sim = simulate_layer(arch(dataflow, R, C), layer)
        assert sim.check == "exact", name
        assert sim.result.cycles_compute == expected_cycles(dataflow, R, C, sim.M, sim.K, sim.N)
        assert sim.result.cycles_active <= sim.result.cycles_compute
