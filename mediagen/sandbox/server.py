"""The sandbox: each fake vendor as an aiohttp app on its own 127.0.0.1 port (plus, for a gRPC vendor, a gRPC server
the fake starts beside it), run in-process (async context manager), on a background thread (sync code, the CLI), or in
the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Literal, TextIO, overload

import attrs
from aiohttp import web

from mediagen.sandbox.faults import FAULT_HEADER, Fault, FaultScope, FaultScript, parse_standing
from mediagen.sandbox.records import RecordStore
from mediagen.sandbox.registry import available_vendors, vendor_class
from mediagen.sandbox.settings import SandboxSettings
from mediagen.sandbox.vendor import FAULT_KEY, ApiError, Call, FakeContext, Handler, VendorFake

if TYPE_CHECKING:
    from types import TracebackType

    from mediagen.sandbox.elevenlabs import ElevenLabsState
    from mediagen.sandbox.openai import OpenAIState
    from mediagen.sandbox.xai import XaiState

log = logging.getLogger("mediagen.sandbox")

_FAKE_KEY = web.AppKey("mediagen_fake", VendorFake)
_SCOPES_KEY = web.AppKey("mediagen_scopes", dict[str, frozenset[FaultScope]])
_MAX_UPLOAD = 256 * 1024 * 1024


def _build_app(fake: VendorFake) -> web.Application:
    app = web.Application(middlewares=[_sandbox_middleware], client_max_size=_MAX_UPLOAD)
    app[_FAKE_KEY] = fake
    scopes: dict[str, frozenset[FaultScope]] = {}
    for route in fake.routes():
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
        scopes[route.name] = route.scopes | {FaultScope.REQUEST}
    app[_SCOPES_KEY] = scopes
    return app


@web.middleware
async def _sandbox_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Latency, auth, faults and error rendering around every fake endpoint."""
    fake = request.app[_FAKE_KEY]
    received = time.monotonic()
    try:
        response = await _handle(request, handler, fake)
    except ApiError as error:
        response = fake.error_response(error)
    except ConnectionError:  # the client went away mid-answer; there is no one to answer
        raise
    except Exception:
        log.exception("sandbox %s: %s %s failed", fake.name, request.method, request.path)
        response = fake.error_response(
            ApiError(500, "The sandbox failed to handle this request; see its log.", type="server_error")
        )
    fault = request.get(FAULT_KEY)
    fake.context.calls.append(
        Call(request.method, request.path, response.status, str(fault) if fault else None, received)
    )
    return response


async def _handle(request: web.Request, handler: Handler, fake: VendorFake) -> web.StreamResponse:
    context = fake.context
    if request.match_info.http_exception is not None:
        exc = request.match_info.http_exception
        error = fake.not_found(request)
        raise ApiError(exc.status, error.message, type=error.type, code=error.code)
    if await context.pause(context.settings.latency):
        raise ApiError(503, "The sandbox is shutting down.", type="server_error")
    fake.authenticate(request)
    fault = _select_fault(request, fake)
    if fault is None:
        return await handler(request)
    request[FAULT_KEY] = fault
    if fault.scope is not FaultScope.REQUEST:
        return await handler(request)
    if fault.name == "hang":
        seconds = min(fault.number("seconds", context.settings.hang_seconds), context.settings.hang_seconds)
        if await context.pause(seconds):
            raise ApiError(503, "The sandbox is shutting down.", type="server_error")
        return await handler(request)
    if fault.name == "malformed":
        return web.Response(status=200, body=fake.malformed_body(), content_type="application/json")
    if fault.name == "retired":
        raise fake.not_found(request)
    if fault.name == "quota_exceeded":
        raise fake.quota_error(request)
    raise fake.fault_error(fault, request)


def _select_fault(request: web.Request, fake: VendorFake) -> Fault | None:
    """The request's fault: its header if it has one (ignored where it cannot apply), else the queue's."""
    route_name = request.match_info.route.name or ""
    scopes = request.app[_SCOPES_KEY].get(route_name, frozenset({FaultScope.REQUEST}))
    faults = fake.context.faults
    header = request.headers.get(FAULT_HEADER)
    if header:
        try:
            fault = Fault.parse(header)
        except ValueError as exc:
            raise ApiError(400, f"{FAULT_HEADER}: {exc}", param=FAULT_HEADER) from None
        if fault.scope not in scopes:
            return None
        faults.record(fake.name, request.method, request.path, fault)
        return fault
    return faults.take(fake.name, request.method, request.path, scopes)


class Sandbox:
    """Fake vendor servers on 127.0.0.1, one ephemeral port each, inside `async with`.

    `async with Sandbox(vendors=("openai",)) as sb:` then `sb.base_url("openai")`, `sb.env()`,
    `sb.faults.push(...)`, `sb.state("openai")`.
    """

    def __init__(
        self,
        vendors: Iterable[str] | None = None,
        *,
        latency: float | None = None,
        settings: SandboxSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        base = settings if settings is not None else SandboxSettings()
        if latency is not None:
            base = attrs.evolve(base, latency=latency)
        self.settings = base
        self.vendors: tuple[str, ...] = tuple(vendors) if vendors is not None else available_vendors()
        for name in self.vendors:
            vendor_class(name)  # fail early on an unknown vendor
        self.host = host
        self.port = port
        self.faults = FaultScript()
        for spec in self.settings.faults:
            vendor, fault, times, route = parse_standing(spec)
            self.faults.push(vendor, fault, times=times, route=route)
        self._fakes: dict[str, VendorFake] = {}
        self._runners: dict[str, web.AppRunner] = {}
        self._origins: dict[str, str] = {}

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Remove expired state, then bind and serve every vendor; on any failure, stop what started and re-raise."""
        await asyncio.to_thread(self._prune_state)
        try:
            for offset, name in enumerate(self.vendors):
                fake = vendor_class(name)(FakeContext(name, self.settings, self.faults))
                runner = web.AppRunner(_build_app(fake), shutdown_timeout=2.0, access_log=None)
                await runner.setup()
                self._runners[name] = runner
                fixed = self.port + offset if self.port else 0
                site = web.TCPSite(runner, self.host, 0 if fake.own_server else fixed)
                await site.start()
                host, port = runner.addresses[0][:2]
                self._fakes[name] = fake
                self._origins[name] = f"http://{_url_host(host)}:{port}"
                await fake.start_servers(self.host, self._origins[name], fixed if fake.own_server else 0)
        except BaseException:
            await self.stop()
            raise

    def _prune_state(self) -> None:
        """Remove each vendor's records in the state_dir that outlived state_ttl_seconds since their last write."""
        state_dir, ttl = self.settings.state_dir, self.settings.state_ttl_seconds
        if state_dir is None or ttl is None:
            return
        for name in self.vendors:
            RecordStore(state_dir / name).prune(ttl)

    async def stop(self) -> None:
        """Release hanging requests, then close every server; idempotent."""
        for fake in self._fakes.values():
            fake.context.stopping.set()
        for fake in self._fakes.values():
            await fake.stop_servers()
        runners, self._runners = self._runners, {}
        for runner in runners.values():
            await runner.cleanup()

    @property
    def running(self) -> bool:
        return bool(self._runners)

    def origin(self, vendor: str) -> str:
        """`http://127.0.0.1:PORT` of a vendor's server."""
        try:
            return self._origins[vendor]
        except KeyError:
            raise KeyError(f"vendor {vendor!r} is not running in this sandbox (running: {self.vendors})") from None

    def base_url(self, vendor: str) -> str:
        """The base URL the vendor's SDK takes, e.g. `http://127.0.0.1:PORT/v1` for OpenAI, `127.0.0.1:PORT` (its gRPC
        server) for xAI."""
        return self._fake(vendor).base_url(self.origin(vendor))

    def env(self, vendor: str | None = None) -> dict[str, str]:
        """Env vars pointing apps at the fakes (base URLs and dummy keys), for one vendor or all."""
        names = (vendor,) if vendor is not None else self.vendors
        out: dict[str, str] = {}
        for name in names:
            out.update(self._fake(name).env(self.base_url(name)))
        return out

    @overload
    def state(self, vendor: Literal["openai"]) -> OpenAIState: ...
    @overload
    def state(self, vendor: Literal["xai"]) -> XaiState: ...
    @overload
    def state(self, vendor: Literal["elevenlabs"]) -> ElevenLabsState: ...
    @overload
    def state(self, vendor: str) -> object: ...
    def state(self, vendor: str) -> object:
        """The fake's server-side state (response ids, jobs, recorded requests)."""
        return self._fake(vendor).state

    def calls(self, vendor: str) -> list[Call]:
        """Every request the vendor's fake answered, with its status and fault."""
        return list(self._fake(vendor).context.calls)

    def _fake(self, vendor: str) -> VendorFake:
        try:
            return self._fakes[vendor]
        except KeyError:
            raise KeyError(f"vendor {vendor!r} is not running in this sandbox (running: {self.vendors})") from None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class SandboxThread:
    """A Sandbox served by its own event loop on a daemon thread, for sync code, other loops and the CLI.

    `with SandboxThread(("openai",)) as sb:` exposes the same base_url / env / faults / state.
    """

    def __init__(
        self,
        vendors: Iterable[str] | None = None,
        *,
        latency: float | None = None,
        settings: SandboxSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.sandbox = Sandbox(vendors, latency=latency, settings=settings, host=host, port=port)
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def start(self, timeout: float = 30.0) -> SandboxThread:
        """Start serving; returns once every vendor listens (or raises why it could not)."""
        if self._thread is not None:
            raise RuntimeError("this SandboxThread was already started")
        self._thread = threading.Thread(target=self._run, name="mediagen-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the sandbox did not start within {timeout} s")
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the servers and join the thread; idempotent."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None or loop is None or stop is None or not thread.is_alive():
            return
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"the sandbox thread did not stop within {timeout} s")

    def __enter__(self) -> SandboxThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self.sandbox:
            self._ready.set()
            await self._stop.wait()

    @property
    def faults(self) -> FaultScript:
        return self.sandbox.faults

    @property
    def vendors(self) -> tuple[str, ...]:
        return self.sandbox.vendors

    def origin(self, vendor: str) -> str:
        return self.sandbox.origin(vendor)

    def base_url(self, vendor: str) -> str:
        return self.sandbox.base_url(vendor)

    def env(self, vendor: str | None = None) -> dict[str, str]:
        return self.sandbox.env(vendor)

    @overload
    def state(self, vendor: Literal["openai"]) -> OpenAIState: ...
    @overload
    def state(self, vendor: Literal["xai"]) -> XaiState: ...
    @overload
    def state(self, vendor: Literal["elevenlabs"]) -> ElevenLabsState: ...
    @overload
    def state(self, vendor: str) -> object: ...
    def state(self, vendor: str) -> object:
        return self.sandbox.state(vendor)

    def calls(self, vendor: str) -> list[Call]:
        return self.sandbox.calls(vendor)


def start_in_thread(
    vendors: Iterable[str] | None = None,
    *,
    latency: float | None = None,
    settings: SandboxSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> SandboxThread:
    """A started SandboxThread; call `.stop()` (or use it as a context manager) when done."""
    return SandboxThread(vendors, latency=latency, settings=settings, host=host, port=port).start()


def is_loopback(host: str) -> bool:
    """Whether `host` names only this machine (127.0.0.0/8, ::1, localhost)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def describe(sandbox: Sandbox) -> list[str]:
    """The lines `mediagen sandbox` prints: a warning off loopback, each vendor's base URL, the key the fakes accept,
    then the env lines."""
    accepts = (
        "They accept only the key in the env lines below (api_key)."
        if sandbox.settings.api_key is not None
        else "They accept any non-empty key."
    )
    if is_loopback(sandbox.host):
        lines = ["mediagen sandbox: fake vendor APIs on loopback (no keys, no network needed)"]
    else:
        lines = [
            f"mediagen sandbox: fake vendor APIs on {sandbox.host}",
            f"WARNING: {sandbox.host} is not loopback: anyone who can reach this machine can call the fakes. "
            + accepts,
        ]
    lines += [f"  {name:<10} {sandbox.base_url(name)}" for name in sandbox.vendors]
    lines.append(accepts)
    lines.append("Point an app at it with these environment variables:")
    lines += [f"{key}={value}" for key, value in sandbox.env().items()]
    # mediagen polls video jobs at a real vendor's pace (seconds apart); the fakes finish theirs in a few polls.
    lines.append("For mediagen itself, also poll the fakes' jobs quickly:")
    for name in sandbox.vendors:
        lines.append(f"MEDIAGEN_BACKENDS__{name.upper()}__EXTRA__POLL_INTERVAL=0.1")
        lines.append(f"MEDIAGEN_BACKENDS__{name.upper()}__EXTRA__POLL_MAX_INTERVAL=0.1")
    return lines


async def serve(
    vendors: Sequence[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    settings: SandboxSettings | None = None,
    out: TextIO | None = None,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[Sandbox], None] | None = None,
) -> None:
    """Serve until `stop` is set or SIGINT/SIGTERM arrives, printing URLs and env lines to `out`;
    `on_ready` is called once everything listens."""
    stream = out if out is not None else sys.stdout
    stop_event = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop_event.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # e.g. Windows event loops
                pass
    try:
        async with Sandbox(vendors, settings=settings, host=host, port=port) as sandbox:
            lines = describe(sandbox)
            if sandbox.settings.state_dir is not None:
                lines.append(f"Vendor-side state is kept in {sandbox.settings.state_dir}")
            for line in [*lines, "Press Ctrl-C to stop."]:
                print(line, file=stream)
            stream.flush()
            if on_ready is not None:
                on_ready(sandbox)
            await stop_event.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
    print("mediagen sandbox: stopped.", file=stream)
    stream.flush()


def serve_forever(
    vendors: Sequence[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    settings: SandboxSettings | None = None,
    out: TextIO | None = None,
) -> None:
    """`mediagen sandbox`: serve every fake (or `vendors`), print base URLs and env lines, stop on Ctrl-C.

    With `port` set, vendors listen on port, port+1, ... in the order given.
    """
    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C, or a loop without signal handlers
        asyncio.run(serve(vendors, host, port, settings=settings, out=out))
