"""The energy model (docs/energy.md): technology tables, the calibration of per-toggle energies, the
accounting of toggles, clock, memory and leakage, and the data-dependence it exists for.

Every expected figure is derived here — from the table, from probability, or from an independent
computation — never pasted from a run.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

import accelsim
from accelsim.energy import (
    calibrate,
    calibration,
    class_toggle_pj,
    enabled_bit_cycles,
    energy_pj,
    leakage_pw,
    load_tech,
    power_trace_pj,
)
from accelsim.energy.account import enabled_bits_per_cycle, pe_leakage_pw
from accelsim.energy.calibrate import adder_nodes, mean_toggles
from accelsim.energy.tech import RefPoint, parse_tech, power_law
from accelsim.errors import ConfigError
from accelsim.kernels.bits import mult_toggles_direct
from accelsim.kernels.bits import ripple_add
from accelsim.sim.array import simulate_gemm
from accelsim.sim.types import ArraySpec, DenseGemm, GemmResult, LayerSim
from tests.reference import array_model
from tests.reference.array_model import reference_simulate_gemm

TECH_FILE = Path(accelsim.__file__).parent / "energy" / "tech" / "45nm.yaml"
# Horowitz ISSCC 2014, 45 nm: the figures the default table must carry (SPEC §5.6).
HOROWITZ = {("multiply", 8): 0.2, ("multiply", 32): 3.1, ("add", 8): 0.03, ("add", 32): 0.1}


def arch_ns(dataflow: str = "ws", rows: int = 4, cols: int = 4, x_bits: int = 8, w_bits: int = 8,
            acc_bits: int = 32, idle: str = "hold", technology: str = "45nm",
            buffers: object = None, clock_mhz: float = 500.0) -> SimpleNamespace:
    """The parts of an ``accelsim.config.Arch`` the energy model reads."""
    return SimpleNamespace(
        clock_mhz=clock_mhz,
        array=SimpleNamespace(rows=rows, cols=cols, dataflow=dataflow, idle=idle),
        pe=SimpleNamespace(kind="mac", x_bits=x_bits, w_bits=w_bits, acc_bits=acc_bits),
        buffers=buffers, dram=None, energy=SimpleNamespace(technology=technology),
    )


def spec_of(arch: SimpleNamespace, x_signed: bool, w_signed: bool) -> ArraySpec:
    return ArraySpec(arch.array.rows, arch.array.cols, arch.array.dataflow,
                     arch.array.idle == "zero", arch.pe.x_bits, arch.pe.w_bits, arch.pe.acc_bits,
                     False, x_signed, w_signed)


def simulate(arch: SimpleNamespace, x: np.ndarray, w: np.ndarray, x_signed: bool = False,
             w_signed: bool = False, trace: bool = False) -> LayerSim:
    """Simulate the gemm ``x @ w`` on ``arch`` and wrap it as a LayerSim."""
    result = simulate_gemm(DenseGemm(x[None], w[None]), spec_of(arch, x_signed, w_signed),
                           trace=trace)
    M, K = x.shape
    return LayerSim("g", "gemm", 1, M, K, w.shape[1], result, result.y[0], result.y[0],
                    "numpy-int64", "exact")


def load_doc() -> dict:
    return yaml.safe_load(TECH_FILE.read_text())


def tech_file(tmp_path: Path, doc: dict, name: str = "tech.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


# ------------------------------------------------------------------------------ the table


def test_default_table_carries_the_cited_figures_with_sources() -> None:
    tech = load_tech("45nm")
    for (op, bits), pj in HOROWITZ.items():
        point = next(p for p in tech.operations[op] if p.at == bits)
        assert point.energy_pj == pj and "Horowitz" in point.source
    assert [(p.at, p.energy_pj) for p in tech.sram_read_pj] == [(8, 10), (32, 20), (1024, 100)]
    assert tech.sram_word_bits == 64
    # DRAM 1.3-2.6 nJ per 64 bits: a row hit is 8 bytes at the per-byte price, a miss adds one
    # activation.
    assert 8 * tech.dram_pj_per_byte.value == pytest.approx(1300)
    assert 8 * tech.dram_pj_per_byte.value + tech.dram_pj_per_activation.value == \
        pytest.approx(2600)
    sources = tech.sources()
    assert len(sources) == 4 + 1 + len(tech.toggle_classes) + 1 + 3 + 1 + 2 + 4 + 4 + 2  # + area
    assert all(s.strip() for _, s in sources)
    assert {"x_reg", "w_reg", "psum_reg", "acc_reg", "mult", "adder", "rescale",
            "rowsum"} <= set(tech.toggle_classes)


def test_power_law_interpolation() -> None:
    pts = (RefPoint(8, 10, ""), RefPoint(32, 20, ""), RefPoint(1024, 100, ""))
    assert power_law(pts, 32) == (20, "table")
    # Between 8 and 32 KiB the energy doubles over a 4x capacity: exponent 1/2.
    assert power_law(pts, 16)[0] == pytest.approx(10 * math.sqrt(2))
    assert power_law(pts, 16)[1] == "interpolated"
    assert power_law(pts, 2) == (pytest.approx(5), "extrapolated")  # (2/8)^(1/2) = 1/2
    beta = math.log(5) / math.log(32)
    assert power_law(pts, 2048)[0] == pytest.approx(100 * 2 ** beta)
    assert power_law(pts[:1], 3) == (10, "extrapolated")


def test_sram_access_energy() -> None:
    tech = load_tech("45nm")
    assert tech.sram_access_pj(8, 64) == (10, "table")
    assert tech.sram_access_pj(32, 8) == (pytest.approx(20 / 8), "interpolated")
    assert tech.sram_access_pj(32, 32, write=True)[0] == \
        pytest.approx(10 * tech.sram_write_to_read.value)


def test_user_table_by_path(tmp_path: Path) -> None:
    doc = load_doc()
    doc["name"] = "mine"
    doc["operations"]["multiply"] = [{"width_bits": 8, "energy_pj": 0.4, "source": "twice"}]
    path = tech_file(tmp_path, doc)
    cal = calibration(path)
    assert cal.tech.name == "mine" and cal.tech.file == path
    e8, status = cal.per_toggle_pj("multiplier", 8)
    assert status == "calibrated"
    assert e8 == pytest.approx(2 * calibration("45nm").per_toggle_pj("multiplier", 8)[0])
    assert cal.per_toggle_pj("multiplier", 16) == (e8, "extrapolated")  # one width: constant


def _set(doc: dict, path: str, value: object) -> dict:
    *head, last = path.split(".")
    node = doc
    for key in head:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is KeyError:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


@pytest.mark.parametrize("path, value, key, expected", [
    ("version", 1, "version", "only version 2"),
    ("colour", "red", "colour", "one of"),
    ("leakage.sram_pw_per_kb", {"value": 1, "source": "x"}, "leakage.sram_pw_per_kb",
     "did you mean 'sram_pw_per_kib'"),
    ("clock_pj_per_bit_cycle.value", -1, "clock_pj_per_bit_cycle.value", ">= 0"),
    ("clock_pj_per_bit_cycle.source", " ", "clock_pj_per_bit_cycle.source", "non-empty"),
    ("dram.pj_per_byte", KeyError, "dram.pj_per_byte", "required"),
    ("operations.add.1.width_bits", 4, "operations.add[1].width_bits", "increasing"),
    ("operations.add.1.width_bits", 64, "operations.add[1].width_bits", "<= 32"),
    ("operations.multiply.0.energy_pj", 0, "operations.multiply[0].energy_pj", "> 0"),
    ("register.width_bits", 16, "register.width_bits", "a width listed in operations.add"),
    ("toggle_classes.mult.width", KeyError, "toggle_classes.mult", "exactly one of width"),
    ("toggle_classes.adder.width", "acc", "toggle_classes.adder.width", "operands, acc_bits"),
    ("toggle_classes.x_reg.unit", "latch", "toggle_classes.x_reg.unit", "register"),
    ("calibration.exact_max_bits", 40, "calibration.exact_max_bits", "<= 20"),
    ("calibration.signed", "no", "calibration.signed", "true or false"),
    ("calibration.samples", 100_001, "calibration.samples", "<= 100000"),
    ("calibration.samples", 10**30, "calibration.samples", "<= 100000"),
    ("calibration.seed", 2**64, "calibration.seed", "<= 18446744073709551615"),
    ("sram.word_bits", 10**400, "sram.word_bits", "<= 4096"),
    ("operations.multiply.0.energy_pj", 1e308, "operations.multiply[0].energy_pj",
     "> 0 and <= 1e+12"),
    ("leakage.sram_pw_per_kib.value", 10**400, "leakage.sram_pw_per_kib.value", "<= 1e+12"),
])  # fmt: skip
def test_bad_table(tmp_path: Path, path: str, value: object, key: str, expected: str) -> None:
    file = tech_file(tmp_path, _set(load_doc(), path, value))
    with pytest.raises(ConfigError) as err:
        load_tech(file)
    assert err.value.file == file and err.value.key == key
    assert expected in err.value.one_line()


def test_duplicate_key_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(TECH_FILE.read_text() + "\nname: again\n")
    with pytest.raises(ConfigError, match="duplicate at line") as err:
        load_tech(str(path))
    assert err.value.key == "name"
    with pytest.raises(ConfigError) as err:
        load_tech(str(tmp_path / "nope.yaml"))
    assert err.value.key == "energy.technology"


def _unreadable_tech(tmp_path: Path, kind: str) -> str:
    path = tmp_path / "tech.yaml"
    if kind == "binary":
        path.write_bytes(TECH_FILE.read_bytes()[:200] + bytes(range(256)))
    elif kind == "control-character":
        path.write_text(TECH_FILE.read_text().replace("name: ", "name: \x07", 1))
    elif kind == "nested":
        path.write_text("name: " + "[" * 5000 + "]" * 5000 + "\n")
    elif kind == "over-1-MiB":
        path.write_text(TECH_FILE.read_text() + "#" * (1 << 20))
    elif kind == "fifo":
        os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize("kind, fragment", [
    ("binary", "a UTF-8 text file (got undecodable bytes at line"),
    ("control-character", "without control characters (got character 0x07 at line"),
    ("nested", "nesting depth <= 32"),
    ("over-1-MiB", "a file of at most 1048576 bytes"),
    ("fifo", "a regular file (got a FIFO (named pipe))"),
])  # fmt: skip
def test_unreadable_table(tmp_path: Path, kind: str, fragment: str) -> None:
    file = _unreadable_tech(tmp_path, kind)
    before = None if kind == "fifo" else Path(file).read_bytes()
    with pytest.raises(ConfigError) as err:
        load_tech(file)
    line = err.value.one_line()
    assert line.startswith(f"{file}: expected") and "\n" not in line and fragment in line, line
    assert before is None or Path(file).read_bytes() == before


# ------------------------------------------------------------------------------ calibration


def test_calibration_reproduces_the_table_by_construction() -> None:
    cal = calibration("45nm")
    for (op, bits), pj in HOROWITZ.items():
        unit = "multiplier" if op == "multiply" else "adder"
        point = next(p for p in cal.points[unit] if p.width_bits == bits)
        assert point.operation_pj == pj
        assert point.pj_per_toggle * point.mean_toggles == pytest.approx(pj, rel=1e-12)
        assert cal.per_toggle_pj(unit, bits) == (point.pj_per_toggle, "calibrated")
    assert cal.points["multiplier"][0].method.startswith("exact")  # 8x8: all 2^16 pairs
    assert cal.points["multiplier"][1].method.startswith("sampled")  # 32x32: seeded sample


def test_adder_expectation_is_exact_at_8_bits() -> None:
    # Independent uniform operands: every sum bit is 1 with p = 1/2; carry c_j (carry-in 0) is
    # 1 with p_j = (1 - 2^-(j+1)) / 2. A node differs between two evaluations with 2p(1-p).
    p = np.array([(1 - 2.0 ** -(j + 1)) / 2 for j in range(8)])
    expected = 8 * 0.5 + np.sum(2 * p * (1 - p))
    mean, method = mean_toggles("adder", 8, False, 16, 100, 0)
    assert method == "exact (65536 operand pairs)"
    assert mean == pytest.approx(expected, rel=1e-12)
    assert mean_toggles("register", 8, False, 16, 100, 0)[0] == 4.0  # b/2


@pytest.mark.parametrize("width, pairs", [(8, 20000), (32, 3000)])
def test_multiplier_expectation_matches_direct_transitions(width: int, pairs: int) -> None:
    """The calibration's T (node probabilities) against consecutive transitions of the kernels'
    own multiplier (mult_toggles_direct) on an independent seed: within 4 standard errors."""
    cal = calibration("45nm")
    T = next(p for p in cal.points["multiplier"] if p.width_bits == width).mean_toggles
    rng = np.random.default_rng(99)
    ops = rng.integers(0, 1 << width, size=(pairs + 1, 2))
    hd = np.array([mult_toggles_direct(int(ops[i, 0]), int(ops[i, 1]), int(ops[i + 1, 0]),
                                       int(ops[i + 1, 1]), width, width, False, False)
                   for i in range(pairs)], dtype=float)
    se = hd.std(ddof=1) / math.sqrt(pairs)  # successive pairs share an evaluation: se is rough
    assert abs(hd.mean() - T) < 4 * se + 1e-9


def test_adder_node_model_is_the_kernels() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.integers(0, 1 << 16, 500), rng.integers(0, 1 << 16, 500)
    sums, carries = adder_nodes(a, b, 16)
    for i in range(500):
        _, s, c, _ = ripple_add(int(a[i]), int(b[i]), 0, 0xFFFF, 0x8000, False)
        assert (s, c) == (sums[i], carries[i])


def test_calibration_is_deterministic_and_interpolates_documentedly() -> None:
    tech = load_tech("45nm")
    first, second = calibrate(tech), calibrate(tech)
    assert first.points == second.points
    e8 = first.per_toggle_pj("adder", 8)[0]
    e32 = first.per_toggle_pj("adder", 32)[0]
    # Power law through (8, e8) and (32, e32): at 16 bits the geometric mean.
    assert first.per_toggle_pj("adder", 16) == (pytest.approx(math.sqrt(e8 * e32)),
                                                "interpolated")
    assert first.per_toggle_pj("multiplier", 4)[1] == "extrapolated"
    assert first.per_toggle_pj("register")[1] == "calibrated"


def test_class_prices_follow_the_pe_widths() -> None:
    cal = calibration("45nm")
    arch = arch_ns(x_bits=4, w_bits=8, acc_bits=24)
    prices = class_toggle_pj(arch, ["x_reg", "mult", "adder", "rescale", "rowsum"])
    assert prices["mult"] == cal.per_toggle_pj("multiplier", 8)  # max(x_bits, w_bits)
    assert prices["adder"] == cal.per_toggle_pj("adder", 24) == prices["rowsum"]
    assert prices["rescale"] == cal.per_toggle_pj("multiplier", 32)
    assert prices["x_reg"] == cal.per_toggle_pj("register")


def test_unpriced_class_is_a_config_error(tmp_path: Path) -> None:
    doc = load_doc()
    del doc["toggle_classes"]["x_reg"]
    path = tech_file(tmp_path, doc)
    with pytest.raises(ConfigError) as err:
        class_toggle_pj(arch_ns(technology=path), ["x_reg"])
    assert err.value.file == path and err.value.key == "toggle_classes.x_reg"


# --------------------------------------------------------- data-dependence, via the simulator


def test_random_uniform_8bit_operands_cost_the_table_multiply_plus_add() -> None:
    """Tolerance 2 %: the statistical error of 36 000 random MACs (< 0.3 %) plus the reset
    transient of each PE's first evaluation (< 0.1 %)."""
    rng = np.random.default_rng(1)
    arch = arch_ns("os", rows=4, cols=3)  # os: every PE sees independent operand pairs
    x, w = rng.integers(0, 256, (4, 3000)), rng.integers(0, 256, (3000, 3))
    sim = simulate(arch, x, w)
    mult_per_mac = energy_pj(arch, sim)["mult"] / sim.result.macs
    assert mult_per_mac == pytest.approx(HOROWITZ[("multiply", 8)], rel=0.02)
    # The 8-bit add, through the kernels' own adder on uniform operand pairs.
    a, b = rng.integers(0, 256, 20001), rng.integers(0, 256, 20001)
    nodes = [ripple_add(int(a[i]), int(b[i]), 0, 0xFF, 0x80, False)[1:3] for i in range(20001)]
    toggles = sum(bin(s0 ^ s1).count("1") + bin(c0 ^ c1).count("1")
                  for (s0, c0), (s1, c1) in zip(nodes, nodes[1:]))
    add_pj = toggles / 20000 * calibration("45nm").per_toggle_pj("adder", 8)[0]
    assert add_pj == pytest.approx(HOROWITZ[("add", 8)], rel=0.02)
    assert mult_per_mac + add_pj == pytest.approx(0.23, rel=0.02)


def test_constant_operands_cost_almost_no_datapath_energy() -> None:
    arch = arch_ns("ws", rows=4, cols=4)
    M = 2000
    const = simulate(arch, np.full((M, 4), 37), np.full((4, 4), -5), True, True)
    rng = np.random.default_rng(2)
    rand = simulate(arch, rng.integers(-128, 128, (M, 4)), rng.integers(-128, 128, (4, 4)),
                    True, True)
    # With constant operands every PE's registers, multiplier and adder change only on their
    # first load / evaluation after reset (and the stationary weight on its preload shifts), so
    # at most all their nodes toggle once per PE (one fold here):
    nodes_mult = 8 * 8 + 2 * 8 * 7
    bound = 16 * (nodes_mult + 2 * 32 + 8 + 4 * 8 + 32)
    toggles = sum(const.result.toggles.values())
    assert toggles <= bound
    datapath = ("x_reg", "w_reg", "psum_reg", "mult", "adder")
    e_const = sum(energy_pj(arch, const)[c] for c in datapath)
    e_rand = sum(energy_pj(arch, rand)[c] for c in datapath)
    assert e_const / const.result.macs < 0.01 * e_rand / rand.result.macs


@pytest.mark.parametrize("bits", [4, 8, 12])
def test_register_fed_uniform_values_toggles_half_its_bits(bits: int) -> None:
    # Independent uniform b-bit values differ in each bit with probability 1/2: b/2 per update,
    # Binomial(b, 1/2) with standard deviation sqrt(b)/2.
    arch = arch_ns("ws", rows=4, cols=1, x_bits=bits, acc_bits=bits + 8 + 2)
    rng = np.random.default_rng(bits)
    M = 2000
    sim = simulate(arch, rng.integers(0, 1 << bits, (M, 4)), np.ones((4, 1), dtype=np.int64))
    updates = 4 * M  # each of the 4 PEs' x_reg loads M values
    per_update = sim.result.toggles["x_reg"] / updates
    se = math.sqrt(bits) / 2 / math.sqrt(updates)
    assert abs(per_update - bits / 2) < 5 * se


def _expected_psum_toggles(signed: bool, rows: int, w: int, acc_bits: int) -> list[float]:
    """Exact expected toggles per update of each row's psum register: row r holds
    S_r = w · (x_0 + … + x_r) for iid uniform int8 / uint8 x, independent between updates, so
    bit j differs with probability 2·p_j·(1 − p_j), p_j = P(bit j of S_r mod 2^acc_bits = 1)."""
    lo = -128 if signed else 0
    pmf = np.full(256, 1 / 256)
    dist, low = np.array([1.0]), 0
    out = []
    for _ in range(rows):
        dist, low = np.convolve(dist, pmf), low + lo
        patterns = ((np.arange(len(dist)) + low) * w) & ((1 << acc_bits) - 1)
        p = np.array([dist[(patterns >> j) & 1 == 1].sum() for j in range(acc_bits)])
        out.append(float(np.sum(2 * p * (1 - p))))
    return out


def test_unsigned_products_toggle_fewer_accumulator_bits_than_signed() -> None:
    """PANN's observation: signed partial sums change sign about every other update and flip all
    their sign-extension bits; unsigned ones never set them."""
    rows, M, w = 4, 4000, 77
    arch = arch_ns("ws", rows=rows, cols=1)
    rng = np.random.default_rng(3)
    measured, expected = {}, {}
    for signed in (True, False):
        lo, hi = (-128, 128) if signed else (0, 256)
        sim = simulate(arch, rng.integers(lo, hi, (M, rows)), np.full((rows, 1), w), signed,
                       signed)
        measured[signed] = sim.result.toggles["psum_reg"] / (rows * M)
        expected[signed] = float(np.mean(_expected_psum_toggles(signed, rows, w, 32)))
        assert measured[signed] == pytest.approx(expected[signed], rel=0.02)
    # Derived: signed sums toggle ~acc_bits/2 = 16 bits per update (the 17+ sign-extension bits
    # flip together on a sign change, p = 1/2); unsigned sums stay below 2^17 and toggle ~8.
    assert expected[True] == pytest.approx(16, rel=0.01)
    assert expected[False] < 0.5 * expected[True]
    assert measured[False] < 0.55 * measured[True]


# ------------------------------------------------------------------------------ accounting


def test_energy_composition_without_memory() -> None:
    arch = arch_ns("ws", rows=4, cols=4)
    rng = np.random.default_rng(4)
    sim = simulate(arch, rng.integers(0, 256, (30, 6)), rng.integers(-128, 128, (6, 5)),
                   False, True)
    e = energy_pj(arch, sim)
    tech = load_tech("45nm")
    assert list(e) == [*sim.result.toggles, "clock", "leakage", "total"]  # no sram/dram: ideal
    prices = class_toggle_pj(arch, sim.result.toggles)
    for cls, count in sim.result.toggles.items():
        assert e[cls] == pytest.approx(count * prices[cls][0])
    assert e["clock"] == pytest.approx(tech.clock_pj_per_bit_cycle.value *
                                       enabled_bit_cycles(arch, sim))
    # Leakage: 16 PEs + 4 edge adders (ws), pW x cycles x 2 ns.
    lk = {k: v.value for k, v in tech.leakage.items()}
    pe = 64 * lk["multiplier_pw_per_partial_product"] + 32 * lk["adder_pw_per_bit"] \
        + 48 * lk["register_pw_per_bit"]
    assert pe_leakage_pw(tech, 8, 8, 32) == pytest.approx(pe)
    array = 16 * pe + 4 * 32 * lk["adder_pw_per_bit"]
    assert leakage_pw(arch) == {"array": pytest.approx(array), "sram": 0.0,
                                "total": pytest.approx(array)}
    assert e["leakage"] == pytest.approx(array * sim.result.cycles_compute * 2e-9)
    assert e["total"] == pytest.approx(sum(v for k, v in e.items() if k != "total"))


def test_hold_clocks_one_load_per_mac_plus_preload_shifts() -> None:
    arch = arch_ns("ws", rows=4, cols=4)
    sim = simulate(arch, np.ones((9, 6), dtype=np.int64), np.ones((6, 5), dtype=np.int64))
    # Folds: K = 6 -> row tiles of 4 and 2; N = 5 -> column tiles of 4 and 1. A stationary
    # register in row r of an r_act-row tile loads r_act - r times during preload.
    preload = sum(ca * ra * (ra + 1) // 2 for ra in (4, 2) for ca in (4, 1))
    assert enabled_bit_cycles(arch, sim) == sim.result.macs * (8 + 32) + preload * 8


def buffers_ns() -> SimpleNamespace:
    buf = SimpleNamespace
    return SimpleNamespace(ifmap=buf(size_kib=64, word_bits=8, banks=1),
                           filter=buf(size_kib=16, word_bits=8, banks=2),
                           ofmap=buf(size_kib=64, word_bits=32, banks=1))


def test_memory_energy_from_a_memory_result() -> None:
    arch = arch_ns("ws", rows=4, cols=4, buffers=buffers_ns())
    rng = np.random.default_rng(6)
    sim = simulate(arch, rng.integers(0, 256, (12, 4)), rng.integers(-128, 128, (4, 4)),
                   False, True)
    memory = SimpleNamespace(
        cycles_total=sim.result.cycles_compute + 100, cycles_stall=100,
        sram={"ifmap": {"reads": 48, "writes": 48}, "filter": {"reads": 16, "writes": 16},
              "ofmap": {"reads": 0, "writes": 48}},
        dram={"read_bytes": 64, "write_bytes": 192, "row_hits": 3, "row_misses": 1,
              "activations": 1},
        dram_bandwidth_utilization=0.1, timeline=None)
    e = energy_pj(arch, sim, memory)
    assert list(e)[-5:] == ["clock", "sram", "dram", "leakage", "total"]
    # Capacity per access: half of the double buffer, one bank. ifmap/ofmap: 32 KiB -> 20 pJ per
    # 64 bits; filter: 16 / 2 / 2 = 4 KiB -> 10 * (4/8)^(1/2) pJ per 64 bits (extrapolated).
    ifmap, filt, ofmap = 20 / 8, 10 * math.sqrt(0.5) / 8, 20 * 32 / 64
    assert e["sram"] == pytest.approx(96 * ifmap + 32 * filt + 48 * ofmap)
    assert e["dram"] == pytest.approx(256 * 162.5 + 1 * 1300)
    kib = 64 + 16 + 64
    leak = leakage_pw(arch)
    assert leak["sram"] == pytest.approx(kib * load_tech("45nm").leakage["sram_pw_per_kib"].value)
    assert e["leakage"] == pytest.approx(leak["total"] * memory.cycles_total * 2e-9)
    ideal = energy_pj(arch, sim)
    assert "sram" not in ideal and "dram" not in ideal


def test_power_trace_adds_up_to_the_layer_energy() -> None:
    arch = arch_ns("os", rows=3, cols=2, idle="zero")
    rng = np.random.default_rng(7)
    sim = simulate(arch, rng.integers(0, 256, (5, 7)), rng.integers(-128, 128, (7, 3)),
                   False, True, trace=True)
    columns, table = power_trace_pj(arch, sim)
    assert table.shape == (sim.result.cycles_compute, len(columns))
    e = energy_pj(arch, sim)
    for i, col in enumerate(columns):
        assert table[:, i].sum() == pytest.approx(e[col])
    with pytest.raises(ValueError, match="without a trace"):
        power_trace_pj(arch, simulate(arch, np.ones((2, 2), dtype=np.int64),
                                      np.ones((2, 2), dtype=np.int64)))


class _Clocked(tuple):
    """A register's next state, tagged with whether its clock is enabled and its width."""

    clocked: bool
    bits: int


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("idle", ["hold", "zero"])
def test_clocked_bits_per_cycle_match_the_reference_model(dataflow: str, idle: str,
                                                          monkeypatch) -> None:
    """Clock enables counted in the slow reference model, register by register and cycle by
    cycle: a register is clocked when it loads valid data, or, being a moving register under
    ``idle: zero``, when it loads 0 (docs/datapath.md §4)."""
    counted: list[int] = []
    next_state = array_model.Register.next_state
    commit_all = array_model.SystolicArray._commit_all

    def tagged(self, data, valid, moving, idle_zero):
        state = _Clocked(next_state(self, data, valid, moving, idle_zero))
        state.clocked, state.bits = bool(valid or (moving and idle_zero)), self.bits
        return state

    def commit(self, nxt, report):
        counted.append(sum(s.bits for s in nxt.values() if s.clocked))
        commit_all(self, nxt, report)

    monkeypatch.setattr(array_model.Register, "next_state", tagged)
    monkeypatch.setattr(array_model.SystolicArray, "_commit_all", commit)
    arch = arch_ns(dataflow, rows=3, cols=2, x_bits=5, w_bits=3, acc_bits=12, idle=idle)
    rng = np.random.default_rng(8)
    x, w = rng.integers(0, 32, (1, 5, 4)), rng.integers(0, 8, (1, 4, 3))
    result: GemmResult = reference_simulate_gemm(DenseGemm(x, w), spec_of(arch, False, False))
    sim = LayerSim("g", "gemm", 1, 5, 4, 3, result, result.y[0], result.y[0], "numpy-int64",
                   "exact")
    per_cycle = enabled_bits_per_cycle(arch, sim)
    np.testing.assert_array_equal(per_cycle, counted)
    assert enabled_bit_cycles(arch, sim) == sum(counted)


def test_parse_tech_accepts_the_shipped_file_as_data() -> None:
    tech = parse_tech(load_doc(), "in-memory")
    assert tech.file == "in-memory" and tech.name == "45nm"


def test_energy_with_the_memory_systems_result(tmp_path: Path) -> None:
    """The duck-typed memory interface against the real MemoryResult, when it is available."""
    memory_mod = pytest.importorskip("accelsim.sim.memory")
    from accelsim.config import load_arch
    from accelsim.energy.account import sram_word_pj
    from accelsim.sim.layer import simulate_layer
    from accelsim.workload import Layer

    path = tmp_path / "arch.yaml"
    path.write_text("name: m\narray: {rows: 4, cols: 4, dataflow: ws}\n"
                    "pe: {kind: mac, x_bits: 8, w_bits: 8, acc_bits: 32}\n"
                    "buffers:\n  ifmap: {size_kib: 8, word_bits: 8}\n"
                    "  filter: {size_kib: 8, word_bits: 8}\n  ofmap: {size_kib: 8, word_bits: 32}\n"
                    "dram: {bandwidth_bytes_per_cycle: 8, latency_cycles: 20, burst_bytes: 32}\n")
    arch = load_arch(str(path))
    rng = np.random.default_rng(9)
    x, w = rng.integers(0, 256, (40, 12)), rng.integers(-128, 128, (12, 6))
    layer = Layer("g", "gemm", x, w, x @ w, 8, 8, False, True)
    sim = simulate_layer(arch, layer)
    (mem,) = memory_mod.simulate_memory(arch, [memory_mod.layer_geometry(arch, layer)])
    e = energy_pj(arch, sim, mem)
    tech = load_tech("45nm")
    sram = sum(counts["reads"] * sram_word_pj(arch, tech, b)["read"]
               + counts["writes"] * sram_word_pj(arch, tech, b)["write"]
               for b, counts in mem.sram.items())
    assert e["sram"] == pytest.approx(sram) and e["sram"] > 0
    assert e["dram"] == pytest.approx((mem.dram["read_bytes"] + mem.dram["write_bytes"]) * 162.5
                                      + mem.dram["activations"] * 1300)
    assert e["leakage"] == pytest.approx(leakage_pw(arch)["total"] * mem.cycles_total * 2e-9)
