"""translate_openai_error: every openai SDK and transport failure becomes one typed mediagen error, once."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import openai

from mediagen.adapters.calls import generation_timeout
from mediagen.adapters.openai.spec import SORA_SHUTDOWN
from mediagen.adapters.openai_sdk_errors import translate_transport_failure
from mediagen.adapters.retry_after import retry_after_seconds
from mediagen.adapters.scrubbing import KeyScrubber
from mediagen.domain.errors import (
    AuthenticationFailed,
    BackendError,
    ContentRejected,
    GenerationTimeout,
    MediaGenError,
    RateLimited,
    TransientBackendError,
)
from mediagen.domain.secret import Secret

BACKEND = "openai"
_KEY_HINT = "check OPENAI_API_KEY (and that the key's project may use this model)"
#: Error codes OpenAI gives a prompt or output its safety system refused.
POLICY_CODES = frozenset({"content_policy_violation", "moderation_blocked", "content_filter", "safety_violation"})
_POLICY_WORDS = re.compile(r"safety system|content policy|moderation system|safety filter", re.IGNORECASE)
#: `text` without the key, and without anything shaped like an OpenAI key (sk-..., sk-proj-...), also the partly
#: starred form its 401 message echoes.
scrub: Final = KeyScrubber(r"\bsk-[A-Za-z0-9_*\-]{6,}")
#: How OpenAI answers a route it does not serve: 404 "Invalid URL (POST /v1/videos)".
_UNKNOWN_ROUTE = re.compile(r"^Invalid URL \(")


def _vendor_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str) and message.strip():
            return message.strip()
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return exc.message


def _status_error(exc: openai.APIStatusError, backend: str, secret: Secret | None) -> MediaGenError:
    status = exc.status_code
    code = exc.code or ""
    message = scrub(_vendor_message(exc), secret)
    said = f"OpenAI error {status}{f' ({code})' if code else ''}: {message}"
    if status in (401, 403):
        return AuthenticationFailed(
            f"OpenAI refused the request ({status}): {message}; {_KEY_HINT}", backend=backend, status=status
        )
    if status == 429:
        if code == "insufficient_quota":
            # Billing, not pace: waiting does not help, so this is not retried.
            return BackendError(f"{said}; add credits or raise the project's limit", backend=backend, status=status)
        return RateLimited(
            f"{said}; wait and retry, or lower the concurrency",
            backend=backend,
            retry_after=retry_after_seconds(exc.response.headers),
        )
    if status in (408, 409) or status >= 500:
        return TransientBackendError(f"{said}; retrying usually helps", backend=backend, status=status)
    if code in POLICY_CODES or (status == 400 and _POLICY_WORDS.search(message)):
        return ContentRejected(f"OpenAI's safety system refused the request: {message}", backend=backend, status=status)
    return BackendError(said, backend=backend, status=status)


def translate_openai_error(
    exc: BaseException, backend: str = BACKEND, *, secret: Secret | None = None
) -> MediaGenError:
    """The mediagen error for a failure of an openai SDK call (HTTP status, transport, malformed answer)."""
    if isinstance(exc, MediaGenError):
        return exc
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc, backend, secret)
    return translate_transport_failure(exc, vendor="OpenAI", backend=backend, scrub=scrub, secret=secret)


def sora_retired_error(
    exc: openai.APIStatusError, *, names_a_video: bool, backend: str = BACKEND, secret: Secret | None = None
) -> BackendError | None:
    """The Sora API's shutdown, when a Sora call's answer says the endpoint itself is gone; else None.

    OpenAI's unknown-route answer ("Invalid URL (POST /v1/videos)", 404 or 410) always means it. Creating a video
    names no id in its path, so there any other 404 (but model_not_found) or 410 means it too. For a call naming a
    video (remix, status) any other 404 or 410 is about that video (unknown or expired), so None.
    """
    status = exc.status_code
    if status not in (404, 410):
        return None
    message = scrub(_vendor_message(exc), secret)
    unknown_route = bool(_UNKNOWN_ROUTE.match(message))
    if not unknown_route and (names_a_video or exc.code == "model_not_found"):
        return None
    return BackendError(
        f"the Sora API is gone: OpenAI announced its shutdown for {SORA_SHUTDOWN.isoformat()}, and it answered "
        f"{status} ({message}); use --backend google (Veo) for video",
        backend=backend,
        status=status,
    )


def timeout_error(seconds: float, *, job_id: str | None = None, backend: str = BACKEND) -> GenerationTimeout:
    """The overall timeout passed; a Sora job keeps running and can be resumed by its id."""
    return generation_timeout("OpenAI", seconds, backend=backend, job="Sora video", job_id=job_id)


def job_error(video_id: str, error: Any, backend: str = BACKEND, *, secret: Secret | None = None) -> MediaGenError:
    """A Sora job that ended failed: ContentRejected for a moderation code, else BackendError with its message."""
    code = str(getattr(error, "code", "") or "")
    message = scrub(str(getattr(error, "message", "") or "no reason given"), secret)
    if code in POLICY_CODES or _POLICY_WORDS.search(message):
        return ContentRejected(f"OpenAI's safety system refused video {video_id}: {message}", backend=backend)
    return BackendError(
        f"Sora video {video_id} failed{f' ({code})' if code else ''}: {message}; try again or change the prompt",
        backend=backend,
    )
