"""PE kinds. Adding a kind = one module here + one line in REGISTRY."""

from __future__ import annotations

from accelsim.pe.base import PeKind
from accelsim.pe.lsqplus import LSQPLUS
from accelsim.pe.mac import MAC
from accelsim.pe.pann import PANN

REGISTRY: dict[str, PeKind] = {MAC.name: MAC, PANN.name: PANN, LSQPLUS.name: LSQPLUS}
