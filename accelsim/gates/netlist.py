"""Gate-level netlists: a tiny flat representation, a builder, structural Verilog out and Yosys
JSON in.

A :class:`Netlist` is a list of single-output gates over integer nets (net 0 is constant 0, net 1
constant 1), positive-edge registers (``q`` net, ``d`` net), named input buses and named groups of
*counted* nets: combinational node classes (``mult``, ``adder``) and register classes (``x_reg``,
...). It is what :mod:`accelsim.gates.evaluate` simulates, whether it was built here from the
documented structures (:mod:`accelsim.gates.datapath`) or read back from Yosys.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

#: Gate kinds and their input counts. ``MUX`` ins are (select, a, b): ``select ? b : a``;
#: ``ANDNOT`` is ``a & ~b``, ``ORNOT`` is ``a | ~b`` (Yosys' internal cell library).
ARITY = {"BUF": 1, "NOT": 1, "AND": 2, "NAND": 2, "OR": 2, "NOR": 2, "XOR": 2, "XNOR": 2,
         "ANDNOT": 2, "ORNOT": 2, "MUX": 3}
_VERILOG = {"BUF": "{0}", "NOT": "~{0}", "AND": "{0} & {1}", "NAND": "~({0} & {1})",
            "OR": "{0} | {1}", "NOR": "~({0} | {1})", "XOR": "{0} ^ {1}", "XNOR": "~({0} ^ {1})",
            "ANDNOT": "{0} & ~{1}", "ORNOT": "{0} | ~{1}", "MUX": "{0} ? {2} : {1}"}
_YOSYS = {f"$_{k}_": k for k in ARITY}
_YOSYS_PORTS = {"MUX": ("S", "A", "B"), "NOT": ("A",), "BUF": ("A",)}
_DFF = ("$_DFF_P_",)


@dataclass
class Netlist:
    """A flat gate-level netlist (see the module docstring).

    ``gates``: ``(kind, out, ins)``; ``regs``: ``(q, d)``; ``inputs``/``outputs``: bus name -> nets,
    LSB first; ``nodes``: combinational class -> counted nets; ``reg_classes``: register class ->
    its ``q`` nets.
    """

    n_nets: int = 2
    gates: list[tuple[str, int, tuple[int, ...]]] = field(default_factory=list)
    regs: list[tuple[int, int]] = field(default_factory=list)
    inputs: dict[str, list[int]] = field(default_factory=dict)
    outputs: dict[str, list[int]] = field(default_factory=dict)
    nodes: dict[str, list[int]] = field(default_factory=dict)
    reg_classes: dict[str, list[int]] = field(default_factory=dict)

    # -------------------------------------------------------------------------------- building

    def net(self) -> int:
        """A new net."""
        self.n_nets += 1
        return self.n_nets - 1

    def gate(self, kind: str, *ins: int) -> int:
        """Add a ``kind`` gate over ``ins`` and return its output net."""
        assert len(ins) == ARITY[kind], (kind, ins)
        out = self.net()
        self.gates.append((kind, out, tuple(ins)))
        return out

    def input(self, name: str, width: int) -> list[int]:
        """A new input bus of ``width`` nets (LSB first)."""
        self.inputs[name] = [self.net() for _ in range(width)]
        return self.inputs[name]

    def register(self, width: int, cls: str | None = None) -> list[int]:
        """``width`` register ``q`` nets (their ``d`` is set with :meth:`connect`); counted in
        register class ``cls`` if given."""
        q = [self.net() for _ in range(width)]
        self.regs += [(b, -1) for b in q]
        if cls is not None:
            self.reg_classes.setdefault(cls, []).extend(q)
        return q

    def connect(self, q: list[int], d: list[int]) -> None:
        """Set the ``d`` input of the registers whose outputs are ``q``."""
        index = {qq: i for i, (qq, _) in enumerate(self.regs)}
        for qq, dd in zip(q, d, strict=True):
            self.regs[index[qq]] = (qq, dd)

    def count(self, cls: str, nets: list[int]) -> None:
        """Count ``nets`` as nodes of combinational class ``cls``."""
        self.nodes.setdefault(cls, []).extend(nets)

    def stats(self) -> dict[str, int]:
        """Cell counts by kind (gates by kind, ``DFF`` for register bits)."""
        out: dict[str, int] = {}
        for kind, _, _ in self.gates:
            out[kind] = out.get(kind, 0) + 1
        if self.regs:
            out["DFF"] = len(self.regs)
        return dict(sorted(out.items()))

    # -------------------------------------------------------------------------------- Verilog

    def verilog(self, module: str) -> str:
        """Structural Verilog of the netlist: one ``assign`` per gate, one flip-flop per register
        bit (``clk``, reset to 0 by ``rst``). Counted nets are named ``<class>__<i>`` and marked
        ``keep``, so that a tool reading the file back keeps them and their class."""
        name = {0: "1'b0", 1: "1'b1"}
        for cls, nets in self.nodes.items():
            for i, n in enumerate(nets):
                name.setdefault(n, f"{cls}__{i}")
        for cls, nets in self.reg_classes.items():  # ``__r``: a class may hold nodes and registers
            for i, n in enumerate(nets):
                name.setdefault(n, f"{cls}__{'r' if cls in self.nodes else ''}{i}")
        for bus, nets in self.inputs.items():
            for i, n in enumerate(nets):
                name.setdefault(n, f"{bus}[{i}]")
        for n in range(2, self.n_nets):
            name.setdefault(n, f"n{n}")
        ports = ["clk", "rst"] + list(self.inputs) + list(self.outputs)
        lines = [f"module {module}({', '.join(ports)});", "  input clk, rst;"]
        lines += [f"  input [{len(v) - 1}:0] {k};" for k, v in self.inputs.items()]
        lines += [f"  output [{len(v) - 1}:0] {k};" for k, v in self.outputs.items()]
        inputs = {n for v in self.inputs.values() for n in v}
        regs = {q for q, _ in self.regs}
        counted = {n for v in (*self.nodes.values(), *self.reg_classes.values()) for n in v}

        def keep(n: int) -> str:
            return "(* keep *) " if n in counted else ""

        lines += [f"  {keep(q)}reg {name[q]};" for q, _ in self.regs]
        lines += [f"  {keep(n)}wire {name[n]};" for n in range(2, self.n_nets)
                  if n not in inputs and n not in regs]
        for kind, out, ins in self.gates:
            expr = _VERILOG[kind].format(*(name[i] for i in ins))
            lines.append(f"  assign {name[out]} = {expr};")
        for q, d in self.regs:
            lines.append(f"  always @(posedge clk) {name[q]} <= rst ? 1'b0 : {name[d]};")
        for k, v in self.outputs.items():
            lines += [f"  assign {k}[{i}] = {name[n]};" for i, n in enumerate(v)]
        return "\n".join(lines + ["endmodule", ""])


# ------------------------------------------------------------------------------------ Yosys JSON

_COUNTED = re.compile(r"^\\?([a-z_]+)__(r?)(\d+)$")


def from_yosys_json(text: str, top: str) -> Netlist:
    """Read module ``top`` of a flattened Yosys ``write_json`` netlist over the internal gate
    library (``$_AND_`` ... ``$_MUX_``, ``$_DFF_P_``).

    Nets named ``<class>__<i>`` (as :meth:`Netlist.verilog` writes them) become counted nodes or
    register bits of that class again (``<class>__r<i>``: register bits of a class that also has
    nodes); every other gate output is counted in class ``cells``.
    Raises ValueError for a cell type outside that library.
    """
    module = json.loads(text)["modules"][top]
    nl = Netlist()
    ids: dict[object, int] = {"0": 0, "1": 1, "x": 0, "z": 0}

    def net(bit: object) -> int:
        if bit not in ids:
            ids[bit] = nl.net()
        return ids[bit]

    for pname, port in module["ports"].items():
        nets = [net(b) for b in port["bits"]]
        if port["direction"] == "input":
            if pname not in ("clk", "rst"):
                nl.inputs[pname] = nets
        else:
            nl.outputs[pname] = nets
    regs: list[tuple[int, int]] = []
    for cname, cell in sorted(module["cells"].items()):
        typ, conn = cell["type"], cell["connections"]
        if typ in _DFF:
            regs.append((net(conn["Q"][0]), net(conn["D"][0])))
            continue
        if typ not in _YOSYS:
            raise ValueError(f"cell {cname} of type {typ} is not a generic gate")
        kind = _YOSYS[typ]
        ports = _YOSYS_PORTS.get(kind, ("A", "B"))
        nl.gates.append((kind, net(conn["Y"][0]), tuple(net(conn[p][0]) for p in ports)))
    nl.regs = regs
    reg_q = {q for q, _ in regs}
    by_class: dict[tuple[str, bool], dict[int, int]] = {}
    for nname, info in module["netnames"].items():  # a net may carry several counted names
        m = _COUNTED.match(nname)                   # (a node equal to another, e.g. s ? a : a)
        if m and len(info["bits"]) == 1 and not isinstance(info["bits"][0], str):
            key = (m.group(1), bool(m.group(2)))
            by_class.setdefault(key, {})[int(m.group(3))] = net(info["bits"][0])
    for (cls, is_reg), members in sorted(by_class.items()):
        nets = [members[i] for i in sorted(members)]
        target = nl.reg_classes if is_reg or all(n in reg_q for n in nets) else nl.nodes
        target[cls] = nets
    if not by_class:
        nl.nodes["cells"] = [out for _, out, _ in nl.gates]
    return nl
