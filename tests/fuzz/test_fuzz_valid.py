"""Property: random valid architecture × workload files, run through ``accelsim run`` in-process,
produce exactly the outputs of the independent model in ``tests/fuzz/model.py`` and a sane report.

Each case writes a real arch YAML and a real workload ``.npz`` (``save_workload``) and calls
``accelsim.cli.main(["run", …, "--json", …, "--outputs", …, "--quiet"])``. Cases are tiny (a
few hundred MACs) so the numba compile, once per process, dominates.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import assume, event, given, note
from hypothesis import strategies as st

from accelsim.cli import main
from accelsim.workload.npz import Layer, save_workload
from tests.fuzz import fuzz_settings, model

MAX_MACS = 400  # per layer


# ------------------------------------------------------------------------------- strategies


def _range(bits: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def _values(rng: np.random.Generator, shape, lo: int, hi: int, mode: str) -> np.ndarray:
    """Integers in [lo, hi]: uniform, extremes only (provokes overflow) or mostly zero."""
    if mode == "extreme":
        return rng.choice(np.array([lo, hi], dtype=np.int64), size=shape)
    v = rng.integers(lo, hi + 1, size=shape, dtype=np.int64)
    if mode == "sparse":
        v = np.where(rng.random(shape) < 0.7, np.clip(0, lo, hi), v)
    return v


@st.composite
def arches(draw, overflow: bool = False) -> dict:
    """An arch; ``overflow``: the narrowest accumulators, and saturation more often."""
    kind = draw(st.sampled_from(["mac", "pann", "lsqplus"]))
    shape = draw(st.sampled_from(["1x1", "1xC", "Rx1", "any"]))
    rows = 1 if shape in ("1x1", "1xC") else draw(st.integers(1, 6))
    cols = 1 if shape in ("1x1", "Rx1") else draw(st.integers(1, 6))
    x_bits, w_bits = draw(st.integers(2, 16)), draw(st.integers(2, 16))
    narrow = overflow or draw(st.sampled_from([True, True, False]))  # narrow ones overflow
    lo = x_bits + w_bits
    acc_bits = draw(st.integers(lo, lo + (1 if overflow else 2)) if narrow
                    else st.integers(lo, 48))
    pe = {"kind": kind, "x_bits": x_bits, "w_bits": w_bits, "acc_bits": acc_bits,
          "overflow": draw(st.sampled_from(["wrap", "saturate"] + ["saturate"] * overflow))}
    if kind == "pann":
        pe["pann"] = {"adders": draw(st.integers(1, 4)),
                      "sign": draw(st.sampled_from(["dual_accumulator", "subtract"]))}
    if kind == "lsqplus":
        pe["lsqplus"] = {"rescale": draw(st.sampled_from(["output", "pe"]))}
    arch = {"name": f"fuzz-{kind}", "array": {
        "rows": rows, "cols": cols, "dataflow": draw(st.sampled_from(["os", "ws", "is"])),
        "idle": draw(st.sampled_from(["hold", "zero"]))}, "pe": pe}
    if draw(st.booleans()):  # memory simulated: small buffers and a DRAM
        def buf(port: str) -> dict:
            b = {"size_kib": draw(st.sampled_from([0.0625, 0.5, 4, 16])),
                 "word_bits": draw(st.sampled_from([8, 16, 32]))}
            if draw(st.booleans()):
                b[port] = draw(st.integers(1, 8))
            return b
        arch["buffers"] = {"ifmap": buf("read_words_per_cycle"),
                           "filter": buf("read_words_per_cycle"),
                           "ofmap": buf("write_words_per_cycle"),
                           "double_buffered": draw(st.booleans())}
        arch["dram"] = {"bandwidth_bytes_per_cycle": draw(st.sampled_from([0.5, 1, 4, 16])),
                        "latency_cycles": draw(st.integers(0, 20)),
                        "burst_bytes": draw(st.sampled_from([1, 8, 64]))}
        arch["mapping"] = {"policy": draw(st.sampled_from(["auto", "fixed"]))}
    return arch


@st.composite
def layer_dicts(draw, arch: dict, index: int, overflow: bool = False) -> dict:
    """A layer that fits ``arch``; ``overflow``: operands as wide as the PE's, extreme or
    uniform values and a long K (several K-folds in ws/is), so accumulators overflow."""
    pe = arch["pe"]
    kind = pe["kind"]
    op = draw(st.sampled_from(["linear", "gemm"] if overflow else ["conv2d", "linear", "gemm"]))
    if op == "conv2d":
        groups = draw(st.integers(1, 3))
        cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        # the format allows padding up to the dilated kernel extent d(k-1)+1 per axis
        padding = (draw(st.integers(0, min(2, dilation[0] * (kh - 1) + 1))),
                   draw(st.integers(0, min(2, dilation[1] * (kw - 1) + 1))))
        h = max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0]) + draw(st.integers(0, 3))
        wd = max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1]) + draw(st.integers(0, 3))
        batch = draw(st.integers(1, 2))
        x_shape, w_shape = (batch, groups * cg, h, wd), (groups * og, cg, kh, kw)
        ho = model.conv_out(h, kh, stride[0], padding[0], dilation[0])
        wo = model.conv_out(wd, kw, stride[1], padding[1], dilation[1])
        macs = batch * ho * wo * cg * kh * kw * groups * og
        conv = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    else:
        k = draw(st.integers(arch["array"]["rows"], 40) if overflow else st.integers(1, 12))
        m, n = (draw(st.integers(1, 3 if overflow else 8)) for _ in range(2))
        x_shape, w_shape = (m, k), ((n, k) if op == "linear" else (k, n))
        macs, conv = m * k * n, {}
    assume(macs <= MAX_MACS)

    scheme = {"mac": "int", "pann": draw(st.sampled_from(["int", "pann"])),
              "lsqplus": draw(st.sampled_from(["lsqplus", "lsqplus", "int"]))}[kind]
    x_signed = False if kind == "pann" else draw(st.booleans())
    w_signed = draw(st.booleans())
    # as wide as the PE half of the time (narrow accumulators then overflow), else narrower
    x_bits = draw(st.sampled_from([pe["x_bits"]]) | st.integers(1, pe["x_bits"]))
    x_bits = pe["x_bits"] if overflow else x_bits
    w_max = min(pe["w_bits"], 8) if kind == "pann" else pe["w_bits"]  # pann: |w| additions
    w_bits = w_max if overflow else draw(st.sampled_from([w_max]) | st.integers(1, w_max))
    need = x_bits + w_bits + (0 if x_signed or w_signed else 1)
    if scheme == "lsqplus" and pe["lsqplus"]["rescale"] == "pe":
        need = max(need, x_bits + w_bits + 1)
    assume(need <= pe["acc_bits"])

    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mode = draw(st.sampled_from(["uniform", "extreme"] if overflow
                                else ["uniform", "extreme", "extreme", "sparse"]))
    x = _values(rng, x_shape, *_range(x_bits, x_signed), mode)
    w = _values(rng, w_shape, *_range(w_bits, w_signed), mode)
    channels = w_shape[1] if op == "gemm" else w_shape[0]
    quant: dict = {"scheme": scheme}
    if scheme == "lsqplus":
        y_bits, y_signed = draw(st.integers(1, 32)), draw(st.booleans())
        xr, wr, yr = _range(x_bits, x_signed), _range(w_bits, w_signed), _range(y_bits, y_signed)
        zw = (draw(st.integers(*wr)) if draw(st.booleans())
              else _values(rng, (channels,), *wr, draw(st.sampled_from(["uniform", "sparse"]))))
        big = draw(st.booleans())
        quant.update({
            "x_zero_point": draw(st.integers(*xr)),
            "w_zero_point": zw,
            "bias": rng.integers(-(2**31) if big else -1000, (2**31) if big else 1000,
                                 size=channels, dtype=np.int64),
            "multiplier": np.where(rng.random(channels) < 0.1, 0, rng.integers(
                2**30, 2**31, size=channels, dtype=np.int64)),
            "shift": rng.integers(-31 if big else -16, 32 if big else 3, size=channels,
                                  dtype=np.int64),
            "y_zero_point": draw(st.integers(*yr)),
            "y_bits": y_bits,
            "y_signed": y_signed,
        })
    return {"name": f"l{index}", "op": op, "x": x, "w": w, "x_bits": x_bits, "w_bits": w_bits,
            "x_signed": x_signed, "w_signed": w_signed, "quant": quant, "with_y": draw(
                st.booleans()), **conv}


@st.composite
def cases(draw, overflow: bool = False) -> dict:
    arch = draw(arches(overflow))
    layers = [draw(layer_dicts(arch, i, overflow)) for i in range(draw(st.integers(1, 2)))]
    return {"arch": arch, "layers": layers}


# ------------------------------------------------------------------------------------ files


def _write(case: dict, folder: Path) -> tuple[Path, Path, list[model.Expected]]:
    arch = case["arch"]
    arch_path = folder / "arch.yaml"
    arch_path.write_text(yaml.safe_dump(arch, sort_keys=False))
    pe = arch["pe"]
    params = pe.get("pann") or pe.get("lsqplus") or {}
    layers, expect = [], []
    for d in case["layers"]:
        exp = model.expected(pe["kind"], params, arch["array"]["rows"], arch["array"]["dataflow"],
                             pe["acc_bits"], pe["overflow"] == "saturate", d)
        conv = {k: d[k] for k in ("stride", "padding", "dilation", "groups") if k in d}
        layers.append(Layer(
            name=d["name"], op=d["op"], x=d["x"], w=d["w"],
            y=exp.y_exact if d["with_y"] else None, x_bits=d["x_bits"], w_bits=d["w_bits"],
            x_signed=d["x_signed"], w_signed=d["w_signed"], quant=d["quant"], **conv))
        expect.append(exp)
    wl_path = folder / "wl.npz"
    save_workload(wl_path, "fuzz", layers, {"by": "tests/fuzz"})
    return arch_path, wl_path, expect


# ------------------------------------------------------------------------------------ tests


@pytest.mark.slow
@fuzz_settings()
@given(case=cases())
def test_valid_case_matches_independent_model(case: dict, capsys) -> None:
    _run_case(case, capsys)


@pytest.mark.slow
@fuzz_settings()
@given(case=cases(overflow=True))
def test_overflowing_case_matches_independent_model(case: dict, capsys) -> None:
    """Narrowest accumulators, wide operands, long K: the order of wrap and saturation (psum
    chain of each K-fold, then the edge accumulator) decides the outputs."""
    _run_case(case, capsys)


def _run_case(case: dict, capsys) -> None:
    """Run ``case`` through the CLI; check exit code, outputs and report against the model."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        arch_path, wl_path, expect = _write(case, folder)
        note(arch_path.read_text())
        out_json, out_npz = folder / "r.json", folder / "y.npz"
        code = main(["run", str(arch_path), str(wl_path), "--json", str(out_json),
                     "--outputs", str(out_npz), "--quiet"])
        err = capsys.readouterr().err
        note(err)
        if code == 2 and "buffers" in err and "size_kib" in err and "buffers" in case["arch"]:
            event("buffer too small for a tile (exit 2)")
            return  # documented rejection: a buffer smaller than the smallest tile
        exact = all(np.array_equal(e.y, e.y_exact) for e in expect)
        pe = case["arch"]["pe"]
        event(f"{pe['kind']} {(pe.get('lsqplus') or {}).get('rescale', '')} "
              f"{case['arch']['array']['dataflow']}: exit {code}")
        event(f"accumulator overflow in model: {any(e.overflows_at_least for e in expect)}")
        event(f"outputs differ from the exact reference: {not exact}")
        assert code == (0 if exact else 1), err
        report = json.loads(out_json.read_text())
        with np.load(out_npz, allow_pickle=False) as z:
            for d, e in zip(case["layers"], expect):
                got = z[f"{d['name']}/y"]
                assert got.shape == e.y.shape
                np.testing.assert_array_equal(got, e.y, err_msg=d["name"])
        _check_report(case, report, expect)


def _check_report(case: dict, report: dict, expect: list[model.Expected]) -> None:
    arch = case["arch"]
    a, pe = arch["array"], arch["pe"]
    assert [lr["name"] for lr in report["layers"]] == [d["name"] for d in case["layers"]]
    for d, e, lr in zip(case["layers"], expect, report["layers"]):
        assert lr["macs"] == e.M * e.K * e.N * e.groups
        assert (lr["gemm"]["M"], lr["gemm"]["K"], lr["gemm"]["N"]) == (e.M, e.K, e.N)
        folds, compute = model.scalesim_compute_cycles(a["dataflow"], a["rows"], a["cols"],
                                                       e.groups, e.M, e.K, e.N)
        assert lr["folds"] == folds
        if "mapping" in lr:  # each extra run preloads and drains once more (docs/mapping.md)
            runs = lr["mapping"]["chosen"]["runs"]
            assert runs >= folds
            if arch["mapping"]["policy"] == "fixed" or a["dataflow"] == "os":
                assert runs == folds
            compute += (runs - folds) * (2 * a["rows"] + a["cols"] - 2)
        c = lr["cycles"]
        assert c["total"] == c["compute"] + c["stall"] and c["stall"] >= 0
        if "buffers" not in arch:
            assert c["stall"] == 0
        if pe["kind"] == "pann":
            w = np.abs(model.gemm_operands(d["op"], d["x"], d["w"], **{
                k: d[k] for k in ("stride", "padding", "dilation", "groups") if k in d})[1])
            assert lr["additions"] == e.M * int(w.sum())
            assert c["compute"] >= compute
            if int(w.max()) <= pe["pann"]["adders"]:
                assert c["compute"] == compute
        else:
            assert c["compute"] == compute
        assert all(isinstance(v, int) and v >= 0 for v in lr["toggles"].values())
        assert 0 <= lr["utilization"] <= 1
        assert lr["check"] == ("exact" if np.array_equal(e.y, e.y_exact) else "mismatch")
        if e.overflows is not None:
            assert lr["overflows"] == e.overflows
        assert lr["overflows"] >= e.overflows_at_least
    assert report["total"]["macs"] == sum(lr["macs"] for lr in report["layers"])
