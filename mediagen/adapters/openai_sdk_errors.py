"""What a failed call through the openai SDK means when it is no HTTP status: shared by the adapters that speak
through that SDK (OpenAI itself, OpenRouter), each of which reads the statuses of its own vendor."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from mediagen.domain.errors import BackendError, MediaGenError, TransientBackendError
from mediagen.domain.secret import Secret


def translate_transport_failure(
    exc: BaseException,
    *,
    vendor: str,
    backend: str,
    scrub: Callable[[str, Secret | None], str],
    secret: Secret | None,
) -> MediaGenError:
    """The error for an openai SDK call to `vendor` that failed without an HTTP status: no answer in time, no
    connection, an answer cut short or malformed (all transient), else the SDK's own failure. Every text the
    exception carries is scrubbed of the key first."""
    import httpx2
    import openai

    if isinstance(exc, (openai.APITimeoutError, httpx2.TimeoutException)):
        return TransientBackendError(
            f"{vendor} did not answer in time (request timeout); retrying usually helps", backend=backend
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        detail = scrub(str(cause), secret) if cause is not None and str(cause) else exc.message
        return TransientBackendError(f"could not reach {vendor}: {detail}", backend=backend)
    if isinstance(exc, (httpx2.RemoteProtocolError, httpx2.ReadError)):
        return TransientBackendError(
            f"the answer from {vendor} was cut short ({type(exc).__name__}); retrying usually helps", backend=backend
        )
    if isinstance(exc, httpx2.TransportError):
        return TransientBackendError(
            f"could not reach {vendor}: {scrub(str(exc), secret) or type(exc).__name__}", backend=backend
        )
    if isinstance(exc, (json.JSONDecodeError, openai.APIResponseValidationError)):
        return TransientBackendError(
            f"{vendor} sent a malformed answer ({type(exc).__name__}); retrying usually helps", backend=backend
        )
    if isinstance(exc, asyncio.TimeoutError):
        return TransientBackendError(f"{vendor} did not answer in time; retrying usually helps", backend=backend)
    return BackendError(f"the openai SDK failed: {type(exc).__name__}: {scrub(str(exc), secret)}", backend=backend)
