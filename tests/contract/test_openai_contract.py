"""The generator contract suite, run with the real AsyncOpenAI against the sandbox's OpenAI fake, per model family."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from mediagen.adapters.openai import PLUGIN, SPEC
from mediagen.adapters.openai.spec import Api, api_for
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.ports.generator import BackendOptions, MediaGenerator
from mediagen.sandbox import Sandbox, SandboxSettings
from mediagen.sandbox.media import image
from mediagen.testing.generator_contract import MediaGeneratorContract, default_requests
from mediagen.testing.media import png

FAST_POLLING = {"poll_interval": 0.01, "poll_max_interval": 0.05}


@pytest.fixture
async def openai_sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("openai",), settings=SandboxSettings(job_polls=1, poll_after_ms=1)) as sandbox:
        yield sandbox


class TestOpenAIGenerator(MediaGeneratorContract):
    """The spec's default models: Responses image tool (gpt-5.4), Sora 2, gpt-4o-mini-tts."""

    @pytest.fixture
    async def generator(self, openai_sandbox: Sandbox) -> AsyncIterator[MediaGenerator]:
        made = PLUGIN.factory(BackendOptions(base_url=openai_sandbox.base_url("openai"), extra=FAST_POLLING))
        yield made
        await made.aclose()

    def test_the_default_requests_cover_every_media_type_and_the_responses_api(self) -> None:
        requests = default_requests(SPEC)
        assert {r.media_type for r in requests} == {MediaType.IMAGE, MediaType.VIDEO, MediaType.AUDIO}
        [picture] = [r for r in requests if r.media_type is MediaType.IMAGE]
        assert picture.model is not None and api_for(MediaType.IMAGE, picture.model) is Api.RESPONSES


class TestOpenAIImagesApiSoraProAndLegacySpeech(TestOpenAIGenerator):
    """The other routes: Images API generate, edit of several images, masked edit; Sora 2 Pro image to video;
    tts-1 as WAV; a Responses edit of several images."""

    @pytest.fixture
    def requests(self, tmp_path: Path) -> Sequence[MediaRequest]:
        first, second, mask = tmp_path / "first.png", tmp_path / "second.png", tmp_path / "mask.png"
        first.write_bytes(png(96, 64, seed=1))
        second.write_bytes(png(40, 40, seed=2))
        mask.write_bytes(image(96, 64, "png", prompt="a mask", transparent=True))
        start = tmp_path / "start.jpg"
        start.write_bytes(image(300, 200, "jpeg", prompt="a harbour"))
        return [
            MediaRequest(
                media_type="image", prompt="a lighthouse", model="gpt-image-1.5", size="1536x1024", quality="low",
                output_format="webp", seed=3,
            ),
            MediaRequest(
                media_type="image", prompt="put them together", model="gpt-image-1-mini",
                input_images=[first, second], background="opaque",
            ),
            MediaRequest(
                media_type="image", prompt="a vase on the table", model="gpt-image-1.5",
                input_images=[first], mask=mask,
            ),
            MediaRequest(
                media_type="image", prompt="a poster of both", model="gpt-5.4-mini",
                input_images=[first, second], output_format="jpeg",
            ),
            MediaRequest(
                media_type="video", prompt="boats leave the harbour", model="sora-2-pro",
                input_images=[start], duration=7, size="1792x1024",
            ),
            MediaRequest(media_type="audio", prompt="Plain samples, please.", model="tts-1", voice="Onyx",
                         audio_format="wav", speed=1.25),
        ]  # fmt: skip
