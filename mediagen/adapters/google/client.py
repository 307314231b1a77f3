"""The google-genai clients: one per API mode (see modes.py), built lazily, reused by every call, closed in aclose."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import attrs
from google import genai
from google.genai import types

from mediagen.adapters.extras import ExtraReader
from mediagen.adapters.google.modes import MODE_TABLE, Mode
from mediagen.adapters.google.session import LoopSessions
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions

#: The vendor's endpoints, as google-genai 3.6 picks them for an API key in each mode.
GEMINI_API_URL = "https://generativelanguage.googleapis.com/"
VERTEX_EXPRESS_URL = "https://aiplatform.googleapis.com/"


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
        read = ExtraReader("google", options.extra)
        read.reject_unknown(attrs.fields_dict(cls).keys() - {"base_url"})
        poll_interval = read.number("poll_interval", 5.0)
        return cls(
            base_url=options.base_url,
            vertex_base_url=read.text("vertex_base_url"),
            vertex_project=read.text("vertex_project"),
            vertex_location=read.text("vertex_location"),
            request_timeout=read.optional_number("request_timeout"),
            poll_interval=poll_interval,
            poll_backoff=read.number("poll_backoff", 1.5, above=1.0 - 1e-9),
            poll_max_interval=max(read.number("poll_max_interval", 30.0), poll_interval),
            max_history_turns=read.whole("max_history_turns", 8),
            max_history_bytes=read.whole("max_history_bytes", 32 * 1024 * 1024),
            max_continuation_video_bytes=read.whole("max_continuation_video_bytes", 64 * 1024 * 1024),
        )


@attrs.define
class _OnLoop:
    """What belongs to one event loop: its build lock (an asyncio.Lock belongs to one loop) and the Gemini API
    clients built over its session."""

    building: asyncio.Lock = attrs.Factory(asyncio.Lock)
    gemini: dict[Secret, genai.Client] = attrs.Factory(dict)


class GoogleClients:
    """Builds one genai.Client per (mode, key) on first use and hands out its async side (`client.aio`).

    A genai.Client loads certificates three times over (~100 ms), so it is built in a worker thread, never on the
    event loop, and once: concurrent first calls wait for the same build. The Gemini API client sends through a
    session of mediagen's (session.py), which belongs to one event loop: that client is built once per loop.
    """

    def __init__(self, settings: GoogleSettings) -> None:
        self._settings = settings
        self._vertex: dict[Secret, genai.Client] = {}
        self._sessions = LoopSessions(settings.base_url or GEMINI_API_URL)
        self._loops: dict[asyncio.AbstractEventLoop, _OnLoop] = {}

    async def for_call(self, call: str, key: Secret) -> Any:
        """`client.aio` of the mode MODE_TABLE names for `call` (an AsyncClient; typed Any as the SDK's is loose)."""
        return (await self.prepare(MODE_TABLE[call].mode, key)).aio

    async def prepare(self, mode: Mode, key: Secret) -> genai.Client:
        """The client for `mode` and `key`, built in a worker thread the first time (on this loop, for Gemini)."""
        here = self._on_this_loop()
        found = here.gemini.get(key) if mode is Mode.GEMINI else self._vertex.get(key)
        if found is not None:
            return found
        async with here.building:
            if mode is Mode.VERTEX:
                found = self._vertex.get(key)
                if found is None:
                    found = self._vertex[key] = await asyncio.to_thread(self._build_vertex, key)
                return found
            found = here.gemini.get(key)
            if found is None:
                session = await self._sessions.get()
                found = here.gemini[key] = await asyncio.to_thread(self._build_gemini, key, session)
            return found

    def _on_this_loop(self) -> _OnLoop:
        """The running loop's build lock and Gemini clients (what closed loops held is let go)."""
        loop = asyncio.get_running_loop()
        here = self._loops.get(loop)
        if here is None:
            self._loops = {other: held for other, held in self._loops.items() if not other.is_closed()}
            here = self._loops[loop] = _OnLoop()
        return here

    def _http_options(self, base_url: str | None, session: aiohttp.ClientSession | None = None) -> types.HttpOptions:
        timeout = self._settings.request_timeout
        return types.HttpOptions(
            base_url=base_url,
            aiohttp_client=session,
            timeout=None if timeout is None else int(timeout * 1000),
            # No SDK-level retries: the service retries transient errors with its own policy. One attempt, set
            # explicitly: with no retry options google-genai 3.6 retries a refused or reset connection by itself
            # after sleeping 1-10 s (an "implicit retry"), doubling the service's own retries.
            retry_options=types.HttpRetryOptions(attempts=1),
        )

    def _build_gemini(self, key: Secret, session: aiohttp.ClientSession) -> genai.Client:
        # Base URLs are always passed (the vendor's when none is set), so the SDK never reads
        # GOOGLE_GEMINI_BASE_URL / GOOGLE_VERTEX_BASE_URL itself: endpoints come from settings only.
        http_options = self._http_options(self._settings.base_url or GEMINI_API_URL, session)
        return genai.Client(vertexai=False, api_key=key.reveal(), http_options=http_options)

    def _build_vertex(self, key: Secret) -> genai.Client:
        # Vertex keeps google-genai's own sessions: with a client certificate configured, the SDK sends Vertex calls
        # through google-auth's mTLS session, which a session of mediagen's would bypass.
        settings = self._settings
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
        loops, vertex = self._loops, self._vertex
        self._loops, self._vertex = {}, {}
        clients = [*(client for here in loops.values() for client in here.gemini.values()), *vertex.values()]
        for client in clients:
            await client.aio.aclose()
            client.close()
        await self._sessions.aclose()
