"""Architecture-file loading: shipped configs, defaults, round trip and a corpus of bad inputs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from accelsim.config import Arch, arch_to_dict, load_arch
from accelsim.config import load as load_module
from accelsim.config.schema import BufferConfig, DramConfig, EnergyConfig
from accelsim.errors import ConfigError
from accelsim.pe import REGISTRY
from accelsim.pe.base import PeKind

ARCH_CONFIGS = sorted((Path(__file__).resolve().parents[2] / "arch_configs").glob("*.yaml"))

MINIMAL = """\
name: t
array:
  rows: 8
  cols: 8
  dataflow: ws
pe:
  kind: mac
  x_bits: 8
  w_bits: 8
  acc_bits: 32
"""

BUFFERS = """\
buffers:
  ifmap:  {size_kib: 64, word_bits: 8}
  filter: {size_kib: 64, word_bits: 8, read_words_per_cycle: 4}
  ofmap:  {size_kib: 32.5, word_bits: 32, banks: 2}
dram: {bandwidth_bytes_per_cycle: 16, latency_cycles: 100, burst_bytes: 64}
"""


@dataclass(frozen=True, kw_only=True)
class FakeParams:
    """Parameters of a test-only PE kind."""

    adders: int = field(default=1, metadata={"min": 1})
    """Adders per PE (count, >= 1). Default 1."""
    sign: str = field(default="subtract", metadata={"choices": ("subtract", "dual_accumulator")})
    """Sign handling. Default ``subtract``."""


@pytest.fixture
def fake_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register a ``fake`` PE kind with a parameter block, supporting only ``ws``."""
    monkeypatch.setitem(REGISTRY, "fake", PeKind(name="fake", dataflows=("ws",), params=FakeParams))


def write(tmp_path: Path, text: str, name: str = "arch.yaml") -> Path:
    """Write ``text`` to ``tmp_path/name`` and return the path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def round_trip(arch: Arch, tmp_path: Path) -> Arch:
    """Dump ``arch_to_dict(arch)`` to YAML (through JSON, as a report would) and load it again."""
    data = json.loads(json.dumps(arch_to_dict(arch)))
    return load_arch(write(tmp_path, yaml.safe_dump(data, sort_keys=False), "dumped.yaml"))


@pytest.mark.parametrize("path", ARCH_CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_load_and_round_trip(path: Path, tmp_path: Path) -> None:
    arch = load_arch(path)
    assert arch.name == path.stem
    assert arch.pe.kind in path.stem or (arch.pe.kind == "mac" and "int8" in path.stem)
    assert (arch.buffers is None) == (arch.dram is None)  # ideal memory, or both blocks
    assert path.read_text().startswith("# ")
    assert round_trip(arch, tmp_path) == arch


def test_shipped_configs_cover_every_dataflow_and_size() -> None:
    assert {p.stem for p in ARCH_CONFIGS} >= {
        f"{df}-{n}x{n}-int8" for df in ("ws", "os", "is") for n in (8, 32)
    }


def test_defaults_filled(tmp_path: Path) -> None:
    arch = load_arch(write(tmp_path, MINIMAL))
    assert arch.version == 1 and arch.clock_mhz == 500.0
    assert arch.array.idle == "hold" and arch.pe.overflow == "wrap" and arch.pe.params is None
    assert arch.buffers is None and arch.dram is None
    assert arch.energy == EnergyConfig(technology="45nm")
    assert arch_to_dict(arch) == {
        "version": 1,
        "name": "t",
        "clock_mhz": 500.0,
        "array": {"rows": 8, "cols": 8, "dataflow": "ws", "idle": "hold"},
        "pe": {"kind": "mac", "x_bits": 8, "w_bits": 8, "acc_bits": 32, "overflow": "wrap"},
        "buffers": None,
        "dram": None,
        "energy": {"technology": "45nm"},
        "mapping": {"policy": "auto", "layers": None},
    }


def test_buffer_ports_default_to_widest_array_edge(tmp_path: Path) -> None:
    text = MINIMAL.replace("cols: 8", "cols: 16") + BUFFERS
    arch = load_arch(write(tmp_path, text))
    assert arch.buffers is not None and arch.dram is not None
    assert arch.buffers.ifmap == BufferConfig(
        size_kib=64.0, word_bits=8, banks=1, read_words_per_cycle=16, write_words_per_cycle=16
    )
    assert arch.buffers.filter.read_words_per_cycle == 4
    assert arch.buffers.ofmap.banks == 2 and arch.buffers.ofmap.write_words_per_cycle == 16
    assert isinstance(arch.dram.bandwidth_bytes_per_cycle, float)
    assert round_trip(arch, tmp_path) == arch


def test_technology_path_resolves_against_arch_folder(tmp_path: Path) -> None:
    (tmp_path / "tech").mkdir()
    (tmp_path / "arch").mkdir()
    tech = write(tmp_path / "tech", "source: test\n", "mine.yaml")
    text = MINIMAL + "energy: {technology: ../tech/mine.yaml}\n"
    arch = load_arch(write(tmp_path / "arch", text))
    assert arch.energy.technology == str(tech.resolve())
    assert round_trip(arch, tmp_path) == arch


def test_builtin_technologies_come_from_the_package_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tech").mkdir()
    write(tmp_path / "tech", "source: test\n", "7nm.yaml")
    monkeypatch.setattr(load_module, "TECH_DIR", tmp_path / "tech")
    assert load_module.builtin_technologies() == {"45nm", "7nm"}
    arch = load_arch(write(tmp_path, MINIMAL + "energy: {technology: 7nm}\n"))
    assert arch.energy.technology == "7nm"


def test_pe_kind_params_block_parsed_by_its_dataclass(tmp_path: Path, fake_kind: None) -> None:
    fake = MINIMAL.replace("kind: mac", "kind: fake")
    arch = load_arch(write(tmp_path, fake))
    assert arch.pe.params == FakeParams()
    arch = load_arch(write(tmp_path, fake + "  fake: {adders: 3}\n"))
    assert arch.pe.params == FakeParams(adders=3, sign="subtract")
    assert arch_to_dict(arch)["pe"]["fake"] == {"adders": 3, "sign": "subtract"}
    assert round_trip(arch, tmp_path) == arch


def test_memory_block_defaults(tmp_path: Path) -> None:
    arch = load_arch(write(tmp_path, MINIMAL + BUFFERS))
    assert arch.buffers is not None and arch.buffers.double_buffered is True
    assert arch.dram == DramConfig(
        bandwidth_bytes_per_cycle=16.0, latency_cycles=100, burst_bytes=64, banks=8,
        row_bytes=2048, t_rcd_cycles=0.0, t_rp_cycles=0.0, t_cl_cycles=0.0, page_policy="open",
        address_mapping="row_bank_col",
    )


def test_memory_block_all_keys_round_trip(tmp_path: Path) -> None:
    text = MINIMAL + BUFFERS.replace("dram:", "  double_buffered: false\ndram:").replace(
        "burst_bytes: 64}",
        "burst_bytes: 64, banks: 16, row_bytes: 8192, t_rcd_cycles: 7.08, t_rp_cycles: 7,"
        " t_cl_cycles: 7.08, page_policy: closed, address_mapping: row_bank_col_xor}",
    )
    arch = load_arch(write(tmp_path, text))
    assert arch.buffers is not None and arch.buffers.double_buffered is False
    assert arch.dram is not None
    assert (arch.dram.banks, arch.dram.row_bytes, arch.dram.t_rp_cycles) == (16, 8192, 7.0)
    assert (arch.dram.page_policy, arch.dram.address_mapping) == ("closed", "row_bank_col_xor")
    assert arch_to_dict(arch)["buffers"]["double_buffered"] is False
    assert round_trip(arch, tmp_path) == arch


MEMORY_BAD_INPUTS = [
    ("page-policy", "burst_bytes: 64}", "burst_bytes: 64, page_policy: lazy}", "dram.page_policy",
     "open, closed"),
    ("mapping", "burst_bytes: 64}", "burst_bytes: 64, address_mapping: bank_row}",
     "dram.address_mapping", "row_bank_col, row_bank_col_xor"),
    ("t-rcd-negative", "burst_bytes: 64}", "burst_bytes: 64, t_rcd_cycles: -1}",
     "dram.t_rcd_cycles", "0..1000000"),
    ("banks-zero", "burst_bytes: 64}", "burst_bytes: 64, banks: 0}", "dram.banks", "1..1024"),
    ("row-bytes-float", "burst_bytes: 64}", "burst_bytes: 64, row_bytes: 2048.5}",
     "dram.row_bytes", "an integer"),
    ("double-buffered-string", "dram:", "  double_buffered: yes please\ndram:",
     "buffers.double_buffered", "true or false"),
    ("t-rp-typo", "burst_bytes: 64}", "burst_bytes: 64, t_rp_cycle: 3}", "dram.t_rp_cycle",
     "did you mean 't_rp_cycles'?"),
]


@pytest.mark.parametrize(
    "old, new, key_path, fragment",
    [case[1:] for case in MEMORY_BAD_INPUTS],
    ids=[case[0] for case in MEMORY_BAD_INPUTS],
)
def test_bad_memory_block(tmp_path: Path, old: str, new: str, key_path: str,
                          fragment: str) -> None:
    text = MINIMAL + BUFFERS.replace(old, new)
    with pytest.raises(ConfigError) as info:
        load_arch(write(tmp_path, text, "bad-arch.yaml"))
    assert info.value.key == key_path and fragment in info.value.one_line()


# (case id, file text, key path the error must name, another fragment the message must contain)
BAD_INPUTS = [
    ("typo-key", MINIMAL.replace("cols:", "colz:"), "array.colz", "did you mean 'cols'?"),
    ("typo-nested", MINIMAL + BUFFERS.replace("size_kib: 32.5", "size_kb: 32.5"),
     "buffers.ofmap.size_kb", "did you mean 'size_kib'?"),
    ("duplicate-key", MINIMAL.replace("  cols: 8\n", "  cols: 8\n  rows: 4\n"), "array.rows",
     "duplicate at line 5"),
    ("duplicate-top", MINIMAL + "name: u\n", "name", "first at line 1"),
    ("unknown-top-level", MINIMAL + "colour: red\n", "colour", "recognized: version, name"),
    ("missing-name", MINIMAL.replace("name: t\n", ""), "name", "missing"),
    ("missing-rows", MINIMAL.replace("  rows: 8\n", ""), "array.rows", "missing"),
    ("rows-zero", MINIMAL.replace("rows: 8", "rows: 0"), "array.rows", "1..1024"),
    ("rows-string", MINIMAL.replace("rows: 8", 'rows: "8"'), "array.rows", "an integer"),
    ("rows-bool", MINIMAL.replace("rows: 8", "rows: true"), "array.rows", "got True"),
    ("cols-float", MINIMAL.replace("cols: 8", "cols: 8.0"), "array.cols", "an integer"),
    ("pe-not-mapping", MINIMAL.split("pe:")[0] + "pe: mac\n", "pe", "a mapping with keys kind"),
    ("dataflow", MINIMAL.replace("dataflow: ws", "dataflow: xs"), "array.dataflow", "os, ws, is"),
    ("idle", MINIMAL.replace("  dataflow: ws\n", "  dataflow: ws\n  idle: sleep\n"), "array.idle",
     "hold, zero"),
    ("x-bits-1", MINIMAL.replace("x_bits: 8", "x_bits: 1"), "pe.x_bits", "2..16"),
    ("x-bits-17", MINIMAL.replace("x_bits: 8", "x_bits: 17"), "pe.x_bits", "2..16"),
    ("acc-narrow", MINIMAL.replace("acc_bits: 32", "acc_bits: 12"), "pe.acc_bits", "= 16"),
    ("acc-wide", MINIMAL.replace("acc_bits: 32", "acc_bits: 64"), "pe.acc_bits", "48"),
    ("overflow", MINIMAL + "  overflow: clamp\n", "pe.overflow", "wrap, saturate"),
    ("kind-unknown", MINIMAL.replace("kind: mac", "kind: tpu"), "pe.kind", "one of mac"),
    ("pann-block-on-mac", MINIMAL + "  pann: {adders: 1}\n", "pe.pann", "pe"),
    ("mac-block", MINIMAL + "  mac: {}\n", "pe.mac", "takes no parameters"),
    ("clock-inf", MINIMAL + "clock_mhz: .inf\n", "clock_mhz", "finite"),
    ("buffers-no-ofmap", MINIMAL + BUFFERS.replace("  ofmap:", "  # ofmap:"),
     "buffers.ofmap", "missing"),
    ("buffer-size-zero", MINIMAL + BUFFERS.replace("size_kib: 64", "size_kib: 0", 1),
     "buffers.ifmap.size_kib", "> 0"),
    ("dram-bandwidth", MINIMAL + BUFFERS.replace("cycle: 16", "cycle: -16"),
     "dram.bandwidth_bytes_per_cycle", "> 0"),
    ("dram-latency", MINIMAL + BUFFERS.replace("latency_cycles: 100", "latency_cycles: -1"),
     "dram.latency_cycles", "0..1000000"),
    ("technology-missing-file", MINIMAL + "energy: {technology: nowhere/tech.yaml}\n",
     "energy.technology", "45nm"),
    ("version-2", "version: 2\nfuture_key: 1\n" + MINIMAL, "version", "only version 1 is"),
    ("empty-file", "", "", "empty"),
    ("top-level-list", "- name: t\n", "", "got a list"),
    ("invalid-yaml", "name: t\narray: [8, 8\n", "", "valid YAML"),
    ("control-character", MINIMAL.replace("  cols: 8", "  cols: 8\x01"), "",
     "character 0x01 at line 4, column 10"),
    ("nul-character", MINIMAL + "\x00", "", "character 0x00 at line 11, column 1"),
    ("nested-100000-deep", "name: " + "[" * 100_000 + "]" * 100_000 + "\n", "",
     "nesting depth <= 32"),
    ("nested-through-aliases", "".join(f"a{i}: &a{i} [*a{i - 1}]\n" if i else "a0: &a0 [1]\n"
                                       for i in range(40)), "", "nesting depth <= 32"),
    ("alias-to-itself", "name: &n [*n]\n", "", "nesting depth <= 32"),
    ("over-1-MiB", MINIMAL + "#" * (1 << 20) + "\n", "", "a file of at most 1048576 bytes"),
    ("rows-huge", MINIMAL.replace("rows: 8", "rows: 100000"), "array.rows", "1..1024"),
    ("cols-10e30", MINIMAL.replace("cols: 8", "cols: 1000000000000000000000000000000"),
     "array.cols", "1..1024"),
    ("word-bits-huge", MINIMAL + BUFFERS.replace("word_bits: 32", "word_bits: 99999"),
     "buffers.ofmap.word_bits", "1..4096"),
    ("size-kib-huge", MINIMAL + BUFFERS.replace("size_kib: 32.5", "size_kib: 1.0e+30"),
     "buffers.ofmap.size_kib", "> 0 and <= 1048576"),
    ("dram-latency-huge", MINIMAL + BUFFERS.replace("latency_cycles: 100",
                                                    "latency_cycles: 100000000000000000000"),
     "dram.latency_cycles", "0..1000000"),
    ("clock-huge", MINIMAL + "clock_mhz: 1.0e+300\n", "clock_mhz", "> 0 and <= 100000"),
    ("integer-5000-digits", MINIMAL.replace("rows: 8", "rows: " + "7" * 5000), "",
     "Exceeds the limit (4300 digits)"),
    ("value-5000-characters", MINIMAL.replace("rows: 8", "rows: " + "x" * 5000), "array.rows",
     "(got 'xxxxxxxx"),
]


@pytest.mark.parametrize(
    "text, key_path, fragment",
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_is_one_line_config_error(
    tmp_path: Path, text: str, key_path: str, fragment: str
) -> None:
    path = write(tmp_path, text, "bad-arch.yaml")
    with pytest.raises(ConfigError) as info:
        load_arch(path)
    message = info.value.one_line()
    assert "bad-arch.yaml" in message and "\n" not in message
    assert len(message) < len(str(path)) + 400, "a value is shown cut short"
    assert info.value.key == key_path
    assert f": {key_path}: " in message if key_path else message.startswith(f"{path}: expected")
    assert fragment in message


def test_bad_input_corpus_is_distinct() -> None:
    assert len({case[1] for case in BAD_INPUTS}) == len(BAD_INPUTS) >= 16


@pytest.mark.parametrize(
    "extra, key_path, fragment",
    [
        ("  fake: {adderz: 2}\n", "pe.fake.adderz", "did you mean 'adders'?"),
        ("  fake: {adders: 0}\n", "pe.fake.adders", ">= 1"),
        ("  fake: {sign: both}\n", "pe.fake.sign", "subtract, dual_accumulator"),
        ("  fake: 3\n", "pe.fake", "a mapping with keys adders, sign"),
    ],
)
def test_bad_pe_params_block(
    tmp_path: Path, fake_kind: None, extra: str, key_path: str, fragment: str
) -> None:
    path = write(tmp_path, MINIMAL.replace("kind: mac", "kind: fake") + extra)
    with pytest.raises(ConfigError, match=fragment) as info:
        load_arch(path)
    assert info.value.key == key_path


def test_block_of_another_registered_kind(tmp_path: Path, fake_kind: None) -> None:
    with pytest.raises(ConfigError, match="no pe.fake block when pe.kind is 'mac'") as info:
        load_arch(write(tmp_path, MINIMAL + "  fake: {adders: 2}\n"))
    assert info.value.key == "pe.fake"


def test_dataflow_unsupported_by_pe_kind(tmp_path: Path, fake_kind: None) -> None:
    text = MINIMAL.replace("kind: mac", "kind: fake").replace("dataflow: ws", "dataflow: os")
    with pytest.raises(ConfigError, match="the dataflows of pe.kind 'fake'") as info:
        load_arch(write(tmp_path, text))
    assert info.value.key == "array.dataflow"


@pytest.mark.parametrize("kind", ["missing", "directory", "not-utf8"])
def test_unreadable_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "arch.yaml"
    if kind == "directory":
        path.mkdir()
    elif kind == "not-utf8":
        path.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ConfigError) as info:
        load_arch(path)
    assert str(path) in info.value.one_line() and "\n" not in info.value.one_line()
