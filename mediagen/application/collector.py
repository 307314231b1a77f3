"""A backend's SDK loaded with the cyclic garbage collector held back, then its new objects collected once.

Loading a vendor SDK makes 100,000-150,000 objects that live as long as the process: modules, classes, pydantic
schemas. With the collector running, they set off about two hundred young collections, a dozen middle ones and, in
a fresh process, one or two full collections of the whole heap (50-80 ms each on 2 cores), which find next to no
garbage. So the registry builds a generator (its factory) and prepares it for a key (its client, where some adapters
import their SDK) with the collector paused; when that is over, a worker thread collects the young generations
once, then turns the collector back on: the new objects become old without the next allocation on the event loop
setting off that collection there.

The pause is process-wide, as the collector is: several loads at once pause it once, until the last one ends, and a
host that turned the collector off keeps it off (nothing is paused or collected then).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import AsyncIterator


class _Pause:
    """How many loads run with the collector paused, and whether it was on when the first of them began."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loads = 0
        self._resume = False

    def begin(self) -> None:
        with self._lock:
            if self._loads == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._loads += 1

    def end(self) -> None:
        """Blocking (the collection takes 20-80 ms after an SDK's import): when this was the last load and the
        collector was on before the first, collect the young generations, then turn the collector on. In that
        order, so no allocation elsewhere can start that collection in its own thread meanwhile."""
        with self._lock:
            self._loads -= 1
            if self._loads == 0 and self._resume:
                gc.collect(1)
                gc.enable()


_PAUSE = _Pause()


@contextlib.asynccontextmanager
async def collector_paused() -> AsyncIterator[None]:
    """The body runs with the collector paused (its blocking loads in worker threads); on the way out, however it
    ends, a worker thread collects what the loads made and resumes the collector, even when the caller is cancelled
    meanwhile."""
    _PAUSE.begin()
    try:
        yield
    finally:
        ending = asyncio.get_running_loop().run_in_executor(None, _PAUSE.end)
        cancelled = False
        while not ending.done():  # through repeated cancels: the collector must not stay paused
            try:
                await asyncio.shield(ending)
            except asyncio.CancelledError:
                cancelled = True
        ending.result()
        if cancelled:  # a cancel that came while it ended is the caller's still
            raise asyncio.CancelledError
