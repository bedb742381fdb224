"""Property-based fuzzing of whole runs through the command line (docs/testing.md)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

#: Examples per fuzz test under the short profiles; any other profile (``fuzz-long``) decides.
_EXAMPLES = {"ci": 150, "dev": 40}


def fuzz_settings() -> settings:
    """The fuzz tests' settings: no deadline (the first case compiles the kernels), and under the
    short profiles more examples than other tests get (a case costs ~0.1 s once the kernels are
    compiled); under any other profile its own example count."""
    examples = _EXAMPLES.get(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
    return settings(
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                               HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
        **({} if examples is None else {"max_examples": examples}),
    )
