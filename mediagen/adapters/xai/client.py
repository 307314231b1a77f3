"""One xai_sdk.AsyncClient per generator, built once off the event loop, and the calls made under a deadline.

Importing xai-sdk (grpc, protobuf, opentelemetry, pydantic) and building its channel take tens of milliseconds,
so both happen in a worker thread, once; concurrent first calls wait for the same build. The key is always passed
(the SDK would otherwise read XAI_API_KEY itself). `backends.xai.base_url` is `host:port`; only a loopback host
(the sandbox) gets an insecure channel, any other host TLS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from mediagen.adapters.calls import translated_call
from mediagen.adapters.extras import ExtraReader
from mediagen.adapters.xai.errors import timeout_error, translate_xai_error
from mediagen.adapters.xai.spec import API_HOST, LOOPBACK_HOSTS
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import ConfigurationError
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions

if TYPE_CHECKING:
    import aiohttp
    from xai_sdk import AsyncClient

T = TypeVar("T")

#: The SDK's own port when a host is given without one (gRPC over TLS).
_TLS_PORT = 443


@attrs.frozen
class Endpoint:
    """Where the gRPC channel goes: `host:port`, and whether it may skip TLS (loopback hosts only)."""

    host: str
    port: int

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def insecure(self) -> bool:
        return self.host.lower() in LOOPBACK_HOSTS


def parse_endpoint(text: str | None) -> Endpoint:
    """`host:port` (or `[v6]:port`, or a host alone for port 443); a URL is refused, naming what is wanted."""
    if text is None:
        return Endpoint(API_HOST, _TLS_PORT)
    value = text.strip()
    wanted = "host:port of xAI's gRPC API, e.g. api.x.ai:443 or 127.0.0.1:50051"
    if "://" in value or "/" in value or not value or any(c.isspace() for c in value):
        raise ConfigurationError(f"backends.xai.base_url must be {wanted}, not {text!r}", key="base_url")
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ("" if not rest else "x")
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    elif ":" in value:
        host, port_text = value, ""  # a bare IPv6 address
    else:
        host, port_text = value, ""
    if not port_text:
        port_text = str(_TLS_PORT)
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigurationError(f"backends.xai.base_url must be {wanted}, not {text!r}", key="base_url")
    return Endpoint(host, int(port_text))


@attrs.frozen(kw_only=True)
class XAISettings:
    """What `backends.xai` settings may set: base_url and these extras, checked when the generator is built."""

    endpoint: Endpoint = attrs.field(factory=lambda: parse_endpoint(None))
    #: Seconds one gRPC call may take (None: the SDK's 27 minutes; the overall generation timeout always applies).
    request_timeout: float | None = None
    #: Video polling: first wait, growth factor and longest wait between GetDeferredVideo calls, in seconds.
    poll_interval: float = 1.0
    poll_backoff: float = 1.5
    poll_max_interval: float = 10.0

    @classmethod
    def from_options(cls, options: BackendOptions) -> XAISettings:
        read = ExtraReader("xai", options.extra)
        read.reject_unknown(attrs.fields_dict(cls).keys() - {"endpoint"})
        interval = read.number("poll_interval", 1.0)
        return cls(
            endpoint=parse_endpoint(options.base_url),
            request_timeout=read.optional_number("request_timeout"),
            poll_interval=interval,
            poll_backoff=read.number("poll_backoff", 1.5, above=1.0 - 1e-9),
            poll_max_interval=max(read.number("poll_max_interval", 10.0), interval),
        )


class XAIClients:
    """The generator's AsyncClient (rebuilt only if the key changes) and a plain HTTP session for video URLs."""

    def __init__(self, settings: XAISettings) -> None:
        self._settings = settings
        self._client: AsyncClient | None = None
        self._key: Secret | None = None
        self._retired: list[AsyncClient] = []
        self._lock = asyncio.Lock()
        self._http: aiohttp.ClientSession | None = None
        self.built = 0

    async def get(self, key: Secret) -> AsyncClient:
        """The client for `key`; the first call builds it in a worker thread while any others wait for it."""
        client = self._client
        if client is not None and self._key == key:
            return client
        async with self._lock:
            if self._client is None or self._key != key:
                built = await asyncio.to_thread(self._build, key, asyncio.get_running_loop())
                if self._client is not None:
                    self._retired.append(self._client)  # a call may still use it; closed in aclose
                self._client, self._key = built, key
                self.built += 1
            return self._client

    def _build(self, key: Secret, loop: asyncio.AbstractEventLoop) -> AsyncClient:
        # grpc.aio binds a channel to the current thread's event loop when it is made: this thread is given the
        # caller's loop for that moment, so the channel serves calls made on it.
        asyncio.set_event_loop(loop)
        try:
            import aiohttp  # noqa: F401  (imported here, off the loop; video.py uses it for the video URLs)
            import google.protobuf.json_format  # noqa: F401  (image.py's usage_of reads the usage with it)
            from xai_sdk import AsyncClient

            endpoint = self._settings.endpoint
            kwargs: dict[str, Any] = {
                "api_key": key.reveal(),
                "api_host": endpoint.target,
                "use_insecure_channel": endpoint.insecure,
                # The service retries with its own policy (and fails over); the channel's own retries (xai-sdk
                # 1.21 turns gRPC retries on for UNAVAILABLE, up to 5 attempts) would multiply them.
                "channel_options": [("grpc.enable_retries", 0)],
            }
            if self._settings.request_timeout is not None:
                kwargs["timeout"] = self._settings.request_timeout
            return AsyncClient(**kwargs)
        finally:
            asyncio.set_event_loop(None)

    def http(self) -> aiohttp.ClientSession:
        """A session without the API key, for the video URLs the API returns (built after the client, on the loop)."""
        if self._http is None:
            import aiohttp

            timeout = self._settings.request_timeout
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_read=timeout if timeout is not None else 120.0)
            )
        return self._http

    async def aclose(self) -> None:
        clients = [*self._retired, *([self._client] if self._client is not None else [])]
        self._client, self._key, self._retired = None, None, []
        http, self._http = self._http, None
        for client in clients:
            await client.close()
        if http is not None:
            await http.close()


async def vendor_call(awaitable: Awaitable[T], *, deadline: Deadline, secret: Secret, job_id: str | None = None) -> T:
    """Await one SDK call; vendor errors become MediaGenErrors, running past the deadline GenerationTimeout."""
    return await translated_call(
        awaitable,
        deadline=deadline,
        translate=lambda exc: translate_xai_error(exc, secret=secret),
        timed_out=lambda: timeout_error(deadline.seconds, job_id=job_id),
    )
