"""The Gemini API client's aiohttp session (adapters/google/session.py), with the real google-genai against the
sandbox: the proxy settings read once, not per request; a proxy set in the environment used, NO_PROXY honoured;
one session per event loop, closed with its loop."""

from __future__ import annotations

import asyncio
import base64
import gc
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp.client
import pytest
from aiohttp import web
from yarl import URL

from mediagen.adapters.google import PLUGIN
from mediagen.adapters.google import session as google_session
from mediagen.adapters.google.generator import GoogleGenerator
from mediagen.domain.errors import BackendError, MediaGenError, TransientBackendError
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions, GenerationContext
from mediagen.sandbox.server import Sandbox, SandboxThread
from mediagen.sandbox.settings import SandboxSettings

KEY = "sandbox-google-session-key"
MODEL = "gemini-3.1-flash-image-preview"
FOX = MediaRequest(media_type=MediaType.IMAGE, prompt="a red fox")


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("google",), settings=SandboxSettings(api_key=KEY)) as running:
        yield running


@pytest.fixture(autouse=True)
def no_proxy_from_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def generator_for(sandbox: Sandbox | SandboxThread) -> GoogleGenerator:
    made = PLUGIN.factory(BackendOptions(base_url=sandbox.base_url("google")))
    assert isinstance(made, GoogleGenerator)
    return made


async def one_image(generator: GoogleGenerator) -> bytes:
    ctx = GenerationContext(credentials=Secret(KEY), model=MODEL, timeout=30.0)
    generated = await generator.generate(FOX, ctx)
    return b"".join([chunk async for chunk in generated.stream])


class Counted:
    """Wraps a function and counts its calls."""

    def __init__(self, function: Any) -> None:
        self.function = function
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self.function(*args)


async def test_gemini_calls_read_the_proxy_settings_once_not_in_two_thread_jobs_per_request(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    per_request_proxy = Counted(aiohttp.client.get_env_proxy_for_url)  # type: ignore[attr-defined]
    per_request_netrc = Counted(aiohttp.ClientSession._get_netrc_auth)
    ours = Counted(google_session.get_env_proxy_for_url)  # type: ignore[attr-defined]
    monkeypatch.setattr(aiohttp.client, "get_env_proxy_for_url", per_request_proxy)
    monkeypatch.setattr(aiohttp.ClientSession, "_get_netrc_auth", lambda self, host: per_request_netrc(self, host))
    monkeypatch.setattr(google_session, "get_env_proxy_for_url", ours)
    generator = generator_for(sandbox)
    try:
        for _ in range(3):
            assert await one_image(generator)
    finally:
        await generator.aclose()
    assert (per_request_proxy.calls, per_request_netrc.calls) == (0, 0)
    assert ours.calls == 1


@pytest.fixture
async def proxy(sandbox: Sandbox) -> AsyncIterator[tuple[str, list[web.Request]]]:
    """A forwarding HTTP proxy on loopback: what it was asked for, and its URL."""
    seen: list[web.Request] = []
    upstream = sandbox.base_url("google").rstrip("/")

    async def forward(request: web.Request) -> web.Response:
        seen.append(request)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "proxy-authorization")}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method, upstream + request.path_qs, headers=headers, data=await request.read()
            ) as answer,
        ):
            return web.Response(status=answer.status, body=await answer.read(), content_type=answer.content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_a_proxy_set_in_the_environment_carries_the_calls_with_its_credentials(
    sandbox: Sandbox, proxy: tuple[str, list[web.Request]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = proxy
    monkeypatch.setenv("HTTP_PROXY", url.replace("http://", "http://fox:den@"))
    generator = generator_for(sandbox)
    try:
        assert await one_image(generator)
        assert await one_image(generator)
    finally:
        await generator.aclose()
    assert len(seen) == 2
    assert seen[0].path.endswith(f"/models/{MODEL}:generateContent")
    assert seen[0].headers["Proxy-Authorization"] == "Basic " + base64.b64encode(b"fox:den").decode()


async def test_no_proxy_naming_the_host_sends_the_calls_directly(
    sandbox: Sandbox, proxy: tuple[str, list[web.Request]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = proxy
    monkeypatch.setenv("HTTP_PROXY", url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    generator = generator_for(sandbox)
    try:
        assert await one_image(generator)
    finally:
        await generator.aclose()
    assert seen == []


def sessions_made(monkeypatch: pytest.MonkeyPatch) -> list[aiohttp.ClientSession]:
    """Every aiohttp session made from here on (by session.py, the only one made once the sandbox is up)."""
    made: list[aiohttp.ClientSession] = []
    real_init = aiohttp.ClientSession.__init__

    def recorded(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", recorded)
    return made


def test_each_event_loop_gets_its_own_session_closed_when_that_loop_shuts_down(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A generator used from two asyncio.run loops (generate_sync with one container does this) works on both; each
    loop's session is closed as the loop ends, so nothing reports an unclosed session or connector."""
    made = sessions_made(monkeypatch)
    with SandboxThread(("google",), settings=SandboxSettings(api_key=KEY)) as sandbox:
        generator = generator_for(sandbox)
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            assert asyncio.run(one_image(generator))
            assert len(made) == 1 and made[0].closed  # closed as its loop shut down
            assert asyncio.run(one_image(generator))
            assert len(made) == 2 and made[1].closed
            del generator
            gc.collect()
    assert not [record for record in caplog.records if "Unclosed" in record.getMessage()]


async def test_aclose_closes_this_loops_session(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    made = sessions_made(monkeypatch)
    generator = generator_for(sandbox)
    assert await one_image(generator)
    assert await one_image(generator)
    assert len(made) == 1 and not made[0].closed
    await generator.aclose()
    assert made[0].closed


def test_env_proxy_is_what_aiohttp_would_pick_with_the_credentials_in_the_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    endpoint = "https://generativelanguage.googleapis.com/"
    monkeypatch.setenv("HTTPS_PROXY", "http://fox:den@proxy.example:3128")
    assert google_session.env_proxy(endpoint) == URL("http://fox:den@proxy.example:3128")
    # credentials for the proxy host from .netrc, as aiohttp's trust_env reads them
    (tmp_path / "netrc").write_text("machine proxy.example login owl password nest\n")
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert google_session.env_proxy(endpoint) == URL("http://owl:nest@proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "googleapis.com")
    assert google_session.env_proxy(endpoint) is None
    monkeypatch.delenv("NO_PROXY")
    monkeypatch.delenv("HTTPS_PROXY")
    assert google_session.env_proxy(endpoint) is None


async def test_a_proxy_that_cannot_be_reached_is_an_error_naming_it_and_the_fix(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as closed:  # a loopback port nothing listens on once this block ends
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://fox:den-secret@127.0.0.1:{port}")
    generator = generator_for(sandbox)
    try:
        with pytest.raises(TransientBackendError) as caught:
            await one_image(generator)
    finally:
        await generator.aclose()
    message = caught.value.message
    assert f"proxy 127.0.0.1:{port}" in message and "HTTP_PROXY" in message and "NO_PROXY" in message
    assert "den-secret" not in message


@pytest.fixture
async def refusing_proxy() -> AsyncIterator[tuple[str, list[str]]]:
    """A proxy that answers every CONNECT with the status its first request line's host names (407 or 502)."""
    asked: list[str] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line = head.split(b"\r\n", 1)[0].decode()
        asked.append(line)
        status = b"502 Bad Gateway" if "down.test" in line else b"407 Proxy Authentication Required"
        writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://fox:den-secret@127.0.0.1:{port}", asked
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("host", "error", "fix"),
    [
        ("gemini.test", BackendError, "user and password"),
        ("down.test", TransientBackendError, "retrying usually helps"),
    ],
)
async def test_a_proxy_that_refuses_the_https_tunnel_is_an_error_naming_it_and_what_to_check(
    refusing_proxy: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    error: type[MediaGenError],
    fix: str,
) -> None:
    url, asked = refusing_proxy
    monkeypatch.setenv("HTTPS_PROXY", url)
    made = PLUGIN.factory(BackendOptions(base_url=f"https://{host}/"))
    assert isinstance(made, GoogleGenerator)
    try:
        with pytest.raises(MediaGenError) as caught:
            await one_image(made)
    finally:
        await made.aclose()
    assert type(caught.value) is error
    assert asked and asked[0].startswith(f"CONNECT {host}:443 ")
    message = caught.value.message
    assert "the proxy 127.0.0.1:" in message and "HTTPS_PROXY" in message and fix in message
    assert "den-secret" not in message
