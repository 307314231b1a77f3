"""Every google-genai call goes through `vendor_call`: errors translated once, under the overall deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from mediagen.adapters.google.errors import timeout_error, translate_google_error
from mediagen.application.deadline import Deadline, within
from mediagen.domain.errors import MediaGenError
from mediagen.domain.secret import Secret

T = TypeVar("T")


async def _translated(awaitable: Awaitable[T], secret: Secret) -> T:
    try:
        return await awaitable
    except MediaGenError:
        raise
    except Exception as exc:  # the SDK and its transports raise many types; each becomes one typed error here
        # from None: the SDK's exception text may quote the key; --debug and logging print a chain whole.
        raise translate_google_error(exc, secret=secret) from None


async def vendor_call(awaitable: Awaitable[T], *, deadline: Deadline, secret: Secret, job_id: str | None = None) -> T:
    """Await one SDK call; vendor errors become MediaGenErrors, running past the deadline GenerationTimeout."""
    remaining = deadline.remaining()
    if remaining <= 0:
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()
        raise timeout_error(deadline.seconds, job_id=job_id)
    try:
        return await within(remaining, _translated(awaitable, secret))
    except asyncio.TimeoutError:
        # Only the deadline's own timeout gets here: a transport timeout was already translated inside.
        raise timeout_error(deadline.seconds, job_id=job_id) from None
