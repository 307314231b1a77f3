"""The ElevenLabs adapter's two transports, with the real AsyncElevenLabs against the sandbox's ElevenLabs fake: a
first call in a fresh process runs on httpx's own transport (aiohttp is not loaded for it), later calls on aiohttp's,
warm_up builds on aiohttp at once; and every audio kind, its wire requests, results and errors, is the same on both.

The fresh-process checks run in a child process (its sys.modules holds no aiohttp) against a sandbox served by
this test's process."""

from __future__ import annotations

import ast
import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mediagen.adapters.credentials.env import StaticCredentialSource
from mediagen.adapters.elevenlabs import PLUGIN, SPEC
from mediagen.adapters.elevenlabs.generator import ElevenLabsGenerator
from mediagen.adapters.sinks.filesystem import FilesystemSink
from mediagen.adapters.stores.memory import MemoryStore
from mediagen.application.codec import decode_request, encode_request
from mediagen.application.registry import BackendRegistry
from mediagen.application.selector import BackendSelector
from mediagen.application.service import MediaService
from mediagen.application.settings import RetrySettings, Settings, TimeoutSettings
from mediagen.domain.errors import MediaGenError
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.domain.sniff import SNIFF_BYTES, sniff
from mediagen.ports.generator import BackendOptions, BackendPlugin, MediaGenerator
from mediagen.sandbox import Sandbox, SandboxSettings, media
from mediagen.sandbox.elevenlabs.state import ElevenLabsState

KEY = "sk_0123456789abcdef0123456789abcdef0123456789abcdef"
FAST = {"poll_interval": 0.01, "poll_max_interval": 0.02}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    settings = SandboxSettings(job_polls=2, poll_after_ms=1, api_key=KEY)
    async with Sandbox(vendors=("elevenlabs",), settings=settings) as running:
        yield running


# --- a fresh process ----------------------------------------------------------------------------------------------

FRESH = """
import asyncio, sys, threading
from mediagen.adapters.elevenlabs import PLUGIN
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions, GenerationContext

BASE_URL, KEY, SCENARIO = sys.argv[1:4]

def transport(generator):
    # The httpx client under the SDK client the next call gets, checked to be the one the SDK really calls through.
    client = generator.clients.transport
    assert generator.clients._client._client_wrapper.httpx_client.httpx_client is client
    return type(client).__module__.partition(".")[0] + "." + type(client).__name__

def session_opened(generator):
    # aiohttp's session exists only once aiohttp's transport has sent a request.
    return getattr(generator.clients.transport._transport, "client", None) is not None

class OnTheLoop:
    # Records the modules a call imports from the main thread, where the event loop runs.
    def __init__(self):
        self.names = []
    def find_spec(self, name, path=None, target=None):
        if threading.current_thread() is threading.main_thread():
            self.names.append(name)
        return None

async def call(generator, prompt):
    ctx = GenerationContext(credentials=Secret(KEY), model="eleven_multilingual_v2", timeout=30)
    media = await generator.generate(MediaRequest(media_type="audio", prompt=prompt), ctx)
    return b"".join([chunk async for chunk in media.stream])

async def main():
    generator = PLUGIN.factory(BackendOptions(base_url=BASE_URL))
    seen = []
    await generator.prepare(Secret(KEY))
    if SCENARIO == "abandoned":
        ctx = GenerationContext(credentials=Secret(KEY), model="eleven_multilingual_v2", timeout=30)
        media = await generator.generate(MediaRequest(media_type="audio", prompt="unread"), ctx)
        seen.append((transport(generator), generator.clients.switch_due))
        await media.stream.aclose()  # as the service does when it gives a result up
        await generator.clients.switched()
        seen.append((transport(generator), "aiohttp" in sys.modules))
    elif SCENARIO == "warm_up":
        seen.append((transport(generator), "aiohttp" in sys.modules))
        await generator.warm_up(Secret(KEY))
        seen.append((transport(generator), "aiohttp" in sys.modules))
        await call(generator, "warm")
        seen.append((transport(generator), session_opened(generator)))
    else:
        watch = OnTheLoop()
        sys.meta_path.insert(0, watch)
        first = await call(generator, "first")
        sys.meta_path.remove(watch)
        seen.append((transport(generator), "aiohttp" in sys.modules, len(first) > 0, watch.names))
        if SCENARIO == "switch":
            await generator.clients.switched()
            seen.append((transport(generator), "aiohttp" in sys.modules))
            later = await call(generator, "later")
            seen.append((transport(generator), session_opened(generator), len(later) > 0))
    await generator.aclose()
    seen.append(("aiohttp" in sys.modules, generator.clients.built))
    print(repr(seen))

asyncio.run(main())
"""


async def fresh_process(sandbox: Sandbox, scenario: str) -> list[tuple[Any, ...]]:
    """Run FRESH in a child process against this process's sandbox; what it saw."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FRESH, sandbox.base_url("elevenlabs"), KEY, scenario,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    seen: list[tuple[Any, ...]] = ast.literal_eval(out.decode().strip().splitlines()[-1])
    return seen


async def test_a_first_call_runs_on_httpx_transport_and_later_calls_on_aiohttp(sandbox: Sandbox) -> None:
    seen = await fresh_process(sandbox, "switch")
    assert seen == [
        ("httpx.AsyncClient", False, True, []),  # the first call: aiohttp not imported, nothing on the loop
        ("httpx_aiohttp.HttpxAiohttpClient", True),  # loaded and built in a worker thread after it
        ("httpx_aiohttp.HttpxAiohttpClient", True, True),  # the next call went through aiohttp
        (True, 2),
    ]


async def test_a_first_stream_closed_unread_also_ends_the_first_call(sandbox: Sandbox) -> None:
    seen = await fresh_process(sandbox, "abandoned")
    assert seen == [
        ("httpx.AsyncClient", True),  # the call is under way: the switch waits for its end
        ("httpx_aiohttp.HttpxAiohttpClient", True),
        (True, 2),
    ]


async def test_a_process_that_closes_the_generator_after_one_call_never_loads_aiohttp(sandbox: Sandbox) -> None:
    seen = await fresh_process(sandbox, "one_call")
    assert seen == [("httpx.AsyncClient", False, True, []), (False, 1)]


async def test_warm_up_builds_on_aiohttp_at_once(sandbox: Sandbox) -> None:
    seen = await fresh_process(sandbox, "warm_up")
    assert seen == [
        ("httpx.AsyncClient", False),  # prepare alone: what a first call would use
        ("httpx_aiohttp.HttpxAiohttpClient", True),
        ("httpx_aiohttp.HttpxAiohttpClient", True),
        (True, 2),
    ]


async def test_a_warmed_up_generator_builds_its_first_client_on_aiohttp(sandbox: Sandbox) -> None:
    generator = ElevenLabsGenerator(BackendOptions(base_url=sandbox.base_url("elevenlabs")))
    try:
        await generator.warm_up(None)  # no key yet: the client comes with the first call
        await generator.prepare(Secret(KEY))
        assert generator.clients.on_aiohttp and not generator.clients.switch_due
    finally:
        await generator.aclose()


# --- every kind, the same on both transports ---------------------------------------------------------------------

ON_HTTPX = BackendPlugin(SPEC, lambda options: ElevenLabsGenerator(options, spec=SPEC, aiohttp=False))


def service(
    plugin: BackendPlugin, sandbox: Sandbox, root: Path, key: str = KEY
) -> tuple[MediaService, BackendRegistry]:
    retry = RetrySettings(attempts=1, wait_initial=0, wait_max=0, wait_jitter=0)
    registry = BackendRegistry(
        [plugin], {"elevenlabs": BackendOptions(base_url=sandbox.base_url("elevenlabs"), extra=FAST)}
    )
    return MediaService(
        registry=registry,
        selector=BackendSelector(registry.specs, StaticCredentialSource({"elevenlabs": key})),
        store=MemoryStore(),
        sink=FilesystemSink(allowed_roots=[root], default_dir=root),
        settings=Settings(retry=retry, timeouts=TimeoutSettings()),
        encode_request=encode_request,
        decode_request=decode_request,
    ), registry


def kinds(samples: Path) -> dict[str, dict[str, Any]]:
    """One request per audio kind (the inputs written under `samples`)."""
    voice, wav, film = samples / "me.mp3", samples / "me.wav", samples / "film.mp4"
    if not voice.exists():
        voice.write_bytes(media.speech("mp3", 2.0, seed=3))
        wav.write_bytes(media.speech("wav", 1.5, seed=4))
        film.write_bytes(media.mp4(1.0, 64, 48, prompt="a talk"))
    sailor = "An old sailor with a deep, warm and slightly hoarse voice, telling stories by the fire"
    return {
        "speech": {"prompt": "Hello from the sandbox.", "voice": "George", "extra": {"stability": 0.4}},
        "music": {"audio_kind": "music", "prompt": "a calm piano piece", "duration": 3},
        "sound_effect": {"audio_kind": "sound_effect", "prompt": "rain on a tin roof", "audio_format": "wav"},
        "voice_conversion": {"audio_kind": "voice_conversion", "input_audio": wav, "voice": "George"},
        "audio_isolation": {"audio_kind": "audio_isolation", "input_audio": wav},
        "voice_design": {"audio_kind": "voice_design", "prompt": sailor, "extra": {"save_voice": True}},
        "voice_clone": {"audio_kind": "voice_clone", "prompt": "My voice.", "input_audio": [voice, wav]},
        "dubbing": {"audio_kind": "dubbing", "input_audio": film, "language": "es"},
    }


async def run_kind(
    plugin: BackendPlugin, sandbox: Sandbox, root: Path, fields: dict[str, Any], *, fault: str | None = None
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], bool]:
    """One request of a kind on `plugin`'s generator: its outcome (the result's shape, or the error's), the wire
    requests the fake received (ids made by the fake blanked out), and whether the client ran on aiohttp."""
    state = sandbox.state("elevenlabs")
    assert isinstance(state, ElevenLabsState)
    first = len(state.requests)
    ids = {voice.voice_id for voice in state.own_voices()} | set(state.dubbings) | set(state.previews)
    made_service, registry = service(plugin, sandbox, root)
    made_ids: set[str] = set()
    async with made_service as svc:
        if fault is not None:
            sandbox.faults.push("elevenlabs", fault, times=None)
        try:
            result = await svc.generate(MediaRequest(media_type=MediaType.AUDIO, **fields))
            named = [result.metadata.get(name) for name in ("cloned_voice_id", "voice_id", "dubbing_id")]
            made_ids.update(str(value) for value in [*named, *result.metadata.get("generated_voice_ids", ())] if value)
            path = result.artifact.path
            assert isinstance(path, Path)
            outcome: tuple[Any, ...] = (
                path.suffix,
                result.artifact.mime_type,
                sniff(path.read_bytes()[:SNIFF_BYTES]),
                sorted(result.metadata),
                sorted(result.applied),
                [(a.name, a.requested, a.used) for a in result.adapted],
            )
        except MediaGenError as exc:
            outcome = (type(exc).__name__, exc.retryable, exc.message, getattr(exc, "field", None),
                       getattr(exc, "retry_after", None))  # fmt: skip
        finally:
            sandbox.faults.clear("elevenlabs")
        generator: MediaGenerator = await registry.ready("elevenlabs", Secret(KEY))
        assert isinstance(generator, ElevenLabsGenerator)
        on_aiohttp = generator.clients.on_aiohttp
    made = {voice.voice_id for voice in state.own_voices()} | set(state.dubbings) | set(state.previews)
    fresh = sorted((made - ids) | made_ids, key=len, reverse=True)

    def blank(text: str) -> str:
        for made_id in fresh:
            text = text.replace(made_id, "<id>")
        return text

    wire = [
        (r.method, blank(r.path), _blank_ids(r.params, blank), [(f.field, f.filename, f.content_type, f.sha256)
                                                                for f in r.files])
        for r in state.requests[first:]
    ]  # fmt: skip
    return tuple(_blank_ids(outcome, blank)), wire, on_aiohttp


def _blank_ids(value: Any, blank: Any) -> Any:
    if isinstance(value, str):
        return blank(value)
    if isinstance(value, dict):
        return {key: _blank_ids(item, blank) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_blank_ids(item, blank) for item in value]
    return value


KINDS = ["speech", "music", "sound_effect", "voice_conversion", "audio_isolation", "voice_design", "voice_clone",
         "dubbing"]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
async def test_every_kind_sends_and_writes_the_same_on_both_transports(
    sandbox: Sandbox, tmp_path: Path, kind: str
) -> None:
    fields = kinds(tmp_path)[kind]
    on_aiohttp = await run_kind(PLUGIN, sandbox, tmp_path / "aiohttp", fields)
    on_httpx = await run_kind(ON_HTTPX, sandbox, tmp_path / "httpx", fields)
    assert (on_aiohttp[2], on_httpx[2]) == (True, False)  # this process has aiohttp loaded (the sandbox uses it)
    assert on_aiohttp[0][0].startswith("."), on_aiohttp[0]  # a file was written
    assert on_httpx[:2] == on_aiohttp[:2]


@pytest.mark.parametrize(
    ("kind", "fault"),
    [("speech", "rate_limit;retry_after=7"), ("speech", "truncated_download"), ("voice_clone", "server_error"),
     ("audio_isolation", "quota_exceeded"), ("dubbing", "job_fails"), ("music", "content_policy"),
     ("sound_effect", "unavailable"), ("voice_design", "malformed")],
)  # fmt: skip
async def test_errors_are_translated_the_same_on_both_transports(
    sandbox: Sandbox, tmp_path: Path, kind: str, fault: str
) -> None:
    fields = kinds(tmp_path)[kind]
    on_aiohttp = await run_kind(PLUGIN, sandbox, tmp_path / "aiohttp", fields, fault=fault)
    on_httpx = await run_kind(ON_HTTPX, sandbox, tmp_path / "httpx", fields, fault=fault)
    assert not on_aiohttp[0][0].startswith("."), on_aiohttp[0]  # an error, not a file
    assert on_httpx[:2] == on_aiohttp[:2]


async def test_a_wrong_key_fails_the_same_on_both_transports(sandbox: Sandbox, tmp_path: Path) -> None:
    fields = {**kinds(tmp_path)["speech"], "backend": "elevenlabs"}
    outcomes = []
    for plugin in (PLUGIN, ON_HTTPX):
        svc, _ = service(plugin, sandbox, tmp_path, key="sk_wrong")
        async with svc:
            with pytest.raises(MediaGenError) as caught:
                await svc.generate(MediaRequest(media_type=MediaType.AUDIO, **fields))
        outcomes.append((type(caught.value).__name__, caught.value.message))
    assert outcomes[0] == outcomes[1] and outcomes[0][0] == "AuthenticationFailed"
