"""Closing what belongs to an event loop when that loop shuts down, for what no one else will close on it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable


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
