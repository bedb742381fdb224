"""PE kinds. Adding a kind = one module here + one line in REGISTRY."""

from __future__ import annotations

from accelsim.pe.base import PeKind
from accelsim.pe.mac import MAC

REGISTRY: dict[str, PeKind] = {MAC.name: MAC}
