"""The ElevenLabs adapter with the real AsyncElevenLabs against the sandbox's ElevenLabs fake, mostly through
MediaService with the real FilesystemSink: every kind, voice names, clone cleanup, dubbing jobs, faults, keys."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mediagen.adapters.credentials.env import StaticCredentialSource
from mediagen.adapters.elevenlabs import PLUGIN
from mediagen.adapters.elevenlabs.generator import ElevenLabsGenerator
from mediagen.adapters.sinks.filesystem import FilesystemSink
from mediagen.adapters.stores.memory import MemoryStore
from mediagen.application.codec import decode_request, encode_request
from mediagen.application.registry import BackendRegistry
from mediagen.application.selector import BackendSelector
from mediagen.application.service import MediaService
from mediagen.application.settings import RetrySettings, Settings, TimeoutSettings
from mediagen.domain.errors import (
    AuthenticationFailed,
    BackendError,
    ContentRejected,
    GenerationTimeout,
    InvalidRequest,
    MediaGenError,
    RateLimited,
    TransientBackendError,
)
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.domain.sniff import SNIFF_BYTES, sniff
from mediagen.ports.continuation import ContinuationStore
from mediagen.ports.generator import BackendOptions, GeneratedMedia, GenerationContext
from mediagen.ports.progress import Polling, Submitted
from mediagen.sandbox import Sandbox, SandboxSettings, media
from mediagen.sandbox.elevenlabs.state import ElevenLabsState
from mediagen.testing import RecordingListener

#: Shaped like a real ElevenLabs key, so both the exact value and the key pattern would be caught if leaked.
KEY = "sk_0123456789abcdef0123456789abcdef0123456789abcdef"
FAST = {"poll_interval": 0.01, "poll_max_interval": 0.02}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    settings = SandboxSettings(job_polls=2, poll_after_ms=1, api_key=KEY, hang_seconds=5)
    async with Sandbox(vendors=("elevenlabs",), settings=settings) as running:
        yield running


def state(sandbox: Sandbox) -> ElevenLabsState:
    found = sandbox.state("elevenlabs")
    assert isinstance(found, ElevenLabsState)
    return found


def options(sandbox: Sandbox, **extra: Any) -> BackendOptions:
    return BackendOptions(base_url=sandbox.base_url("elevenlabs"), extra={**FAST, **extra})


def build(
    sandbox: Sandbox, root: Path, store: ContinuationStore | None = None, *, attempts: int = 2, **extra: Any
) -> MediaService:
    retry = RetrySettings(attempts=attempts, wait_initial=0, wait_max=0, wait_jitter=0)
    registry = BackendRegistry([PLUGIN], {"elevenlabs": options(sandbox, **extra)})
    return MediaService(
        registry=registry,
        selector=BackendSelector(registry.specs, StaticCredentialSource({"elevenlabs": KEY})),
        store=store if store is not None else MemoryStore(),
        sink=FilesystemSink(allowed_roots=[root], default_dir=root),
        settings=Settings(retry=retry, timeouts=TimeoutSettings()),
        encode_request=encode_request,
        decode_request=decode_request,
    )


@pytest.fixture
def out(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


@pytest.fixture
async def svc(sandbox: Sandbox, out: Path) -> AsyncIterator[MediaService]:
    async with build(sandbox, out) as service:
        yield service


@pytest.fixture
async def generator(sandbox: Sandbox) -> AsyncIterator[ElevenLabsGenerator]:
    made = PLUGIN.factory(options(sandbox))
    assert isinstance(made, ElevenLabsGenerator)
    yield made
    await made.aclose()


@pytest.fixture
def voice_sample(tmp_path: Path) -> Path:
    path = tmp_path / "me.mp3"
    path.write_bytes(media.speech("mp3", 2.0, seed=3))
    return path


@pytest.fixture
def wav_sample(tmp_path: Path) -> Path:
    path = tmp_path / "me.wav"
    path.write_bytes(media.speech("wav", 1.5, seed=4))
    return path


def ctx(model: str, **kwargs: Any) -> GenerationContext:
    return GenerationContext(credentials=Secret(KEY), model=model, timeout=kwargs.pop("timeout", 60.0), **kwargs)


async def read(generated: GeneratedMedia) -> bytes:
    return b"".join([chunk async for chunk in generated.stream])


def speech(**kwargs: Any) -> MediaRequest:
    return MediaRequest(media_type=MediaType.AUDIO, **kwargs)


def calls_to(sandbox: Sandbox, method: str, prefix: str) -> int:
    return sum(1 for call in sandbox.calls("elevenlabs") if call.method == method and call.path.startswith(prefix))


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def overwrite(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def head_of(path: Path) -> str | None:
    with path.open("rb") as handle:
        return sniff(handle.read(SNIFF_BYTES))


# --- speech --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "mime", "suffix"),
    [(None, "audio/mpeg", ".mp3"), ("wav", "audio/wav", ".wav"), ("opus", "audio/opus", ".opus"),
     ("mp3_22050_32", "audio/mpeg", ".mp3"), ("pcm_16000", "audio/pcm", ".pcm"), ("ulaw", "audio/pcm", ".pcm")],
)  # fmt: skip
async def test_speech_is_written_in_the_format_asked(
    svc: MediaService, sandbox: Sandbox, fmt: str | None, mime: str, suffix: str
) -> None:
    result = await svc.generate(speech(prompt="Hello from the sandbox.", audio_format=fmt))
    assert result.backend == "elevenlabs" and result.model == "eleven_multilingual_v2"
    assert result.artifact.path.suffix == suffix and result.artifact.mime_type == mime
    if mime != "audio/pcm":
        assert head_of(result.artifact.path) == mime
    [received] = state(sandbox).requests_to("/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb")
    assert received.params.get("output_format") == result.metadata["output_format"]


async def test_a_voice_name_is_resolved_once_per_process_and_an_unknown_one_lists_close_matches(
    svc: MediaService, sandbox: Sandbox
) -> None:
    first = await svc.generate(speech(prompt="One.", voice="george"))
    second = await svc.generate(speech(prompt="Two.", voice="George"))
    assert first.metadata["voice_id"] == second.metadata["voice_id"] == "JBFqnCBsd6RMkjVDRZzb"
    assert calls_to(sandbox, "GET", "/v1/voices") == 1
    spoken = calls_to(sandbox, "POST", "/v1/text-to-speech")
    with pytest.raises(InvalidRequest) as caught:
        await svc.generate(speech(prompt="Three.", voice="Georgy", backend="elevenlabs"))
    assert caught.value.field == "voice" and "George" in caught.value.message
    assert calls_to(sandbox, "POST", "/v1/text-to-speech") == spoken, "no paid call for an unknown voice"


async def test_voice_settings_seed_and_language_reach_the_api(svc: MediaService, sandbox: Sandbox) -> None:
    request = speech(prompt="Hallo.", model="eleven_flash_v2_5", speed=1.1, seed=5, language="de",
                     extra={"stability": 0.3, "similarity": 0.8})  # fmt: skip
    result = await svc.generate(request)
    assert set(result.applied) >= {"speed", "seed", "language", "extra.stability", "extra.similarity"}
    [received] = state(sandbox).requests_to("/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb")
    body = received.params
    assert body["voice_settings"] == {"stability": 0.3, "similarity_boost": 0.8, "speed": 1.1}
    assert (body["seed"], body["language_code"], body["model_id"]) == (5, "de", "eleven_flash_v2_5")


async def test_out_of_range_voice_settings_fail_before_any_call(svc: MediaService, sandbox: Sandbox) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await svc.generate(speech(prompt="Hi.", extra={"style": 1.5}))
    assert caught.value.field == "extra.style"
    assert sandbox.calls("elevenlabs") == []


async def test_concurrent_first_calls_share_one_client_built_off_the_event_loop(
    generator: ElevenLabsGenerator,
) -> None:
    loop_thread = asyncio.get_running_loop()
    results = await asyncio.gather(
        *[generator.generate(speech(prompt=f"Line {i}."), ctx("eleven_multilingual_v2")) for i in range(5)]
    )
    for media_out in results:
        assert sniff((await read(media_out))[:SNIFF_BYTES]) == "audio/mpeg"
    assert generator.clients.built == 1
    assert loop_thread.is_running()


# --- music and sound effects --------------------------------------------------------------------------------------


async def test_music_length_comes_from_duration_and_the_instrumental_flag_from_extra(
    svc: MediaService, sandbox: Sandbox
) -> None:
    result = await svc.generate(
        speech(prompt="a calm piano piece", audio_kind="music", duration=1, extra={"instrumental": True})
    )
    assert head_of(result.artifact.path) == "audio/mpeg"
    [adapted] = [a for a in result.adapted if a.name == "duration"]
    assert (adapted.requested, adapted.used) == (1, 3.0)
    [received] = state(sandbox).requests_to("/v1/music")
    assert received.params["music_length_ms"] == 3000 and received.params["force_instrumental"] is True


async def test_a_sound_effect_longer_than_thirty_seconds_is_adapted_and_reported(
    svc: MediaService, sandbox: Sandbox
) -> None:
    result = await svc.generate(
        speech(
            prompt="rain on a tin roof",
            audio_kind="sound_effect",
            duration=45,
            audio_format="wav",
            extra={"prompt_influence": 0.6, "loop": True},
        )
    )
    assert head_of(result.artifact.path) == "audio/wav"
    [adapted] = [a for a in result.adapted if a.name == "duration"]
    assert adapted.used == 30.0
    [received] = state(sandbox).requests_to("/v1/sound-generation")
    assert received.params["duration_seconds"] == 30.0 and received.params["loop"] is True


# --- transforming audio -------------------------------------------------------------------------------------------


async def test_voice_conversion_sends_the_file_and_the_target_voice(
    svc: MediaService, sandbox: Sandbox, wav_sample: Path
) -> None:
    result = await svc.generate(
        speech(audio_kind="voice_conversion", input_audio=wav_sample, voice="George", audio_format="mp3")
    )
    assert head_of(result.artifact.path) == "audio/mpeg"
    assert calls_to(sandbox, "POST", "/v1/voice-changer/JBFqnCBsd6RMkjVDRZzb") == 1


async def test_audio_isolation_needs_no_prompt_and_writes_mp3(svc: MediaService, wav_sample: Path) -> None:
    result = await svc.generate(speech(audio_kind="audio_isolation", input_audio=wav_sample))
    assert result.artifact.path.suffix == ".mp3" and head_of(result.artifact.path) == "audio/mpeg"


async def test_an_input_file_changed_into_a_non_audio_file_is_refused_before_any_call(
    svc: MediaService, sandbox: Sandbox, wav_sample: Path
) -> None:
    request = speech(audio_kind="audio_isolation", input_audio=wav_sample)
    overwrite(wav_sample, b"not audio at all, just text" * 10)
    with pytest.raises(InvalidRequest) as caught:
        await svc.generate(request)
    assert caught.value.field == "input_audio"
    assert sandbox.calls("elevenlabs") == []


# --- voices ---------------------------------------------------------------------------------------------------------

DESCRIPTION = "An old sailor with a deep, warm and slightly hoarse voice, telling stories by the fire"


async def test_voice_design_writes_the_first_preview_and_lists_every_generated_voice(
    svc: MediaService, sandbox: Sandbox
) -> None:
    before = len(state(sandbox).own_voices())
    result = await svc.generate(speech(audio_kind="voice_design", prompt=DESCRIPTION))
    assert head_of(result.artifact.path) == "audio/mpeg"
    ids = result.metadata["generated_voice_ids"]
    assert len(ids) >= 1 and result.metadata["generated_voice_id"] == ids[0]
    assert len(state(sandbox).own_voices()) == before, "nothing is saved unless asked"
    saved = await svc.generate(
        speech(audio_kind="voice_design", prompt=DESCRIPTION, extra={"save_voice": True, "voice_name": "Sailor"})
    )
    assert [v.voice_id for v in state(sandbox).own_voices()] == [saved.metadata["voice_id"]]


async def test_voice_clone_speaks_in_the_new_voice_and_leaves_no_voice_behind(
    svc: MediaService, sandbox: Sandbox, voice_sample: Path, wav_sample: Path
) -> None:
    result = await svc.generate(
        speech(audio_kind="voice_clone", prompt="This is my cloned voice.", input_audio=[voice_sample, wav_sample])
    )
    assert head_of(result.artifact.path) == "audio/mpeg"
    voice_id = result.metadata["cloned_voice_id"]
    assert result.metadata["voice_deleted"] is True
    assert calls_to(sandbox, "POST", f"/v1/text-to-speech/{voice_id}") == 1
    assert state(sandbox).own_voices() == []


async def test_voice_clone_deletes_the_voice_also_when_the_speech_step_fails(
    sandbox: Sandbox, out: Path, voice_sample: Path
) -> None:
    sandbox.faults.push("elevenlabs", "content_policy", route="POST /v1/text-to-speech/*")
    async with build(sandbox, out, attempts=1) as service:
        with pytest.raises(ContentRejected):
            await service.generate(speech(audio_kind="voice_clone", prompt="Say it.", input_audio=voice_sample))
    assert calls_to(sandbox, "POST", "/v1/voices/add") == 1
    assert calls_to(sandbox, "DELETE", "/v1/voices/") == 1
    assert state(sandbox).own_voices() == []
    assert files_in(out) == []


async def test_voice_clone_keeps_the_voice_when_asked(svc: MediaService, sandbox: Sandbox, voice_sample: Path) -> None:
    result = await svc.generate(
        speech(
            audio_kind="voice_clone",
            prompt="Keep me.",
            input_audio=voice_sample,
            extra={"keep_voice": True, "voice_name": "Mine"},
        )
    )
    assert [v.voice_id for v in state(sandbox).own_voices()] == [result.metadata["cloned_voice_id"]]


# --- dubbing --------------------------------------------------------------------------------------------------------


async def test_dubbing_reports_its_job_at_once_polls_and_writes_the_dub(
    svc: MediaService, sandbox: Sandbox, voice_sample: Path
) -> None:
    listener = RecordingListener()
    result = await svc.generate(
        speech(audio_kind="dubbing", input_audio=voice_sample, language="es"), progress=listener
    )
    assert head_of(result.artifact.path) == "audio/mpeg"
    submitted = [e for e in listener.events if isinstance(e, Submitted)]
    polls = [e for e in listener.events if isinstance(e, Polling)]
    assert len(submitted) == 1 and polls
    assert result.metadata["target_language"] == "es" and result.job_id == result.metadata["dubbing_id"]
    assert calls_to(sandbox, "POST", "/v1/dubbing") == 1


async def test_a_dubbed_video_is_written_as_an_mp4(svc: MediaService, tmp_path: Path) -> None:
    film = tmp_path / "film.mp4"
    film.write_bytes(media.mp4(1.0, 64, 48, prompt="a talk"))
    result = await svc.generate(speech(audio_kind="dubbing", input_audio=film, language="de"))
    assert result.artifact.path.suffix == ".mp4" and head_of(result.artifact.path) == "video/mp4"


async def test_a_dubbing_wait_that_timed_out_resumes_without_a_second_create(
    sandbox: Sandbox, out: Path, voice_sample: Path
) -> None:
    store = MemoryStore()
    sandbox.faults.push("elevenlabs", "job_never_finishes")
    async with build(sandbox, out, store) as service:
        with pytest.raises(GenerationTimeout) as caught:
            await service.generate(speech(audio_kind="dubbing", input_audio=voice_sample, language="fr", timeout=0.5))
        job_id = caught.value.job_id
        assert job_id is not None and [job.id for job in await service.jobs()] == [job_id]
        dubbing_id = (await service.job(job_id)).vendor_job_id
        state(sandbox).dubbing(dubbing_id)  # the fake still has it
        sandbox.faults.clear("elevenlabs")
        job = state(sandbox).dubbing(dubbing_id)
        assert job is not None
        job.fault = None
        result = await service.resume(job_id)
    assert result.metadata["dubbing_id"] == dubbing_id
    assert calls_to(sandbox, "POST", "/v1/dubbing") == 1


async def test_dubbing_without_a_target_language_fails_before_any_call(
    svc: MediaService, sandbox: Sandbox, voice_sample: Path
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await svc.generate(speech(audio_kind="dubbing", input_audio=voice_sample))
    assert caught.value.field == "language"
    assert sandbox.calls("elevenlabs") == []


# --- errors and keys ----------------------------------------------------------------------------------------------


async def test_a_wrong_key_is_authentication_failed_without_the_key_anywhere(sandbox: Sandbox) -> None:
    generator = PLUGIN.factory(options(sandbox))
    wrong = "sk_ffffffffffffffffffffffffffffffffffffffffffffffff"
    context = GenerationContext(credentials=Secret(wrong), model="eleven_v3", timeout=30)
    try:
        with pytest.raises(AuthenticationFailed) as caught:
            await generator.generate(speech(prompt="Hi."), context)
    finally:
        await generator.aclose()
    chain = "".join(traceback.format_exception(caught.value))
    assert wrong not in chain and KEY not in chain
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_rate_limits_are_retried_after_the_vendors_hint(sandbox: Sandbox, out: Path) -> None:
    sandbox.faults.push("elevenlabs", "rate_limit;retry_after=0", times=1, route="POST /v1/text-to-speech/*")
    async with build(sandbox, out) as service:
        result = await service.generate(speech(prompt="Again."))
    assert result.artifact.path.exists()
    assert calls_to(sandbox, "POST", "/v1/text-to-speech") == 2


async def test_a_rate_limit_that_persists_is_rate_limited_with_retry_after(
    generator: ElevenLabsGenerator, sandbox: Sandbox
) -> None:
    sandbox.faults.push("elevenlabs", "rate_limit;retry_after=7", times=1)
    with pytest.raises(RateLimited) as caught:
        await read(await generator.generate(speech(prompt="Hi."), ctx("eleven_v3")))
    assert caught.value.retry_after == 7.0


async def test_a_spent_quota_is_a_backend_error_that_says_so_and_is_not_retried(sandbox: Sandbox, out: Path) -> None:
    sandbox.faults.push("elevenlabs", "quota_exceeded", times=None)
    async with build(sandbox, out, attempts=3) as service:
        with pytest.raises(BackendError) as caught:
            await service.generate(speech(prompt="Hi."))
    assert type(caught.value) is BackendError and "quota" in caught.value.message
    assert calls_to(sandbox, "POST", "/v1/text-to-speech") == 1


async def test_server_errors_are_transient(generator: ElevenLabsGenerator, sandbox: Sandbox) -> None:
    sandbox.faults.push("elevenlabs", "server_error", times=1)
    with pytest.raises(TransientBackendError):
        await read(await generator.generate(speech(prompt="Hi."), ctx("eleven_v3")))


async def test_a_body_cut_short_is_a_transient_error_and_no_file_is_left(sandbox: Sandbox, out: Path) -> None:
    sandbox.faults.push("elevenlabs", "truncated_download", times=None)
    async with build(sandbox, out, attempts=1) as service:
        with pytest.raises(MediaGenError) as caught:
            await service.generate(speech(prompt="A long enough sentence to make some audio. " * 20))
    assert caught.value.retryable
    assert files_in(out) == []


async def test_an_input_file_over_the_upload_cap_is_refused_before_any_call(
    sandbox: Sandbox, out: Path, wav_sample: Path
) -> None:
    async with build(sandbox, out, max_upload_bytes=1000) as service:
        with pytest.raises(InvalidRequest) as caught:
            await service.generate(speech(audio_kind="audio_isolation", input_audio=wav_sample))
    assert caught.value.field == "input_audio" and "at most" in caught.value.message
    assert sandbox.calls("elevenlabs") == []


def test_building_the_generator_imports_no_sdk_the_first_call_does_that_in_a_worker_thread() -> None:
    code = (
        "import sys\n"
        "from mediagen.adapters.elevenlabs import PLUGIN\n"
        "from mediagen.ports.generator import BackendOptions\n"
        "PLUGIN.factory(BackendOptions())\n"
        "print(sorted(m for m in ('elevenlabs', 'httpx', 'pydantic') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


AFTER_FIRST_CALL = """
import asyncio, sys, threading
from mediagen.adapters.elevenlabs import PLUGIN
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions, GenerationContext
from mediagen.sandbox import Sandbox

class OnTheLoop:
    # Records the SDK (and transport) modules imported from the main thread, where the event loop runs.
    def __init__(self):
        self.names = []
    def find_spec(self, name, path=None, target=None):
        if threading.current_thread() is threading.main_thread() and name.startswith(("elevenlabs", "anyio")):
            self.names.append(name)
        return None

async def main():
    async with Sandbox(vendors=("elevenlabs",)) as sandbox:
        generator = PLUGIN.factory(BackendOptions(base_url=sandbox.base_url("elevenlabs")))
        async def run(model, **fields):
            ctx = GenerationContext(credentials=Secret("k"), model=model, timeout=30)
            media = await generator.generate(MediaRequest(media_type="audio", **fields), ctx)
            async for _ in media.stream:
                pass
        watch = OnTheLoop()
        sys.meta_path.insert(0, watch)
        await generator.prepare(Secret("k"))
        speech = {m for m in sys.modules if m.startswith("elevenlabs")}
        await run("eleven_multilingual_v2", prompt="first")
        await run("eleven_v3", prompt="again", extra={"stability": 0.5})
        await run("music_v1", audio_kind="music", prompt="a march", duration=3)
        await run("eleven_text_to_sound_v2", audio_kind="sound_effect", prompt="rain")
        await generator.aclose()
        later = {m for m in sys.modules if m.startswith("elevenlabs")} - speech
        print(repr((watch.names, "elevenlabs.text_to_sound_effects" in speech, bool(later))))

asyncio.run(main())
"""


def test_after_the_client_is_built_no_call_imports_an_sdk_module_on_the_event_loop() -> None:
    """The client's build loads what a speech call uses; an area another kind uses (sound effects here) is loaded
    in a worker thread before its first call, never on the loop."""
    done = subprocess.run([sys.executable, "-c", AFTER_FIRST_CALL], capture_output=True, text=True, check=True)
    on_the_loop, effects_with_the_client, loaded_later = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert on_the_loop == [], done.stdout
    assert not effects_with_the_client and loaded_later  # the first speech call does not pay for the other areas


async def test_warm_up_loads_every_sdk_area_the_adapter_calls(sandbox: Sandbox) -> None:
    from mediagen.adapters.elevenlabs.client import AREAS

    generator = ElevenLabsGenerator(BackendOptions(base_url=sandbox.base_url("elevenlabs")))
    try:
        await generator.warm_up(Secret("k"))
        assert [area for area in AREAS if area not in generator.clients.loaded] == []
    finally:
        await generator.aclose()
