"""A backend's SDK loaded with the cyclic garbage collector held back, then its new objects collected once.

Loading a vendor SDK makes 100,000-150,000 objects that live as long as the process: modules, classes, pydantic
schemas. With the collector running, they set off about two hundred young collections, a dozen middle ones and, in
a fresh process, one or two full collections of the whole heap (50-80 ms each on 2 cores), which find next to no
garbage. So the generator's factory (which imports the SDK) runs with the collector paused, and once it returns, the
same worker thread collects the young generations once: the new objects become old without the loop's next
allocation setting off that collection on the loop.

The pause is process-wide, as the collector is: several loads at once pause it once, until the last one ends, and a
host that turned the collector off keeps it off (nothing is paused or collected then).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


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

    def end(self) -> bool:
        """True when this was the last load and the collector was on before the first: it is on again now."""
        with self._lock:
            self._loads -= 1
            resumed = self._loads == 0 and self._resume
            if resumed:
                gc.enable()
            return resumed


_PAUSE = _Pause()


def loaded_with_collector_paused(load: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Blocking, for a worker thread: `load(*args, **kwargs)` with the collector paused; when it was the last load
    under way, the collector runs again and collects the young generations (what the loads made) in this thread."""
    _PAUSE.begin()
    try:
        return load(*args, **kwargs)
    finally:
        if _PAUSE.end():
            gc.collect(1)
