"""Start-up: commands that need no kernels import no numba (nor matplotlib, simpy, dask), and
"compiling kernels…" appears only when numba compiles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from accelsim.compiling import on_first_compile

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("numba", "matplotlib", "simpy", "dask", "scipy", "torch")


def heavy_modules(argv: list[str], cache: Path) -> dict:
    """Run ``accelsim.cli.main(argv)`` in a fresh interpreter; the heavy packages it imported."""
    code = ("import json, sys; from accelsim.cli import main; code = main(sys.argv[1:]); "
            f"print(json.dumps([code, sorted({{m.split('.')[0] for m in sys.modules}} & "
            f"set({list(HEAVY)!r}))]))")
    env = {**os.environ, "PYTHONPATH": str(REPO), "ACCELSIM_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", code, *argv], cwd=REPO, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_help_and_inspect_arch_import_no_heavy_package(tmp_path: Path) -> None:
    arch = "arch_configs/ws-32x32-int8.yaml"
    cache = tmp_path / "cache"
    heavy_modules(["inspect", arch], cache)  # fills the calibration cache (numba allowed)
    assert list(cache.glob("calibration-*.json"))
    assert heavy_modules(["inspect", arch], cache) == [0, []]
    assert heavy_modules(["--help"], cache) == [0, []]
    assert heavy_modules(["inspect", "workloads/example_cnn.npz"], cache) == [0, []]
    assert heavy_modules(["inspect", "--tech", "45nm"], cache) == [0, []]


def test_compiling_note_only_when_numba_compiles() -> None:
    """A freshly defined kernel compiles (the note fires once); calling it again, or loading a
    compiled kernel, does not."""
    from numba import njit

    @njit
    def twice(x):
        return 2 * x

    @njit
    def thrice(x):
        return 3 * x

    notes: list[str] = []
    with on_first_compile(lambda: notes.append("compiling")):
        assert twice(2) == 4 and thrice(2) == 6
    assert notes == ["compiling"]
    with on_first_compile(lambda: notes.append("again")):
        assert twice(3) == 6
    assert notes == ["compiling"]
    assert thrice(1.5) == 4.5  # outside the block: no listener left behind
    assert notes == ["compiling"]


def test_warm_run_prints_no_compiling_note(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "ACCELSIM_CACHE_DIR": str(tmp_path)}
    args = [sys.executable, "-m", "accelsim.cli", "run", "arch_configs/ws-32x32-int8.yaml",
            "workloads/example_cnn.npz"]
    subprocess.run(args, cwd=REPO, env=env, capture_output=True, check=True)  # fills the caches
    second = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert "simulating 3 layer(s)" in second.stderr
    assert "compiling kernels" not in second.stderr
