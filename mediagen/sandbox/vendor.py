"""What every fake vendor builds on: the context the framework hands it, its error type, routes, uploads."""

from __future__ import annotations

import abc
import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar

import attrs
from aiohttp import web

from mediagen.sandbox.faults import Fault, FaultScope, FaultScript
from mediagen.sandbox.settings import SandboxSettings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FAULT_KEY = web.RequestKey("mediagen_fault", Fault)


class ApiError(Exception):
    """An error answer in vendor terms; each fake renders it in its vendor's body shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})


@attrs.frozen
class Route:
    """One endpoint: method, aiohttp path pattern, handler, and which fault scopes besides REQUEST it takes."""

    method: str
    path: str
    handler: Handler
    name: str
    scopes: frozenset[FaultScope] = frozenset()


@attrs.frozen
class Upload:
    """A file received in a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@attrs.frozen
class Call:
    """A request a fake answered: what came in and the status that went out."""

    method: str
    path: str
    status: int
    fault: str | None
    #: time.monotonic() in the sandbox's process when the request arrived (before any latency or fault).
    received: float = 0.0


class FakeContext:
    """What the framework gives a fake: settings, the fault script, a stop signal and a call log."""

    def __init__(self, vendor: str, settings: SandboxSettings, faults: FaultScript) -> None:
        self.vendor = vendor
        self.settings = settings
        self.faults = faults
        self.stopping = asyncio.Event()
        self.calls: list[Call] = []

    def now(self) -> int:
        """Unix seconds, as vendors stamp created_at."""
        return int(time.time())

    async def pause(self, seconds: float) -> bool:
        """Wait up to `seconds`, returning early (True) when the sandbox is stopping."""
        if seconds <= 0:
            return self.stopping.is_set()
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return False
        return True


class VendorFake(abc.ABC):
    """A fake vendor API: its routes, its auth rule, its error shape and the env that points an app at it.

    Adding a vendor is one subclass in its own module plus one line in `mediagen.sandbox.registry`.
    """

    name: ClassVar[str]

    def __init__(self, context: FakeContext) -> None:
        self.context = context

    @abc.abstractmethod
    def routes(self) -> Iterable[Route]:
        """The endpoints this fake serves."""

    @abc.abstractmethod
    def base_url(self, origin: str) -> str:
        """What the vendor SDK takes as its base URL, given `http://127.0.0.1:PORT`."""

    @abc.abstractmethod
    def env(self, base_url: str) -> dict[str, str]:
        """Environment variables that point an app using the vendor SDK at this fake."""

    @abc.abstractmethod
    def authenticate(self, request: web.Request) -> None:
        """Raise ApiError (the vendor's 401) when the request lacks acceptable credentials."""

    @abc.abstractmethod
    def error_body(self, error: ApiError) -> dict[str, Any]:
        """The vendor's JSON error body for `error`."""

    @abc.abstractmethod
    def fault_error(self, fault: Fault, request: web.Request) -> ApiError:
        """The vendor's answer to rate_limit, server_error, unavailable or content_policy."""

    @property
    @abc.abstractmethod
    def state(self) -> object:
        """Server-side state tests can inspect."""

    #: Whether `base_url` is a server the fake starts itself (start_servers) rather than its HTTP app: that server
    #: then gets the sandbox's fixed port, when one is set, and the HTTP app any free one.
    own_server: ClassVar[bool] = False

    async def start_servers(self, host: str, origin: str, port: int = 0) -> None:
        """Start what the fake serves besides its HTTP app (the xAI fake: a gRPC server), bound to `host` and `port`
        (0: any free one), once the app listens at `origin`. Nothing by default."""
        return None

    async def stop_servers(self) -> None:
        """Stop what start_servers started (the stopping event is already set); idempotent. Nothing by default."""
        return None

    def quota_error(self, request: web.Request) -> ApiError:
        """The vendor's answer when the account's quota is used up (the `quota_exceeded` fault); by default its
        rate-limit answer (OpenAI and Google both answer an exhausted quota with a 429)."""
        return self.fault_error(Fault("rate_limit"), request)

    def not_found(self, request: web.Request) -> ApiError:
        """The vendor's answer for a route it does not serve (also the `retired` fault's)."""
        return ApiError(404, f"Invalid URL ({request.method} {request.path})")

    def malformed_body(self) -> bytes:
        return b'{"id": "truncated", "object": '

    def error_response(self, error: ApiError) -> web.Response:
        return web.json_response(self.error_body(error), status=error.status, headers=error.headers)


def fault_of(request: web.Request) -> Fault | None:
    """The JOB or DOWNLOAD fault the framework attached to this request, if any."""
    return request.get(FAULT_KEY)


async def stream_bytes(
    request: web.Request,
    chunks: AsyncIterator[bytes | memoryview],
    *,
    content_type: str,
    length: int | None,
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    """Send `chunks` (with Content-Length when known, chunked otherwise), honouring truncated_download."""
    response = web.StreamResponse(headers=headers)
    response.content_type = content_type
    if length is not None:
        response.content_length = length
    else:
        response.enable_chunked_encoding()
    fault = fault_of(request)
    cut_at: int | None = None
    if fault is not None and fault.name == "truncated_download":
        if "bytes" in fault.params or length is None:
            cut_at = int(fault.number("bytes", 1))
        else:
            cut_at = int(length * fault.number("fraction", 0.5))
        cut_at = max(0, cut_at if length is None else min(length - 1, cut_at))
    await response.prepare(request)
    sent = 0
    try:
        async for chunk in chunks:
            if cut_at is not None and sent + len(chunk) >= cut_at:
                await response.write(bytes(chunk[: cut_at - sent]))
                transport = request.transport
                if transport is not None:
                    transport.close()
                return response
            await response.write(chunk)
            sent += len(chunk)
        await response.write_eof()
    except ConnectionError:  # the client stopped reading and went away: normal for downloads
        pass
    return response
