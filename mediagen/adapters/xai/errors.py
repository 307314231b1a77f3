"""translate_xai_error: every gRPC status, SDK and download failure becomes one typed mediagen error, once.

grpc is imported inside the functions: an RPC error only exists once the client (and so grpc) was loaded, off the
event loop; importing this module costs nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from typing import Any, Final

from mediagen.adapters.calls import generation_timeout
from mediagen.adapters.scrubbing import KeyScrubber
from mediagen.domain.errors import (
    AuthenticationFailed,
    BackendError,
    ContentRejected,
    GenerationTimeout,
    InvalidRequest,
    MediaGenError,
    RateLimited,
    TransientBackendError,
)
from mediagen.domain.secret import Secret

BACKEND = "xai"
_KEY_HINT = "check XAI_API_KEY (and that the key's team may use this model)"
#: Words in an INVALID_ARGUMENT (or a failed video's error) that mean a moderation refusal, not a malformed request.
_POLICY_WORDS = re.compile(
    r"moderat|content polic|usage polic|safety|violat|prohibited|inappropriate|not allowed to generate|refus",
    re.IGNORECASE,
)
#: Words in a RESOURCE_EXHAUSTED that mean the account's budget is spent (not a rate limit that passes).
_SPENT_WORDS = re.compile(r"credits|spending limit|quota", re.IGNORECASE)
#: The request's proto fields, as an INVALID_ARGUMENT names them, and the mediagen field each comes from.
_FIELDS = (
    ("aspect_ratio", "aspect_ratio"),
    ("resolution", "size"),
    ("quality", "quality"),
    ("duration", "duration"),
    ("reference_images", "input_images"),
    ("images", "input_images"),
    ("image", "input_images"),
    ("video", "continue_from"),
    ("model", "model"),
    ("prompt", "prompt"),
)
#: `text` without the key, and without anything shaped like an xAI key (xai-...).
scrub: Final = KeyScrubber(r"\bxai-[A-Za-z0-9_\-]{6,}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _seconds(value: str | bytes) -> float | None:
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    try:
        number = float(text)
    except ValueError:
        match = _DURATION.match(text)
        number = float(match[1]) if match else -1.0
    return number if 0 <= number < float("inf") else None


def retry_delay(metadata: Iterable[tuple[str, Any]] | None) -> float | None:
    """The wait a RESOURCE_EXHAUSTED asks for: google.rpc.RetryInfo in grpc-status-details-bin, else retry-after."""
    found: float | None = None
    for key, value in metadata or ():
        name = key.lower()
        if name == "grpc-status-details-bin" and isinstance(value, bytes):
            delay = _retry_info(value)
            if delay is not None:
                return delay
        elif name == "retry-after-ms" and found is None:
            ms = _seconds(value)
            found = None if ms is None else ms / 1000
        elif name == "retry-after" and found is None:
            found = _seconds(value)
    return found


def _retry_info(blob: bytes) -> float | None:
    from google.protobuf.message import DecodeError
    from google.rpc import error_details_pb2, status_pb2

    status = status_pb2.Status()
    try:
        status.ParseFromString(blob)
    except DecodeError:
        return None
    for detail in status.details:
        info = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            delay = info.retry_delay.seconds + info.retry_delay.nanos / 1e9
            return delay if delay >= 0 else None
    return None


def field_named(message: str) -> str | None:
    """The mediagen field an INVALID_ARGUMENT message is about, when it names a request field."""
    lowered = message.lower()
    for proto_name, field in _FIELDS:
        if re.search(rf"\b{proto_name}\b", lowered):
            return field
    return None


def _status_error(exc: Any, secret: Secret | None) -> MediaGenError:
    code = exc.code()
    name = getattr(code, "name", str(code))
    message = scrub(str(exc.details() or "no details"), secret)
    said = f"xAI answered {name}: {message}"
    if name in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
        return AuthenticationFailed(f"xAI refused the key ({name}): {message}; {_KEY_HINT}", backend=BACKEND)
    if name == "RESOURCE_EXHAUSTED" and _SPENT_WORDS.search(message):
        return BackendError(
            f"{said}; the xAI account's credits or spending limit are used up: add credits at console.x.ai "
            "(retrying does not help)",
            backend=BACKEND,
        )
    if name == "RESOURCE_EXHAUSTED":
        return RateLimited(
            f"{said}; wait and retry, or lower the concurrency",
            backend=BACKEND,
            retry_after=retry_delay(exc.trailing_metadata()),
        )
    if name in ("UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "ABORTED"):
        return TransientBackendError(f"{said}; retrying usually helps", backend=BACKEND)
    if name == "INVALID_ARGUMENT":
        if _POLICY_WORDS.search(message):
            return ContentRejected(f"xAI's moderation refused the request: {message}", backend=BACKEND)
        return InvalidRequest(f"xAI refused it: {message}", field=field_named(message))
    if name == "NOT_FOUND":
        return BackendError(f"{said}; the model or the video may not exist (check the name)", backend=BACKEND)
    return BackendError(said, backend=BACKEND)


def translate_xai_error(exc: BaseException, *, secret: Secret | None = None) -> MediaGenError:
    """The mediagen error for a failure of an xai-sdk call or of a video download."""
    if isinstance(exc, MediaGenError):
        return exc
    import aiohttp
    import grpc

    if isinstance(exc, grpc.aio.AioRpcError) or (
        isinstance(exc, grpc.RpcError) and callable(getattr(exc, "code", None))
    ):
        return _status_error(exc, secret)
    if isinstance(exc, aiohttp.ClientResponseError):
        status = exc.status
        said = f"the video download answered {status} {scrub(exc.message or '', secret)}".rstrip()
        if status in (408, 429) or status >= 500:
            return TransientBackendError(f"{said}; retrying usually helps", backend=BACKEND, status=status)
        return BackendError(f"{said}; the video's URL may have expired", backend=BACKEND, status=status)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return TransientBackendError(f"the video download was cut short: {scrub(str(exc), secret)}", backend=BACKEND)
    if isinstance(exc, (aiohttp.ClientError, ConnectionError)):
        return TransientBackendError(
            f"could not reach xAI: {scrub(str(exc), secret) or type(exc).__name__}", backend=BACKEND
        )
    if isinstance(exc, asyncio.TimeoutError):
        return TransientBackendError("xAI did not answer in time; retrying usually helps", backend=BACKEND)
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return TransientBackendError(
            f"xAI sent a malformed answer ({type(exc).__name__}); retrying usually helps", backend=BACKEND
        )
    return BackendError(f"xai-sdk failed: {type(exc).__name__}: {scrub(str(exc), secret)}", backend=BACKEND)


def timeout_error(seconds: float, *, job_id: str | None = None) -> GenerationTimeout:
    """The overall timeout passed; a video request keeps running and can be resumed by its id."""
    return generation_timeout("xAI", seconds, backend=BACKEND, job="xAI video request", job_id=job_id)


def video_failed(request_id: str, code: str, message: str, *, secret: Secret | None = None) -> MediaGenError:
    """A video request that ended FAILED: ContentRejected for a moderation reason, else BackendError naming it."""
    reason = scrub(message or "no reason given", secret)
    if _POLICY_WORDS.search(reason) or _POLICY_WORDS.search(code):
        return ContentRejected(f"xAI's moderation refused video {request_id}: {reason}", backend=BACKEND)
    return BackendError(
        f"xAI video {request_id} failed{f' ({code})' if code else ''}: {reason}; try again or change the prompt",
        backend=BACKEND,
    )


def video_expired(request_id: str) -> BackendError:
    """A video request xAI no longer holds (DeferredStatus.EXPIRED)."""
    return BackendError(
        f"xAI video request {request_id} expired before its result was collected; generate the video again",
        backend=BACKEND,
    )
