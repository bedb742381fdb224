"""Golden end-to-end reports (STYLE §5): each case in ``cases.yaml`` is run through ``accelsim run``
and its JSON report must equal ``<case>/expected.json`` byte for byte. A change in cycles, toggles,
energy, memory traffic or accuracy — intended or not — shows up here; intended changes are
recorded with ``python -m pytest tests/golden --update-golden`` and reviewed in the diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from accelsim.cli import main

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CASES = yaml.safe_load((HERE / "cases.yaml").read_text())


def _arch(case: dict, tmp_path: Path) -> Path:
    """The case's arch file, with its text edits applied (written to tmp_path)."""
    path = REPO / case["arch"]
    text = path.read_text()
    for old, new in case.get("edit", {}).items():
        assert old in text, (case["arch"], old)
        text = text.replace(old, new)
    out = tmp_path / path.name
    out.write_text(text)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_report(name: str, tmp_path: Path, request) -> None:
    case = CASES[name]
    report = tmp_path / "report.json"
    args = ["run", str(_arch(case, tmp_path)), str(REPO / case["workload"]), "--json",
            str(report), "--quiet", *(["--chain"] if case.get("chain") else [])]
    assert main(args) == 0
    got = json.loads(report.read_text())
    got["accelsim_version"] = "<version>"  # a release bump is not a behaviour change
    text = json.dumps(got, sort_keys=True, indent=2) + "\n"
    expected = HERE / name / "expected.json"
    if request.config.getoption("--update-golden"):
        expected.parent.mkdir(exist_ok=True)
        expected.write_text(text)
    assert expected.is_file(), f"no golden report for {name}: run with --update-golden"
    assert text == expected.read_text(), f"{name}: report differs from {expected}"
