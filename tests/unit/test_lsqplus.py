"""The lsqplus PE (docs/lsqplus.md): gemmlowp arithmetic, the rescale unit's hardware form, TFLite's
QuantizeMultiplier, agreement with ONNX Runtime's QLinearMatMul / QLinearConv, the energy direction
of the two placements, config parsing, layer checks and the shipped example."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from accelsim.config import load_arch
from accelsim.errors import ConfigError, WorkloadError
from accelsim.kernels.lsqplus_units import HIGHMUL_WORDS, RESCALE_WORDS, rescale_evals, rescale_init
from accelsim.fixedpoint import (
    INT32_MAX,
    INT32_MIN,
    quantize_multiplier,
    rounding_divide_by_pot,
)
from accelsim.fixedpoint import multiply_by_quantized_multiplier as _mbqm
from accelsim.fixedpoint import saturating_rounding_doubling_high_mul as srdhm
from accelsim.pe import REGISTRY
from accelsim.pe.lsqplus import LsqplusParams, reference, simulate_lsqplus_gemm
from accelsim.sim.layer import check_layer, simulate_layer
from accelsim.sim.types import ArraySpec
from accelsim.workload import Layer, lower
from tests.reference.lsqplus_model import rescale as gate_rescale

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [ROOT / "arch_configs" / f"ws-16x16-lsqplus-{p}.yaml" for p in ("output", "pe")]
EXAMPLE = ROOT / "workloads" / "example_lsqplus.npz"


def multiply_by_quantized_multiplier(x, m, shift):
    """MBQM as the rescale unit computes it: the left shift wraps to int32."""
    return _mbqm(x, m, shift, overflow="wrap")


# --- gemmlowp known vectors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "a,b,expected",
    [
        (INT32_MIN, INT32_MIN, INT32_MAX),  # the one saturating case
        (INT32_MAX, INT32_MAX, INT32_MAX - 1),  # (2^31-1)^2 / 2^31 = 2^31 - 2 + 0.5^- -> 2^31 - 2
        (INT32_MIN, INT32_MAX, -INT32_MAX),  # -(2^31 - 1) - 0.5^+ truncated toward zero
        (INT32_MIN, -INT32_MAX, INT32_MAX),
        (1, 1 << 30, 1),  # +0.5 -> 1 (nudge 2^30)
        (-1, 1 << 30, 0),  # -0.5 -> 0 (nudge 1 - 2^30, truncation toward zero)
        (3, 1 << 30, 2),  # +1.5 -> 2
        (-3, 1 << 30, -1),  # -1.5 -> -1
        (5, 1 << 30, 3),  # +2.5 -> 3
        (-5, 1 << 30, -2),  # -2.5 -> -2
        (1 << 30, 1 << 30, 1 << 29),
        (-(1 << 30), 1 << 30, -(1 << 29)),
        (0, INT32_MIN, 0),
        (1000, 0, 0),
    ],
)
def test_srdhm_vectors(a, b, expected):
    assert int(srdhm(a, b)) == expected


@pytest.mark.parametrize(
    "x,e,expected",
    [
        (5, 1, 3), (-5, 1, -3),  # ties away from zero
        (4, 1, 2), (-4, 1, -2),
        (6, 2, 2), (-6, 2, -2),  # 1.5 -> 2, -1.5 -> -2
        (7, 2, 2), (-7, 2, -2),  # 1.75 -> 2
        (5, 2, 1), (-5, 2, -1),  # 1.25 -> 1
        (-3, 0, -3), (INT32_MIN, 0, INT32_MIN),
        (INT32_MAX, 31, 1), (INT32_MIN, 31, -1),
        (1 << 30, 31, 1), (-(1 << 30), 31, -1), ((1 << 30) - 1, 31, 0), (-(1 << 30) + 1, 31, 0),
    ],
)
def test_rounding_divide_by_pot_vectors(x, e, expected):
    assert int(rounding_divide_by_pot(x, e)) == expected


@pytest.mark.parametrize(
    "x,m,shift,expected",
    [
        (100, 1 << 30, 0, 50),  # x * 0.5
        (100, 1 << 30, -2, 13),  # 12.5 -> 13
        (-100, 1 << 30, -2, -13),  # -12.5 -> -13
        (3, 1 << 30, 2, 6),  # left shift first: (3 << 2) * 0.5
        (12345, (1 << 31) - 1, 0, 12345),  # ~1.0
        (-7, 1 << 30, 1, -7),  # exactly 1.0
        (1 << 30, 1 << 30, 1, -(1 << 30)),  # 2^30 << 1 wraps to INT32_MIN; times 0.5
    ],
)
def test_multiply_by_quantized_multiplier_vectors(x, m, shift, expected):
    assert int(multiply_by_quantized_multiplier(x, m, shift)) == expected


def _literal(x: int, m: int, shift: int) -> int:
    """A scalar, big-integer transcription of the C++ source (independent of the NumPy port)."""
    left, right = max(shift, 0), max(-shift, 0)
    v = ((x << left) + (1 << 31)) % (1 << 32) - (1 << 31)
    ab = v * m
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    q = abs(ab + nudge) // (1 << 31) * (1 if ab + nudge >= 0 else -1)
    h = INT32_MAX if v == m == INT32_MIN else q
    mask = (1 << right) - 1
    return (h >> right) + ((h & mask) > (mask >> 1) + (h < 0))


def test_numpy_port_matches_scalar_transcription():
    rng = np.random.default_rng(4)
    x = rng.integers(INT32_MIN, INT32_MAX, 3000, endpoint=True)
    x[:6] = [INT32_MIN, INT32_MAX, 0, -1, 1, 1 << 30]
    m = rng.integers(0, INT32_MAX, 3000, endpoint=True)
    s = rng.integers(-31, 32, 3000)
    got = multiply_by_quantized_multiplier(x, m, s)
    assert [int(g) for g in got] == [_literal(int(a), int(b), int(c)) for a, b, c in zip(x, m, s)]


def _unit_mbqm(x: np.ndarray, m: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """The rescale unit's kernel (lsqplus.md §5.1) with bias 0, z_y 0 and a 32-bit clamp."""
    n = len(x)
    st = [np.zeros((1, w), dtype=np.int64) for w in (RESCALE_WORDS, HIGHMUL_WORDS, 4)]
    rescale_init(2, 8, True, 32, *st)
    y = np.zeros(n, dtype=np.int64)
    counts = np.zeros(8, dtype=np.int64)
    zeros = np.zeros(n, dtype=np.int64)
    rescale_evals(np.arange(n), zeros, np.asarray(x, np.int64), zeros, np.asarray(m, np.int64),
                  np.asarray(shift, np.int64), zeros, zeros, False, 8, 2, True, 0, INT32_MIN,
                  INT32_MAX, 32, *st, y, counts, np.zeros((0, 7), dtype=np.int64))
    return y


def test_rescale_unit_hardware_form_equals_gemmlowp():
    # R3–R5 ((ab + 2^30) >> 31 with the saturation mux) and R6–R7 (rounding add + arithmetic
    # shift) equal the literal SaturatingRoundingDoublingHighMul / RoundingDivideByPOT.
    rng = np.random.default_rng(5)
    n = 20000
    x = rng.integers(INT32_MIN, INT32_MAX, n, endpoint=True)
    m = rng.integers(0, INT32_MAX, n, endpoint=True)
    s = rng.integers(-31, 32, n)
    edge = [(INT32_MIN, INT32_MIN, 0), (INT32_MIN, INT32_MIN, -31), (INT32_MAX, INT32_MAX, 0),
            (-1, 1 << 30, -31), (1, 1 << 30, 0), (-(1 << 30), 1 << 30, -1), (INT32_MAX, 0, 5),
            (INT32_MIN, (1 << 31) - 1, -30), (1 << 29, 1 << 30, 31), (-3, 1 << 30, 2)]
    for i, (a, b, c) in enumerate(edge):
        x[i], m[i], s[i] = a, b, c
    assert np.array_equal(_unit_mbqm(x, m, s), multiply_by_quantized_multiplier(x, m, s))
    for a, b, c in edge + list(zip(x[10:60], m[10:60], s[10:60])):  # the gate-level model too
        y, _, _, _ = gate_rescale(int(a) & 0xFFFFFFFF, 0, int(b), int(c), 0, INT32_MIN,
                                  INT32_MAX, 32)
        assert y == int(multiply_by_quantized_multiplier(a, b, c))


def test_rescale_unit_node_count():
    # 3629 + y_bits nodes: one evaluation from the all-zero state toggles at most that many.
    _, nodes, _, _ = gate_rescale(0, 0, 0, 0, 0, 0, 0, 8)
    assert len(nodes) == 3629 + 8


# --- QuantizeMultiplier ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "real,expected",
    [
        (0.0, (0, 0)), (0.5, (1 << 30, 0)), (1.0, (1 << 30, 1)), (0.25, (1 << 30, -1)),
        (1 - 2.0**-40, (1 << 30, 1)),  # q·2^31 rounds up to 2^31: halve, shift + 1
        (0.75, (3 << 29, 0)), (2.0**-33, (0, 0)),  # below 2^-32: flushed to zero
        (2.0**-32, (1 << 30, -31)),
    ],
)
def test_quantize_multiplier_vectors(real, expected):
    assert quantize_multiplier(real) == expected


def test_quantize_multiplier_round_trip():
    for real in np.geomspace(2.0**-31, 2.0**10, 2000):
        m, s = quantize_multiplier(float(real))
        assert 1 << 30 <= m < 1 << 31 and -31 <= s <= 31
        assert abs(m * 2.0 ** (s - 31) - real) <= real * 2.0**-31  # half an ulp of a Q31 mantissa
    rng = np.random.default_rng(6)
    x = rng.integers(-(1 << 20), 1 << 20, 500)
    for real in (0.0123, 0.37, 0.999, 3.7e-5):
        m, s = quantize_multiplier(real)
        err = np.max(np.abs(multiply_by_quantized_multiplier(x, m, s) - x * real))
        assert err <= 0.5 + 0.5 * 2.0**s + 1e-3  # two roundings: SRDHM's 0.5 LSB, scaled by 2^s
    with pytest.raises(ValueError):
        quantize_multiplier(-1.0)


# --- ONNX Runtime ---------------------------------------------------------------------------------


def _session(nodes, inputs, outputs, inits):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import helper, numpy_helper

    graph = helper.make_graph(
        nodes, "g", inputs, outputs,
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _io(name, dtype, shape):
    from onnx import TensorProto, helper

    kind = {np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8, np.int32: TensorProto.INT32}
    return helper.make_tensor_value_info(name, kind[dtype], list(shape))


def _grid(acc_real: np.ndarray) -> tuple[np.float32, np.uint8]:
    """A uint8 output grid covering the real outputs' 1–99 percentiles."""
    lo, hi = min(np.percentile(acc_real, 1), 0.0), max(np.percentile(acc_real, 99), 0.0)
    scale = np.float32((hi - lo) / 255)
    return scale, np.uint8(np.clip(round(-lo / scale), 0, 255))


def _lsq_layer(op, x, w, xs, xz, ws, wz, ys, yz, bias, **conv) -> Layer:
    """accelsim's lsqplus layer for ONNX quantization parameters (float32 scales)."""
    reals = np.float64(xs) * np.asarray(ws, np.float64) / np.float64(ys)
    pairs = [quantize_multiplier(float(r)) for r in np.broadcast_to(reals, (len(bias),))]
    quant = {"scheme": "lsqplus", "x_zero_point": int(xz),
             "w_zero_point": int(wz) if np.ndim(wz) == 0 else np.asarray(wz, np.int64),
             "bias": np.asarray(bias, np.int64), "multiplier": np.array([p[0] for p in pairs]),
             "shift": np.array([p[1] for p in pairs]), "y_zero_point": int(yz), "y_bits": 8,
             "y_signed": False}
    return Layer("l", op, x.astype(np.int64), w.astype(np.int64), None, 8, 8, False, True,
                 quant=quant, **conv)


def _simulated(layer: Layer, identity: bool = False) -> dict[str, np.ndarray]:
    """The simulator's outputs per placement (16x16 ws array). ``identity``: requantization by
    exactly 1 (multiplier 2^30, shift 1) into int32, so y is the integer sum + bias itself."""
    if identity:
        o = len(layer.quant["bias"])
        q = dict(layer.quant, multiplier=np.full(o, 1 << 30), shift=np.ones(o, np.int64),
                 y_zero_point=0, y_bits=32, y_signed=True)
        layer = replace(layer, quant=q)
    low = lower(layer)
    spec = ArraySpec(16, 16, "ws", False, 8, 8, 32, False, False, True)
    out = {}
    for pl in ("output", "pe"):
        r = simulate_lsqplus_gemm(low, spec, params=LsqplusParams(rescale=pl), layer=layer)
        out[pl] = low.to_layer_shape(r.y)
    return out


def _compare(name: str, ours: np.ndarray, theirs: np.ndarray) -> int:
    """Require |ours − ONNX Runtime| <= 1 LSB everywhere; return (and print) how many differ."""
    diff = np.abs(ours.astype(np.int64) - theirs.astype(np.int64))
    assert diff.max() <= 1, f"{name}: a difference of {diff.max()} LSB"
    n = int(np.count_nonzero(diff))
    print(f"{name}: {diff.size} elements, {n} differ by 1 LSB ({100 * n / diff.size:.2f} %), "
          f"none by more")
    return n


@pytest.mark.parametrize("per_channel", (False, True))
def test_qlinearmatmul_agrees_with_onnxruntime(per_channel):
    rng = np.random.default_rng(10 + per_channel)
    M, K, N = 48, 64, 24
    a = np.clip(np.round(rng.normal(90, 45, (M, K))), 0, 255).astype(np.uint8)
    b = np.clip(np.round(rng.normal(0, 30, (K, N))), -128, 127).astype(np.int8)
    a_s, a_z = np.float32(0.021), np.uint8(73)
    b_s = rng.uniform(0.002, 0.004, N).astype(np.float32) if per_channel else np.float32(0.003)
    b_z = rng.integers(-4, 5, N).astype(np.int8) if per_channel else np.int8(-2)
    acc = (a.astype(np.int64) - a_z) @ (b.astype(np.int64) - b_z.astype(np.int64))
    y_s, y_z = _grid(acc * a_s * b_s)
    inits = {"as": a_s, "az": a_z, "b": b, "bs": np.asarray(b_s), "bz": np.asarray(b_z),
             "ys": y_s, "yz": y_z}
    from onnx import helper

    q = _session([helper.make_node("QLinearMatMul", ["a", "as", "az", "b", "bs", "bz", "ys", "yz"],
                                   ["y"])], [_io("a", np.uint8, a.shape)],
                 [_io("y", np.uint8, (M, N))], inits)
    i = _session([helper.make_node("MatMulInteger", ["a", "b", "az", "bz"], ["y"])],
                 [_io("a", np.uint8, a.shape)], [_io("y", np.int32, (M, N))], inits)
    y_ort, acc_ort = q.run(None, {"a": a})[0], i.run(None, {"a": a})[0]
    layer = _lsq_layer("gemm", a, b, a_s, a_z, b_s, b_z, y_s, y_z, np.zeros(N, np.int64))
    sums = _simulated(layer, identity=True)  # the integer part: identical
    for pl, y in sums.items():
        assert np.array_equal(y, acc_ort), pl
    ys = _simulated(layer)
    assert np.array_equal(ys["output"], ys["pe"])
    assert np.array_equal(ys["output"], reference(lower(layer), layer))
    assert 0 < len(np.unique(y_ort)) and np.mean((y_ort == 0) | (y_ort == 255)) < 0.05
    _compare(f"QLinearMatMul ({'per-channel' if per_channel else 'per-tensor'} w)",
             ys["output"], y_ort)


@pytest.mark.parametrize("per_channel,groups", ((False, 1), (False, 2), (True, 1)))
def test_qlinearconv_agrees_with_onnxruntime(per_channel, groups):
    rng = np.random.default_rng(20 + 2 * per_channel + groups)
    n, c, h, o = 2, 8, 10, 16
    x = np.clip(np.round(rng.normal(60, 40, (n, c, h, h))), 0, 255).astype(np.uint8)
    w = np.clip(np.round(rng.normal(0, 35, (o, c // groups, 3, 3))), -128, 127).astype(np.int8)
    x_s, x_z = np.float32(0.017), np.uint8(31)
    w_s = rng.uniform(0.002, 0.004, o).astype(np.float32) if per_channel else np.float32(0.003)
    w_z = rng.integers(-3, 4, o).astype(np.int8) if per_channel else np.int8(1)
    bias = rng.integers(-3000, 3000, o).astype(np.int32)
    layer = _lsq_layer("conv2d", x, w, x_s, x_z, w_s, w_z, np.float32(1), 0, bias,
                       padding=(1, 1), stride=(1, 1), groups=groups)
    acc = _simulated(layer, identity=True)["output"]  # Σ(x−z_x)(w−z_w) + bias, exact
    y_s, y_z = _grid(acc * x_s * np.broadcast_to(w_s, (o,)).reshape(-1, 1, 1))
    layer = _lsq_layer("conv2d", x, w, x_s, x_z, w_s, w_z, y_s, y_z, bias, padding=(1, 1),
                       stride=(1, 1), groups=groups)
    inits = {"xs": x_s, "xz": x_z, "w": w, "ws": np.asarray(w_s), "wz": np.asarray(w_z),
             "ys": y_s, "yz": y_z, "B": bias}
    from onnx import helper

    attrs = {"pads": [1, 1, 1, 1], "group": groups}
    q = _session([helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz",
                                                   "B"], ["y"], **attrs)],
                 [_io("x", np.uint8, x.shape)], [_io("y", np.uint8, (n, o, h, h))], inits)
    y_ort = q.run(None, {"x": x})[0]
    if not per_channel:  # ConvInteger supports per-tensor weight zero points only
        i = _session([helper.make_node("ConvInteger", ["x", "w", "xz", "wz"], ["y"], **attrs)],
                     [_io("x", np.uint8, x.shape)], [_io("y", np.int32, (n, o, h, h))], inits)
        assert np.array_equal(acc, i.run(None, {"x": x})[0] + bias.reshape(-1, 1, 1))
    ys = _simulated(layer)
    assert np.array_equal(ys["output"], ys["pe"])
    assert np.array_equal(ys["output"], reference(lower(layer), layer))
    _compare(f"QLinearConv ({'per-channel' if per_channel else 'per-tensor'} w, groups {groups})",
             ys["output"], y_ort)


# --- direction: pe placement costs more than output placement -------------------------------------


@pytest.mark.parametrize("dataflow", ("ws", "os", "is"))
def test_pe_placement_toggles_more_than_output_placement(dataflow):
    # A realistic layer: a 3x3 conv, 32 -> 32 channels on 10x10 maps, activations like a shifted
    # ReLU output on an asymmetric uint8 grid (z_x 20), int8 weights ~ N(0, 25) with per-channel
    # zero points in [-3, 3] — the LSQ+ setting. 16x16 array, 32-bit accumulators.
    rng = np.random.default_rng(30)
    x = np.clip(np.round(rng.gamma(1.5, 30, (1, 32, 10, 10))) + 20, 0, 255).astype(np.int64)
    w = np.clip(np.round(rng.normal(0, 25, (32, 32, 3, 3))), -128, 127).astype(np.int64)
    o = 32
    quant = {"scheme": "lsqplus", "x_zero_point": 20, "w_zero_point": rng.integers(-3, 4, o),
             "bias": rng.integers(-5000, 5000, o), "multiplier": rng.integers(1 << 30, 1 << 31, o),
             "shift": np.full(o, -13), "y_zero_point": 10, "y_bits": 8, "y_signed": False}
    layer = Layer("conv", "conv2d", x, w, None, 8, 8, False, True, padding=(1, 1), quant=quant)
    low = lower(layer)
    spec = ArraySpec(16, 16, dataflow, False, 8, 8, 32, False, False, True)
    res = {pl: simulate_lsqplus_gemm(low, spec, params=LsqplusParams(rescale=pl), layer=layer)
           for pl in ("output", "pe")}
    assert np.array_equal(res["output"].y, res["pe"].y)
    total = {pl: sum(r.toggles.values()) for pl, r in res.items()}
    extra = {pl: r.toggles["rescale"] + r.toggles["rowsum"] for pl, r in res.items()}
    print(f"{dataflow}: M={low.M} K={low.K} N={low.N}; total toggles output {total['output']:,} "
          f"vs pe {total['pe']:,} (x{total['pe'] / total['output']:.3f}); "
          + "; ".join(f"{pl}: " + ", ".join(f"{k} {v:,}" for k, v in r.toggles.items())
                      for pl, r in res.items()))
    assert total["pe"] > total["output"]
    out, pe = res["output"].toggles, res["pe"].toggles
    # Not asserted per class: the 9x9 multiplier can toggle less than the 8x8 one (is), since the
    # offset operands are smaller in magnitude; the two subtractors per PE always add toggles.
    assert pe["adder"] > out["adder"]
    assert (pe["x_reg"], pe["w_reg"]) == (out["x_reg"], out["w_reg"])  # same raw-code registers
    assert pe["rowsum"] == 0 < out["rowsum"] and extra["output"] > extra["pe"]


# --- config, checks, simulate_layer, shipped files ------------------------------------------------

ARCH = """\
name: t
array: {{rows: 4, cols: 4, dataflow: ws}}
pe: {{kind: {kind}, x_bits: 8, w_bits: 8, acc_bits: {acc}{extra}}}
"""


def _arch(tmp_path: Path, kind: str = "lsqplus", acc: int = 32, extra: str = "") -> Path:
    p = tmp_path / "a.yaml"
    p.write_text(ARCH.format(kind=kind, acc=acc, extra=extra))
    return p


def test_config_parses_pe_lsqplus(tmp_path):
    assert REGISTRY["lsqplus"].params is LsqplusParams
    assert load_arch(_arch(tmp_path)).pe.params == LsqplusParams(rescale="output")
    arch = load_arch(_arch(tmp_path, extra=", lsqplus: {rescale: pe}"))
    assert arch.pe.kind == "lsqplus" and arch.pe.params == LsqplusParams(rescale="pe")
    for extra, key in ((", lsqplus: {rescale: edge}", "pe.lsqplus.rescale"),
                       (", lsqplus: {placement: pe}", "pe.lsqplus.placement")):
        with pytest.raises(ConfigError) as e:
            load_arch(_arch(tmp_path, extra=extra))
        assert key in e.value.one_line()
    with pytest.raises(ConfigError):
        load_arch(_arch(tmp_path, kind="mac", extra=", lsqplus: {rescale: pe}"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_lsqplus_configs(path):
    arch = load_arch(path)
    assert arch.name == path.stem and arch.pe.kind == "lsqplus" and arch.array.dataflow == "ws"
    assert arch.pe.params.rescale == path.stem.rsplit("-", 1)[1]


def _lsq_conv(rng, quant_extra=None, **kw) -> Layer:
    x = rng.integers(0, 256, (1, 4, 5, 5))
    w = rng.integers(-128, 128, (6, 2, 3, 3))
    quant = {"scheme": "lsqplus", "x_zero_point": 100, "w_zero_point": rng.integers(-3, 4, 6),
             "bias": rng.integers(-500, 500, 6), "multiplier": rng.integers(1 << 30, 1 << 31, 6),
             "shift": rng.integers(-12, -6, 6), "y_zero_point": -3, "y_bits": 8, "y_signed": True,
             **(quant_extra or {})}
    return Layer("c", "conv2d", x, w, None, 8, 8, False, True, padding=(1, 2), stride=(2, 1),
                 groups=2, quant=quant, **kw)


def test_check_rejects_what_the_pe_cannot_run(tmp_path):
    rng = np.random.default_rng(40)
    layer = _lsq_conv(rng)
    check_layer(load_arch(_arch(tmp_path, extra=", lsqplus: {rescale: pe}")), layer, "w.npz")
    pann = replace(layer, quant={"scheme": "pann"})
    with pytest.raises(WorkloadError) as e:
        check_layer(load_arch(_arch(tmp_path)), pann, "w.npz")
    assert "layers['c'].quant.scheme" in e.value.one_line()
    narrow = load_arch(_arch(tmp_path, acc=16, extra=", lsqplus: {rescale: pe}"))
    with pytest.raises(WorkloadError) as e:
        check_layer(narrow, layer, "w.npz")  # (x - z_x)(w - z_w) needs 17 signed bits
    assert "layers['c']" in e.value.one_line() and "17" in e.value.one_line()
    check_layer(load_arch(_arch(tmp_path, acc=16)), layer, "w.npz")  # output placement: raw fits


@pytest.mark.parametrize("rescale", ("output", "pe"))
@pytest.mark.parametrize("dataflow", ("os", "ws", "is"))
def test_simulate_layer_conv_padding_groups_exact(tmp_path, dataflow, rescale):
    # Padded with z_x, strided, grouped conv without y: checked against the NumPy gemmlowp port.
    path = tmp_path / "a.yaml"
    path.write_text(ARCH.format(kind="lsqplus", acc=32, extra=f", lsqplus: {{rescale: {rescale}}}")
                    .replace("dataflow: ws", f"dataflow: {dataflow}"))
    layer = _lsq_conv(np.random.default_rng(41))
    sim = simulate_layer(load_arch(path), layer)
    assert sim.check == "exact" and sim.reference_source == "numpy-int64"
    assert sim.y.shape == (1, 6, 3, 7)
    y_int = simulate_layer(load_arch(path), replace(layer, quant={"scheme": "int"}))
    assert y_int.check == "exact" and y_int.result.toggles["rescale"] == 0


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_configs_run_lsqplus_example_exactly(path, tmp_path, capsys):
    from accelsim.cli import main

    out = tmp_path / "r.json"
    assert main(["run", str(path), str(EXAMPLE), "--json", str(out), "--quiet"]) == 0
    doc = json.loads(out.read_text())
    assert [lr["check"] for lr in doc["layers"]] == ["exact"] * 3
    toggles = doc["total"]["toggles"]
    assert toggles["rescale"] > 0
    assert (toggles["rowsum"] > 0) == path.stem.endswith("output")
    assert "mismatch" not in capsys.readouterr().out


def test_example_workload_is_regenerated_byte_identically(tmp_path, monkeypatch):
    import importlib.util

    maker = ROOT / "workloads" / "make_lsqplus_example.py"
    spec = importlib.util.spec_from_file_location("mk", maker)
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    monkeypatch.setattr(mk, "OUT", tmp_path / "e.npz")
    mk.main()
    assert (tmp_path / "e.npz").read_bytes() == EXAMPLE.read_bytes()
    from accelsim.workload import load_workload

    wl = load_workload(EXAMPLE)
    assert wl.source["trained"] is False and "NOT a trained network" in wl.source["description"]
    assert all(layer.quant["scheme"] == "lsqplus" for layer in wl.layers)
    assert len(wl.layers) == 3


def test_warmup_compiles_every_path():
    from accelsim.pe.lsqplus import warmup

    warmup()
