"""Mappings (docs/mapping.md): loop orders and chunks, their DRAM bytes derived by hand, the auto
choice, the kernels run in the mapping's order (values exact under every mapping), and the
compute-cycle relation to SCALE-Sim's count."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.config import arch_to_dict, load_arch
from accelsim.config.schema import MappingConfig
from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.dataflows.mapping import Mapping, fixed_order, legal_orders, runs, steps
from accelsim.sim.memory import plan_run, simulate_memory
from accelsim.sim.memory.mapping_search import candidates, evaluate
from accelsim.sim.memory.tiling import Planner
from accelsim.energy.tech import load_tech
from accelsim.sim.array import simulate_gemm
from accelsim.types import ArraySpec, DenseGemm
from accelsim.workload import load_workload
from tests.unit.test_memory import arch, gemm

ROOT = Path(__file__).resolve().parents[2]


def _args(a, dataflow: str) -> tuple:
    from accelsim.sim.memory.sram import buffer_slots
    d = a.dram
    return (DATAFLOWS[dataflow], a.array.rows, a.array.cols, buffer_slots(a), d.burst_bytes,
            d.row_bytes, a.buffers.double_buffered, "t.yaml")


def _bytes(a, dataflow: str, g) -> dict:
    """{(order, chunk): (read bytes per operand, write bytes per operand)} of every candidate."""
    args = _args(a, dataflow)
    tech = load_tech(a.energy.technology)
    out = {}
    for m in candidates(Planner(*args), g):
        c = evaluate(a, args, g, m, tech)
        out[(m.order, m.chunk)] = (c.read_bytes, c.write_bytes)
    return out


def _rw(ifmap: int, filt: int, psum: int, ofmap: int) -> tuple:
    return ({"ifmap": ifmap, "filter": filt, "psum": psum}, {"psum": psum, "ofmap": ofmap})


def test_order_enumeration() -> None:
    ws, os_ = DATAFLOWS["ws"], DATAFLOWS["os"]
    assert fixed_order(ws) == ("N", "K", "M") and len(legal_orders(ws)) == 6
    assert legal_orders(os_) == (("N", "M", "K"), ("M", "N", "K"))
    assert len(set(legal_orders(DATAFLOWS["is"]))) == 6


@pytest.mark.parametrize("dataflow, order", [(name, o) for name, df in DATAFLOWS.items()
                                              for o in legal_orders(df)])
def test_steps_cover_every_mac_once(dataflow: str, order: tuple) -> None:
    df = DATAFLOWS[dataflow]
    M, K, N = 10, 7, 9
    rdim, cdim, T = df.dims(M, K, N)
    seen = np.zeros((2, rdim, cdim, T), np.int64)
    for f, t0, t1 in steps(df, Mapping(order, 4), 2, M, K, N, 4, 3):
        seen[f.g, f.r0:f.r1, f.c0:f.c1, t0:t1] += 1
    assert (seen == 1).all()


def test_ws_bytes_of_every_mapping_by_hand() -> None:
    # ws 4×4, X[64, 8] int8 (512 B), W[8, 8] (64 B), Y int32 (2048 B); slots: ifmap 128 B,
    # filter 512 B, ofmap 512 B. A step's X chunk is t rows × 4 B (t ≤ 32); W is layer-resident
    # (read once, 64 B); 2 K tiles, 2 N tiles (4 columns each).
    a = arch("ws", burst=4, kib=(0.25, 1, 1))
    g = gemm("ws", 64, 8, 8)
    got = _bytes(a, "ws", g)
    xb, wb, yb = 512, 64, 2048
    psum = 1 * 64 * 8 * 4  # (K tiles − 1) · M · N · 4 B, each way, when partial sums spill
    assert got == {
        # fixed N>K>M: T×4 partial sums (1 KiB) exceed the slot: spill; X read per N tile
        (("N", "K", "M"), 32): _rw(2 * xb, wb, psum, yb),
        # K innermost: a 32×4 partial-sum tile (512 B) stays in the ofmap slot
        (("N", "M", "K"), 32): _rw(2 * xb, wb, 0, yb),
        (("M", "N", "K"), 32): _rw(2 * xb, wb, 0, yb),
        # K outermost: T × 8 partial sums (2 KiB) held between K tiles: spill
        (("K", "N", "M"), 32): _rw(2 * xb, wb, psum, yb),
        # N innermost: an X chunk serves both N tiles (read once)
        (("K", "M", "N"), 32): _rw(xb, wb, psum, yb),
        (("M", "K", "N"), 32): _rw(xb, wb, psum, yb),
        # ... and with 16-row chunks the 16×8 partial sums (512 B) stay on chip
        (("M", "K", "N"), 16): _rw(xb, wb, 0, yb),
    }
    [r] = simulate_memory(dataclasses.replace(a, mapping=MappingConfig(policy="auto")), [g])
    assert r.mapping["chosen"]["order"] == "M>K>N" and r.mapping["chosen"]["chunk"] == 16
    assert r.dram["read_bytes"] == xb + wb and r.dram["write_bytes"] == yb


def test_is_bytes_of_every_mapping_by_hand() -> None:
    # is 4×4: X[8, 8] stationary (64 B, layer-resident), W[8, 64] streams (512 B; a step's chunk
    # t × 4 B, t ≤ 32 for the 128-B filter slot), Y[8, 64] int32 (2048 B); 2 K tiles, 2 M tiles.
    a = arch("is", burst=4, kib=(1, 0.25, 1))
    g = gemm("is", 8, 8, 64)
    got = _bytes(a, "is", g)
    xb, wb, yb = 64, 512, 2048
    psum = 1 * 8 * 64 * 4
    assert got == {
        (("M", "K", "N"), 32): _rw(xb, 2 * wb, psum, yb),
        (("M", "N", "K"), 32): _rw(xb, 2 * wb, 0, yb),
        (("N", "M", "K"), 32): _rw(xb, 2 * wb, 0, yb),
        (("K", "M", "N"), 32): _rw(xb, 2 * wb, psum, yb),
        (("K", "N", "M"), 32): _rw(xb, wb, psum, yb),
        (("N", "K", "M"), 32): _rw(xb, wb, psum, yb),
        (("N", "K", "M"), 16): _rw(xb, wb, 0, yb),
    }


def test_os_bytes_of_both_orders_by_hand() -> None:
    # os 4×4: X[8, 64] and W[64, 8] int8 (512 B each) in 256-B slots: one fold's tile (4 × 64 B)
    # fits, the tensor does not. The tile the inner loop keeps is read once, the other once per
    # outer tile.
    a = arch("os", burst=4, kib=(0.5, 0.5, 1))
    g = gemm("os", 8, 64, 8)
    got = _bytes(a, "os", g)
    assert got == {
        (("N", "M", "K"), 64): _rw(2 * 512, 512, 0, 256),
        (("M", "N", "K"), 64): _rw(512, 2 * 512, 0, 256),
    }


@settings(max_examples=40, deadline=None)
@given(dataflow=st.sampled_from(["ws", "is"]), M=st.integers(1, 80), K=st.integers(1, 40),
       N=st.integers(1, 40), ofmap_rows=st.integers(4, 64), rows=st.sampled_from([2, 4]))
def test_auto_moves_no_partial_sums_when_a_tile_fits(dataflow, M, K, N, ofmap_rows,
                                                     rows) -> None:
    """Whenever an ofmap slot holds a partial-sum tile of at least ``rows`` stream elements
    (× the array's columns, 4 B each), ``auto`` keeps partial sums on chip."""
    kib = ofmap_rows * rows * 4 * 2 / 1024  # two slots
    a = arch(dataflow, burst=4, kib=(64, 64, kib), rows=rows, cols=rows, policy="auto")
    g = gemm(dataflow, M, K, N, R=rows, C=rows)
    [r] = simulate_memory(a, [g])
    chosen = [c for c in r.mapping["candidates"]
              if (c["order"], c["chunk"]) == (r.mapping["chosen"]["order"],
                                              r.mapping["chosen"]["chunk"])]
    assert chosen and chosen[0]["dram_read_bytes"]["psum"] == 0
    assert chosen[0]["dram_write_bytes"]["psum"] == 0


@pytest.mark.parametrize("dataflow", ["ws", "is", "os"])
def test_kernels_bit_exact_and_cycles_under_every_mapping(dataflow: str) -> None:
    """Outputs equal NumPy's under every legal order and chunk; compute cycles = SCALE-Sim's
    folds × fold window + (runs − folds) × (fold window − T) (a preload and fill per run)."""
    rng = np.random.default_rng(1)
    M, K, N, R, C = 11, 9, 7, 4, 3
    x = rng.integers(-128, 128, (1, M, K))
    w = rng.integers(-128, 128, (1, K, N))
    spec = ArraySpec(R, C, dataflow, False, 8, 8, 32, False, True, True)
    df = DATAFLOWS[dataflow]
    rdim, cdim, T = df.dims(M, K, N)
    fixed = simulate_gemm(DenseGemm(x, w), spec)
    window = df.fold_cycles(R, C, T)
    assert fixed.cycles_compute == fixed.folds * window
    for order in legal_orders(df):
        for chunk in (T,) if df.holds_outputs else (1, 3, T):
            r = simulate_gemm(DenseGemm(x, w), dataclasses.replace(spec, mapping=(order, chunk)))
            assert np.array_equal(r.y, (x[0] @ w[0])[None]), (order, chunk)
            n_runs = sum(1 for _ in runs(df, Mapping(order, chunk), 1, M, K, N, R, C))
            extra = window - T
            assert r.folds == fixed.folds
            assert r.cycles_compute == fixed.folds * window + (n_runs - r.folds) * extra


def test_fixed_policy_plans_as_before() -> None:
    """``policy: fixed`` is the mapping the planner used before mappings existed."""
    a = arch("ws", burst=4, kib=(0.25, 1, 1))
    g = gemm("ws", 64, 8, 8)
    plan = plan_run(a, [g])
    assert plan.mappings == [Mapping(("N", "K", "M"), 32)] and plan.candidates == ((),)
    [r] = simulate_memory(a, [g])
    assert r.mapping == {"policy": "fixed", "chosen": {"order": "N>K>M", "chunk": 32,
                                                        "psum": "spill", "runs": 4}}


# -- per-layer overrides ------------------------------------------------------------------------

EXAMPLE = ROOT / "workloads" / "example_cnn.npz"


def _override_arch(tmp_path, entry: str, base: str = "ws-16x16-int8-lpddr4.yaml"):
    text = (ROOT / "arch_configs" / base).read_text()
    path = tmp_path / "a.yaml"
    path.write_text(text + f"mapping:\n  policy: fixed\n  layers:\n    {entry}\n")
    return path


def test_override_runs_whatever_the_policy(tmp_path) -> None:
    from accelsim.cli import main
    import json
    wl = load_workload(str(EXAMPLE))
    name = wl.layers[0].name
    path = _override_arch(tmp_path, f"{name}: {{order: M>K>N, chunk: 5}}")
    arch = load_arch(path)
    assert arch.mapping.layers.by_name[0][1].order == "M>K>N"
    assert arch_to_dict(arch)["mapping"]["layers"] == {name: {"order": "M>K>N", "chunk": 5}}
    out = tmp_path / "r.json"
    assert main(["run", str(path), str(EXAMPLE), "--json", str(out), "--quiet"]) == 0
    report = json.loads(out.read_text())
    first = report["layers"][0]
    assert first["mapping"]["policy"] == "override" and first["check"] == "exact"
    assert (first["mapping"]["chosen"]["order"], first["mapping"]["chosen"]["chunk"]) == \
        ("M>K>N", 5)
    assert report["layers"][1]["mapping"]["policy"] == "fixed"


@pytest.mark.parametrize("entry, key", [
    ("{name}: {{order: K>N}}", "mapping.layers.{name}.order"),
    ("{name}: {{order: M>N>K, chunk: 0}}", "mapping.layers.{name}.chunk"),
    ("nosuchlayer: {{order: N>K>M}}", "mapping.layers.nosuchlayer"),
    ("{name}: {{order: N>K>M, chunk: 1000000}}", "mapping.layers.{name}.chunk"),
])
def test_bad_override_is_bad_input(tmp_path, capsys, entry: str, key: str) -> None:
    from accelsim.cli import main
    name = load_workload(str(EXAMPLE)).layers[0].name
    path = _override_arch(tmp_path, entry.format(name=name))
    out = tmp_path / "r.json"
    assert main(["run", str(path), str(EXAMPLE), "--json", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and key.format(name=name) in err[0]
    assert not out.exists()


def test_os_override_must_keep_k_innermost(tmp_path, capsys) -> None:
    from accelsim.cli import main
    name = load_workload(str(EXAMPLE)).layers[0].name
    path = _override_arch(tmp_path, f"{name}: {{order: N>K>M}}", "os-16x16-int8-lpddr4.yaml")
    assert main(["run", str(path), str(EXAMPLE), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"mapping.layers.{name}.order" in err and "N>M>K, M>N>K" in err


@pytest.mark.parametrize("dataflow", ["ws", "is", "os"])
def test_per_pe_recorder_follows_the_mapping(dataflow: str) -> None:
    """``run --vcd/--saif``'s recorder re-simulates the mapping's runs: its per-cycle totals equal
    the kernels' trace under a multi-run mapping."""
    from accelsim.config.schema import Arch, ArrayConfig, PeConfig
    from accelsim.interop.activity import check_against_trace, record
    from accelsim.sim.layer import simulate_layer
    from tests.interop.test_activity import small_layer

    arch = Arch(name="t", array=ArrayConfig(rows=4, cols=3, dataflow=dataflow, idle="zero"),
                pe=PeConfig(kind="mac", x_bits=4, w_bits=5, acc_bits=12))
    layer = small_layer(1, False)
    df = DATAFLOWS[dataflow]
    order = legal_orders(df)[-1]
    mapping = (order, 64 if df.holds_outputs else 7)
    sim = simulate_layer(arch, layer, trace=True, mapping=mapping)
    assert sim.check == "exact"
    act = record(arch, layer, [(r, c) for r in range(4) for c in range(3)], 0,
                 len(sim.result.trace), mapping)
    check_against_trace(act, sim.result.trace)
    assert act.totals.sum() > 0


def test_candidates_that_run_the_same_steps_are_evaluated_once() -> None:
    """One K tile and one chunk: only the N loop iterates, so every order runs the same steps."""
    a = arch("ws", kib=(64, 64, 64))
    g = gemm("ws", 8, 4, 8)
    planner = Planner(*_args(a, "ws"))
    assert candidates(planner, g) == [Mapping(("N", "K", "M"), 8)]
    g2 = gemm("ws", 8, 8, 8)  # two K tiles: the K and N loops iterate, in either order
    assert [m.order for m in candidates(planner, g2)] == [("N", "K", "M"), ("K", "N", "M")]
