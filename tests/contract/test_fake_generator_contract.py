"""The shipped generator contract suite, run against the shipped FakeGenerator: images, video and audio fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from mediagen.domain.media import AudioKind, MediaType
from mediagen.domain.request import MediaRequest
from mediagen.testing import FakeGenerator, fake_spec
from mediagen.testing.generator_contract import MediaGeneratorContract, default_requests
from mediagen.testing.media import png, wav


class TestFakeGeneratorPerMediaType(MediaGeneratorContract):
    """One fake per media type, each with only that type's model, so every suite test sees one kind of output."""

    @pytest.fixture
    def generator_for(self) -> None:
        return None  # the fake answers in memory: there is no transport to break

    @pytest.fixture(params=list(MediaType), ids=lambda m: m.value)
    async def generator(self, request: pytest.FixtureRequest) -> AsyncIterator[FakeGenerator]:
        media_type: MediaType = request.param
        # The image fake makes several images per call, as a vendor taking `n` does.
        per_call = 4 if media_type is MediaType.IMAGE else 1
        made = FakeGenerator(fake_spec(f"fake-{media_type.value}", media_types=[media_type], images_per_call=per_call))
        yield made
        await made.aclose()

    def test_the_default_requests_exercise_the_fake_s_one_media_type(self) -> None:
        for media_type in MediaType:
            requests = default_requests(fake_spec("one", media_types=[media_type]))
            assert [r.media_type for r in requests] == [media_type]


class TestFakeGeneratorWithEveryModeAndParameter(MediaGeneratorContract):
    """One fake serving all three types, with edits, masks, image-to-video, audio transforms and vendor extras."""

    @pytest.fixture
    def generator_for(self) -> None:
        return None  # the fake answers in memory: there is no transport to break

    @pytest.fixture
    async def generator(self) -> AsyncIterator[FakeGenerator]:
        made = FakeGenerator(fake_spec("fake-all"), vendor_parameters=["style"])
        yield made
        await made.aclose()

    @pytest.fixture
    def requests(self, tmp_path: Path) -> Sequence[MediaRequest]:
        first, second, clip = tmp_path / "first.png", tmp_path / "second.png", tmp_path / "clip.wav"
        first.write_bytes(png(32, 24, seed=1))
        second.write_bytes(png(24, 24, seed=2))
        clip.write_bytes(wav(0.1))
        return [
            MediaRequest(
                media_type=MediaType.IMAGE, prompt="add a hat", input_images=[first, second], mask=second, seed=4,
                size="5000x2500", negative_prompt="blur", extra={"style": "ink", "unknown": 1},
            ),
            MediaRequest(media_type=MediaType.VIDEO, prompt="animate it", input_images=[first], duration=5),
            MediaRequest(media_type=MediaType.AUDIO, audio_kind=AudioKind.AUDIO_ISOLATION, input_audio=clip),
            MediaRequest(media_type=MediaType.AUDIO, audio_kind="music", prompt="a march", duration=90, voice="x"),
        ]  # fmt: skip
