"""The importer's rescale parameters against ONNX Runtime's float32 arithmetic, exhaustively.

``requant_multipliers`` picks, per channel, the gemmlowp ``(multiplier, shift)`` closest to
ONNX Runtime's ``round_half_even(float32(acc) · float32 real)``; the host ``add`` node built by
the importer is compared with ONNX Runtime's ``QLinearAdd`` on every pair of uint8 inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.export import host
from accelsim.export.quantize import quantize_multipliers
from accelsim.fixedpoint import multiply_by_quantized_multiplier
from accelsim.interop.onnx_import import requant_multipliers

GRID = {"scale": 1.0, "zero_point": 0, "min": 0, "max": 255, "bits": 8, "signed": False}


def _mismatches(real: float, mult: int, shift: int, grid: dict) -> int:
    """Accumulator values (over every value whose output is not clamped away) where the
    fixed-point rescale differs from float32 round-half-even."""
    reach = int(np.ceil((max(grid["zero_point"] - grid["min"], grid["max"] - grid["zero_point"])
                         + 1) / real))
    v = np.arange(-reach, reach + 1, dtype=np.int64)
    ort = np.rint(v.astype(np.float32) * np.float32(real)).astype(np.int64)
    ours = multiply_by_quantized_multiplier(v, mult, shift, overflow="raise")
    lo, hi = grid["min"] - grid["zero_point"], grid["max"] - grid["zero_point"]
    return int(np.count_nonzero(np.clip(ort, lo, hi) != np.clip(ours, lo, hi)))


def test_float32_multipliers_from_2_pow_minus_8_are_exact():
    """A float32 real in [2^-8, 1) fits a 31-bit multiplier with shift 0: one rounding, the
    same as ONNX Runtime's on every accumulator value (no half-integer ties occur here)."""
    rng = np.random.default_rng(3)
    reals = (2.0 ** rng.uniform(-8, 0, 12)).astype(np.float32).astype(np.float64)
    mult, shift = requant_multipliers(reals, GRID)
    assert np.all(shift == 0)
    for real, m, s in zip(reals, mult, shift):
        assert m == real * 2.0 ** 31  # exact
        assert _mismatches(real, int(m), int(s), GRID) == 0, real
    m_t, s_t = quantize_multipliers(reals)  # TFLite's normalized encoding rounds twice
    assert sum(_mismatches(r, int(m), int(s), GRID) for r, m, s in zip(reals, m_t, s_t)) > 0


@pytest.mark.parametrize("log2_real", [-10.5, -12.7, -14.2])
def test_small_multipliers_never_worse_than_tflite(log2_real):
    """Below 2^-8 neither encoding is exact; the chosen one mismatches on no more accumulator
    values than TFLite's ``QuantizeMultiplier`` (counted over the whole unclamped range)."""
    real = float(np.float32(2.0 ** log2_real))
    grid = dict(GRID, zero_point=100)
    (m,), (s,) = requant_multipliers(np.array([real]), grid)
    (m_t,), (s_t,) = quantize_multipliers(np.array([real]))
    chosen = _mismatches(real, int(m), int(s), grid)
    assert chosen <= _mismatches(real, int(m_t), int(s_t), grid)
    assert chosen <= 1e-4 * (256 / real)


def test_real_multipliers_of_one_or_more_keep_tflite_encoding():
    reals = np.array([1.0, 3.5, 200.0])
    assert [tuple(a) for a in zip(*requant_multipliers(reals, GRID))] == \
        [tuple(a) for a in zip(*quantize_multipliers(reals))]


def test_residual_add_against_qlinearadd_on_every_input_pair():
    """The host ``add`` node the importer builds for a QLinearAdd, on all 65,536 uint8 input
    pairs of five seeded scale/zero-point triples: within one LSB of ONNX Runtime and at most
    one pair in 10,000 different (ONNX Runtime adds in float32 on x86)."""
    import onnx  # noqa: F401  (the test needs onnx and onnxruntime)
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    from accelsim.interop.onnx_import import _Converter

    rng = np.random.default_rng(7)
    a, b = (g.ravel().astype(np.uint8) for g in np.meshgrid(np.arange(256), np.arange(256),
                                                            indexing="ij"))
    for _ in range(5):
        scales = [float(np.float32(s)) for s in 2.0 ** rng.uniform(-8, -3, 3)]
        zeros = [int(z) for z in rng.integers(0, 256, 3)]
        grids = [dict(GRID, scale=s, zero_point=z) for s, z in zip(scales, zeros)]
        conv = _Converter.__new__(_Converter)
        conv.used, conv.nodes, conv.grids = set(), [], {"a": grids[0], "b": grids[1]}
        node = helper.make_node("QLinearAdd", ["a", "as", "az", "b", "bs", "bz", "cs", "cz"],
                                ["c"], domain="com.microsoft", name="add")
        conv._add(node, ["a", "b"], grids[2])
        ours = host.add(conv.nodes[-1], [a.astype(np.int64), b.astype(np.int64)], grids[:2])
        inits = [numpy_helper.from_array(np.array(v, t), n) for v, t, n in [
            (scales[0], np.float32, "as"), (zeros[0], np.uint8, "az"),
            (scales[1], np.float32, "bs"), (zeros[1], np.uint8, "bz"),
            (scales[2], np.float32, "cs"), (zeros[2], np.uint8, "cz")]]
        io = [helper.make_tensor_value_info(n, TensorProto.UINT8, [a.size]) for n in "abc"]
        graph = helper.make_graph([node], "add", io[:2], io[2:], inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                        helper.make_opsetid("com.microsoft", 1)])
        model.ir_version = 8
        sess = ort.InferenceSession(model.SerializeToString(),
                                    providers=["CPUExecutionProvider"])
        ref = sess.run(None, {"a": a, "b": b})[0].astype(np.int64)
        diff = np.abs(ref - ours)
        assert diff.max() <= 1 and np.count_nonzero(diff) <= a.size // 10_000, (scales, zeros)
