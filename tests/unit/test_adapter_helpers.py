"""The helpers adapters share: Retry-After, key scrubbing, the openai SDK's transport failures, the model check."""

from __future__ import annotations

import asyncio
import email.utils
import json

import httpx2
import openai
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediagen.adapters.calls import model_for
from mediagen.adapters.openai.spec import SPEC as OPENAI
from mediagen.adapters.openai_sdk_errors import translate_transport_failure
from mediagen.adapters.retry_after import retry_after_seconds
from mediagen.adapters.scrubbing import KeyScrubber
from mediagen.domain.errors import BackendError, InvalidRequest, TransientBackendError
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret

KEY = "sk-proj-abcdefghijklmnop"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        (httpx2.Headers({"Retry-After": "7"}), 7.0),
        ({"Retry-After": "7"}, 7.0),  # a plain dict that kept the server's capitalisation
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-3"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_is_read_from_any_sdks_headers(headers: dict[str, str] | None, seconds: float | None) -> None:
    assert retry_after_seconds(headers) == seconds


def test_retry_after_as_an_http_date_is_the_wait_until_then() -> None:
    when = email.utils.formatdate(1_000_030.0, usegmt=True)
    assert retry_after_seconds({"Retry-After": when}, now=1_000_000.0) == 30.0


@given(text=st.text(max_size=80))
def test_a_scrubbed_text_never_holds_the_key(text: str) -> None:
    scrub = KeyScrubber(r"\bsk-[A-Za-z0-9_*\-]{6,}")
    assert KEY not in scrub(text + KEY + text, Secret(KEY))
    assert KEY not in scrub(f"{text} {KEY}")  # shaped like a key, even when the key in use is not known


def _request() -> httpx2.Request:
    return httpx2.Request("POST", "https://vendor.example/v1/images")


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (openai.APITimeoutError(request=_request()), "did not answer in time"),
        (openai.APIConnectionError(request=_request()), "could not reach Vendor"),
        (httpx2.RemoteProtocolError("peer closed"), "was cut short"),
        (httpx2.ConnectError(f"refused for {KEY}"), "could not reach Vendor"),
        (json.JSONDecodeError("bad", "{", 0), "malformed answer"),
        (asyncio.TimeoutError(), "did not answer in time"),
    ],
)
def test_a_transport_failure_is_transient_and_names_the_vendor(exc: BaseException, words: str) -> None:
    error = translate_transport_failure(
        exc, vendor="Vendor", backend="vendor", scrub=KeyScrubber(r"\bsk-[A-Za-z0-9_\-]{6,}"), secret=Secret(KEY)
    )
    assert isinstance(error, TransientBackendError)
    assert words in error.message and KEY not in error.message and error.backend == "vendor"


def test_any_other_sdk_failure_is_a_backend_error_without_the_key() -> None:
    error = translate_transport_failure(
        ValueError(f"odd state with {KEY}"),
        vendor="Vendor",
        backend="vendor",
        scrub=KeyScrubber(r"$^"),
        secret=Secret(KEY),
    )
    assert type(error) is BackendError and not error.retryable and KEY not in error.message


def test_a_model_of_another_media_type_is_refused_naming_the_field() -> None:
    request = MediaRequest(media_type="video", prompt="waves")
    with pytest.raises(InvalidRequest, match=r"gpt-image-1\.5 makes image, not video") as caught:
        model_for(OPENAI, request, "gpt-image-1.5")
    assert caught.value.field == "model"
    assert model_for(OPENAI, request, "a-model-not-listed-yet") is None
