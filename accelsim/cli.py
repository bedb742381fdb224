"""The ``accelsim`` command line (SPEC §2).

The only module that prints results, turns :class:`~accelsim.errors.AccelsimError` into one line on
stderr, and sets exit codes: 0 success, 1 simulated outputs differ from the reference, 2 bad input.
Simulation modules are imported inside the commands, so ``--help`` and ``inspect`` stay fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from accelsim import __version__
from accelsim.errors import AccelsimError, WorkloadError

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT = 0, 1, 2



def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accelsim",
        description="Cycle-level, bit-accurate simulator of systolic-array DNN accelerators.",
        epilog="exit codes: 0 success, 1 simulated outputs differ from the reference, 2 bad input",
    )
    parser.add_argument("--version", action="version", version=f"accelsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="simulate a workload on an architecture",
                         description="Simulate WORKLOAD on ARCH, check every layer's outputs "
                                     "against the reference and print a per-layer table.")
    run.add_argument("arch", metavar="ARCH.yaml", help="architecture file (SPEC §3)")
    run.add_argument("workload", metavar="WORKLOAD.npz", help="workload file (SPEC §4)")
    run.add_argument("--layers", metavar="NAMES",
                     help="comma-separated layer names to simulate (default: all, in file order)")
    run.add_argument("--json", type=Path, metavar="OUT.json",
                     help="write the full report (SPEC §7)")
    run.add_argument("--csv", type=Path, metavar="OUT.csv", help="write one row per layer")
    run.add_argument("--outputs", type=Path, metavar="OUT.npz",
                     help="write the simulated outputs as <layer>/y integer arrays")
    run.add_argument("--trace", type=Path, metavar="DIR",
                     help="write DIR/<layer>.trace.csv (toggles per cycle per class), "
                          "DIR/<layer>.power.csv (average power per cycle, or per --trace-bin "
                          "cycles, by class) and .png plots of both")
    run.add_argument("--trace-bin", type=_positive_int, default=1, metavar="CYCLES",
                     help="bin size of the power trace CSV in cycles (default 1: every cycle)")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bar and no notes on stderr (the table is still printed)")
    run.add_argument("--chain", action="store_true",
                     help="run the network end to end on the accelerator: every layer after the "
                          "first takes its x from the simulated outputs of the earlier layers "
                          "through the workload's integer host stage (needs an exported workload "
                          "with source.graph; all layers)")
    run.set_defaults(handler=_run)

    compare = sub.add_parser(
        "compare", help="compare architectures on one workload",
        description="Simulate WORKLOAD on every ARCH and print cycles, energy, energy per MAC and "
                    "the energy breakdown side by side.")
    compare.add_argument("files", nargs="+", metavar="ARCH.yaml ... WORKLOAD.npz",
                         help="one or more architecture files, then the workload file")
    compare.add_argument("--layers", metavar="NAMES",
                         help="comma-separated layer names to simulate (default: all)")
    compare.add_argument("--plot", type=Path, metavar="OUT.png",
                         help="write a stacked bar chart of the energy breakdown per architecture")
    compare.add_argument("--quiet", action="store_true",
                         help="no progress bar and no notes on stderr")
    compare.set_defaults(handler=_compare)

    inspect = sub.add_parser(
        "inspect", help="validate and summarise a workload, an arch file or a technology table",
        description="Summarise FILE (a WORKLOAD.npz or an ARCH.yaml), or with --tech print a "
                    "technology table, its calibrated per-toggle energies and its sources.")
    inspect.add_argument("file", metavar="FILE", nargs="?", help="a WORKLOAD.npz or an ARCH.yaml")
    inspect.add_argument("--tech", metavar="NAME|PATH",
                         help="a built-in technology table name (e.g. 45nm) or a technology YAML")
    inspect.set_defaults(handler=_inspect)

    export = sub.add_parser(
        "export", help="trained PyTorch network -> WORKLOAD.npz (accelsim export --help)",
        add_help=False)
    export.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    export.set_defaults(handler=lambda args: _export(args.args))

    sweep = sub.add_parser(
        "sweep", help="design-space sweep from a SWEEP.yaml (on Dask)",
        description="Simulate every point of SWEEP.yaml (a base arch, axes over arch keys, "
                    "workloads) on Dask workers and write one results table, a per-layer table, "
                    "every point's JSON report and Pareto plots into DIR (docs/sweep.md).",
        epilog="exit codes: 0 every point ran and matched its reference, 1 some point's outputs "
               "differ, 2 bad sweep file (nothing written), 3 internal error at some point, "
               "4 some points invalid (their errors are in the tables; the others ran)")
    sweep.add_argument("file", metavar="SWEEP.yaml", help="the sweep file (docs/sweep.md)")
    sweep.add_argument("--out", type=Path, metavar="DIR",
                       help="results folder (default: <SWEEP stem>-results in the current "
                            "folder)")
    sweep.add_argument("--workers", type=_natural_int, metavar="N",
                       help="embedded Dask worker processes (default: one per core; 0: run "
                            "sequentially in this process, without Dask)")
    sweep.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on an existing Dask cluster, e.g. tcp://127.0.0.1:8786 (workers "
                            "must see the same file paths)")
    sweep.add_argument("--resume", action="store_true",
                       help="skip points whose report in DIR/points has the same content key "
                            "(arch, workload, layers, accelsim version)")
    sweep.add_argument("--quiet", action="store_true", help="no progress on stderr")
    sweep.set_defaults(handler=_sweep)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["export"]:  # its own parser (accelsim.export.export), options and --help
        return _guarded(lambda: _export(argv[1:]))
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    return _guarded(lambda: args.handler(args))


def _guarded(command: Callable[[], int]) -> int:
    """Run ``command``; an AccelsimError becomes one line on stderr and exit 2."""
    try:
        return command()
    except AccelsimError as exc:
        _error(exc.one_line())
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    return EXIT_BAD_INPUT


def _export(argv: Sequence[str]) -> int:
    """``accelsim export ARGV``: :func:`accelsim.export.export_main` (imported here, so the rest
    of the command line never loads the exporter)."""
    from accelsim.export import export_main

    return export_main(list(argv))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _error(message: str) -> None:
    print(f"accelsim: error: {message}", file=sys.stderr)


def _natural_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


# ---------------------------------------------------------------------------------------- run


def _check_output_paths(args: argparse.Namespace) -> None:
    """Fail before simulating if an output could not be written (AccelsimError naming the
    option)."""
    for option in ("json", "csv", "outputs"):
        path: Path | None = getattr(args, option)
        if path is None:
            continue
        if path.is_dir():
            raise AccelsimError(str(path), f"--{option}", "a file path, not a folder")
        if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
            raise AccelsimError(str(path), f"--{option}", "a path in an existing, writable folder")
    if args.trace is not None:
        folder = args.trace if args.trace.exists() else args.trace.parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise AccelsimError(str(args.trace), "--trace",
                                "a writable folder, or a new one in an existing writable folder")


def _select_layers(workload: Any, names: str | None) -> tuple[Any, ...]:
    """The workload's layers named in ``names`` (comma-separated), in file order; all if None."""
    if names is None:
        return workload.layers
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = [layer.name for layer in workload.layers]
    for name in wanted:
        if name not in known:
            raise WorkloadError(workload.path, "--layers", f"layer names among {', '.join(known)}",
                                name)
    if not wanted:
        raise WorkloadError(workload.path, "--layers", "at least one layer name", names)
    return tuple(layer for layer in workload.layers if layer.name in wanted)


def _warmup(quiet: bool, archs: Sequence[Any]) -> None:
    """Compile the kernels of the PE kinds in use up front (so the progress bar measures the
    simulation only); numba's cache makes this fast after the first run."""
    from accelsim.kernels import warmup

    if not quiet:
        print("accelsim: compiling kernels…", file=sys.stderr, flush=True)
    warmup(sorted({arch.pe.kind for arch in archs}))


def _output_files(args: argparse.Namespace, arch: Any, report: Any,
                  sims: Sequence[Any]) -> dict[Path, bytes]:
    """Everything the run writes, rendered in memory."""
    from accelsim.energy import power_trace_pj
    from accelsim.report import outputs_npz, report_csv, report_json, trace_files

    files: dict[Path, bytes] = {}
    if args.json is not None:
        files[args.json] = report_json(report)
    if args.csv is not None:
        files[args.csv] = report_csv(report)
    if args.outputs is not None:
        files[args.outputs] = outputs_npz(sims)
    if args.trace is not None:
        power = {s.name: power_trace_pj(arch, s) for s in sims}
        classes = tuple(sims[0].result.toggles)  # the PE kind's classes, in trace-column order
        files.update(trace_files(sims, classes, args.trace, power, arch.clock_mhz,
                                 args.trace_bin))
    return files


def _mismatch_message(report: Any, arch: Any, label: str = "") -> str:
    bad = [lr for lr in report.layers if lr.check == "mismatch"]
    names = ", ".join(lr.name for lr in bad)
    overflows = report.total.overflows
    hint = (f"; {overflows} accumulator overflow events — try a wider pe.acc_bits "
            f"(now {arch.pe.acc_bits})" if overflows else "")
    where = f" on {label}" if label else ""
    return (f"accelsim: MISMATCH: simulated outputs differ from the reference in layer(s) "
            f"{names}{where}{hint}")


def _simulate_report(arch: Any, workload: Any, layers: Sequence[Any], trace: bool, quiet: bool,
                     graph: dict[str, Any] | None = None) -> Any:
    """:func:`accelsim.pipeline.simulate_report` with a tqdm bar over all folds on stderr (only
    when stderr is a terminal and not ``quiet``)."""
    from tqdm import tqdm

    from accelsim.pipeline import simulate_report
    from accelsim.sim.layer import count_folds

    if quiet or not sys.stderr.isatty():
        return simulate_report(arch, workload, layers, trace=trace, graph=graph)
    total = sum(count_folds(arch, layer) for layer in layers)
    with tqdm(total=total, unit="fold", file=sys.stderr, dynamic_ncols=True) as bar:
        return simulate_report(arch, workload, layers, trace=trace, graph=graph,
                               on_layer=bar.set_description, progress=bar.update)


def _run(args: argparse.Namespace) -> int:
    from accelsim.pipeline import host_graph, load_checked
    from accelsim.report import format_summary, format_table, write_atomically
    from accelsim.workload import load_workload

    _check_output_paths(args)
    workload = load_workload(args.workload)
    layers = _select_layers(workload, args.layers)
    graph = None
    if args.chain or workload.labels is not None:  # check the host graph before simulating
        graph = host_graph(workload, layers, args.chain)
    arch = load_checked(args.arch, workload, layers)

    _warmup(args.quiet, [arch])
    run = _simulate_report(arch, workload, layers, args.trace is not None, args.quiet,
                           graph if args.chain else None)
    report, sims, memories = run.report, run.sims, run.memories
    files = _output_files(args, arch, report, sims)
    try:
        if args.trace is not None:
            args.trace.mkdir(exist_ok=True)
        write_atomically(files)
        if args.trace is not None and memories is not None:
            from accelsim.sim.memory import write_timeline

            write_timeline(memories, [s.name for s in sims], args.trace)
    except OSError as exc:
        _error(f"writing outputs: {exc.strerror or exc}: {exc.filename}")
        return EXIT_BAD_INPUT

    print(format_table(report))
    print(format_summary(report, arch.clock_mhz))
    if args.chain:
        print("chained: every layer after the first was fed by the host stage from the simulated "
              "outputs of the layers before it")
    overflows = report.total.overflows
    if report.total.check == "exact":
        if overflows:
            print(f"note: {overflows} accumulator overflow events (pe.overflow: "
                  f"{arch.pe.overflow}); outputs still match the reference")
        return EXIT_OK
    print(_mismatch_message(report, arch), file=sys.stderr)
    return EXIT_MISMATCH


# ------------------------------------------------------------------------------------ compare


def _compare(args: argparse.Namespace) -> int:
    from accelsim.pipeline import host_graph, load_checked
    from accelsim.report import compare_png, format_compare, write_atomically
    from accelsim.workload import load_workload

    if len(args.files) < 2:
        raise AccelsimError(" ".join(args.files), "compare",
                            "one or more ARCH.yaml files followed by a WORKLOAD.npz")
    *arch_paths, workload_path = args.files
    if args.plot is not None:
        plot = args.plot
        if plot.is_dir() or not plot.parent.is_dir() or not os.access(plot.parent, os.W_OK):
            raise AccelsimError(str(plot), "--plot", "a file path in an existing, writable folder")
    workload = load_workload(workload_path)
    layers = _select_layers(workload, args.layers)
    if workload.labels is not None:
        host_graph(workload, layers, chain=False)
    archs = [load_checked(path, workload, layers) for path in arch_paths]
    names = [a.name for a in archs]
    labels = [n if names.count(n) == 1 else f"{n} ({p})" for n, p in zip(names, arch_paths)]

    _warmup(args.quiet, archs)
    runs = []
    for label, arch in zip(labels, archs):
        runs.append((label, _simulate_report(arch, workload, layers, False, args.quiet).report))
    if args.plot is not None:
        title = f"{workload.name}: energy by class"
        try:
            write_atomically({args.plot: compare_png(runs, title)})
        except OSError as exc:
            _error(f"writing outputs: {exc.strerror or exc}: {exc.filename}")
            return EXIT_BAD_INPUT
    print(f"workload: {workload.name} ({len(layers)} layers)")
    print(format_compare(runs))
    bad = [(label, arch, r) for (label, r), arch in zip(runs, archs) if r.total.check != "exact"]
    for label, arch, report in bad:
        print(_mismatch_message(report, arch, label), file=sys.stderr)
    return EXIT_MISMATCH if bad else EXIT_OK


# -------------------------------------------------------------------------------------- sweep

EXIT_POINTS_FAILED = 4


def _sweep(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from accelsim.sweep import exit_status, load_sweep, run_sweep
    from accelsim.sweep.results import format_results

    sweep = load_sweep(args.file)
    out = args.out if args.out is not None else Path(f"{Path(args.file).stem}-results")
    if out.exists() and not out.is_dir():
        raise AccelsimError(str(out), "--out", "a folder (new or existing)")
    labels = {p.id: p.label for p in sweep.points}
    total = len(sweep.points)
    bar = None
    if not args.quiet and sys.stderr.isatty():
        bar = tqdm(total=total, unit="point", file=sys.stderr, dynamic_ncols=True)
    finished = 0

    def done(outcome: Any) -> None:
        nonlocal finished
        finished += 1
        if bar is not None:
            bar.set_postfix_str(f"{outcome.id} {labels[outcome.id]}", refresh=False)
            bar.update()
        elif not args.quiet:
            state = ("resumed" if outcome.resumed else "ok" if outcome.error is None
                     else "invalid" if not outcome.internal else "internal error")
            took = f", {outcome.seconds:.2f} s" if outcome.seconds else ""
            print(f"accelsim: sweep: [{finished}/{total}] {outcome.id} {labels[outcome.id]}: "
                  f"{state}{took}", file=sys.stderr, flush=True)

    try:
        run = run_sweep(sweep, out, workers=args.workers, scheduler=args.scheduler,
                        resume=args.resume, done=done)
    finally:
        if bar is not None:
            bar.close()
    print(f"sweep: {sweep.name} ({total} points) -> {out}")
    print(format_results(sweep, run.rows))
    status = exit_status(run.rows)
    return {"ok": EXIT_OK, "mismatch": EXIT_MISMATCH, "error": EXIT_POINTS_FAILED,
            "internal-error": 3}[status]


# ------------------------------------------------------------------------------------ inspect


def _inspect(args: argparse.Namespace) -> int:
    if (args.file is None) == (args.tech is None):
        raise AccelsimError(args.file or args.tech or "inspect", "inspect",
                            "either FILE (a workload .npz or an arch .yaml) or --tech NAME|PATH")
    if args.tech is not None:
        print(_tech_summary(args.tech))
        return EXIT_OK
    suffix = Path(args.file).suffix.lower()
    if suffix == ".npz":
        print(_workload_summary(args.file))
    elif suffix in (".yaml", ".yml"):
        print(_arch_summary(args.file))
    else:
        raise AccelsimError(args.file, "", "a workload .npz or an architecture .yaml file",
                            suffix or "no file extension")
    return EXIT_OK


def _dtype(bits: int, signed: bool) -> str:
    return f"{'int' if signed else 'uint'}{bits}"


def _workload_summary(path: str) -> str:
    from accelsim.report.write import format_columns
    from accelsim.workload import load_workload, lower

    wl = load_workload(path)
    header = ("layer", "op", "x shape", "w shape", "y shape", "x", "w", "quant", "groups", "M",
              "K", "N")
    rows = []
    for layer in wl.layers:
        g = lower(layer)
        y_shape = "-" if layer.y is None else str(list(layer.y.shape))
        rows.append((layer.name, layer.op, str(list(layer.x.shape)), str(list(layer.w.shape)),
                     y_shape, _dtype(layer.x_bits, layer.x_signed),
                     _dtype(layer.w_bits, layer.w_signed), layer.quant["scheme"],
                     str(g.groups), str(g.M), str(g.K), str(g.N)))
    lines = [f"workload: {wl.name}", f"file: {wl.path}", f"sha256: {wl.sha256}",
             f"source: {json.dumps(wl.source, sort_keys=True)}"]
    if wl.labels is not None:
        lines.append(f"labels: {len(wl.labels)}")
    if wl.accuracy is not None:
        lines.append(f"accuracy: {json.dumps(wl.accuracy, sort_keys=True)}")
    lines += ["", format_columns(header, rows, left=set(range(8)))]
    return "\n".join(lines)


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in d.items():
        if isinstance(value, dict):
            out += _flatten(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def _arch_summary(path: str) -> str:
    from accelsim.config import arch_to_dict, load_arch
    from accelsim.energy.account import describe

    arch = load_arch(path)
    info = describe(arch)
    tech = info["tech"]
    items = _flatten(arch_to_dict(arch))
    width = max(len(k) for k, _ in items)
    lines = [f"{k.ljust(width)}  {'-' if v is None else v}" for k, v in items]
    lines.append(f"{'technology table'.ljust(width)}  {tech.name} ({tech.file})")
    lines += ["", "energy prices on this architecture (accelsim inspect --tech for the table):"]
    for cls, (pj, status, bits) in info["classes"].items():
        at = "per bit" if bits is None else f"at {bits} bit"
        lines.append(f"  {cls:<9} {pj * 1e3:9.4f} fJ per toggle ({at}, {status})")
    lines.append(f"  clock     {tech.clock_pj_per_bit_cycle.value * 1e3:9.4f} fJ per enabled "
                 f"register bit per cycle")
    for buffer, word in info["sram"].items():
        lines.append(f"  sram {buffer:<6} {word['read']:9.4f} pJ per word read, "
                     f"{word['write']:.4f} pJ per word written "
                     f"(priced at {word['bank_kib']:g} KiB, the bank one access touches)")
    leak = info["leakage_pw"]
    lines.append(f"  leakage   {info['pe_leakage_pw'] / 1e6:9.4f} µW per PE; array "
                 f"{leak['array'] / 1e9:.4f} mW, SRAM {leak['sram'] / 1e9:.4f} mW")
    return "\n".join(lines)


def _tech_summary(technology: str) -> str:
    """A technology table, its calibration and its sources, as text."""
    from accelsim.energy import calibration, load_tech
    from accelsim.energy.account import pe_leakage_pw
    from accelsim.report.write import format_columns

    tech = load_tech(technology)
    cal = calibration(technology)
    settings = tech.calibration
    lines = [f"technology: {tech.name}", f"file: {tech.file}"]
    if tech.description:
        lines.append(f"description: {tech.description}")
    lines += ["", "reference operations (pJ per operation):"]
    rows = [(op, f"{p.at:g}", f"{p.energy_pj:g}") for op, pts in tech.operations.items()
            for p in pts]
    lines.append(format_columns(("operation", "width bits", "pJ"), rows, left={0}))
    lines += ["", "calibration: pJ per toggle = reference pJ per operation / expected node "
                  "toggles per operation",
              f"  under uniformly random {'signed' if settings.signed else 'unsigned'} operands "
              f"(exact up to {settings.exact_max_bits} operand bits, else {settings.samples} "
              f"samples, seed {settings.seed}); register: {tech.register.operation} at "
              f"{tech.register.width_bits} bits", ""]
    rows = [(p.unit, str(p.width_bits), f"{p.operation} {p.operation_pj:g}",
             f"{p.mean_toggles:.4f}", f"{p.pj_per_toggle * 1e3:.5f}", "calibrated", p.method)
            for pts in cal.points.values() for p in pts]
    lines.append(format_columns(("unit", "width bits", "reference pJ", "mean toggles",
                                 "fJ per toggle", "status", "method"), rows, left={0, 2, 5, 6}))
    lines += ["", "per-toggle energy by width (power law between calibrated widths):"]
    widths = sorted({2, 4, 8, 16, 32, *(int(p.width_bits) for pts in cal.points.values()
                                         for p in pts)})
    rows = []
    for unit in ("multiplier", "adder"):
        for w in widths:
            value, status = cal.per_toggle_pj(unit, w)
            mark = "" if status == "calibrated" else f" ({status})"
            rows.append((unit, str(w), f"{value * 1e3:.5f}{mark}"))
    lines.append(format_columns(("unit", "width bits", "fJ per toggle"), rows, left={0, 2}))
    lines += ["", "toggle classes:"]
    for cls, spec in tech.toggle_classes.items():
        at = ("per bit" if spec.unit == "register" else
              f"at {spec.width_bits} bits" if spec.width_bits is not None else
              "at max(x_bits, w_bits)" if spec.width == "operands" else "at acc_bits")
        lines.append(f"  {cls:<9} {spec.unit} {at}")
    lines += ["", f"clock: {tech.clock_pj_per_bit_cycle.value * 1e3:.4f} fJ per enabled register "
                  f"bit per cycle", "sram: pJ per access (power law in capacity, linear in "
                                    f"width; write = {tech.sram_write_to_read.value:g} x read):"]
    rows = []
    for kib in sorted({4.0, 16.0, 64.0, 256.0, *(p.at for p in tech.sram_read_pj)}):
        cells = [f"{kib:g}"]
        for bits in (8, 32, tech.sram_word_bits):
            value, status = tech.sram_access_pj(kib, bits)
            cells.append(f"{value:.3f}" + ("" if status == "table" else f" ({status})"))
        rows.append(tuple(cells))
    lines.append(format_columns(("capacity KiB", "8-bit word", "32-bit word",
                                 f"{tech.sram_word_bits}-bit word"), rows, left=set()))
    lines.append(f"dram: {tech.dram_pj_per_byte.value:g} pJ per byte + "
                 f"{tech.dram_pj_per_activation.value:g} pJ per row activation")
    leak = {k: v.value for k, v in tech.leakage.items()}
    lines.append(f"leakage: {pe_leakage_pw(tech, 8, 8, 32) / 1e6:.4f} µW per 8x8-bit PE with a "
                 f"32-bit accumulator; {leak['sram_pw_per_kib'] / 1e6:.3f} µW per KiB of SRAM")
    lines += ["", "sources:"]
    lines += [f"  {key}: {source}" for key, source in tech.sources()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
