"""The output-path corpus: no output may destroy an input, another output or a special file.

Every refused case asserts exit 2, exactly one stderr line naming the file and the option, and a
byte-identical tree afterwards (inputs unchanged, nothing new in the output folder, no temp file).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.report.outputs import SYSTEM_DIRS
from accelsim.workload import Layer, save_workload
from tests.cli.test_cli import (
    accelsim_command, assert_one_line_error, write_arch, write_workload,
)

TECH_45NM = Path(__file__).resolve().parents[2] / "accelsim" / "energy" / "tech" / "45nm.yaml"


@pytest.fixture(autouse=True)
def never_replace_system_files(monkeypatch) -> None:
    """Safety net for the machine running the tests: a regression must fail here, not replace
    /dev/null or /dev/full (renames onto and temp files in /dev, /proc, /sys raise)."""
    replace, mkstemp = os.replace, tempfile.mkstemp

    def guarded_replace(src, dst, *args, **kwargs):
        assert not os.path.realpath(dst).startswith(SYSTEM_DIRS), f"rename onto {dst}"
        return replace(src, dst, *args, **kwargs)

    def guarded_mkstemp(*args, dir=None, **kwargs):
        assert dir is None or not os.path.realpath(dir).startswith(SYSTEM_DIRS), dir
        return mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(os, "replace", guarded_replace)
    monkeypatch.setattr(tempfile, "mkstemp", guarded_mkstemp)


@dataclass
class Case:
    """Inputs in ``tmp/in`` (arch, workload, a user technology table), outputs in ``tmp/out``."""

    tmp: Path
    arch: Path
    wl: Path
    tech_arch: Path
    tech: Path
    out: Path


@pytest.fixture
def case(tmp_path: Path) -> Case:
    inputs = tmp_path / "in"
    inputs.mkdir()
    tech = inputs / "my-tech.yaml"
    shutil.copy(TECH_45NM, tech)
    tech_arch = write_arch(inputs, dataflow="os", extra=f"energy: {{technology: {tech.name}}}\n")
    out = tmp_path / "out"
    out.mkdir()
    return Case(tmp_path, write_arch(inputs), write_workload(inputs), tech_arch, tech, out)


def snapshot(root: Path) -> dict[str, tuple[str, str]]:
    """Every path under ``root`` (symlinks not followed): its type and content hash or target."""
    state = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            state[str(path)] = ("link", os.readlink(path))
        elif stat.S_ISREG(st.st_mode):
            state[str(path)] = ("file", hashlib.sha256(path.read_bytes()).hexdigest())
        else:
            state[str(path)] = (stat.filemode(st.st_mode)[0], "")
    return state


def assert_refused(argv: list[str], root: Path, needles: list[str], capsys) -> None:
    """Exit 2, one stderr line with every needle, and nothing under ``root`` changed."""
    before = snapshot(root)
    assert main(argv) == 2
    assert_one_line_error(capsys.readouterr().err, *needles)
    assert snapshot(root) == before


def _run(c: Case, *extra: str) -> list[str]:
    return ["run", str(c.arch), str(c.wl), "--quiet", *extra]


def _link(link: Path, target: Path) -> Path:
    link.symlink_to(target)
    return link


def _hardlink(link: Path, target: Path) -> Path:
    os.link(target, link)
    return link


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _socket(path: Path) -> Path:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # the socket file stays
    return path


def _trace_link(c: Case) -> tuple[list[str], list[str]]:
    trace = c.out / "t"
    trace.mkdir()
    _link(trace / "a.trace.csv", c.arch)
    return _run(c, "--trace", str(trace)), [str(trace / "a.trace.csv"), "--trace"]


def _timeline_fifo(c: Case) -> tuple[list[str], list[str]]:
    """A FIFO without reader among the memory timeline files: found at write time, after the
    simulation, so nothing of the set (trace CSVs, timeline, --json) may be written."""
    arch = write_arch(c.tmp / "in", dataflow="is", extra=(
        "buffers:\n  ifmap: {size_kib: 1, word_bits: 8}\n  filter: {size_kib: 1, word_bits: 8}\n"
        "  ofmap: {size_kib: 1, word_bits: 32}\n"
        "dram: {bandwidth_bytes_per_cycle: 8, latency_cycles: 10, burst_bytes: 32}\n"))
    trace = c.out / "t"
    trace.mkdir()
    fifo = _fifo(trace / "memory_folds.csv")
    return (["run", str(arch), str(c.wl), "--quiet", "--json", str(c.out / "r.json"),
             "--trace", str(trace)], [str(fifo), "--trace", "reader"])


#: id -> builder(case) returning (argv, needles of the one error line).
RUN_CASES: dict[str, Callable[[Case], tuple[list[str], list[str]]]] = {
    "json-is-workload": lambda c: (_run(c, "--json", str(c.wl)), [str(c.wl), "--json"]),
    "csv-is-arch": lambda c: (_run(c, "--csv", str(c.arch)), [str(c.arch), "--csv"]),
    "outputs-is-workload": lambda c: (_run(c, "--outputs", str(c.wl)), [str(c.wl), "--outputs"]),
    "json-is-arch-relative": lambda c: (
        _run(c, "--json", os.path.relpath(c.arch)), [os.path.relpath(c.arch), "--json"]),
    "json-is-arch-dotdot": lambda c: (
        _run(c, "--json", str(c.out / ".." / "in" / c.arch.name)), ["--json", "ARCH.yaml"]),
    "json-symlink-to-arch": lambda c: (
        _run(c, "--json", str(_link(c.out / "r.json", c.arch))), [str(c.out / "r.json"), "--json"]),
    "csv-symlink-chain-to-workload": lambda c: (
        _run(c, "--csv", str(_link(c.out / "b.csv", _link(c.out / "a.csv", c.wl)))),
        [str(c.out / "b.csv"), "--csv", "WORKLOAD.npz"]),
    "outputs-hardlink-to-workload": lambda c: (
        _run(c, "--outputs", str(_hardlink(c.out / "y.npz", c.wl))),
        [str(c.out / "y.npz"), "--outputs"]),
    "json-is-technology-table": lambda c: (
        ["run", str(c.tech_arch), str(c.wl), "--quiet", "--json", str(c.tech)],
        [str(c.tech), "--json", "energy.technology"]),
    "trace-file-symlink-to-arch": _trace_link,
    "json-equals-csv": lambda c: (
        _run(c, "--json", str(c.out / "r"), "--csv", str(c.out / "r")),
        [str(c.out / "r"), "--csv", "--json"]),
    "csv-symlink-to-json": lambda c: (
        _run(c, "--json", str(c.out / "r.json"),
             "--csv", str(_link(c.out / "r.csv", c.out / "r.json"))),
        [str(c.out / "r.csv"), "--csv", "--json"]),
    "json-is-a-trace-file": lambda c: (
        _run(c, "--json", str(c.out / "t" / "a.trace.csv"), "--trace", str(c.out / "t")),
        [str(c.out / "t" / "a.trace.csv"), "--trace", "--json"]),
    "trace-dir-is-json": lambda c: (
        _run(c, "--json", str(c.out / "t"), "--trace", str(c.out / "t")),
        [str(c.out / "t"), "--trace", "--json"]),
    "trace-dir-is-arch": lambda c: (_run(c, "--trace", str(c.arch)), [str(c.arch), "--trace"]),
    "json-is-folder": lambda c: (_run(c, "--json", str(c.out)), [str(c.out), "--json", "folder"]),
    "json-is-socket": lambda c: (
        _run(c, "--json", str(_socket(c.out / "s"))), [str(c.out / "s"), "--json", "socket"]),
    "json-new-file-in-dev": lambda c: (
        _run(c, "--json", f"/dev/{c.tmp.name}.json"), [f"/dev/{c.tmp.name}.json", "--json"]),
    "json-fifo-without-reader": lambda c: (
        _run(c, "--csv", str(c.out / "r.csv"), "--json", str(_fifo(c.out / "p"))),
        [str(c.out / "p"), "--json", "reader"]),
    "json-dev-full-write-error": lambda c: (
        _run(c, "--csv", str(c.out / "r.csv"), "--json", "/dev/full"),
        ["/dev/full", "--json", "No space left on device"]),
    "new-trace-folder-removed-on-write-error": lambda c: (
        _run(c, "--trace", str(c.out / "t"), "--json", "/dev/full"),
        ["/dev/full", "--json", "No space left on device"]),
    "timeline-fifo-without-reader": _timeline_fifo,
    "max-macs-exceeded": lambda c: (
        _run(c, "--json", str(c.out / "r.json"), "--max-macs", "1e2"),
        [str(c.wl), "--max-macs", "198 MACs"]),
    "compare-plot-is-workload": lambda c: (
        ["compare", str(c.arch), str(c.wl), "--quiet", "--plot", str(c.wl)],
        [str(c.wl), "--plot"]),
    "compare-plot-symlink-to-arch": lambda c: (
        ["compare", str(c.arch), str(c.wl), "--plot", str(_link(c.out / "p.png", c.arch))],
        [str(c.out / "p.png"), "--plot"]),
    "compare-max-macs-counts-every-arch": lambda c: (
        ["compare", str(c.arch), str(c.tech_arch), str(c.wl), "--max-macs", "300"],
        [str(c.wl), "--max-macs", "396 MACs (2 architectures)"]),
    "export-out-is-data": lambda c: (
        ["export", "m:f", "--data", str(c.wl), "--labels", str(c.arch), "--scheme", "int:8",
         "--out", str(c.wl)], [str(c.wl), "--out", "--data"]),
    "export-out-symlink-to-labels": lambda c: (
        ["export", "m:f", "--data", str(c.wl), "--labels", str(c.arch), "--scheme", "int:8",
         "--out", str(_link(c.out / "w.npz", c.arch))], [str(c.out / "w.npz"), "--out"]),
    "export-out-is-model-file": lambda c: (
        ["export", f"{c.arch}:make", "--data", str(c.wl), "--labels", str(c.wl),
         "--scheme", "int:8", "--out", str(c.arch)], [str(c.arch), "--out", "MODEL"]),
    "export-out-is-dev-null": lambda c: (
        ["export", "m:f", "--data", str(c.wl), "--labels", str(c.arch), "--scheme", "int:8",
         "--out", "/dev/null"], ["/dev/null", "--out", "regular file"]),
}


@pytest.mark.parametrize("name", RUN_CASES)
def test_output_corpus(name: str, case: Case, capsys) -> None:
    argv, needles = RUN_CASES[name](case)
    assert_refused(argv, case.tmp, needles, capsys)


def test_corpus_covers_every_output_option() -> None:
    text = " ".join(RUN_CASES)
    for option in ("json", "csv", "outputs", "trace", "plot", "export-out", "max-macs"):
        assert option in text


def test_dev_null_stays_a_device(case: Case, capsys) -> None:
    before = os.stat("/dev/null")
    assert main(_run(case, "--json", "/dev/null", "--csv", "/dev/null",
                     "--outputs", str(case.out / "y.npz"))) == 0
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino
    assert [p.name for p in case.out.iterdir()] == ["y.npz"]
    assert "error" not in capsys.readouterr().err


def test_fifo_with_reader_gets_the_report(case: Case) -> None:
    assert main(_run(case, "--json", str(case.out / "r.json"))) == 0
    expected = (case.out / "r.json").read_bytes()
    assert len(expected) < 65536  # fits the pipe buffer: the run's write cannot block
    fifo = _fifo(case.out / "p")
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert main(_run(case, "--json", str(fifo))) == 0
        received = os.read(reader, 1 << 17)
    finally:
        os.close(reader)
    assert received == expected
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_symlink_output_writes_its_target(case: Case) -> None:
    target = case.out / "real.json"
    target.write_text("old")
    link = _link(case.out / "r.json", target)
    assert main(_run(case, "--json", str(link))) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("{")
    assert sorted(p.name for p in case.out.iterdir()) == ["r.json", "real.json"]


def test_same_file_under_two_names_is_refused_only_once_resolved(case: Case, capsys) -> None:
    """``out/x/../r.json`` and ``out/r.json`` are one file, so the second option is refused."""
    (case.out / "x").mkdir()
    argv = _run(case, "--json", str(case.out / "r.json"),
                "--csv", str(case.out / "x" / ".." / "r.json"))
    assert_refused(argv, case.tmp, ["--csv", "--json"], capsys)


# ---------------------------------------------------------------------------- trace names


def names_workload(folder: Path, names: list[str]) -> Path:
    rng = np.random.default_rng(3)
    layers = []
    for name in names:
        x, w = rng.integers(-8, 8, (3, 4)), rng.integers(-8, 8, (4, 2))
        layers.append(Layer(name, "gemm", x, w, x @ w, 8, 8, True, True))
    path = folder / "names.npz"
    save_workload(path, "names", layers, {"generator": "tests/cli/test_outputs.py"})
    return path


def test_layers_differing_in_special_characters_get_distinct_trace_files(case: Case) -> None:
    names = ["a/b", "a_b", "a?b", "A.b", "a.b", "c"]
    workload = names_workload(case.tmp / "in", names)
    trace = case.out / "t"
    assert main(["run", str(case.arch), str(workload), "--quiet", "--trace", str(trace)]) == 0
    files = sorted(p.name for p in trace.iterdir())
    assert len(files) == 4 * len(names)
    stems = sorted({f.split(".trace.")[0].split(".power.")[0] for f in files})
    assert len(stems) == len(names) and "c" in stems  # a name without a collision is kept
    assert all(len(s) == len("a_b-") + 8 for s in stems if s.lower().startswith("a"))
    again = case.out / "again"  # deterministic, and independent of the layers run
    assert main(["run", str(case.arch), str(workload), "--quiet", "--layers", "a/b,c",
                 "--trace", str(again)]) == 0
    assert len(list(again.iterdir())) == 8 and set(p.name for p in again.iterdir()) <= set(files)


# ---------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize("argv, needles", [
    (["run"], ["ARCH.yaml", "WORKLOAD.npz", "accelsim run"]),
    (["run", "a.yaml", "w.npz", "--trace-bin", "0"], ["--trace-bin"]),
    (["run", "a.yaml", "w.npz", "--max-macs", "lots"], ["--max-macs", "lots"]),
    (["run", "a.yaml", "w.npz", "--max-macs", "1.5"], ["--max-macs"]),
    (["run", "a.yaml", "w.npz", "--colour"], ["--colour"]),
    (["compare", "--plot"], ["--plot"]),
    (["compare", "a.yaml", "w.npz", "--max-macs", "-3"], ["--max-macs"]),
    (["frobnicate"], ["frobnicate"]),
    ([], ["COMMAND"]),
    (["inspect", "--full", "--tech"], ["--tech"]),
    (["export", "--data"], ["--data", "accelsim export"]),
    (["--debug", "run", "--quiet"], ["ARCH.yaml"]),
])  # fmt: skip
def test_usage_error_is_one_line(argv: list[str], needles: list[str], tmp_path: Path,
                                 capsys) -> None:
    assert_refused(argv, tmp_path, needles, capsys)


def test_help_exits_0_and_lists_exit_codes(capsys) -> None:
    for argv in (["--help"], ["run", "--help"], ["compare", "--help"], ["inspect", "--help"]):
        assert main(argv) == 0
        text = " ".join(capsys.readouterr().out.split())
        assert "exit codes: 0 success" in text and "3 internal error" in text and "130" in text
        assert "SPEC" not in text
    assert main(["run", "--help"]) == 0
    assert "--max-macs" in capsys.readouterr().out


# ---------------------------------------------------------------------------- internal errors


@pytest.mark.parametrize("exc", [RuntimeError("boom\nsecond line"), RecursionError("deep"),
                                 MemoryError("huge")], ids=lambda e: type(e).__name__)
def test_internal_error_is_one_line_exit_3(exc: BaseException, case: Case, monkeypatch,
                                           capsys) -> None:
    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr("accelsim.pipeline.simulate_report", fail)
    before = snapshot(case.tmp)
    assert main(_run(case, "--json", str(case.out / "r.json"), "--trace",
                     str(case.out / "t"))) == 3
    lines = capsys.readouterr().err.strip().splitlines()
    message = " ".join(str(exc).split())
    assert lines == [f"accelsim: internal error — please report: {type(exc).__name__}: {message}"]
    assert snapshot(case.tmp) == before


def test_debug_prints_the_traceback(case: Case, monkeypatch, capsys) -> None:
    def fail(*args, **kwargs):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr("accelsim.workload.load_workload", fail)
    for argv in (["--debug", *_run(case)], [*_run(case), "--debug"]):
        assert main(argv) == 3
        err = capsys.readouterr().err
        assert err.startswith("Traceback") and "ZeroDivisionError: bug" in err
        assert err.strip().splitlines()[-1] == ("accelsim: internal error — please report: "
                                                "ZeroDivisionError: bug")


def test_interrupt_exits_130(case: Case, monkeypatch, capsys) -> None:
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("accelsim.pipeline.simulate_report", interrupt)
    before = snapshot(case.tmp)
    assert main(_run(case, "--json", str(case.out / "r.json"))) == 130
    assert_one_line_error(capsys.readouterr().err, "interrupted")
    assert snapshot(case.tmp) == before


# ---------------------------------------------------------------------------- /dev/stdout


def test_dev_stdout_into_a_pipe_is_written_in_place(case: Case) -> None:
    done = subprocess.run([*accelsim_command(), *_run(case, "--json", "/dev/stdout")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    report, table = done.stdout.split("\n}\n")
    assert json.loads(report + "}")["total"]["check"] == "exact"
    assert "TOTAL" in table and done.stderr == ""


def test_dev_stdout_redirected_to_a_file_is_refused(case: Case) -> None:
    target = case.out / "shell-redirect.txt"
    with open(target, "w") as stdout:
        done = subprocess.run([*accelsim_command(), *_run(case, "--json", "/dev/stdout")],
                              stdout=stdout, stderr=subprocess.PIPE, text=True, check=False)
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "/dev/stdout", "--json", str(target))
    assert target.read_bytes() == b"" and [p.name for p in case.out.iterdir()] == [target.name]
