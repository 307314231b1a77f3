"""One AsyncElevenLabs per generator, built lazily OFF the event loop, shared by every call; calls under a deadline.

The SDK's import and the client's construction (an httpx client, certificates) run in a worker thread, once:
concurrent first calls wait for the same build. The key is always passed explicitly (the SDK's own default reads
ELEVENLABS_API_KEY when it is imported; generators never read env vars). The SDK's retries are off
(max_retries=0): the service retries with its own policy.

Two transports under the SDK's httpx API: aiohttp's (httpx_aiohttp) makes each call cheaper on the event loop, but
importing aiohttp costs a fresh process 100-150 ms that the elevenlabs SDK itself never pays. So the first client is
built on aiohttp only when aiohttp is already loaded (another SDK or the host loaded it) or the generator was warmed
up; otherwise on httpx's own transport, the SDK's default. SWITCH_GRACE seconds after the first call on it ends
(its stream closed), aiohttp is loaded and a client on it built in a worker thread, and later calls use that one; a
process that closes the generator sooner (a one-shot CLI call) never loads aiohttp. Every client built stays open
until aclose, since a call or a stream may still be using it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
from collections.abc import AsyncIterator, Awaitable, Iterable
from typing import TYPE_CHECKING, TypeVar

import attrs

from mediagen.adapters.calls import translated_call
from mediagen.adapters.elevenlabs.errors import timeout_error, translate_elevenlabs_error
from mediagen.adapters.elevenlabs.spec import API_BASE_URL, MAX_DUBBING_INPUT_BYTES, MAX_INPUT_AUDIO_BYTES
from mediagen.adapters.extras import ExtraReader
from mediagen.adapters.streams import ChunkStream
from mediagen.application.deadline import Deadline
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions

if TYPE_CHECKING:
    import httpx
    from elevenlabs.client import AsyncElevenLabs
    from elevenlabs.core.request_options import RequestOptions

T = TypeVar("T")
#: Bytes per chunk the SDK hands over while streaming audio (its default is 1 KiB). A speech clip then arrives as
#: one chunk, which the sink writes in one worker-thread hop; a long dub streams in constant memory all the same.
CHUNK_BYTES = 1024 * 1024
#: Seconds from the end of the first call on httpx's transport to loading aiohttp in a worker thread: the host
#: finishes that call (the file's rename, its record) without the import competing for the GIL, and a host that
#: closes the generator within that time (a one-shot CLI call) never pays for the import.
SWITCH_GRACE = 0.2
#: What httpcore imports on its first request over httpx's own transport (~20 ms: anyio and its asyncio backend).
HTTPCORE_FIRST_REQUEST = ("sniffio", "httpcore._backends.anyio", "anyio._backends._asyncio")


@attrs.frozen(kw_only=True)
class ElevenLabsSettings:
    """What `backends.elevenlabs` settings may set: base_url and these extras, checked when the generator is built."""

    base_url: str | None = None
    #: Seconds one HTTP call may take (None: the SDK's 240 s; the overall generation timeout always applies).
    request_timeout: float | None = None
    #: Dubbing polling: first wait, growth, longest wait (seconds).
    poll_interval: float = 5.0
    poll_backoff: float = 1.5
    poll_max_interval: float = 30.0
    #: The largest input file sent (bytes): audio to convert, isolate or clone, and media to dub.
    max_upload_bytes: int = MAX_INPUT_AUDIO_BYTES
    max_dubbing_upload_bytes: int = MAX_DUBBING_INPUT_BYTES

    @classmethod
    def from_options(cls, options: BackendOptions) -> ElevenLabsSettings:
        read = ExtraReader("elevenlabs", options.extra)
        read.reject_unknown(attrs.fields_dict(cls).keys() - {"base_url"})
        interval = read.number("poll_interval", 5.0)
        return cls(
            base_url=options.base_url,
            request_timeout=read.optional_number("request_timeout"),
            poll_interval=interval,
            poll_backoff=read.number("poll_backoff", 1.5, above=1.0 - 1e-9),
            poll_max_interval=max(read.number("poll_max_interval", 30.0), interval),
            max_upload_bytes=read.whole("max_upload_bytes", MAX_INPUT_AUDIO_BYTES),
            max_dubbing_upload_bytes=read.whole("max_dubbing_upload_bytes", MAX_DUBBING_INPUT_BYTES),
        )

    def request_options(self) -> RequestOptions:
        """The SDK's per-call options: no retries of its own, large chunks."""
        return {"max_retries": 0, "chunk_size": CHUNK_BYTES}


def aiohttp_loaded() -> bool:
    """Whether aiohttp is imported in this process already (by another SDK, the host, or an earlier switch)."""
    return "aiohttp" in sys.modules


def _build(
    settings: ElevenLabsSettings, key: str, *, on_aiohttp: bool, areas: Iterable[str]
) -> tuple[AsyncElevenLabs, httpx.AsyncClient]:
    """Import the SDK and make the client over an httpx client mediagen closes, on aiohttp's transport or httpx's
    own; the SDK `areas` loaded. Blocking, so run in a thread."""
    from elevenlabs.client import AsyncElevenLabs

    timeout = settings.request_timeout if settings.request_timeout is not None else 240.0
    transport: httpx.AsyncClient
    if on_aiohttp:
        from httpx_aiohttp import HttpxAiohttpClient

        # httpx's API over aiohttp's transport (the pairing the OpenAI SDK ships as its aiohttp option): the SDK sees
        # the httpx client it expects, and each call costs about a quarter less on the event loop than over httpcore.
        transport = HttpxAiohttpClient(timeout=timeout, follow_redirects=True)
    else:
        import httpx

        transport = httpx.AsyncClient(timeout=timeout, follow_redirects=True)  # what the SDK builds by default
        for name in HTTPCORE_FIRST_REQUEST:  # here, not on the loop; a renamed module costs only the time it saved
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
    client = AsyncElevenLabs(
        api_key=key, base_url=settings.base_url or API_BASE_URL, timeout=timeout, httpx_client=transport
    )
    # The SDK imports each API area's module on first access (about 100 modules, ~110 ms for all): the areas a
    # speech call uses are touched here, in the worker thread; the others by `ElevenLabsClients.get(key, area)`,
    # in a worker thread too, before the first call that uses one (or all of them by the generator's warm_up).
    _touch(client, areas)
    import elevenlabs.types.voice_settings  # noqa: F401 - used by speech.py

    return client, transport


#: The SDK client attributes the adapter calls into.
AREAS = (
    "text_to_speech", "music", "text_to_sound_effects", "speech_to_speech", "audio_isolation", "text_to_voice",
    "voices", "voices.ivc", "dubbing", "dubbing.audio",
)  # fmt: skip
#: The areas loaded with the client: speech (the default call) and music, which the SDK's client module loads anyway.
SPEECH_AREAS = ("text_to_speech", "music")


def _touch(client: AsyncElevenLabs, areas: Iterable[str]) -> None:
    """Access each area's attribute, which imports its module (blocking: in a worker thread)."""
    for area in areas:
        target: object = client
        for name in area.split("."):
            target = getattr(target, name)


class ElevenLabsClients:
    """The generator's AsyncElevenLabs, rebuilt if the key changes, and once more on aiohttp after a first call on
    httpx's own transport (see the module's docstring). `aiohttp=False` keeps every client on httpx's transport."""

    def __init__(self, settings: ElevenLabsSettings, *, aiohttp: bool = True) -> None:
        self._settings = settings
        self._aiohttp = aiohttp
        self._client: AsyncElevenLabs | None = None
        self._key: Secret | None = None
        self._transport: httpx.AsyncClient | None = None
        self._on_aiohttp = False
        self._transports: list[httpx.AsyncClient] = []
        self._lock = asyncio.Lock()
        self._loaded: set[str] = set(SPEECH_AREAS)
        self._warmed = False
        self._switch: asyncio.Task[None] | None = None
        self._switching = False
        self.built = 0

    async def get(self, key: Secret, *areas: str) -> AsyncElevenLabs:
        """The client for `key`, built in a worker thread on first use (concurrent first calls share the build), with
        the SDK `areas` the caller is about to use (names from AREAS) loaded, in a worker thread the first time.

        A client for an old key is closed in aclose, not now, since a call may still be using it."""
        client = self._client
        if client is None or self._key != key:
            async with self._lock:
                if self._client is None or self._key != key:
                    await self._build(key, on_aiohttp=self._aiohttp and (self._warmed or aiohttp_loaded()))
                client = self._client
                assert client is not None
        missing = [area for area in areas if area not in self._loaded]
        if missing:  # two first calls may both load an area: imports are thread-safe, and the second finds it done
            await asyncio.to_thread(_touch, client, missing)
            self._loaded.update(missing)
        return client

    async def _build(self, key: Secret, *, on_aiohttp: bool, areas: Iterable[str] = ()) -> None:
        """Build the client for `key` in a worker thread with the areas loaded so far (and `areas`); under the lock."""
        wanted = self._loaded.union(areas)
        client, transport = await asyncio.to_thread(
            _build, self._settings, key.reveal(), on_aiohttp=on_aiohttp, areas=sorted(wanted)
        )
        self._transports.append(transport)
        self._client, self._key, self._transport, self._on_aiohttp = client, key, transport, on_aiohttp
        self._loaded.update(wanted)
        self.built += 1

    @property
    def transport(self) -> httpx.AsyncClient | None:
        """The httpx client under the current AsyncElevenLabs (an httpx_aiohttp.HttpxAiohttpClient on aiohttp)."""
        return self._transport

    @property
    def on_aiohttp(self) -> bool:
        """Whether the current client (the next call's) runs on aiohttp's transport."""
        return self._on_aiohttp

    @property
    def switch_due(self) -> bool:
        """Whether the end of a call should start the switch to aiohttp (none started yet, the client on httpx's)."""
        return self._aiohttp and self._switch is None and not self.on_aiohttp

    def call_ended(self) -> None:
        """A call has ended (its stream closed, or it failed): the first time, with the client on httpx's transport,
        load aiohttp and build a client on it SWITCH_GRACE seconds from now, in a worker thread."""
        if self.switch_due and self._client is not None:
            self._switch = asyncio.get_running_loop().create_task(self._switch_later())

    async def _switch_later(self) -> None:
        await asyncio.sleep(SWITCH_GRACE)  # aclose cancels the switch while it waits here
        async with self._lock:
            key = self._key
            if key is None or self.on_aiohttp:
                return
            self._switching = True  # from here aclose waits for the build, so its transport is closed too
            try:
                await self._build(key, on_aiohttp=True)
            except Exception:  # the client on httpx's transport keeps serving: nothing is lost
                return
            finally:
                self._switching = False

    async def switched(self) -> None:
        """Wait for a switch to aiohttp that has started, if any (tests and hosts that want it done)."""
        if self._switch is not None:
            await asyncio.shield(self._switch)

    async def warm_up(self, key: Secret | None) -> None:
        """For the generator's warm_up: from now on every client is built on aiohttp (loaded now if `key` is given),
        the current one rebuilt on it at once, with every SDK area the adapter calls loaded."""
        self._warmed = True
        if key is None:
            return
        async with self._lock:
            if self._client is None or self._key != key or (self._aiohttp and not self.on_aiohttp):
                await self._build(key, on_aiohttp=self._aiohttp, areas=AREAS)
        await self.get(key, *AREAS)

    @property
    def loaded(self) -> frozenset[str]:
        """The SDK areas (names from AREAS) loaded so far."""
        return frozenset(self._loaded)

    async def aclose(self) -> None:
        switch, self._switch = self._switch, None
        if switch is not None and not switch.done():
            if not self._switching:
                switch.cancel()
            await asyncio.gather(switch, return_exceptions=True)
        transports, self._transports = self._transports, []
        self._client, self._key, self._transport, self._on_aiohttp = None, None, None, False
        for transport in transports:
            await transport.aclose()


async def vendor_call(awaitable: Awaitable[T], *, deadline: Deadline, secret: Secret, job_id: str | None = None) -> T:
    """Await one SDK call; vendor errors become MediaGenErrors, running past the deadline GenerationTimeout."""
    return await translated_call(
        awaitable,
        deadline=deadline,
        translate=lambda exc: translate_elevenlabs_error(exc, secret=secret),
        timed_out=lambda: timeout_error(deadline.seconds, job_id=job_id),
    )


class AudioStream(ChunkStream):
    """The SDK's lazy audio iterator as the stream GeneratedMedia hands the sink, in constant memory.

    `open` sends the request by taking the first chunk (so a refusal raises there, before anything is written);
    the rest streams as the sink reads (see ChunkStream). Errors in the middle become typed errors (a cut-short body
    is transient); closing it releases the connection whether or not the body was read.
    """

    def __init__(self, chunks: AsyncIterator[bytes], first: bytes | None, secret: Secret) -> None:
        super().__init__(chunks, lambda exc: translate_elevenlabs_error(exc, secret=secret), first)

    @classmethod
    async def open(
        cls, chunks: AsyncIterator[bytes], *, deadline: Deadline, secret: Secret, job_id: str | None = None
    ) -> AudioStream:
        try:
            first: bytes | None = await vendor_call(
                anext_or_none(chunks), deadline=deadline, secret=secret, job_id=job_id
            )
        except BaseException:
            await _close(chunks)
            raise
        return cls(chunks, first, secret)

    @property
    def first(self) -> bytes:
        """The first chunk, read by `open`, until it is handed on."""
        return self._first or b""


async def anext_or_none(chunks: AsyncIterator[bytes]) -> bytes | None:
    """The first non-empty chunk, or None when the body is empty."""
    async for chunk in chunks:
        if chunk:
            return bytes(chunk)
    return None


async def _close(chunks: AsyncIterator[bytes]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()
