"""``accelsim sweep``: the sweep file, point expansion and errors, and runs on Dask (an embedded
LocalCluster with 2 workers, and a separately started scheduler + worker on loopback) whose tables
must equal a sequential run byte for byte."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from accelsim.cli import main
from accelsim.errors import ConfigError
from accelsim.sweep import load_sweep
from accelsim.sweep.point import Outcome, prepare
from accelsim.sweep.results import pareto_ids

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "workloads" / "example_cnn.npz"
DIGITS4 = REPO / "workloads" / "digits_int4.npz"
TABLES = ("results.csv", "results.json", "layers.csv")

#: Four points on the example CNN: 2 sizes x 2 dataflows, LPDDR4 memory (the memory schedule is
#: part of every report), plus an ideal-memory base.
SMALL = """\
version: 1
name: small
base: {base}
workloads: [{workload}]
axes:
  array.size: [[4, 4], [8, 4]]
  array.dataflow: [os, ws]
"""


def write_sweep(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def small(tmp_path: Path, base: str = "ws-32x32-int8-lpddr4.yaml") -> Path:
    return write_sweep(tmp_path, SMALL.format(base=REPO / "arch_configs" / base,
                                              workload=EXAMPLE))


def tables(out: Path) -> dict[str, bytes]:
    files = {name: (out / name).read_bytes() for name in TABLES}
    files.update({f"points/{p.name}": p.read_bytes() for p in sorted((out / "points").iterdir())})
    return files


# ------------------------------------------------------------------------------ the sweep file


def test_expansion_order_axes_and_zip(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, f"""
base: {REPO / 'arch_configs' / 'ws-8x8-int8.yaml'}
workloads: [{{name: a, path: {EXAMPLE}}}, {{name: b, path: {DIGITS4}}}]
axes:
  array.size: [4, [8, 2]]
zip:
  - {{workload: [a, b], pe.x_bits: [8, 4]}}
""")
    sweep = load_sweep(str(path))
    assert sweep.axis_keys == ("array.size", "workload", "pe.x_bits")
    assert [p.label for p in sweep.points] == ["4x4 a 8", "4x4 b 4", "8x2 a 8", "8x2 b 4"]
    last = sweep.points[-1]
    assert (last.arch_doc["array"]["rows"], last.arch_doc["array"]["cols"]) == (8, 2)
    assert last.arch_doc["pe"]["x_bits"] == 4 and last.workload.name == "b"
    assert [p.id for p in sweep.points] == ["p0000", "p0001", "p0002", "p0003"]


def test_workload_axis_is_implicit_and_first(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, f"""
base: {REPO / 'arch_configs' / 'ws-8x8-int8.yaml'}
workloads: [{EXAMPLE}, {DIGITS4}]
axes: {{array.dataflow: [os, is]}}
""")
    sweep = load_sweep(str(path))
    assert sweep.axis_keys == ("workload", "array.dataflow")
    assert [p.label for p in sweep.points] == [
        "example_cnn os", "example_cnn is", "digits_int4 os", "digits_int4 is"]


@pytest.mark.parametrize("body, key, expected", [
    ("axes: {array.dataflw: [os]}", "axes.array.dataflw", "did you mean 'array.dataflow'"),
    ("axes: {array.rows: []}", "axes.array.rows", "a non-empty list"),
    ("axes: {array.rows: 4}", "axes.array.rows", "a non-empty list"),
    ("zip: [{array.rows: [4, 8], array.cols: [4]}]", "zip[0]", "equal length"),
    ("axes: {array.rows: [4]}\nzip: [{array.rows: [8]}]", "array.rows", "one axis or zip"),
    ("axes: {array.size: [[4, 4, 4]]}", "array.size", "[rows, cols]"),
    ("axes: {workload: [nope]}", "workload", "a workload name"),
    ("axis: {array.rows: [4]}", "axis", "did you mean 'axes'"),
    ("version: 2", "version", "the sweep format"),
    ("axes: {array.rows: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], array.cols: [1, 2, 3, 4, 5, 6, 7, 8, "
     "9, 10], pe.x_bits: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], pe.w_bits: [2, 3, 4, 5, 6, 7, 8, 9, "
     "10, 11], pe.acc_bits: [24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34]}", "axes",
     "at most 100,000 points"),
])
def test_bad_sweep_file_is_one_line_exit_2(tmp_path: Path, capsys, body: str, key: str,
                                           expected: str) -> None:
    path = write_sweep(tmp_path, f"base: {REPO / 'arch_configs' / 'ws-8x8-int8.yaml'}\n"
                                 f"workloads: [{EXAMPLE}]\n{body}\n")
    with pytest.raises(ConfigError) as info:
        load_sweep(str(path))
    assert key in info.value.one_line() and expected in info.value.one_line()
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0]
    assert not out.exists(), "a bad sweep file writes nothing"


def test_task_and_outcome_pickle(tmp_path: Path) -> None:
    from accelsim.workload import load_workload

    sweep = load_sweep(str(small(tmp_path)))
    workloads = {w.name: load_workload(w.path) for w in sweep.workloads}
    task = prepare(sweep, sweep.points[0], workloads)
    again = pickle.loads(pickle.dumps(task))
    assert again == task and again.key == task.key
    outcome = Outcome("p0000", None, "x: y: expected z", internal=False)
    assert pickle.loads(pickle.dumps(outcome)) == outcome


def test_a_point_is_planned_once(tmp_path: Path, count_plans: list[int]) -> None:
    """The worker schedules with the memory plan the client's check built (no second plan) and
    reports the same bytes as a run that plans again."""
    from accelsim.sweep.point import evaluate
    from accelsim.workload import load_workload

    sweep = load_sweep(str(small(tmp_path)))
    workloads = {w.name: load_workload(w.path) for w in sweep.workloads}
    calls = count_plans
    task = prepare(sweep, sweep.points[0], workloads)
    assert task.memory_plan is not None and calls[0] == 1
    reused = evaluate(task)
    assert calls[0] == 1 and reused.error is None
    replanned = evaluate(dataclasses.replace(pickle.loads(pickle.dumps(task)), memory_plan=None))
    assert calls[0] == 2 and replanned.report_json == reused.report_json


def test_pareto_front() -> None:
    rows = [{"point": "a", "energy_pj": 1.0, "cycles_total": 10},
            {"point": "b", "energy_pj": 2.0, "cycles_total": 5},
            {"point": "c", "energy_pj": 2.0, "cycles_total": 10},  # dominated by a and b
            {"point": "d", "energy_pj": 1.0, "cycles_total": 10},  # tie with a: kept
            {"point": "e", "energy_pj": None, "cycles_total": None}]
    assert pareto_ids(rows) == {"a", "b", "d"}


# -------------------------------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def sequential(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """The small sweep run sequentially in this process: the reference tables."""
    tmp = tmp_path_factory.mktemp("seq")
    out = tmp / "out"
    assert main(["sweep", str(small(tmp)), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    return tmp, tables(out)


def test_sequential_results(sequential) -> None:
    tmp, files = sequential
    doc = json.loads(files["results.json"])
    points = doc["points"]
    assert [p["point"] for p in points] == ["p0000", "p0001", "p0002", "p0003"]
    for p in points:
        report = json.loads(files[f"points/{p['point']}.json"])
        total = report["total"]
        assert p["status"] == "ok" and p["check"] == "exact"
        assert p["cycles_total"] == total["cycles"]["total"]
        assert p["energy_offchip_pj"] == pytest.approx(total["energy_pj"]["dram"], abs=1e-6)
        assert p["energy_onchip_pj"] + p["energy_offchip_pj"] == pytest.approx(p["energy_pj"],
                                                                               abs=1e-5)
        assert p["dram_read_bytes"] == total["dram"]["read_bytes"] > 0
        assert report["arch"]["array"]["dataflow"] == p["array.dataflow"]
        assert [report["arch"]["array"]["rows"], report["arch"]["array"]["cols"]] == \
            p["array.size"]
        assert p["area_mm2"] == report["area_mm2"]["total"] > 0
    assert any(p["pareto"] for p in points)
    layers = files["layers.csv"].decode().splitlines()
    assert len(layers) == 1 + 4 * 3  # header + 4 points x 3 layers


def test_local_cluster_two_workers_equals_sequential(tmp_path: Path, sequential) -> None:
    out = tmp_path / "out"
    assert main(["sweep", str(small(tmp_path)), "--out", str(out), "--workers", "2",
                 "--quiet"]) == 0
    assert tables(out) == sequential[1]


def test_resume_reuses_matching_reports(tmp_path: Path, sequential, capsys) -> None:
    out = tmp_path / "out"
    path = small(tmp_path)
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--resume"]) == 0
    err = capsys.readouterr().err
    assert err.count(": resumed") == 4
    assert tables(out) == sequential[1]
    # A changed point (other idle policy) has another content key: it runs again.
    text = path.read_text().replace("array.dataflow: [os, ws]", "array.dataflow: [os, ws]\n"
                                    "  array.idle: [zero]")
    path.write_text(text)
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--resume"]) == 0
    assert capsys.readouterr().err.count(": resumed") == 0


def test_bad_point_is_reported_and_others_complete(tmp_path: Path, capsys) -> None:
    path = write_sweep(tmp_path, f"""
base: {REPO / 'arch_configs' / 'ws-8x8-int8.yaml'}
workloads: [{EXAMPLE}]
axes:
  pe.x_bits: [8, 4]          # the example's 8-bit activations do not fit 4-bit PEs
  array.dataflow: [os, ws]
""")
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "0", "--quiet"]) == 4
    doc = json.loads((out / "results.json").read_text())
    status = {p["point"]: (p["status"], p["error"]) for p in doc["points"]}
    assert status["p0000"] == ("ok", None) and status["p0001"] == ("ok", None)
    for pid in ("p0002", "p0003"):
        state, error = status[pid]
        assert state == "error" and "x_bits" in error and str(EXAMPLE) in error
    assert sorted(p.name for p in (out / "points").iterdir()) == [
        "p0000.json", "p0000.key", "p0001.json", "p0001.key"]
    printed = capsys.readouterr().out
    assert "p0002: " in printed and "error" in printed


def _wait_for(path: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {seconds} s")
        time.sleep(0.2)


@pytest.mark.slow
def test_existing_cluster_by_address_equals_sequential(tmp_path: Path, sequential) -> None:
    """A ``dask scheduler`` and a ``dask worker`` started as separate processes on loopback."""
    bindir = Path(sys.executable).parent
    env = {**os.environ, "NUMBA_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    scheduler_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([str(bindir / "dask"), "scheduler", "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file",
                               str(scheduler_file)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        _wait_for(scheduler_file, 60)
        procs.append(subprocess.Popen([str(bindir / "dask"), "worker", "--nthreads", "1",
                                       "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                                      env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        from dask.distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=60)
        out = tmp_path / "out"
        assert main(["sweep", str(small(tmp_path)), "--out", str(out), "--scheduler", address,
                     "--quiet"]) == 0
        assert tables(out) == sequential[1]
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
