"""One AsyncOpenAI per generator, pointed at OpenRouter, built once in a worker thread; calls under a deadline.

Importing openai (~0.3 s) and building its client (certificates, ~17 ms) would block the event loop, so both happen
in `asyncio.to_thread`, once: concurrent first calls wait for the same build under a lock. The service retries, so
the SDK's own retries are off (max_retries=0).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from mediagen.adapters.calls import translated_call
from mediagen.adapters.extras import ExtraReader
from mediagen.adapters.openrouter.errors import timeout_error, translate_error
from mediagen.adapters.openrouter.mapping import BACKEND
from mediagen.adapters.openrouter.spec import API_BASE_URL
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import BackendError, ConfigurationError
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncOpenAI

T = TypeVar("T")

#: Largest image mediagen takes from OpenRouter (a data URL or a fetched URL), by default.
DEFAULT_MAX_IMAGE_BYTES: Final = 64 * 1024 * 1024


def _header_value(read: ExtraReader, name: str) -> str | None:
    value = read.text(name)
    if value is not None and (any(ord(c) < 32 or ord(c) == 127 for c in value) or not value.isascii()):
        raise ConfigurationError(
            f"backends.{BACKEND}.extra.{name} must be plain ASCII text on one line (it is sent as a header)", key=name
        )
    return value


#: Job-polling extras other backends take; accepted (and checked as numbers) so one sandbox setting fits all.
_POLL_KEYS = ("poll_interval", "poll_max_interval")


@attrs.frozen(kw_only=True)
class OpenRouterSettings:
    """What `backends.openrouter` settings may set: base_url and these extras, checked when the generator is built."""

    base_url: str | None = None
    #: App attribution (https://openrouter.ai/docs/app-attribution): your site's URL, sent as HTTP-Referer.
    http_referer: str | None = None
    #: App attribution: your app's name, sent as X-Title. Neither is sent unless set.
    x_title: str | None = None
    #: Seconds one HTTP call may take (None: the SDK's default; the overall generation timeout always applies).
    request_timeout: float | None = None
    #: Largest image taken from an answer (data URL or fetched URL); larger is a BackendError, never a file.
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    #: Bounds of a conversation kept as continuation state: turns, and bytes of JSON (images included).
    max_history_turns: int = 8
    max_history_bytes: int = 32 * 1024 * 1024

    @classmethod
    def from_options(cls, options: BackendOptions) -> OpenRouterSettings:
        read = ExtraReader(BACKEND, options.extra)
        # poll_interval and poll_max_interval: sandbox mode (and `mediagen sandbox`'s printout) gives every faked
        # backend both, for video jobs; OpenRouter images come back in one call, so they are accepted unused.
        read.reject_unknown((attrs.fields_dict(cls).keys() - {"base_url"}) | set(_POLL_KEYS))
        for key in _POLL_KEYS:
            read.optional_number(key)
        return cls(
            base_url=options.base_url,
            http_referer=_header_value(read, "http_referer"),
            x_title=_header_value(read, "x_title"),
            request_timeout=read.optional_number("request_timeout"),
            max_image_bytes=read.whole("max_image_bytes", DEFAULT_MAX_IMAGE_BYTES),
            max_history_turns=read.whole("max_history_turns", 8),
            max_history_bytes=read.whole("max_history_bytes", 32 * 1024 * 1024),
        )

    def headers(self, key: Secret) -> dict[str, str]:
        """Every header mediagen adds: the key, and the attribution headers that are set."""
        headers = {"Authorization": f"Bearer {key.reveal()}"}
        if self.http_referer is not None:
            headers["HTTP-Referer"] = self.http_referer
        if self.x_title is not None:
            headers["X-Title"] = self.x_title
        return headers


class OpenRouterClients:
    """The generator's AsyncOpenAI (rebuilt only if the key changes) and a plain client for image URLs."""

    def __init__(self, settings: OpenRouterSettings) -> None:
        self._settings = settings
        self._lock = asyncio.Lock()
        self._client: AsyncOpenAI | None = None
        self._key: Secret | None = None
        self._retired: list[AsyncOpenAI] = []
        self._plain: httpx2.AsyncClient | None = None
        self.built = 0

    async def get(self, key: Secret) -> AsyncOpenAI:
        """The client for `key`, built in a worker thread on first use; concurrent callers share one build. A
        client for an old key is closed in aclose, not now, since a call may still be using it."""
        client = self._client
        if client is not None and self._key == key:
            return client
        async with self._lock:
            if self._client is None or self._key != key:
                built = await asyncio.to_thread(self._build, key)
                if self._client is not None:
                    self._retired.append(self._client)
                self._client, self._key = built, key
                self.built += 1
            return self._client

    def _build(self, key: Secret) -> AsyncOpenAI:
        from openai import AsyncOpenAI, DefaultAioHttpClient

        settings = self._settings
        headers = settings.headers(key)
        kwargs: dict[str, Any] = {
            "api_key": key.reveal(),
            # Always passed, so OPENAI_BASE_URL never sends OpenRouter's key elsewhere.
            "base_url": settings.base_url or API_BASE_URL,
            "max_retries": 0,
            "default_headers": headers,
        }
        # The SDK's own aiohttp transport (aiohttp is a dependency anyway): about a quarter less event-loop time per
        # call than its default httpx2 transport (benchmarks/openrouter.py); the SDK closes it with the client.
        if settings.request_timeout is not None:
            kwargs["timeout"] = settings.request_timeout
            kwargs["http_client"] = DefaultAioHttpClient(timeout=settings.request_timeout)
        else:
            kwargs["http_client"] = DefaultAioHttpClient()
        client = AsyncOpenAI(**kwargs)
        # AsyncOpenAI reads OPENAI_ORG_ID, OPENAI_PROJECT_ID, OPENAI_ADMIN_KEY, OPENAI_WEBHOOK_SECRET and
        # OPENAI_CUSTOM_HEADERS from the environment when not given (openai/lib/_client_auth.py): OpenAI's own
        # settings, which must never reach OpenRouter. Organization and project would go out as OpenAI-Organization
        # and OpenAI-Project headers, and every OPENAI_CUSTOM_HEADERS line as a header (our explicit headers win only
        # by name), so each is reset here: OpenRouter gets the key and the attribution headers, nothing else.
        client.organization = None
        client.project = None
        client.admin_api_key = None
        client.webhook_secret = None
        client._custom_headers = headers
        # The SDK imports an API's module on its first use (the model list's here; an image turn posts through
        # `client.post` and needs no API module), and its transport imports anyio's asyncio backend on the first
        # request: both here, in this worker thread, not in the first call, on the loop.
        _ = client.models
        importlib.import_module("anyio._backends._asyncio")
        return client

    async def plain(self) -> httpx2.AsyncClient:
        """A client without the API key, for image URLs OpenRouter returns (they point at other hosts)."""
        plain = self._plain
        if plain is not None:
            return plain
        async with self._lock:
            if self._plain is None:
                timeout = self._settings.request_timeout if self._settings.request_timeout is not None else 120.0
                self._plain = await asyncio.to_thread(_plain_client, timeout)
            return self._plain

    async def aclose(self) -> None:
        clients = [*self._retired, *([self._client] if self._client is not None else [])]
        self._client, self._key, self._retired = None, None, []
        plain, self._plain = self._plain, None
        for client in clients:
            await client.close()
        if plain is not None:
            await plain.aclose()


def _plain_client(timeout: float) -> httpx2.AsyncClient:
    import httpx2

    return httpx2.AsyncClient(timeout=timeout, follow_redirects=True)


async def vendor_call(awaitable: Awaitable[T], *, deadline: Deadline, secret: Secret) -> T:
    """Await one call; vendor errors become MediaGenErrors, running past the deadline GenerationTimeout."""
    return await translated_call(
        awaitable,
        deadline=deadline,
        translate=lambda exc: translate_error(exc, secret=secret),
        timed_out=lambda: timeout_error(deadline.seconds),
    )


async def fetch_image(clients: OpenRouterClients, url: str, *, limit: int, deadline: Deadline, secret: Secret) -> bytes:
    """GET an image URL at once (they expire), streamed, refusing more than `limit` bytes; no key is sent."""
    if not url.lower().startswith(("http://", "https://")):
        raise BackendError(f"OpenRouter answered an image URL mediagen cannot fetch: {url[:80]!r}", backend=BACKEND)
    plain = await clients.plain()

    async def fetch() -> bytes:
        async with plain.stream("GET", url) as response:
            if response.status_code >= 400:
                raise BackendError(
                    f"the image URL OpenRouter returned answered {response.status_code} (image URLs expire); "
                    "generate again",
                    backend=BACKEND,
                    status=response.status_code,
                )
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise _too_large(int(declared), limit)
            chunks: list[bytes] = []
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > limit:
                    raise _too_large(received, limit)
                chunks.append(chunk)
            return b"".join(chunks)

    return await vendor_call(fetch(), deadline=deadline, secret=secret)


def _too_large(size: int, limit: int) -> BackendError:
    return BackendError(
        f"OpenRouter's image is larger than {limit} bytes (at least {size}); raise "
        f"backends.{BACKEND}.extra.max_image_bytes to take it",
        backend=BACKEND,
    )
