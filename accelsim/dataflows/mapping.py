"""Mappings: the order of a layer's fold loops and its T-chunk size (docs/mapping.md).

A layer on a dataflow has three loops besides the group: tiles of the rows dimension (``rows_dim``,
e.g. K for ws), tiles of the columns dimension (``cols_dim``) and chunks of the streamed dimension
T (``time_dim``). A :class:`Mapping` names their order, outermost first, by GEMM dimension
(``("N", "K", "M")`` on ws: N tiles, then K tiles, then M chunks innermost) and the chunk size
(elements of T per step). Each (fold, chunk) pair is one *step*; consecutive steps of one fold
whose chunks follow each other form one *run*: the stationary operand is preloaded once per run
and the stream is continuous. The fixed mapping (SCALE-Sim's order: columns, rows, time) with
the whole T as chunk has one run per fold.

Legal orders: the stationary family (ws, is) allows all six orders (partial sums are held in the
ofmap buffer or spilled, whichever the planner finds); output-stationary keeps T innermost
(each PE's accumulator holds its output until the fold's last K element) and allows both orders
of the two tile loops, i.e. which operand tile stays resident across the inner tile loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations
from typing import Iterator

from accelsim.dataflows.base import Dataflow, Fold


@dataclass(frozen=True)
class Mapping:
    """Loop ``order`` (GEMM dimension names, outermost first) and ``chunk`` (T elements per
    step, 1..T)."""

    order: tuple[str, ...]
    chunk: int


def fixed_order(df: Dataflow) -> tuple[str, ...]:
    """SCALE-Sim's order: column-dim tiles, row-dim tiles, then the stream (one run per fold)."""
    return (df.cols_dim, df.rows_dim, df.time_dim)


def legal_orders(df: Dataflow) -> tuple[tuple[str, ...], ...]:
    """Every legal loop order of ``df``, the fixed one first (see the module docstring)."""
    fixed = fixed_order(df)
    if df.holds_outputs:
        return (fixed, (df.rows_dim, df.cols_dim, df.time_dim))
    return (fixed,) + tuple(p for p in permutations(fixed) if p != fixed)


def fixed_mapping(df: Dataflow, M: int, K: int, N: int) -> Mapping:
    """The fixed order with the whole stream as one chunk (the kernels' default)."""
    return Mapping(fixed_order(df), df.dims(M, K, N)[2])


def steps(df: Dataflow, mapping: Mapping, groups: int, M: int, K: int, N: int, rows: int,
          cols: int) -> Iterator[tuple[Fold, int, int]]:
    """The steps ``(fold, t0, t1)`` of a layer in ``mapping``'s order (group outermost)."""
    rdim, cdim, T = df.dims(M, K, N)
    ranges = {
        df.rows_dim: [(a, min(a + rows, rdim)) for a in range(0, rdim, rows)],
        df.cols_dim: [(a, min(a + cols, cdim)) for a in range(0, cdim, cols)],
        df.time_dim: [(a, min(a + mapping.chunk, T)) for a in range(0, T, mapping.chunk)],
    }
    outer, mid, inner = mapping.order
    ri, ci, ti = (mapping.order.index(d) for d in (df.rows_dim, df.cols_dim, df.time_dim))
    for g in range(groups):
        for a in ranges[outer]:
            for b in ranges[mid]:
                for c in ranges[inner]:
                    at = (a, b, c)
                    r, s, t = at[ri], at[ci], at[ti]
                    yield Fold(g, r[0], r[1], s[0], s[1]), t[0], t[1]


def runs(df: Dataflow, mapping: Mapping, groups: int, M: int, K: int, N: int, rows: int,
         cols: int) -> Iterator[tuple[Fold, int, int]]:
    """The runs ``(fold, t0, t1)``: consecutive steps of one fold with adjacent chunks merged
    (one preload and one continuous stream each)."""
    cur = None
    for f, t0, t1 in steps(df, mapping, groups, M, K, N, rows, cols):
        if cur is not None and cur[0] == f and cur[2] == t0:
            cur = (f, cur[1], t1)
            continue
        if cur is not None:
            yield cur
        cur = (f, t0, t1)
    if cur is not None:
        yield cur


def psum_group(df: Dataflow, order: tuple[str, ...]) -> tuple[bool, bool]:
    """Stationary family: whether the partial sums held between two K tiles of an output span
    the whole stream (T) and all column tiles: (T loop inside the row loop, column loop inside
    the row loop)."""
    inner = order[order.index(df.rows_dim) + 1:]
    return df.time_dim in inner, df.cols_dim in inner


def order_label(order: tuple[str, ...]) -> str:
    """``"N>K>M"``: the order as one string, outermost first."""
    return ">".join(order)
