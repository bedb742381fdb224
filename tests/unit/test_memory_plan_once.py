"""A run plans its memory traffic once: ``check_run`` builds the tiling plan while checking the
buffers, ``simulate_report`` schedules with it, and the report is byte-identical to planning
again. A PE kind that stretches its folds (pann) is planned again, as before."""

from __future__ import annotations

from pathlib import Path

import accelsim.sim.memory as memory
from accelsim.pipeline import check_run, simulate_report
from accelsim.report import report_json
from accelsim.workload import load_workload

REPO = Path(__file__).resolve().parents[2]


def _run(arch_path: Path, workload_path: Path, reuse: bool) -> bytes:
    workload = load_workload(str(workload_path))
    layers = workload.layers
    if reuse:
        checked = check_run(str(arch_path), workload, layers)
        run = simulate_report(checked.arch, workload, layers, memory_plan=checked.memory_plan)
    else:
        arch = check_run(str(arch_path), workload, layers).arch
        run = simulate_report(arch, workload, layers)
    return report_json(run.report)


def test_one_plan_per_run_same_report(count_plans: list[int]) -> None:
    arch = REPO / "arch_configs" / "is-32x32-int8-lpddr4.yaml"
    workload = REPO / "workloads" / "example_cnn.npz"
    reused = _run(arch, workload, reuse=True)
    assert count_plans[0] == 1
    count_plans[0] = 0
    replanned = _run(arch, workload, reuse=False)
    assert count_plans[0] == 2
    assert reused == replanned


def test_a_plan_can_be_scheduled_twice() -> None:
    workload = load_workload(str(REPO / "workloads" / "example_cnn.npz"))
    checked = check_run(str(REPO / "arch_configs" / "os-32x32-int8-lpddr4.yaml"), workload,
                        workload.layers)
    geoms = [memory.layer_geometry(checked.arch, layer) for layer in workload.layers]
    first = memory.simulate_memory(checked.arch, geoms, plan=checked.memory_plan)
    again = memory.simulate_memory(checked.arch, geoms, plan=checked.memory_plan)
    assert first == again == memory.simulate_memory(checked.arch, geoms)


def test_ideal_memory_has_no_plan(count_plans: list[int]) -> None:
    workload = load_workload(str(REPO / "workloads" / "example_cnn.npz"))
    checked = check_run(str(REPO / "arch_configs" / "ws-8x8-int8.yaml"), workload,
                        workload.layers[:1])
    assert checked.memory_plan is None and count_plans[0] == 0


def test_stretched_folds_are_planned_again(tmp_path: Path, count_plans: list[int]) -> None:
    text = (REPO / "arch_configs" / "ws-16x16-pann.yaml").read_text()
    assert "dram:" not in text
    arch = tmp_path / "pann-dram.yaml"
    arch.write_text(text + "dram: {bandwidth_bytes_per_cycle: 4, latency_cycles: 20, "
                    "burst_bytes: 64}\n")
    workload = REPO / "workloads" / "example_pann.npz"
    reused = _run(arch, workload, reuse=True)
    assert count_plans[0] == 2  # check_run's plan assumed SCALE-Sim fold lengths
    assert reused == _run(arch, workload, reuse=False)


def test_cli_run_plans_once(count_plans: list[int], tmp_path: Path) -> None:
    from accelsim.cli import main

    arch = REPO / "arch_configs" / "is-32x32-int8-lpddr4.yaml"
    workload = REPO / "workloads" / "example_cnn.npz"
    assert main(["run", str(arch), str(workload), "--quiet", "--json",
                 str(tmp_path / "r.json")]) == 0
    assert count_plans[0] == 1
