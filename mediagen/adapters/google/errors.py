"""translate_google_error: every google-genai and transport failure becomes one typed mediagen error, once."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
from google.genai import errors as genai_errors

from mediagen.adapters.calls import generation_timeout
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

BACKEND = "google"
_KEY_HINT = "check GOOGLE_API_KEY or GEMINI_API_KEY (the first one set is used)"
#: Words in a 400 answer that mean a safety/policy refusal rather than a malformed request (Imagen, Veo).
_POLICY_WORDS = re.compile(
    r"safety|responsible ai|\brai\b|sensitive words|prohibited|violat|usage guidelines|blocked", re.IGNORECASE
)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")
#: `text` without the key, and without anything that looks like a `key=` query value.
redact: Final = KeyScrubber(r"(?<=key=)[A-Za-z0-9_\-]{8,}")


def _retry_after(exc: genai_errors.APIError) -> float | None:
    """Retry-After header seconds, else google.rpc.RetryInfo.retryDelay ("30s") from the error details."""
    headers: Any = getattr(exc.response, "headers", None)
    if headers is not None:
        value = headers.get("Retry-After") if hasattr(headers, "get") else None
        if value is not None:
            try:
                seconds = float(value)
            except ValueError:
                seconds = -1.0
            if seconds >= 0:
                return seconds
    details = exc.details
    error = details.get("error", details) if isinstance(details, Mapping) else None
    items = error.get("details") if isinstance(error, Mapping) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and str(item.get("@type", "")).endswith("RetryInfo"):
            match = _DURATION.match(str(item.get("retryDelay", "")))
            if match:
                return float(match[1])
    return None


def _api_error(exc: genai_errors.APIError, secret: Secret | None) -> MediaGenError:
    code = exc.code
    status = exc.status or ""
    message = redact(str(exc.message or exc.details or "no message"), secret)
    said = f"Google API error {code}{f' {status}' if status else ''}: {message}"
    # The Gemini API answers a wrong key with 400 INVALID_ARGUMENT and reason API_KEY_INVALID, not 401.
    key_invalid = "API_KEY_INVALID" in json.dumps(exc.details, default=str) or "API key not valid" in message
    if code in (401, 403) or status in ("UNAUTHENTICATED", "PERMISSION_DENIED") or key_invalid:
        return AuthenticationFailed(
            f"Google refused the API key ({code} {status}): {message}; {_KEY_HINT}", backend=BACKEND, status=code
        )
    if code == 429 or status == "RESOURCE_EXHAUSTED":
        return RateLimited(
            f"{said}; wait and retry, or lower the concurrency", backend=BACKEND, retry_after=_retry_after(exc)
        )
    if code in (408, 499) or code >= 500:
        return TransientBackendError(f"{said}; retrying usually helps", backend=BACKEND, status=code)
    if code == 400 and _POLICY_WORDS.search(message):
        return ContentRejected(f"Google's safety filters refused the request: {message}", backend=BACKEND, status=code)
    return BackendError(said, backend=BACKEND, status=code)


def translate_google_error(exc: BaseException, *, secret: Secret | None = None) -> MediaGenError:
    """The mediagen error for a failure raised by a google-genai call (HTTP status, transport, malformed answer)."""
    if isinstance(exc, MediaGenError):
        return exc
    if isinstance(exc, genai_errors.APIError):
        return _api_error(exc, secret)
    if isinstance(exc, asyncio.TimeoutError):
        return TransientBackendError(
            "Google did not answer in time (request timeout); retrying usually helps", backend=BACKEND
        )
    if isinstance(exc, aiohttp.ClientPayloadError):
        return TransientBackendError(
            f"the download from Google was cut short: {redact(str(exc), secret)}", backend=BACKEND
        )
    if isinstance(exc, aiohttp.ClientProxyConnectionError):  # the host and port only: no proxy credentials
        return TransientBackendError(
            f"could not reach the proxy {exc.host}:{exc.port} that HTTPS_PROXY or HTTP_PROXY sets for Google "
            f"({exc.os_error.strerror or type(exc.os_error).__name__}); fix that variable, or name Google's host in "
            "NO_PROXY to connect directly",
            backend=BACKEND,
        )
    if isinstance(exc, aiohttp.ClientHttpProxyError):  # the proxy answered the tunnel's CONNECT with an error
        proxy = exc.request_info.real_url  # named by host and port only: the URL may hold its credentials
        said = f"the proxy {proxy.host}:{proxy.port} that HTTPS_PROXY sets for Google answered {exc.status}"
        said += f" {exc.message}" if exc.message else ""
        if exc.status >= 500:
            return TransientBackendError(f"{said}; retrying usually helps", backend=BACKEND)
        fix = (
            "check the proxy's user and password (in the variable's URL or ~/.netrc)"
            if exc.status == 407
            else "check that variable, or name Google's host in NO_PROXY to connect directly"
        )
        return BackendError(f"{said}; {fix}", backend=BACKEND)
    if isinstance(exc, (aiohttp.ClientError, ConnectionError)):
        return TransientBackendError(
            f"could not reach Google: {redact(str(exc), secret) or type(exc).__name__}", backend=BACKEND
        )
    if isinstance(exc, (json.JSONDecodeError, genai_errors.UnknownApiResponseError)):
        return TransientBackendError(
            f"Google sent a malformed answer ({type(exc).__name__}); retrying usually helps", backend=BACKEND
        )
    return BackendError(f"google-genai failed: {type(exc).__name__}: {redact(str(exc), secret)}", backend=BACKEND)


def timeout_error(seconds: float, *, job_id: str | None = None) -> GenerationTimeout:
    """The overall timeout passed; a Veo operation keeps running and can be resumed by its name."""
    return generation_timeout("Google", seconds, backend=BACKEND, job="Veo operation", job_id=job_id)
