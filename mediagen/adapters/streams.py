"""A vendor's body as the stream GeneratedMedia hands the sink: shared by the adapters that stream one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from mediagen.domain.errors import MediaGenError


class ChunkStream:
    """The chunks of a body an SDK or its transport reads, in constant memory.

    Read to its end, failed or closed (the service closes every stream it is handed, so a body nobody reads is still
    released), it lets go of what it holds once: `_release`, which a subclass gives. An error of the SDK or its
    transport on the way (a cut-short body, say) becomes `translate`'s typed error, so it is retried, never written.
    A chunk read ahead (`first`, which a call takes to see a refusal before anything is written) comes first.
    """

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        translate: Callable[[Exception], MediaGenError],
        first: bytes | None = None,
    ) -> None:
        self._chunks = chunks
        self._translate = translate
        self._first = first
        self._closed = False

    def __aiter__(self) -> ChunkStream:
        return self

    async def __anext__(self) -> bytes:
        if self._first is not None:
            chunk, self._first = self._first, None
            return chunk
        if self._closed:
            raise StopAsyncIteration
        try:
            chunk = await self._chunks.__anext__()
        except StopAsyncIteration:
            await self.aclose()
            raise
        except BaseException as exc:
            await self.aclose()
            if isinstance(exc, Exception) and not isinstance(exc, MediaGenError):
                raise self._translate(exc) from None
            raise
        return chunk

    async def aclose(self) -> None:
        """Let go of the body (the connection, the response); idempotent."""
        self._first = None
        if self._closed:
            return
        self._closed = True
        await self._release()

    async def _release(self) -> None:
        """Close the chunks' iterator (when it has `aclose`): a subclass releases more."""
        close = getattr(self._chunks, "aclose", None)
        if close is not None:
            await close()
