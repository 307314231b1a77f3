"""How many calls a backend may start, and how many may run at once, for one vendor account."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import attrs


@attrs.frozen
class CallLimit:
    """A backend's limits: calls started per minute, calls running at once (None: no limit of mediagen's own)."""

    requests_per_minute: float | None = None
    max_concurrent: int | None = None

    @property
    def unlimited(self) -> bool:
        return self.requests_per_minute is None and self.max_concurrent is None


class CallLimits(Protocol):
    """Holds a call back until the backend's budget allows it; local to a process or shared through a store."""

    def hold(
        self,
        backend: str,
        account: str,
        limit: CallLimit,
        *,
        lease_seconds: float,
        on_wait: Callable[[float], None],
    ) -> AbstractAsyncContextManager[None]:
        """Wait for a start within `requests_per_minute` and a free `max_concurrent` slot, keep the slot for the
        block (at most `lease_seconds` when shared: a worker that dies frees it then). `account` is a hash of
        the key, so workers with the same key share one budget; `on_wait(seconds)` is told when the rate waits."""
        ...

    async def aclose(self) -> None: ...
