"""Memory system (SPEC §5.5, docs/memory.md): hand-derived cycle counts and DRAM/SRAM traffic.

Small cases use gemm layers on a 4×4 array, int8 operands and int32 partial sums, so every number
below can be derived by hand; the derivations are in the comments. Times are in cycles, sizes in
bytes unless said otherwise.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import random
from pathlib import Path

import numpy as np
import pytest

from accelsim.config import load_arch
from accelsim.config.schema import (
    Arch, ArrayConfig, BufferConfig, BuffersConfig, DramConfig, MappingConfig, PeConfig,
)
from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.errors import ConfigError
from accelsim.report import write_atomically
from accelsim.sim.memory import (
    DramSpan, FoldSpan, LayerGeometry, layer_geometry, plan_memory, simulate_memory,
    timeline_files,
)
from accelsim.sim.memory.dram import DramChannel
from accelsim.sim.memory.tiling import IfmapGeometry
from accelsim.workload.npz import Layer

ROOT = Path(__file__).resolve().parents[2]
MEMORY_CONFIGS = sorted(p for p in (ROOT / "arch_configs").glob("*.yaml") if "ddr" in p.stem)


def arch(dataflow: str, kib=(64, 64, 64), double=True, bw=16.0, latency=0, burst=16,
         port=4, buffers=True, dram=True, rows=4, cols=4, policy="fixed", **dram_kw) -> Arch:
    """A rows×cols int8 array; buffers of ``kib`` KiB (ifmap, filter: 8-bit words; ofmap: 32);
    mapping ``policy`` (these tests derive the fixed mapping's traffic by hand)."""
    def buf(k: float, bits: int) -> BufferConfig:
        return BufferConfig(size_kib=k, word_bits=bits, read_words_per_cycle=port,
                            write_words_per_cycle=port)
    return Arch(
        name="t",
        array=ArrayConfig(rows=rows, cols=cols, dataflow=dataflow),
        pe=PeConfig(kind="mac", x_bits=8, w_bits=8, acc_bits=32),
        buffers=BuffersConfig(ifmap=buf(kib[0], 8), filter=buf(kib[1], 8), ofmap=buf(kib[2], 32),
                              double_buffered=double) if buffers else None,
        dram=DramConfig(bandwidth_bytes_per_cycle=bw, latency_cycles=latency, burst_bytes=burst,
                        **dram_kw) if dram else None,
        mapping=MappingConfig(policy=policy),
    )


def gemm(dataflow: str, M: int, K: int, N: int, R: int = 4, C: int = 4,
         name: str = "g") -> LayerGeometry:
    """An int8 gemm layer X[M,K]·W[K,N] with int32 outputs."""
    df = DATAFLOWS[dataflow]
    _, _, T = df.dims(M, K, N)
    return LayerGeometry(name, dataflow, R, C, 1, M, K, N, M * K, K * N, M * N * 4, 1, 1, 4,
                         df.fold_cycles(R, C, T), None)


def compute(g: LayerGeometry) -> int:
    """SCALE-Sim compute cycles of a layer: folds × fold window."""
    return DATAFLOWS[g.dataflow].count(g.groups, g.M, g.K, g.N, g.rows, g.cols) * g.fold_cycles


def folds(result) -> list[FoldSpan]:
    return [e for e in result.timeline if isinstance(e, FoldSpan)]


def resnet_layer1(a: Arch) -> LayerGeometry:
    """ResNet-18 layer1 3×3 conv, 64→64 channels at 56×56, batch 1, int8."""
    x = np.zeros((1, 64, 56, 56), np.uint8)
    w = np.zeros((64, 64, 3, 3), np.int8)
    layer = Layer("layer1.0.conv1", "conv2d", x, w, None, 8, 8, False, True, (1, 1), (1, 1))
    return layer_geometry(a, layer)


# -- the hand-derived cases -------------------------------------------------------------


def test_no_buffers_and_no_dram_is_ideal() -> None:
    a = arch("ws", buffers=False, dram=False)
    assert simulate_memory(a, [gemm("ws", 64, 8, 8)]) is None


def test_unlimited_bandwidth_total_is_compute_plus_first_tiles_load() -> None:
    # ws, M=64 K=8 N=8 on 4×4: 2 K-folds × 2 N-folds, each 2·4 + 4 + 64 − 2 = 74 cycles: 296.
    # Everything fits on chip. With 2^30 B/cycle every transfer takes < 1e-5 cycles, so the only
    # exposed time is the first tiles' latency (100): their load ends at 100 + 528/2^30, the final
    # writeback adds 1024/2^30, and the total rounds up to 296 + 100 + 1.
    g = gemm("ws", 64, 8, 8)
    [r] = simulate_memory(arch("ws", bw=2.0**30, latency=100), [g])
    assert compute(g) == 296
    assert r.cycles_total == 296 + 101 and r.cycles_stall == 101
    assert [f.stall for f in folds(r)][1:] == [0, 0, 0]


def test_compute_bound_layer_stalls_only_while_the_first_tiles_load() -> None:
    # Same layer at 16 B/cycle, 16-byte bursts, no latency. First fold needs X[:, 0:4] (the
    # 4-byte halves of the 64 8-byte rows: 512 B in 16-byte bursts) and W tile 0 (16 B): 528 B,
    # 33 cycles. Later folds load one 16-byte weight tile (1 cycle) under 74 cycles of compute;
    # the first output tile (Y[:, 0:4], 64 × 16 B) drains under fold 2. Only the last output
    # tile's writeback (1024 B, 64 cycles) follows the last fold: 33 + 296 + 64 = 393.
    [r] = simulate_memory(arch("ws"), [gemm("ws", 64, 8, 8)])
    assert [f.stall for f in folds(r)] == [33, 0, 0, 0]
    assert [(f.start, f.end) for f in folds(r)][0] == (33, 107)
    assert r.cycles_total == 393 and r.cycles_stall == 97
    assert r.dram["read_bytes"] == 512 + 64 and r.dram["write_bytes"] == 64 * 8 * 4


def test_bandwidth_bound_layer_total_is_bytes_over_bandwidth_plus_latency() -> None:
    # Batch-1 linear layer on ws: M=1, K=64, N=64: 256 folds of 2·4 + 4 + 1 − 2 = 11 cycles, each
    # needing a fresh 16-byte weight tile (16 cycles at 1 B/cycle): the bus, not the array, sets
    # the pace. DRAM bytes: W 4096 + X 64 read, Y 64 × 4 = 256 written, 4416 in all.
    g = gemm("ws", 1, 64, 64)
    [r] = simulate_memory(arch("ws", bw=1.0, latency=50), [g])
    moved = r.dram["read_bytes"] + r.dram["write_bytes"]
    assert (r.dram["read_bytes"], r.dram["write_bytes"]) == (4096 + 64, 256)
    assert moved <= r.cycles_total <= moved + 50 + g.fold_cycles
    assert compute(g) == 256 * 11 < r.cycles_total / 1.5
    assert r.dram_bandwidth_utilization > 0.95


def test_buffers_too_small_for_one_fold_retile_and_pay_in_dram_traffic() -> None:
    # ws, M=256 K=8 N=8, 4-byte bursts: folds (k, n) = 2 K-tiles × 2 N-tiles, each streaming
    # X[:, k-tile] (256 × 4 = 1 KiB) and producing a 256 × 4 int32 partial-sum tile (4 KiB).
    g = gemm("ws", 256, 8, 8)
    [big] = simulate_memory(arch("ws", burst=4, bw=4.0), [g])
    # 64 KiB buffers: X (2 KiB) read once, W (64 B) once, Y (8 KiB) written once.
    assert (big.dram["read_bytes"], big.dram["write_bytes"]) == (2048 + 64, 8192)
    # ifmap 1 KiB (two 512-byte halves) and ofmap 2 KiB (two 1 KiB halves): X no longer fits on
    # chip, nor does one fold's X strip or partial-sum tile. Re-tiled into chunks of
    # min(512 / 4, 1024 / (4·4)) = 64 rows: each fold reads its X strip (1 KiB) again for every
    # N-tile (4 KiB instead of 2), and K-fold 0's partial sums go to DRAM and come back for K-fold
    # 1 (4 KiB each way per N-tile).
    small = arch("ws", burst=4, bw=4.0, kib=(1, 64, 2))
    [r] = simulate_memory(small, [g])
    plan = plan_memory(small, [g])[0][0]
    assert (plan.x_mode, plan.psum_mode, plan.chunk, len(plan.steps)) == ("fold", "spill", 64, 16)
    assert r.dram["read_bytes"] == 4 * 1024 + 64 + 2 * 4096
    assert r.dram["write_bytes"] == 2 * 4096 + 8192
    assert r.cycles_total - r.cycles_stall == compute(g)  # re-tiling never changes compute
    assert r.cycles_total > big.cycles_total


def test_double_buffering_off_vs_on() -> None:
    # ws, M=64 K=16 N=4, 4 B/cycle, 4-byte bursts, ifmap 0.5 KiB: each fold streams a fresh
    # X[:, k-tile] (256 B: 64 cycles) and a 16-byte weight tile (4 cycles); compute 74 cycles a
    # fold; one 1 KiB output tile drains at the end (256 cycles).
    g = gemm("ws", 64, 16, 4)
    # On: fold 0 waits 68; fold 1's tiles arrive during fold 0 (ready at 136); fold 2's may start
    # loading when fold 0 ends (142) and are ready at 210, before fold 1 ends (216); likewise
    # fold 3. Total 68 + 4·74 + 256 = 620.
    [on] = simulate_memory(arch("ws", burst=4, bw=4.0, kib=(0.5, 1, 2)), [g])
    # Off: every fold's tiles load after the previous fold ends: 4·68 + 4·74 + 256 = 824.
    [off] = simulate_memory(arch("ws", burst=4, bw=4.0, kib=(0.5, 1, 2), double=False), [g])
    assert (on.cycles_total, off.cycles_total) == (620, 824)
    assert [f.stall for f in folds(on)] == [68, 0, 0, 0]
    assert [f.stall for f in folds(off)] == [68, 68, 68, 68]
    assert on.dram == off.dram


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_resnet18_layer1_operands_read_once_when_everything_fits(dataflow: str) -> None:
    a = arch(dataflow, kib=(1024, 1024, 2048), bw=16.0, latency=100, burst=64, rows=32, cols=32,
             port=32)
    g = resnet_layer1(a)
    # DRAM holds the ifmap unpadded (64·56·56 = 200,704 B; the padded 64·58·58 = 215,296 B is
    # never stored), the weights (64·64·9 = 36,864 B) and the int32 outputs (64·56·56·4).
    assert (g.x_bytes_unique, g.w_bytes, g.y_bytes) == (200_704, 36_864, 802_816)
    [r] = simulate_memory(a, [g])
    assert r.dram["read_bytes"] == 200_704 + 36_864
    assert r.dram["write_bytes"] == 802_816
    assert r.cycles_total - r.cycles_stall == compute(g)
    assert r.sram["ifmap"]["writes"] == 200_704 and r.sram["filter"]["writes"] == 36_864


def test_compute_cycles_unchanged_under_any_memory() -> None:
    for df, kib, double in itertools.product(("ws", "os", "is"), ((64, 64, 64), (1, 1, 2)),
                                             (True, False)):
        g = gemm(df, 96, 24, 20)
        r = simulate_memory(arch(df, kib=kib, double=double, latency=7, bw=3.0), [g])[0]
        assert r.cycles_total - r.cycles_stall == compute(g) and r.cycles_stall >= 0


def test_sram_counts_in_words() -> None:
    # The compute-bound case: 4 folds × 64 streamed rows × 4 int8 X words; 4 weight tiles of 16;
    # 4 × 64 × 4 int32 partial sums written; read back on K-fold 1 (2 × 256) and read out to
    # DRAM (2 × 256); fills: 512 B of X and 64 B of W.
    [r] = simulate_memory(arch("ws"), [gemm("ws", 64, 8, 8)])
    assert r.sram == {
        "ifmap": {"reads": 1024, "writes": 512, "read_bytes": 1024, "write_bytes": 512},
        "filter": {"reads": 64, "writes": 64, "read_bytes": 64, "write_bytes": 64},
        "ofmap": {"reads": 1024, "writes": 1024, "read_bytes": 4096, "write_bytes": 4096},
    }


def test_sram_read_port_narrower_than_the_edge_stalls() -> None:
    # 1 word/cycle instead of 4: each fold streams 64 × 4 = 256 X words through the ifmap port
    # (its 16 weights go through the filter's own port), so a 74-cycle fold takes 256.
    g = gemm("ws", 64, 8, 8)
    a = arch("ws", bw=2.0**30, port=1)
    [r] = simulate_memory(a, [g])
    assert [f.end - f.start for f in folds(r)] == [256] * 4
    assert r.cycles_total - r.cycles_stall == compute(g)


def test_next_layer_prefetches_during_the_current_layers_tail() -> None:
    a = arch("ws", bw=8.0, latency=20)
    r1, r2 = simulate_memory(a, [gemm("ws", 64, 8, 8, name="a"), gemm("ws", 64, 8, 8, name="b")])
    end_a = max(f.end for f in folds(r1))
    first_b = min(s.start for s in r2.timeline if isinstance(s, DramSpan) and s.direction == "read")
    assert first_b < end_a
    assert folds(r2)[0].stall < folds(r1)[0].stall


def test_same_inputs_same_results() -> None:
    a = arch("is", kib=(1, 1, 1), bw=3.0, latency=13, banks=4, row_bytes=64, t_rcd_cycles=3,
             t_rp_cycles=2)
    layers = [gemm("is", 40, 20, 36)]
    assert simulate_memory(a, layers) == simulate_memory(a, layers)


# -- partial configurations and errors ----------------------------------------------------------


def test_buffers_without_dram_and_dram_without_buffers() -> None:
    g = gemm("ws", 64, 8, 8)
    [only_sram] = simulate_memory(arch("ws", dram=False), [g])
    assert only_sram.dram == {} and set(only_sram.sram) == {"ifmap", "filter", "ofmap"}
    assert only_sram.cycles_total == compute(g) and only_sram.cycles_stall == 0
    [only_dram] = simulate_memory(arch("ws", buffers=False), [g])
    assert only_dram.sram == {}
    assert (only_dram.dram["read_bytes"], only_dram.dram["write_bytes"]) == (576, 2048)


@pytest.mark.parametrize("dataflow, kib, key", [
    ("ws", (64, 0.001, 64), "buffers.filter.size_kib"),
    ("is", (0.001, 64, 64), "buffers.ifmap.size_kib"),
    ("os", (64, 64, 0.01), "buffers.ofmap.size_kib"),
])
def test_buffer_too_small_for_any_tile_is_a_config_error(dataflow, kib, key) -> None:
    with pytest.raises(ConfigError) as info:
        simulate_memory(arch(dataflow, kib=kib), [gemm(dataflow, 64, 8, 8)], file="a.yaml")
    assert info.value.key == key and "a.yaml" in info.value.one_line()


def test_dram_cross_field_rules() -> None:
    with pytest.raises(ConfigError, match="multiple of dram.burst_bytes"):
        simulate_memory(arch("ws", burst=64, row_bytes=100), [gemm("ws", 8, 8, 8)])
    with pytest.raises(ConfigError, match="power of two"):
        simulate_memory(arch("ws", banks=6, address_mapping="row_bank_col_xor"),
                        [gemm("ws", 8, 8, 8)])


# -- DRAM row buffers ---------------------------------------------------------------------------


def test_dram_row_buffer_hand_derived() -> None:
    # 16-byte bursts at 16 B/cycle (1 cycle each), 64-byte rows (4 bursts), 2 banks,
    # t_rcd 3, t_rp 2, row_bank_col: page p -> bank p % 2, row p // 2.
    cfg = DramConfig(bandwidth_bytes_per_cycle=16, latency_cycles=10, burst_bytes=16, banks=2,
                     row_bytes=64, t_rcd_cycles=3, t_rp_cycles=2, t_cl_cycles=4)
    d = DramChannel(cfg)
    # Bursts 0..7 = pages 0 (bank 0) and 1 (bank 1), both closed: 2 misses (3 each); page 1's
    # activation hides behind page 0's 4 data cycles. 8 + 3 = 11 cycles.
    assert d.transfer(0.0, (0,), (8,), False) == (0.0, 11.0, 128)
    assert (d.row_hits, d.row_misses) == (6, 2)
    # Bursts 16..19 = page 4: bank 0, row 2, row 0 open: conflict, 2 + 3, after the bus frees.
    assert d.transfer(5.0, (16,), (20,), True) == (11.0, 20.0, 64)
    assert (d.row_hits, d.row_misses) == (9, 3)
    # Bursts 17..18 again: a hit, no penalty.
    assert d.transfer(30.0, (17,), (19,), False) == (30.0, 32.0, 32)
    assert d.read_latency == 14 and d.counters()["activations"] == 3
    closed = DramChannel(dataclasses.replace(cfg, page_policy="closed"))
    closed.transfer(0.0, (0,), (4,), False)
    assert closed.transfer(10.0, (0,), (4,), False) == (10.0, 17.0, 64)  # re-activated, t_rcd
    xor = DramChannel(dataclasses.replace(cfg, address_mapping="row_bank_col_xor"))
    xor.transfer(0.0, (8,), (12,), False)  # page 2: row 1, bank 0 ^ 1 = 1
    assert xor.open_row == [-1, 1]


def test_dram_vectorised_and_scalar_paths_agree() -> None:
    rng = random.Random(7)
    for policy, mapping in itertools.product(("open", "closed"), ("row_bank_col",
                                                                  "row_bank_col_xor")):
        cfg = DramConfig(bandwidth_bytes_per_cycle=8, latency_cycles=0, burst_bytes=8, banks=4,
                         row_bytes=32, t_rcd_cycles=5, t_rp_cycles=3, page_policy=policy,
                         address_mapping=mapping)
        a, b = DramChannel(cfg), DramChannel(cfg)
        for _ in range(200):
            n = rng.randint(1, 20)
            starts = sorted(rng.sample(range(0, 400, 3), n))
            stops = [s + rng.randint(1, 3) for s in starts]
            bursts = sum(e - s for s, e in zip(starts, stops))
            pa = a._rows(np.array(starts), np.array(stops), bursts) if bursts > 12 else None
            pb = b._rows_small(starts, stops)
            if pa is None:
                a._rows_small(starts, stops)
            else:
                assert pa == pytest.approx(pb)
            assert (a.row_hits, a.row_misses, a.open_row) == (b.row_hits, b.row_misses,
                                                              b.open_row)


# -- conv footprints ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_conv_footprint_covers_im2col_and_bound_covers_footprint(seed: int) -> None:
    rng = random.Random(seed)
    n, c, h, w = rng.randint(1, 2), rng.randint(1, 4), rng.randint(3, 9), rng.randint(3, 9)
    kh, kw = rng.randint(1, 3), rng.randint(1, 3)
    s, p, d = rng.randint(1, 3), rng.randint(0, 1), rng.randint(1, 2)
    if (h + 2 * p - d * (kh - 1) - 1) < 0 or (w + 2 * p - d * (kw - 1) - 1) < 0:
        return
    geom = LayerGeometry("c", "ws", 4, 4, 1, 0, c * kh * kw, 1, n * c * h * w, 0, 0, 1, 1, 4, 1,
                         (n, c, h, w, kh, kw, s, p, d))
    ho, wo = (h + 2 * p - d * (kh - 1) - 1) // s + 1, (w + 2 * p - d * (kw - 1) - 1) // s + 1
    M, K = n * ho * wo, c * kh * kw
    xg = IfmapGeometry(dataclasses.replace(geom, M=M), 1, M, K)
    for _ in range(20):
        m0 = rng.randrange(M)
        m1 = rng.randint(m0 + 1, M)
        k0 = rng.randrange(K)
        k1 = rng.randint(k0 + 1, K)
        starts, lens, elements = xg.runs(0, m0, m1, k0, k1)
        have = {int(st) + i for st, ln in zip(starts, lens) for i in range(int(ln))}
        need = set()
        for m, k in itertools.product(range(m0, m1), range(k0, k1)):
            img, pix = divmod(m, ho * wo)
            oh, ow = divmod(pix, wo)
            ch, tap = divmod(k, kh * kw)
            i, j = divmod(tap, kw)
            row, col = oh * s - p + i * d, ow * s - p + j * d
            if 0 <= row < h and 0 <= col < w:
                need.add(((img * c + ch) * h + row) * w + col)
        assert need <= have and len(have) == elements
        assert elements <= xg.bound(m1 - m0, k1 - k0)


def test_layer_geometry_conventions() -> None:
    a = load_arch(ROOT / "arch_configs" / "ws-32x32-int8-lpddr4.yaml")
    g = resnet_layer1(a)
    assert (g.M, g.K, g.N, g.groups) == (3136, 576, 64, 1)
    assert (g.x_elem_bytes, g.w_elem_bytes, g.psum_elem_bytes) == (1, 1, 4)
    assert g.fold_cycles == 2 * 32 + 32 + 3136 - 2
    fc = Layer("fc", "linear", np.zeros((1, 512), np.uint8), np.zeros((1000, 512), np.int8), None,
               8, 8, False, True)
    assert layer_geometry(a, fc).conv is None and layer_geometry(a, fc).y_bytes == 4000


# -- shipped configs and the trace --------------------------------------------------------------


def test_memory_configs_shipped() -> None:
    assert {p.stem for p in MEMORY_CONFIGS} >= {f"{df}-32x32-int8-lpddr4" for df in
                                                 ("ws", "os", "is")}


@pytest.mark.parametrize("path", MEMORY_CONFIGS, ids=lambda p: p.stem)
def test_shipped_memory_config_runs_a_small_network(path: Path) -> None:
    a = load_arch(path)
    assert a.buffers is not None and a.dram is not None and a.dram.t_rcd_cycles > 0
    text = path.read_text()
    assert "datasheet" in text and "Micron" in text
    rng = np.random.default_rng(0)
    layers = [
        Layer("c1", "conv2d", rng.integers(0, 255, (1, 3, 32, 32), dtype=np.uint8),
              rng.integers(-128, 127, (16, 3, 3, 3), dtype=np.int8), None, 8, 8, False, True,
              (1, 1), (1, 1)),
        Layer("fc", "linear", rng.integers(0, 255, (1, 256), dtype=np.uint8),
              rng.integers(-128, 127, (10, 256), dtype=np.int8), None, 8, 8, False, True),
    ]
    geoms = [layer_geometry(a, layer) for layer in layers]
    results = simulate_memory(a, geoms, file=str(path))
    for g, r in zip(geoms, results):
        # SCALE-Sim's count plus one preload and fill/drain per extra run (docs/mapping.md §3)
        runs = r.mapping["chosen"]["runs"]
        folds_ = compute(g) // g.fold_cycles
        extra = (runs - folds_) * (g.fold_cycles - DATAFLOWS[g.dataflow].dims(g.M, g.K, g.N)[2])
        assert r.cycles_total - r.cycles_stall == compute(g) + extra
        assert r.dram["row_hits"] + r.dram["row_misses"] > 0
        assert 0 <= r.dram_bandwidth_utilization <= 1


def test_write_timeline(tmp_path: Path) -> None:
    a = arch("ws", bw=8.0, latency=20)
    results = simulate_memory(a, [gemm("ws", 64, 8, 8, name="a"), gemm("ws", 32, 8, 4, name="b")])
    (tmp_path / "trace").mkdir()
    write_atomically(timeline_files(results, ["a", "b"], tmp_path / "trace"))
    with open(tmp_path / "trace" / "memory_folds.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["layer"] for r in rows] == ["a"] * 4 + ["b"] * 2
    assert float(rows[0]["stall_cycles"]) == folds(results[0])[0].stall
    with open(tmp_path / "trace" / "memory_dram.csv") as fh:
        spans = list(csv.DictReader(fh))
    assert {s["direction"] for s in spans} == {"read", "write"}
    assert sum(int(s["bytes"]) for s in spans if s["direction"] == "read") == sum(
        r.dram["read_bytes"] for r in results)
    png = (tmp_path / "trace" / "memory_timeline.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert not [p for p in (tmp_path / "trace").iterdir() if p.name.startswith(".")]
