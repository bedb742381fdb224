"""``sliced.to_planes`` (a bit-matrix transpose, eight cycles × eight bits at a time) against the
definition: bit t of plane b is bit b of pattern t."""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.kernels.sliced import to_planes


@pytest.mark.parametrize("bits", [1, 3, 8, 9, 16, 17])
def test_to_planes_matches_definition(bits):
    rng = np.random.default_rng(bits)
    for T in (1, 7, 8, 9, 63, 64, 65, 130, 200):
        V = rng.integers(-(1 << 20), 1 << 20, size=T, dtype=np.int64)
        nw = (T + 63) // 64
        planes = np.full((bits + 1, nw + 1), -1, dtype=np.int64)  # stale words to overwrite
        to_planes(V, bits, planes)
        for b in range(bits):
            want = [sum(((int(V[t]) >> b) & 1) << (t - 64 * q) for t in range(64 * q,
                                                                             min(T, 64 * q + 64)))
                    for q in range(nw)]
            got = [int(w) & ((1 << 64) - 1) for w in planes[b, :nw]]
            assert got == want
        assert (planes[bits] == -1).all() and (planes[:, nw] == -1).all()  # untouched
