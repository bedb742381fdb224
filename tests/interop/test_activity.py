"""``run --vcd/--saif``: the per-PE recorder against the fast kernel's trace, and the files read
back with pyvcd's tokenizer (VCD) and a small parser (SAIF)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.config.schema import Arch, ArrayConfig, PeConfig
from accelsim.interop.activity import check_against_trace, record
from accelsim.sim.layer import simulate_layer
from accelsim.workload import Layer, save_workload


def small_layer(seed: int, x_signed: bool) -> Layer:
    rng = np.random.default_rng(seed)
    x = rng.integers(-8 if x_signed else 0, 8 if x_signed else 16, (2, 5, 4, 4))
    w = rng.integers(-16, 16, (7, 5, 2, 2))
    return Layer(name="c", op="conv2d", x=x, w=w, y=None, x_bits=4, w_bits=5,
                 x_signed=x_signed, w_signed=True, padding=(1, 0))


CASES = list(itertools.product(["os", "ws", "is"], ["hold", "zero"], ["wrap", "saturate"],
                               [False, True]))


@pytest.mark.parametrize("df,idle,overflow,x_signed", CASES)
def test_recorder_equals_kernel_trace(df, idle, overflow, x_signed):
    """All PEs: per-cycle class totals equal the kernel's trace, over the whole layer (partial
    folds, K-folds with edge accumulation, overflow) and over a window."""
    arch = Arch(name="t", array=ArrayConfig(rows=4, cols=3, dataflow=df, idle=idle),
                pe=PeConfig(kind="mac", x_bits=4, w_bits=5,
                            acc_bits=10 if overflow == "saturate" else 12, overflow=overflow))
    layer = small_layer(1, x_signed)
    sim = simulate_layer(arch, layer, trace=True)
    trace = sim.result.trace
    pes = [(r, c) for r in range(4) for c in range(3)]
    act = record(arch, layer, pes, 0, len(trace))
    check_against_trace(act, trace)
    assert act.totals.sum() > 0
    part = record(arch, layer, [(1, 2), (3, 0)], 37, 90)
    assert np.array_equal(part.values, act.values[37:90][:, [5, 9]])
    assert np.array_equal(part.initial, act.values[36][[5, 9]])
    broken = record(arch, layer, pes, 0, len(trace))
    broken.totals[3, 0] += 1
    with pytest.raises(RuntimeError):
        check_against_trace(broken, trace)


def read_vcd(path: Path) -> tuple[dict[str, str], dict[str, list[tuple[int, int]]]]:
    """(full name -> id, id -> [(time, value)]) with pyvcd's tokenizer."""
    from vcd.reader import TokenKind, tokenize

    scope: list[str] = []
    names: dict[str, str] = {}
    changes: dict[str, list[tuple[int, int]]] = {}
    time = 0
    with open(path, "rb") as f:
        for tok in tokenize(f):
            if tok.kind is TokenKind.SCOPE:
                scope.append(tok.data.ident)
            elif tok.kind is TokenKind.UPSCOPE:
                scope.pop()
            elif tok.kind is TokenKind.VAR:
                names[".".join([*scope, tok.data.reference])] = tok.data.id_code
            elif tok.kind is TokenKind.CHANGE_TIME:
                time = tok.data
            elif tok.kind in (TokenKind.CHANGE_SCALAR, TokenKind.CHANGE_VECTOR):
                value = tok.data.value
                changes.setdefault(tok.data.id_code, []).append(
                    (time, int(value) if isinstance(value, int) else int(value, 2)))
    return names, changes


def per_cycle(changes: list[tuple[int, int]], period: int, start: int, stop: int) -> np.ndarray:
    """The signal's value in each cycle (a VCD lists changes only: values hold in between)."""
    out = np.zeros(stop - start, dtype=np.int64)
    for t, v in changes:
        assert t % period == 0  # counters and registers change on clock edges only
        if start * period <= t < stop * period:
            out[t // period - start:] = v
    return out


@pytest.fixture()
def ws_run(tmp_path):
    layer = small_layer(2, False)
    save_workload(tmp_path / "w.npz", "t", [layer, Layer(
        name="d", op="linear", x=np.ones((2, 3), np.int64), w=np.ones((2, 3), np.int64), y=None,
        x_bits=4, w_bits=5, x_signed=False, w_signed=True)], {})
    (tmp_path / "a.yaml").write_text(
        "version: 1\nname: t\nclock_mhz: 250\narray: {rows: 4, cols: 3, dataflow: ws}\n"
        "pe: {kind: mac, x_bits: 4, w_bits: 5, acc_bits: 12}\n")
    return tmp_path


def test_vcd_and_saif_match_trace(ws_run, capsys):
    d = ws_run
    assert main(["run", str(d / "a.yaml"), str(d / "w.npz"), "--layers", "c", "--quiet",
                 "--trace", str(d / "tr"), "--vcd", str(d / "a.vcd"), "--saif", str(d / "a.saif"),
                 "--vcd-pes", "all", "--vcd-cycles", "5:120"]) == 0
    trace = np.loadtxt(d / "tr" / "c.trace.csv", delimiter=",", skiprows=1, dtype=np.int64)
    names, changes = read_vcd(d / "a.vcd")
    period = 4000  # 250 MHz in ps
    classes = ["x_reg", "w_reg", "psum_reg", "mult", "adder"]
    for k, cls in enumerate(classes):
        got = per_cycle(changes[names[f"accelsim.array.toggles_{cls}"]], period, 5, 120)
        if cls == "adder":
            got = got + per_cycle(changes[names["accelsim.array.edge_adder_toggles"]], period,
                                  5, 120)
        assert np.array_equal(got, trace[5:120, 1 + k]), cls
    pe = per_cycle(changes[names["accelsim.array.pe_r1_c2.toggles_mult"]], period, 5, 120)
    assert pe.sum() > 0
    clk = changes[names["accelsim.clk"]]
    assert clk[:3] == [(5 * period, 1), (5 * period + period // 2, 0), (6 * period, 1)]
    saif = (d / "a.saif").read_text()
    assert saif.count("(INSTANCE pe_r") == 12
    assert re.search(r"\(DURATION (\d+)\)", saif).group(1) == str(115 * period)
    for k, reg in enumerate(classes[:3]):
        tc = sum(int(v) for v in re.findall(rf"\({reg}\\\[\d+\\\] \(T0 \d+\) \(T1 \d+\) "
                                            rf"\(TX 0\) \(TC (\d+)\)\)", saif))
        assert tc == trace[5:120, 1 + k].sum(), reg
    for t0, t1 in re.findall(r"\(T0 (\d+)\) \(T1 (\d+)\)", saif):
        assert int(t0) + int(t1) == 115 * period
    before = (d / "a.vcd").read_bytes()
    assert main(["run", str(d / "a.yaml"), str(d / "w.npz"), "--layers", "c", "--quiet",
                 "--vcd", str(d / "a.vcd"), "--vcd-pes", "all", "--vcd-cycles", "5:120"]) == 0
    assert (d / "a.vcd").read_bytes() == before  # deterministic


@pytest.mark.parametrize("extra,message", [
    ([], "one layer"),
    (["--layers", "c", "--vcd-pes", "4,0"], "inside the 4x3 array"),
    (["--layers", "c", "--vcd-cycles", "0:100000"], "--vcd-cycles"),
])
def test_bad_activity_requests(ws_run, capsys, extra, message):
    d = ws_run
    assert main(["run", str(d / "a.yaml"), str(d / "w.npz"), "--quiet", "--vcd",
                 str(d / "x.vcd"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (d / "x.vcd").exists()


def test_vcd_may_not_replace_an_input(ws_run, capsys):
    d = ws_run
    before = (d / "w.npz").read_bytes()
    assert main(["run", str(d / "a.yaml"), str(d / "w.npz"), "--quiet", "--layers", "c",
                 "--vcd", str(d / "w.npz")]) == 2
    assert "the same file as the input" in capsys.readouterr().err
    assert (d / "w.npz").read_bytes() == before


PE_KINDS = {
    "pann": "pe: {kind: pann, x_bits: 4, w_bits: 5, acc_bits: 14, "
            "pann: {adders: 2, sign: dual_accumulator}}\n",
    "lsqplus": "pe: {kind: lsqplus, x_bits: 4, w_bits: 5, acc_bits: 16, "
               "lsqplus: {rescale: output}}\n",
    "bitserial": "pe: {kind: bitserial, x_bits: 4, w_bits: 5, acc_bits: 12}\n",
}


@pytest.mark.parametrize("kind,df", [("pann", "os"), ("lsqplus", "ws"), ("bitserial", "is")])
def test_array_vcd_of_every_pe_kind_equals_trace(tmp_path, kind, df):
    """pann, lsqplus and bitserial: ``--vcd`` writes the array's toggles per class, read back
    with pyvcd's tokenizer equal to ``--trace``'s CSV in every cycle of the window."""
    save_workload(tmp_path / "w.npz", "t", [small_layer(3, False)], {})
    (tmp_path / "a.yaml").write_text(
        f"version: 1\nname: t\nclock_mhz: 250\narray: {{rows: 4, cols: 3, dataflow: {df}}}\n"
        + PE_KINDS[kind])
    assert main(["run", str(tmp_path / "a.yaml"), str(tmp_path / "w.npz"), "--layers", "c",
                 "--quiet", "--trace", str(tmp_path / "tr"), "--vcd", str(tmp_path / "a.vcd"),
                 "--vcd-cycles", "3:95"]) == 0
    with open(tmp_path / "tr" / "c.trace.csv") as f:
        header = f.readline().strip().split(",")
    trace = np.loadtxt(tmp_path / "tr" / "c.trace.csv", delimiter=",", skiprows=1,
                       dtype=np.int64)
    names, changes = read_vcd(tmp_path / "a.vcd")
    period = 4000
    assert header[0] == "cycle" and header[-1] == "total"
    classes = header[1:-1]
    assert sorted(n for n in names if n.startswith("accelsim.array.")) == \
        sorted(f"accelsim.array.toggles_{cls}" for cls in classes)
    for k, cls in enumerate(classes):
        got = per_cycle(changes[names[f"accelsim.array.toggles_{cls}"]], period, 3, 95)
        assert np.array_equal(got, trace[3:95, 1 + k]), cls
    assert np.array_equal(per_cycle(changes[names["accelsim.cycle"]], period, 3, 95),
                          np.arange(3, 95))
    assert trace[3:95, 1:].sum() > 0


@pytest.mark.parametrize("extra,option", [(["--saif", "s.saif"], "--saif"),
                                          (["--vcd-pes", "0,1"], "--vcd-pes")])
def test_per_pe_requests_need_a_mac_pe(tmp_path, capsys, extra, option):
    save_workload(tmp_path / "w.npz", "t", [small_layer(3, False)], {})
    (tmp_path / "a.yaml").write_text("version: 1\nname: t\narray: {rows: 4, cols: 3, "
                                     "dataflow: ws}\n" + PE_KINDS["pann"])
    extra = [str(tmp_path / e) if e.endswith(".saif") else e for e in extra]
    assert main(["run", str(tmp_path / "a.yaml"), str(tmp_path / "w.npz"), "--layers", "c",
                 "--quiet", "--vcd", str(tmp_path / "a.vcd"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a.yaml" in err[0] and option in err[0] and "pann" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "w.npz"]
