"""Activity files: VCD (waveform viewers such as GTKWave) and SAIF (power tools) from an
:class:`~accelsim.interop.activity.Activity` (``mac`` PEs, per PE), and the array-level VCD of any
PE kind from the kernel's per-cycle trace. Text only, byte-identical for the same inputs."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from accelsim import __version__
from accelsim.interop.activity import Activity

TIMESCALE_PS = 1


def period_ps(clock_mhz: float) -> int:
    """Clock period in picoseconds (rounded; at least 2 so the clock has two phases)."""
    return max(2, round(1e6 / clock_mhz))


def _pe(r: int, c: int) -> str:
    return f"pe_r{r}_c{c}"


def vcd_bytes(act: Activity, clock_mhz: float) -> bytes:
    """The VCD of ``act``: ``clk``, ``cycle``; per chosen PE its registers and its toggles per
    class in the cycle; ``toggles_<class>`` summed over the chosen PEs and the column
    accumulation adders' ``edge_adder_toggles``. Time in ps; cycle ``i`` ends at ``(i+1)·T``."""
    from vcd import VCDWriter

    period = period_ps(clock_mhz)
    out = io.StringIO()
    with VCDWriter(out, timescale="1 ps", date="-", version=f"accelsim {__version__}",
                   comment=f"layer {act.layer}, cycles {act.start}:{act.stop}",
                   init_timestamp=act.start * period) as w:
        top = "accelsim"
        clk = w.register_var(top, "clk", "wire", size=1, init=0)
        cyc = w.register_var(top, "cycle", "integer", size=32, init=act.start)
        sums = [w.register_var(f"{top}.array", f"toggles_{cls}", "integer", size=32, init=0)
                for cls in act.classes]
        edge = w.register_var(f"{top}.array", "edge_adder_toggles", "integer", size=32, init=0)
        regs, togs = [], []
        for j, (r, c) in enumerate(act.pes):
            scope = f"{top}.array.{_pe(r, c)}"
            regs.append([w.register_var(scope, name, "reg", size=bits,
                                        init=int(act.initial[j, k]))
                         for k, (name, bits) in enumerate(zip(act.regs, act.reg_bits))])
            togs.append([w.register_var(scope, f"toggles_{cls}", "integer", size=32, init=0)
                         for cls in act.classes])
        for i in range(act.stop - act.start):
            t = (act.start + i) * period
            w.change(clk, t, 1)
            w.change(cyc, t, act.start + i)
            for k, var in enumerate(sums):
                w.change(var, t, int(act.toggles[i, :, k].sum()))
            w.change(edge, t, int(act.edge_adder[i].sum()))
            for j in range(len(act.pes)):
                for k, var in enumerate(regs[j]):
                    w.change(var, t, int(act.values[i, j, k]))
                for k, var in enumerate(togs[j]):
                    w.change(var, t, int(act.toggles[i, j, k]))
            w.change(clk, t + period // 2, 0)
        w.flush((act.stop) * period)
    return out.getvalue().encode()


def trace_vcd_bytes(layer: str, classes: Sequence[str], trace: np.ndarray, start: int,
                    stop: int, clock_mhz: float) -> bytes:
    """The array-level VCD of layer cycles ``[start, stop)`` for any PE kind: ``clk``,
    ``cycle`` and ``accelsim.array.toggles_<class>``, the kernel's trace row of each cycle
    (toggles of the whole array and its units per class, the columns of ``--trace``'s CSV).
    Time in ps; cycle ``i`` starts at ``i·T``."""
    from vcd import VCDWriter

    period = period_ps(clock_mhz)
    rows = np.asarray(trace[start:stop], dtype=np.int64)
    out = io.StringIO()
    with VCDWriter(out, timescale="1 ps", date="-", version=f"accelsim {__version__}",
                   comment=f"layer {layer}, cycles {start}:{stop}, whole array",
                   init_timestamp=start * period) as w:
        clk = w.register_var("accelsim", "clk", "wire", size=1, init=0)
        cyc = w.register_var("accelsim", "cycle", "integer", size=32, init=start)
        sums = [w.register_var("accelsim.array", f"toggles_{cls}", "integer", size=32, init=0)
                for cls in classes]
        for i, row in enumerate(rows):
            t = (start + i) * period
            w.change(clk, t, 1)
            w.change(cyc, t, start + i)
            for var, v in zip(sums, row):
                w.change(var, t, int(v))
            w.change(clk, t + period // 2, 0)
        w.flush(stop * period)
    return out.getvalue().encode()


def bit_activity(act: Activity) -> dict[tuple[int, int], np.ndarray]:
    """Per (PE index, register index): int64 [bits, 3] of (cycles at 0, cycles at 1, toggles)
    over the window; toggles count the change into each window cycle."""
    out = {}
    n = act.stop - act.start
    for j in range(len(act.pes)):
        for k, bits in enumerate(act.reg_bits):
            seq = np.concatenate([[act.initial[j, k]], act.values[:, j, k]])
            b = (seq[:, None] >> np.arange(bits)) & 1
            ones = b[1:].sum(axis=0)
            tc = np.abs(np.diff(b, axis=0)).sum(axis=0)
            out[j, k] = np.stack([n - ones, ones, tc], axis=1)
    return out


def saif_bytes(act: Activity, clock_mhz: float, design: str) -> bytes:
    """A SAIF 2.0 backward file of every register bit of the chosen PEs over the window
    (T0/T1 in ps, TX 0, TC toggles), instances ``array/pe_r<R>_c<C>``."""
    period = period_ps(clock_mhz)
    stats = bit_activity(act)
    lines = ["(SAIFILE", '(SAIFVERSION "2.0")', '(DIRECTION "backward")',
             f'(DESIGN "{design}")', '(DATE "-")', '(VENDOR "accelsim")',
             '(PROGRAM_NAME "accelsim run --saif")', f'(VERSION "{__version__}")',
             "(DIVIDER / )", f"(TIMESCALE {TIMESCALE_PS} ps)",
             f"(DURATION {(act.stop - act.start) * period})", "(INSTANCE array"]
    for j, (r, c) in enumerate(act.pes):
        lines += [f"  (INSTANCE {_pe(r, c)}", "    (NET"]
        for k, name in enumerate(act.regs):
            for bit, (t0, t1, tc) in enumerate(stats[j, k]):
                lines.append(f"      ({name}\\[{bit}\\] (T0 {t0 * period}) (T1 {t1 * period}) "
                             f"(TX 0) (TC {tc}))")
        lines += ["    )", "  )"]
    lines += [")", ")", ""]
    return "\n".join(lines).encode()
