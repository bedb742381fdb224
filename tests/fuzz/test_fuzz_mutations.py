"""Property: random mutations of valid input files are rejected cleanly or run cleanly.

Mutations: text edits of the shipped arch configs (delete, duplicate or retype a line's value,
control characters, truncation, random bytes); workload edits (manifest JSON: wrong types, missing
keys, negative or huge numbers, deep nesting; array dtype and shape changes; truncated or corrupted
zip bytes). Through ``accelsim.cli.main(["run", …])`` the exit code is 0, 1 or 2, never an
uncaught exception; exit 2 prints exactly one stderr line naming an input file; no output file
(or temp file) is left after exit 2; the input files are byte-identical afterwards.
"""

from __future__ import annotations

import io
import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st

from accelsim.cli import main
from accelsim.workload.npz import Layer, save_workload
from tests.fuzz import fuzz_settings

ROOT = Path(__file__).resolve().parents[2]
ARCH_CONFIGS = sorted((ROOT / "arch_configs").glob("*.yaml"))

# Replacement values for YAML scalars and JSON values: wrong types, edge and huge numbers.
YAML_VALUES = ["-1", "0", "1", "2", "17", "49", "1e309", "-0.0", ".nan", ".inf",
               "99999999999999999999",
               "4294967296", "-99999999999999999999", "1e-300", "0.5", "3.0",
               "0x10", "1_000", "'8'", "\"\"", "null", "~", "true", "no", "[1, 2]", "{a: 1}",
               "[]", "{}", "&a 1", "*a", "!!binary aGk=", "!!python/object:os.system x",
               "!!float 8", "2001-12-14", "\"\\x00\"", "? a", "- 1", "|", ">-", "'", "[", "{"]
JSON_VALUES = [None, True, False, 0, -1, 1, 2**31, -(2**31) - 1, 2**63, 10**40, -(10**40), 1.5,
               1e308, -0.0, "", "x", "conv2d", "lsqplus", [], [0], [1, 2, 3], [-1, -1], {},
               {"scheme": "int"}, "\x00", "é" * 3]
_NEST = "<nested>"
_VALUE_LINE = re.compile(r"^\s*[A-Za-z_]+:\s*[^\s#]")  # "key: value" (retype targets)
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\ufeff",
           "\u2028", "\ud800", "\r", "\t"]


# ------------------------------------------------------------------------------- base files


def _base_workloads(folder: Path) -> list[Path]:
    """Two tiny valid workloads: int layers (conv with padding + linear; unsigned 4-bit x, so
    every PE kind runs them) and one lsqplus gemm layer."""
    rng = np.random.default_rng(5)
    conv = Layer(name="conv", op="conv2d", x=rng.integers(0, 16, (1, 2, 4, 4)),
                 w=rng.integers(-8, 8, (3, 2, 3, 3)), y=None, x_bits=4, w_bits=4,
                 x_signed=False, w_signed=True, stride=(1, 1), padding=(1, 1))
    fc = Layer(name="fc", op="linear", x=rng.integers(0, 16, (2, 6)),
               w=rng.integers(-8, 8, (3, 6)), y=None, x_bits=4, w_bits=4, x_signed=False,
               w_signed=True)
    first = folder / "int.npz"
    save_workload(first, "base-int", [conv, fc], {"by": "tests/fuzz"})
    q = {"scheme": "lsqplus", "x_zero_point": 3, "w_zero_point": np.array([1, 0, -2]),
         "bias": np.array([10, -20, 30]), "multiplier": np.full(3, 1 << 30),
         "shift": np.array([-4, -5, -3]), "y_zero_point": 2, "y_bits": 8, "y_signed": False}
    mm = Layer(name="mm", op="gemm", x=rng.integers(0, 16, (3, 5)), w=rng.integers(-8, 8, (5, 3)),
               y=None, x_bits=4, w_bits=4, x_signed=False, w_signed=True, quant=q)
    second = folder / "lsq.npz"
    save_workload(second, "base-lsq", [mm], {"by": "tests/fuzz"})
    return [first, second]


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# ---------------------------------------------------------------------------- arch mutations


@st.composite
def arch_mutations(draw) -> dict:
    source = draw(st.sampled_from(ARCH_CONFIGS))
    text = source.read_text()
    lines = text.splitlines(keepends=True)
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["delete", "duplicate", "retype", "indent", "control",
                                   "truncate", "bytes", "rename"]))
        if not lines:
            op = "bytes"
        values = [j for j, line in enumerate(lines) if _VALUE_LINE.match(line)]
        pool = values if op == "retype" and values else range(len(lines))
        i = draw(st.sampled_from(pool)) if lines else 0
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "retype" and "{" in lines[i]:  # one value of a flow mapping
            pairs = list(re.finditer(r"\w+:\s*([^,}]+)", lines[i]))
            if pairs:
                v = pairs[draw(st.integers(0, len(pairs) - 1))]
                value = draw(st.sampled_from(YAML_VALUES))
                lines[i] = lines[i][:v.start(1)] + value + lines[i][v.end(1):]
        elif op == "retype" and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {draw(st.sampled_from(YAML_VALUES))}\n"
        elif op == "indent":
            lines[i] = " " * draw(st.integers(1, 3)) + lines[i]
        elif op == "rename" and ":" in lines[i]:
            key, rest = lines[i].split(":", 1)
            lines[i] = key + draw(st.sampled_from(["_", "s", "X", ""])) + ":" + rest
        elif op == "control":
            at = draw(st.integers(0, len(lines[i])))
            char = draw(st.sampled_from(CONTROL))
            lines[i] = lines[i][:at] + char + lines[i][at:]
            ops.append(("control", char))
            continue
        elif op == "truncate":
            joined = "".join(lines)
            lines = [joined[:draw(st.integers(0, len(joined)))]]
        ops.append((op, None))
    data = "".join(lines).encode("utf-8", "surrogatepass")
    if any(op == "bytes" for op, _ in ops):
        junk = draw(st.binary(min_size=1, max_size=8))
        at = draw(st.integers(0, len(data)))
        data = data[:at] + junk + data[at + draw(st.integers(0, 4)):]
    return {"source": source.name, "ops": ops, "data": data}


# ------------------------------------------------------------------------ workload mutations


def _paths(obj, prefix=()):
    """Every path into a JSON tree (dict keys, list indices)."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _nested(depth: int) -> str:
    """JSON text of ``depth`` nested arrays and objects (written as text: ``json.dumps`` itself
    recurses)."""
    return "[{\"a\": " * (depth // 2) + "0" + "}]" * (depth // 2)


@st.composite
def workload_mutations(draw) -> dict:
    base = draw(st.sampled_from(["int.npz", "lsq.npz"]))
    kind = draw(st.sampled_from(["json", "json", "array", "member", "zip"]))
    m: dict = {"base": base, "kind": kind}
    if kind == "json":
        m["op"] = draw(st.sampled_from(["delete", "replace", "add", "nest"]))
        m["pick"] = draw(st.integers(0, 10**6))
        m["value"] = draw(st.sampled_from(JSON_VALUES))
        m["depth"] = draw(st.sampled_from([2, 50, 300, 5000, 100000]))
    elif kind == "array":
        m["pick"] = draw(st.integers(0, 10**6))
        m["op"] = draw(st.sampled_from(["dtype", "reshape", "empty", "huge", "extra_dim", "slice",
                                        "scalar"]))
        m["dtype"] = draw(st.sampled_from(["float32", "float64", "bool", "int64", "uint64",
                                           "complex64", "int8", "U3", "S3", "object", ">i4"]))
    elif kind == "member":
        m["op"] = draw(st.sampled_from(["drop", "manifest_bytes", "manifest_2d", "rename",
                                        "extra"]))
        m["pick"] = draw(st.integers(0, 10**6))
    else:
        m["op"] = draw(st.sampled_from(["truncate", "flip", "junk", "empty", "prefix"]))
        m["at"] = draw(st.floats(0, 1))
        m["bytes"] = draw(st.binary(min_size=1, max_size=16))
    return m


def _apply(m: dict, good: Path, out: Path) -> None:
    """Write the mutated workload ``m`` of ``good`` to ``out`` (bypassing save_workload)."""
    if m["kind"] == "zip":
        data = good.read_bytes()
        at = int(m["at"] * len(data))
        data = {"truncate": data[:at], "flip": data[:at] + bytes(b ^ 0xFF for b in data[at:at + 4])
                + data[at + 4:], "junk": data[:at] + m["bytes"] + data[at:], "empty": b"",
                "prefix": m["bytes"] + data}[m["op"]]
        out.write_bytes(data)
        return
    arrays = _arrays(good)
    manifest = json.loads(str(arrays["manifest"]))
    if m["kind"] == "json":
        paths = list(_paths(manifest))[1:]
        path = paths[m["pick"] % len(paths)]
        parent = manifest
        for p in path[:-1]:
            parent = parent[p]
        last = path[-1]
        if m["op"] == "delete":
            del parent[last]
        elif m["op"] == "replace":
            parent[last] = m["value"]
        elif m["op"] == "add":
            if isinstance(parent, dict):
                parent[f"{last}_extra"] = m["value"]
            else:
                parent.append(m["value"])
        else:
            parent[last] = _NEST
        arrays["manifest"] = np.array(json.dumps(manifest).replace(
            json.dumps(_NEST), _nested(m["depth"])))
    elif m["kind"] == "array":
        names = sorted(k for k in arrays if k != "manifest")
        key = names[m["pick"] % len(names)]
        a = arrays[key]
        op = m["op"]
        if op == "dtype":
            a = a.astype(m["dtype"])
        elif op == "reshape":
            a = a.reshape(-1)
        elif op == "empty":
            a = a[:0]
        elif op == "huge":
            a = np.full(a.shape, 2**62, dtype=np.int64)
        elif op == "extra_dim":
            a = a[None]
        elif op == "slice":
            a = a[..., :-1] if a.ndim else a
        else:
            a = np.int64(7)
        arrays[key] = np.asarray(a)
    else:
        names = sorted(arrays)
        key = names[m["pick"] % len(names)]
        if m["op"] == "drop":
            del arrays[key]
        elif m["op"] == "manifest_bytes":
            arrays["manifest"] = np.array(str(arrays["manifest"]).encode())
        elif m["op"] == "manifest_2d":
            arrays["manifest"] = np.array([[str(arrays["manifest"])]])
        elif m["op"] == "rename":
            arrays[key + "x"] = arrays.pop(key)
        else:
            arrays["labels"] = np.arange(3)
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # object arrays are pickled here: the loader must refuse them
    out.write_bytes(buf.getvalue())


# ------------------------------------------------------------------------------------- gate


# ------------------------------------------------------------------------------------ tests


def _run_clean(arch: Path, workload: Path, folder: Path, capsys) -> int:
    """Run; check the exit-code, stderr, outputs and inputs properties; return the exit code."""
    inputs = {p: p.read_bytes() for p in (arch, workload)}
    out = folder / "out"
    out.mkdir()
    outs = [out / "r.json", out / "y.npz", out / "r.csv"]
    code = main(["run", str(arch), str(workload), "--json", str(outs[0]), "--outputs",
                 str(outs[1]), "--csv", str(outs[2]), "--quiet"])
    captured = capsys.readouterr()
    note(f"exit {code}; stderr: {captured.err!r}")
    event(f"exit {code}")
    assert code in (0, 1, 2), captured.err
    assert "Traceback" not in captured.err
    if code == 2:
        lines = captured.err.splitlines()
        assert len(lines) == 1, captured.err
        assert lines[0].startswith("accelsim: error: ")
        assert str(arch) in lines[0] or str(workload) in lines[0], lines[0]
        assert sorted(out.iterdir()) == [], "no output (or temp file) after bad input"
    elif code == 0:
        assert sorted(out.iterdir()) == sorted(outs)
    else:  # a mismatch still writes the report (the outputs are what differs), never a temp file
        assert set(out.iterdir()) <= set(outs)
    for p, data in inputs.items():
        assert p.read_bytes() == data, f"{p} changed"
    return code


@pytest.mark.slow
@fuzz_settings()
@given(case=arch_mutations(), base=st.sampled_from(["int.npz", "lsq.npz"]))
def test_mutated_arch_rejected_or_run_cleanly(case: dict, base: str, capsys) -> None:
    note(repr(case["data"]))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        workload = dict(zip(["int.npz", "lsq.npz"], _base_workloads(folder)))[base]
        arch = folder / "arch.yaml"
        arch.write_bytes(case["data"])
        _run_clean(arch, workload, folder, capsys)


@fuzz_settings()
@given(case=workload_mutations(), arch_name=st.sampled_from(
    ["ws-8x8-int8.yaml", "os-8x8-int8.yaml", "is-8x8-int8.yaml", "ws-16x16-lsqplus-output.yaml",
     "ws-16x16-lsqplus-pe.yaml", "os-16x16-pann.yaml"]))
def test_mutated_workload_rejected_or_run_cleanly(case: dict, arch_name: str, capsys) -> None:
    note(repr(case))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        good = dict(zip(["int.npz", "lsq.npz"], _base_workloads(folder)))[case["base"]]
        workload = folder / "mutated.npz"
        _apply(case, good, workload)
        _run_clean(ROOT / "arch_configs" / arch_name, workload, folder, capsys)


def test_base_workloads_run(capsys) -> None:
    """The unmutated bases run exactly (exit 0): the int workload on every shipped arch, the
    lsqplus one on the lsqplus archs; so what the property tests exercise is the mutation."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        int_wl, lsq_wl = _base_workloads(folder)
        runs = [(a, int_wl) for a in ARCH_CONFIGS]
        runs += [(a, lsq_wl) for a in ARCH_CONFIGS if "lsqplus" in a.stem]
        for arch, wl in runs:
            code = main(["run", str(arch), str(wl), "--quiet"])
            assert code == 0, (arch.name, wl.name, capsys.readouterr().err)
