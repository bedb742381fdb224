"""Every case of the arch and workload bad-input corpora, through ``accelsim run``: exit 2, one line
on stderr naming the file and key, no traceback, no output file created and the inputs unchanged.
The output-path corpus is tests/cli/test_outputs.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from accelsim.cli import main
from tests.cli.test_cli import ARCH_8, EXAMPLE, assert_one_line_error, outputs_args
from tests.unit.test_config import BAD_INPUTS, write
from tests.unit.test_workload import BAD, _write_raw


def _run_and_check(arch: Path, workload: Path, out: Path, file: Path, key: str, capsys) -> None:
    out.mkdir()
    inputs = {p: p.read_bytes() for p in (arch, workload) if p.is_file()}
    assert main(["run", str(arch), str(workload), *outputs_args(out)]) == 2
    needles = [str(file)] + ([key] if key else [])
    assert_one_line_error(capsys.readouterr().err, *needles)
    assert list(out.iterdir()) == [], "no output may be written on bad input"
    assert {p: p.read_bytes() for p in inputs} == inputs, "inputs are never modified"


@pytest.mark.parametrize("text, key", [c[1:3] for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS])
def test_bad_arch_through_cli(tmp_path: Path, text: str, key: str, capsys) -> None:
    arch = write(tmp_path, text, "bad-arch.yaml")
    _run_and_check(arch, EXAMPLE, tmp_path / "out", arch, key, capsys)


@pytest.mark.parametrize("mutate, key", [b[1:3] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_workload_through_cli(tmp_path: Path, mutate, key: str, capsys) -> None:
    workload = tmp_path / "bad.npz"
    _write_raw(workload, mutate)
    _run_and_check(ARCH_8, workload, tmp_path / "out", workload, key, capsys)


def test_corpus_size() -> None:
    assert len(BAD_INPUTS) + len(BAD) >= 20
