"""The google-genai clients: one per API mode (see modes.py), built lazily, reused by every call, closed in aclose."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from google import genai
from google.genai import types

from mediagen.adapters.google.modes import MODE_TABLE, Mode
from mediagen.domain.errors import ConfigurationError
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions

#: The vendor's endpoints, as google-genai 3.6 picks them for an API key in each mode.
GEMINI_API_URL = "https://generativelanguage.googleapis.com/"
VERTEX_EXPRESS_URL = "https://aiplatform.googleapis.com/"


def _text(extra: Mapping[str, Any], name: str) -> str | None:
    value = extra.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"backends.google.extra.{name} must be a non-empty string, not {value!r}", key=name)
    return value.strip()


def _number(extra: Mapping[str, Any], name: str, default: float | None, *, minimum: float = 0.0) -> float | None:
    value = extra.get(name, default)
    if value is None:
        return None
    try:
        number = float(value)
        valid = not isinstance(value, bool) and number > minimum
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ConfigurationError(
            f"backends.google.extra.{name} must be a number above {minimum:g}, not {value!r}", key=name
        )
    return number


def _whole(extra: Mapping[str, Any], name: str, default: int) -> int:
    number = _number(extra, name, default, minimum=0)
    assert number is not None
    if number != int(number):
        raise ConfigurationError(f"backends.google.extra.{name} must be a whole number, not {number!r}", key=name)
    return int(number)


@attrs.frozen(kw_only=True)
class GoogleSettings:
    """What `backends.google` settings may set (base_url and these extras), checked when the generator is built."""

    base_url: str | None = None
    #: Vertex endpoint when it differs from base_url (base_url serves both modes otherwise, as the sandbox does).
    vertex_base_url: str | None = None
    vertex_project: str | None = None
    vertex_location: str | None = None
    #: Seconds one HTTP call may take (None: only the overall generation timeout applies).
    request_timeout: float | None = None
    #: Veo polling: first wait, growth factor and longest wait between polls, in seconds.
    poll_interval: float = 5.0
    poll_backoff: float = 1.5
    poll_max_interval: float = 30.0
    #: Bounds of a Gemini chat kept as continuation state.
    max_history_turns: int = 8
    max_history_bytes: int = 32 * 1024 * 1024
    #: A Veo video returned inline is kept for extension only up to this size.
    max_continuation_video_bytes: int = 64 * 1024 * 1024

    @classmethod
    def from_options(cls, options: BackendOptions) -> GoogleSettings:
        extra = options.extra
        poll_interval = _number(extra, "poll_interval", 5.0)
        poll_max = _number(extra, "poll_max_interval", max(30.0, poll_interval or 0.0))
        backoff = _number(extra, "poll_backoff", 1.5, minimum=1.0 - 1e-9)
        assert poll_interval is not None and poll_max is not None and backoff is not None
        return cls(
            base_url=options.base_url,
            vertex_base_url=_text(extra, "vertex_base_url"),
            vertex_project=_text(extra, "vertex_project"),
            vertex_location=_text(extra, "vertex_location"),
            request_timeout=_number(extra, "request_timeout", None),
            poll_interval=poll_interval,
            poll_backoff=backoff,
            poll_max_interval=max(poll_max, poll_interval),
            max_history_turns=max(_whole(extra, "max_history_turns", 8), 1),
            max_history_bytes=max(_whole(extra, "max_history_bytes", 32 * 1024 * 1024), 1),
            max_continuation_video_bytes=_whole(extra, "max_continuation_video_bytes", 64 * 1024 * 1024),
        )


class GoogleClients:
    """Builds one genai.Client per (mode, key) on first use and hands out its async side (`client.aio`)."""

    def __init__(self, settings: GoogleSettings) -> None:
        self._settings = settings
        self._clients: dict[tuple[Mode, Secret], genai.Client] = {}

    def for_call(self, call: str, key: Secret) -> Any:
        """`client.aio` of the mode MODE_TABLE names for `call` (an AsyncClient; typed Any as the SDK's is loose)."""
        return self.client(MODE_TABLE[call].mode, key).aio

    def client(self, mode: Mode, key: Secret) -> genai.Client:
        found = self._clients.get((mode, key))
        if found is None:
            found = self._build(mode, key)
            self._clients[(mode, key)] = found
        return found

    def _http_options(self, base_url: str | None) -> types.HttpOptions:
        timeout = self._settings.request_timeout
        return types.HttpOptions(
            base_url=base_url,
            timeout=None if timeout is None else int(timeout * 1000),
            # No SDK-level retries: the service retries transient errors with its own policy.
            retry_options=None,
        )

    def _build(self, mode: Mode, key: Secret) -> genai.Client:
        # Base URLs are always passed (the vendor's when none is set), so the SDK never reads
        # GOOGLE_GEMINI_BASE_URL / GOOGLE_VERTEX_BASE_URL itself: endpoints come from settings only.
        settings = self._settings
        if mode is Mode.GEMINI:
            http_options = self._http_options(settings.base_url or GEMINI_API_URL)
            return genai.Client(vertexai=False, api_key=key.reveal(), http_options=http_options)
        if settings.vertex_project is not None:
            # Full Vertex: the SDK derives the regional endpoint from the location unless one is configured.
            return genai.Client(
                vertexai=True,
                project=settings.vertex_project,
                location=settings.vertex_location or "global",
                http_options=self._http_options(settings.vertex_base_url or settings.base_url),
            )
        http_options = self._http_options(settings.vertex_base_url or settings.base_url or VERTEX_EXPRESS_URL)
        return genai.Client(vertexai=True, api_key=key.reveal(), http_options=http_options)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aio.aclose()
            client.close()
