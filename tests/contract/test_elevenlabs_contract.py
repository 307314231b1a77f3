"""The generator contract suite, run with the real AsyncElevenLabs against the sandbox's ElevenLabs fake, once per
kind: each kind is its own capability with its own model (or endpoint), so each gets the whole suite."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from mediagen.adapters.elevenlabs import PLUGIN, SPEC
from mediagen.domain.media import AudioKind, MediaType
from mediagen.domain.request import MediaRequest
from mediagen.ports.generator import BackendOptions, MediaGenerator
from mediagen.sandbox import Sandbox, SandboxSettings, media
from mediagen.testing.generator_contract import MediaGeneratorContract, default_requests

FAST_POLLING = {"poll_interval": 0.01, "poll_max_interval": 0.05}
DESCRIPTION = "A calm, clear narrator with a low voice and a slight smile in it, unhurried and warm"


@pytest.fixture
async def elevenlabs_sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("elevenlabs",), settings=SandboxSettings(job_polls=1, poll_after_ms=1)) as sandbox:
        yield sandbox


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "sample.mp3"
    path.write_bytes(media.speech("mp3", 1.5, seed=9))
    return path


def audio(**kwargs: object) -> MediaRequest:
    return MediaRequest(media_type=MediaType.AUDIO, **kwargs)


class TestElevenLabsSpeech(MediaGeneratorContract):
    """The spec's default: text to speech with eleven_multilingual_v2 (and the other speech models)."""

    @pytest.fixture
    async def generator(self, elevenlabs_sandbox: Sandbox) -> AsyncIterator[MediaGenerator]:
        made = PLUGIN.factory(BackendOptions(base_url=elevenlabs_sandbox.base_url("elevenlabs"), extra=FAST_POLLING))
        yield made
        await made.aclose()

    def test_the_default_requests_are_speech_with_the_default_model(self) -> None:
        [request] = default_requests(SPEC)
        assert request.effective_audio_kind is AudioKind.SPEECH and request.model == "eleven_multilingual_v2"


class TestElevenLabsSpeechModelsAndFormats(TestElevenLabsSpeech):
    @pytest.fixture
    def requests(self) -> Sequence[MediaRequest]:
        return [
            audio(prompt="Fast and light.", model="eleven_flash_v2_5", audio_format="wav", language="en", seed=1),
            audio(prompt="[whispers] Expressive.", model="eleven_v3", voice="George", audio_format="opus",
                  extra={"stability": 0.5}),
            audio(prompt="Telephone quality.", model="eleven_turbo_v2_5", audio_format="pcm_16000", speed=0.9),
        ]  # fmt: skip


class TestElevenLabsMusic(TestElevenLabsSpeech):
    @pytest.fixture
    def requests(self) -> Sequence[MediaRequest]:
        return [audio(audio_kind="music", prompt="a short calm piano piece", duration=4, extra={"instrumental": True})]


class TestElevenLabsSoundEffect(TestElevenLabsSpeech):
    @pytest.fixture
    def requests(self) -> Sequence[MediaRequest]:
        return [audio(audio_kind="sound_effect", prompt="a door creaks open", duration=40, extra={"loop": False})]


class TestElevenLabsVoiceConversion(TestElevenLabsSpeech):
    @pytest.fixture
    def requests(self, sample: Path) -> Sequence[MediaRequest]:
        return [audio(audio_kind="voice_conversion", input_audio=sample, voice="George", audio_format="mp3")]


class TestElevenLabsAudioIsolation(TestElevenLabsSpeech):
    @pytest.fixture
    def requests(self, sample: Path) -> Sequence[MediaRequest]:
        return [audio(audio_kind="audio_isolation", input_audio=sample)]


class TestElevenLabsVoiceDesign(TestElevenLabsSpeech):
    @pytest.fixture
    def requests(self) -> Sequence[MediaRequest]:
        return [audio(audio_kind="voice_design", prompt=DESCRIPTION, seed=4)]


class TestElevenLabsVoiceClone(TestElevenLabsSpeech):
    @pytest.fixture
    def requests(self, sample: Path) -> Sequence[MediaRequest]:
        return [audio(audio_kind="voice_clone", prompt="Spoken in a voice made a moment ago.", input_audio=[sample])]


class TestElevenLabsDubbing(TestElevenLabsSpeech):
    @pytest.fixture
    def requests(self, sample: Path) -> Sequence[MediaRequest]:
        return [audio(audio_kind="dubbing", input_audio=sample, language="es")]
