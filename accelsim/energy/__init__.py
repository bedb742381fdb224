"""Energy accounting: toggles, enabled register bits and time -> pJ (SPEC §5.6).

PROVISIONAL model; see ``accelsim.energy.account``.
"""

from accelsim.energy.account import Tech, energy_pj, load_tech

__all__ = ["Tech", "energy_pj", "load_tech"]
