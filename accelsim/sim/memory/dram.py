"""DRAM channel: bandwidth, latency, bursts, and banks with row buffers (transaction level).

One channel (one data bus) serves transfers first come, first served. A transfer is a list of
burst ranges ``[b0, b1)`` (burst indices, ``address // burst_bytes``) and holds the bus for

    bursts · burst_bytes / bandwidth  +  the row-miss penalties not hidden behind other banks

cycles. Because that duration is known when the transfer is requested, the grant time is computed
directly (``start = max(now, bus free)``), which is exactly a FIFO ``simpy.Resource`` with known
hold times, without its request/release events. A read's data is resident ``latency_cycles +
t_cl_cycles`` after its last burst; a write is posted (done when its last burst has left).

Row buffers (docs/memory.md §3): the address splits, most significant first, into row | bank |
column (``row_bank_col``; a row of ``row_bytes`` is one page, consecutive pages go to consecutive
banks), or the same with the bank index XORed with the row's low bits (``row_bank_col_xor``).
A *row visit* is a maximal run of a transfer's bursts in one page. With the ``open`` policy a visit
to the bank's open row is a hit; otherwise it is a miss: one activation, paying ``t_rcd`` (plus
``t_rp`` when another row was open). With ``closed`` every visit is a miss paying ``t_rcd``. The
first burst of a missing visit counts as a row miss, every other burst as a row hit. A miss
penalty overlaps the previous visit's data time when that visit was to another bank (the
controller activates ahead), so only the excess shows.
"""

from __future__ import annotations

import numpy as np

from accelsim.config.schema import DramConfig

#: Bursts of a virtual channel used for byte accounting when the arch has no ``dram:`` block.
IDEAL_BURST_BYTES = 64


class DramChannel:
    """One DRAM channel with its row-buffer state and counters.

    Parameters
    ----------
    cfg : DramConfig or None
        The ``dram:`` block; None for an ideal channel (infinite bandwidth, no latency, no row
        model; bytes are still counted in ``IDEAL_BURST_BYTES`` bursts).
    """

    def __init__(self, cfg: DramConfig | None) -> None:
        self.ideal = cfg is None
        self.burst_bytes = IDEAL_BURST_BYTES if cfg is None else cfg.burst_bytes
        self.row_bytes = 2048 if cfg is None else cfg.row_bytes
        self.banks = 8 if cfg is None else cfg.banks
        self.burst_cycles = 0.0 if cfg is None else cfg.burst_bytes / cfg.bandwidth_bytes_per_cycle
        self.read_latency = 0.0 if cfg is None else cfg.latency_cycles + cfg.t_cl_cycles
        self.t_rcd = 0.0 if cfg is None else cfg.t_rcd_cycles
        self.t_rp = 0.0 if cfg is None else cfg.t_rp_cycles
        self.closed = cfg is not None and cfg.page_policy == "closed"
        self.xor = cfg is not None and cfg.address_mapping == "row_bank_col_xor"
        self.bursts_per_row = max(1, self.row_bytes // self.burst_bytes)
        self.open_row = [-1] * self.banks  # open row per bank; -1: precharged
        self.free_at = 0.0
        self.read_bytes = 0
        self.write_bytes = 0
        self.row_hits = 0
        self.row_misses = 0
        self.busy_data = 0.0  # cycles the bus spent moving data (excludes row penalties)

    def transfer(self, now: float, starts, stops, write: bool) -> tuple[float, float, int]:
        """Reserve the bus for bursts ``[starts[i], stops[i])`` requested at ``now``.

        Returns
        -------
        (start, end, nbytes) : (float, float, int)
            When the bus starts and stops serving it (cycles; reads are resident at
            ``end + read_latency``) and the bytes moved (whole bursts).
        """
        if len(starts) == 1:
            bursts = int(stops[0]) - int(starts[0])
        else:
            bursts = int(np.sum(np.asarray(stops) - np.asarray(starts)))
        nbytes = bursts * self.burst_bytes
        if write:
            self.write_bytes += nbytes
        else:
            self.read_bytes += nbytes
        if self.ideal:
            return now, now, nbytes
        penalty = self._rows(starts, stops, bursts)
        data = bursts * self.burst_cycles
        start = now if now > self.free_at else self.free_at
        end = start + data + penalty
        self.free_at = end
        self.busy_data += data
        return start, end, nbytes

    def _rows(self, starts, stops, bursts: int) -> float:
        """Update row-buffer state and counters for one transfer; its exposed penalty (cycles).

        Consecutive bursts in one page form one visit (a run continuing in the same page, even
        across ranges, keeps the row open under either policy).
        """
        bpr = self.bursts_per_row
        if len(starts) + bursts // bpr <= 12:  # few visits: plain Python is faster
            return self._rows_small(starts, stops)
        b0 = np.asarray(starts, dtype=np.int64)
        b1 = np.asarray(stops, dtype=np.int64)
        p0, p1 = b0 // bpr, (b1 - 1) // bpr
        if np.array_equal(p0, p1):  # every range inside one page
            page, count = p0, b1 - b0
        else:
            npages = p1 - p0 + 1
            first = np.cumsum(npages) - npages
            page = np.repeat(p0 - first, npages) + np.arange(int(npages.sum()))
            lo = np.maximum(np.repeat(b0, npages), page * bpr)
            hi = np.minimum(np.repeat(b1, npages), (page + 1) * bpr)
            count = hi - lo
        if page.size > 1:
            head = np.empty(page.size, dtype=bool)
            head[0] = True
            np.not_equal(page[1:], page[:-1], out=head[1:])
            if not head.all():
                cut = np.flatnonzero(head)
                page, count = page[cut], np.add.reduceat(count, cut)
        bank, row = self._map(page)
        n = page.size
        if self.closed:
            miss = np.ones(n, dtype=bool)
            conflict = np.zeros(n, dtype=bool)
        else:
            state = np.asarray(self.open_row, dtype=np.int64)
            order = np.argsort(bank, kind="stable")
            bs, rs = bank[order], row[order]
            head = np.ones(n, dtype=bool)
            head[1:] = bs[1:] != bs[:-1]
            prev = np.empty(n, dtype=np.int64)
            prev[1:] = rs[:-1]
            prev[head] = state[bs[head]]
            tail = np.ones(n, dtype=bool)
            tail[:-1] = bs[:-1] != bs[1:]
            state[bs[tail]] = rs[tail]
            self.open_row = state.tolist()
            miss = np.empty(n, dtype=bool)
            conflict = np.empty(n, dtype=bool)
            miss[order] = prev != rs
            conflict[order] = (prev != rs) & (prev >= 0)
        misses = int(miss.sum())
        self.row_misses += misses
        self.row_hits += bursts - misses
        if self.t_rcd == 0 and self.t_rp == 0:
            return 0.0
        pen = np.where(miss, self.t_rcd + np.where(conflict, self.t_rp, 0.0), 0.0)
        hide = np.zeros(n)
        hide[1:] = np.where(bank[1:] != bank[:-1], count[:-1] * self.burst_cycles, 0.0)
        return float(np.maximum(pen - hide, 0.0).sum())

    def _rows_small(self, starts, stops) -> float:
        """``_rows`` for a few visits, in plain Python (same rules)."""
        bpr, nb, xor, closed = self.bursts_per_row, self.banks, self.xor, self.closed
        open_row = self.open_row
        t_rcd, t_rp, bc = self.t_rcd, self.t_rp, self.burst_cycles
        penalty, misses, bursts = 0.0, 0, 0
        prev_page, prev_bank, prev_count = -1, -1, 0
        for s, e in zip(starts, stops):
            s, e = int(s), int(e)
            bursts += e - s
            while s < e:
                page = s // bpr
                stop = min(e, (page + 1) * bpr)
                count = stop - s
                s = stop
                if page == prev_page:  # the visit goes on
                    prev_count += count
                    continue
                row = page // nb
                bank = page % nb
                if xor:
                    bank ^= row % nb
                if closed:
                    miss, conflict = True, False
                else:
                    was = open_row[bank]
                    miss = was != row
                    conflict = miss and was >= 0
                    open_row[bank] = row
                if miss:
                    misses += 1
                    pen = t_rcd + (t_rp if conflict else 0.0)
                    if prev_bank >= 0 and prev_bank != bank:
                        pen -= prev_count * bc
                    if pen > 0:
                        penalty += pen
                prev_page, prev_bank, prev_count = page, bank, count
        self.row_misses += misses
        self.row_hits += bursts - misses
        return penalty

    def _map(self, page: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bank, row) of page numbers under the address mapping."""
        bank, row = page % self.banks, page // self.banks
        if self.xor:
            bank = bank ^ (row % self.banks)
        return bank, row

    def counters(self) -> dict[str, int]:
        """Cumulative ``read_bytes``, ``write_bytes``, ``row_hits``, ``row_misses``,
        ``activations`` (one per row miss)."""
        return {
            "read_bytes": self.read_bytes,
            "write_bytes": self.write_bytes,
            "row_hits": self.row_hits,
            "row_misses": self.row_misses,
            "activations": self.row_misses,
        }
