"""Shared test set-up: Hypothesis profiles (``HYPOTHESIS_PROFILE=ci`` in CI: fewer examples;
``fuzz-long`` for a long fuzzing run, docs/testing.md), the ``slow`` marker and the
``count_plans`` fixture."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=25, deadline=None)
# tests/fuzz, long run (docs/testing.md): thousands of random cases, no shrinking time limit
settings.register_profile("fuzz-long", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_addoption(parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/*/expected.json from the current simulator")


def pytest_configure(config) -> None:
    # The calibration cache of this session (and its subprocesses) lives in a temp folder, not in
    # the user's cache, unless ACCELSIM_CACHE_DIR is set.
    if "ACCELSIM_CACHE_DIR" not in os.environ:
        os.environ["ACCELSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="accelsim-test-cache-")
        config.add_cleanup(lambda: shutil.rmtree(os.environ.pop("ACCELSIM_CACHE_DIR"), True))
    config.addinivalue_line("markers", "slow: takes more than 10 s after the numba compile "
                            "(deselect with -m \"not slow\")")


@pytest.fixture
def count_plans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts ``plan_memory`` calls (the tiling planner) made through ``accelsim.sim.memory``."""
    import accelsim.sim.memory as memory

    calls = [0]
    real = memory.plan_memory

    def counted(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(memory, "plan_memory", counted)
    return calls
