"""Architecture files: schema (frozen dataclasses) and strict YAML loading
(docs/reference/arch.md)."""

from __future__ import annotations

from accelsim.config.load import arch_to_dict, load_arch
from accelsim.config.schema import Arch

__all__ = ["Arch", "arch_to_dict", "load_arch"]
