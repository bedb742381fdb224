"""Keep freed heap memory in the process (glibc): the kernels allocate their work arrays per
fold (up to a few MB each), and with glibc's default thresholds those blocks go back to the
kernel on free and come back as fresh, page-faulting pages on the next fold (measured: about
0.1 ns per simulated MAC on 32×32 arrays, benchmarks/RESULTS.md)."""

from __future__ import annotations

import ctypes

#: glibc ``mallopt`` parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the heap, not from their own mapping (bytes: glibc's maximum
#: dynamic threshold on 64-bit).
MMAP_THRESHOLD_BYTES = 32 << 20
#: Free memory at the top of the heap kept before it is returned (bytes).
TRIM_THRESHOLD_BYTES = 256 << 20


def keep_heap() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; False where there is no glibc
    ``mallopt`` (then nothing changes)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own symbols: libc's where it is glibc
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
