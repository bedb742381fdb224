"""Inputs that are not regular files, inputs over a limit, which PE kind runs which quant scheme,
and lsqplus zero points outside x's stored dtype, through the command line (docs/limits.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.config import load_arch
from accelsim.errors import WorkloadError
from accelsim.sim.layer import SCHEMES_BY_KIND, check_layer
from accelsim.workload import Layer, load_workload, save_workload
from tests.cli.test_cli import ARCH_8, EXAMPLE, ROOT, assert_one_line_error, outputs_args
from tests.unit.test_workload import BAD, ZERO_POINT_CASES, _write_raw, lsqplus_conv_layer

ARCH_BY_KIND = {
    "mac": ARCH_8,
    "pann": ROOT / "arch_configs" / "ws-16x16-pann.yaml",
    "lsqplus": ROOT / "arch_configs" / "ws-16x16-lsqplus-output.yaml",
    "bitserial": ROOT / "arch_configs" / "ws-16x16-bitserial.yaml",
}


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail (instead of hanging the suite) if the test blocks for 20 s, e.g. on a FIFO."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError("blocked on a special file")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _refused(argv: list[str], out: Path, capsys, *needles: str) -> None:
    """``argv`` exits 2 with one stderr line holding ``needles`` and writes nothing to ``out``."""
    assert main(argv) == 2
    assert_one_line_error(capsys.readouterr().err, *needles)
    assert list(out.iterdir()) == []


# --------------------------------------------------------------------- regular files only


@pytest.mark.parametrize("role", ["arch", "workload"])
@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_run_refuses_special_files(role: str, special: str, tmp_path: Path, capsys,
                                   no_hang: None) -> None:
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "input.fifo"
        os.mkfifo(path)
    out = tmp_path / "out"
    out.mkdir()
    arch, workload = (path, EXAMPLE) if role == "arch" else (ARCH_8, path)
    kind = "a FIFO (named pipe)" if special == "fifo" else "a character device"
    _refused(["run", str(arch), str(workload), *outputs_args(out)], out, capsys, str(path),
             f"expected a regular file (got {kind})")


def test_inspect_refuses_a_fifo_technology_table(tmp_path: Path, capsys, no_hang: None) -> None:
    fifo = tmp_path / "tech.yaml"
    os.mkfifo(fifo)
    _refused(["inspect", "--tech", str(fifo)], _empty(tmp_path), capsys, str(fifo),
             "expected a regular file (got a FIFO (named pipe))")


def _empty(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir(exist_ok=True)
    return folder


def test_arch_with_a_binary_technology_table(tmp_path: Path, capsys) -> None:
    tech = tmp_path / "tech.yaml"
    tech.write_bytes(b"version: 2\nname: \xff\xfe\x00\x01\n")
    arch = tmp_path / "arch.yaml"
    arch.write_text(ARCH_8.read_text().replace("technology: 45nm", "technology: tech.yaml"))
    before = tech.read_bytes(), arch.read_bytes()
    out = _empty(tmp_path)
    _refused(["run", str(arch), str(EXAMPLE), *outputs_args(out)], out, capsys, str(tech),
             "expected a UTF-8 text file (got undecodable bytes at line 2")
    assert (tech.read_bytes(), arch.read_bytes()) == before


@pytest.mark.parametrize("option", ["--data", "--labels"])
@pytest.mark.parametrize("bad", ["fifo", "/dev/zero", "1 TiB header"])
def test_export_refuses_special_and_lying_arrays(option: str, bad: str, tmp_path: Path, capsys,
                                                 no_hang: None) -> None:
    good = tmp_path / "good.npy"
    np.save(good, np.zeros((4, 3), np.float32))
    if bad == "fifo":
        path = tmp_path / "data.npy"
        os.mkfifo(path)
    elif bad == "/dev/zero":
        path = Path(bad)
    else:
        path = tmp_path / "data.npy"
        np.save(path, np.zeros((4, 3), np.float32))
        data = path.read_bytes().replace(b"(4, 3)", b"(1099511627776,)", 1)
        path.write_bytes(data)
    before = None if bad != "1 TiB header" else path.read_bytes()
    args = {"--data": str(good), "--labels": str(good), option: str(path)}
    out = _empty(tmp_path)
    _refused(["export", "models.py:build", "--data", args["--data"], "--labels", args["--labels"],
              "--scheme", "int:8", "--out", str(out / "w.npz")], out, capsys, str(path), option)
    assert before is None or path.read_bytes() == before


def test_export_refuses_a_fifo_model_source(tmp_path: Path, capsys, no_hang: None) -> None:
    data = tmp_path / "x.npy"
    np.save(data, np.zeros((4, 3), np.float32))
    model = tmp_path / "model.py"
    os.mkfifo(model)
    out = _empty(tmp_path)
    _refused(["export", f"{model}:build", "--data", str(data), "--labels", str(data),
              "--scheme", "int:8", "--out", str(out / "w.npz")], out, capsys, str(model),
             "expected a regular file")


# ------------------------------------------------------------------------------- zip bomb


def test_zip_bomb_through_the_cli_stays_small(tmp_path: Path) -> None:
    # 1 GiB of zeros in a 1 MiB file: before the header checks, loading it took 1.15 GB.
    bomb = tmp_path / "bomb.npz"
    _write_raw(bomb, next(b[1] for b in BAD if b[0] == "zip bomb with a wrong shape"))
    # VmHWM, the peak RSS of this process image (ru_maxrss would carry pytest's over exec).
    code = ("import sys\nfrom accelsim.cli import main\n"
            f"rc = main(['run', {str(ARCH_8)!r}, {str(bomb)!r}])\n"
            "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n"
            "sys.exit(rc)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 2, done.stderr
    assert_one_line_error(done.stderr, str(bomb), "layers[0].y")
    peak_kib = int(done.stdout.split()[-1])
    assert peak_kib < 400 * 1024, peak_kib  # the interpreter, numpy and the CLI: ~100 MB


# ------------------------------------------------------------------- scheme x PE kind


def _layer(scheme: str) -> Layer:
    """A small unsigned-x gemm layer quantized with ``scheme``."""
    rng = np.random.default_rng(3)
    x, w = rng.integers(0, 16, (3, 5)), rng.integers(-8, 8, (5, 4))
    quant: dict = {"scheme": scheme}
    if scheme == "lsqplus":
        quant |= {"x_zero_point": 2, "w_zero_point": 0, "bias": np.zeros(4, np.int64),
                  "multiplier": np.full(4, 1 << 30), "shift": np.ones(4, np.int64),
                  "y_zero_point": 0, "y_bits": 32, "y_signed": True}
    return Layer("g", "gemm", x, w, None, 4, 4, False, True, quant=quant)


@pytest.mark.parametrize("kind", ["mac", "pann", "lsqplus", "bitserial"])
@pytest.mark.parametrize("scheme", ["int", "pann", "lsqplus"])
def test_which_pe_kind_runs_which_scheme(scheme: str, kind: str) -> None:
    arch, layer = load_arch(ARCH_BY_KIND[kind]), _layer(scheme)
    legal = {("int", "mac"), ("pann", "mac"), ("int", "pann"), ("pann", "pann"),
             ("int", "lsqplus"), ("lsqplus", "lsqplus"), ("int", "bitserial"),
             ("pann", "bitserial")}
    assert ((scheme, kind) in legal) == (scheme in SCHEMES_BY_KIND[kind])
    if (scheme, kind) in legal:
        check_layer(arch, layer, "w.npz")
        return
    with pytest.raises(WorkloadError) as err:
        check_layer(arch, layer, "w.npz")
    runner = {"lsqplus": "lsqplus", "pann": "mac or pann"}[scheme]
    assert err.value.key == "layers['g'].quant.scheme"
    assert f"pe.kind {kind} runs" in err.value.one_line()
    assert f"a {scheme} layer runs on pe.kind {runner}" in err.value.one_line()


@pytest.mark.parametrize("scheme, kind", [("lsqplus", "mac"), ("lsqplus", "pann"),
                                          ("pann", "lsqplus")])
def test_unrunnable_scheme_through_the_cli(scheme: str, kind: str, tmp_path: Path,
                                           capsys) -> None:
    path = tmp_path / "w.npz"
    save_workload(path, "s", [_layer(scheme)], {"by": "test"})
    before = path.read_bytes()
    out = _empty(tmp_path)
    _refused(["run", str(ARCH_BY_KIND[kind]), str(path), *outputs_args(out)], out, capsys,
             str(path), "layers['g'].quant.scheme", f"pe.kind {kind}", f"(got '{scheme}')")
    assert path.read_bytes() == before


# ------------------------------------------------- lsqplus zero points, whole simulator


@pytest.mark.parametrize("rescale", ["output", "pe"])
def test_lsqplus_zero_points_outside_the_stored_dtype_run_exactly(rescale: str,
                                                                 tmp_path: Path) -> None:
    layers = [lsqplus_conv_layer(i, *case[:4]) for i, case in enumerate(ZERO_POINT_CASES)]
    workload = tmp_path / "w.npz"
    save_workload(workload, "zp", layers, {"by": "test"})
    stored = [layer.x.dtype for layer in load_workload(workload).layers]
    assert stored == [case[4] for case in ZERO_POINT_CASES]
    arch = tmp_path / "arch.yaml"
    arch.write_text("name: zp\narray: {rows: 4, cols: 4, dataflow: ws}\n"
                    f"pe: {{kind: lsqplus, x_bits: 16, w_bits: 8, acc_bits: 32, "
                    f"lsqplus: {{rescale: {rescale}}}}}\n")
    report, outputs = tmp_path / "r.json", tmp_path / "y.npz"
    argv = ["run", str(arch), str(workload), "--json", str(report), "--outputs", str(outputs),
            "--quiet"]
    assert main(argv) == 0
    checks = {lr["name"]: lr["check"] for lr in json.loads(report.read_text())["layers"]}
    assert checks == {layer.name: "exact" for layer in layers}
    with np.load(outputs) as simulated:
        for layer in layers:
            np.testing.assert_array_equal(simulated[f"{layer.name}/y"], layer.y)


def test_lsqplus_reference_without_y_matches_naive_loops(tmp_path: Path) -> None:
    # No y in the file: the run's own reference decides; it must agree with the naive loops.
    layers = [lsqplus_conv_layer(i, *case[:4]) for i, case in enumerate(ZERO_POINT_CASES)]
    workload = tmp_path / "w.npz"
    save_workload(workload, "zp", [replace(layer, y=None) for layer in layers], {"by": "test"})
    arch = ROOT / "arch_configs" / "ws-16x16-lsqplus-pe.yaml"
    arch_text = arch.read_text().replace("x_bits: 8", "x_bits: 16")
    (tmp_path / "a.yaml").write_text(arch_text)
    outputs = tmp_path / "y.npz"
    assert main(["run", str(tmp_path / "a.yaml"), str(workload), "--outputs", str(outputs),
                 "--quiet"]) == 0
    with np.load(outputs) as simulated:
        for layer in layers:
            np.testing.assert_array_equal(simulated[f"{layer.name}/y"], layer.y)
