"""One SDK call under a generation's deadline, with the vendor's errors translated once: what every adapter's
`vendor_call` is; and the count of images one call may be asked for."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from mediagen.application.deadline import Deadline, within
from mediagen.domain.backend import BackendSpec, ModelSpec
from mediagen.domain.errors import GenerationTimeout, InvalidRequest, MediaGenError
from mediagen.domain.request import MediaRequest

T = TypeVar("T")


async def translated_call(
    awaitable: Awaitable[T],
    *,
    deadline: Deadline,
    translate: Callable[[Exception], MediaGenError],
    timed_out: Callable[[], MediaGenError],
) -> T:
    """Await `awaitable`: an exception of the SDK or its transport becomes `translate`'s typed error, and running
    past `deadline` is `timed_out()`'s (a coroutine not started because no time is left is closed, not leaked).

    The vendor's exception is never chained (`from None`): its text may quote the key or the request's headers,
    and --debug and logging print a chain whole."""
    remaining = deadline.remaining()
    if remaining <= 0:
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()
        raise timed_out()
    try:
        return await within(remaining, _translated(awaitable, translate))
    except asyncio.TimeoutError:
        # Only the deadline's own timeout gets here: a transport timeout was already translated inside.
        raise timed_out() from None


async def _translated(awaitable: Awaitable[T], translate: Callable[[Exception], MediaGenError]) -> T:
    try:
        return await awaitable
    except MediaGenError:
        raise
    except Exception as exc:  # SDKs and their transports raise many types; each becomes one typed error here
        raise translate(exc) from None


def generation_timeout(
    vendor: str, seconds: float, *, backend: str, job: str = "job", job_id: str | None = None
) -> GenerationTimeout:
    """The overall timeout passed with no result from `vendor`; a vendor job (`job` names its kind, e.g. "Sora
    video") keeps running, and the message says it can be resumed by its id."""
    tail = f"; {job} {job_id} keeps running and can be resumed" if job_id else ""
    return GenerationTimeout(
        f"{vendor} produced no result within {seconds:.1f} s{tail}; raise the timeout for long jobs",
        backend=backend,
        job_id=job_id,
    )


def model_for(spec: BackendSpec, request: MediaRequest, name: str) -> ModelSpec | None:
    """The spec's model `name` for `request` (None for a model the spec does not list yet, sent as named); a model
    of another media type is refused before any call (the selector never picks one; a direct caller might)."""
    model = spec.model(name)
    if model is not None and model.media_type is not request.media_type:
        raise InvalidRequest(f"{name} makes {model.media_type.value}, not {request.media_type.value}", field="model")
    return model


def check_images_per_call(request: MediaRequest, most: int, model_name: str) -> None:
    """More images than one call of the model makes never reach the vendor: the service splits a request's n into
    calls (`MediaService.generate_batch`), so a generator asked for more was called directly."""
    if request.n > most:
        made = "one image" if most == 1 else f"at most {most} images"
        raise InvalidRequest(
            f"{model_name} makes {made} per call, not {request.n}; ask MediaService.generate_batch, which splits n "
            "into calls",
            field="n",
        )
