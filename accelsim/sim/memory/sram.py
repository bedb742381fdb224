"""On-chip SRAM buffers as the memory system sees them: tile-slot capacity, ports and counters.

Transaction level: a buffer is a capacity per tile slot (half the buffer when double-buffered, the
whole buffer otherwise) and read/write port widths; accesses are counted in bits per buffer and
turned into words of the buffer's ``word_bits`` at the end of a layer. No SimPy here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from accelsim.config.schema import Arch, BufferConfig

#: The three operand buffers, in report order.
BUFFERS = ("ifmap", "filter", "ofmap")


@dataclass(frozen=True)
class BufferSlot:
    """One buffer's limits for the tiling plan and the port-time check.

    ``slot_bytes`` is what one tile may occupy (bytes; ``inf`` for an ideal buffer);
    ``word_bits`` the access width (bits); ``read_words_per_cycle`` / ``write_words_per_cycle`` the
    port widths (words/cycle; ``inf`` when ideal).
    """

    name: str
    slot_bytes: float
    word_bits: int
    read_words_per_cycle: float
    write_words_per_cycle: float


def buffer_slots(arch: Arch) -> dict[str, BufferSlot]:
    """Slots of ``arch``'s three buffers; ideal (unbounded, unlimited ports) without ``buffers:``."""
    buffers = arch.buffers
    if buffers is None:
        return {n: BufferSlot(n, math.inf, 8, math.inf, math.inf) for n in BUFFERS}
    halves = 2 if buffers.double_buffered else 1

    def slot(name: str, cfg: BufferConfig) -> BufferSlot:
        port = max(arch.array.rows, arch.array.cols)  # the loader's default, if unresolved
        return BufferSlot(
            name,
            cfg.size_kib * 1024 / halves,
            cfg.word_bits,
            float(cfg.read_words_per_cycle or port),
            float(cfg.write_words_per_cycle or port),
        )

    return {n: slot(n, getattr(buffers, n)) for n in BUFFERS}


class SramCounters:
    """Bits read from and written to each buffer (array side, DMA fills and drains)."""

    __slots__ = ("read_bits", "write_bits")

    def __init__(self) -> None:
        self.read_bits = dict.fromkeys(BUFFERS, 0.0)
        self.write_bits = dict.fromkeys(BUFFERS, 0.0)

    def report(self, slots: dict[str, BufferSlot]) -> dict[str, dict[str, int]]:
        """``{buffer: {"reads", "writes", "read_bytes", "write_bytes"}}``; words of the buffer's
        ``word_bits`` (partial words round up), bytes rounded up."""
        out = {}
        for name in BUFFERS:
            wb = slots[name].word_bits
            rb, wrb = self.read_bits[name], self.write_bits[name]
            out[name] = {
                "reads": _ceil(rb / wb),
                "writes": _ceil(wrb / wb),
                "read_bytes": _ceil(rb / 8),
                "write_bytes": _ceil(wrb / 8),
            }
        return out


def _ceil(value: float) -> int:
    """Ceiling that ignores float noise below 1e-9."""
    return int(math.ceil(value - 1e-9))
