"""The output unit of docs/datapath.md §7 as a netlist, built from the text of the docs (not from
the kernel): rounding adder, shift (wiring), two clamp comparators and the clamp multiplexers.
Its counted nodes (class ``output_unit``) are the adders' sum and carry nets, in the documented
order; the output register is left to the caller (its toggles are those of the output bus).
"""

from __future__ import annotations

from accelsim.gates.datapath import Bus, adder, extend, mux_bus
from accelsim.gates.netlist import Netlist


def constant(value: int, width: int) -> Bus:
    """The constant nets (0 or 1) of ``value``'s ``width``-bit pattern, LSB first."""
    return [(value >> j) & 1 for j in range(width)]


def output_unit(nl: Netlist, y: Bus, shift: int, bits: int, lo: int, hi: int,
                cls: str = "output_unit") -> Bus:
    """Output nets (``bits`` wide) of the §7 unit on the signed accumulator bus ``y``."""
    acc_bits = len(y)
    r = y
    if shift:
        wide = extend(y, acc_bits + 1, True)
        half = constant((1 << (shift - 1)) - 1, acc_bits + 1)
        positive = nl.gate("NOT", y[-1])  # carry-in 1 unless y < 0
        r = adder(nl, wide, half, cls, cin=positive)[shift:]
    v = max(acc_bits + 1 - shift, bits + 1) + 1
    rv = extend(r, v, True)
    over = adder(nl, rv, constant(~hi & ((1 << v) - 1), v), cls)  # r - hi - 1
    under = adder(nl, rv, constant(~lo & ((1 << v) - 1), v), cls, cin=1)  # r - lo
    gt = nl.gate("NOT", over[-1])
    low = mux_bus(nl, under[-1], rv[:bits], constant(lo, bits))
    return mux_bus(nl, gt, low, constant(hi, bits))
