"""The generator contract suite, run with the real AsyncOpenAI against the sandbox's OpenRouter fake."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from mediagen.adapters.openrouter import PLUGIN, SPEC
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.ports.generator import BackendOptions, MediaGenerator
from mediagen.sandbox import Sandbox
from mediagen.testing.generator_contract import MediaGeneratorContract, default_requests
from mediagen.testing.media import png


@pytest.fixture
async def openrouter_sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("openrouter",)) as sandbox:
        yield sandbox


class TestOpenRouterGenerator(MediaGeneratorContract):
    """The spec's default model, google/gemini-3.1-flash-image-preview."""

    @pytest.fixture
    async def generator(self, openrouter_sandbox: Sandbox) -> AsyncIterator[MediaGenerator]:
        made = PLUGIN.factory(BackendOptions(base_url=openrouter_sandbox.base_url("openrouter")))
        yield made
        await made.aclose()

    def test_the_default_requests_are_one_image_with_the_default_model(self) -> None:
        [picture] = default_requests(SPEC)
        assert picture.media_type is MediaType.IMAGE and picture.model == SPEC.default_models[MediaType.IMAGE]


class TestOpenRouterOtherModelsEditsAndUrls(TestOpenRouterGenerator):
    """Edits of several images, an image-only model, a model with no image_size, an answer as an expiring URL."""

    @pytest.fixture
    def requests(self, tmp_path: Path) -> Sequence[MediaRequest]:
        first, second = tmp_path / "first.png", tmp_path / "second.png"
        first.write_bytes(png(96, 64, seed=1))
        second.write_bytes(png(40, 40, seed=2))
        return [
            MediaRequest(
                media_type="image", prompt="put them together", model="google/gemini-3-pro-image-preview",
                input_images=[first, second], size="3000x2000", seed=4,
            ),
            MediaRequest(media_type="image", prompt="a poster", model="black-forest-labs/flux.2-pro",
                         aspect_ratio="4:5", negative_prompt="text"),
            MediaRequest(media_type="image", prompt="a tile", model="google/gemini-2.5-flash-image", quality="2K"),
            MediaRequest(media_type="image", prompt="a kite sandbox:image-url", model="openai/gpt-5-image",
                         aspect_ratio="16:9", output_format="webp"),
        ]  # fmt: skip
