"""Per-PE register activity of a ``mac`` layer: the values behind ``run --vcd`` / ``--saif``
(other PE kinds: the array-level VCD of :func:`accelsim.interop.waves.trace_vcd_bytes`).

Register transfer level, NumPy: the array of docs/datapath.md §4–§5 re-simulated cycle by cycle
from the start of the layer (state carries across folds) up to the end of the requested window,
all PEs at once as ``R×C`` arrays; the multiplier's node toggles come from the kernels' own
gate-level function (:func:`accelsim.kernels.bits.mult_toggles_direct`). The fast kernels keep
only per-class totals per cycle; this recorder keeps every register pattern and every PE's
toggles, and :func:`check_against_trace` requires its all-PE totals to equal the kernel's trace
cycle for cycle before anything is written (docs/decisions.md, "Activity export").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from accelsim.config.schema import Arch
from accelsim.dataflows import REGISTRY as DATAFLOWS
from accelsim.dataflows.mapping import Mapping, fixed_mapping, runs
from accelsim.errors import AccelsimError
from accelsim.kernels.bits import mult_toggles_direct
from accelsim.sim.types import class_names
from accelsim.workload import Layer, lower


@dataclass(frozen=True)
class Activity:
    """Register patterns and toggles of chosen PEs in cycles ``[start, stop)`` of a layer.

    ``values`` int64 [cycles, len(pes), 3]: the patterns of ``regs`` after each cycle's clock
    edge; ``initial`` int64 [len(pes), 3] the patterns before cycle ``start``; ``toggles``
    int64 [cycles, len(pes), 5] per class of ``classes``; ``edge_adder`` int64
    [cycles, cols] toggles of the column accumulation adders (ws, is; zero in os); ``totals``
    int64 [cycles, 5] over all PEs plus the edge adders (the kernel trace's rows).
    """

    layer: str
    classes: tuple[str, ...]
    regs: tuple[str, ...]
    reg_bits: tuple[int, ...]
    start: int
    stop: int
    pes: tuple[tuple[int, int], ...]
    values: np.ndarray
    initial: np.ndarray
    toggles: np.ndarray
    edge_adder: np.ndarray
    totals: np.ndarray


def _popcount(a: np.ndarray) -> np.ndarray:
    return np.bitwise_count(np.asarray(a, dtype=np.uint64)).astype(np.int64)


class _Array:
    """The array's state: register patterns, valid bits of the stationary chain, and the
    previous inputs of every multiplier and node vectors of every adder."""

    def __init__(self, arch: Arch, layer: Layer) -> None:
        R, C = arch.array.rows, arch.array.cols
        pe = arch.pe
        self.R, self.C, self.df = R, C, arch.array.dataflow
        self.zero_idle = arch.array.idle == "zero"
        self.saturate = pe.overflow == "saturate"
        self.xb, self.wb, self.ab = pe.x_bits, pe.w_bits, pe.acc_bits
        self.xs, self.ws = layer.x_signed, layer.w_signed
        self.x_is_a = self.xb <= self.wb
        self.regs = np.zeros((3, R, C), dtype=np.int64)  # x, w, psum|acc patterns
        self.chain_valid = np.zeros((R, C), dtype=bool)
        self.mult_prev = np.zeros((R, C, 2), dtype=np.int64)  # (x, w) patterns
        self.add_prev = np.zeros((R, C, 2), dtype=np.int64)  # (sums, carries)
        self.edge_prev = np.zeros((C, 2), dtype=np.int64)

    # -- units

    def adder(self, a: np.ndarray, b: np.ndarray, prev: np.ndarray) -> tuple[np.ndarray, ...]:
        """datapath.md §3 on patterns: (result pattern, toggles, new (sums, carries))."""
        mask = (1 << self.ab) - 1
        sign = 1 << (self.ab - 1)
        s = a + b
        sums, carries = s & mask, ((s ^ a ^ b) >> 1) & mask
        tog = _popcount(sums ^ prev[..., 0]) + _popcount(carries ^ prev[..., 1])
        result = sums
        if self.saturate:
            over = ((a & sign) == (b & sign)) & ((sums & sign) != (a & sign))
            sat = np.where((a & sign) == 0, sign - 1, sign)
            result = np.where(over, sat, sums)
        return result, tog, np.stack([sums, carries], axis=-1)

    def product_pattern(self, xp: np.ndarray, wp: np.ndarray) -> np.ndarray:
        xv = _value(xp, self.xb, self.xs)
        wv = _value(wp, self.wb, self.ws)
        return (xv * wv) & ((1 << self.ab) - 1)

    def mult_toggles(self, where: tuple[np.ndarray, np.ndarray], xp: np.ndarray,
                     wp: np.ndarray) -> np.ndarray:
        out = np.zeros((self.R, self.C), dtype=np.int64)
        n, m = (self.xb, self.wb) if self.x_is_a else (self.wb, self.xb)
        sa, sb = (self.xs, self.ws) if self.x_is_a else (self.ws, self.xs)
        for r, c in zip(*where):
            x0, w0 = self.mult_prev[r, c]
            x1, w1 = xp[r, c], wp[r, c]
            a0, b0, a1, b1 = (x0, w0, x1, w1) if self.x_is_a else (w0, x0, w1, x1)
            out[r, c] = mult_toggles_direct(int(a0), int(b0), int(a1), int(b1), n, m, sa, sb)
            self.mult_prev[r, c] = (x1, w1)
        return out

    def load(self, i: int, data: np.ndarray, valid: np.ndarray, moving: bool) -> np.ndarray:
        """Clock register file ``i``: valid data loads; otherwise idle rule. Returns toggles."""
        old = self.regs[i].copy()
        new = np.where(valid, data, 0 if (moving and self.zero_idle) else old)
        self.regs[i] = new
        return _popcount(old ^ new)


def _value(p: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    p = np.asarray(p, dtype=np.int64)
    return np.where(p >= 1 << (bits - 1), p - (1 << bits), p) if signed else p


def _pattern(v: np.ndarray, bits: int) -> np.ndarray:
    return np.asarray(v, dtype=np.int64) & ((1 << bits) - 1)


def record(arch: Arch, layer: Layer, pes: Sequence[tuple[int, int]], start: int,
           stop: int, mapping: tuple | None = None) -> Activity:
    """Re-simulate ``layer`` on ``arch`` (a ``mac`` PE) up to cycle ``stop``, run by run in
    ``mapping`` ((loop order, chunk); None: the fixed mapping, docs/mapping.md), and keep the
    activity of ``pes`` (row, col) in cycles ``[start, stop)``.

    Raises AccelsimError for another PE kind.
    """
    if arch.pe.kind != "mac":
        raise AccelsimError("--vcd/--saif", "pe.kind", "a mac PE (the per-PE recorder models "
                            "the mac datapath only)", arch.pe.kind)
    st = _Array(arch, layer)
    R, C = st.R, st.C
    flow = DATAFLOWS[st.df]
    low = lower(layer)
    n_cycles = stop - start
    rows_idx = np.array([p[0] for p in pes], dtype=np.int64)
    cols_idx = np.array([p[1] for p in pes], dtype=np.int64)
    values = np.zeros((n_cycles, len(pes), 3), dtype=np.int64)
    toggles = np.zeros((n_cycles, len(pes), 5), dtype=np.int64)
    edge = np.zeros((n_cycles, C), dtype=np.int64)
    totals = np.zeros((n_cycles, 5), dtype=np.int64)
    rr, cc = np.meshgrid(np.arange(R), np.arange(C), indexing="ij")
    cycle = 0

    initial = np.zeros((len(pes), 3), dtype=np.int64)

    def keep(tog: list[np.ndarray], edge_tog: np.ndarray) -> None:
        i = cycle - start
        if i == -1:
            initial[:] = st.regs[:, rows_idx, cols_idx].T
        if 0 <= i < n_cycles:
            stacked = np.stack(tog, axis=-1)  # [R, C, 5]
            values[i] = st.regs[:, rows_idx, cols_idx].T
            toggles[i] = stacked[rows_idx, cols_idx]
            edge[i] = edge_tog
            totals[i] = stacked.sum(axis=(0, 1))
            totals[i, 4] += edge_tog.sum()

    zeros = np.zeros((R, C), dtype=np.int64)
    no_edge = np.zeros(C, dtype=np.int64)
    plan = (fixed_mapping(flow, low.M, low.K, low.N) if mapping is None
            else Mapping(tuple(mapping[0]), int(mapping[1])))
    tiles: dict = {}  # (group, column tile) -> partial outputs [T, C] of the stationary family
    for fold, t0, t1 in runs(flow, plan, low.groups, low.M, low.K, low.N, R, C):
        if cycle >= stop:
            break
        r_act, c_act = fold.r1 - fold.r0, fold.c1 - fold.c0
        g = fold.g
        if DATAFLOWS[st.df].holds_outputs:
            T = low.K
            X = np.zeros((R, T), dtype=np.int64)
            X[:r_act] = low.x_block(g, fold.r0, fold.r1, 0, T)
            W = np.zeros((T, C), dtype=np.int64)
            W[:, :c_act] = low.w_block(g, 0, T, fold.c0, fold.c1)
            for s in range(R + C + T - 2):
                k = s - rr - cc
                en = (k >= 0) & (k < T) & (rr < r_act) & (cc < c_act)
                kk = np.clip(k, 0, T - 1)
                xp = _pattern(X[rr, kk], st.xb)
                wp = _pattern(W[kk, cc], st.wb)
                tx = st.load(0, xp, en, moving=True)
                tw = st.load(1, wp, en, moving=True)
                where = np.nonzero(en)
                tm = st.mult_toggles(where, st.regs[0], st.regs[1])
                a = np.where(k == 0, 0, st.regs[2])
                res, tadd, nodes = st.adder(a, st.product_pattern(st.regs[0], st.regs[1]),
                                            st.add_prev)
                st.add_prev = np.where(en[..., None], nodes, st.add_prev)
                ta = np.where(en, tadd, 0)
                tp = st.load(2, res, en, moving=False)
                keep([tx, tw, tp, tm, ta], no_edge)
                cycle += 1
                if cycle >= stop:
                    break
            continue
        # ws / is: stationary S [R, C], moving H [T, R]
        stat, mov = (1, 0) if DATAFLOWS[st.df].holds_w else (0, 1)
        T = t1 - t0  # this run's chunk of the stream
        if DATAFLOWS[st.df].holds_w:
            S = np.zeros((R, C), dtype=np.int64)
            S[:r_act, :c_act] = low.w_block(g, fold.r0, fold.r1, fold.c0, fold.c1)
            H = np.zeros((T, R), dtype=np.int64)
            H[:, :r_act] = low.x_block(g, t0, t1, fold.r0, fold.r1)
        else:
            S = np.zeros((R, C), dtype=np.int64)
            S[:r_act, :c_act] = low.x_block(g, fold.c0, fold.c1, fold.r0, fold.r1).T
            H = np.zeros((T, R), dtype=np.int64)
            H[:, :r_act] = low.w_block(g, fold.r0, fold.r1, t0, t1).T
        s_bits = st.wb if stat == 1 else st.xb
        h_bits = st.xb if mov == 0 else st.wb
        full_t = low.M if DATAFLOWS[st.df].holds_w else low.N
        out_partial = tiles.setdefault((g, fold.c0), np.zeros((full_t, C), np.int64))[t0:t1]
        for p in range(R):  # preload
            top_valid = (p >= R - r_act) & (np.arange(C) < c_act)
            data = np.empty((R, C), dtype=np.int64)
            valid = np.empty((R, C), dtype=bool)
            data[1:], valid[1:] = st.regs[stat][:-1], st.chain_valid[:-1]
            data[0] = _pattern(S[R - 1 - p] if p >= R - r_act else np.zeros(C), s_bits)
            valid[0] = top_valid
            st.chain_valid = valid.copy()
            t_stat = st.load(stat, data, valid, moving=True)
            none = np.zeros((R, C), dtype=bool)
            t_mov = st.load(mov, zeros, none, moving=True)
            t_p = st.load(2, zeros, none, moving=True)
            tog = [zeros] * 5
            tog[stat], tog[mov], tog[2] = t_stat, t_mov, t_p
            keep(tog, no_edge)
            cycle += 1
            if cycle >= stop:
                break
        if cycle >= stop:
            break
        st.chain_valid[:] = False  # streaming: the stationary registers load nothing
        for s in range(T + R + C - 2):
            t = s - rr - cc
            en = (t >= 0) & (t < T) & (rr < r_act) & (cc < c_act)
            hp = _pattern(H[np.clip(t, 0, T - 1), rr], h_bits)
            psum_in = np.vstack([np.zeros((1, C), dtype=np.int64), st.regs[2][:-1]])
            t_mov = st.load(mov, hp, en, moving=True)
            where = np.nonzero(en)
            tm = st.mult_toggles(where, st.regs[0], st.regs[1])
            res, tadd, nodes = st.adder(psum_in, st.product_pattern(st.regs[0], st.regs[1]),
                                        st.add_prev)
            st.add_prev = np.where(en[..., None], nodes, st.add_prev)
            ta = np.where(en, tadd, 0)
            t_p = st.load(2, res, en, moving=True)
            edge_tog = np.zeros(C, dtype=np.int64)
            for c in range(c_act):  # results leaving row r_act-1 this cycle
                tt = s - (r_act - 1) - c
                if 0 <= tt < T:
                    col = st.regs[2][r_act - 1, c]
                    if fold.r0 == 0:
                        out_partial[tt, c] = col
                    else:
                        res_e, tog_e, nodes_e = st.adder(np.int64(out_partial[tt, c]),
                                                         np.int64(col), st.edge_prev[c])
                        out_partial[tt, c] = res_e
                        st.edge_prev[c] = nodes_e
                        edge_tog[c] = tog_e
            tog = [zeros] * 5
            tog[mov], tog[stat], tog[2], tog[3], tog[4] = t_mov, zeros, t_p, tm, ta
            keep(tog, edge_tog)
            cycle += 1
            if cycle >= stop:
                break
    if cycle < stop:
        raise AccelsimError("--vcd-cycles", "", f"a window inside the layer's {cycle} cycles",
                            f"{start}:{stop}")
    names = class_names(st.df)
    return Activity(layer.name, names, names[:3], (st.xb, st.wb, st.ab), start, stop,
                    tuple((int(r), int(c)) for r, c in pes), values, initial, toggles, edge,
                    totals)


def check_request(arch: Arch, arch_file: str, saif: object, pes: object) -> None:
    """``--saif`` and ``--vcd-pes`` need the per-PE recorder, which models the ``mac`` PE; for
    other PE kinds only the array-level VCD (:func:`~accelsim.interop.waves.trace_vcd_bytes`)
    is written. Raises AccelsimError naming the option for a request the PE kind cannot meet."""
    if arch.pe.kind == "mac":
        return
    for option, given in (("--saif", saif), ("--vcd-pes", pes)):
        if given is not None:
            raise AccelsimError(arch_file, f"pe.kind (with {option})", "mac (per-PE register "
                                "activity is recorded for mac PEs only; --vcd alone writes the "
                                "array's toggles per class for any PE kind)", arch.pe.kind)


def check_against_trace(activity: Activity, trace: np.ndarray) -> None:
    """Require the recorder's all-PE totals to equal the fast kernel's per-cycle trace rows
    ``[start, stop)`` in the array's classes (an output unit's column, outside the PEs, is not
    recorded); a difference is a bug (RuntimeError)."""
    want = np.asarray(trace[activity.start:activity.stop, :activity.totals.shape[1]],
                      dtype=np.int64)
    if not np.array_equal(want, activity.totals):
        bad = int(np.argmax(np.any(want != activity.totals, axis=1)))
        raise RuntimeError(f"activity recorder disagrees with the kernel trace of layer "
                           f"{activity.layer!r} at cycle {activity.start + bad}: "
                           f"{activity.totals[bad].tolist()} vs {want[bad].tolist()}")
