"""The ``accelsim`` command line (SPEC §2).

The only module that prints results, turns :class:`~accelsim.errors.AccelsimError` into one line on
stderr, and sets exit codes: 0 success, 1 simulated outputs differ from the reference, 2 bad input.
Simulation modules are imported inside the commands, so ``--help`` and ``inspect`` stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from accelsim import __version__
from accelsim.errors import AccelsimError, WorkloadError

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT = 0, 1, 2

#: Commands of SPEC §2 that are registered but not implemented yet: name -> (help, issue).
NOT_YET = {
    "compare": ("compare architectures on one workload", "'accelsim compare'"),
    "sweep": ("design-space sweep from a SWEEP.yaml", "'accelsim sweep'"),
    "export": ("trained PyTorch network -> WORKLOAD.npz", "'accelsim export'"),
}


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
                     help="write DIR/<layer>.trace.csv (toggles per cycle per class) and a "
                          ".png plot")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bar and no notes on stderr (the table is still printed)")
    run.set_defaults(handler=_run)

    inspect = sub.add_parser("inspect", help="validate and summarise a workload or arch file")
    inspect.add_argument("file", metavar="FILE", help="a WORKLOAD.npz or an ARCH.yaml")
    inspect.set_defaults(handler=_inspect)

    for name, (help_text, _) in NOT_YET.items():
        p = sub.add_parser(name, help=f"{help_text} (not implemented yet)")
        p.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        p.set_defaults(handler=_not_yet)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        return args.handler(args)
    except AccelsimError as exc:
        _error(exc.one_line())
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    return EXIT_BAD_INPUT


def _error(message: str) -> None:
    print(f"accelsim: error: {message}", file=sys.stderr)


def _not_yet(args: argparse.Namespace) -> int:
    issue = NOT_YET[args.command][1]
    _error(f"{args.command}: not implemented yet in this version (see issue {issue})")
    return EXIT_BAD_INPUT


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


def _warmup(quiet: bool) -> None:
    """Compile the numba kernels up front (so the progress bar measures simulation only)."""
    warmup: Callable[[], None] | None = getattr(importlib.import_module("accelsim.kernels"),
                                                "warmup", None)
    if warmup is not None:
        if not quiet:
            print("accelsim: compiling kernels…", file=sys.stderr, flush=True)
        warmup()


def _simulate(arch: Any, layers: Sequence[Any], trace: bool, quiet: bool) -> list[Any]:
    """Simulate every layer, with a tqdm bar over all folds on stderr when it is a terminal."""
    from tqdm import tqdm

    from accelsim.sim.layer import count_folds, simulate_layer

    if quiet or not sys.stderr.isatty():
        return [simulate_layer(arch, layer, trace=trace) for layer in layers]
    total = sum(count_folds(arch, layer) for layer in layers)
    sims = []
    with tqdm(total=total, unit="fold", file=sys.stderr, dynamic_ncols=True) as bar:
        for layer in layers:
            bar.set_description(layer.name)
            sims.append(simulate_layer(arch, layer, trace=trace, progress=bar.update))
    return sims


def _output_files(args: argparse.Namespace, report: Any, sims: Sequence[Any],
                  dataflow: str) -> dict[Path, bytes]:
    """Everything the run writes, rendered in memory."""
    from accelsim.report import outputs_npz, report_csv, report_json, trace_files
    from accelsim.sim.types import class_names

    files: dict[Path, bytes] = {}
    if args.json is not None:
        files[args.json] = report_json(report)
    if args.csv is not None:
        files[args.csv] = report_csv(report)
    if args.outputs is not None:
        files[args.outputs] = outputs_npz(sims)
    if args.trace is not None:
        files.update(trace_files(sims, class_names(dataflow), args.trace))
    return files


def _run(args: argparse.Namespace) -> int:
    from accelsim.config import arch_to_dict, load_arch
    from accelsim.energy import energy_pj, load_tech
    from accelsim.report import WorkloadInfo, build_report, format_table, write_atomically
    from accelsim.sim.layer import check_layer
    from accelsim.workload import load_workload

    _check_output_paths(args)
    arch = load_arch(args.arch)
    workload = load_workload(args.workload)
    layers = _select_layers(workload, args.layers)
    for layer in layers:
        check_layer(arch, layer, workload.path)
    load_tech(arch.energy.technology)  # a bad technology table fails before the simulation

    _warmup(args.quiet)
    sims = _simulate(arch, layers, trace=args.trace is not None, quiet=args.quiet)
    energies = [energy_pj(arch, s) for s in sims]
    report = build_report(arch_to_dict(arch), WorkloadInfo(workload.name, workload.sha256),
                          sims, energies)
    files = _output_files(args, report, sims, arch.array.dataflow)
    try:
        if args.trace is not None:
            args.trace.mkdir(exist_ok=True)
        write_atomically(files)
    except OSError as exc:
        _error(f"writing outputs: {exc.strerror or exc}: {exc.filename}")
        return EXIT_BAD_INPUT

    print(format_table(report))
    bad = [lr for lr in report.layers if lr.check == "mismatch"]
    overflows = report.total.overflows
    if not bad:
        if overflows:
            print(f"note: {overflows} accumulator overflow events (pe.overflow: "
                  f"{arch.pe.overflow}); outputs still match the reference")
        return EXIT_OK
    names = ", ".join(lr.name for lr in bad)
    hint = (f"; {overflows} accumulator overflow events — try a wider pe.acc_bits "
            f"(now {arch.pe.acc_bits})" if overflows else "")
    print(f"accelsim: MISMATCH: simulated outputs differ from the reference in layer(s) "
          f"{names}{hint}", file=sys.stderr)
    return EXIT_MISMATCH


# ------------------------------------------------------------------------------------ inspect


def _inspect(args: argparse.Namespace) -> int:
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
    from accelsim.energy import load_tech

    arch = load_arch(path)
    tech = load_tech(arch.energy.technology)
    items = _flatten(arch_to_dict(arch))
    width = max(len(k) for k, _ in items)
    lines = [f"{k.ljust(width)}  {'-' if v is None else v}" for k, v in items]
    lines.append(f"{'technology table'.ljust(width)}  {tech.name} ({tech.file})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
