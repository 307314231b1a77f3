"""The sandbox framework: binding, env lines, clean stops, the thread runner, `serve`, settings, auth, latency."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlsplit

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from mediagen.sandbox import Sandbox, SandboxSettings, SandboxThread, describe, serve, start_in_thread


async def _port_is_closed(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    await writer.wait_closed()
    return False


async def test_each_vendor_listens_on_its_own_loopback_ephemeral_port() -> None:
    async with Sandbox(vendors=("openai",)) as sb:
        url = urlsplit(sb.base_url("openai"))
        assert (url.scheme, url.hostname, url.path) == ("http", "127.0.0.1", "/v1")
        assert url.port not in (None, 0)
        assert sb.origin("openai") == f"http://127.0.0.1:{url.port}"


async def test_servers_are_closed_after_the_context_exits() -> None:
    async with Sandbox(vendors=("openai",)) as sb:
        port = urlsplit(sb.base_url("openai")).port
        assert port is not None
        assert not await _port_is_closed(port)
    assert await _port_is_closed(port)
    assert not sb.running


async def test_env_lines_point_a_default_constructed_sdk_client_at_the_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Sandbox(vendors=("openai",)) as sb:
        env = sb.env()
        assert env == {"OPENAI_BASE_URL": sb.base_url("openai"), "OPENAI_API_KEY": "sandbox-key"}
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        async with AsyncOpenAI(max_retries=0) as client:
            result = await client.images.generate(model="gpt-image-1", prompt="a fox", size="1024x1024")
        assert result.data
        assert describe(sb)[-7:] == [
            "They accept any non-empty key.",
            "Point an app at it with these environment variables:",
            f"OPENAI_BASE_URL={sb.base_url('openai')}",
            "OPENAI_API_KEY=sandbox-key",
            "For mediagen itself, also poll the fakes' jobs quickly:",
            "MEDIAGEN_BACKENDS__OPENAI__EXTRA__POLL_INTERVAL=0.1",
            "MEDIAGEN_BACKENDS__OPENAI__EXTRA__POLL_MAX_INTERVAL=0.1",
        ]


async def test_with_an_api_key_set_the_env_lines_carry_the_key_the_fakes_accept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from google import genai

    async with Sandbox(vendors=("openai", "google"), settings=SandboxSettings(api_key="only-this")) as sb:
        env = sb.env()
        assert env["OPENAI_API_KEY"] == env["GOOGLE_API_KEY"] == "only-this"
        assert "They accept only the key in the env lines below (api_key)." in describe(sb)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        async with AsyncOpenAI(max_retries=0) as client:
            assert (await client.images.generate(model="gpt-image-1", prompt="a fox")).data
        google = genai.Client().aio  # GOOGLE_API_KEY and GOOGLE_GEMINI_BASE_URL from the env lines
        answer = await google.models.generate_content(model="gemini-2.5-flash", contents="hello")
        await google.aclose()
        assert answer.text


async def test_off_loopback_the_sandbox_says_so_and_that_it_takes_any_key() -> None:
    async with Sandbox(vendors=("openai",), host="0.0.0.0") as sb:
        lines = describe(sb)
    assert lines[0] == "mediagen sandbox: fake vendor APIs on 0.0.0.0"
    assert lines[1] == (
        "WARNING: 0.0.0.0 is not loopback: anyone who can reach this machine can call the fakes. "
        "They accept any non-empty key."
    )
    async with Sandbox(vendors=("openai",)) as sb:
        assert not any("WARNING" in line for line in describe(sb))


async def test_unknown_vendors_are_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known vendors: openai"):
        Sandbox(vendors=("acme",))


async def test_stopping_releases_a_hanging_request_promptly() -> None:
    sb = Sandbox(vendors=("openai",), settings=SandboxSettings(hang_seconds=120))
    await sb.start()
    sb.faults.push("openai", "hang")
    async with AsyncOpenAI(base_url=sb.base_url("openai"), api_key="k", max_retries=0, timeout=60) as client:
        call = asyncio.ensure_future(client.images.generate(model="gpt-image-1", prompt="x"))
        assert await asyncio.to_thread(sb.faults.wait_applied, 1, 10.0)
        started = time.monotonic()
        await sb.stop()
        assert time.monotonic() - started < 5
        with pytest.raises((openai.InternalServerError, openai.APIConnectionError)):
            await call


async def test_latency_holds_every_answer_back() -> None:
    async with (
        Sandbox(vendors=("openai",), latency=0.2) as sb,
        AsyncOpenAI(base_url=sb.base_url("openai"), api_key="k", max_retries=0) as client,
    ):
        started = time.monotonic()
        await client.videos.list()
        assert time.monotonic() - started >= 0.2


async def test_a_missing_key_gets_openais_401_shape() -> None:
    async with Sandbox(vendors=("openai",)) as sb:
        request = urllib.request.Request(f"{sb.base_url('openai')}/videos")
        status, body = await asyncio.to_thread(_fetch, request)
    assert status == 401
    assert body.startswith(b'{"error": {"message": "You didn\'t provide an API key.')


def _fetch(request: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


async def test_a_configured_key_rejects_others_without_echoing_them() -> None:
    settings = SandboxSettings(api_key="right-key")
    async with (
        Sandbox(vendors=("openai",), settings=settings) as sb,
        AsyncOpenAI(base_url=sb.base_url("openai"), api_key="sk-wrong-secret-123", max_retries=0) as client,
    ):
        with pytest.raises(openai.AuthenticationError) as info:
            await client.videos.list()
        assert info.value.code == "invalid_api_key"
        assert "sk-wrong-secret-123" not in info.value.response.text


async def test_unknown_paths_get_openais_404_shape(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        await client.post("/nowhere", cast_to=object, body={})
    assert info.value.body == {"message": "Invalid URL (POST /v1/nowhere)", "type": "invalid_request_error",
                               "param": None, "code": None}  # fmt: skip


async def test_calls_log_every_answer_with_its_status_and_fault(sandbox: Sandbox, client: AsyncOpenAI) -> None:
    sandbox.faults.push("openai", "server_error")
    with pytest.raises(openai.InternalServerError):
        await client.videos.list()
    await client.videos.list()
    calls = sandbox.calls("openai")
    assert [(c.method, c.path, c.status, c.fault) for c in calls] == [
        ("GET", "/v1/videos", 500, "server_error"),
        ("GET", "/v1/videos", 200, None),
    ]


async def test_standing_faults_from_settings_apply_from_the_start() -> None:
    settings = SandboxSettings(faults=("openai:unavailable;times=1",))
    async with (
        Sandbox(vendors=("openai",), settings=settings) as sb,
        AsyncOpenAI(base_url=sb.base_url("openai"), api_key="k", max_retries=0) as client,
    ):
        with pytest.raises(openai.InternalServerError) as info:
            await client.videos.list()
        assert info.value.status_code == 503
        await client.videos.list()


def test_settings_come_from_text_values_with_errors_naming_the_key() -> None:
    settings = SandboxSettings.from_strings(
        {
            "latency": "0.25",
            "job_polls": "5",
            "video_min_bytes": "1048576",
            "faults": "openai:rate_limit;times=1, openai:hang;seconds=2",
        }
    )
    assert (settings.latency, settings.job_polls, settings.video_min_bytes) == (0.25, 5, 1048576)
    assert settings.faults == ("openai:rate_limit;times=1", "openai:hang;seconds=2")
    with pytest.raises(ValueError, match="job_polls='many' from --job-polls"):
        SandboxSettings.from_strings({"job_polls": "many"}, source="--job-polls")
    with pytest.raises(ValueError, match="unknown sandbox fault"):
        SandboxSettings.from_strings({"faults": "openai:explode"})
    with pytest.raises(ValueError, match="unknown sandbox setting 'speed'"):
        SandboxSettings.from_strings({"speed": "1"})


def test_the_thread_runner_serves_synchronous_clients_and_stops() -> None:
    with SandboxThread(("openai",)) as sb:
        client = OpenAI(base_url=sb.base_url("openai"), api_key="k", max_retries=0)
        speech = client.audio.speech.create(
            model="gpt-4o-mini-tts", input="hello", voice="coral", response_format="wav"
        )
        assert speech.content[:4] == b"RIFF"
        client.close()
        port = urlsplit(sb.base_url("openai")).port
    assert port is not None
    assert asyncio.run(_port_is_closed(port))


def test_start_in_thread_returns_a_running_sandbox() -> None:
    sb = start_in_thread(("openai",))
    try:
        sb.faults.push("openai", "rate_limit")
        with (
            OpenAI(base_url=sb.base_url("openai"), api_key="k", max_retries=0) as client,
            pytest.raises(openai.RateLimitError),
        ):
            client.videos.list()
        assert sb.state("openai").videos == {}
    finally:
        sb.stop()


async def test_serve_prints_base_urls_and_env_lines_and_stops_when_asked() -> None:
    out, stop, ready = io.StringIO(), asyncio.Event(), asyncio.Event()
    urls: list[str] = []

    def on_ready(sb: Sandbox) -> None:
        urls.append(sb.base_url("openai"))
        ready.set()

    task = asyncio.ensure_future(serve(["openai"], out=out, stop=stop, on_ready=on_ready))
    await asyncio.wait_for(ready.wait(), 10)
    text = out.getvalue()
    assert f"openai     {urls[0]}" in text
    assert f"OPENAI_BASE_URL={urls[0]}\nOPENAI_API_KEY=sandbox-key\n" in text
    stop.set()
    await asyncio.wait_for(task, 10)
    assert out.getvalue().endswith("mediagen sandbox: stopped.\n")


def test_serve_forever_runs_until_ctrl_c() -> None:
    code = "from mediagen.sandbox import serve_forever; serve_forever(['openai'])"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        base_url = next(line.split("=", 1)[1].strip() for line in lines if line.startswith("OPENAI_BASE_URL="))
        request = urllib.request.Request(f"{base_url}/videos", headers={"Authorization": "Bearer k"})
        assert _fetch(request)[0] == 200
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "stopped" in rest
