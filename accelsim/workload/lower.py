"""Lowering of workload layers to grouped GEMMs (docs/datapath.md §5), fetched block by block.
NumPy only.

conv2d is lowered by im2col without ever building the im2col matrix: a zero-copy window view of the
padded input is indexed for just the requested block.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from accelsim.workload.exact import fast_gemm
from accelsim.workload.npz import Layer, conv_output_size


@dataclass(frozen=True, eq=False)
class LoweredLayer:
    """A layer as ``Y[g] = X[g] @ W[g]`` for ``g < groups`` (implements ``GemmOperands``).

    conv2d (im2col): ``M = N·Ho·Wo`` rows in (n, oh, ow) order; ``K = C/groups·kh·kw`` columns
    in PyTorch's (c, i, j) filter order; ``N = O/groups``, group g's filters being the output
    channels ``g·N … (g+1)·N - 1``. linear: one group, ``M`` = batch, ``W = w^T`` [K, O].
    gemm: as stored.

    Padding holds 0, or ``quant["x_zero_point"]`` for the lsqplus scheme (the code of a real 0),
    so ``X @ W`` is the raw integer accumulator sum ``Σ x·w`` in every scheme.

    Attributes
    ----------
    name, op : str
        From the layer.
    groups, M, K, N : int
        GEMM dimensions per group.
    layer : Layer
        The layer lowered.
    """

    name: str
    op: str
    groups: int
    M: int
    K: int
    N: int
    layer: Layer = field(repr=False)
    _x: np.ndarray = field(repr=False)  # conv2d: window view [N, C, Ho, Wo, kh, kw]; else [1, M, K]
    _w: np.ndarray = field(repr=False)  # [G, K, N] view of the weights

    def x_block(self, g: int, m0: int, m1: int, k0: int, k1: int) -> np.ndarray:
        """``X[g, m0:m1, k0:k1]`` as a new int64 array (0 <= m0 <= m1 <= M, 0 <= k0 <= k1 <= K).

        conv2d: copied from the window view by slices, whole output rows of an image at a time
        (a few strided copies per block rather than one fancy-indexed gather per element)."""
        if self.op != "conv2d":
            return np.ascontiguousarray(self._x[g, m0:m1, k0:k1], dtype=np.int64)
        taps = self._x.shape[4] * self._x.shape[5]
        c0 = k0 // taps  # the channels the columns k0 .. k1-1 read
        cols = self._columns(g, m0, m1, c0, -(-k1 // taps))
        return np.ascontiguousarray(cols.T[:, k0 - c0 * taps : k1 - c0 * taps], dtype=np.int64)

    def x_columns(self, g: int) -> np.ndarray:
        """``X[g]`` transposed, [K, M] C-ordered, in the stored (or padded) input's dtype: the
        whole group in one narrow copy, from which callers make the copies they compute on."""
        if self.op != "conv2d":
            return np.ascontiguousarray(self._x[g].T)
        return self._columns(g, 0, self.M, 0, self.K // (self._x.shape[4] * self._x.shape[5]))

    def w_rows(self, g: int) -> np.ndarray:
        """``W[g]`` transposed, [N, K], in the stored weights' dtype (a view)."""
        return self._w[g].T

    def _columns(self, g: int, m0: int, m1: int, c0: int, c1: int) -> np.ndarray:
        """conv2d: ``X[g]^T`` for rows ``m0 .. m1 - 1`` and the columns of group g's input
        channels ``c0 .. c1 - 1`` (all their taps), [(c1 - c0)·kh·kw, m1 - m0] in x's dtype."""
        _, _, ho, wo, kh, kw = self._x.shape
        first = g * (self.K // (kh * kw)) + c0
        src = self._x[:, first : first + c1 - c0].transpose(0, 1, 4, 5, 2, 3)  # n c i j oh ow
        cols = np.empty((c1 - c0, kh, kw, m1 - m0), dtype=self._x.dtype)
        m = m0
        while m < m1:  # whole output rows of one image at once, else a part of one row
            n, rest = divmod(m, ho * wo)
            oh, ow = divmod(rest, wo)
            if ow == 0 and m1 - m >= wo:
                h = min((m1 - m) // wo, ho - oh)
                dst = cols[..., m - m0 : m - m0 + h * wo].reshape(c1 - c0, kh, kw, h, wo)
                dst[...] = src[n, ..., oh : oh + h, :]
                m += h * wo
            else:
                e = min(m1 - m, wo - ow)
                cols[..., m - m0 : m - m0 + e] = src[n, ..., oh, ow : ow + e]
                m += e
        return cols.reshape((c1 - c0) * kh * kw, m1 - m0)

    def w_block(self, g: int, k0: int, k1: int, n0: int, n1: int) -> np.ndarray:
        """``W[g, k0:k1, n0:n1]`` as a new int64 array."""
        return np.ascontiguousarray(self._w[g, k0:k1, n0:n1], dtype=np.int64)

    def reference_y(self) -> np.ndarray:
        """The exact int64 output, shaped like the layer's ``y``, computed without im2col
        (through BLAS where float arithmetic is exact: ``accelsim.workload.exact.fast_gemm``).

        conv2d sums, per kernel tap (i, j), the strided input slice times that tap's weights
        (the groups as a stack of GEMMs).
        """
        layer = self.layer
        w = layer.w.astype(np.int64)
        if self.op != "conv2d":
            return fast_gemm(layer.x.astype(np.int64), w.T if self.op == "linear" else w)
        (sh, sw), (ph, pw), (dh, dw), g = layer.stride, layer.padding, layer.dilation, self.groups
        batch, _, h, wd = layer.x.shape
        o, cg, kh, kw = w.shape
        ho, wo = conv_output_size(h, kh, sh, ph, dh), conv_output_size(wd, kw, sw, pw, dw)
        xp = _pad(layer)
        y = np.zeros((g, batch, ho, wo, o // g), dtype=np.int64)
        for i in range(kh):
            for j in range(kw):
                tap = xp[:, :, i * dh :: sh, j * dw :: sw][:, :, :ho, :wo]
                xs = tap.reshape(batch, g, cg, ho, wo).transpose(1, 0, 3, 4, 2)  # g n h w c
                ws = w[:, :, i, j].reshape(g, o // g, cg).transpose(0, 2, 1)  # g c o
                y += fast_gemm(xs.reshape(g, batch * ho * wo, cg).astype(np.int64),
                               ws).reshape(y.shape)
        return y.transpose(1, 0, 4, 2, 3).reshape(batch, o, ho, wo)

    def to_layer_shape(self, y_gemm: np.ndarray) -> np.ndarray:
        """Rearrange GEMM outputs [groups, M, N] into the layer's ``y`` layout.

        Raises
        ------
        ValueError
            ``y_gemm`` is not [groups, M, N].
        """
        if y_gemm.shape != (self.groups, self.M, self.N):
            raise ValueError(f"expected shape {(self.groups, self.M, self.N)}, got {y_gemm.shape}")
        if self.op != "conv2d":
            return y_gemm[0]
        batch, _, ho, wo = self._x.shape[:4]
        y = y_gemm.reshape(self.groups, batch, ho, wo, self.N).transpose(1, 0, 4, 2, 3)
        return y.reshape(batch, self.groups * self.N, ho, wo)


def lower(layer: Layer) -> LoweredLayer:
    """Lower a validated layer to its grouped GEMM (docs/datapath.md §5).

    Parameters
    ----------
    layer : Layer

    Returns
    -------
    LoweredLayer
        Operand blocks are gathered on demand; only the padded input is copied.
    """
    x, w, name, op = layer.x, layer.w, layer.name, layer.op
    if op == "linear":
        return LoweredLayer(name, op, 1, *x.shape, w.shape[0], layer, x[None], w.T[None])
    if op == "gemm":
        return LoweredLayer(name, op, 1, *x.shape, w.shape[1], layer, x[None], w[None])
    g, (o, cg, kh, kw) = layer.groups, w.shape
    (sh, sw), (dh, dw) = layer.stride, layer.dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = sliding_window_view(_pad(layer), span, axis=(2, 3))
    windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]
    batch, _, ho, wo = windows.shape[:4]
    w_gemm = w.reshape(g, o // g, cg * kh * kw).transpose(0, 2, 1)
    return LoweredLayer(name, op, g, batch * ho * wo, cg * kh * kw, o // g, layer, windows, w_gemm)


def _pad(layer: Layer) -> np.ndarray:
    """The conv2d input padded with 0 (lsqplus: with the input zero point), in a dtype that holds
    both x's stored values and the pad value; x itself when there is no padding.

    The pad value need not fit x's stored dtype: files store x in the smallest dtype that holds
    its values, and a zero point may lie outside them (x stored uint8, z_x = -1 or 300). Values
    are at most 16 bits wide (validated), so int64 holds them whatever x's dtype.
    """
    (ph, pw), value = layer.padding, int(layer.quant.get("x_zero_point", 0))
    x = layer.x
    if ph == pw == 0:
        return x
    dtype, info = x.dtype, np.iinfo(x.dtype)
    if not info.min <= value <= info.max:  # uint64 and a negative value promote to float: int64
        dtype = np.promote_types(dtype, np.min_scalar_type(value))
        dtype = dtype if dtype.kind in "iu" else np.dtype(np.int64)
    n, c, h, w = x.shape
    out = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=dtype)
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out
