"""The documented gate-level structures (docs/datapath.md §2–§3) as netlists.

- :func:`multiplier`: AND-array (unsigned) / Baugh–Wooley (signed) multiplier whose counted nodes
  are the partial products and the row adders' sum and carry nodes, in the documented order.
- :func:`adder`: ripple-carry adder whose counted nodes are the sum and carry bits.
- :func:`overflow_rule`: the wrap/saturate selection after an accumulator adder.
These are built from the text of the docs, independently of the numba kernels, so that simulating
them checks the kernels' toggle counts.
"""

from __future__ import annotations

from accelsim.gates.netlist import Netlist

Bus = list[int]


def full_adder(nl: Netlist, a: int, b: int, c: int) -> tuple[int, int]:
    """Sum and carry nets of one full adder: ``s = a ^ b ^ c``, ``carry = maj(a, b, c)``."""
    t = nl.gate("XOR", a, b)
    s = nl.gate("XOR", t, c)
    carry = nl.gate("OR", nl.gate("AND", a, b), nl.gate("AND", t, c))
    return s, carry


def multiplier(nl: Netlist, x: Bus, w: Bus, x_signed: bool, w_signed: bool,
               cls: str = "mult") -> Bus:
    """Product nets (``len(x) + len(w)`` bits, LSB first) of the §2 multiplier of ``x`` and ``w``.

    The narrower operand is the column operand ``a`` (``x`` on a tie). The §2 node vector
    (partial products row by row, then per row >= 1 its sums and carries) is counted in ``cls``.
    """
    a, b, sa, sb = (x, w, x_signed, w_signed) if len(x) <= len(w) else (w, x, w_signed, x_signed)
    n, m = len(a), len(b)
    pp = []
    for i in range(m):
        row = []
        for j in range(n):
            inverted = (sa and j == n - 1) != (sb and i == m - 1)
            row.append(nl.gate("NAND" if inverted else "AND", a[j], b[i]))
        pp.append(row)
    nodes = [p for row in pp for p in row]
    cin = [0] * m
    a_top = 0
    if sa and sb and n == m:
        a_top = 1
    else:
        if sa:
            cin[n - 1] = 1
        if sb:
            cin[m - 1] = 1
    prev = pp[0] + [0]  # P_0 = B_0 (n bits, no carry)
    low = [prev[0]]
    for i in range(1, m):
        A = prev[1:n + 1]
        if i == 1 and a_top:
            A[n - 1] = 1
        carry = cin[i]
        sums, carries = [], []
        for j in range(n):
            s, carry = full_adder(nl, A[j], pp[i][j], carry)
            sums.append(s)
            carries.append(carry)
        nodes += sums + carries
        prev = sums + [carries[-1]]
        low.append(prev[0])
    product = low[:m - 1] + prev
    if sa or sb:
        product[-1] = nl.gate("NOT", product[-1])
    nl.count(cls, nodes)
    return product


def adder(nl: Netlist, a: Bus, b: Bus, cls: str = "adder", cin: int = 0) -> Bus:
    """Sum nets of the §3 ripple-carry adder (carry-in net ``cin``, 0 by default; carry-out
    dropped); its sum and carry nodes are counted in ``cls``."""
    carry, sums, carries = cin, [], []
    for aj, bj in zip(a, b, strict=True):
        s, carry = full_adder(nl, aj, bj, carry)
        sums.append(s)
        carries.append(carry)
    nl.count(cls, sums + carries)
    return sums


def extend(bus: Bus, width: int, signed: bool) -> Bus:
    """``bus`` sign- or zero-extended to ``width`` nets."""
    return bus + [bus[-1] if signed else 0] * (width - len(bus))


def overflow_rule(nl: Netlist, a: Bus, b: Bus, s: Bus, saturate: bool) -> Bus:
    """The adder result after the overflow rule: ``s`` (wrap), or on signed overflow of
    ``a + b`` the most positive / negative value (saturate)."""
    if not saturate:
        return s
    sign_a, sign_b, sign_s = a[-1], b[-1], s[-1]
    ovf = nl.gate("AND", nl.gate("XNOR", sign_a, sign_b), nl.gate("XOR", sign_s, sign_a))
    not_a = nl.gate("NOT", sign_a)
    out = [nl.gate("MUX", ovf, sj, not_a) for sj in s[:-1]]
    return out + [nl.gate("MUX", ovf, sign_s, sign_a)]


def mux_bus(nl: Netlist, sel: int, a: Bus, b: Bus) -> Bus:
    """``sel ? b : a`` bit by bit."""
    return [nl.gate("MUX", sel, x, y) for x, y in zip(a, b, strict=True)]


def gate_bus(nl: Netlist, en: int, a: Bus) -> Bus:
    """``en ? a : 0`` bit by bit."""
    return [nl.gate("AND", en, x) for x in a]
