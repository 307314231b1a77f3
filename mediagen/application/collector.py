"""A backend's SDK loaded with the cyclic garbage collector held back; what it made then made old at once.

Loading a vendor SDK makes 100,000-150,000 objects that live as long as the process: modules, classes, pydantic
schemas. With the collector running, they set off about two hundred young collections, a dozen middle ones and, in
a fresh process, one or two full collections of the whole heap (50-80 ms each on 2 cores, holding the GIL), which
find next to no garbage. So the registry builds a generator (its factory) and prepares it for a key (its client,
where some adapters import their SDK), and the service warms backends up, with the collector paused; when that is
over, every object moves to the oldest generation without being looked at, and the collector is turned back on.
The new objects are then looked at only by a full collection, as old objects are, and no young collection of them
ever starts, on the event loop or elsewhere.

The pause is process-wide, as the collector is: several loads at once pause it once, until the last one ends; a
host that turned the collector off keeps it off (nothing is paused or moved then); a host that keeps objects
frozen (for its forked workers) keeps them so.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import AsyncIterator

from mediagen.application.cancels import settled


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
        """When this was the last load and the collector was on before the first: every object the loads made
        becomes old, then the collector is turned on. In that order, so no allocation elsewhere can start a
        collection of them as young ones in its own thread meanwhile.

        `gc.freeze()` then `gc.unfreeze()` moves every tracked object to the oldest generation (the documented
        meaning of the two) without looking at any: a pause of microseconds, where collecting the young
        generations takes 20-80 ms after an SDK's import, holding the GIL. The little garbage an import leaves is
        collected with the oldest generation. A host that keeps objects frozen (for its forked workers) keeps them
        so: then the young generations are collected instead (blocking: call this in a worker thread)."""
        with self._lock:
            self._loads -= 1
            if self._loads == 0 and self._resume:
                if gc.get_freeze_count() == 0:
                    gc.freeze()
                    gc.unfreeze()
                else:
                    gc.collect(1)
                gc.enable()


_PAUSE = _Pause()


@contextlib.asynccontextmanager
async def collector_paused() -> AsyncIterator[None]:
    """The body runs with the collector paused (its blocking loads in worker threads); on the way out, however it
    ends, a worker thread makes what the loads made old and resumes the collector (`_Pause.end`), even when the
    caller is cancelled meanwhile."""
    _PAUSE.begin()
    try:
        yield
    finally:
        ending = _end_in_a_worker_thread()
        if ending is not None:
            cancelled = await settled(ending)  # through repeated cancels: the collector must not stay off
            ending.result()
            if cancelled:  # a cancel that came while it ended is the caller's still
                raise asyncio.CancelledError


def _end_in_a_worker_thread() -> asyncio.Future[None] | None:
    """`_PAUSE.end` started in a worker thread, or run here and None when the loop's executor is shut down."""
    try:
        return asyncio.get_running_loop().run_in_executor(None, _PAUSE.end)
    except RuntimeError:  # the loop is closing: nothing is left to wait for
        _PAUSE.end()
        return None
