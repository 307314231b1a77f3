"""The generator contract suite, run against the xAI generator (the real xai-sdk) and the sandbox's xAI fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest

from mediagen.adapters.xai import PLUGIN, SPEC
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.ports.generator import BackendOptions, MediaGenerator
from mediagen.sandbox import Sandbox, SandboxSettings
from mediagen.sandbox.media import image
from mediagen.testing.generator_contract import MediaGeneratorContract, default_requests

FAST_POLLING = {"poll_interval": 0.01, "poll_max_interval": 0.05}


@pytest.fixture
async def xai_sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("xai",), settings=SandboxSettings(job_polls=2)) as sandbox:
        yield sandbox


class TestXAIGenerator(MediaGeneratorContract):
    """Grok Imagine images and video with the spec's default models."""

    @pytest.fixture
    async def generator(self, xai_sandbox: Sandbox) -> AsyncIterator[MediaGenerator]:
        made = PLUGIN.factory(BackendOptions(base_url=xai_sandbox.base_url("xai"), extra=FAST_POLLING))
        yield made
        await made.aclose()

    @pytest.fixture
    def generator_for(self) -> Callable[[str], MediaGenerator]:
        """xAI takes host:port (gRPC), so the suite's broken endpoints are given without their http:// scheme."""
        return lambda base_url: PLUGIN.factory(BackendOptions(base_url=base_url.removeprefix("http://")))

    def test_the_default_requests_cover_images_and_video(self) -> None:
        assert {r.media_type for r in default_requests(SPEC)} == {MediaType.IMAGE, MediaType.VIDEO}


class TestXAIOtherRoutes(TestXAIGenerator):
    """The same contract for edits with two images, quality on 2.0, image to video and reference images."""

    @pytest.fixture
    def requests(self, tmp_path: Path) -> Sequence[MediaRequest]:
        first, second = tmp_path / "first.png", tmp_path / "second.jpg"
        first.write_bytes(image(96, 64, "png", prompt="a room"))
        second.write_bytes(image(64, 96, "jpeg", prompt="a cat"))
        return [
            MediaRequest(
                media_type="image", prompt="the cat in the room", input_images=[first, second], size="1600x900"
            ),
            MediaRequest(media_type="image", prompt="a lighthouse", model="grok-imagine-image-2.0", quality="high"),
            MediaRequest(
                media_type="video", prompt="the room comes alive", input_images=[first], duration=2.6, quality="720p"
            ),
            MediaRequest(
                media_type="video", prompt="a cat walks in", model="grok-imagine-video-1.5",
                input_images=[first, second], aspect_ratio="4:3",
            ),
        ]  # fmt: skip
