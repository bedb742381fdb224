"""The shipped user reference (docs/reference/): arch.md is generated from the schema and must be
current; the reference covers every key the loader accepts; no user-facing page mentions the
team's internal contract."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from accelsim.config.dram_presets import PRESETS
from accelsim.config.load import _yaml_names
from accelsim.config.reference import COMMAND, arch_reference
from accelsim.config.schema import (
    Arch,
    ArrayConfig,
    BufferConfig,
    BuffersConfig,
    DramConfig,
    DramUnits,
    EnergyConfig,
    MappingConfig,
    OutputConfig,
    PeConfig,
)
from accelsim.pe import REGISTRY

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "docs" / "reference"


def test_arch_md_is_the_generated_text() -> None:
    checked_in = (REFERENCE / "arch.md").read_text(encoding="utf-8")
    assert checked_in == arch_reference(), f"docs/reference/arch.md is stale: run `{COMMAND}`"


def test_the_documented_command_prints_it() -> None:
    out = subprocess.run([sys.executable, "-m", "accelsim.config.reference"], cwd=REPO,
                         capture_output=True, check=True, env={"PYTHONPATH": str(REPO)})
    assert out.stdout.decode("utf-8") == arch_reference()


def test_every_loader_key_is_documented() -> None:
    text = (REFERENCE / "arch.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.M))
    blocks = {"array", "pe", "buffers", "dram", "energy", "mapping", "output"}
    expected = {k for k in _yaml_names(Arch) if k not in blocks}
    for cls, prefix in ((ArrayConfig, "array"), (PeConfig, "pe"), (BuffersConfig, "buffers"),
                        (BufferConfig, "buffers.<name>"), (DramConfig, "dram"),
                        (DramUnits, "dram"), (EnergyConfig, "energy"),
                        (MappingConfig, "mapping"), (OutputConfig, "output")):
        expected |= {f"{prefix}.{k}" for k in _yaml_names(cls)}
    for kind, pe in REGISTRY.items():
        if pe.params is not None:
            expected |= {f"pe.{kind}.{k}" for k in _yaml_names(pe.params)}
    expected |= {k for entries in PRESETS.values() for k in entries}  # preset tables
    assert expected <= documented, sorted(expected - documented)


def test_reference_pages_exist_and_link() -> None:
    for page in ("arch.md", "workload.md", "report.md", "exit-codes.md"):
        assert (REFERENCE / page).is_file(), page
    codes = (REFERENCE / "exit-codes.md").read_text(encoding="utf-8")
    assert re.findall(r"^\| (\d+) \|", codes, flags=re.M) == ["0", "1", "2", "3", "130"]


def test_no_user_page_mentions_the_internal_contract() -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
             *sorted(REFERENCE.glob("*.md"))]
    offenders = [str(p.relative_to(REPO)) for p in pages
                 if "SPEC" in p.read_text(encoding="utf-8")]
    assert offenders == []
