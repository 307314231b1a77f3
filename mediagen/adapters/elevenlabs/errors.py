"""translate_elevenlabs_error: every elevenlabs SDK and transport failure becomes one typed mediagen error, once.

ElevenLabs answers errors as `{"detail": {"status": "...", "message": "..."}}`, and a request its schema refuses as
FastAPI's 422 `{"detail": [{"loc": ["body", "field"], "msg": "...", "type": "..."}]}`. A spent quota comes as 401
with status `quota_exceeded`: billing, not the key, so it is neither authentication_failed nor retried.

The SDK and httpx are imported inside the functions (they are loaded by the time an error of theirs exists), so
importing this module on the event loop loads no SDK.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, Final

from mediagen.adapters.calls import generation_timeout
from mediagen.adapters.elevenlabs.spec import BACKEND
from mediagen.adapters.retry_after import retry_after_seconds
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

_KEY_HINT = "check ELEVENLABS_API_KEY"
#: `text` without the key, and without anything shaped like an ElevenLabs key: sk_ followed by hex (newer keys), or
#: 32 hex characters (older ones).
scrub: Final = KeyScrubber(r"\bsk_[A-Za-z0-9]{8,}|\b[a-f0-9]{32}\b")
_QUOTA = frozenset({"quota_exceeded", "payment_required", "insufficient_credits", "credits_exhausted"})
_POLICY = frozenset(
    {"bad_prompt", "content_policy_violation", "voice_not_allowed", "safety_violation", "terms_violation"}
)
#: Body fields whose 422 is really about mediagen's request fields, so the error names what the caller set.
_OUR_FIELD = {
    "text": "prompt",
    "prompt": "prompt",
    "voice_description": "prompt",
    "music_length_ms": "duration",
    "duration_seconds": "duration",
    "output_format": "audio_format",
    "target_lang": "language",
    "language_code": "language",
    "seed": "seed",
    "model_id": "model",
    "voice_id": "voice",
    "audio": "input_audio",
    "file": "input_audio",
    "files": "input_audio",
}


def _detail(body: Any) -> tuple[str, str, list[tuple[str, str]]]:
    """(status, message, [(field, problem), ...]) from an ElevenLabs error body of either shape."""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return "", body.strip()[:500], []
    detail = body.get("detail", body) if isinstance(body, Mapping) else body
    if isinstance(detail, Mapping):
        return str(detail.get("status") or detail.get("code") or ""), str(detail.get("message") or ""), []
    if isinstance(detail, list):
        problems = []
        for item in detail:
            if isinstance(item, Mapping):
                loc = [str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path")]
                problems.append((".".join(loc), str(item.get("msg") or item.get("message") or "invalid")))
        return "validation_error", "; ".join(f"{f}: {m}" if f else m for f, m in problems), problems
    return "", str(detail)[:500] if detail is not None else "", []


def _status_error(status: int, headers: Mapping[str, str] | None, body: Any, secret: Secret | None) -> MediaGenError:
    code, raw_message, problems = _detail(body)
    message = scrub(raw_message or "no message", secret)
    said = f"ElevenLabs error {status}{f' ({code})' if code else ''}: {message}"
    if code in _QUOTA or status == 402:
        return BackendError(
            f"ElevenLabs quota exceeded: {message}; add credits or upgrade the plan (not retried)",
            backend=BACKEND,
            status=status,
        )
    if status in (401, 403):
        return AuthenticationFailed(
            f"ElevenLabs refused the request ({status}): {message}; {_KEY_HINT}", backend=BACKEND, status=status
        )
    if status == 429:
        return RateLimited(
            f"{said}; wait and retry, or lower the concurrency",
            backend=BACKEND,
            retry_after=retry_after_seconds(headers),
        )
    if status == 422 and problems:
        vendor_field, problem = problems[0]
        top = vendor_field.split(".", 1)[0]
        ours = _OUR_FIELD.get(top)
        field = ours if ours is not None else f"extra.{top}" if top else None
        where = f" ({vendor_field})" if vendor_field else ""
        return InvalidRequest(f"ElevenLabs refused it{where}: {scrub(problem, secret)}", field=field)
    if status in (408, 409) or status >= 500:
        return TransientBackendError(f"{said}; retrying usually helps", backend=BACKEND, status=status)
    if code == "voice_not_found":
        return InvalidRequest(f"ElevenLabs has no such voice: {message}", field="voice")
    if code in _POLICY:
        return ContentRejected(f"ElevenLabs refused the request: {message}", backend=BACKEND, status=status)
    if status == 422:
        return InvalidRequest(f"ElevenLabs refused the request: {message}")
    return BackendError(said, backend=BACKEND, status=status)


def translate_elevenlabs_error(exc: BaseException, *, secret: Secret | None = None) -> MediaGenError:
    """The mediagen error for a failure of an elevenlabs SDK call (HTTP status, transport, malformed answer)."""
    if isinstance(exc, MediaGenError):
        return exc
    import httpx
    import pydantic
    from elevenlabs.core.api_error import ApiError

    if isinstance(exc, ApiError):
        status = exc.status_code if isinstance(exc.status_code, int) else 0
        return _status_error(status, exc.headers, exc.body, secret)
    if isinstance(exc, httpx.TimeoutException):
        return TransientBackendError("ElevenLabs did not answer in time (request timeout); retrying usually helps",
                                     backend=BACKEND)  # fmt: skip
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        # Not the exception's name: it is RemoteProtocolError over httpx's transport, ReadError over aiohttp's.
        return TransientBackendError(
            "the answer from ElevenLabs was cut short (the connection closed before its end); retrying usually helps",
            backend=BACKEND,
        )
    if isinstance(exc, httpx.TransportError):
        return TransientBackendError(
            f"could not reach ElevenLabs: {scrub(str(exc), secret) or type(exc).__name__}", backend=BACKEND
        )
    if isinstance(exc, (json.JSONDecodeError, pydantic.ValidationError)):
        return TransientBackendError(
            f"ElevenLabs sent a malformed answer ({type(exc).__name__}); retrying usually helps", backend=BACKEND
        )
    if isinstance(exc, asyncio.TimeoutError):
        return TransientBackendError("ElevenLabs did not answer in time; retrying usually helps", backend=BACKEND)
    return BackendError(f"the elevenlabs SDK failed: {type(exc).__name__}: {scrub(str(exc), secret)}", backend=BACKEND)


def timeout_error(seconds: float, *, job_id: str | None = None) -> GenerationTimeout:
    """The overall timeout passed; a dubbing job keeps running and can be resumed by its id."""
    return generation_timeout("ElevenLabs", seconds, backend=BACKEND, job="dubbing", job_id=job_id)
