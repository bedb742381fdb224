"""Packed storage of operands in DRAM and SRAM (docs/memory.md §1, "Packing").

One rule, used wherever the memory system turns elements into bytes or words: an element of
``bits`` < 8 never straddles a byte, so a byte holds ``8 // bits`` of them (two int4, four int2,
eight int1; int3 packs two per byte, int5..int7 one), in a flat little-endian stream (element
``i`` of a byte sits in bits ``[i·c, (i + 1)·c)``, ``c = 8 / (8 // bits)``, the *container*
width). Elements of 8 bits and more take whole bytes, ``ceil(bits / 8)`` each, as before. The
DMA moves these bytes unchanged, so a buffer word of ``word_bits`` holds ``word_bits / c``
elements and SRAM words follow the same stream.
"""

from __future__ import annotations


def container_bits(bits: int) -> int:
    """Bits one element of ``bits`` occupies in DRAM and SRAM (1, 2, 4, then multiples of 8)."""
    if bits < 1:
        raise ValueError(f"an element needs at least one bit, got {bits}")
    if bits >= 8:
        return 8 * -(-bits // 8)
    return 8 // (8 // bits)


def elem_bytes(bits: int) -> float:
    """Bytes per element of ``bits`` under the packing rule (a fraction below 8 bits)."""
    return container_bits(bits) / 8


def packed_bytes(n: int, bits: int) -> int:
    """Bytes that ``n`` consecutive elements of ``bits`` occupy (the last byte counted whole)."""
    return -(-int(n) * container_bits(bits) // 8)

