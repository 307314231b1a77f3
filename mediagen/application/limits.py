"""Call limits inside one process: aiolimiter for the rate, a semaphore for calls at once."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from mediagen.ports.limits import CallLimit

if TYPE_CHECKING:  # loaded by the first call with a rate limit (in a worker thread), not at start
    from aiolimiter import AsyncLimiter


class LocalLimits:
    """The default without a shared store: every call of this process counts, other processes are not seen."""

    def __init__(self) -> None:
        self._rates: dict[tuple[str, str], AsyncLimiter] = {}
        self._slots: dict[tuple[str, str], asyncio.Semaphore] = {}

    @asynccontextmanager
    async def hold(
        self,
        backend: str,
        account: str,
        limit: CallLimit,
        *,
        lease_seconds: float,
        on_wait: Callable[[float], None],
    ) -> AsyncIterator[None]:
        if limit.unlimited:
            yield
            return
        key = (backend, account)
        slot = None
        if limit.max_concurrent is not None:
            slot = self._slots.setdefault(key, asyncio.Semaphore(limit.max_concurrent))
            await slot.acquire()
        try:
            rate = limit.requests_per_minute
            if rate is not None:
                limiter = self._rates.get(key)
                if limiter is None:
                    await asyncio.to_thread(importlib.import_module, "aiolimiter")  # off the loop, the first time
                    from aiolimiter import AsyncLimiter

                    # A bucket of `rate` calls refilled over a minute (bursts up to `rate`); below one a minute,
                    # one call per 60 / rate seconds. Two first calls may both get here: the first bucket stays.
                    limiter = self._rates.setdefault(key, AsyncLimiter(max(rate, 1.0), 60.0 / min(rate, 1.0)))
                if not limiter.has_capacity():
                    on_wait(limiter.time_period / limiter.max_rate)
                await limiter.acquire()
            yield
        finally:
            if slot is not None:
                slot.release()

    async def aclose(self) -> None:
        return None
