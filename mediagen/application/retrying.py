"""The retries after a generation's first failure: stamina's pacing, a vendor's Retry-After honoured."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from mediagen.application.settings import RetrySettings
from mediagen.domain.errors import (
    MediaGenError,
    RateLimited,
)
from mediagen.ports.progress import (
    ProgressListener,
    Retried,
)

T = TypeVar("T")


async def retry_after(
    once: Callable[[], Awaitable[T]],
    failed: MediaGenError,
    emit: ProgressListener,
    retry: RetrySettings,
) -> T:
    """The attempts after a first failure, paced by stamina (so a success costs no retry bookkeeping).

    stamina's first attempt re-raises that failure: it counts, decides and waits as if it had made every
    attempt itself. Its waits are asyncio sleeps, so the other generations keep running meanwhile.
    """
    import stamina  # only once a call has failed: a first call that succeeds never loads it

    last = failed
    waited = 0.0
    async for attempt in stamina.retry_context(
        on=_backoff(retry.wait_max),
        attempts=retry.attempts,
        timeout=None,
        wait_initial=retry.wait_initial,
        wait_max=retry.wait_max,
        wait_jitter=retry.wait_jitter,
    ):
        with attempt:
            try:
                if attempt.num == 1:
                    raise last
                emit(Retried(attempt=attempt.num, wait_seconds=waited, error_code=last.code, message=last.message))
                return await once()
            except MediaGenError as error:
                last = error
                hint = error.retry_after if isinstance(error, RateLimited) else None
                waited = min(hint, retry.wait_max) if hint is not None else attempt.next_wait
                raise
    raise AssertionError("stamina re-raises the last error")  # pragma: no cover


def _backoff(wait_max: float) -> Callable[[BaseException], bool | float]:
    def decide(error: BaseException) -> bool | float:
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return float(min(error.retry_after, max(wait_max, 0.0)))
        return isinstance(error, MediaGenError) and error.retryable

    return decide
