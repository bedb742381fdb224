"""Report layer without the simulator: hand-built LayerSim objects -> JSON, CSV, npz, table, traces,
atomic writes; and the provisional energy model."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

import accelsim
from accelsim.energy import energy_pj, load_tech
from accelsim.errors import ConfigError
from accelsim.report import (
    WorkloadInfo,
    build_report,
    format_table,
    outputs_npz,
    report_csv,
    report_json,
    trace_files,
    write_atomically,
)
from accelsim.sim.types import GemmResult, LayerSim, class_names

ARCH = {
    "version": 1,
    "name": "t-4x4",
    "clock_mhz": 500.0,
    "array": {"rows": 4, "cols": 4, "dataflow": "ws", "idle": "hold"},
    "pe": {"kind": "mac", "x_bits": 8, "w_bits": 8, "acc_bits": 32, "overflow": "wrap"},
    "buffers": None,
    "dram": None,
    "energy": {"technology": "45nm"},
}
WORKLOAD = WorkloadInfo(name="tiny", sha256="ab" * 32)
CLASSES = class_names("ws")


def make_sim(name: str, seed: int, check: str = "exact", cycles: int = 40,
             trace: bool = False) -> LayerSim:
    """A LayerSim with deterministic pseudo-random figures (a 2×3 gemm output)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(-1000, 1000, size=(2, 3))
    counts = rng.integers(0, 10, size=(cycles, len(CLASSES)))
    result = GemmResult(
        y=y[None],
        toggles={c: int(t) for c, t in zip(CLASSES, counts.sum(axis=0))},
        overflows=int(check == "mismatch"),
        folds=2,
        cycles_compute=cycles,
        cycles_active=cycles - 3,
        macs=2 * 5 * 3,
        trace=counts if trace else None,
    )
    reference = y + (check == "mismatch")
    return LayerSim(name=name, op="gemm", groups=1, M=2, K=5, N=3, result=result, y=y,
                    reference=reference, reference_source="workload", check=check)


def make_energy(seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    e = {c: float(v) for c, v in zip(CLASSES, rng.random(len(CLASSES)) * 10 / 3)}
    e["clock"], e["leakage"] = 1.0 / 3, 2.0 / 7
    e["total"] = sum(e.values())
    return e


def make_report(checks: tuple[str, ...] = ("exact", "exact"), trace: bool = False):
    sims = [make_sim(f"l{i}", i, c, trace=trace) for i, c in enumerate(checks)]
    energies = [make_energy(i) for i in range(len(checks))]
    return build_report(json.loads(json.dumps(ARCH)), WORKLOAD, sims, energies), sims, energies


# ------------------------------------------------------------------------------------- JSON


def test_json_is_byte_identical_for_identical_inputs() -> None:
    assert report_json(make_report()[0]) == report_json(make_report()[0])


def test_json_key_layout_matches_spec() -> None:
    doc = json.loads(report_json(make_report()[0]))
    assert set(doc) == {"accelsim_version", "arch", "workload", "layers", "total"}
    assert doc["accelsim_version"] == accelsim.__version__
    assert doc["arch"] == ARCH
    assert doc["workload"] == {"name": "tiny", "sha256": "ab" * 32}
    layer = doc["layers"][0]
    assert set(layer) == {"name", "op", "gemm", "folds", "cycles", "utilization", "macs",
                          "overflows", "toggles", "energy_pj", "check", "reference"}
    assert set(layer["gemm"]) == {"M", "K", "N", "groups"}
    assert set(layer["cycles"]) == {"total", "compute", "stall", "compute_active"}
    assert set(layer["toggles"]) == set(CLASSES)
    assert set(layer["energy_pj"]) == set(CLASSES) | {"clock", "leakage", "total"}
    assert set(doc["total"]) == {"folds", "cycles", "utilization", "macs", "overflows",
                                 "toggles", "energy_pj", "check"}


def test_json_is_sorted_indented_and_ends_with_newline() -> None:
    text = report_json(make_report()[0]).decode()
    assert text.endswith("}\n") and text.startswith('{\n  "accelsim_version"')
    doc = json.loads(text)
    assert text == json.dumps(doc, sort_keys=True, indent=2) + "\n"


def test_layer_figures_and_rounding() -> None:
    report, sims, energies = make_report()
    lr, sim = report.layers[0], sims[0]
    assert lr.cycles.total == lr.cycles.compute == sim.result.cycles_compute
    assert lr.cycles.stall == 0 and lr.cycles.compute_active == sim.result.cycles_active
    assert lr.utilization == round(30 / (16 * 40), 6)
    assert lr.toggles == sim.result.toggles and lr.reference == "workload"
    assert lr.energy_pj == {k: round(v, 6) for k, v in energies[0].items()}
    assert lr.energy_pj["clock"] == 0.333333


def test_totals_sum_layers() -> None:
    report, sims, energies = make_report(("exact", "mismatch"))
    t = report.total
    assert t.folds == 4 and t.macs == 60 and t.overflows == 1
    assert t.cycles.total == 80 and t.cycles.stall == 0 and t.cycles.compute_active == 74
    assert t.utilization == round(60 / (16 * 80), 6)
    for c in CLASSES:
        assert t.toggles[c] == sum(s.result.toggles[c] for s in sims)
        assert t.energy_pj[c] == round(energies[0][c] + energies[1][c], 6)
    assert t.check == "mismatch"
    assert make_report()[0].total.check == "exact"


def test_os_dataflow_reports_acc_reg() -> None:
    sim = make_sim("a", 0)
    toggles = dict(zip(class_names("os"), sim.result.toggles.values()))
    result = GemmResult(**{**sim.result.__dict__, "toggles": toggles})
    sim = LayerSim(**{**sim.__dict__, "result": result})
    report = build_report(ARCH, WORKLOAD, [sim], [{"acc_reg": 1.0, "total": 1.0}])
    assert "acc_reg" in report.total.toggles and "psum_reg" not in report.total.toggles


# -------------------------------------------------------------------------------------- CSV


def test_csv_headers_and_rows() -> None:
    report = make_report()[0]
    text = report_csv(report).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "layer", "op", "groups", "gemm_m", "gemm_k", "gemm_n", "folds", "cycles_total",
        "cycles_compute", "cycles_stall", "cycles_compute_active", "utilization_fraction", "macs",
        "overflows", "toggles_x_reg", "toggles_w_reg", "toggles_psum_reg", "toggles_mult",
        "toggles_adder", "energy_x_reg_pj", "energy_w_reg_pj", "energy_psum_reg_pj",
        "energy_mult_pj", "energy_adder_pj", "energy_clock_pj", "energy_leakage_pj",
        "energy_total_pj", "check", "reference",
    ]  # fmt: skip
    assert len(rows) == 1 + len(report.layers)
    assert all(len(r) == len(rows[0]) for r in rows)
    assert not any(line.endswith(",") for line in text.splitlines())
    row = dict(zip(rows[0], rows[1]))
    lr = report.layers[0]
    assert row["layer"] == "l0" and int(row["cycles_total"]) == lr.cycles.total
    assert int(row["toggles_mult"]) == lr.toggles["mult"]
    assert row["energy_total_pj"] == f"{lr.energy_pj['total']:.6f}"
    assert row["utilization_fraction"] == f"{lr.utilization:.6f}"
    assert "\r" not in text


# -------------------------------------------------------------------------------------- npz


def test_outputs_npz_round_trip(tmp_path: Path) -> None:
    sims = make_report()[1]
    path = tmp_path / "y.npz"
    path.write_bytes(outputs_npz(sims))
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["l0/y", "l1/y"]
        for s in sims:
            assert npz[f"{s.name}/y"].dtype.kind == "i"
            np.testing.assert_array_equal(npz[f"{s.name}/y"], s.y)


# ----------------------------------------------------------------------------- atomic write


def test_write_atomically_writes_all(tmp_path: Path) -> None:
    files = {tmp_path / "a.json": b"{}\n", tmp_path / "b.csv": b"x\n"}
    write_atomically(files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.csv"]
    assert (tmp_path / "b.csv").read_bytes() == b"x\n"
    mode = (tmp_path / "a.json").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


def test_write_atomically_leaves_nothing_on_failure(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_bytes(b"old")
    files = {
        tmp_path / "new.csv": b"x\n",
        tmp_path / "old.json": b"new",
        tmp_path / "missing" / "c.npz": b"z",  # its folder does not exist
    }
    with pytest.raises(OSError):
        write_atomically(files)
    assert [p.name for p in tmp_path.iterdir()] == ["old.json"]
    assert (tmp_path / "old.json").read_bytes() == b"old"


# ------------------------------------------------------------------------------------ table


def test_table_formatting() -> None:
    report = make_report(("exact", "mismatch"))[0]
    lines = format_table(report).splitlines()
    assert lines[0].split() == ["layer", "cycles", "util", "%", "stall", "cycles", "energy", "µJ",
                                "top", "energy", "check"]
    assert set(lines[1]) == {"-"} and set(lines[-2]) == {"-"}
    assert len(lines) == 2 + len(report.layers) + 2
    assert lines[-1].startswith("TOTAL") and lines[-1].endswith("mismatch")
    assert lines[2].startswith("l0") and lines[2].endswith("exact")
    # Right-aligned numeric columns line up at the header's right edge.
    cycles_end = lines[0].index("cycles") + len("cycles")
    assert all(line[cycles_end - 1] != " " for line in lines[2:4])
    lr = report.layers[0]
    assert f"{lr.energy_pj['total'] / 1e6:.6f}" in lines[2]
    assert f"{100 * lr.utilization:.2f}" in lines[2]
    top = max((k for k in lr.energy_pj if k != "total"), key=lr.energy_pj.get)
    assert f"{top} {100 * lr.energy_pj[top] / lr.energy_pj['total']:.0f}%" in lines[2]


# ------------------------------------------------------------------------------------ trace


@pytest.mark.parametrize("cycles", [40, 4321])
def test_trace_files(tmp_path: Path, cycles: int) -> None:
    sims = [make_sim("conv/1", 0, cycles=cycles, trace=True)]
    files = trace_files(sims, CLASSES, tmp_path)
    assert sorted(p.name for p in files) == ["conv_1.trace.csv", "conv_1.trace.png"]
    rows = list(csv.reader(io.StringIO(files[tmp_path / "conv_1.trace.csv"].decode())))
    assert rows[0] == ["cycle", *CLASSES, "total"]
    assert len(rows) == 1 + cycles
    table = np.array(rows[1:], dtype=np.int64)
    np.testing.assert_array_equal(table[:, 0], np.arange(cycles))
    np.testing.assert_array_equal(table[:, 1:-1], sims[0].result.trace)
    np.testing.assert_array_equal(table[:, -1], sims[0].result.trace.sum(axis=1))
    assert files[tmp_path / "conv_1.trace.png"].startswith(b"\x89PNG\r\n\x1a\n")


def test_trace_files_need_traces(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="without a trace"):
        trace_files([make_sim("a", 0)], CLASSES, tmp_path)


# ----------------------------------------------------------------------------------- energy


def fake_arch(dataflow: str = "ws", technology: str = "45nm") -> SimpleNamespace:
    return SimpleNamespace(
        clock_mhz=500.0,
        array=SimpleNamespace(rows=4, cols=4, dataflow=dataflow, idle="hold"),
        pe=SimpleNamespace(x_bits=8, w_bits=8, acc_bits=32),
        energy=SimpleNamespace(technology=technology),
    )


def test_builtin_table_has_a_source_for_every_number() -> None:
    tech = load_tech("45nm")
    assert set(tech.toggle_pj) == {"x_reg", "w_reg", "psum_reg", "acc_reg", "mult", "adder"}
    assert tech.toggle_pj["adder"] == pytest.approx(0.03 / 8)
    assert tech.toggle_pj["mult"] == pytest.approx(0.2 / 88, abs=1e-5)


@pytest.mark.parametrize("dataflow, bits_per_mac", [("ws", 8 + 32), ("os", 8 + 8 + 32),
                                                    ("is", 8 + 32)])
def test_energy_pj(dataflow: str, bits_per_mac: int) -> None:
    sim = make_sim("a", 0)
    toggles = dict(zip(class_names(dataflow), sim.result.toggles.values()))
    sim = LayerSim(**{**sim.__dict__, "result": GemmResult(**{**sim.result.__dict__,
                                                              "toggles": toggles})})
    e = energy_pj(fake_arch(dataflow), sim)
    tech = load_tech("45nm")
    assert list(e) == [*class_names(dataflow), "clock", "leakage", "total"]
    for c, t in toggles.items():
        assert e[c] == pytest.approx(t * tech.toggle_pj[c])
    assert e["clock"] == pytest.approx(tech.clock_pj_per_bit_cycle * bits_per_mac * 30)
    # 5 uW per PE x 16 PEs x 40 cycles at 500 MHz (80 ns) = 6.4 pJ
    assert e["leakage"] == pytest.approx(6.4)
    assert e["total"] == pytest.approx(sum(v for k, v in e.items() if k != "total"))


def _tech_file(tmp_path: Path, **changes: object) -> str:
    doc = yaml.safe_load((Path(accelsim.__file__).parent / "energy/tech/45nm.yaml").read_text())
    doc.update(changes)
    path = tmp_path / "tech.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_user_tech_file(tmp_path: Path) -> None:
    path = _tech_file(tmp_path, name="mine")
    assert load_tech(path).name == "mine"
    assert load_tech(path).file == path


@pytest.mark.parametrize("changes, key", [
    ({"version": 2}, "version"),
    ({"clock_pj_per_bit_cycle": {"value": -1, "source": "x"}}, "clock_pj_per_bit_cycle.value"),
    ({"leakage_pw_per_pe": {"value": 1.0}}, "leakage_pw_per_pe"),
    ({"toggle_energy_pj": {"mult": {"value": 0.1, "source": ""}}}, "toggle_energy_pj.mult.source"),
    ({"sram": 1}, "sram"),
])  # fmt: skip
def test_bad_tech_file(tmp_path: Path, changes: dict, key: str) -> None:
    path = _tech_file(tmp_path, **changes)
    with pytest.raises(ConfigError) as err:
        load_tech(path)
    assert err.value.file == path and err.value.key == key


def test_missing_class_energy_is_a_config_error(tmp_path: Path) -> None:
    path = _tech_file(tmp_path, toggle_energy_pj={"mult": {"value": 0.1, "source": "s"}})
    with pytest.raises(ConfigError) as err:
        energy_pj(fake_arch(technology=path), make_sim("a", 0))
    assert err.value.key == "toggle_energy_pj.x_reg"
