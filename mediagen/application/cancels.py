"""Waiting out work that must end before its caller does, however many cancels arrive meanwhile."""

from __future__ import annotations

import asyncio
from typing import Any


async def settled(*futures: asyncio.Future[Any]) -> bool:
    """Wait until every future is done, through repeated cancels (a second Ctrl-C, anyio's repeated cancels); the
    futures themselves are never cancelled by it. Returns whether a cancel came meanwhile: it is the caller's to
    raise once it has dealt with what the futures did."""
    cancelled = False
    while not all(future.done() for future in futures):
        try:
            await asyncio.wait(futures)
        except asyncio.CancelledError:
            cancelled = True
    return cancelled
