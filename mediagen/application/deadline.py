"""Awaiting under a deadline in the running task: on Python 3.11+ no extra task per call, as wait_for starts."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

if sys.version_info >= (3, 11):

    async def within(seconds: float, work: Awaitable[T]) -> T:
        """`work`, or asyncio.TimeoutError once `seconds` have passed (`work` is then cancelled)."""
        async with asyncio.timeout(seconds):
            return await work

else:  # pragma: no cover - Python 3.10

    async def within(seconds: float, work: Awaitable[T]) -> T:
        return await asyncio.wait_for(work, seconds)
