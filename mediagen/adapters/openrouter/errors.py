"""translate_error: every failure of a call to OpenRouter becomes one typed mediagen error, here and only here.

OpenRouter answers errors as `{"error": {"code": N, "message": "...", "metadata": {...}}}` with N as the HTTP
status (https://openrouter.ai/docs/api/reference/errors-and-debugging): 400 bad request, 401 bad key, 402 no
credits, 403 moderation (metadata: reasons, flagged_input, provider_name, model_slug), 408 timeout, 429 rate limit
(Retry-After), 502 model down, 503 no provider. An error after the model started comes in a 200 answer's
`error` (or `choices[0].error`), same shape.

The openai SDK is imported inside the functions: this module is imported on the event loop, the SDK is not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from mediagen.adapters.openai_sdk_errors import translate_transport_failure
from mediagen.adapters.openrouter.mapping import BACKEND, quoted
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

KEY_HINT: Final = "check OPENROUTER_API_KEY (https://openrouter.ai/settings/keys)"
CREDITS_URL: Final = "https://openrouter.ai/settings/credits"
#: `text` without the key, and without anything shaped like an OpenRouter key (sk-or-v1-...) or another sk- key.
scrub: Final = KeyScrubber(r"\bsk-[A-Za-z0-9_*\-]{6,}")
_MODERATION_WORDS = re.compile(r"moderation|flagged", re.IGNORECASE)


def _reasons(metadata: Mapping[str, Any]) -> str:
    reasons = metadata.get("reasons")
    listed = ", ".join(str(r) for r in reasons) if isinstance(reasons, list) else ""
    flagged = metadata.get("flagged_input")
    parts = [f"reasons: {listed}" if listed else "", f"flagged: {quoted(str(flagged), 120)!r}" if flagged else ""]
    provider = metadata.get("provider_name")
    if provider:
        parts.append(f"by {provider}'s moderation")
    return "; ".join(p for p in parts if p)


def error_from_body(
    status: int, error: Mapping[str, Any] | None, *, headers: Mapping[str, str] | None = None, secret: Secret | None
) -> MediaGenError:
    """The mediagen error for OpenRouter's `error` object (or a body without one) answered with `status`."""
    error = error or {}
    message = scrub(str(error.get("message") or "no message"), secret)
    metadata = error.get("metadata") if isinstance(error.get("metadata"), Mapping) else {}
    assert isinstance(metadata, Mapping)
    raw = metadata.get("raw")
    provider = metadata.get("provider_name")
    detail = message
    if raw and str(raw) not in message:
        detail += f" ({'from ' + str(provider) + ': ' if provider else ''}{quoted(scrub(str(raw), secret), 200)})"
    said = f"OpenRouter error {status}: {detail}"
    if status == 401:
        return AuthenticationFailed(f"OpenRouter refused the key ({status}): {message}; {KEY_HINT}", backend=BACKEND)
    if status == 402:
        # Billing, not pace: waiting does not help, so this is a plain BackendError the service does not retry.
        return BackendError(
            f"OpenRouter says the account or key has insufficient credits ({status}): {message}; "
            f"add credits at {CREDITS_URL} (not retried)",
            backend=BACKEND,
            status=status,
        )
    if status == 403 and (
        metadata.get("reasons") or metadata.get("flagged_input") or _MODERATION_WORDS.search(message)
    ):
        why = _reasons(metadata)
        return ContentRejected(
            f"OpenRouter's moderation refused the input: {message}{f' ({why})' if why else ''}; rephrase the prompt",
            backend=BACKEND,
            status=status,
        )
    if status == 429:
        return RateLimited(
            f"{said}; wait and retry, or lower the concurrency",
            backend=BACKEND,
            retry_after=retry_after_seconds(headers),
        )
    if status in (408, 409) or status >= 500:
        return TransientBackendError(f"{said}; retrying usually helps", backend=BACKEND, status=status)
    if status == 400:
        field = "model" if "model" in message.lower() else None
        return InvalidRequest(f"OpenRouter refused the request (400): {detail}", field=field)
    if status == 403:
        return BackendError(f"OpenRouter refused the request (403): {detail}; {KEY_HINT}", backend=BACKEND, status=403)
    return BackendError(said, backend=BACKEND, status=status)


def _code_of(error: Mapping[str, Any], default: int) -> int:
    code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if isinstance(code, str) and code.isdigit():
        return int(code)
    return default


def translate_error(exc: BaseException, *, secret: Secret | None = None) -> MediaGenError:
    """The mediagen error for a failed openai SDK call to OpenRouter (HTTP status, transport, malformed answer)."""
    if isinstance(exc, MediaGenError):
        return exc
    import openai

    if isinstance(exc, openai.APIStatusError):
        body = exc.body  # the SDK hands over the `error` object of the JSON body
        error = body if isinstance(body, Mapping) else {"message": str(body)[:500] if body else exc.message}
        return error_from_body(exc.status_code, error, headers=exc.response.headers, secret=secret)
    return translate_transport_failure(exc, vendor="OpenRouter", backend=BACKEND, scrub=scrub, secret=secret)


def answer_error(error: Mapping[str, Any], *, secret: Secret | None) -> MediaGenError:
    """An error OpenRouter put in a 200 answer (the model failed after it started), by its own code."""
    return error_from_body(_code_of(error, 502), error, secret=secret)


def timeout_error(seconds: float) -> GenerationTimeout:
    return GenerationTimeout(
        f"OpenRouter produced no image within {seconds:.1f} s; raise the timeout or try a faster model",
        backend=BACKEND,
    )
