"""Memory-report figures (docs/memory.md §5): DRAM bytes per operand, bandwidth per operand and
stall cycles by cause, on hand-built cases derived in the comments, plus the sums that must hold
on any run. gemm layers on a 4×4 ``ws`` array, int8 operands, int32 partial sums; times in cycles.
"""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.config.schema import (
    Arch, ArrayConfig, BufferConfig, BuffersConfig, DramConfig, MappingConfig, PeConfig,
)
from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.sim.memory import LayerGeometry, simulate_memory
from accelsim.sim.memory.scheduler import OPERAND_KEYS
from accelsim.sim.memory.stats import CAUSES, PEAK_WINDOW_CYCLES


def arch(dataflow: str = "ws", kib=(64, 64, 64), ports=(64, 64, 64), double: bool = True,
         bw: float = 8.0, latency: int = 0, burst: int = 16, dram: bool = True) -> Arch:
    """A 4×4 int8 array; ifmap/filter 8-bit words, ofmap 32-bit words; read ports ``ports``."""
    def buf(k: float, bits: int, port: int) -> BufferConfig:
        return BufferConfig(size_kib=k, word_bits=bits, read_words_per_cycle=port,
                            write_words_per_cycle=64)
    return Arch(
        name="t", array=ArrayConfig(rows=4, cols=4, dataflow=dataflow),
        pe=PeConfig(kind="mac", x_bits=8, w_bits=8, acc_bits=32),
        buffers=BuffersConfig(ifmap=buf(kib[0], 8, ports[0]), filter=buf(kib[1], 8, ports[1]),
                              ofmap=buf(kib[2], 32, ports[2]), double_buffered=double),
        dram=DramConfig(bandwidth_bytes_per_cycle=bw, latency_cycles=latency,
                        burst_bytes=burst) if dram else None,
        mapping=MappingConfig(policy="fixed"),  # causes below are derived for the fixed order
    )


def gemm(M: int, K: int, N: int, name: str = "g", dataflow: str = "ws") -> LayerGeometry:
    df = DATAFLOWS[dataflow]
    _, _, T = df.dims(M, K, N)
    return LayerGeometry(name, dataflow, 4, 4, 1, M, K, N, M * K, K * N, M * N * 4, 1, 1, 4,
                         df.fold_cycles(4, 4, T), None)


def causes(**nonzero: int) -> dict[str, int]:
    return {c: nonzero.get(c, 0) for c in CAUSES}


def test_first_tiles_and_final_writeback() -> None:
    # X[64, 8]·W[8, 8] at 16 B/cycle: fold 0 waits for X (512 B, 32 cycles) and its weight tile
    # (16 B, 1 cycle); the last output tile (64 × 4 × 4 B = 1024 B, 64 cycles) drains after the
    # last fold. Stall 97 = ifmap 32 + filter 1 + ofmap_drain 64.
    [r] = simulate_memory(arch(bw=16.0), [gemm(64, 8, 8)])
    assert r.cycles_stall == 97
    assert r.stall_by_cause == causes(ifmap=32, filter=1, ofmap_drain=64)
    assert r.dram_bytes_by_operand == {"ifmap_read": 512, "filter_read": 64, "psum_read": 0,
                                       "psum_write": 0, "ofmap_write": 2048}


def test_read_latency_is_charged_to_the_last_operand_loaded() -> None:
    # The same layer at 8 B/cycle with 20 cycles of read latency: X 64 cycles, W 2, then the
    # latency of the weight tile (the load that arrives last): filter 2 + 20.
    [r] = simulate_memory(arch(latency=20), [gemm(64, 8, 8)])
    assert r.stall_by_cause["ifmap"] == 64 and r.stall_by_cause["filter"] == 22


def test_next_layer_blocked_by_this_layers_drain_is_charged_to_this_layer() -> None:
    # Single-buffered, 8 B/cycle, no latency. a: X[64, 4]·W[4, 4], one fold of 74 cycles;
    # b: X[8, 4]·W[4, 4], one fold of 18. a loads X (256 B, 32 cycles) and W (16 B, 2): its
    # fold runs 34..108. At 108 a's outputs (1024 B, 128 cycles) start draining and b's tiles
    # (32 + 16 B, 4 + 2 cycles) load; b's fold needs both (single-buffered, its outputs take
    # the room a's occupy), so it runs 242..260, and its 128 B drain ends at 276.
    # a: cycles 108, stall 34; b: cycles 168, stall 150. The 128 cycles b waited while the bus
    # drained a's outputs are charged to a.
    a, b = simulate_memory(arch(double=False), [gemm(64, 4, 4, "a"), gemm(8, 4, 4, "b")])
    assert (a.cycles_total, a.cycles_stall, b.cycles_total, b.cycles_stall) == (108, 34, 168, 150)
    assert a.stall_by_cause == causes(ifmap=32, filter=2, ofmap_drain=128)
    assert b.stall_by_cause == causes(ifmap=4, filter=2, ofmap_drain=16)


def test_narrow_sram_port() -> None:
    # Ideal DRAM (no dram block): only SRAM ports stall. ifmap reads 1 word/cycle: the fold's
    # 64 × 4 X values take 256 cycles instead of the 74-cycle window: 182 cycles of sram_port.
    [r] = simulate_memory(arch(ports=(1, 64, 64), dram=False), [gemm(64, 4, 4)])
    assert r.cycles_stall == 182 and r.stall_by_cause == causes(sram_port=182)
    assert r.dram == {} and r.dram_bandwidth == {} and r.dram_bytes_by_operand == {}


def test_bandwidth_average_and_peak() -> None:
    # The first case: 2624 B in 393 cycles. Bus: X 0..32, W 32..33 and, at 1 cycle each, the
    # three later weight tiles; the outputs 1024 B after fold 1 and after fold 3 (64 cycles each).
    # The layer fits one window, so the peak is the average.
    [r] = simulate_memory(arch(bw=16.0), [gemm(64, 8, 8)])
    avg, peak = r.dram_bandwidth["average"], r.dram_bandwidth["peak"]
    assert avg["total"] == pytest.approx(2624 / 393)
    assert avg["ifmap_read"] == pytest.approx(512 / 393)
    assert avg["ofmap_write"] == pytest.approx(2048 / 393)
    assert peak == avg
    assert avg["total"] == pytest.approx(r.dram_bandwidth_utilization * 16.0)


def test_peak_over_windows() -> None:
    # X[1024, 4]·W[4, 4] at 16 B/cycle, one fold of 2·4 + 4 + 1024 − 2 = 1034 cycles. X (4096 B,
    # 256 cycles) and W (16 B, 1 cycle) load first, the fold runs 257..1291, the outputs
    # (1024 × 4 × 4 = 16384 B, 1024 cycles) drain 1291..2315. Windows of 1024 cycles from cycle
    # 0, the remainder joining the last: [0, 1024) moves 4112 B, [1024, 2315) the 16384 B drain.
    [r] = simulate_memory(arch(bw=16.0), [gemm(1024, 4, 4)])
    assert r.cycles_total == 2315 and r.stall_by_cause == causes(ifmap=256, filter=1,
                                                                 ofmap_drain=1024)
    assert r.dram_bandwidth["peak_window_cycles"] == PEAK_WINDOW_CYCLES == 1024
    avg, peak = r.dram_bandwidth["average"], r.dram_bandwidth["peak"]
    assert peak["total"] == pytest.approx(16384 / 1291)
    assert peak["ofmap_write"] == pytest.approx(16384 / 1291)
    assert peak["ifmap_read"] == pytest.approx(4096 / 1024)
    assert peak["filter_read"] == pytest.approx(16 / 1024)
    assert avg["ifmap_read"] == pytest.approx(4096 / 2315)
    assert avg["total"] == pytest.approx((4096 + 16 + 16384) / 2315)


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize("seed", range(3))
def test_sums_are_consistent(dataflow: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    layers = [gemm(int(rng.integers(1, 80)), int(rng.integers(1, 40)), int(rng.integers(1, 40)),
                   f"l{i}", dataflow) for i in range(3)]
    a = arch(dataflow, kib=(0.25, 0.125, 0.5), ports=(4, 4, 4), double=bool(seed % 2),
             bw=float(rng.choice([2.0, 3.5, 8.0])), latency=int(rng.integers(0, 30)))
    results = simulate_memory(a, layers)
    stall = sum(r.cycles_stall for r in results)
    assert sum(sum(r.stall_by_cause.values()) for r in results) == stall
    assert all(v >= 0 for r in results for v in r.stall_by_cause.values())
    moved = 0.0
    for r in results:
        ops = r.dram_bytes_by_operand
        assert set(ops) == set(OPERAND_KEYS)
        assert ops["ifmap_read"] + ops["filter_read"] + ops["psum_read"] == r.dram["read_bytes"]
        assert ops["psum_write"] + ops["ofmap_write"] == r.dram["write_bytes"]
        avg, peak = r.dram_bandwidth["average"], r.dram_bandwidth["peak"]
        assert sum(avg[k] for k in OPERAND_KEYS) == pytest.approx(avg["total"])
        assert avg["total"] == pytest.approx(r.dram_bandwidth_utilization * a.dram
                                             .bandwidth_bytes_per_cycle)
        assert all(peak[k] >= avg[k] - 1e-9 for k in avg)
        assert peak["total"] <= a.dram.bandwidth_bytes_per_cycle + 1e-9
        moved += avg["total"] * r.cycles_total
    # Every byte moves within the run's cycles, so the layers' bus averages account for all.
    assert moved == pytest.approx(sum(r.dram["read_bytes"] + r.dram["write_bytes"]
                                      for r in results))


def test_spilled_partial_sums_by_operand() -> None:
    # ws X[256, 8]·W[8, 8], 4-byte bursts at 4 B/cycle, ifmap 1 KiB and ofmap 2 KiB: the partial
    # sums of K-fold 0 (256 × 4 × 4 B per N tile) go to DRAM and come back for K-fold 1, so each
    # way moves 2 × 4096 B; X is re-read per N tile (2 × 2048 B); outputs 256 × 8 × 4 B.
    [r] = simulate_memory(arch(kib=(1, 64, 2), burst=4, bw=4.0), [gemm(256, 8, 8)])
    assert r.dram_bytes_by_operand == {"ifmap_read": 4096, "filter_read": 64, "psum_read": 8192,
                                       "psum_write": 8192, "ofmap_write": 8192}
    assert r.stall_by_cause["psum"] > 0
    assert sum(r.stall_by_cause.values()) == r.cycles_stall
