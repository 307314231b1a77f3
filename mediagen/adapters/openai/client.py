"""One AsyncOpenAI per generator, built lazily, reused by every call, closed in aclose; calls run under a deadline.

Building a client loads certificates (~17 ms, 50 ms and more on a busy machine), so it is built once per key, in a
worker thread (`prepare`), never on the event loop. The service retries, so the SDK's own retries are off
(max_retries=0).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import attrs
import httpx2
from openai import AsyncOpenAI

from mediagen.adapters.calls import translated_call
from mediagen.adapters.extras import ExtraReader
from mediagen.adapters.openai.errors import BACKEND, timeout_error, translate_openai_error
from mediagen.adapters.openai.spec import API_BASE_URL, Api
from mediagen.adapters.streams import ChunkStream
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import TransientBackendError
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class OpenAISettings:
    """What `backends.openai` settings may set: base_url and these extras, checked when the generator is built."""

    base_url: str | None = None
    organization: str | None = None
    project: str | None = None
    #: Seconds one HTTP call may take (None: the SDK's default; the overall generation timeout always applies).
    request_timeout: float | None = None
    #: Sora polling when the API gives no openai-poll-after-ms hint: first wait, growth, longest wait (seconds).
    poll_interval: float = 2.0
    poll_backoff: float = 1.5
    poll_max_interval: float = 20.0

    @classmethod
    def from_options(cls, options: BackendOptions) -> OpenAISettings:
        read = ExtraReader("openai", options.extra)
        read.reject_unknown(attrs.fields_dict(cls).keys() - {"base_url"})
        interval = read.number("poll_interval", 2.0)
        return cls(
            base_url=options.base_url,
            organization=read.text("organization"),
            project=read.text("project"),
            request_timeout=read.optional_number("request_timeout"),
            poll_interval=interval,
            poll_backoff=read.number("poll_backoff", 1.5, above=1.0 - 1e-9),
            poll_max_interval=max(read.number("poll_max_interval", 20.0), interval),
        )


#: The client attribute each API's calls go through. The SDK imports an API's module on first access to it (~55 ms
#: for responses, ~17 ms for the others together): `prepare` loads the ones a call names, in a worker thread.
API_AREAS = {Api.RESPONSES: "responses", Api.IMAGES: "images", Api.VIDEOS: "videos", Api.SPEECH: "audio.speech"}


def _touch(client: AsyncOpenAI, areas: list[str]) -> None:
    """Access each area's attribute, which imports its module (blocking: in a worker thread)."""
    for area in areas:
        target: object = client
        for name in area.split("."):
            target = getattr(target, name)


class OpenAIClients:
    """The generator's AsyncOpenAI (rebuilt only if the key changes) and a plain client for image URLs."""

    def __init__(self, settings: OpenAISettings) -> None:
        self._settings = settings
        self._client: AsyncOpenAI | None = None
        self._key: Secret | None = None
        self._retired: list[AsyncOpenAI] = []
        self._plain: httpx2.AsyncClient | None = None
        self._building = asyncio.Lock()
        self._loaded: set[str] = {API_AREAS[Api.RESPONSES]}

    async def prepare(self, key: Secret, *apis: Api) -> None:
        """Build the client for `key` in a worker thread unless it is built (concurrent callers wait for one build),
        with the SDK modules of `apis` loaded, in a worker thread the first time."""
        if self._client is None or self._key != key:
            async with self._building:
                if self._client is None or self._key != key:
                    self._keep(await asyncio.to_thread(self._build, key), key)
        missing = [API_AREAS[api] for api in apis if API_AREAS[api] not in self._loaded]
        if missing and self._client is not None:  # two first calls may both load one: imports are thread-safe
            await asyncio.to_thread(_touch, self._client, missing)
            self._loaded.update(missing)

    def get(self, key: Secret) -> AsyncOpenAI:
        """The client for `key`: the one `prepare` built, or one built now (blocking) for callers that did not
        prepare. A client for an old key is closed in aclose, not now, since a call may still be using it."""
        if self._client is None or self._key != key:
            self._keep(self._build(key), key)
        assert self._client is not None
        return self._client

    def _keep(self, client: AsyncOpenAI, key: Secret) -> None:
        if self._client is not None:
            self._retired.append(self._client)
        self._client, self._key = client, key

    def _build(self, key: Secret) -> AsyncOpenAI:
        settings = self._settings
        kwargs: dict[str, Any] = {
            "api_key": key.reveal(),
            "base_url": settings.base_url or API_BASE_URL,
            "max_retries": 0,
            "organization": settings.organization,
            "project": settings.project,
            # The SDK reads OPENAI_CUSTOM_HEADERS itself, and an Authorization line there would replace the key the
            # selector checked (in sandbox mode: a real token sent to the fake). An explicit one makes it drop it.
            "default_headers": {"Authorization": f"Bearer {key.reveal()}"},
        }
        if settings.request_timeout is not None:
            kwargs["timeout"] = settings.request_timeout
        client = AsyncOpenAI(**kwargs)
        # Given None, the SDK falls back to OPENAI_ORG_ID / OPENAI_PROJECT_ID; generators never read env vars
        # (the container maps those two into the extras outside sandbox mode), so what the settings say stands.
        client.organization, client.project = settings.organization, settings.project
        # The SDK imports each API's module on first access to it, and its transport imports anyio's asyncio backend
        # on the first request: both here (the responses API, which the default image call uses; the others in
        # `prepare`), in the worker thread, rather than in the first call, on the loop.
        _touch(client, [API_AREAS[Api.RESPONSES]])
        importlib.import_module("anyio._backends._asyncio")
        return client

    async def plain(self) -> httpx2.AsyncClient:
        """A client without the API key, for image URLs the API returns (they point at other hosts); built in a
        worker thread on first use, as it loads certificates too."""
        if self._plain is None:
            async with self._building:
                if self._plain is None:
                    timeout = self._settings.request_timeout if self._settings.request_timeout is not None else 120.0
                    self._plain = await asyncio.to_thread(httpx2.AsyncClient, timeout=timeout, follow_redirects=True)
        return self._plain

    @property
    def built(self) -> int:
        """How many AsyncOpenAI clients this holder has made (one unless the key changed)."""
        return len(self._retired) + (self._client is not None)

    async def aclose(self) -> None:
        clients = [*self._retired, *([self._client] if self._client is not None else [])]
        self._client, self._key, self._retired = None, None, []
        plain, self._plain = self._plain, None
        for client in clients:
            await client.close()
        if plain is not None:
            await plain.aclose()


async def vendor_call(awaitable: Awaitable[T], *, deadline: Deadline, secret: Secret, job_id: str | None = None) -> T:
    """Await one SDK call; vendor errors become MediaGenErrors, running past the deadline GenerationTimeout."""
    return await translated_call(
        awaitable,
        deadline=deadline,
        translate=lambda exc: translate_openai_error(exc, BACKEND, secret=secret),
        timed_out=lambda: timeout_error(deadline.seconds, job_id=job_id),
    )


class BodyStream(ChunkStream):
    """A streamed HTTP body of an SDK call, in constant memory (see ChunkStream): it holds the SDK's response open
    until the body is consumed, fails, or is closed. Transport errors in the middle of the body become
    TransientBackendError, so a cut-short download is retried, never written.
    """

    def __init__(self, manager: Any, response: Any, secret: Secret) -> None:
        super().__init__(response.iter_bytes(), lambda exc: translate_openai_error(exc, BACKEND, secret=secret))
        self._manager = manager
        self._response = response

    @classmethod
    async def open(
        cls, manager: Any, *, deadline: Deadline, secret: Secret, what: str, job_id: str | None = None
    ) -> BodyStream:
        """Send the request of a `with_streaming_response` call and keep its response; errors are translated.

        A successful answer in JSON or text where media (`what`) was expected is malformed: it is refused here,
        so it never reaches the sink (raw PCM has no header that would give it away there).
        """
        response = await vendor_call(manager.__aenter__(), deadline=deadline, secret=secret, job_id=job_id)
        stream = cls(manager, response, secret)
        content_type = stream.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type.endswith("json") or content_type.startswith("text/"):
            await stream.aclose()
            raise TransientBackendError(
                f"OpenAI sent {content_type} where {what} was expected (a malformed answer); retrying usually helps",
                backend=BACKEND,
            )
        return stream

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers  # type: ignore[no-any-return]

    @property
    def content_length(self) -> int | None:
        raw = self.headers.get("content-length")
        return int(raw) if raw is not None and raw.isdigit() else None

    async def _release(self) -> None:
        try:
            await super()._release()
        finally:
            await self._manager.__aexit__(None, None, None)
