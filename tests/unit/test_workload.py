"""Workload files (load, save, validation) and their lowering to GEMMs, against naive loops."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import tracemalloc
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from accelsim.errors import WorkloadError
from accelsim.workload import (
    Layer,
    check_fits,
    conv_output_size,
    load_workload,
    lower,
    save_workload,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "workloads" / "example_cnn.npz"

# x shape [N, C, H, W], w shape [O, C/groups, kh, kw], stride, padding, dilation, groups
CONV_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 2), (2, 1), (1, 0), (1, 1), 1),  # non-square kernel, stride 2
    ((1, 2, 10, 9), (3, 2, 3, 3), (2, 2), (1, 1), (2, 2), 1),  # stride 2, pad 1, dilation 2
    ((2, 4, 8, 7), (6, 2, 2, 3), (1, 2), (0, 1), (2, 1), 2),  # groups 2, mixed dilation
    ((1, 4, 9, 9), (4, 1, 3, 3), (1, 1), (1, 1), (1, 1), 4),  # depthwise
    ((3, 6, 5, 5), (6, 2, 1, 1), (1, 1), (0, 0), (1, 1), 3),  # 1x1, groups 3
    ((2, 2, 4, 5), (5, 2, 4, 5), (1, 1), (0, 0), (1, 1), 1),  # kernel = input: Ho = Wo = 1
    ((1, 3, 6, 6), (2, 3, 1, 3), (3, 2), (2, 0), (1, 2), 1),  # stride 3, pad 2 (rows only)
]


def _random_conv_cases(count: int) -> list[tuple]:
    rng = np.random.default_rng(11)
    cases: list[tuple] = []
    while len(cases) < count:
        g = int(rng.choice([1, 2, 4]))
        c, o = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
        hw, k, s, p, d = (
            tuple(int(v) for v in rng.integers(lo, hi, 2))
            for lo, hi in ((1, 9), (1, 4), (1, 4), (0, 3), (1, 3))
        )
        if min(conv_output_size(*a) for a in zip(hw, k, s, p, d)) >= 1:
            cases.append(((int(rng.integers(1, 3)), c, *hw), (o, c // g, *k), s, p, d, g))
    return cases


ALL_CONV_CASES = CONV_CASES + _random_conv_cases(12)


def _conv_layer(case: tuple, seed: int, quant: dict | None = None) -> Layer:
    xs, ws, stride, padding, dilation, groups = case
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, xs)
    w = rng.integers(-8, 8, ws)
    quant = quant or {"scheme": "int"}
    return Layer("conv", "conv2d", x, w, None, 8, 4, False, True, *case[2:], quant)


def naive_conv(layer: Layer, pad_value: int = 0) -> np.ndarray:
    """PyTorch conv2d by explicit loops over every output and every tap."""
    x, w = layer.x, layer.w
    (sh, sw), (ph, pw), (dh, dw), g = layer.stride, layer.padding, layer.dilation, layer.groups
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho, wo = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, ho, wo), dtype=np.int64)
    for b, oc, r, q in itertools.product(range(n), range(o), range(ho), range(wo)):
        acc = 0
        for ci, i, j in itertools.product(range(cg), range(kh), range(kw)):
            hi, wi = r * sh - ph + i * dh, q * sw - pw + j * dw
            inside = 0 <= hi < h and 0 <= wi < wd
            value = int(x[b, oc // (o // g) * cg + ci, hi, wi]) if inside else pad_value
            acc += value * int(w[oc, ci, i, j])
        y[b, oc, r, q] = acc
    return y


def naive_im2col(layer: Layer, pad_value: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(X [G, M, K], W [G, K, N]) built entry by entry from the definition in SPEC §5.1."""
    x, w = layer.x, layer.w
    (sh, sw), (ph, pw), (dh, dw), g = layer.stride, layer.padding, layer.dilation, layer.groups
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho, wo = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    xg = np.zeros((g, n * ho * wo, cg * kh * kw), dtype=np.int64)
    wg = np.zeros((g, cg * kh * kw, o // g), dtype=np.int64)
    for gi in range(g):
        for m, (b, r, q) in enumerate(itertools.product(range(n), range(ho), range(wo))):
            for k, (ci, i, j) in enumerate(itertools.product(range(cg), range(kh), range(kw))):
                hi, wi = r * sh - ph + i * dh, q * sw - pw + j * dw
                inside = 0 <= hi < h and 0 <= wi < wd
                xg[gi, m, k] = x[b, gi * cg + ci, hi, wi] if inside else pad_value
        for k, (ci, i, j) in enumerate(itertools.product(range(cg), range(kh), range(kw))):
            for col in range(o // g):
                wg[gi, k, col] = w[gi * (o // g) + col, ci, i, j]
    return xg, wg


def _assemble(lowered, bm: int, bk: int, bn: int) -> tuple[np.ndarray, np.ndarray]:
    """X and W of every group, gathered in bm x bk and bk x bn blocks."""
    g, m, k, n = lowered.groups, lowered.M, lowered.K, lowered.N
    xg, wg = np.zeros((g, m, k), np.int64), np.zeros((g, k, n), np.int64)
    for gi, m0, k0 in itertools.product(range(g), range(0, m, bm), range(0, k, bk)):
        block = lowered.x_block(gi, m0, min(m0 + bm, m), k0, min(k0 + bk, k))
        assert block.dtype == np.int64 and block.flags.c_contiguous
        xg[gi, m0 : m0 + bm, k0 : k0 + bk] = block
    for gi, k0, n0 in itertools.product(range(g), range(0, k, bk), range(0, n, bn)):
        block = lowered.w_block(gi, k0, min(k0 + bk, k), n0, min(n0 + bn, n))
        assert block.dtype == np.int64 and block.flags.c_contiguous
        wg[gi, k0 : k0 + bk, n0 : n0 + bn] = block
    return xg, wg


# --- lowering ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ALL_CONV_CASES, ids=str)
def test_conv_reference_y_matches_naive_loops(case: tuple) -> None:
    layer = _conv_layer(case, seed=1)
    y = lower(layer).reference_y()
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, naive_conv(layer))


@pytest.mark.parametrize("case", ALL_CONV_CASES, ids=str)
def test_conv_blocks_reassemble_to_naive_im2col(case: tuple) -> None:
    layer = _conv_layer(case, seed=2)
    lowered = lower(layer)
    xg, wg = naive_im2col(layer)
    assert (lowered.groups, lowered.M, lowered.K, lowered.N) == (*xg.shape, wg.shape[2])
    got_x, got_w = _assemble(lowered, bm=5, bk=4, bn=3)
    np.testing.assert_array_equal(got_x, xg)
    np.testing.assert_array_equal(got_w, wg)
    np.testing.assert_array_equal(lowered.to_layer_shape(xg @ wg), naive_conv(layer))


@pytest.mark.parametrize("case", ALL_CONV_CASES, ids=str)
def test_conv_blocks_at_any_bounds(case: tuple) -> None:
    """Blocks starting and ending anywhere (inside an output row, across rows and images, inside
    a channel's taps, empty) equal the naive im2col's slices."""
    layer = _conv_layer(case, seed=5)
    lowered = lower(layer)
    xg, _ = naive_im2col(layer)
    rng = np.random.default_rng(6)
    for _ in range(40):
        g = int(rng.integers(0, lowered.groups))
        m0, m1 = sorted(int(v) for v in rng.integers(0, lowered.M + 1, 2))
        k0, k1 = sorted(int(v) for v in rng.integers(0, lowered.K + 1, 2))
        block = lowered.x_block(g, m0, m1, k0, k1)
        assert block.dtype == np.int64 and block.flags.c_contiguous
        np.testing.assert_array_equal(block, xg[g, m0:m1, k0:k1])
    np.testing.assert_array_equal(lowered.x_block(0, 0, lowered.M, 0, lowered.K), xg[0])


def test_lsqplus_conv_pads_with_the_input_zero_point() -> None:
    w_zp = np.zeros(6, np.int64)
    quant = dict(scheme="lsqplus", x_zero_point=7, y_zero_point=0, y_bits=8, y_signed=True)
    quant |= dict.fromkeys(("w_zero_point", "bias", "multiplier", "shift"), w_zp)
    layer = _conv_layer(CONV_CASES[2], seed=3, quant=quant)
    lowered = lower(layer)
    xg, wg = naive_im2col(layer, pad_value=7)
    np.testing.assert_array_equal(_assemble(lowered, 7, 5, 2)[0], xg)
    np.testing.assert_array_equal(lowered.reference_y(), naive_conv(layer, pad_value=7))


def test_x_block_does_not_materialise_im2col() -> None:
    # im2col of this layer would be 65536 x 12544 int64 (6.6 GB); the padded input is 18 MB.
    x = np.zeros((1, 256, 256, 256), dtype=np.uint8)
    w = np.ones((4, 256, 7, 7), dtype=np.int8)
    layer = Layer("big", "conv2d", x, w, None, 8, 8, False, True, padding=(3, 3))
    tracemalloc.start()
    try:
        lowered = lower(layer)
        block = lowered.x_block(0, 1000, 1064, 500, 564)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (lowered.M, lowered.K, block.shape) == (65536, 12544, (64, 64))
    assert peak < 40 * 2**20


def test_linear_lowering() -> None:
    rng = np.random.default_rng(4)
    x, w = rng.integers(-128, 128, (5, 13)), rng.integers(0, 16, (7, 13))
    lowered = lower(Layer("fc", "linear", x, w, None, 8, 4, True, False))
    assert (lowered.groups, lowered.M, lowered.K, lowered.N) == (1, 5, 13, 7)
    xg, wg = _assemble(lowered, bm=2, bk=5, bn=3)
    np.testing.assert_array_equal(xg[0], x)
    np.testing.assert_array_equal(wg[0], w.T)
    np.testing.assert_array_equal(lowered.reference_y(), x @ w.T)
    np.testing.assert_array_equal(lowered.to_layer_shape(xg @ wg), x @ w.T)


def test_gemm_lowering() -> None:
    rng = np.random.default_rng(5)
    x, w = rng.integers(0, 4, (6, 9)), rng.integers(-2, 2, (9, 4))
    lowered = lower(Layer("mm", "gemm", x, w, None, 2, 2, False, True))
    assert (lowered.groups, lowered.M, lowered.K, lowered.N) == (1, 6, 9, 4)
    xg, wg = _assemble(lowered, bm=4, bk=4, bn=3)
    np.testing.assert_array_equal(xg[0], x)
    np.testing.assert_array_equal(wg[0], w)
    np.testing.assert_array_equal(lowered.reference_y(), x @ w)
    np.testing.assert_array_equal(lowered.to_layer_shape(xg @ wg), x @ w)


def test_to_layer_shape_rejects_wrong_shape() -> None:
    lowered = lower(_conv_layer(CONV_CASES[3], seed=6))
    with pytest.raises(ValueError):
        lowered.to_layer_shape(np.zeros((1, lowered.M, lowered.N), np.int64))


# --- save / load ------------------------------------------------------------------------------


def _layers() -> list[Layer]:
    """A valid conv2d (groups 2), linear (pann) and gemm (lsqplus) workload, with references."""
    rng = np.random.default_rng(7)
    conv = _conv_layer(((2, 4, 5, 5), (6, 2, 3, 3), (2, 1), (1, 1), (1, 2), 2), seed=8)
    fc_x, fc_w = rng.integers(0, 16, (2, 8)), rng.integers(-100, 100, (3, 8))
    fc = Layer("fc", "linear", fc_x, fc_w, None, 4, 8, False, True, quant={"scheme": "pann"})
    mm_x, mm_w = rng.integers(-2, 2, (3, 5)), rng.integers(0, 4, (5, 4))
    quant = {
        "scheme": "lsqplus",
        "x_zero_point": -1,
        "w_zero_point": np.array([0, 1, 2, 3]),
        "bias": np.array([-70000, 0, 5, 70000]),
        "multiplier": np.array([2**30, 2**31 - 1, 0, 5]),
        "shift": np.array([-31, 0, 3, 31]),
        "y_zero_point": 3,
        "y_bits": 8,
        "y_signed": False,
    }
    mm_y = rng.integers(0, 256, (3, 4))  # format test only: any values that fit y_bits
    mm = Layer("mm", "gemm", mm_x, mm_w, mm_y, 2, 2, True, False, quant=quant)
    conv, fc = (Layer(**{**vars(lay), "y": lower(lay).reference_y()}) for lay in (conv, fc))
    return [conv, fc, mm]


def _assert_same_layer(a: Layer, b: Layer) -> None:
    for key, value in vars(a).items():
        other = getattr(b, key)
        if key == "quant":
            assert value.keys() == other.keys()
            for k in value:
                np.testing.assert_array_equal(value[k], other[k])
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, other)
        else:
            assert value == other, key


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    layers = _layers()
    labels = np.array([1, 0, 2])
    source = {"generator": "test", "seed": np.int64(7)}
    save_workload(path, "tiny", layers, source, labels=labels, accuracy={"top1": 0.5})
    wl = load_workload(path)
    assert (wl.name, wl.path, wl.accuracy) == ("tiny", str(path), {"top1": 0.5})
    assert wl.source == {"generator": "test", "seed": 7}
    assert wl.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    np.testing.assert_array_equal(wl.labels, labels)
    assert len(wl.layers) == 3
    for a, b in zip(layers, wl.layers):
        _assert_same_layer(a, b)
    conv, fc, mm = wl.layers
    dtypes = (conv.x.dtype, conv.w.dtype, conv.y.dtype, fc.w.dtype, mm.x.dtype)
    assert dtypes == (np.uint8, np.int8, np.int16, np.int8, np.int8)
    assert not conv.x.flags.writeable
    assert (fc.stride, fc.padding, fc.dilation, fc.groups) == ((1, 1), (0, 0), (1, 1), 1)
    assert os.listdir(tmp_path) == ["w.npz"]


def test_save_is_deterministic(tmp_path: Path) -> None:
    save_workload(tmp_path / "a.npz", "tiny", _layers(), {"by": "test"})
    save_workload(tmp_path / "b.npz", "tiny", _layers(), {"by": "test"})
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_invalid_save_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "w.npz"
    save_workload(path, "tiny", _layers(), {"by": "test"})
    before = path.read_bytes()
    bad = _layers()
    bad[1] = Layer(**{**vars(bad[1]), "x_bits": 2})
    with pytest.raises(WorkloadError) as err:
        save_workload(path, "tiny", bad, {"by": "test"})
    assert (err.value.file, err.value.key) == (str(path), "layers[1].x")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.npz"]


def test_save_rejects_duplicate_names_before_anything_else(tmp_path: Path) -> None:
    conv, fc, _ = _layers()
    with pytest.raises(WorkloadError) as err:
        save_workload(tmp_path / "w.npz", "tiny", [fc, Layer(**{**vars(conv), "name": "fc"})], {})
    assert err.value.key == "layers[1].name"
    assert os.listdir(tmp_path) == []


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match="readable file") as err:
        load_workload(tmp_path / "nope.npz")
    assert err.value.file == str(tmp_path / "nope.npz")


def test_check_fits() -> None:
    layer = _layers()[0]  # x 8-bit, w 4-bit
    check_fits(layer, 8, 4, "w.npz")
    check_fits(layer, 16, 16, "w.npz")
    with pytest.raises(WorkloadError) as err:
        check_fits(layer, 8, 3, "w.npz")
    assert err.value.key == "layers['conv'].w_bits"
    assert "w.npz" in err.value.one_line() and "conv" in err.value.one_line()
    with pytest.raises(WorkloadError, match=r"x_bits"):
        check_fits(layer, 7, 8, "w.npz")


def test_example_workload() -> None:
    assert EXAMPLE.stat().st_size < 100_000
    wl = load_workload(EXAMPLE)
    assert wl.source["trained"] is False
    assert "workloads/make_example.py" in wl.source["generator"]
    assert [lay.op for lay in wl.layers] == ["conv2d", "conv2d", "linear"]
    for layer in wl.layers:
        assert (layer.x_bits, layer.x_signed, layer.w_bits, layer.w_signed) == (8, False, 8, True)
        np.testing.assert_array_equal(lower(layer).reference_y(), layer.y)
        assert np.abs(layer.y).max() < 2**31


# --- bad-workload corpus ----------------------------------------------------------------------

#: Changes a valid workload's (manifest dict, arrays dict) in place, or returns raw file bytes.
Mutation = Callable[[dict, dict], object]


def _layer(i: int, **changes: object) -> Mutation:
    return lambda m, a: m["layers"][i].update(changes)


def _array(key: str, make: Callable[[dict], np.ndarray]) -> Mutation:
    return lambda m, a: a.update({key: make(a)})


def _manifest_text(text: str | bytes) -> Mutation:
    return _array("manifest", lambda a: np.array(text))


def _truncated_zip(m: dict, a: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **a)
    return buf.getvalue()[:-30]


def _npy_file(m: dict, a: dict) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a["conv.x"])
    return buf.getvalue()


def _set_lsqplus_bias(m: dict, a: dict) -> None:
    m["layers"][2]["quant"]["bias"] = "fc.x"


def _nested(depth: int) -> Mutation:
    """A manifest whose ``source`` nests ``depth`` lists deep."""
    return lambda m, a: m.update(source={"deep": json.loads("[" * depth + "]" * depth)})


class _ZeroDeflate:
    """A deflate compressor for zip members of a short header then all-zero 1 MiB chunks: each
    chunk is one precompressed, self-contained block, so a GiB costs only its CRC to write."""

    def __init__(self) -> None:
        self.real = zlib.compressobj(9, zlib.DEFLATED, -15)
        zeros = zlib.compressobj(9, zlib.DEFLATED, -15)
        self.block = zeros.compress(bytes(_CHUNK)) + zeros.flush(zlib.Z_FULL_FLUSH)

    def compress(self, data: bytes) -> bytes:
        if len(data) == _CHUNK and not any(data[:64]) and data == bytes(_CHUNK):
            return self.block
        return self.real.compress(data) + self.real.flush(zlib.Z_FULL_FLUSH)

    def flush(self) -> bytes:
        return self.real.flush(zlib.Z_FINISH)


_CHUNK = 1 << 20


def write_npz(target: Path | io.BytesIO, arrays: dict, zero_member: str = "",
              shape: tuple[int, ...] = (), dtype: str = "|u1") -> None:
    """An npz of ``arrays`` (manifest as a dict or an array) plus, under ``zero_member``, an
    honest deflated ``.npy`` of ``shape`` zeros (a zip bomb: a GiB compresses to a MiB)."""
    arrays = {k: np.array(json.dumps(v)) if isinstance(v, dict) else v for k, v in arrays.items()}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for key, value in arrays.items():
            if key != zero_member:
                buf = io.BytesIO()
                np.lib.format.write_array(buf, value, allow_pickle=False)
                z.writestr(f"{key}.npy", buf.getvalue())
        if not zero_member:
            return
        header = io.BytesIO()
        np.lib.format.write_array_header_2_0(
            header, {"descr": dtype, "fortran_order": False, "shape": shape})
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        info = zipfile.ZipInfo(f"{zero_member}.npy", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as f:
            f._compressor = _ZeroDeflate()
            f.write(header.getvalue())
            for _ in range(nbytes // _CHUNK):
                f.write(bytes(_CHUNK))
            f.write(bytes(nbytes % _CHUNK))


def _zip_bomb(member: str, shape: tuple[int, ...], **layer0: object) -> Mutation:
    """The file with ``member`` replaced by ``shape`` zeros (uint8), deflated."""

    def mutate(m: dict, a: dict) -> bytes:
        m["layers"][0].update(layer0)
        buf = io.BytesIO()
        write_npz(buf, {**a, "manifest": m}, member, shape)
        return buf.getvalue()

    return mutate


def _lying_header(m: dict, a: dict) -> bytes:
    """conv.x's .npy header claims 1 TiB; the member holds its real 200 bytes."""
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a["conv.x"], allow_pickle=False)
    data = buf.getvalue().replace(b"(2, 4, 5, 5)", b"(1048576, 1048576, 1, 1)")
    out = io.BytesIO()
    write_npz(out, {**{k: v for k, v in a.items() if k != "conv.x"}, "manifest": m})
    with zipfile.ZipFile(out, "a") as z:
        z.writestr("conv.x.npy", data)
    return out.getvalue()


def _many_members(m: dict, a: dict) -> bytes:
    out = io.BytesIO()
    write_npz(out, {**a, "manifest": m})
    with zipfile.ZipFile(out, "a", zipfile.ZIP_STORED) as z:
        for i in range(20_000):  # 20,000 x (46 + 206) bytes of directory: 5 MB
            z.writestr(f"{'p' * 200}{i:06d}", b"")
    return out.getvalue()


def _odd_member(compress_type: int, corrupt: bool = False, encrypted: bool = False) -> Mutation:
    """fc.w written last with this compression, its data corrupted, or flagged as encrypted."""

    def mutate(m: dict, a: dict) -> bytes:
        buf, out = io.BytesIO(), io.BytesIO()
        np.lib.format.write_array(buf, a["fc.w"], allow_pickle=False)
        write_npz(out, {**{k: v for k, v in a.items() if k != "fc.w"}, "manifest": m})
        with zipfile.ZipFile(out, "a") as z:
            z.writestr("fc.w.npy", buf.getvalue(), compress_type=compress_type)
        data = bytearray(out.getvalue())
        local, central = data.index(b"fc.w.npy") - 30, data.rindex(b"fc.w.npy") - 46
        if corrupt:  # the member's compressed data follows its name in the local header
            data[local + 30 + 8 + 8 : local + 30 + 8 + 24] = bytes(16)
        if encrypted:  # bit 0 of the general purpose flags, local and central headers
            data[local + 6] |= 1
            data[central + 8] |= 1
        return bytes(data)

    return mutate


def _duplicate_member(m: dict, a: dict) -> bytes:
    out = io.BytesIO()
    write_npz(out, {**a, "manifest": m})
    with zipfile.ZipFile(out, "a") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name it writes
        z.writestr("fc.w.npy", b"")
    return out.getvalue()


BAD = [  # id, mutation, expected key path, text expected in the message
    ("missing manifest", lambda m, a: a.pop("manifest"), "manifest", "array"),
    ("manifest not JSON", _manifest_text("{not json"), "manifest", "JSON"),
    ("manifest duplicate key", _manifest_text('{"a": 1, "a": 2}'), "manifest", "duplicate key"),
    ("manifest bytes", _manifest_text(b"{}"), "manifest", "unicode"),
    ("wrong format", lambda m, a: m.update(format="accelsim"), "manifest.format", "accelsim"),
    ("version 2", lambda m, a: m.update(version=2), "manifest.version", "version"),
    ("missing source", lambda m, a: m.pop("source"), "manifest.source", "required"),
    ("no layers", lambda m, a: m.update(layers=[]), "manifest.layers", "non-empty"),
    ("unknown manifest key", lambda m, a: m.update(layer=[]), "manifest.layer", "'layers'"),
    ("pickled object", _array("conv.w", lambda a: np.array([1, None])), "layers[0].w", "pickle"),
    ("float", _array("conv.x", lambda a: a["conv.x"] / 2), "layers[0].x", "float64"),
    ("bool", _array("fc.w", lambda a: a["fc.w"] > 0), "layers[1].w", "bool"),
    ("void", _array("fc.w", lambda a: np.zeros((3, 8), "V4")), "layers[1].w", "dtype |V4"),
    ("layer missing w", lambda m, a: m["layers"][0].pop("w"), "layers[0].w", "required"),
    ("missing array", _layer(1, x="fc.X"), "layers[1].x", "'fc.x'"),
    ("conv C vs w", _array("conv.w", lambda a: np.zeros((6, 3, 3, 3), np.int8)), "layers[0].w",
     "C/groups=2"),
    ("groups not dividing C", _layer(0, groups=3), "layers[0].groups", "divisor of C=4"),
    ("kernel too large", _layer(0, padding=[0, 0], dilation=[3, 3]), "layers[0].w", "fits"),
    ("stride 0", _layer(0, stride=[0, 1]), "layers[0].stride", "[1, 1048576]"),
    ("stride on linear", _layer(1, stride=[1, 1]), "layers[1].stride", "conv2d only"),
    ("x_bits 17", _layer(0, x_bits=17), "layers[0].x_bits", "[1, 16]"),
    ("x_signed not bool", _layer(0, x_signed="no"), "layers[0].x_signed", "true or false"),
    ("value out of bits", _layer(0, x_bits=4), "layers[0].x", "[0, 15]"),
    ("negative unsigned", _array("fc.x", lambda a: a["fc.x"].astype(np.int16) - 1), "layers[1].x",
     "[0, 15]"),
    ("duplicate names", _layer(2, name="conv"), "layers[2].name", "conv"),
    ("unknown layer key", _layer(0, xbits=8), "layers[0].xbits", "did you mean 'x_bits'"),
    ("y shape wrong", _array("fc.y", lambda a: np.zeros((2, 4), np.int32)), "layers[1].y",
     "[2, 3]"),
    ("linear K mismatch", _array("fc.w", lambda a: np.zeros((3, 9), np.int8)), "layers[1].w",
     "K=8"),
    ("bad op", _layer(0, op="conv"), "layers[0].op", "conv2d"),
    ("bad quant scheme", _layer(0, quant={"scheme": "fp8"}), "layers[0].quant.scheme", "lsqplus"),
    ("pann signed x", _layer(1, x_signed=True, x_bits=5), "layers[1].x_signed", "unsigned"),
    ("lsqplus bias shape", _set_lsqplus_bias, "layers[2].quant.bias", "one per output channel"),
    ("labels 2-d", _array("labels", lambda a: np.zeros((1, 3), np.int64)), "labels", "[3]"),
    ("not a zip file", lambda m, a: b"this is not a workload\n", "", "not a zip"),
    ("truncated zip", _truncated_zip, "", "zip"),
    ("npy not npz", _npy_file, "", ".npy"),
    ("manifest null", _manifest_text("null"), "manifest", "a JSON object"),
    ("20000 zip members", _many_members, "", "a zip directory of at most 4194304 bytes"),
    ("manifest nested 100000 deep", _manifest_text("[" * 100_000 + "]" * 100_000), "manifest",
     "nesting depth <= 64"),
    ("manifest source nested 65 deep", _nested(65), "manifest", "nesting depth <= 64"),
    ("npy header claims 1 TiB", _lying_header, "layers[0].x",
     "as large as its header declares (1099511627776 data bytes)"),
    ("duplicate zip member", _duplicate_member, "", "each zip member once"),
    ("encrypted member", _odd_member(zipfile.ZIP_STORED, encrypted=True), "layers[1].w",
     "an unencrypted zip member"),
    ("corrupt lzma member", _odd_member(zipfile.ZIP_LZMA, corrupt=True), "layers[1].w", "fc.w"),
    ("corrupt bzip2 member", _odd_member(zipfile.ZIP_BZIP2, corrupt=True), "layers[1].w",
     "fc.w"),
    ("corrupt deflated member", _odd_member(zipfile.ZIP_DEFLATED, corrupt=True), "layers[1].w",
     "fc.w"),
    ("zip bomb with a wrong shape", _zip_bomb("conv.x", (1, 4, 1 << 13, 1 << 15)),
     "layers[0].y", "shape [1, 6, 4096, 32766]"),
    ("zip bomb over the array limit", _zip_bomb("conv.x", (2, 4, 1 << 14, 1 << 14), y=None),
     "", "arrays of at most 2147483648 bytes"),
    ("padding beyond the kernel", _layer(0, padding=[4, 1]), "layers[0].padding",
     "dilated kernel extent dilation*(k-1)+1 = [3, 5]"),
    ("padding huge", _layer(0, padding=[10**12, 0]), "layers[0].padding", "[0, 1048576]"),
    ("dilation huge", _layer(0, dilation=[1, 10**30]), "layers[0].dilation", "[1, 1048576]"),
]


def _write_raw(path: Path, mutate: Mutation) -> None:
    """Write a mutated copy of a valid workload, bypassing ``save_workload``'s validation."""
    good = path.with_name("good.npz")
    save_workload(good, "tiny", _layers(), {"by": "test"}, labels=np.array([0, 1, 2]))
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    good.unlink()
    original = arrays["manifest"]
    manifest = json.loads(str(original))
    raw = mutate(manifest, arrays)
    if isinstance(raw, bytes):
        path.write_bytes(raw)
        return
    if arrays.get("manifest") is original:
        arrays["manifest"] = np.array(json.dumps(manifest))
    np.savez(path, **arrays)


def test_corpus_base_is_valid(tmp_path: Path) -> None:
    _write_raw(tmp_path / "ok.npz", lambda m, a: None)
    assert [lay.name for lay in load_workload(tmp_path / "ok.npz").layers] == ["conv", "fc", "mm"]


@pytest.mark.parametrize(("mutate", "key", "text"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_workload(tmp_path: Path, mutate: Mutation, key: str, text: str) -> None:
    path = tmp_path / "bad.npz"
    _write_raw(path, mutate)
    with pytest.raises(WorkloadError) as err:
        load_workload(path)
    line = err.value.one_line()
    assert (err.value.file, err.value.key) == (str(path), key), line
    assert line.startswith(f"{path}: {key}") and "\n" not in line
    assert text in line, line


def test_zip_bombs_are_refused_before_their_data_is_decompressed(tmp_path: Path) -> None:
    # 1 GiB and 2 GiB of zeros, 1 and 2 MiB on disk: refused from the .npy headers alone.
    for case in ("zip bomb with a wrong shape", "zip bomb over the array limit"):
        mutate = next(b[1] for b in BAD if b[0] == case)
        path = tmp_path / "bomb.npz"
        _write_raw(path, mutate)
        assert path.stat().st_size < 4 << 20
        tracemalloc.start()
        try:
            with pytest.raises(WorkloadError):
                load_workload(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 16 << 20, (case, peak)


def test_arrays_are_read_only_after_the_manifest_checks_out(tmp_path: Path) -> None:
    # An unreferenced member is never read, even one that is not a valid .npy at all.
    path = tmp_path / "w.npz"
    save_workload(path, "tiny", _layers(), {"by": "test"})
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("junk.npy", b"\x93NUMPY garbage")
    assert [layer.name for layer in load_workload(path).layers] == ["conv", "fc", "mm"]


# --- lsqplus zero points outside x's stored dtype ------------------------------------------------

# x_bits, x_signed, x values [lo, hi], x_zero_point, the dtype save_workload stores x in
ZERO_POINT_CASES = [
    (8, True, (0, 127), -1, np.uint8),
    (8, True, (0, 127), -128, np.uint8),
    (9, False, (0, 255), 300, np.uint8),
    (9, True, (-128, 127), 255, np.int8),
    (16, True, (0, 255), -32768, np.uint8),
    (16, False, (0, 255), 65535, np.uint8),
    (8, False, (0, 255), 255, np.uint8),
]


def lsqplus_conv_layer(i: int, x_bits: int, x_signed: bool, x_range: tuple[int, int],
                       z_x: int) -> Layer:
    """A padded lsqplus conv2d layer whose rescale is the identity (multiplier 2^30, shift 1,
    32-bit output), so its ``y`` is ``Σ(x − z_x)(w − z_w) + bias`` by naive loops."""
    rng = np.random.default_rng(100 + i)
    x = rng.integers(x_range[0], x_range[1] + 1, (2, 4, 6, 5))
    w = rng.integers(-8, 8, (6, 2, 3, 3))
    z_w, bias = rng.integers(-3, 4, 6), rng.integers(-50, 50, 6)
    quant = {"scheme": "lsqplus", "x_zero_point": z_x, "w_zero_point": z_w, "bias": bias,
             "multiplier": np.full(6, 1 << 30), "shift": np.ones(6, np.int64),
             "y_zero_point": 0, "y_bits": 32, "y_signed": True}
    conv = dict(stride=(2, 1), padding=(2, 1), dilation=(1, 2), groups=2)
    offset = Layer("o", "conv2d", x - z_x, w - z_w[:, None, None, None], None, 17, 5, True,
                   True, **conv)
    y = naive_conv(offset) + bias[None, :, None, None]
    return Layer(f"zp{i}", "conv2d", x, w, y, x_bits, 4, x_signed, True, **conv, quant=quant)


@pytest.mark.parametrize("i", range(len(ZERO_POINT_CASES)))
def test_lsqplus_padding_with_a_zero_point_outside_the_stored_dtype(i: int, tmp_path: Path) -> None:
    x_bits, x_signed, x_range, z_x, stored = ZERO_POINT_CASES[i]
    layer = lsqplus_conv_layer(i, x_bits, x_signed, x_range, z_x)
    path = tmp_path / "w.npz"
    save_workload(path, "zp", [layer], {"by": "test"})
    loaded = load_workload(path).layers[0]
    assert loaded.x.dtype == stored and loaded.quant["x_zero_point"] == z_x
    lowered = lower(loaded)
    np.testing.assert_array_equal(lowered.reference_y(), naive_conv(layer, pad_value=z_x))
    np.testing.assert_array_equal(_assemble(lowered, 7, 5, 2)[0],
                                  naive_im2col(layer, pad_value=z_x)[0])


@pytest.mark.parametrize("x_bits, x_signed, z_x", [
    (8, False, -1), (8, False, 256), (8, True, 128), (8, True, -129), (16, True, 32768),
])  # fmt: skip
def test_lsqplus_zero_point_must_fit_x_bits(x_bits: int, x_signed: bool, z_x: int,
                                            tmp_path: Path) -> None:
    # lsqplus.md §4: (x − z_x) must fit x_bits + 1 signed bits, so z_x is an x_bits code.
    layer = lsqplus_conv_layer(0, x_bits, x_signed, (0, 100), 0)
    bad = Layer(**{**vars(layer), "quant": {**layer.quant, "x_zero_point": z_x}, "y": None})
    with pytest.raises(WorkloadError) as err:
        save_workload(tmp_path / "w.npz", "zp", [bad], {"by": "test"})
    lo, hi = (-(1 << (x_bits - 1)), (1 << (x_bits - 1)) - 1) if x_signed else (0, (1 << x_bits) - 1)
    assert err.value.key == "layers[0].quant.x_zero_point"
    assert f"[{lo}, {hi}]" in err.value.one_line()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64, np.int8, np.int64])
def test_lsqplus_padding_whatever_dtype_a_writer_chose(dtype: type) -> None:
    # Another writer may store x in any integer dtype (uint64 and -1 promote to float in NumPy).
    layer = lsqplus_conv_layer(0, 8, True, (0, 127), -1)
    layer = Layer(**{**vars(layer), "x": layer.x.astype(dtype)})
    lowered = lower(layer)
    np.testing.assert_array_equal(lowered.reference_y(), naive_conv(layer, pad_value=-1))
    np.testing.assert_array_equal(_assemble(lowered, 7, 5, 2)[0],
                                  naive_im2col(layer, pad_value=-1)[0])


def test_unpadded_conv_input_is_not_copied() -> None:
    layer = _conv_layer(CONV_CASES[4], seed=9)  # padding (0, 0)
    assert np.shares_memory(lower(layer)._x, layer.x)
    padded = _conv_layer(CONV_CASES[0], seed=9)  # padding (1, 0): one copy, in x's dtype
    assert not np.shares_memory(lower(padded)._x, padded.x)
    assert lower(padded)._x.dtype == padded.x.dtype
