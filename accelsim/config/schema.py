"""The architecture file's schema (docs/reference/arch.md): one frozen dataclass per YAML block.

Field names are the YAML keys and carry their unit. Each field's ``metadata`` holds what the generic
parser (``accelsim.config.load.parse_dataclass``) checks beyond the type:

- ``min`` / ``max``: inclusive bounds; ``gt``: exclusive lower bound. Every number has an upper
  bound, so no value can exhaust memory or overflow the simulator's 64-bit integers
  (``docs/limits.md``);
- ``choices``: the allowed values (a tuple, or a dict whose keys are allowed, read at parse time);
- ``expected``: replaces the generated "expected ..." text in error messages;
- ``yaml: False``: the field is not read from its own key (``PeConfig.params`` comes from
  ``pe.<kind>``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accelsim.config.dram_presets import PRESETS as DRAM_PRESETS
from accelsim.dataflows import NAMES as DATAFLOWS
from accelsim.pe import REGISTRY as PE_KINDS


@dataclass(frozen=True, kw_only=True)
class ArrayConfig:
    """``array:`` — the systolic array's shape and dataflow."""

    rows: int = field(metadata={"min": 1, "max": 1024})
    """PE rows (count, 1..1024: four times the largest production systolic array, the TPU v1's
    256; the kernels hold rows × cols state per register). Required."""
    cols: int = field(metadata={"min": 1, "max": 1024})
    """PE columns (count, 1..1024, as ``rows``). Required."""
    dataflow: str = field(metadata={"choices": DATAFLOWS})
    """Dataflow, one of ``os | ws | is`` (docs/datapath.md); the PE kind must support it.
    Required."""
    idle: str = field(default="hold", metadata={"choices": ("hold", "zero")})
    """What a moving register loads in a cycle without valid data: ``hold`` (keeps its value,
    clock-gated) or ``zero``. Default ``hold``."""


@dataclass(frozen=True, kw_only=True)
class PeConfig:
    """``pe:`` — the processing element: kind, operand and accumulator widths."""

    kind: str = field(metadata={"choices": PE_KINDS})
    """PE kind, a name in ``accelsim.pe.REGISTRY``: ``mac`` | ``pann`` | ``lsqplus`` |
    ``bitserial``. Required."""
    x_bits: int = field(metadata={"min": 2, "max": 16})
    """Activation operand width (bits, 2..16). Required."""
    w_bits: int = field(metadata={"min": 2, "max": 16})
    """Weight operand width (bits, 2..16). Required."""
    acc_bits: int = field(metadata={"min": 4, "max": 48})
    """Accumulator / partial-sum width (bits, x_bits + w_bits .. 48). Required."""
    overflow: str = field(default="wrap", metadata={"choices": ("wrap", "saturate")})
    """Accumulator overflow: ``wrap`` (two's complement) or ``saturate``. Default ``wrap``."""
    params: object | None = field(default=None, metadata={"yaml": False})
    """The kind's ``pe.<kind>:`` block parsed into ``REGISTRY[kind].params`` (its defaults filled
    when the block is absent), or None for a kind without parameters."""


@dataclass(frozen=True, kw_only=True)
class BufferConfig:
    """One on-chip SRAM buffer (``buffers.ifmap`` / ``filter`` / ``ofmap``), double-buffered."""

    size_kib: float = field(metadata={"gt": 0, "max": 1 << 20})
    """Total capacity (KiB, > 0 and <= 2^20, i.e. 1 GiB), both halves of the double buffer
    together. Required."""
    word_bits: int = field(metadata={"min": 1, "max": 4096})
    """Width of one word (bits, 1..4096). Required."""
    banks: int = field(default=1, metadata={"min": 1, "max": 1024})
    """Number of banks (count, 1..1024). Default 1."""
    read_words_per_cycle: int | None = field(default=None, metadata={"min": 1, "max": 1 << 16})
    """Read port width (words/cycle, 1..65536). Default (None in the file): max(array.rows,
    array.cols), one word per edge PE per cycle, so the port never limits compute; the loaded
    ``Arch`` always holds the resolved number."""
    write_words_per_cycle: int | None = field(default=None, metadata={"min": 1, "max": 1 << 16})
    """Write port width (words/cycle, 1..65536). Default: max(array.rows, array.cols), resolved at
    load time like ``read_words_per_cycle``."""


@dataclass(frozen=True, kw_only=True)
class BuffersConfig:
    """``buffers:`` — the three operand buffers, all required when the block is given."""

    ifmap: BufferConfig
    """Input-activation buffer. Required."""
    filter: BufferConfig
    """Weight buffer. Required."""
    ofmap: BufferConfig
    """Output / partial-sum buffer. Required."""
    double_buffered: bool = True
    """Whether every buffer is split into two halves, one feeding the array while the other is
    filled from (or drained to) DRAM (true), or used whole, so a tile's transfer and the compute
    that uses it never overlap (false). Tiles must fit one half (true) or the whole buffer
    (false); see docs/memory.md. Default true."""


@dataclass(frozen=True, kw_only=True)
class DramConfig:
    """``dram:`` — off-chip memory, in cycles of ``clock_mhz``; a preset and keys in ns and GB/s
    may stand in for these keys (``DramUnits``)."""

    bandwidth_bytes_per_cycle: float = field(metadata={"gt": 0, "max": 1 << 16})
    """Sustained bandwidth (bytes/cycle, > 0 and <= 65536). Required."""
    latency_cycles: int = field(metadata={"min": 0, "max": 1_000_000})
    """Access latency (cycles, 0..10^6). Required."""
    burst_bytes: int = field(metadata={"min": 1, "max": 1 << 16})
    """Transfer granularity (bytes, 1..65536); transfers round up to whole bursts. Required."""
    banks: int = field(default=8, metadata={"min": 1, "max": 1024})
    """Banks, each with one row buffer (count, 1..1024). Default 8 (an LPDDR4 channel)."""
    row_bytes: int = field(default=2048, metadata={"min": 1, "max": 1 << 20})
    """Row (page) size of one bank (bytes, 1..2^20, a multiple of ``burst_bytes``). Default 2048
    (an LPDDR4 x16 channel: 1024 columns × 16 bits)."""
    t_rcd_cycles: float = field(default=0.0, metadata={"min": 0, "max": 1_000_000})
    """ACTIVATE-to-READ/WRITE delay paid by a row miss (cycles of ``clock_mhz``, 0..10^6).
    Default 0: the row model counts hits, misses and activations for energy, adding no time."""
    t_rp_cycles: float = field(default=0.0, metadata={"min": 0, "max": 1_000_000})
    """PRECHARGE time paid by a row miss that must first close another open row (cycles,
    0..10^6). Default 0."""
    t_cl_cycles: float = field(default=0.0, metadata={"min": 0, "max": 1_000_000})
    """CAS (read) latency, added to ``latency_cycles`` for every read transfer (cycles,
    0..10^6). Default 0."""
    page_policy: str = field(default="open", metadata={"choices": ("open", "closed")})
    """Row-buffer policy: ``open`` (a row stays open until another row of its bank is needed:
    hits are free, a conflict pays t_rp + t_rcd) or ``closed`` (auto-precharge after every
    visit: each row visit is an activation paying t_rcd, never t_rp). Default ``open``."""
    address_mapping: str = field(
        default="row_bank_col", metadata={"choices": ("row_bank_col", "row_bank_col_xor")}
    )
    """How a byte address splits into row, bank and column, most significant first:
    ``row_bank_col`` (consecutive rows of the address space go to consecutive banks) or
    ``row_bank_col_xor`` (the same, with the bank index XORed with the row's low bits,
    permutation-based interleaving). Default ``row_bank_col``; see docs/memory.md."""


@dataclass(frozen=True, kw_only=True)
class DramUnits:
    """More ``dram:`` keys: a named part and physical units, converted when the file is loaded.

    Each ``*_ns`` / ``*_gb_per_s`` key is converted to the cycle key it names at ``clock_mhz``,
    exactly from the decimal value as written, rounded once (``latency_cycles``
    up to a whole cycle); the loaded ``Arch`` holds only the cycle keys. Precedence: a key given
    in the file (in either unit) over the preset. Giving one quantity in both units is an error.
    """

    preset: str | None = field(default=None, metadata={"choices": DRAM_PRESETS})
    """A named DRAM part (``lpddr4-3200`` | ``ddr4-2400``) that fills every timing, bandwidth
    and geometry key the block leaves out; each value and its source is listed below. Default
    none."""
    bandwidth_gb_per_s: float | None = field(
        default=None, metadata={"gt": 0, "cycles": "bandwidth_bytes_per_cycle"}
    )
    """Sustained bandwidth (GB/s = 10^9 bytes/s, > 0), instead of
    ``bandwidth_bytes_per_cycle`` = GB/s × 1000 / clock_mhz."""
    latency_ns: float | None = field(default=None, metadata={"min": 0, "cycles": "latency_cycles"})
    """Read latency (ns, >= 0), instead of ``latency_cycles`` = ceil(ns × clock_mhz / 1000)."""
    t_rcd_ns: float | None = field(default=None, metadata={"min": 0, "cycles": "t_rcd_cycles"})
    """ACTIVATE-to-READ/WRITE delay (ns, >= 0), instead of ``t_rcd_cycles`` = ns × clock_mhz /
    1000."""
    t_rp_ns: float | None = field(default=None, metadata={"min": 0, "cycles": "t_rp_cycles"})
    """PRECHARGE time (ns, >= 0), instead of ``t_rp_cycles`` = ns × clock_mhz / 1000."""
    t_cl_ns: float | None = field(default=None, metadata={"min": 0, "cycles": "t_cl_cycles"})
    """CAS (read) latency (ns, >= 0), instead of ``t_cl_cycles`` = ns × clock_mhz / 1000."""


@dataclass(frozen=True, kw_only=True)
class LayerMappingConfig:
    """``mapping.layers.<layer name>:`` — the mapping one layer runs, whatever the policy."""

    order: str = field(metadata={"expected": "a loop order: M, K and N joined by '>', "
                                             "outermost first (e.g. N>K>M)"})
    """Loop order, outermost first: the GEMM dimensions M, K, N joined by ``>`` (e.g. ``N>K>M``),
    legal for the dataflow (os: K last); docs/mapping.md. Required."""
    chunk: int | None = field(default=None, metadata={"min": 1, "max": 1 << 40})
    """Stream elements per step (1..2^40, at most what the buffers allow for the layer). Default:
    the largest chunk that keeps partial sums on chip under this order, else the largest the
    buffers allow."""


@dataclass(frozen=True)
class LayerMappings:
    """``mapping.layers:`` — per-layer overrides, keyed by the workload's layer names."""

    by_name: tuple[tuple[str, LayerMappingConfig], ...] = field(default=(),
                                                              metadata={"yaml": False})
    """(layer name, override) pairs in file order."""


@dataclass(frozen=True, kw_only=True)
class MappingConfig:
    """``mapping:`` — how each layer's fold loops are ordered and its stream chunked
    (docs/mapping.md)."""

    policy: str = field(default="auto", metadata={"choices": ("auto", "fixed")})
    """``auto``: per layer, every legal mapping (loop order and chunk size) is planned and the
    one with the least energy (then fewest cycles) runs; ``fixed``: SCALE-Sim's order (column
    tiles, row tiles, stream) with the largest chunk the buffers allow. Without ``buffers:`` every
    layer runs the fixed mapping. Default ``auto``."""
    layers: LayerMappings | None = None
    """Per-layer overrides: ``{<layer name>: {order, chunk}}``, each run whatever the policy.
    Default: none."""


@dataclass(frozen=True, kw_only=True)
class EnergyConfig:
    """``energy:`` — where per-toggle and memory energies come from."""

    technology: str = "45nm"
    """A built-in technology table name (``45nm`` or the stem of a ``accelsim/energy/tech/*.yaml``)
    or a path to a technology YAML file (docs/energy.md), relative paths resolving against the arch
    file's folder; the loaded ``Arch`` holds the name, or the file's absolute path. Default
    ``45nm``."""


@dataclass(frozen=True, kw_only=True)
class OutputConfig:
    """``output:`` — the on-chip output path: what happens to a finished output element between
    the ofmap buffer and DRAM (docs/datapath.md §7)."""

    requantize: str = field(default="none", metadata={"choices": ("none", "shift")})
    """``none``: outputs leave the chip as raw accumulator values (``pe.acc_bits`` wide;
    ``lsqplus`` layers at their ``y_bits``, already requantized by the rescale unit). ``shift``: a
    per-column output unit rounds, shifts, clamps (and optionally rectifies) every output of an
    ``int`` or ``pann`` layer to ``bits`` before it leaves; ``lsqplus`` layers bypass it. Default
    ``none``."""
    shift_bits: int = field(default=0, metadata={"min": 0, "max": 47})
    """Arithmetic right shift of the unit (bits, 0..pe.acc_bits - 1), rounding to nearest with
    ties away from zero (gemmlowp's RoundingDivideByPOT, as the exporter's host stage). Default
    0."""
    bits: int = field(default=8, metadata={"min": 2, "max": 16})
    """Width of an output element leaving the chip after the unit (bits, 2..16): the clamp range
    and the DRAM bytes per output. Default 8."""
    signed: bool = True
    """Clamp to the two's-complement (true) or unsigned (false) range of ``bits``. Default
    true."""
    relu: bool = False
    """Also clamp below at 0 (a ReLU fused into the clamp). Default false."""


@dataclass(frozen=True, kw_only=True)
class Arch:
    """A whole architecture file, with every default filled in by ``load_arch``."""

    version: int = field(
        default=1, metadata={"choices": (1,), "expected": "1 (only version 1 is supported)"}
    )
    """Schema version of the file; only 1 is supported. Default 1."""
    name: str
    """Architecture name, used in reports. Required."""
    clock_mhz: float = field(default=500.0, metadata={"gt": 0, "max": 100_000})
    """Clock frequency (MHz, > 0 and <= 10^5); converts cycles to time for leakage and reports.
    Default 500."""
    array: ArrayConfig
    """The systolic array. Required."""
    pe: PeConfig
    """The processing element. Required."""
    buffers: BuffersConfig | None = None
    """On-chip SRAM buffers; None (absent): ideal on-chip memory (unbounded, no stalls)."""
    dram: DramConfig | None = None
    """Off-chip DRAM; None (absent): ideal off-chip memory (no bandwidth or latency limit)."""
    energy: EnergyConfig = EnergyConfig()
    """Energy model. Default ``technology: 45nm``."""
    mapping: MappingConfig = MappingConfig()
    """Loop order and chunking per layer. Default ``policy: auto``."""
    output: OutputConfig | None = None
    """On-chip output path; None (absent): raw accumulator outputs leave the chip (as
    ``requantize: none``)."""
