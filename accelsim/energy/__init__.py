"""Energy model (``docs/energy.md``): technology tables (``tech``), the calibration
of per-toggle energies against them (``calibrate``) and the per-layer accounting (``account``)."""

from accelsim.energy.account import (
    class_toggle_pj,
    enabled_bit_cycles,
    energy_pj,
    leakage_pw,
    power_trace_pj,
)
from accelsim.energy.calibrate import Calibration, calibrate, calibration
from accelsim.energy.tech import Tech, builtin_names, load_tech

__all__ = [
    "Calibration",
    "Tech",
    "builtin_names",
    "calibrate",
    "calibration",
    "class_toggle_pj",
    "enabled_bit_cycles",
    "energy_pj",
    "leakage_pw",
    "load_tech",
    "power_trace_pj",
]
