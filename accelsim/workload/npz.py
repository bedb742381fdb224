"""Workload files (docs/reference/workload.md): the versioned ``.npz`` format, validated on load,
written atomically.

Data level only: frozen dataclasses over read-only integer NumPy arrays; nothing is simulated here.
Every problem is a :class:`~accelsim.errors.WorkloadError` naming the file and a key path such as
``layers[2].w`` or ``manifest.version``.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import lzma
import math
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NoReturn

import numpy as np

from accelsim import fixedpoint
from accelsim.errors import WorkloadError
from accelsim.inputfile import brief, open_regular_file

FORMAT = "accelsim-workload"
VERSION = 1
OPS = ("conv2d", "linear", "gemm")
SCHEMES = ("int", "lsqplus", "pann")

_MANIFEST_KEYS = ("format", "version", "name", "source", "layers", "accuracy")
_CONV_KEYS = ("stride", "padding", "dilation", "groups")
_LAYER_KEYS = (
    "name", "op", "x", "w", "y", "x_bits", "w_bits", "x_signed", "w_signed", *_CONV_KEYS, "quant"
)  # fmt: skip
_LSQPLUS_KEYS = (
    "x_zero_point", "w_zero_point", "bias", "multiplier", "shift", "y_zero_point", "y_bits",
    "y_signed",
)  # fmt: skip
#: Largest workload file (bytes): the arrays stored uncompressed, plus room for the manifest.
MAX_FILE_BYTES = 3 << 30
#: Largest total size of the arrays a workload's manifest references (bytes, from their .npy
#: headers): lowering and the reference take int64 copies, up to 8x more.
MAX_ARRAY_BYTES = 2 << 30
#: Largest zip central directory (bytes, at least 46 per member): 90,000 members at most.
MAX_DIRECTORY_BYTES = 4 << 20
#: Largest manifest array (bytes, 4 per character).
MAX_MANIFEST_BYTES = 64 << 20
#: Deepest nesting of lists and objects in the manifest JSON (levels).
MAX_JSON_DEPTH = 64
#: Largest conv2d stride, padding or dilation (input pixels).
MAX_STEP = 1 << 20
_NPZ = "an .npz archive (a zip of .npy arrays)"
_READ_ERRORS = (
    ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, lzma.LZMAError,
    NotImplementedError,
)  # fmt: skip
_MISSING = object()


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer of a workload, in PyTorch layout. Arrays are read-only integer arrays.

    Attributes
    ----------
    name : str
        Unique within the workload.
    op : str
        ``"conv2d"``, ``"linear"`` or ``"gemm"``.
    x : numpy.ndarray
        Activations: conv2d [N, C, H, W], linear [N, K], gemm [M, K].
    w : numpy.ndarray
        Weights: conv2d [O, C/groups, kh, kw], linear [O, K], gemm [K, N].
    y : numpy.ndarray or None
        Expected output: conv2d [N, O, Ho, Wo], linear [N, O], gemm [M, N]; None if not given.
    x_bits, w_bits : int
        Declared data widths (bits, 1..16); every value fits them.
    x_signed, w_signed : bool
        Two's complement (True) or unsigned (False) data.
    stride, padding, dilation : tuple of int
        (rows, cols), in input pixels; (1, 1), (0, 0), (1, 1) for linear and gemm.
    groups : int
        Convolution groups (1 for linear and gemm).
    quant : dict
        ``{"scheme": "int"}``, ``{"scheme": "pann"}`` or the lsqplus entries of
        docs/reference/workload.md with the per-channel arrays (``w_zero_point`` if not an int,
        ``bias``, ``multiplier``, ``shift``) in place of their keys.
    """

    name: str
    op: str
    x: np.ndarray
    w: np.ndarray
    y: np.ndarray | None
    x_bits: int
    w_bits: int
    x_signed: bool
    w_signed: bool
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    quant: dict[str, Any] = field(default_factory=lambda: {"scheme": "int"})


@dataclass(frozen=True, eq=False)
class Workload:
    """A loaded, validated workload file.

    Attributes
    ----------
    name : str
    sha256 : str
        Hex digest of the file's bytes.
    source : dict
        Free-form provenance from the manifest.
    layers : tuple of Layer
        In file order.
    labels : numpy.ndarray or None
        Integer class label per sample of the last layer's output.
    accuracy : dict, list or None
        What the exporter measured, as stored in the manifest.
    path : str
        The file it was loaded from.
    """

    name: str
    sha256: str
    source: dict[str, Any]
    layers: tuple[Layer, ...]
    labels: np.ndarray | None
    accuracy: dict[str, Any] | list[Any] | None
    path: str


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """PyTorch's output length ``floor((size + 2p - d(k-1) - 1) / s) + 1`` (< 1: kernel too big)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def value_range(bits: int, signed: bool) -> tuple[int, int]:
    """Smallest and largest integer of a ``bits``-wide two's-complement or unsigned number."""
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def load_workload(path: str | os.PathLike[str]) -> Workload:
    """Read and fully validate a workload file (never unpickles; docs/limits.md).

    The file must be a regular file of at most :data:`MAX_FILE_BYTES`. Its manifest (at most
    :data:`MAX_MANIFEST_BYTES`, JSON nested at most :data:`MAX_JSON_DEPTH` deep) is checked
    against the ``.npy`` headers of the arrays it references (dtype, shape, and the declared
    size against the zip member's size, at most :data:`MAX_ARRAY_BYTES` in total) before any
    array data is decompressed; the values are checked after.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file.

    Returns
    -------
    Workload

    Raises
    ------
    WorkloadError
        The file is unreadable, not an ``.npz`` archive, over a limit, or breaks any rule of
        docs/reference/workload.md.
    """
    file = str(path)
    with open_regular_file(path, MAX_FILE_BYTES, WorkloadError) as f:
        sha256 = _sha256(f, file)
        f.seek(0)
        try:
            if not zipfile.is_zipfile(f):
                f.seek(0)
                magic = f.read(6)
                got = "a single .npy array" if magic == b"\x93NUMPY" else "not a zip archive"
                raise WorkloadError(file, "", _NPZ, got)
            # zipfile reads the whole central directory up front, one object per member: bound
            # it from the end record first (zipfile has no public API for that record).
            directory = zipfile._EndRecData(f)[zipfile._ECD_SIZE]
            if directory > MAX_DIRECTORY_BYTES:
                raise WorkloadError(file, "", f"a zip directory of at most {MAX_DIRECTORY_BYTES} "
                                    "bytes", f"{directory} bytes")
            archive = zipfile.ZipFile(f)
        except _READ_ERRORS as e:
            raise WorkloadError(file, "", _NPZ, str(e)) from None
        with archive:
            members = _Members(file, archive)
            _Reader(file, members.stand_ins(), values=False).workload()
            total = members.declared_bytes()
            if total > MAX_ARRAY_BYTES:
                raise WorkloadError(file, "", f"arrays of at most {MAX_ARRAY_BYTES} bytes in "
                                    "total (their .npy headers' shapes times item sizes)",
                                    f"{total} bytes")
            name, source, layers, labels, accuracy = _Reader(file, members.arrays()).workload()
    return Workload(name, sha256, source, layers, labels, accuracy, file)


def save_workload(
    path: str | os.PathLike[str],
    name: str,
    layers: Sequence[Layer],
    source: dict[str, Any],
    labels: np.ndarray | None = None,
    accuracy: dict[str, Any] | list[Any] | None = None,
) -> None:
    """Validate and write a version-1 workload file atomically (temp file + ``os.replace``).

    Arrays are stored as ``<layer>.x``, ``<layer>.w``, ``<layer>.y`` (and ``<layer>.<quant key>``)
    in the smallest integer dtype that holds their values; the bytes depend only on the inputs.

    Parameters
    ----------
    path : str or os.PathLike
        Destination ``.npz`` file; replaced only once the new file is complete.
    name : str
        Workload name.
    layers : sequence of Layer
    source : dict
        Provenance (JSON-serialisable): who or what produced the data, and how.
    labels : numpy.ndarray, optional
        Integer label per sample of the last layer's output.
    accuracy : dict or list, optional
        Accuracy the exporter measured (JSON-serialisable).

    Raises
    ------
    WorkloadError
        The content would not load back (nothing is written then).
    """
    file = str(path)
    arrays: dict[str, np.ndarray] = {}

    def put(key: str, a: np.ndarray) -> str:
        arrays[key] = _smallest_dtype(a)
        return key

    entries = []
    for layer in layers:
        entry: dict[str, Any] = {
            "name": layer.name,
            "op": layer.op,
            "x": put(f"{layer.name}.x", layer.x),
            "w": put(f"{layer.name}.w", layer.w),
            "x_bits": layer.x_bits,
            "w_bits": layer.w_bits,
            "x_signed": layer.x_signed,
            "w_signed": layer.w_signed,
            "quant": {
                k: put(f"{layer.name}.{k}", v) if isinstance(v, np.ndarray) else v
                for k, v in layer.quant.items()
            },
        }
        if layer.y is not None:
            entry["y"] = put(f"{layer.name}.y", layer.y)
        if layer.op == "conv2d":
            entry["stride"], entry["padding"] = list(layer.stride), list(layer.padding)
            entry["dilation"], entry["groups"] = list(layer.dilation), layer.groups
        entries.append(entry)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "name": name,
        "source": source,
        "layers": entries,
    }
    if accuracy is not None:
        manifest["accuracy"] = accuracy
    if labels is not None:
        arrays["labels"] = _smallest_dtype(labels)
    try:
        arrays["manifest"] = np.array(json.dumps(manifest, sort_keys=True, default=_json_scalar))
    except (TypeError, ValueError) as e:
        raise WorkloadError(file, "manifest", "JSON-serialisable values", str(e)) from None
    _Reader(file, arrays).workload()
    _write_npz(file, arrays)


def check_fits(layer: Layer, pe_x_bits: int, pe_w_bits: int, file: str) -> None:
    """Reject a layer whose declared data is wider than the PE operands (narrower is extended).

    Parameters
    ----------
    layer : Layer
    pe_x_bits, pe_w_bits : int
        The architecture's ``pe.x_bits`` / ``pe.w_bits`` (bits).
    file : str
        The workload file, for the message.

    Raises
    ------
    WorkloadError
        ``layer.x_bits > pe_x_bits`` or ``layer.w_bits > pe_w_bits``.
    """
    for operand, bits, pe_bits in (("x", layer.x_bits, pe_x_bits), ("w", layer.w_bits, pe_w_bits)):
        if bits > pe_bits:
            expected = f"at most {pe_bits} (the architecture's pe.{operand}_bits)"
            raise WorkloadError(file, f"layers[{layer.name!r}].{operand}_bits", expected, bits)


def npy_header(f: BinaryIO) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, shape, data offset in bytes) from the ``.npy`` header at the start of ``f``,
    reading only the header.

    Raises
    ------
    ValueError
        Not a version 1.0 or 2.0 ``.npy`` header, or a negative dimension.
    """
    fmt = np.lib.format
    version = fmt.read_magic(f)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"unsupported .npy format version {version}")
    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, _, dtype = read(f)
    if any(n < 0 for n in shape):
        raise ValueError(f"negative dimension in shape {list(shape)}")
    return dtype, shape, f.tell()


class _Reader:
    """Validates a manifest and the arrays it references; ``arrays`` maps npz member -> array."""

    def __init__(self, file: str, arrays: Mapping[str, np.ndarray], values: bool = True) -> None:
        self.file = file
        self.arrays = arrays
        self.values = values  # False: arrays are data-free stand-ins; check shapes only

    def fail(self, key: str, expected: str, got: object = None) -> NoReturn:
        raise WorkloadError(self.file, key, expected, None if got is None else brief(got))

    def workload(self) -> tuple[str, dict, tuple[Layer, ...], np.ndarray | None, Any]:
        """(name, source, layers, labels, accuracy) of a valid file."""
        m = self._manifest()
        if m.get("format") != FORMAT:
            self.fail("manifest.format", repr(FORMAT), m.get("format"))
        version = m.get("version")
        if _type(version) != "int" or version != VERSION:
            self.fail("manifest.version", f"{VERSION} (the only supported version)", version)
        self._known_keys(m, _MANIFEST_KEYS, "manifest")
        name = self._str(m, "name", "manifest")
        source = self._value(m, "source", "manifest")
        if not isinstance(source, dict):
            self.fail("manifest.source", "a JSON object (provenance)", _type(source))
        accuracy = m.get("accuracy")
        if accuracy is not None and not isinstance(accuracy, (dict, list)):
            self.fail("manifest.accuracy", "a JSON object or list", _type(accuracy))
        entries = self._value(m, "layers", "manifest")
        if not isinstance(entries, list) or not entries:
            self.fail("manifest.layers", "a non-empty list of layers", entries)
        names = [e.get("name") if isinstance(e, dict) else None for e in entries]
        for i, layer_name in enumerate(names):
            if isinstance(layer_name, str) and layer_name in names[:i]:
                self.fail(f"layers[{i}].name", "a name not used by an earlier layer", layer_name)
        layers = tuple(self._layer(i, e) for i, e in enumerate(entries))
        return name, source, layers, self._labels(layers[-1]), accuracy

    def _manifest(self) -> dict:
        a = self._member("manifest", "manifest")
        if a.dtype.kind != "U" or a.ndim != 0:
            got = f"dtype {a.dtype}, shape {list(a.shape)}"
            self.fail("manifest", "a 0-d unicode array holding JSON", got)
        try:
            m = json.loads(str(a[()]), object_pairs_hook=_unique_keys, parse_constant=_no_constant)
        except ValueError as e:
            self.fail("manifest", "JSON text (no duplicate keys, no NaN/Infinity)", str(e))
        except RecursionError:
            self.fail("manifest", f"JSON nesting depth <= {MAX_JSON_DEPTH}", "deeper")
        if _depth(m) > MAX_JSON_DEPTH:
            self.fail("manifest", f"JSON nesting depth <= {MAX_JSON_DEPTH}", "deeper")
        if not isinstance(m, dict):
            self.fail("manifest", "a JSON object", _type(m))
        return m

    def _layer(self, i: int, d: object) -> Layer:
        p = f"layers[{i}]"
        if not isinstance(d, dict):
            self.fail(p, "a JSON object", _type(d))
        self._known_keys(d, _LAYER_KEYS, p)
        name = self._str(d, "name", p)
        op = self._value(d, "op", p)
        if op not in OPS:
            self.fail(f"{p}.op", f"one of {', '.join(OPS)}", op)
        conv = op == "conv2d"
        for k in _CONV_KEYS:
            if k in d and not conv:
                self.fail(f"{p}.{k}", f"no {k!r} key (conv2d only; this layer is {op})", d[k])
        x_bits, w_bits = self._int(d, "x_bits", p, 1, 16), self._int(d, "w_bits", p, 1, 16)
        x_signed, w_signed = self._bool(d, "x_signed", p), self._bool(d, "w_signed", p)
        x, w = self._array(d, "x", p), self._array(d, "w", p)
        y = self._array(d, "y", p) if d.get("y") is not None else None
        stride = self._pair(d, "stride", p, 1, MAX_STEP) if conv else (1, 1)
        padding = self._pair(d, "padding", p, 0, MAX_STEP) if conv else (0, 0)
        dilation = self._pair(d, "dilation", p, 1, MAX_STEP) if conv else (1, 1)
        groups = self._int(d, "groups", p, 1, default=1) if conv else 1
        y_shape = self._y_shape(p, op, x, w, stride, padding, dilation, groups)
        if y is not None and y.shape != y_shape:
            self.fail(f"{p}.y", f"shape {list(y_shape)}", list(y.shape))
        self._in_range(f"{p}.x", x, *value_range(x_bits, x_signed))
        self._in_range(f"{p}.w", w, *value_range(w_bits, w_signed))
        quant = self._quant(d.get("quant", {"scheme": "int"}), p, d, y, y_shape[1])
        return Layer(
            name, op, x, w, y, x_bits, w_bits, x_signed, w_signed,
            stride, padding, dilation, groups, quant,
        )  # fmt: skip

    def _y_shape(
        self,
        p: str,
        op: str,
        x: np.ndarray,
        w: np.ndarray,
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int],
        groups: int,
    ) -> tuple[int, ...]:
        """Check x and w against each other; return the shape y must have."""
        if op == "conv2d":
            self._ndim(f"{p}.x", x, "[N, C, H, W]")
            self._ndim(f"{p}.w", w, "[O, C/groups, kh, kw]")
            (n, c, *hw), (o, cg, *k) = x.shape, w.shape
            for dim, size in (("C", c), ("O", o)):
                if size % groups:
                    self.fail(f"{p}.groups", f"a divisor of {dim}={size}", groups)
            if cg != c // groups:
                expected = f"shape [O, C/groups={c // groups}, kh, kw] (x: C={c}; groups={groups})"
                self.fail(f"{p}.w", expected, list(w.shape))
            extent = [dk * (kk - 1) + 1 for kk, dk in zip(k, dilation)]
            if any(pad > e for pad, e in zip(padding, extent)):
                expected = (
                    f"[rows, cols] each at most the dilated kernel extent dilation*(k-1)+1 = "
                    f"{extent} (more adds outputs that see only padding)"
                )
                self.fail(f"{p}.padding", expected, list(padding))
            out = [conv_output_size(*a) for a in zip(hw, k, stride, padding, dilation)]
            if min(out) < 1:
                expected = (
                    f"a dilated kernel that fits the padded input (x: {hw[0]}x{hw[1]}; "
                    f"padding {list(padding)}; dilation {list(dilation)})"
                )
                self.fail(f"{p}.w", expected, list(w.shape))
            return (n, o, *out)
        layout = ("[N, K]", "[O, K]") if op == "linear" else ("[M, K]", "[K, N]")
        self._ndim(f"{p}.x", x, layout[0])
        self._ndim(f"{p}.w", w, layout[1])
        k_axis = 1 if op == "linear" else 0
        if w.shape[k_axis] != x.shape[1]:
            self.fail(f"{p}.w", f"{layout[1]} with K={x.shape[1]} (x: {layout[0]})", list(w.shape))
        return (x.shape[0], w.shape[1 - k_axis])

    def _quant(self, q: object, p: str, d: dict, y: np.ndarray | None, channels: int) -> dict:
        qp = f"{p}.quant"
        if not isinstance(q, dict):
            self.fail(qp, "a JSON object", _type(q))
        scheme = q.get("scheme")
        if scheme not in SCHEMES:
            self.fail(f"{qp}.scheme", f"one of {', '.join(SCHEMES)}", scheme)
        if scheme != "lsqplus":
            self._known_keys(q, ("scheme",), qp)
            if scheme == "pann" and d["x_signed"]:
                self.fail(f"{p}.x_signed", "false (pann needs unsigned activations)", True)
            if y is not None:
                self._in_range(f"{p}.y", y, *value_range(64, True))
            return {"scheme": scheme}
        self._known_keys(q, ("scheme", *_LSQPLUS_KEYS), qp)
        x_range = value_range(d["x_bits"], d["x_signed"])
        w_range = value_range(d["w_bits"], d["w_signed"])
        y_bits, y_signed = self._int(q, "y_bits", qp, 1, 32), self._bool(q, "y_signed", qp)
        y_range = value_range(y_bits, y_signed)
        out: dict[str, Any] = {
            "scheme": scheme,
            "x_zero_point": self._int(q, "x_zero_point", qp, *x_range),
            "y_zero_point": self._int(q, "y_zero_point", qp, *y_range),
            "y_bits": y_bits,
            "y_signed": y_signed,
        }
        per_channel = {
            "w_zero_point": w_range,
            "bias": (fixedpoint.INT32_MIN, fixedpoint.INT32_MAX),
            "multiplier": (fixedpoint.MULTIPLIER_MIN, fixedpoint.MULTIPLIER_MAX),
            "shift": (fixedpoint.SHIFT_MIN, fixedpoint.SHIFT_MAX),
        }
        for key, (lo, hi) in per_channel.items():
            if key == "w_zero_point" and _type(q.get(key)) == "int":
                out[key] = self._int(q, key, qp, lo, hi)
                continue
            a = self._array(q, key, qp)
            if a.shape != (channels,):
                expected = f"shape [{channels}] (one per output channel)"
                self.fail(f"{qp}.{key}", expected, list(a.shape))
            self._in_range(f"{qp}.{key}", a, lo, hi)
            out[key] = a
        if y is not None:
            self._in_range(f"{p}.y", y, *y_range)
        return out

    def _labels(self, last: Layer) -> np.ndarray | None:
        if "labels" not in self.arrays:
            return None
        a = self._int_member("labels", "labels")
        samples = last.x.shape[0]
        if a.ndim != 1 or a.shape[0] != samples:
            expected = f"shape [{samples}] (one per sample of the last layer)"
            self.fail("labels", expected, list(a.shape))
        return a

    def _member(self, key: str, member: str) -> np.ndarray:
        """The array stored as ``member``, as a read-only view."""
        if member not in self.arrays:
            close = _closest(member, list(self.arrays))
            hint = f" (closest: {close!r})" if close else ""
            self.fail(key, f"an array named {member!r} in the file{hint}")
        try:
            a = self.arrays[member]
        except _MemberError as e:
            self.fail(key, e.expected, f"{member}: {e.got}")
        if not isinstance(a, np.ndarray):
            self.fail(key, "a .npy member", f"{member}: {type(a).__name__}")
        a = a.view()
        a.flags.writeable = False
        return a

    def _int_member(self, key: str, member: str) -> np.ndarray:
        a = self._member(key, member)
        if a.dtype.kind not in "iu":
            expected = "an integer array (no bool, float or object)"
            self.fail(key, expected, f"{member}: dtype {a.dtype}")
        if a.size == 0:
            self.fail(key, "a non-empty array", f"{member}: shape {list(a.shape)}")
        return a

    def _array(self, d: dict, key: str, p: str) -> np.ndarray:
        ref = self._value(d, key, p)
        if not isinstance(ref, str):
            self.fail(f"{p}.{key}", "the name of an array in the file (a string)", ref)
        return self._int_member(f"{p}.{key}", ref)

    def _ndim(self, key: str, a: np.ndarray, layout: str) -> None:
        if a.ndim != layout.count(",") + 1:
            self.fail(key, f"a {layout.count(',') + 1}-d array {layout}", list(a.shape))

    def _in_range(self, key: str, a: np.ndarray, lo: int, hi: int) -> None:
        if not self.values:
            return
        amin, amax = int(a.min()), int(a.max())
        if amin < lo or amax > hi:
            expected = f"values in [{lo}, {hi}] (declared width and signedness)"
            self.fail(key, expected, f"values in [{amin}, {amax}]")

    def _known_keys(self, d: dict, allowed: Sequence[str], p: str) -> None:
        for k in d:
            if k not in allowed:
                close = _closest(k, allowed)
                hint = f"did you mean {close!r}? " if close else ""
                self.fail(f"{p}.{k}", f"a known key; {hint}known: {', '.join(allowed)}", k)

    def _value(self, d: dict, key: str, p: str, default: object = _MISSING) -> Any:
        if key in d:
            return d[key]
        if default is _MISSING:
            self.fail(f"{p}.{key}", "a value (the key is required)")
        return default

    def _str(self, d: dict, key: str, p: str) -> str:
        v = self._value(d, key, p)
        if not isinstance(v, str) or not v:
            self.fail(f"{p}.{key}", "a non-empty string", v)
        return v

    def _bool(self, d: dict, key: str, p: str) -> bool:
        v = self._value(d, key, p)
        if not isinstance(v, bool):
            self.fail(f"{p}.{key}", "true or false", v)
        return v

    def _int(
        self, d: dict, key: str, p: str, lo: int, hi: int | None = None, default: object = _MISSING
    ) -> int:
        v = self._value(d, key, p, default)
        if _type(v) != "int" or v < lo or (hi is not None and v > hi):
            expected = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
            self.fail(f"{p}.{key}", expected, v)
        return v

    def _pair(self, d: dict, key: str, p: str, lo: int, hi: int) -> tuple[int, int]:
        v = self._value(d, key, p, [lo, lo])
        if not isinstance(v, list) or len(v) != 2 or any(
            _type(e) != "int" or not lo <= e <= hi for e in v
        ):
            self.fail(f"{p}.{key}", f"[rows, cols], two integers in [{lo}, {hi}]", v)
        return (v[0], v[1])


class _MemberError(Exception):
    """A zip member that is not a usable array: ``expected`` and ``got`` for the message."""

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"expected {expected}, got {got}")
        self.expected, self.got = expected, got


class _Members:
    """The members of an open npz archive by key (the member name without ``.npy``).

    A member's ``.npy`` header is parsed the first time it is looked up, and checked: no object
    dtype, and its declared data size (shape times item size) equal to the zip member's
    uncompressed size. :meth:`stand_ins` gives data-free arrays of the declared dtype and shape
    (the manifest, after a size check, is read for real); :meth:`arrays` the arrays read from
    the file, each read once. Members never looked up are never read.
    """

    def __init__(self, file: str, archive: zipfile.ZipFile) -> None:
        self.file, self.archive = file, archive
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if key in self.infos:
                raise WorkloadError(file, "", "each zip member once", info.filename)
            self.infos[key] = info
        self.headers: dict[str, tuple[np.dtype, tuple[int, ...]]] = {}
        self.loaded: dict[str, np.ndarray] = {}

    def header(self, key: str) -> tuple[np.dtype, tuple[int, ...]]:
        """(dtype, shape) declared by member ``key``'s ``.npy`` header (_MemberError if bad)."""
        if key not in self.headers:
            self.headers[key] = self._read_header(self.infos[key])
        return self.headers[key]

    def _read_header(self, info: zipfile.ZipInfo) -> tuple[np.dtype, tuple[int, ...]]:
        if info.flag_bits & 0x1:
            raise _MemberError("an unencrypted zip member", "an encrypted one")
        try:
            with self.archive.open(info) as m:
                dtype, shape, offset = npy_header(m)
        except _READ_ERRORS as e:
            raise _MemberError("a .npy array", str(e)) from None
        if dtype.hasobject:
            raise _MemberError("an array stored without pickle", f"dtype {dtype}")
        declared = math.prod(shape) * dtype.itemsize
        if offset + declared != info.file_size:
            expected = f"a .npy member as large as its header declares ({declared} data bytes)"
            raise _MemberError(expected, f"{info.file_size - offset} data bytes")
        return dtype, shape

    def declared_bytes(self) -> int:
        """Total data bytes the headers looked up so far declare."""
        return sum(math.prod(shape) * dtype.itemsize for dtype, shape in self.headers.values())

    def stand_ins(self) -> Mapping[str, np.ndarray]:
        """Every member as a read-only, data-free array of its declared dtype and shape."""

        def stand_in(key: str) -> np.ndarray:
            dtype, shape = self.header(key)
            if key != "manifest":
                if dtype.kind not in "iu":  # (a void dtype's one element may be gigabytes)
                    raise _MemberError("an integer array (no bool, float or object)",
                                       f"dtype {dtype}")
                return np.broadcast_to(np.zeros((), dtype), shape)
            size = math.prod(shape) * dtype.itemsize
            if size > MAX_MANIFEST_BYTES:
                raise WorkloadError(self.file, "manifest",
                                    f"a manifest of at most {MAX_MANIFEST_BYTES} bytes",
                                    f"{size} bytes")
            return self._load(key)

        return _View(self.infos, stand_in)

    def arrays(self) -> Mapping[str, np.ndarray]:
        """Every member as the array stored in the file (read on first access)."""
        return _View(self.infos, self._load)

    def _load(self, key: str) -> np.ndarray:
        if key not in self.loaded:
            self.header(key)
            try:
                with self.archive.open(self.infos[key]) as m:
                    self.loaded[key] = np.lib.format.read_array(m, allow_pickle=False)
            except _READ_ERRORS as e:
                raise _MemberError("an intact .npy member", str(e)) from None
        return self.loaded[key]


class _View(Mapping):
    """A read-only mapping over the keys of ``names`` whose values ``make(key)`` gives on access."""

    def __init__(self, names: Mapping[str, object], make: Callable[[str], np.ndarray]) -> None:
        self._names, self._make = names, make

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._names:
            raise KeyError(key)
        return self._make(key)

    def __contains__(self, key: object) -> bool:
        return key in self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _sha256(f: BinaryIO, file: str) -> str:
    """Hex SHA-256 of an open file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    try:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    except OSError as e:
        raise WorkloadError(file, "", "a readable file", e.strerror or str(e)) from None
    return digest.hexdigest()


def _depth(value: object) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0), computed without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, level = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, level + 1)
            stack.extend((c, level + 1) for c in (v.values() if isinstance(v, dict) else v))
    return deepest


def _type(v: object) -> str:
    """JSON-ish type name; bools are not ints."""
    return "bool" if isinstance(v, bool) else type(v).__name__


def _closest(word: str, choices: Sequence[str]) -> str | None:
    """The choice most similar to ``word`` ignoring case, if any is similar enough."""
    by_lower = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1)
    return by_lower[close[0]] if close else None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    keys = [k for k, _ in pairs]
    for k in keys:
        if keys.count(k) > 1:
            raise ValueError(f"duplicate key {k!r}")
    return dict(pairs)


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"non-standard constant {name}")


def _json_scalar(o: object) -> object:
    """NumPy scalars -> Python scalars for ``json.dumps``."""
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"{type(o).__name__} is not JSON-serialisable")


def _smallest_dtype(a: np.ndarray) -> np.ndarray:
    """Integer arrays in the smallest dtype that holds their values; others unchanged (validation
    rejects them)."""
    a = np.asarray(a)
    if a.dtype.kind not in "iu" or a.size == 0:
        return a
    lo, hi = int(a.min()), int(a.max())
    for t in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64):
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return a.astype(t)
    return a.astype(np.int64)


def _write_npz(file: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Deterministic deflated zip of ``<key>.npy`` members, written to a temp file then renamed."""
    folder = os.path.dirname(os.path.abspath(file))
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".npz.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            for key in sorted(arrays):
                buf = io.BytesIO()
                np.lib.format.write_array(buf, arrays[key], allow_pickle=False)
                info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                z.writestr(info, buf.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
        os.chmod(tmp, 0o644)
        os.replace(tmp, file)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
