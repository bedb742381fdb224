"""Shared test set-up: Hypothesis profiles (``HYPOTHESIS_PROFILE=ci`` in CI: fewer examples)."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_addoption(parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/*/expected.json from the current simulator")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: end-to-end tests of several seconds or more "
                                       "(the quick loop: pytest -m 'not slow')")
