"""Energy accounting: toggles, enabled register bits, memory accesses and time -> pJ
(docs/energy.md).

Per layer (``docs/energy.md`` has the full model and its assumptions):

- **toggle classes** (``x_reg``, ``w_reg``, ``psum_reg``/``acc_reg``, ``mult``, ``adder``, and any
  other class a PE kind reports, e.g. ``rescale``, ``rowsum``): toggles × the calibrated pJ per
  toggle of the unit the technology table prices that class with (:mod:`accelsim.energy.calibrate`);
- **clock**: ``clock_pj_per_bit_cycle`` × enabled register bit-cycles. With ``idle: hold`` registers
  are clock-gated and a bit is clocked only when its register loads valid data (moving registers
  once per MAC, stationary ones on their preload shifts, ``acc_reg`` once per MAC); with
  ``idle: zero`` moving registers are not gated and are clocked in every compute cycle of every PE;
  nothing is clocked in memory stall cycles. The window per fold cycle is the dataflow's
  (``Dataflow.enabled_bits``), with the acc_bits registers the PE kind declares
  (``Structure.acc_registers``). Exact for ``mac`` (checked against the reference model); kinds
  with stretched steps (``pann``, ``bitserial``) add their ``GemmResult.clock_bits_extra`` (the
  accumulator's reload in each extra cycle of a step);
- **sram** / **dram** (only when a memory result measured them; with ideal memory the keys are
  absent): per word read/written, the table's 64-bit access energy interpolated at the capacity of
  one bank of one half of the double buffer and scaled to the buffer's word width; DRAM per byte
  plus per row activation;
- **leakage**: (array + SRAM leakage power) × layer time (total cycles at ``clock_mhz``); the
  array's parts are those its PE kind declares (``PeKind.structure``).
"""

from __future__ import annotations

import collections
import functools
from typing import Any

import numpy as np

from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.dataflows.mapping import Mapping, fixed_mapping, runs
from accelsim.energy.calibrate import Calibration, calibration
from accelsim.energy.tech import Tech, load_tech
from accelsim.errors import ConfigError
from accelsim.pe import REGISTRY as PE_KINDS
from accelsim.pe.base import Parts, Structure
from accelsim.sim.output import extra_classes, unit_parts
from accelsim.types import LayerSim

#: Buffers of ``arch.buffers`` in report order.
BUFFERS = ("ifmap", "filter", "ofmap")


def class_toggle_pj(arch: Any, classes: Any) -> dict[str, tuple[float, str]]:
    """pJ per toggle (and its calibration status) of each toggle class in ``classes`` on ``arch``.

    Raises ConfigError naming the technology file if it does not price a class.
    """
    cal = calibration(arch.energy.technology)
    out = {}
    for cls in classes:
        if cls not in cal.tech.toggle_classes:
            raise ConfigError(cal.tech.file, f"toggle_classes.{cls}",
                              f"an entry pricing toggle class {cls!r} (unit and width)")
        out[cls] = cal.class_pj(cls, arch.pe.x_bits, arch.pe.w_bits, arch.pe.acc_bits)
    return out


def energy_pj(arch: Any, layer_sim: LayerSim, memory: Any = None) -> dict[str, float]:
    """Energy of one simulated layer (pJ) by class: the toggle classes, ``clock``, ``sram`` and
    ``dram`` (only when ``memory`` is given), ``leakage`` and ``total``.

    ``arch`` is a loaded ``accelsim.config.Arch``; ``memory`` the layer's memory-system result
    (duck-typed: ``cycles_total``, ``sram`` {buffer: {"reads", "writes"}} in words, ``dram``
    {"read_bytes", "write_bytes", "activations", ...}) or None for ideal memory.
    """
    tech = load_tech(arch.energy.technology)
    result = layer_sim.result
    out: dict[str, float] = {}
    for cls, (pj, _) in class_toggle_pj(arch, result.toggles).items():
        out[cls] = int(result.toggles[cls]) * pj
    out["clock"] = tech.clock_pj_per_bit_cycle.value * enabled_bit_cycles(arch, layer_sim)
    cycles = result.cycles_compute
    if memory is not None:
        if arch.buffers is not None and memory.sram:
            out["sram"] = sram_pj(arch, tech, memory.sram)
        if memory.dram:
            out["dram"] = dram_pj(tech, memory.dram)
        cycles = int(memory.cycles_total)
    out["leakage"] = leakage_pw(arch)["total"] * cycles / (arch.clock_mhz * 1e6)  # pW·s = pJ
    out["total"] = sum(out.values())
    return out


# ------------------------------------------------------------------------------------ memory


def sram_word_pj(arch: Any, tech: Tech, buffer: str) -> dict[str, float]:
    """pJ per word ``read`` / ``write`` of one of ``arch.buffers`` (and the capacity ``bank_kib``
    the table was read at: one bank of one half of a double buffer, or of the whole buffer with
    ``buffers.double_buffered: false``)."""
    cfg = getattr(arch.buffers, buffer)
    halves = 2 if getattr(arch.buffers, "double_buffered", True) else 1
    bank_kib = cfg.size_kib / (halves * cfg.banks)
    read, _ = tech.sram_access_pj(bank_kib, cfg.word_bits)
    write, _ = tech.sram_access_pj(bank_kib, cfg.word_bits, write=True)
    return {"read": read, "write": write, "bank_kib": bank_kib}


def _sram_terms(arch: Any, tech: Tech, sram: dict[str, dict[str, int]]):
    """``(buffer, read pJ, write pJ)`` of the SRAM reads and writes (words) per buffer."""
    for buffer in BUFFERS:
        counts = sram.get(buffer)
        if counts:
            word = sram_word_pj(arch, tech, buffer)
            yield (buffer, int(counts.get("reads", 0)) * word["read"],
                   int(counts.get("writes", 0)) * word["write"])


def sram_pj(arch: Any, tech: Tech, sram: dict[str, dict[str, int]]) -> float:
    """Energy (pJ) of the SRAM reads and writes (words) of all buffers."""
    total = 0.0
    for _, read, write in _sram_terms(arch, tech, sram):
        total += read
        total += write
    return total


def sram_buffer_pj(arch: Any, memory: Any) -> dict[str, float]:
    """Energy (pJ) of each buffer's reads and writes in a layer's memory result (the parts of
    ``energy_pj``'s ``sram``); empty without ``buffers`` or a memory result."""
    if memory is None or arch.buffers is None or not memory.sram:
        return {}
    tech = load_tech(arch.energy.technology)
    return {b: read + write for b, read, write in _sram_terms(arch, tech, memory.sram)}


def dram_pj(tech: Tech, dram: dict[str, int]) -> float:
    """Energy (pJ) of the DRAM traffic: bytes read + written, plus row activations."""
    moved = int(dram.get("read_bytes", 0)) + int(dram.get("write_bytes", 0))
    return (moved * tech.dram_pj_per_byte.value
            + int(dram.get("activations", 0)) * tech.dram_pj_per_activation.value)


# ----------------------------------------------------------------------------------- leakage


def pe_leakage_pw(tech: Tech, x_bits: int, w_bits: int, acc_bits: int) -> float:
    """Leakage (pW) of one ``mac`` PE: an x_bits×w_bits multiplier (per partial product), an
    acc_bits adder and its x, w and acc registers (per bit)."""
    lk = {k: v.value for k, v in tech.leakage.items()}
    return (lk["multiplier_pw_per_partial_product"] * x_bits * w_bits
            + lk["adder_pw_per_bit"] * acc_bits
            + lk["register_pw_per_bit"] * (x_bits + w_bits + acc_bits))


def structure(arch: Any) -> Structure:
    """What the arch's array is built of, as its PE kind declares it (``PeKind.structure``)."""
    kind = PE_KINDS[arch.pe.kind]
    df = DATAFLOWS[arch.array.dataflow]
    return kind.structure(arch.pe, df) if kind.structure is not None else Structure(Parts())


def _parts_pw(lk: dict[str, float], parts: Parts) -> float:
    """Leakage (pW) of ``parts``."""
    return (lk["multiplier_pw_per_partial_product"] * parts.partial_products
            + lk["adder_pw_per_bit"] * parts.adder_bits
            + lk["register_pw_per_bit"] * parts.register_bits)


def pe_leakage_of(arch: Any) -> float:
    """Leakage (pW) of one PE of ``arch`` from its :func:`structure`."""
    lk = {k: v.value for k, v in load_tech(arch.energy.technology).leakage.items()}
    return _parts_pw(lk, structure(arch).pe)


def leakage_pw(arch: Any) -> dict[str, float]:
    """Leakage power (pW) of the machine: ``array`` (its PEs and every unit its PE kind declares
    per column, per row or once, see :func:`structure`, plus the output units per column,
    ``accelsim.sim.output.unit_parts``), ``sram`` (all buffers, per KiB; 0
    without buffers), ``total``."""
    tech = load_tech(arch.energy.technology)
    lk = {k: v.value for k, v in tech.leakage.items()}
    st = structure(arch)
    R, C = arch.array.rows, arch.array.cols
    array = (R * C * _parts_pw(lk, st.pe) + C * _parts_pw(lk, st.column + unit_parts(arch))
             + R * _parts_pw(lk, st.row) + _parts_pw(lk, st.array))
    kib = sum(getattr(arch.buffers, b).size_kib for b in BUFFERS) if arch.buffers else 0.0
    sram = kib * lk["sram_pw_per_kib"]
    return {"array": array, "sram": sram, "total": array + sram}


# ------------------------------------------------------------------------------------- clock


def _fold_shapes(arch: Any, sim: LayerSim) -> dict[tuple[int, int], int]:
    """{(r_act, c_act): number of folds} of a layer."""
    df = DATAFLOWS[arch.array.dataflow]
    R, C = arch.array.rows, arch.array.cols
    rdim, cdim, _ = df.dims(sim.M, sim.K, sim.N)

    def sizes(dim: int, n: int) -> dict[int, int]:
        out = {n: dim // n} if dim // n else {}
        if dim % n:
            out[dim % n] = 1
        return out

    return {(ra, ca): sim.groups * nr * nc for ra, nr in sizes(rdim, R).items()
            for ca, nc in sizes(cdim, C).items()}


@functools.lru_cache(maxsize=256)
def fold_enabled_bits(dataflow: str, R: int, C: int, T: int, ra: int, ca: int, x_bits: int,
                      w_bits: int, acc_bits: int, idle_zero: bool) -> np.ndarray:
    """Enabled (clocked) register bits in each cycle of one fold window of an ``ra × ca`` active
    region (int64 [fold cycles], read-only): the dataflow's clock-enable window."""
    out = DATAFLOWS[dataflow].enabled_bits(R, C, T, ra, ca, x_bits, w_bits, acc_bits, idle_zero)
    out.setflags(write=False)
    return out


def _fold_args(arch: Any, sim: LayerSim) -> tuple[Any, ...]:
    df = DATAFLOWS[arch.array.dataflow]
    _, _, T = df.dims(sim.M, sim.K, sim.N)
    return (arch.array.dataflow, arch.array.rows, arch.array.cols, T)


def _widths(arch: Any) -> tuple[Any, ...]:
    acc = arch.pe.acc_bits * structure(arch).acc_registers
    return (arch.pe.x_bits, arch.pe.w_bits, acc, arch.array.idle == "zero")


def _run_shapes(arch: Any, sim: LayerSim) -> list[tuple[int, int, int]]:
    """(T of the run, r_act, c_act) of every run of a layer in execution order (one per fold
    under the fixed mapping; ``accelsim.dataflows.mapping.runs``)."""
    df = DATAFLOWS[arch.array.dataflow]
    mapping = (fixed_mapping(df, sim.M, sim.K, sim.N) if sim.mapping is None
               else Mapping(tuple(sim.mapping[0]), int(sim.mapping[1])))
    return [(t1 - t0, f.r1 - f.r0, f.c1 - f.c0) for f, t0, t1 in
            runs(df, mapping, sim.groups, sim.M, sim.K, sim.N, arch.array.rows, arch.array.cols)]


def enabled_bit_cycles(arch: Any, sim: LayerSim) -> int:
    """Enabled register bit-cycles of a layer (sum over its runs; see the module docstring)."""
    head = _fold_args(arch, sim)
    if sim.mapping is None:
        return sim.result.clock_bits_extra + int(sum(
            n * int(fold_enabled_bits(*head, ra, ca, *_widths(arch)).sum())
            for (ra, ca), n in _fold_shapes(arch, sim).items()))
    shapes = collections.Counter(_run_shapes(arch, sim))
    return sim.result.clock_bits_extra + int(sum(
        n * int(fold_enabled_bits(*head[:3], t, ra, ca, *_widths(arch)).sum())
        for (t, ra, ca), n in shapes.items()))


def enabled_bits_per_cycle(arch: Any, sim: LayerSim) -> np.ndarray:
    """Enabled register bits in each compute cycle of a layer (int64 [cycles.compute])."""
    head = _fold_args(arch, sim)[:3]
    parts = [fold_enabled_bits(*head, t, ra, ca, *_widths(arch))
             for t, ra, ca in _run_shapes(arch, sim)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


# ------------------------------------------------------------------------------------- trace


def power_trace_pj(arch: Any, sim: LayerSim) -> tuple[tuple[str, ...], np.ndarray]:
    """Energy (pJ) in each compute cycle of a layer by column: the toggle classes, ``clock``,
    ``leakage`` (array + SRAM) and ``total`` (float64 [cycles.compute, columns]).

    Memory access energy is not in the per-cycle trace (it is in the layer totals). Needs the
    layer's per-cycle toggle trace (simulated with ``trace=True``).
    """
    r = sim.result
    if r.trace is None:
        raise ValueError(f"layer {sim.name!r} was simulated without a trace")
    classes = tuple(r.toggles)
    prices = class_toggle_pj(arch, classes)
    tech = load_tech(arch.energy.technology)
    toggles = np.asarray(r.trace, dtype=np.float64)[:, : len(classes)]
    cols = [toggles * np.array([prices[c][0] for c in classes])]
    clock = tech.clock_pj_per_bit_cycle.value * enabled_bits_per_cycle(arch, sim)
    if len(clock) != len(toggles):  # a stretched schedule (pann): spread the clock evenly
        total = clock.sum() + tech.clock_pj_per_bit_cycle.value * r.clock_bits_extra
        clock = np.full(len(toggles), total / max(1, len(toggles)))
    cols.append(clock[:, None])
    leak = leakage_pw(arch)["total"] / (arch.clock_mhz * 1e6)
    cols.append(np.full((len(toggles), 1), leak))
    table = np.hstack(cols)
    table = np.hstack([table, table.sum(axis=1, keepdims=True)])
    return (*classes, "clock", "leakage", "total"), table


def kind_classes(arch: Any) -> tuple[str, ...]:
    """The toggle classes the arch's PE kind reports (``PeKind.classes``)."""
    return PE_KINDS[arch.pe.kind].classes(arch.array.dataflow)


def describe(arch: Any) -> dict[str, Any]:
    """What prices this arch's energy: per-class pJ/toggle (with status and width), clock, leakage
    per PE and per machine part, SRAM pJ per word per buffer (for ``inspect``)."""
    cal: Calibration = calibration(arch.energy.technology)
    tech = cal.tech
    classes = [c for c in kind_classes(arch) + extra_classes(arch) if c in tech.toggle_classes]
    priced = class_toggle_pj(arch, classes)
    pe = arch.pe
    return {
        "tech": tech,
        "classes": {c: (*priced[c], cal.class_width(c, pe.x_bits, pe.w_bits, pe.acc_bits))
                    for c in classes},
        "pe_leakage_pw": pe_leakage_of(arch),
        "leakage_pw": leakage_pw(arch),
        "sram": ({b: sram_word_pj(arch, tech, b) for b in BUFFERS} if arch.buffers else {}),
    }
