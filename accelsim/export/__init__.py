"""``accelsim export``: trained PyTorch networks → workload files (README,
docs/reference/workload.md).

``quantize`` and ``host`` are NumPy only; ``capture`` and ``export`` import torch lazily, inside
functions, so the rest of accelsim (and ``import accelsim.export``) never needs it. Install torch
with the ``[export]`` extra (``torch==2.13.0``, the CPU build).
"""

from __future__ import annotations

from accelsim.export.capture import ExportError

__all__ = ["ExportError", "export_main"]


def export_main(argv=None) -> int:  # noqa: ANN001 — thin forwarder, documented in export.py
    """``accelsim export ARGV`` (see :func:`accelsim.export.export.export_main`)."""
    from accelsim.export.export import export_main as main

    return main(argv)
