"""A batch item's turn among the batch's `max_concurrent` vendor calls: taken before each of its vendor calls and
given back once that call's media has all been received, so the files being written never keep the next item's
vendor call waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

import attrs

from mediagen.application.outcome import _close
from mediagen.domain.errors import MediaGenError
from mediagen.ports.generator import GeneratedMedia


class Turn:
    """One item's place under its batch's gate. `take` waits for a place unless the item holds one; `give_back`
    frees it (once, however often it is called). A retry or a fallback takes it again before calling a vendor."""

    def __init__(self, gate: asyncio.Semaphore) -> None:
        self._gate = gate
        self._held = False

    async def take(self) -> None:
        if not self._held:
            await self._gate.acquire()
            self._held = True

    def give_back(self) -> None:
        if self._held:
            self._held = False
            self._gate.release()

    def given_back_after(self, made: Sequence[GeneratedMedia | MediaGenError]) -> list[GeneratedMedia | MediaGenError]:
        """One vendor call's media, each stream passing its chunks through: the turn is given back when every one
        of them has ended or been closed (at once when the call made none)."""
        left = sum(isinstance(media, GeneratedMedia) for media in made)
        if not left:
            self.give_back()
            return list(made)

        def one_ended() -> None:
            nonlocal left
            left -= 1
            if not left:
                self.give_back()

        return [
            attrs.evolve(media, stream=_Ending(media.stream, one_ended)) if isinstance(media, GeneratedMedia) else media
            for media in made
        ]


class _Ending:
    """A media stream that calls `ended` once, when its last chunk has been read or when it is closed unread."""

    def __init__(self, stream: AsyncIterator[bytes], ended: Callable[[], None]) -> None:
        self._stream = stream
        self._ended: Callable[[], None] | None = ended

    def __aiter__(self) -> _Ending:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._stream.__anext__()
        except StopAsyncIteration:
            self._end()
            raise

    async def aclose(self) -> None:
        self._end()
        await _close(self._stream)

    def _end(self) -> None:
        ended, self._ended = self._ended, None
        if ended is not None:
            ended()
