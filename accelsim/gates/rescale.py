"""The lsqplus rescale unit (docs/lsqplus.md §5.1, class ``rescale``) and the row-sum correction
(§3.3, class ``rowsum``) as gate-level structures.

One unit per array column, on operand-isolated inputs (a column that does not evaluate does not
toggle). Counted nodes, in the order of §5.1: R1 bias adder, R2 left barrel shifter, R3 32×32
Baugh–Wooley high-mul multiplier, R4 rounding incrementer, R5 saturation mux, R6 rounding adder,
R7 arithmetic right barrel shifter, R8 zero-point adder, R9 clamped output. The decoders of the
shift amounts and of R6's addend are control (§5.1: not counted): the unit receives the decoded
``left`` and ``e`` bits, ``half`` = 2^(e−1) and ``halfm1`` = 2^(e−1) − 1 (0 when ``e`` = 0) and
``eon`` = (e > 0); the comparators of the clamp are gates but not counted.
"""

from __future__ import annotations

from accelsim.gates.datapath import Bus, adder, extend, full_adder, multiplier, mux_bus
from accelsim.gates.netlist import Netlist


def _less(nl: Netlist, a: Bus, b: Bus) -> int:
    """``a < b`` for signed patterns of equal width (uncounted comparator)."""
    a, b = extend(a, len(a) + 1, True), extend(b, len(b) + 1, True)
    carry = 1
    s = 0
    for aj, bj in zip(a, b, strict=True):
        s, carry = full_adder(nl, aj, nl.gate("NOT", bj), carry)
    return s  # sign of a - b


def _is_min(nl: Netlist, bus: Bus) -> int:
    """``bus`` is the most negative pattern (sign bit set, all others clear); uncounted."""
    low = 0
    for n in bus[:-1]:
        low = nl.gate("OR", low, n)
    return nl.gate("ANDNOT", bus[-1], low)


def _counted(nl: Netlist, cls: str, bus: Bus) -> Bus:
    """Count ``bus`` in ``cls``; constant nets get a buffer so that each node is a net."""
    out = [nl.gate("BUF", n) if n in (0, 1) else n for n in bus]
    nl.count(cls, out)
    return out


def correction(nl: Netlist, t1: Bus, zw: Bus, sx: Bus, zw_signed: bool) -> Bus:
    """§3.3: ``t1 − wrap32(z_w·Sx)`` (class ``rowsum``): §2 multiplier of ``zw`` (column operand)
    by ``sx`` (signed), then a 32-bit subtractor ``t1 + ~P + 1``."""
    p = multiplier(nl, zw, sx, zw_signed, True, cls="rowsum")
    p = extend(p, 32, True)[:32]
    return adder(nl, t1, [nl.gate("NOT", b) for b in p], cls="rowsum", cin=1)


def rescale_unit(nl: Netlist, a: Bus, b: Bus, mq: Bus, left: Bus, e: Bus, half: Bus,
                 halfm1: Bus, eon: int, zy: Bus, lo: Bus, hi: Bus, y_bits: int,
                 corr: tuple[Bus, Bus, bool] | None = None) -> Bus:
    """The R1–R9 pipeline on (already isolated) inputs; returns the ``y_bits`` output nets.

    ``a``: the column result (``acc_bits``); ``b``, ``mq``: 32-bit; ``left``, ``e``: 5 bits;
    ``half``, ``halfm1``, ``zy``, ``lo``, ``hi``: 33-bit patterns. ``corr`` = (``zw``, ``sx``,
    ``zw_signed``) inserts the row-sum correction after R1."""
    cls = "rescale"
    a32 = extend(a, 32, True)[:32]
    t = adder(nl, a32, b, cls=cls)                                        # R1
    if corr is not None:
        t = correction(nl, t, corr[0], corr[1], corr[2])
    v = t
    for j in range(5):                                                    # R2
        k = 1 << j
        shifted = [0] * k + v[:32 - k]
        v = _counted(nl, cls, mux_bus(nl, left[j], v, shifted))
    product = multiplier(nl, v, mq, True, True, cls=cls)                  # R3
    inc = adder(nl, product[30:64], [0] * 34, cls=cls, cin=1)             # R4
    sat = nl.gate("AND", _is_min(nl, v), _is_min(nl, mq))
    h = _counted(nl, cls, mux_bus(nl, sat, inc[1:33], [1] * 31 + [0]))    # R5
    neg = nl.gate("AND", h[-1], eon)
    addend = mux_bus(nl, neg, half, halfm1)
    u = adder(nl, extend(h, 33, True), addend, cls=cls)                   # R6
    for j in range(5):                                                    # R7
        k = 1 << j
        shifted = u[k:] + [u[-1]] * k
        u = _counted(nl, cls, mux_bus(nl, e[j], u, shifted))
    z = adder(nl, u, zy, cls=cls)                                         # R8
    below, above = _less(nl, z, lo), _less(nl, hi, z)                     # R9
    y = mux_bus(nl, above, mux_bus(nl, below, z, lo), hi)[:y_bits]
    return _counted(nl, cls, y)
