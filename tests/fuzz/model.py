"""An independent NumPy/Python-int model of what accelsim must output, written from the docs.

It does not import accelsim. Sources: docs/datapath.md (the accumulation order: the psum chain of
one K-fold down a column, the edge accumulator across K-folds in ``ws``/``is``, one accumulator
over all of K in ``os``; wrap or saturate per adder evaluation), docs/pann.md (|w| single-x
additions, ``subtract`` or ``dual_accumulator``), docs/lsqplus.md (zero points, the row-sum unit,
gemmlowp's SaturatingRoundingDoublingHighMul and RoundingDivideByPOT in Python ints).

All values are plain integers (``int64`` arrays hold operands and sums of a few hundred 32-bit
products at most); the requantization runs element by element on Python ints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


# ------------------------------------------------------------------------------------ im2col


def conv_out(size: int, k: int, stride: int, pad: int, dil: int) -> int:
    """Output length of a convolution along one axis (PyTorch's formula)."""
    return (size + 2 * pad - dil * (k - 1) - 1) // stride + 1


def gemm_operands(op: str, x: np.ndarray, w: np.ndarray, stride=(1, 1), padding=(0, 0),
                  dilation=(1, 1), groups: int = 1, pad_value: int = 0):
    """Per-group GEMM operands ``X[g, M, K]`` and ``W[g, K, N]`` (int64).

    conv2d: ``M`` = (batch, out row, out col) row-major, ``K`` = (in channel of the group,
    kernel row, kernel col) row-major, ``N`` = output channels of the group; padding holds
    ``pad_value``.
    """
    x = np.asarray(x, dtype=np.int64)
    w = np.asarray(w, dtype=np.int64)
    if op == "gemm":
        return x[None], w[None]
    if op == "linear":
        return x[None], w.T[None]
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho, wo = conv_out(h, kh, sh, ph, dh), conv_out(wd, kw, sw, pw, dw)
    xp = np.full((n, c, h + 2 * ph, wd + 2 * pw), pad_value, dtype=np.int64)
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    og = o // groups
    X = np.zeros((groups, n * ho * wo, cg * kh * kw), dtype=np.int64)
    W = np.zeros((groups, cg * kh * kw, og), dtype=np.int64)
    for g in range(groups):
        for b in range(n):
            for r in range(ho):
                for s in range(wo):
                    m = (b * ho + r) * wo + s
                    for ci in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                k = (ci * kh + i) * kw + j
                                X[g, m, k] = xp[b, g * cg + ci, r * sh + i * dh, s * sw + j * dw]
        for n_ in range(og):
            W[g, :, n_] = w[g * og + n_].reshape(-1)
    return X, W


def to_layer_shape(op: str, Y: np.ndarray, x_shape, out_hw) -> np.ndarray:
    """GEMM result ``Y[g, M, N]`` in the layer's PyTorch layout (conv2d [N, O, Ho, Wo])."""
    if op != "conv2d":
        return Y[0]
    g, _, n_ = Y.shape
    ho, wo = out_hw
    batch = x_shape[0]
    return Y.reshape(g, batch, ho, wo, n_).transpose(1, 0, 4, 2, 3).reshape(batch, g * n_, ho, wo)


# ------------------------------------------------------------------------------ accumulators


@dataclass
class Adder:
    """A signed ``bits``-wide adder that wraps or saturates and counts overflow evaluations."""

    bits: int
    saturate: bool
    overflows: int = 0

    @property
    def lo(self) -> int:
        return -(1 << (self.bits - 1))

    @property
    def hi(self) -> int:
        return (1 << (self.bits - 1)) - 1

    def fix(self, exact: np.ndarray) -> np.ndarray:
        """The register value for exact sums of in-range operands (no counting)."""
        if self.saturate:
            return np.clip(exact, self.lo, self.hi)
        return ((exact - self.lo) % (1 << self.bits)) + self.lo

    def add(self, a: np.ndarray, b: np.ndarray, enabled: np.ndarray | bool = True) -> np.ndarray:
        """One evaluation per element where ``enabled``: ``a + b`` wrapped or saturated."""
        s = a + b
        over = ((s < self.lo) | (s > self.hi)) & enabled
        self.overflows += int(np.count_nonzero(over))
        return np.where(enabled, self.fix(s), a)

    def add_repeated(self, base: np.ndarray, step: np.ndarray, times: np.ndarray) -> np.ndarray:
        """``times`` evaluations of ``v ← v + step`` (one sign per element), counting every
        overflowing evaluation; closed form (the running sum is monotone, |step| < 2^(bits-1))."""
        span = 1 << self.bits
        end = base + step * times
        if self.saturate:
            # evaluations j = 1..times overflow once base + j*step leaves the range
            pos = step > 0
            neg = step < 0
            first_pos = np.where(pos, (self.hi - base) // np.where(pos, step, 1) + 1, 0)
            first_neg = np.where(neg, (base - self.lo) // np.where(neg, -step, 1) + 1, 0)
            first = np.where(pos, first_pos, first_neg)
            count = np.where(pos | neg, np.maximum(0, times - first + 1), 0)
            self.overflows += int(count.sum())
            return np.clip(end, self.lo, self.hi)
        crossings = np.abs((end - self.lo) // span - (base - self.lo) // span)
        self.overflows += int(crossings.sum())
        return self.fix(end)


def kfold_slices(K: int, rows: int, dataflow: str) -> list[range]:
    """The K ranges summed inside the array before the edge: all of K in ``os``, folds of
    ``rows`` in ``ws``/``is``."""
    if dataflow == "os":
        return [range(K)]
    return [range(k0, min(K, k0 + rows)) for k0 in range(0, K, rows)]


def mac_accumulate(X: np.ndarray, W: np.ndarray, rows: int, dataflow: str, acc: Adder):
    """``Y[g, M, N]`` as the mac array adds the products (datapath.md §3, §5)."""
    G, M, K = X.shape
    N = W.shape[2]
    out = np.zeros((G, M, N), dtype=np.int64)
    for f, ks in enumerate(kfold_slices(K, rows, dataflow)):
        col = np.zeros((G, M, N), dtype=np.int64)  # psum_in of row 0 / acc cleared at k = 0
        for k in ks:
            col = acc.add(col, X[:, :, k, None] * W[:, None, k, :])
        out = col if f == 0 else acc.add(out, col)
    return out


def pann_accumulate(X: np.ndarray, W: np.ndarray, rows: int, dataflow: str, acc: Adder,
                    dual: bool):
    """``Y[g, M, N]`` as the pann array adds (pann.md §2, §3): per MAC |w| additions of x, into
    one accumulator by add/subtract or into P/N by the sign of w, P − N per column result."""
    G, M, K = X.shape
    N = W.shape[2]
    shape = (G, M, N)
    out = np.zeros(shape, dtype=np.int64)
    for f, ks in enumerate(kfold_slices(K, rows, dataflow)):
        p = np.zeros(shape, dtype=np.int64)
        n = np.zeros(shape, dtype=np.int64)
        for k in ks:
            x = np.broadcast_to(X[:, :, k, None], shape)
            w = np.broadcast_to(W[:, None, k, :], shape)
            if dual:
                p = np.where(w > 0, acc.add_repeated(p, x, np.where(w > 0, w, 0)), p)
                n = np.where(w < 0, acc.add_repeated(n, x, np.where(w < 0, -w, 0)), n)
            else:
                p = acc.add_repeated(p, np.sign(w) * x, np.abs(w))
        col = acc.add(p, -n) if dual else p
        out = col if f == 0 else acc.add(out, col)
    return out


def rowsum(X: np.ndarray, rows: int, dataflow: str, acc: Adder) -> np.ndarray:
    """``Sx[g, M]`` of the lsqplus row-sum unit (lsqplus.md §3.3) in its accumulation order."""
    G, M, K = X.shape
    if dataflow == "is":  # one register per column; each K-fold's preload presents k descending
        s = np.zeros((G, M), dtype=np.int64)
        for ks in kfold_slices(K, rows, dataflow):
            for k in reversed(ks):
                s = acc.add(s, X[:, :, k])
        return s
    out = np.zeros((G, M), dtype=np.int64)
    for f, ks in enumerate(kfold_slices(K, rows, dataflow)):
        s = np.zeros((G, M), dtype=np.int64)
        for k in ks:
            s = acc.add(s, X[:, :, k])
        out = s if f == 0 else acc.add(out, s)
    return out


# ------------------------------------------------------------------------ lsqplus requantization


def wrap32(v: int) -> int:
    """``v`` modulo 2^32 read as a signed 32-bit integer."""
    return ((int(v) + (1 << 31)) % (1 << 32)) - (1 << 31)


def srdhm(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul of int32 ``a``, ``b``."""
    if a == INT32_MIN and b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    q = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
    mag = abs(q) >> 31  # C++ division truncates toward zero
    return mag if q >= 0 else -mag


def rounding_divide_by_pot(x: int, e: int) -> int:
    """gemmlowp RoundingDivideByPOT: x / 2^e, nearest, ties away from zero."""
    mask = (1 << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if remainder > threshold else 0)


def mbqm(x: int, multiplier: int, shift: int) -> int:
    """TFLite MultiplyByQuantizedMultiplier (double rounding), ``x · 2^left`` wrapped to int32."""
    left, right = max(shift, 0), max(-shift, 0)
    return rounding_divide_by_pot(srdhm(wrap32(x * (1 << left)), multiplier), right)


def requantize(t: np.ndarray, q: dict, channel_of_n) -> np.ndarray:
    """``clamp(z_y + MBQM(t))`` per element of ``t[g, M, N]``; ``channel_of_n(g, n)`` = o."""
    yb, ys, zy = q["y_bits"], q["y_signed"], q["y_zero_point"]
    lo, hi = (-(1 << (yb - 1)), (1 << (yb - 1)) - 1) if ys else (0, (1 << yb) - 1)
    out = np.zeros(t.shape, dtype=np.int64)
    G, M, N = t.shape
    for g in range(G):
        for n in range(N):
            o = channel_of_n(g, n)
            mult, shift = int(q["multiplier"][o]), int(q["shift"][o])
            for m in range(M):
                out[g, m, n] = min(max(zy + mbqm(int(t[g, m, n]), mult, shift), lo), hi)
    return out


def channel_param(v, channels: int) -> np.ndarray:
    """A per-channel parameter given as an int or an array, as an int64 array."""
    if np.isscalar(v) or np.ndim(v) == 0:
        return np.full(channels, int(v), dtype=np.int64)
    return np.asarray(v, dtype=np.int64)


# ------------------------------------------------------------------------------------ layers


@dataclass
class Expected:
    """What the hardware outputs (``y``), what the exact reference is (``y_exact``), and the
    overflow events: ``overflows`` exactly (None for lsqplus-scheme layers, whose bias adder,
    correction subtractor and left shifter also count and are not modelled here) and
    ``overflows_at_least`` (the array's and row-sum unit's events in the model)."""

    y: np.ndarray
    y_exact: np.ndarray
    overflows: int | None
    overflows_at_least: int
    M: int
    K: int
    N: int
    groups: int


def expected(kind: str, params: dict, rows: int, dataflow: str, acc_bits: int, saturate: bool,
             layer: dict) -> Expected:
    """Model one layer (``layer``: op, x, w, stride, padding, dilation, groups, quant) on a PE of
    ``kind`` (``params``: pann ``sign``; lsqplus ``rescale``)."""
    op, q = layer["op"], layer.get("quant") or {"scheme": "int"}
    lsq = q["scheme"] == "lsqplus"
    zx = int(q["x_zero_point"]) if lsq else 0
    conv = dict(stride=layer.get("stride", (1, 1)), padding=layer.get("padding", (0, 0)),
                dilation=layer.get("dilation", (1, 1)), groups=layer.get("groups", 1))
    groups = conv["groups"] if op == "conv2d" else 1
    X, W = gemm_operands(op, layer["x"], layer["w"], pad_value=zx,
                         **(conv if op == "conv2d" else {}))
    G, M, K = X.shape
    N = W.shape[2]
    out_hw = None
    if op == "conv2d":
        _, _, h, wd = layer["x"].shape
        _, _, kh, kw = layer["w"].shape
        out_hw = tuple(conv_out(s, k, st, p, d) for s, k, st, p, d in zip(
            (h, wd), (kh, kw), conv["stride"], conv["padding"], conv["dilation"]))

    def shaped(Y):
        return to_layer_shape(op, Y, layer["x"].shape, out_hw)

    acc = Adder(acc_bits, saturate)
    if not lsq:
        exact = np.einsum("gmk,gkn->gmn", X, W)
        if kind == "pann":
            Y = pann_accumulate(X, W, rows, dataflow, acc, params["sign"] == "dual_accumulator")
        else:
            Y = mac_accumulate(X, W, rows, dataflow, acc)
        return Expected(shaped(Y), shaped(exact), acc.overflows, acc.overflows, M, K, N, groups)

    channels = G * N
    zw = channel_param(q["w_zero_point"], channels).reshape(G, 1, N)
    bias = channel_param(q["bias"], channels).reshape(G, 1, N)
    exact_s = np.einsum("gmk,gkn->gmn", X - zx, W - zw)
    if params["rescale"] == "pe":
        A = mac_accumulate(X - zx, W - zw, rows, dataflow, acc)
        t = A + bias
    else:
        A = mac_accumulate(X, W, rows, dataflow, acc)
        b_folded = bias - zx * W.sum(axis=1, keepdims=True) + K * zx * zw
        corr = 0
        if np.any(zw != 0):
            corr = zw * rowsum(X, rows, dataflow, acc)[:, :, None]
        t = A + b_folded - corr
    t = np.vectorize(wrap32, otypes=[np.int64])(t)
    t_exact = np.vectorize(wrap32, otypes=[np.int64])(exact_s + bias)

    def channel(g, n):
        return g * N + n

    y = requantize(t, q, channel)
    y_exact = requantize(t_exact, q, channel)
    return Expected(shaped(y), shaped(y_exact), None, acc.overflows, M, K, N, groups)


def scalesim_compute_cycles(dataflow: str, rows: int, cols: int, groups: int, M: int, K: int,
                            N: int) -> tuple[int, int]:
    """SCALE-Sim's stall-free (folds, compute cycles) for a GEMM of ``groups`` groups."""
    d1, d2, T = {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[dataflow]
    folds = groups * -(-d1 // rows) * -(-d2 // cols)
    window = rows + cols + T - 2 if dataflow == "os" else 2 * rows + cols + T - 2
    return folds, folds * window
