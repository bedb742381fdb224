"""Notice of numba compilations: a callback that runs when numba starts compiling a kernel
(a cache miss), and never when kernels load from numba's cache. The command line uses it to say
"compiling kernels…" only when it is true."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def on_first_compile(callback: Callable[[], None]) -> Iterator[None]:
    """Within the block, call ``callback()`` once, as numba begins the first compilation
    (numba's ``numba:compile`` event); loading cached kernels triggers nothing."""
    from numba.core import event

    class _Listener(event.Listener):
        fired = False

        def on_start(self, ev: event.Event) -> None:
            if not self.fired:
                self.fired = True
                callback()

        def on_end(self, ev: event.Event) -> None:
            pass

    listener = _Listener()
    event.register("numba:compile", listener)
    try:
        yield
    finally:
        event.unregister("numba:compile", listener)
