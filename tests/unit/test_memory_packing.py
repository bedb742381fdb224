"""Packed sub-byte storage (docs/memory.md §1, "Packing"): hand-computed bytes, bursts and SRAM
words of int8, int4 and int2 operands on the same layer.

The layer is a gemm X[64, 8]·W[8, 8] on a 4×4 ``ws`` array with 16-byte bursts and int32 outputs;
every figure below is derived by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.config.schema import (
    Arch, ArrayConfig, BufferConfig, BuffersConfig, DramConfig, MappingConfig, PeConfig,
)
from accelsim.sim.memory import layer_geometry, plan_memory, simulate_memory
from accelsim.sim.memory.packing import container_bits, elem_bytes, packed_bytes
from accelsim.workload.npz import Layer


def arch(bits: int, kib=(64, 64, 64), dataflow: str = "ws", word_bits: int = 8) -> Arch:
    """A 4×4 array with ``bits``-wide x and w, int32 partial sums, 16-byte bursts at 16 B/cycle."""
    def buf(k: float, wb: int) -> BufferConfig:
        return BufferConfig(size_kib=k, word_bits=wb, read_words_per_cycle=64,
                            write_words_per_cycle=64)
    return Arch(
        name="t", array=ArrayConfig(rows=4, cols=4, dataflow=dataflow),
        pe=PeConfig(kind="mac", x_bits=bits, w_bits=bits, acc_bits=32),
        buffers=BuffersConfig(ifmap=buf(kib[0], word_bits), filter=buf(kib[1], word_bits),
                              ofmap=buf(kib[2], 32)),
        dram=DramConfig(bandwidth_bytes_per_cycle=16.0, latency_cycles=10, burst_bytes=16),
        mapping=MappingConfig(policy="fixed"),  # the bytes below are derived for the fixed order
    )


def gemm_layer(bits: int, M: int = 64, K: int = 8, N: int = 8) -> Layer:
    rng = np.random.default_rng(bits)
    hi = 1 << (bits - 1)
    x = rng.integers(0, 2 * hi, (M, K)).astype(np.int64)
    w = rng.integers(-hi, hi, (K, N)).astype(np.int64)
    return Layer("g", "gemm", x, w, None, bits, bits, False, True)


def run(bits: int, **kw):
    a = arch(bits, **kw)
    g = layer_geometry(a, gemm_layer(bits))
    [r] = simulate_memory(a, [g])
    return a, g, r


@pytest.mark.parametrize("bits, container", [(1, 1), (2, 2), (3, 4), (4, 4), (5, 8), (7, 8),
                                             (8, 8), (9, 16), (12, 16), (16, 16), (32, 32)])
def test_container_widths(bits: int, container: int) -> None:
    assert container_bits(bits) == container
    assert elem_bytes(bits) == container / 8


def test_packed_bytes_round_the_last_byte_up() -> None:
    assert packed_bytes(5, 4) == 3 and packed_bytes(6, 4) == 3
    assert packed_bytes(5, 2) == 2 and packed_bytes(9, 3) == 5 and packed_bytes(3, 8) == 3


def test_geometry_follows_the_packing() -> None:
    sizes = {b: layer_geometry(arch(b), gemm_layer(b)) for b in (8, 4, 2)}
    # X 64×8 = 512 elements, W 8×8 = 64: int8 512 + 64 B, int4 256 + 32, int2 128 + 16.
    assert [(g.x_bytes_unique, g.w_bytes) for g in sizes.values()] == [
        (512, 64), (256, 32), (128, 16)]
    assert [(g.x_elem_bytes, g.w_elem_bytes) for g in sizes.values()] == [
        (1, 1), (0.5, 0.5), (0.25, 0.25)]
    assert {g.y_bytes for g in sizes.values()} == {64 * 8 * 4}  # int32 outputs: not packed


def test_layer_resident_operands_half_and_quarter_of_int8() -> None:
    # 64 KiB buffers: X and W are read once. int8 512 + 64 B, int4 256 + 32 (16 + 2 bursts),
    # int2 128 + 16 (8 + 1 bursts); the int32 outputs 2048 B in every case.
    reads = {b: run(b)[2].dram for b in (8, 4, 2)}
    assert [reads[b]["read_bytes"] for b in (8, 4, 2)] == [576, 288, 144]
    assert {reads[b]["write_bytes"] for b in (8, 4, 2)} == {2048}
    # Bursts are consecutive in one DRAM row: one miss (the first burst), the rest hits.
    assert [reads[b]["row_hits"] + reads[b]["row_misses"] for b in (8, 4, 2)] == [
        36 + 128, 18 + 128, 9 + 128]


def test_fold_resident_ifmap_half_of_int8() -> None:
    # ifmap 0.25 KiB: two 128-byte slots, so X (int8 512 B, int4 256 B) is fold-resident and every
    # fold (2 N tiles × 2 K tiles) reads its strip X[:, k-tile]. int8: a 64×4 strip is 256 B, cut
    # into 2 chunks of 32 rows (128 B each); its 4-byte rows at an 8-byte stride touch every
    # 16-byte burst of X: 256 B per chunk, 512 per fold, 2048 for the 4 folds. int4: the strip
    # is 128 B and fits a slot (one chunk of 64 rows); its 2-byte rows at a 4-byte stride touch
    # every burst of the 256-byte X: 4 × 256 = 1024, exactly half. W (layer-resident) 64 vs 32.
    a8, _, r8 = run(8, kib=(0.25, 64, 64))
    a4, _, r4 = run(4, kib=(0.25, 64, 64))
    p8 = plan_memory(a8, [layer_geometry(a8, gemm_layer(8))])[0][0]
    p4 = plan_memory(a4, [layer_geometry(a4, gemm_layer(4))])[0][0]
    assert (p8.x_mode, p8.chunk, p4.x_mode, p4.chunk) == ("fold", 32, "fold", 64)
    assert r8.dram["read_bytes"] == 2048 + 64 and r4.dram["read_bytes"] == 1024 + 32


def test_sram_words_follow_the_packing() -> None:
    # 8-bit words: an int4 word holds two elements, an int2 word four. ifmap reads: every X value
    # the array takes in; each of the 4 folds streams its 64×4 strip X[:, k-tile]: 1024 element
    # reads. ifmap writes: the DMA fill of X, one word per byte (512, 256, 128). filter: 16
    # weights preloaded per fold (64 reads) and W filled once (64 B).
    sram = {b: run(b)[2].sram for b in (8, 4, 2)}
    assert [sram[b]["ifmap"]["reads"] for b in (8, 4, 2)] == [1024, 512, 256]
    assert [sram[b]["ifmap"]["writes"] for b in (8, 4, 2)] == [512, 256, 128]
    assert [sram[b]["filter"]["reads"] for b in (8, 4, 2)] == [64, 32, 16]
    assert [sram[b]["filter"]["writes"] for b in (8, 4, 2)] == [64, 32, 16]
    # 32-bit words: four int8, eight int4 or sixteen int2 per word.
    wide = {b: run(b, word_bits=32)[2].sram for b in (8, 4, 2)}
    assert [wide[b]["ifmap"]["reads"] for b in (8, 4, 2)] == [256, 128, 64]


def test_odd_element_counts_share_the_last_byte() -> None:
    # X[3, 5] int4: 15 elements in 8 bytes (the last byte half used); W[5, 3]: 15 in 8.
    a = arch(4)
    layer = Layer("g", "gemm", np.ones((3, 5), np.int64), np.ones((5, 3), np.int64), None, 4, 4,
                  False, True)
    g = layer_geometry(a, layer)
    assert (g.x_bytes_unique, g.w_bytes) == (8, 8)
