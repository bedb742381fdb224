"""A small NumPy gate-level simulator (zero delay and unit delay) for :class:`Netlist`.

Zero delay: every cycle the combinational gates settle once, in topological order; a node toggles
when its settled value differs from the previous cycle's. Unit delay: every gate takes one time
unit, so a node may change several times in a cycle before it settles (glitches); every change is
counted. Registers load ``d`` at the end of a cycle; a register bit toggles when ``q != d``.
Values are ``uint8`` 0/1 arrays with a trailing batch axis, so independent cycles (combinational
streams) or independent circuits evaluate in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.gates.netlist import Netlist

_OPS = {
    "BUF": lambda a: a, "NOT": lambda a: a ^ 1, "AND": lambda a, b: a & b,
    "NAND": lambda a, b: (a & b) ^ 1, "OR": lambda a, b: a | b, "NOR": lambda a, b: (a | b) ^ 1,
    "XOR": lambda a, b: a ^ b, "XNOR": lambda a, b: a ^ b ^ 1, "ANDNOT": lambda a, b: a & (b ^ 1),
    "ORNOT": lambda a, b: a | (b ^ 1), "MUX": lambda s, a, b: np.where(s == 1, b, a),
}


@dataclass(frozen=True)
class Compiled:
    """Gates grouped by (topological level, kind): ``steps`` is a list of (kind, outs, ins)."""

    n_nets: int
    steps: list[tuple[str, np.ndarray, np.ndarray]]
    by_kind: list[tuple[str, np.ndarray, np.ndarray]]
    reg_q: np.ndarray
    reg_d: np.ndarray
    depth: int


def compile_netlist(nl: Netlist) -> Compiled:
    """Levelize ``nl``; raises ValueError on a combinational loop or a net driven twice."""
    level = np.zeros(nl.n_nets, dtype=np.int64)
    driver: dict[int, int] = {}
    for g, (_, out, _) in enumerate(nl.gates):
        if out in driver or out < 2:
            raise ValueError(f"net {out} has more than one driver")
        driver[out] = g
    waiting = [0] * len(nl.gates)  # undriven-yet inputs per gate (Kahn's algorithm)
    readers: dict[int, list[int]] = {}
    ready = []
    for g, (_, _, ins) in enumerate(nl.gates):
        for i in ins:
            if i in driver:
                waiting[g] += 1
                readers.setdefault(i, []).append(g)
        if not waiting[g]:
            ready.append(g)
    done = 0
    while ready:
        g = ready.pop()
        done += 1
        _, out, ins = nl.gates[g]
        level[out] = 1 + max(int(level[i]) for i in ins)
        for r in readers.get(out, ()):
            waiting[r] -= 1
            if not waiting[r]:
                ready.append(r)
    if done != len(nl.gates):
        raise ValueError("combinational loop in the netlist")
    groups: dict[tuple[int, str], list[tuple[int, tuple[int, ...]]]] = {}
    kinds: dict[str, list[tuple[int, tuple[int, ...]]]] = {}
    for kind, out, ins in nl.gates:
        groups.setdefault((int(level[out]), kind), []).append((out, ins))
        kinds.setdefault(kind, []).append((out, ins))

    def pack(items):
        return (np.array([o for o, _ in items], dtype=np.int64),
                np.array([i for _, i in items], dtype=np.int64).T.copy())

    steps = [(k, *pack(groups[(lv, k)])) for lv, k in sorted(groups)]
    by_kind = [(k, *pack(v)) for k, v in sorted(kinds.items())]
    bad = [q for q, d in nl.regs if d < 0]
    if bad:
        raise ValueError(f"register net {bad[0]} has no d input")
    return Compiled(nl.n_nets, steps, by_kind,
                    np.array([q for q, _ in nl.regs], dtype=np.int64),
                    np.array([d for _, d in nl.regs], dtype=np.int64),
                    int(level.max()) if nl.gates else 0)


def settle(c: Compiled, values: np.ndarray) -> None:
    """Zero-delay evaluation in place: ``values`` [n_nets, batch] with inputs, constants and
    register outputs set."""
    for kind, outs, ins in c.steps:
        values[outs] = _OPS[kind](*(values[i] for i in ins))


def unit_delay_changes(c: Compiled, start: np.ndarray, settled: np.ndarray) -> np.ndarray:
    """Per-net change counts [n_nets, batch] under unit gate delay.

    ``start`` holds, per batch column, the previous settled state with this cycle's inputs and
    register outputs applied; every gate then updates simultaneously from the previous time
    step's values until nothing changes (at most depth + 1 steps). Checked against ``settled``
    (the zero-delay result): a unit-delay network settles to the same values.
    """
    values = start.copy()
    changes = np.zeros(values.shape, dtype=np.int64)
    for _ in range(c.depth + 2):
        new = values.copy()
        for kind, outs, ins in c.by_kind:
            new[outs] = _OPS[kind](*(values[i] for i in ins))
        diff = new != values
        if not diff.any():
            break
        changes += diff
        values = new
    if not np.array_equal(values, settled):
        raise AssertionError("unit-delay evaluation did not settle to the zero-delay values")
    return changes


def _settled(nl: Netlist, inputs: dict[str, np.ndarray]) -> tuple[Compiled, np.ndarray]:
    """Zero-delay values [n_nets, T + 1] of a combinational netlist: column 0 is the all-zero
    input state, column t + 1 cycle t."""
    if nl.regs:
        raise ValueError("a combinational netlist is needed here")
    c = compile_netlist(nl)
    T = len(next(iter(inputs.values())))
    values = np.zeros((nl.n_nets, T + 1), dtype=np.uint8)
    values[1] = 1
    for name, nets in nl.inputs.items():
        data = np.concatenate([[0], np.asarray(inputs[name], dtype=np.int64)])
        for b, n in enumerate(nets):
            values[n] = (data >> b) & 1
    settle(c, values)
    return c, values


def outputs(nl: Netlist, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Output bus values per cycle (name -> unsigned int64 [T]) of a combinational netlist."""
    _, values = _settled(nl, inputs)
    return {name: sum(values[n, 1:].astype(np.int64) << b for b, n in enumerate(nets))
            for name, nets in nl.outputs.items()}


def net_toggles(nl: Netlist, inputs: dict[str, np.ndarray], glitches: bool = False
                ) -> np.ndarray:
    """Toggles per net per cycle [n_nets, T] of a purely combinational netlist driven by
    ``inputs`` (bus name -> integer array [T], bit patterns). Cycle 0 is relative to the
    all-zero input state; with ``glitches`` the unit-delay counts."""
    c, values = _settled(nl, inputs)
    if glitches:
        start = values[:, :-1].copy()
        for nets in nl.inputs.values():
            start[nets] = values[nets, 1:]
        return unit_delay_changes(c, start, values[:, 1:])
    return (values[:, 1:] != values[:, :-1]).astype(np.int64)


def stream(nl: Netlist, inputs: dict[str, np.ndarray], glitches: bool = False
           ) -> dict[str, np.ndarray]:
    """Toggles per counted class per cycle (class -> int64 [T]) of a combinational netlist; see
    :func:`net_toggles`."""
    per_net = net_toggles(nl, inputs, glitches)
    return {cls: per_net[nets].sum(axis=0) for cls, nets in nl.nodes.items()}


def fanout(nl: Netlist) -> np.ndarray:
    """Loads per net [n_nets]: gate inputs and register inputs it drives, plus one per output
    port bit (a capacitance proxy)."""
    out = np.zeros(nl.n_nets, dtype=np.int64)
    for _, _, ins in nl.gates:
        for i in ins:
            out[i] += 1
    for _, d in nl.regs:
        out[d] += 1
    for nets in nl.outputs.values():
        for n in nets:
            out[n] += 1
    return out


class Sequential:
    """Cycle-by-cycle zero-delay simulation of a netlist with registers (all reset to 0).

    :meth:`step` applies inputs, settles, counts the toggles of every class in this cycle and
    clocks the registers.
    """

    def __init__(self, nl: Netlist) -> None:
        self.nl = nl
        self.c = compile_netlist(nl)
        self.values = np.zeros((nl.n_nets, 1), dtype=np.uint8)
        self.values[1] = 1
        settle(self.c, self.values)
        self.prev = self.values.copy()
        self._nodes = {k: np.array(v, dtype=np.int64) for k, v in nl.nodes.items()}
        q_index = {q: i for i, q in enumerate(self.c.reg_q)}
        self._regs = {k: np.array([q_index[q] for q in v], dtype=np.int64)
                      for k, v in nl.reg_classes.items()}

    def set(self, name: str, value: int) -> None:
        """Drive input bus ``name`` with the bit pattern of ``value`` (this cycle on)."""
        for b, n in enumerate(self.nl.inputs[name]):
            self.values[n, 0] = (value >> b) & 1

    def read(self, nets: list[int]) -> int:
        """The unsigned pattern on ``nets`` (LSB first) after the last settle."""
        return sum(int(self.values[n, 0]) << b for b, n in enumerate(nets))

    def step(self) -> dict[str, int]:
        """Settle, count this cycle's toggles per class (a class may hold both nodes and
        register bits), clock the registers."""
        settle(self.c, self.values)
        out = {k: int((self.values[v, 0] != self.prev[v, 0]).sum()) for k, v in self._nodes.items()}
        q, d = self.values[self.c.reg_q, 0], self.values[self.c.reg_d, 0]
        for k, idx in self._regs.items():
            out[k] = out.get(k, 0) + int((q[idx] != d[idx]).sum())
        self.prev = self.values.copy()
        self.values[self.c.reg_q, 0] = d
        return out
