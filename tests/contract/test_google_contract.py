"""The generator contract suite, run against the Google generator and the sandbox's Google fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from mediagen.adapters.google import PLUGIN, SPEC
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.ports.generator import BackendOptions, MediaGenerator
from mediagen.sandbox import Sandbox, SandboxSettings
from mediagen.sandbox.media import image
from mediagen.testing.generator_contract import MediaGeneratorContract, default_requests

FAST_POLLING = {"poll_interval": 0.01, "poll_max_interval": 0.05}


@pytest.fixture
async def google_sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("google",), settings=SandboxSettings(job_polls=2)) as sandbox:
        yield sandbox


class TestGoogleGenerator(MediaGeneratorContract):
    """Gemini image, Veo video and Gemini speech with the spec's default models."""

    @pytest.fixture
    async def generator(self, google_sandbox: Sandbox) -> AsyncIterator[MediaGenerator]:
        made = PLUGIN.factory(BackendOptions(base_url=google_sandbox.base_url("google"), extra=FAST_POLLING))
        yield made
        await made.aclose()

    def test_the_default_requests_cover_every_media_type(self) -> None:
        assert {r.media_type for r in default_requests(SPEC)} == {MediaType.IMAGE, MediaType.VIDEO, MediaType.AUDIO}


class TestGoogleOtherModels(TestGoogleGenerator):
    """The same contract for the other routes: Imagen generate, Imagen masked edit, Veo image to video, PCM."""

    @pytest.fixture
    def requests(self, tmp_path: Path) -> Sequence[MediaRequest]:
        source, mask = tmp_path / "source.png", tmp_path / "mask.png"
        source.write_bytes(image(96, 64, "png", prompt="a room"))
        mask.write_bytes(image(96, 64, "png", prompt="a mask"))
        return [
            MediaRequest(
                media_type="image", prompt="a lighthouse", model="imagen-4.0-generate-001", seed=3,
                negative_prompt="people", aspect_ratio="16:9",
            ),
            MediaRequest(
                media_type="image", prompt="a vase on the table", model="imagen-3.0-capability-001",
                input_images=[source], mask=mask,
            ),
            MediaRequest(
                media_type="video", prompt="the room comes alive", model="veo-3.1-fast-generate-preview",
                input_images=[source], size="1920x1080",
            ),
            MediaRequest(media_type="audio", prompt="Raw samples, please.", voice="Charon", audio_format="pcm"),
        ]  # fmt: skip
