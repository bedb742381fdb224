"""The PE-step protocol: what the dataflow drivers (``accelsim.kernels.drivers``) ask of a PE kind.

A PE kind's step module defines a ``NamedTuple`` of its constants (scalars only: widths, masks,
modes), may use an ``aux`` value (an array, e.g. a node table, or a tuple of arrays: an array
inside the NamedTuple would cost a reference-count update per access in the hot loop), and
registers a numba ``@overload`` (``inline="always"``) of each function below that answers only
for its NamedTuple class (:func:`is_kind`). The drivers call them with ``k`` (the constants) and ``aux`` first, so numba
compiles one driver per (dataflow family, PE kind) with the step inlined: no run-time dispatch.

- ``pe_load(k, aux, state, r, c)``: the PE's datapath state (a tuple of scalars, kept in
  registers across its MACs) from ``state`` int64 [R, C, words];
- ``pe_step(k, aux, st, xv, wv, xp, wp, acc_in, preg, tally, trace, cyc, r, c, i)``: one MAC
  of PE (r, c), stream element ``i`` (t in a stationary fold, k in an output-stationary one), of
  operand values ``xv``, ``wv`` (bit patterns ``xp``, ``wp`` at the PE's widths) onto ``acc_in``
  (the incoming partial sum, or the accumulator), starting in fold cycle ``cyc``, with ``preg``
  the psum/acc register's pattern before it. Counts every toggle of the datapath *and* of the
  psum/acc register into ``tally`` and into ``trace`` at the cycles they happen (a multi-cycle
  step writes to ``cyc``, ``cyc + 1``, ...) through ``bits.trace_add``: ``trace`` is the fold's
  trace, or None when not tracing (the step then compiles without its trace writes). Returns
  (the pattern the register holds after the step, new ``st``, new ``tally``);
- ``pe_tally(k)``: a zero tally (a tuple of int64 counters);
- ``pe_flush(k, tally, counts)``: add a tally to the kind's counters ``counts``;
- ``pe_store(k, state, r, c, st)``: write the state back;
- ``pe_idle(k, aux, state, r, c, cyc, counts, trace)``: ``idle: zero`` loads of any register the
  kind adds beside the psum register (called where the drivers zero it, stationary family);
- ``pe_edge(k, aux, colbuf, out, c, first, step0, starts, edge_s, edge_c, counts, trace)``: the
  bottom edge of column c (stationary family; ``drivers.column_edge`` for a plain accumulator);
- ``pe_output(k, aux, st, r, c, acc, cyc, counts, trace)``: the output pattern of PE (r, c) of an
  output-stationary fold, whose accumulator holds ``acc``, read in fold cycle ``cyc``.

Numba's on-disk cache does not notice edits to a step module in the drivers that inline it: clear
``NUMBA_CACHE_DIR`` after changing one (CI always starts from an empty one).
"""

from __future__ import annotations


def pe_load(k, aux, state, r, c):
    """The datapath state of PE (r, c) (njit only: overloaded per PE kind)."""
    raise NotImplementedError("njit only")


def pe_step(k, aux, st, xv, wv, xp, wp, acc_in, preg, tally, trace, cyc, r, c, i):
    """One MAC of a PE: (result pattern, state, tally) (njit only: overloaded per PE kind)."""
    raise NotImplementedError("njit only")


def pe_tally(k):
    """Zero per-PE counters (njit only: overloaded per PE kind)."""
    raise NotImplementedError("njit only")


def pe_flush(k, tally, counts):
    """Add per-PE counters to the kind's counters (njit only: overloaded per PE kind)."""
    raise NotImplementedError("njit only")


def pe_store(k, state, r, c, st):
    """Write the datapath state of PE (r, c) back (njit only: overloaded per PE kind)."""
    raise NotImplementedError("njit only")


def pe_idle(k, aux, state, r, c, cyc, counts, trace):
    """Idle-zero loads of a kind's extra registers (njit only: overloaded per PE kind)."""
    raise NotImplementedError("njit only")


def pe_edge(k, aux, colbuf, out, c, first, step0, starts, edge_s, edge_c, counts, trace):
    """Column c's bottom edge (njit only: overloaded per PE kind)."""
    raise NotImplementedError("njit only")


def pe_output(k, aux, st, r, c, acc, cyc, counts, trace):
    """Output pattern of an output-stationary PE (njit only: overloaded per PE kind)."""
    raise NotImplementedError("njit only")


def is_kind(k, consts_class) -> bool:
    """In an ``@overload`` typer: ``k`` is the numba type of a ``consts_class`` NamedTuple."""
    return getattr(k, "instance_class", None) is consts_class
