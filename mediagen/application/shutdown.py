"""What belongs to an event loop (clients whose connections it opened): when to build it again, and closing it
when that loop shuts down, for what no one else will close on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable


def left_behind(built_on: asyncio.AbstractEventLoop | None) -> bool:
    """Whether what was built on `built_on` must be built again for the running loop: it was built on another loop,
    which has stopped (its connections went with it). Two loops running at once, in two threads, share it."""
    return built_on is not None and built_on is not asyncio.get_running_loop() and not built_on.is_running()


async def close_at_shutdown(close: Callable[[], Awaitable[None]]) -> AsyncGenerator[None, None]:
    """An async generator, started on the running loop, whose closing awaits `close()`.

    `loop.shutdown_asyncgens()` closes every async generator started on the loop and still open; asyncio.run calls
    it before it closes the loop, so `close()` runs there, on that loop, while it can still await. The caller keeps
    what this returns (the loop holds only a weak reference to it). Starting it does not suspend the caller.
    """
    closer = _waiting(close)
    await anext(closer)  # runs to its yield at once; from now on the loop knows it
    return closer


async def _waiting(close: Callable[[], Awaitable[None]]) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await close()
