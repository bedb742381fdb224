"""Tiling plan: which bytes move between DRAM and the buffers for every fold (NumPy, no SimPy).

A layer's folds are cut into *steps* (fold × chunk of its streamed dimension T) and ordered by
the layer's mapping (``accelsim.dataflows.mapping``; docs/mapping.md): the fixed mapping keeps
``Dataflow.folds``' order and cuts a fold into chunks only when its streamed operand (or
partial-sum tile) does not fit one buffer slot. For every step the plan lists

- the DRAM reads that must be resident before it computes (``loads``), each a burst list,
- its compute cycles (its share of the fold's SCALE-Sim window) and SRAM-port-limited duration,
- the ofmap allocation it accumulates into, and the DRAM writes that drain it (``stores``),
- the SRAM accesses it makes (counted into ``SramCounters``).

Reuse (docs/memory.md §2): an operand whose whole tensor fits one slot is *layer-resident* (every
DRAM burst of it is read once per layer); otherwise tiles are *fold-resident*: each step reads
its tile, unless it is the very tile the previous one of that buffer held (e.g. ``os`` weights
across the M folds of one N tile). Partial sums stay in the ofmap buffer across K folds when
those held between two K tiles fit a slot, else they go to DRAM and come back (spill).

DRAM layout per layer (each region aligned to a DRAM row): ifmap unpadded NCHW (gemm/linear
row-major [M, K]); weights blocked in the order the dataflow consumes them, so a fold's weight
tile (or a chunk of it) is one contiguous run; outputs NCHW (gemm/linear row-major [M, N]);
spilled partial sums blocked by output tile, so a chunk is one contiguous run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from accelsim.dataflows import Dataflow
from accelsim.dataflows.mapping import Mapping, fixed_order, psum_group, steps
from accelsim.errors import ConfigError
from accelsim.sim.memory.sram import BufferSlot, SramCounters

Bursts = tuple  # (starts, stops): sequences of burst indices, ranges [starts[i], stops[i])


class Step:
    """One scheduled unit: a fold, or a chunk of a re-tiled fold (see module docstring).

    ``loads``: DRAM reads ``[buffer, Bursts, wait]`` (buffer ``ifmap`` | ``filter`` | ``psum``;
    ``wait``: the step whose end frees the room the load needs, -1 for none, None for a psum read,
    which waits for its allocation's room instead); ``alloc``: the ofmap allocation written,
    ``alloc_new`` if this step opens it, ``alloc_wait`` the allocation that must have drained
    first (-1: none); ``stores``: ``(kind, Bursts)`` DRAM writes after the step, kind ``ofmap``
    (outputs) or ``psum`` (spill); ``drain``: elements read out of the ofmap buffer for them.
    """

    __slots__ = ("layer", "fold", "first", "last", "compute", "duration", "loads", "psum_in",
                 "alloc", "alloc_new", "alloc_wait", "stores", "drain")

    def __init__(self, layer: int, fold: int, first: bool, last: bool, compute: int,
                 duration: float, alloc: int, alloc_new: bool) -> None:
        self.layer, self.fold, self.first, self.last = layer, fold, first, last
        self.compute, self.duration = compute, duration
        self.loads: list = []
        self.psum_in = False
        self.alloc, self.alloc_new = alloc, alloc_new
        self.alloc_wait = -1
        self.stores: list | None = None
        self.drain = 0


@dataclass
class LayerPlan:
    """The plan of one layer: modes, chunk size, steps and counters (for reports and tests).

    ``x_mode`` / ``w_mode``: ``"layer"`` (whole tensor resident) or ``"fold"``;
    ``psum_mode``: ``"none"`` (os), ``"resident"`` (output tile stays in the ofmap buffer across
    K folds), ``"spill"`` (partial sums go to DRAM between K folds) or ``"stream"`` (one K fold;
    outputs leave chunk by chunk); ``chunk``: streamed elements per step (== T: not re-tiled);
    ``mapping``: the loop order and chunk the steps follow (``accelsim.dataflows.mapping``).
    """

    index: int
    name: str
    x_mode: str
    w_mode: str
    psum_mode: str
    chunk: int
    T: int
    folds: int
    mapping: Mapping
    steps: list = field(default_factory=list)
    sram: SramCounters = field(default_factory=SramCounters)


class Layout:
    """Allocates DRAM regions (byte addresses), each aligned to ``align`` bytes."""

    def __init__(self, align: int) -> None:
        self.align = align
        self.next = 0

    def region(self, nbytes: float) -> int:
        """Base address of a new region of ``nbytes`` bytes."""
        base = self.next
        size = int(math.ceil(nbytes))
        self.next = base + -(-max(size, 1) // self.align) * self.align
        return base


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))


def _touched(oa: int, ob: int, ia: int, ib: int, s: int, p: int, d: int, size: int) -> tuple:
    """Input positions read by outputs ``oa..ob`` and kernel taps ``ia..ib`` (sorted tuple)."""
    if d == 1 and ib - ia + 1 >= s:
        lo, hi = max(oa * s - p + ia, 0), min(ob * s - p + ib, size - 1)
        return tuple(range(lo, hi + 1))
    vals = (np.arange(oa, ob + 1)[:, None] * s + np.arange(ia, ib + 1)[None, :] * d - p).ravel()
    vals = np.unique(vals)
    return tuple(int(v) for v in vals[(vals >= 0) & (vals < size)])


class IfmapGeometry:
    """Where im2col rows/columns of a layer's X live in its stored ifmap tensor."""

    def __init__(self, geom, groups: int, M: int, K: int) -> None:
        self.groups, self.M, self.K = groups, M, K
        self.conv = geom.conv is not None
        if self.conv:
            n, c, h, w, kh, kw, stride, padding, dilation = geom.conv
            self.n, self.c, self.h, self.w, self.kh, self.kw = n, c, h, w, kh, kw
            (self.sh, self.sw), (self.ph, self.pw), (self.dh, self.dw) = (
                _pair(stride), _pair(padding), _pair(dilation))
            self.cg = c // groups
            self.kk = kh * kw
            self.ho = (h + 2 * self.ph - self.dh * (kh - 1) - 1) // self.sh + 1
            self.wo = (w + 2 * self.pw - self.dw * (kw - 1) - 1) // self.sw + 1
            self.elements = n * c * h * w
        else:
            self.elements = groups * M * K
        self._memo: dict = {}

    def _rows_cols(self, key: tuple) -> tuple:
        """Memoized (rows, cols) touched: ``key`` = (oha, ohb, ia, ib, owa, owb, ja, jb)."""
        hit = self._memo.get(key)
        if hit is None:
            oha, ohb, ia, ib, owa, owb, ja, jb = key
            hit = self._memo[key] = (
                _touched(oha, ohb, ia, ib, self.sh, self.ph, self.dh, self.h),
                _touched(owa, owb, ja, jb, self.sw, self.pw, self.dw, self.w),
            )
        return hit

    def _segments(self, rows: tuple) -> list[tuple[int, int]]:
        """Contiguous (first row, count) segments of a sorted row tuple (memoized)."""
        hit = self._memo.get(rows)
        if hit is None:
            hit, start = [], rows[0]
            for a, b in zip(rows, rows[1:]):
                if b != a + 1:
                    hit.append((start, a - start + 1))
                    start = b
            hit.append((start, rows[-1] - start + 1))
            self._memo[rows] = hit
        return hit

    def runs(self, g: int, m0: int, m1: int, k0: int, k1: int) -> tuple:
        """Element runs (starts, lengths: int lists when short, else int64 arrays; in address
        order) holding the bounding box of ``X[g, m0:m1, k0:k1]`` in the stored tensor, and its
        element count."""
        if m1 <= m0 or k1 <= k0:
            return [], [], 0
        if not self.conv:
            base = g * self.M * self.K
            if k0 == 0 and k1 == self.K:
                n = (m1 - m0) * self.K
                return [base + m0 * self.K], [n], n
            if m1 - m0 <= 64:
                return ([base + m * self.K + k0 for m in range(m0, m1)], [k1 - k0] * (m1 - m0),
                        (m1 - m0) * (k1 - k0))
            starts = base + np.arange(m0, m1, dtype=np.int64) * self.K + k0
            return starts, np.full(m1 - m0, k1 - k0, np.int64), (m1 - m0) * (k1 - k0)
        hw = self.ho * self.wo
        na, pa = divmod(m0, hw)
        nb, pb = divmod(m1 - 1, hw)
        if na == nb:
            oha, owa = divmod(pa, self.wo)
            ohb, owb = divmod(pb, self.wo)
            if oha != ohb:
                owa, owb = 0, self.wo - 1
        else:
            oha, ohb, owa, owb = 0, self.ho - 1, 0, self.wo - 1
        ca, ra = divmod(k0, self.kk)
        cb, rb = divmod(k1 - 1, self.kk)
        if ca == cb:
            ia, ja = divmod(ra, self.kw)
            ib, jb = divmod(rb, self.kw)
            if ia != ib:
                ja, jb = 0, self.kw - 1
        else:
            ia, ib, ja, jb = 0, self.kh - 1, 0, self.kw - 1
        rows, cols = self._rows_cols((oha, ohb, ia, ib, owa, owb, ja, jb))
        if not rows or not cols:
            return [], [], 0
        clo, width = cols[0], cols[-1] - cols[0] + 1
        c0, c1 = g * self.cg + ca, g * self.cg + cb + 1
        elements = (nb - na + 1) * (c1 - c0) * len(rows) * width
        full = width == self.w
        segs = self._segments(rows) if full else None
        if (nb - na + 1) * (c1 - c0) * (len(segs) if full else len(rows)) <= 64:
            planes = [(n * self.c + c) * self.h for n in range(na, nb + 1) for c in range(c0, c1)]
            if full:
                w = self.w
                return ([(pl + r0) * w for pl in planes for r0, _ in segs],
                        [ln * w for _ in planes for _, ln in segs], elements)
            return ([(pl + r) * self.w + clo for pl in planes for r in rows],
                    [width] * (len(planes) * len(rows)), elements)
        ns = np.arange(na, nb + 1, dtype=np.int64)
        cs = np.arange(c0, c1, dtype=np.int64)
        planes = (ns[:, None] * self.c + cs[None, :]).ravel() * self.h
        if full:  # full rows: one run per contiguous row segment
            r = np.asarray(rows, dtype=np.int64)
            cut = np.flatnonzero(np.diff(r) != 1) + 1
            seg0 = r[np.concatenate(([0], cut))]
            seglen = np.diff(np.concatenate(([0], cut, [len(r)])))
            starts = ((planes[:, None] + seg0[None, :]) * self.w).ravel()
            lens = np.broadcast_to(seglen[None, :] * self.w, (len(planes), len(seg0))).ravel()
        else:
            r = np.asarray(rows, dtype=np.int64)
            starts = ((planes[:, None] + r[None, :]) * self.w + clo).ravel()
            lens = np.full(starts.size, width, np.int64)
        return starts, np.ascontiguousarray(lens), elements

    def bound(self, mw: int, kw_: int) -> int:
        """Upper bound on the bounding-box elements of any ``mw`` consecutive im2col rows ×
        ``kw_`` consecutive columns (used to size re-tiled chunks)."""
        if not self.conv:
            return mw * kw_
        hw = self.ho * self.wo
        channels = min(self.cg, (kw_ + self.kk - 2) // self.kk + 1)
        if mw > hw:
            images = min(self.n, (mw + hw - 2) // hw + 1)
            return images * channels * self.h * self.w
        images = 1 if mw <= 1 else min(self.n, 2)
        orows = min(self.ho, (mw + self.wo - 2) // self.wo + 1)
        if images > 1:
            orows = self.ho
        rows = min(self.h, (orows - 1) * self.sh + (self.kh - 1) * self.dh + 1)
        if orows > 1:
            cols = self.w
        else:
            cols = min(self.w, (mw - 1) * self.sw + (self.kw - 1) * self.dw + 1)
        return images * channels * rows * cols


def bursts_of(base: int, eb: float, starts, lens, bb: int) -> Bursts:
    """Merged burst ranges covering element runs (``starts``, ``lens``: lists or int64 arrays,
    sorted, disjoint) of a tensor at byte address ``base`` with ``eb`` bytes per element."""
    if isinstance(starts, list) and len(starts) > 12:
        starts, lens = np.asarray(starts, np.int64), np.asarray(lens, np.int64)
    if isinstance(starts, list):
        b0s: list[int] = []
        b1s: list[int] = []
        e = int(eb) if eb == int(eb) else 0
        for st, ln in zip(starts, lens):
            if e:
                b0 = (base + st * e) // bb
                b1 = -(-(base + (st + ln) * e) // bb)
            else:
                b0 = (base + int(math.floor(st * eb))) // bb
                b1 = -(-(base + int(math.ceil((st + ln) * eb))) // bb)
            if b1s and b0 <= b1s[-1]:
                b1s[-1] = max(b1s[-1], b1)
            else:
                b0s.append(b0)
                b1s.append(b1)
        return tuple(b0s), tuple(b1s)
    if eb == int(eb):
        e = int(eb)
        b0 = (base + starts * e) // bb
        b1 = (base + (starts + lens) * e + bb - 1) // bb
    else:
        b0 = (base + np.floor(starts * eb).astype(np.int64)) // bb
        b1 = (base + np.ceil((starts + lens) * eb).astype(np.int64) + bb - 1) // bb
    if b0.size <= 1:
        return tuple(b0.tolist()), tuple(b1.tolist())
    keep = b0[1:] > b1[:-1]
    return (b0[np.concatenate(([True], keep))], b1[np.concatenate((keep, [True]))])


def run_bursts(base: int, eb: float, start: int, length: int, bb: int) -> Bursts:
    """Burst range of one contiguous element run (pure Python)."""
    lo = base + int(math.floor(start * eb))
    hi = base + int(math.ceil((start + length) * eb))
    return (lo // bb,), (-(-hi // bb),)


def nbursts(b: Bursts) -> int:
    """Number of bursts in a burst list."""
    s, e = b
    if len(s) == 1:
        return int(e[0]) - int(s[0])
    return int(np.sum(np.asarray(e) - np.asarray(s)))


class Resident:
    """Bursts of one tensor already in a layer-resident buffer (a bitmap over its region)."""

    def __init__(self, base_burst: int, nb: int) -> None:
        self.base = base_burst
        self.bits = bytearray(max(nb, 1))

    def new(self, b: Bursts) -> Bursts | None:
        """The not-yet-resident part of ``b`` (marking it resident), None if all resident."""
        if len(b[0]) > 8:
            return self._new_many(b)
        out0, out1 = [], []
        bits, base = self.bits, self.base
        for s, e in zip(b[0], b[1]):
            s, e = int(s) - base, int(e) - base
            have = bits.count(1, s, e)
            if have == e - s:
                continue
            if have == 0:
                out0.append(s + base)
                out1.append(e + base)
            else:
                seg = np.frombuffer(bits, dtype=np.uint8, count=e - s, offset=s)
                idx = np.flatnonzero(seg == 0) + s
                cut = np.flatnonzero(np.diff(idx) != 1) + 1
                out0.extend((idx[np.concatenate(([0], cut))] + base).tolist())
                out1.extend((idx[np.concatenate((cut - 1, [len(idx) - 1]))] + base + 1).tolist())
            bits[s:e] = b"\x01" * (e - s)
        if not out0:
            return None
        return tuple(out0), tuple(out1)

    def _new_many(self, b: Bursts) -> Bursts | None:
        """``new`` for many ranges, vectorised."""
        s = np.asarray(b[0], dtype=np.int64) - self.base
        e = np.asarray(b[1], dtype=np.int64) - self.base
        n = e - s
        total = int(n.sum())
        idx = np.repeat(s - (np.cumsum(n) - n), n) + np.arange(total)
        bits = np.frombuffer(self.bits, dtype=np.uint8)
        idx = idx[bits[idx] == 0]
        if idx.size == 0:
            return None
        bits[idx] = 1
        cut = np.flatnonzero(np.diff(idx) != 1) + 1
        lo = idx[np.concatenate(([0], cut))] + self.base
        hi = idx[np.concatenate((cut - 1, [idx.size - 1]))] + self.base + 1
        return lo, hi


class Planner:
    """Builds ``LayerPlan``s for consecutive layers (shared DRAM layout and buffer occupancy).

    Every buffer is a ring of its whole capacity: a tile may be loaded once the tiles before it
    that would not fit alongside it have been used for the last time (``finalize``). Tiles fit
    one slot (half a double buffer), so at least two are in flight; tiles of exactly half the
    buffer give classic ping-pong double buffering. Single-buffered: a step's reads wait for the
    previous step to end (no transfer into a buffer overlaps compute) and an ofmap allocation
    for the previous one to drain.

    Parameters
    ----------
    dataflow : Dataflow
    rows, cols : int
        Array size.
    slots : dict of BufferSlot
        ``ifmap``, ``filter``, ``ofmap``.
    burst_bytes, align_bytes : int
        DRAM burst size and region alignment (bytes).
    double_buffered : bool
        Slots are buffer halves (True) or whole buffers (False).
    file : str
        Arch file named in errors.
    """

    def __init__(self, dataflow: Dataflow, rows: int, cols: int, slots: dict[str, BufferSlot],
                 burst_bytes: int, align_bytes: int, double_buffered: bool, file: str) -> None:
        self.df, self.R, self.C = dataflow, rows, cols
        self.slots, self.bb, self.file = slots, burst_bytes, file
        self.double = double_buffered
        self.halves = 2 if double_buffered else 1
        self.layout = Layout(align_bytes)
        self.tiles: dict[str, list[list]] = {"ifmap": [], "filter": []}  # [bytes, last step]
        self.allocs: list[list] = []  # ofmap allocations: [bytes, last step]
        self.steps: list[Step] = []

    def _too_small(self, buf: str, need_bytes: float, what: str) -> ConfigError:
        """The error for a buffer that cannot hold even the smallest tile of a fold."""
        slot = self.slots[buf]
        need_kib = need_bytes * self.halves / 1024
        slots = "two halves" if self.halves == 2 else "the whole buffer"
        return ConfigError(
            self.file, f"buffers.{buf}.size_kib",
            f"at least {need_kib:g} KiB ({what}, {need_bytes:g} B, must fit {slots})",
            slot.slot_bytes * self.halves / 1024,
        )

    @staticmethod
    def _max_t(T: int, fits) -> int:
        """Largest t in 1..T with fits(t) (fits monotone); 0 if not even 1."""
        if fits(T):
            return T
        if not fits(1):
            return 0
        lo, hi = 1, T
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if fits(mid):
                lo = mid
            else:
                hi = mid
        return lo

    def _limit(self, limits: list[int], T: int, fits, buf: str, need1: float, what: str) -> None:
        """Append the largest chunk for which ``fits``; error if not even one element fits."""
        t = self._max_t(T, fits)
        if t == 0:
            raise self._too_small(buf, need1, what)
        limits.append(t)

    def chunk_limits(self, geom) -> tuple[int, int]:
        """(largest chunk the ifmap and filter slots allow, largest chunk whose partial sums of
        one step fit an ofmap slot; T for os) of a layer (``geom`` a ``LayerGeometry``).

        Raises
        ------
        ConfigError
            A buffer cannot hold even the smallest tile of a fold.
        """
        df, R, C = self.df, self.R, self.C
        G, M, K, N = geom.groups, geom.M, geom.K, geom.N
        rdim, cdim, T = df.dims(M, K, N)
        r_max, c_max = min(R, rdim), min(C, cdim)
        xg = IfmapGeometry(geom, G, M, K)
        xeb, web, peb = geom.x_elem_bytes, geom.w_elem_bytes, geom.psum_elem_bytes
        cap = {b: s.slot_bytes for b, s in self.slots.items()}
        limits = [T]
        if df.holds_w:
            if r_max * c_max * web > cap["filter"]:
                raise self._too_small("filter", r_max * c_max * web, "one stationary weight tile")
            self._limit(limits, T, lambda t: xg.bound(t, r_max) * xeb <= cap["ifmap"], "ifmap",
                        xg.bound(1, r_max) * xeb, "one streamed input step")
        elif df.holds_x:
            if xg.bound(c_max, r_max) * xeb > cap["ifmap"]:
                raise self._too_small("ifmap", xg.bound(c_max, r_max) * xeb,
                                      "one stationary input tile")
            self._limit(limits, T, lambda t: r_max * t * web <= cap["filter"], "filter",
                        r_max * web, "one streamed weight step")
        else:  # os
            if r_max * c_max * peb > cap["ofmap"]:
                raise self._too_small("ofmap", r_max * c_max * peb, "one output tile")
            self._limit(limits, T, lambda t: xg.bound(r_max, t) * xeb <= cap["ifmap"], "ifmap",
                        xg.bound(r_max, 1) * xeb, "one streamed input step")
            self._limit(limits, T, lambda t: t * c_max * web <= cap["filter"], "filter",
                        c_max * web, "one streamed weight step")
        t_io = min(limits)
        if df.holds_outputs:
            return t_io, T
        t_nr = T if cap["ofmap"] == math.inf else min(T, int(cap["ofmap"] // (c_max * peb)))
        if t_nr < 1:
            raise self._too_small("ofmap", c_max * peb, "one step of partial sums")
        return t_io, t_nr

    def psum_live(self, geom, order: tuple[str, ...], chunk: int) -> int:
        """Partial sums (elements, largest case) held in the ofmap buffer between two K tiles of
        an output under ``order`` with ``chunk`` (stationary family)."""
        rdim, cdim, T = self.df.dims(geom.M, geom.K, geom.N)
        t_full, c_full = psum_group(self.df, order)
        return (T if t_full else chunk) * (cdim if c_full else min(self.C, cdim))

    def psum_mode(self, geom, order: tuple[str, ...], chunk: int) -> str:
        """How partial sums are kept under ``order`` and ``chunk`` (see ``LayerPlan``)."""
        if self.df.holds_outputs:
            return "none"
        held = self.psum_live(geom, order, chunk) * geom.psum_elem_bytes
        if held <= self.slots["ofmap"].slot_bytes:
            return "resident"
        return "spill" if self.df.dims(geom.M, geom.K, geom.N)[0] > self.R else "stream"

    def fixed(self, geom) -> Mapping:
        """SCALE-Sim's order with the largest chunk the buffers allow (today's convention)."""
        t_io, t_nr = self.chunk_limits(geom)
        order = fixed_order(self.df)
        if self.psum_mode(geom, order, t_io) == "resident":
            return Mapping(order, t_io)
        return Mapping(order, min(t_io, t_nr))

    def plan(self, li: int, geom, mapping: Mapping | None = None) -> LayerPlan:
        """Plan layer number ``li`` (``geom`` a ``LayerGeometry``) under ``mapping`` (default:
        :meth:`fixed`): modes, chunk, steps."""
        if mapping is None:
            mapping = self.fixed(geom)
        cap = {b: s.slot_bytes for b, s in self.slots.items()}
        x_mode = "layer" if geom.x_bytes_unique <= cap["ifmap"] else "fold"
        w_mode = "layer" if geom.w_bytes <= cap["filter"] else "fold"
        G, M, K, N = geom.groups, geom.M, geom.K, geom.N
        T = self.df.dims(M, K, N)[2]
        plan = LayerPlan(li, geom.name, x_mode, w_mode,
                         self.psum_mode(geom, mapping.order, mapping.chunk), mapping.chunk, T,
                         self.df.count(G, M, K, N, self.R, self.C), mapping)
        _LayerSteps(self, plan, geom, IfmapGeometry(geom, G, M, K)).run()
        return plan

    def finalize(self) -> None:
        """Resolve every load's and allocation's wait (needs all layers planned).

        A load's third item becomes the step whose end frees room for it (-1: none); each
        step's ``alloc_wait`` the ofmap allocation that must have drained first (-1: none).
        """
        waits = {}
        for buf, tiles in self.tiles.items():
            cap = self.slots[buf].slot_bytes * self.halves
            waits[buf] = [tiles[w][1] if w >= 0 else -1
                          for w in _ring_waits([t[0] for t in tiles], cap, self.double)]
        cap = self.slots["ofmap"].slot_bytes * self.halves
        alloc_wait = _ring_waits([a[0] for a in self.allocs], cap, self.double)
        for i, st in enumerate(self.steps):
            for load in st.loads:
                slot = load[2]
                if slot is not None:  # single-buffered: no transfer overlaps compute
                    load[2] = waits[slot[0]][slot[1]] if self.double else i - 1
            st.alloc_wait = alloc_wait[st.alloc]


def _ring_waits(sizes: list[float], capacity: float, double: bool) -> list[int]:
    """For each tile, the last earlier tile that must be released before it loads (-1: none):
    the tiles after that one, with it, fit ``capacity`` (double) or it is the previous one."""
    if not double:
        return list(range(-1, len(sizes) - 1))
    out, j, total = [], 0, 0.0
    for s, size in enumerate(sizes):
        total += size
        while total > capacity * (1 + 1e-12) and j < s:
            total -= sizes[j]
            j += 1
        out.append(j - 1)
    return out


class _LayerSteps:
    """Cuts one layer into steps (see the module docstring) and accounts its SRAM accesses."""

    def __init__(self, planner: Planner, plan: LayerPlan, geom, xg: IfmapGeometry) -> None:
        self.p, self.plan, self.geom, self.xg = planner, plan, geom, xg
        df = planner.df
        self.df = df
        G, M, K, N = geom.groups, geom.M, geom.K, geom.N
        self.G, self.M, self.K, self.N = G, M, K, N
        self.rdim, self.cdim, self.T = df.dims(M, K, N)
        self.xeb, self.web, self.peb = geom.x_elem_bytes, geom.w_elem_bytes, geom.psum_elem_bytes
        self.yeb = (geom.y_elem_bytes if geom.y_elem_bytes is not None
                    else geom.y_bytes / (G * M * N) if G * M * N else self.peb)
        bb, lay = planner.bb, planner.layout
        self.bb = bb
        self.x_base = lay.region(max(geom.x_bytes_unique, xg.elements * self.xeb))
        self.w_base = lay.region(G * K * N * self.web)
        self.y_base = lay.region(max(geom.y_bytes, G * M * N * self.yeb))
        self.p_base = lay.region(G * M * N * self.peb if plan.psum_mode == "spill" else 0)
        self.mode = {"ifmap": plan.x_mode, "filter": plan.w_mode}
        self.res = {
            "ifmap": Resident(self.x_base // bb, -(-int(math.ceil(xg.elements * self.xeb)) // bb))
            if plan.x_mode == "layer" else None,
            "filter": Resident(self.w_base // bb, -(-int(math.ceil(G * K * N * self.web)) // bb))
            if plan.w_mode == "layer" else None,
        }
        self.whole = {"ifmap": geom.x_bytes_unique, "filter": geom.w_bytes}
        self.resident_slot: dict = {"ifmap": None, "filter": None}
        self.last_key: dict = {"ifmap": None, "filter": None}
        self.x_cache: dict = {}
        self.hw = xg.ho * xg.wo if xg.conv else 0

    # -- DRAM bursts of the four tensors ------------------------------------------------------

    def x_bursts(self, g: int, m0: int, m1: int, k0: int, k1: int) -> tuple[Bursts, int]:
        """Bursts of ``X[g, m0:m1, k0:k1]``'s bounding box and its element count (cached)."""
        key = (g, m0, m1, k0, k1)
        hit = self.x_cache.get(key)
        if hit is None:
            starts, lens, n = self.xg.runs(g, m0, m1, k0, k1)
            hit = self.x_cache[key] = (bursts_of(self.x_base, self.xeb, starts, lens, self.bb), n)
        return hit

    def w_bursts(self, g: int, f, t0: int, t1: int) -> tuple[Bursts, int]:
        """Bursts and element count of fold ``f``'s weight tile (ws) or chunk [t0, t1) (os, is);
        the layout blocks weights in consumption order, so it is one contiguous run."""
        K, N = self.K, self.N
        gb = g * K * N
        if self.df.holds_w:  # blocks (g, n tile, k tile) of [k][n]
            start, n = gb + f.c0 * K + f.r0 * (f.c1 - f.c0), (f.r1 - f.r0) * (f.c1 - f.c0)
        elif self.df.holds_outputs:  # blocks (g, n tile) of [k][n]
            width = f.c1 - f.c0
            start, n = gb + f.c0 * K + t0 * width, (t1 - t0) * width
        else:  # is: blocks (g, k tile) of [n][k]
            width = f.r1 - f.r0
            start, n = gb + f.r0 * N + t0 * width, (t1 - t0) * width
        return run_bursts(self.w_base, self.web, start, n, self.bb), n

    def y_bursts(self, g: int, m0: int, m1: int, n0: int, n1: int) -> Bursts:
        """Bursts of outputs ``Y[g, m0:m1, n0:n1]`` (NCHW for conv, else row-major [M, N])."""
        N, o_total, hw, base = self.N, self.G * self.N, self.hw, self.y_base
        if not self.xg.conv:
            if n0 == 0 and n1 == N:
                return run_bursts(base, self.yeb, m0 * N, (m1 - m0) * N, self.bb)
            starts = [m * o_total + g * N + n0 for m in range(m0, m1)]
            return bursts_of(base, self.yeb, starts, [n1 - n0] * (m1 - m0), self.bb)
        starts, lens = [], []
        for img in range(m0 // hw, (m1 - 1) // hw + 1):  # address order: image-major
            p0, p1 = max(m0, img * hw) - img * hw, min(m1, (img + 1) * hw) - img * hw
            starts += [(img * o_total + o) * hw + p0 for o in range(g * N + n0, g * N + n1)]
            lens += [p1 - p0] * (n1 - n0)
        return bursts_of(base, self.yeb, starts, lens, self.bb)

    def p_bursts(self, g: int, f, t0: int, t1: int) -> Bursts:
        """Bursts of fold ``f``'s spilled partial sums for chunk [t0, t1): blocks [T][c tile]."""
        width = f.c1 - f.c0
        start = (g * self.cdim + f.c0) * self.T + t0 * width
        return run_bursts(self.p_base, self.peb, start, (t1 - t0) * width, self.bb)

    # -- buffer occupancy ---------------------------------------------------------------------

    def place(self, buf: str, key: tuple, b: Bursts, nbytes: float, step: Step) -> None:
        """``step`` uses tile ``key`` (``b``, ``nbytes`` in SRAM) of ``buf``: load what is not
        already there and mark the tile used by ``step``."""
        p = self.p
        if self.mode[buf] == "layer":
            slot = self.resident_slot[buf]
            if slot is None:
                slot = self.resident_slot[buf] = self._new_tile(buf, self.whole[buf])
            new = self.res[buf].new(b)
            if new is not None:
                step.loads.append([buf, new, slot])
        elif self.last_key[buf] == key:
            slot = (buf, len(p.tiles[buf]) - 1)
        else:
            self.last_key[buf] = key
            slot = self._new_tile(buf, nbytes)
            if len(b[0]):  # a tile entirely in the padding has no bytes to load
                step.loads.append([buf, b, slot])
        p.tiles[buf][slot[1]][1] = len(p.steps)

    def keep(self, buf: str) -> None:
        """The current step still uses the latest tile of ``buf`` (a fold's stationary one)."""
        tiles = self.p.tiles[buf]
        tiles[-1][1] = len(self.p.steps)

    def _new_tile(self, buf: str, nbytes: float) -> tuple[str, int]:
        tiles = self.p.tiles[buf]
        tiles.append([nbytes, -1])
        return (buf, len(tiles) - 1)

    # -- the step loop ------------------------------------------------------------------------

    def run(self) -> None:
        """Append the layer's steps (in the mapping's order) to the plan and the planner; count
        SRAM accesses. A step that continues its fold's stream (the previous step, same fold, the
        adjacent chunk) shares its preload; each run (see ``accelsim.dataflows.mapping``) gets
        the fold's preload/fill cycles at its start and drain cycles at its end."""
        p, plan, geom = self.p, self.plan, self.geom
        df, R = p.df, p.R
        T = self.T
        pre = R if df.preload else 0
        extra = geom.fold_cycles - T
        pre = min(pre, max(extra, 0))
        post = extra - pre
        slots = p.slots
        inv = {b: (1.0 / (s.word_bits * s.read_words_per_cycle),
                   1.0 / (s.word_bits * s.write_words_per_cycle)) for b, s in slots.items()}
        bits = [0.0] * 6  # ifmap r/w, filter r/w, ofmap r/w
        xeb8, web8, peb8 = self.xeb * 8, self.web * 8, self.peb * 8
        bb8 = self.bb * 8
        index = {f: i for i, f in enumerate(df.folds(self.G, self.M, self.K, self.N, R, p.C))}
        seq = list(steps(df, plan.mapping, self.G, self.M, self.K, self.N, R, p.C))
        self.group = None  # (key, rectangle) of the open resident partial-sum allocation
        for j, (f, t0, t1) in enumerate(seq):
            first = j == 0 or seq[j - 1][0] != f or seq[j - 1][2] != t0
            last = j == len(seq) - 1 or seq[j + 1][0] != f or seq[j + 1][1] != t1
            compute = (t1 - t0) + (pre if first else 0) + (post if last else 0)
            step, reads, out_w, rmw = self._step(index[f], f, first, last, t0, t1, compute)
            # SRAM: array-side reads/writes, DMA fills (whole bursts), drains
            fill = [0, 0, 0]
            for buf, b, _ in step.loads:
                fill[_BUF_INDEX[buf]] += nbursts(b)
            rx, rw = reads[0] * xeb8, reads[1] * web8
            ro, wo = rmw * peb8, out_w * peb8
            bits[0] += rx
            bits[1] += fill[0] * bb8
            bits[2] += rw
            bits[3] += fill[1] * bb8
            bits[4] += ro
            bits[5] += wo + fill[2] * bb8
            port = max(rx * inv["ifmap"][0], rw * inv["filter"][0], ro * inv["ofmap"][0],
                       wo * inv["ofmap"][1])
            if port > compute:
                step.duration = float(math.ceil(port - 1e-9))
            p.allocs[step.alloc][1] = len(p.steps)
            plan.steps.append(step)
            p.steps.append(step)
        self._close_group()
        bits[4] += sum(st.drain for st in plan.steps) * peb8
        sram = plan.sram
        for i, buf in enumerate(("ifmap", "filter", "ofmap")):
            sram.read_bits[buf] += bits[2 * i]
            sram.write_bits[buf] += bits[2 * i + 1]

    def _step(self, fi: int, f, first: bool, last: bool, t0: int, t1: int, compute: int):
        """One step: its loads, ofmap allocation and stores; returns (step, (x reads, w reads)
        in elements, ofmap array writes, ofmap read-modify-write reads). ``first``: the step
        starts a run (preloads the stationary tile); ``last``: it ends one."""
        p, plan = self.p, self.plan
        df, g, t = self.df, f.g, t1 - t0
        r_act, c_act = f.r1 - f.r0, f.c1 - f.c0
        kfirst = f.r0 == 0
        psum_mode = plan.psum_mode
        rect = None
        if df.holds_outputs:
            new_alloc, size = first, r_act * c_act
        elif psum_mode == "resident":
            t_full, c_full = psum_group(df, plan.mapping.order)
            ta, tb = (0, self.T) if t_full else (t0, t1)
            ca, cb = (0, self.cdim) if c_full else (f.c0, f.c1)
            rect = (g, ta, tb, ca, cb)
            new_alloc = self.group is None or self.group[0] != rect
            size = (tb - ta) * (cb - ca)
        else:
            new_alloc, size = True, t * c_act
        if new_alloc:
            self._close_group()
            p.allocs.append([size * self.peb, -1])
            if rect is not None:
                self.group = (rect, None)
        step = Step(plan.index, fi, first, last, compute, float(compute), len(p.allocs) - 1,
                    new_alloc)
        if rect is not None:
            self.group = (rect, step)
        if df.holds_w:
            b, n = self.x_bursts(g, t0, t1, f.r0, f.r1)
            self.place("ifmap", (g, t0, t1, f.r0, f.r1), b, n * self.xeb, step)
            b, n = self.w_bursts(g, f, 0, 0)
            self.place("filter", (g, f.r0, f.c0), b, n * self.web, step)
            reads, out_w = (t * r_act, r_act * c_act if first else 0), t * c_act
        elif df.holds_outputs:
            b, n = self.x_bursts(g, f.r0, f.r1, t0, t1)
            self.place("ifmap", (g, f.r0, f.r1, t0, t1), b, n * self.xeb, step)
            b, n = self.w_bursts(g, f, t0, t1)
            self.place("filter", (g, f.c0, t0, t1), b, n * self.web, step)
            reads, out_w = (r_act * t, t * c_act), (r_act * c_act if last else 0)
        else:  # is
            b, n = self.x_bursts(g, f.c0, f.c1, f.r0, f.r1)
            self.place("ifmap", (g, f.c0, f.c1, f.r0, f.r1), b, n * self.xeb, step)
            b, n = self.w_bursts(g, f, t0, t1)
            self.place("filter", (g, f.r0, t0, t1), b, n * self.web, step)
            reads, out_w = (r_act * c_act if first else 0, t * r_act), t * c_act
        rmw = 0 if (df.holds_outputs or kfirst) else out_w
        if psum_mode == "spill" and not kfirst:
            step.loads.append(["psum", self.p_bursts(g, f, t0, t1), None])
            step.psum_in = True
        self._outputs(step, f, g, t0, t1, last, r_act, c_act)
        return step, reads, out_w, rmw

    def _y_rect(self, g: int, t0: int, t1: int, c0: int, c1: int) -> Bursts:
        """Output bursts of stream range [t0, t1) × column-dim range [c0, c1)."""
        if self.df.holds_w:
            return self.y_bursts(g, t0, t1, c0, c1)
        return self.y_bursts(g, c0, c1, t0, t1)

    def _close_group(self) -> None:
        """Store the open resident allocation's outputs after its last step."""
        if self.group is None:
            return
        (g, ta, tb, ca, cb), step = self.group
        self.group = None
        step.stores = [("ofmap", self._y_rect(g, ta, tb, ca, cb))]
        step.drain = (tb - ta) * (cb - ca)

    def _outputs(self, step: Step, f, g: int, t0: int, t1: int, last: bool, r_act: int,
                 c_act: int) -> None:
        """Set ``step.stores`` (DRAM writes after it) and ``step.drain`` (elements read out);
        a resident allocation's stores are set when it closes (``_close_group``)."""
        mode = self.plan.psum_mode
        if self.df.holds_outputs:
            if last:
                step.stores = [("ofmap", self.y_bursts(g, f.r0, f.r1, f.c0, f.c1))]
                step.drain = r_act * c_act
        elif mode == "resident":
            return
        elif f.r1 == self.rdim:
            step.stores = [("ofmap", self._y_rect(g, t0, t1, f.c0, f.c1))]
            step.drain = (t1 - t0) * c_act
        else:
            step.stores = [("psum", self.p_bursts(g, f, t0, t1))]
            step.drain = (t1 - t0) * c_act


_BUF_INDEX = {"ifmap": 0, "filter": 1, "psum": 2}
