"""Named DRAM parts for ``dram: {preset: NAME}`` (docs/memory.md §3), every number with its source.

A preset gives ``dram:`` keys in physical units (``*_ns``, ``bandwidth_gb_per_s``, converted at
the arch's ``clock_mhz`` when the file is loaded) and unit-free ones (``burst_bytes``, ``banks``,
``row_bytes``). Keys the file gives itself win over the preset's. Each entry is
``key: (value, source)``; the same numbers, with the same sources, are in the shipped
``arch_configs/*-lpddr4.yaml`` and ``ws-32x32-int8-ddr4.yaml``.
"""

from __future__ import annotations

_LPDDR4_DATASHEET = "Micron 4Gb x32 LPDDR4 SDRAM MT53B128M32D1 datasheet (Rev. C 5/17)"
_DDR4_DATASHEET = "Micron 4Gb x4, x8, x16 DDR4 SDRAM datasheet (MT40A512M8), DDR4-2400 (-083E)"
_LATENCY = ("controller + PHY + on-chip interconnect, 60 ns: an assumption, not a datasheet "
            "value")

#: ``{name: {dram key: (value, source)}}``.
PRESETS: dict[str, dict[str, tuple[float, str]]] = {
    "lpddr4-3200": {
        "bandwidth_gb_per_s": (12.8, f"{_LPDDR4_DATASHEET}: 3200 MT/s x 32 bit = 12.8 GB/s "
                               "per die (its two x16 channels in lock step)"),
        "latency_ns": (60, _LATENCY),
        "burst_bytes": (64, f"{_LPDDR4_DATASHEET}: BL16 x 32 bit"),
        "banks": (8, f"{_LPDDR4_DATASHEET}: 8 banks per channel"),
        "row_bytes": (4096, "JEDEC JESD209-4 LPDDR4: 2 KiB page per x16 channel (1024 columns "
                      "x 16 bit); two channels in lock step"),
        "t_rcd_ns": (18.0, "JEDEC JESD209-4 LPDDR4: tRCD = max(18 ns, 4 tCK)"),
        "t_rp_ns": (18.0, "JEDEC JESD209-4 LPDDR4: tRPpb = max(18 ns, 4 tCK)"),
        "t_cl_ns": (17.5, f"{_LPDDR4_DATASHEET}: READ latency RL = 28 tCK (DBI off) x "
                    "0.625 ns"),
    },
    "ddr4-2400": {
        "bandwidth_gb_per_s": (19.2, "DDR4-2400 x64 channel: 2400 MT/s x 8 B = 19.2 GB/s"),
        "latency_ns": (60, _LATENCY),
        "burst_bytes": (64, f"{_DDR4_DATASHEET}: BL8 x 64 bit"),
        "banks": (16, f"{_DDR4_DATASHEET}: 16 banks (4 bank groups x 4)"),
        "row_bytes": (8192, f"{_DDR4_DATASHEET}: 1 KiB page per x8 device, 8 devices per rank"),
        "t_rcd_ns": (14.16, f"{_DDR4_DATASHEET}, speed bin 17-17-17: tRCD = 14.16 ns"),
        "t_rp_ns": (14.16, f"{_DDR4_DATASHEET}, speed bin 17-17-17: tRP = 14.16 ns"),
        "t_cl_ns": (14.16, f"{_DDR4_DATASHEET}, speed bin 17-17-17: CL 17 x 0.833 ns = "
                    "14.16 ns"),
    },
}
