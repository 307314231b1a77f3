"""Deadlines: when a generation must be done, and awaiting under one in the running task (on Python 3.11+ no
extra task per call, as wait_for starts)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs

T = TypeVar("T")


@attrs.frozen
class Deadline:
    """When a generation must be done, on an injectable clock (tests use a fake one)."""

    clock: Callable[[], float]
    seconds: float
    ends: float

    @classmethod
    def start(cls, clock: Callable[[], float], seconds: float) -> Deadline:
        return cls(clock, seconds, clock() + seconds)

    def remaining(self) -> float:
        return self.ends - self.clock()


if sys.version_info >= (3, 11):

    async def within(seconds: float, work: Awaitable[T]) -> T:
        """`work`, or asyncio.TimeoutError once `seconds` have passed (`work` is then cancelled)."""
        async with asyncio.timeout(seconds):
            return await work

else:  # pragma: no cover - Python 3.10

    async def within(seconds: float, work: Awaitable[T]) -> T:
        return await asyncio.wait_for(work, seconds)
