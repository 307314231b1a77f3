"""One SDK call under a generation's deadline, with the vendor's errors translated once: what every adapter's
`vendor_call` is."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from mediagen.application.deadline import Deadline, within
from mediagen.domain.errors import MediaGenError

T = TypeVar("T")


async def translated_call(
    awaitable: Awaitable[T],
    *,
    deadline: Deadline,
    translate: Callable[[Exception], MediaGenError],
    timed_out: Callable[[], MediaGenError],
) -> T:
    """Await `awaitable`: an exception of the SDK or its transport becomes `translate`'s typed error, and running
    past `deadline` is `timed_out()`'s (a coroutine not started because no time is left is closed, not leaked).

    The vendor's exception is never chained (`from None`): its text may quote the key or the request's headers,
    and --debug and logging print a chain whole."""
    remaining = deadline.remaining()
    if remaining <= 0:
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()
        raise timed_out()
    try:
        return await within(remaining, _translated(awaitable, translate))
    except asyncio.TimeoutError:
        # Only the deadline's own timeout gets here: a transport timeout was already translated inside.
        raise timed_out() from None


async def _translated(awaitable: Awaitable[T], translate: Callable[[Exception], MediaGenError]) -> T:
    try:
        return await awaitable
    except MediaGenError:
        raise
    except Exception as exc:  # SDKs and their transports raise many types; each becomes one typed error here
        raise translate(exc) from None
