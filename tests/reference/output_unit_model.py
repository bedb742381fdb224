"""Slow reference of the on-chip output unit (docs/datapath.md §7): one object per array column,
stepped cycle by cycle over every fold window, built bit by bit from the full adders of
``gates.py``. Toggles are counted by comparing node vectors and register bits, never by formula.

The fold order and the cycle an output leaves the array are written out here from datapath.md
§5 (plain loops), not taken from the simulator.
"""

from __future__ import annotations

import numpy as np

from tests.reference.gates import from_bits, hamming, ripple_carry_adder, signed_value, to_bits


class OutputUnit:
    """One column's output unit: rounding adder, shift (wiring), two clamp comparators, output
    register. ``lo``/``hi`` are the clamp bounds (ReLU already folded into ``lo``)."""

    def __init__(self, acc_bits: int, shift: int, bits: int, lo: int, hi: int) -> None:
        self.acc_bits, self.shift, self.bits, self.lo, self.hi = acc_bits, shift, bits, lo, hi
        self.cmp_bits = max(acc_bits + 1 - shift, bits + 1) + 1
        self.nodes, _ = self._evaluate(0)
        self.reg = [0] * bits

    def _evaluate(self, y: int) -> tuple[list[int], int]:
        """(node vector, output value) for the accumulator value ``y``."""
        a_w = self.acc_bits + 1
        nodes: list[int] = []
        if self.shift:
            y_bits = to_bits(y & ((1 << a_w) - 1), a_w)
            half = to_bits((1 << (self.shift - 1)) - 1, a_w)
            sums, carries = ripple_carry_adder(y_bits, half, 1 - y_bits[-1])  # +1 unless y < 0
            nodes += sums + carries
            shifted = sums[self.shift:]  # arithmetic shift right: drop the low bits
        else:
            shifted = to_bits(y & ((1 << self.acc_bits) - 1), self.acc_bits)
        w = self.cmp_bits
        r_bits = shifted + [shifted[-1]] * (w - len(shifted))  # sign extension
        not_hi = to_bits(~self.hi & ((1 << w) - 1), w)
        not_lo = to_bits(~self.lo & ((1 << w) - 1), w)
        hs, hc = ripple_carry_adder(r_bits, not_hi, 0)  # r + ~hi = r - hi - 1
        ls, lc = ripple_carry_adder(r_bits, not_lo, 1)  # r + ~lo + 1 = r - lo
        nodes += hs + hc + ls + lc
        if hs[-1] == 0:  # r - hi - 1 >= 0
            out = self.hi
        elif ls[-1] == 1:  # r - lo < 0
            out = self.lo
        else:
            out = signed_value(from_bits(r_bits), w)
        return nodes, out

    def step(self, y: int) -> tuple[int, int]:
        """Evaluate on ``y``; (output value, toggles of nodes and output register)."""
        nodes, out = self._evaluate(y)
        reg = to_bits(out & ((1 << self.bits) - 1), self.bits)
        toggles = hamming(self.nodes, nodes) + hamming(self.reg, reg)
        self.nodes, self.reg = nodes, reg
        return out, toggles


def simulate(y: np.ndarray, dataflow: str, rows: int, cols: int, K: int, acc_bits: int,
             shift: int, bits: int, lo: int, hi: int) -> tuple[np.ndarray, int, np.ndarray]:
    """Pass raw outputs ``y`` [G, M, N] of a GEMM with reduction length ``K`` through the
    output units of a ``rows × cols`` array. Returns (outputs [G, M, N], toggles, per-cycle
    toggles over the concatenated SCALE-Sim fold windows)."""
    G, M, N = y.shape
    units = [OutputUnit(acc_bits, shift, bits, lo, hi) for _ in range(cols)]
    out = np.zeros_like(y)
    if dataflow == "os":
        rdim, cdim, T = M, N, K
    elif dataflow == "ws":
        rdim, cdim, T = K, N, M
    else:  # is
        rdim, cdim, T = K, M, N
    L = (2 * rows if dataflow != "os" else rows) + cols + T - 2
    trace: list[int] = []
    total = 0
    for g in range(G):
        for c0 in range(0, cdim, cols):
            for r0 in range(0, rdim, rows):
                r_act, c_act = min(rows, rdim - r0), min(cols, cdim - c0)
                last = dataflow == "os" or r0 + rows >= rdim
                for k in range(L):
                    tk = 0
                    for c in range(c_act):
                        if not last:
                            continue
                        if dataflow == "os":
                            r = k - c - (K - 1)
                            if not 0 <= r < r_act:
                                continue
                            m, n = r0 + r, c0 + c
                        else:
                            t = k - rows - (r_act - 1) - c
                            if not 0 <= t < T:
                                continue
                            m, n = (t, c0 + c) if dataflow == "ws" else (c0 + c, t)
                        out[g, m, n], tog = units[c].step(int(y[g, m, n]))
                        tk += tog
                    trace.append(tk)
                    total += tk
    return out, total, np.array(trace, dtype=np.int64)
