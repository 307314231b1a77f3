"""Every google-genai call goes through `vendor_call`: errors translated once, under the overall deadline."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from mediagen.adapters.calls import translated_call
from mediagen.adapters.google.errors import timeout_error, translate_google_error
from mediagen.application.deadline import Deadline
from mediagen.domain.secret import Secret

T = TypeVar("T")


async def vendor_call(awaitable: Awaitable[T], *, deadline: Deadline, secret: Secret, job_id: str | None = None) -> T:
    """Await one SDK call; vendor errors become MediaGenErrors, running past the deadline GenerationTimeout."""
    return await translated_call(
        awaitable,
        deadline=deadline,
        translate=lambda exc: translate_google_error(exc, secret=secret),
        timed_out=lambda: timeout_error(deadline.seconds, job_id=job_id),
    )
