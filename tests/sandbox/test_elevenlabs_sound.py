"""The ElevenLabs fake's music and sound effects through the real AsyncElevenLabs: lengths and formats as asked,
the rules between fields, and refusals naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from elevenlabs import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.music.types import MusicComposeRequestOutputFormat
from elevenlabs.text_to_sound_effects.types import TextToSoundEffectsConvertRequestOutputFormat
from elevenlabs.types import MusicPrompt, SongSection

from mediagen.domain.sniff import sniff
from mediagen.sandbox import Sandbox
from mediagen.sandbox.elevenlabs import BLOCK_MARKER, catalog
from tests.sandbox.conftest import needs_ffprobe, probe
from tests.sandbox.test_elevenlabs_speech import literals, raw_args


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def refusal(chunks: AsyncIterator[bytes]) -> ApiError:
    with pytest.raises(ApiError) as raised:
        await collect(chunks)
    return raised.value


def test_the_format_lists_are_the_sdks() -> None:
    assert sorted(catalog.MUSIC_FORMATS) == sorted(literals(MusicComposeRequestOutputFormat))
    assert sorted(catalog.CONVERT_FORMATS) == sorted(literals(TextToSoundEffectsConvertRequestOutputFormat))


@needs_ffprobe
@pytest.mark.parametrize("fmt", [f for f in catalog.MUSIC_FORMATS if f != "auto"])
async def test_music_is_as_long_as_asked_in_every_format(elevenlabs: AsyncElevenLabs, fmt: str) -> None:
    data = await collect(elevenlabs.music.compose(prompt="calm piano", music_length_ms=4000, output_format=fmt))
    info = probe(data, *raw_args(fmt))
    assert float(info["format"]["duration"]) == pytest.approx(4.0, abs=0.1)
    codec, rate, *kbps = fmt.split("_")
    assert int(info["streams"][0]["sample_rate"]) == (48_000 if codec == "opus" else int(rate))
    if kbps:
        assert int(info["format"]["bit_rate"]) == pytest.approx(int(kbps[0]) * 1000, rel=0.05)


async def test_auto_format_follows_the_model_and_the_song_has_an_id(elevenlabs: AsyncElevenLabs) -> None:
    v1 = await collect(elevenlabs.music.compose(prompt="jazz", music_length_ms=3000))
    assert v1[:3] == b"\xff\xfb\x90"  # mp3_44100_128
    v2 = await collect(elevenlabs.music.compose(prompt="jazz", music_length_ms=3000, model_id="music_v2"))
    assert v2[:3] == b"\xff\xfb\xb4"  # mp3_48000_192
    async with elevenlabs.music.with_raw_response.compose(prompt="jazz", music_length_ms=3000) as response:
        assert response.headers["song-id"]
        assert response.headers.get("transfer-encoding") == "chunked"
        assert sniff((b"".join([c async for c in response.data]))[:4]) == "audio/mpeg"


async def test_a_composition_plan_sets_the_length(elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs) -> None:
    plan = MusicPrompt(
        positive_global_styles=["lo-fi"],
        negative_global_styles=["metal"],
        sections=[
            SongSection(
                section_name="intro",
                positive_local_styles=["soft"],
                negative_local_styles=[],
                duration_ms=3000,
                lines=[],
            ),
            SongSection(
                section_name="verse",
                positive_local_styles=[],
                negative_local_styles=[],
                duration_ms=5000,
                lines=["la la"],
            ),
        ],
    )
    data = await collect(elevenlabs.music.compose(composition_plan=plan, output_format="pcm_8000"))
    assert len(data) == 8 * 8_000 * 2
    sent = elevenlabs_sandbox.state("elevenlabs").requests_to("/v1/music")[-1].params
    assert sent["composition_plan"]["sections"][1]["lines"] == ["la la"]


@pytest.mark.parametrize(
    ("kwargs", "loc", "kind"),
    [
        ({"prompt": "x", "music_length_ms": 2999}, ["body", "music_length_ms"], "greater_than_equal"),
        ({"prompt": "x", "music_length_ms": 600_001}, ["body", "music_length_ms"], "less_than_equal"),
        ({"prompt": "x", "seed": 4}, ["body", "seed"], "value_error"),
        ({"prompt": "x", "model_id": "music_v9"}, ["body", "model_id"], "literal_error"),
        ({"prompt": "x", "output_format": "wav_44100"}, ["query", "output_format"], "literal_error"),
        ({}, ["body"], "value_error"),
        (
            {"prompt": "x", "request_options": {"additional_body_parameters": {"bpm": 120}}},
            ["body", "bpm"],
            "extra_forbidden",
        ),
    ],
)
async def test_music_refuses_what_the_api_refuses(
    elevenlabs: AsyncElevenLabs, kwargs: dict[str, Any], loc: list[str], kind: str
) -> None:
    error = await refusal(elevenlabs.music.compose(**kwargs))
    assert error.status_code == 422
    assert (error.body["detail"][0]["loc"], error.body["detail"][0]["type"]) == (loc, kind)


async def test_a_section_outside_its_range_is_refused(elevenlabs: AsyncElevenLabs) -> None:
    plan = {
        "positive_global_styles": [],
        "negative_global_styles": [],
        "sections": [
            {
                "section_name": "long",
                "positive_local_styles": [],
                "negative_local_styles": [],
                "duration_ms": 200_000,
                "lines": [],
            }
        ],
    }
    error = await refusal(elevenlabs.music.compose(composition_plan=plan))  # type: ignore[arg-type]
    assert error.body["detail"][0]["loc"] == ["body", "composition_plan", "sections", 0, "duration_ms"]


async def test_a_blocked_prompt_gets_a_suggestion(elevenlabs: AsyncElevenLabs) -> None:
    error = await refusal(elevenlabs.music.compose(prompt=f"in the style of a famous band {BLOCK_MARKER}"))
    assert error.status_code == 400
    assert error.body["detail"]["status"] == "bad_prompt"


@needs_ffprobe
async def test_sound_effects_last_the_asked_duration(elevenlabs: AsyncElevenLabs) -> None:
    data = await collect(
        elevenlabs.text_to_sound_effects.convert(
            text="a door creaks", duration_seconds=2.5, prompt_influence=0.7, loop=True, output_format="wav_22050"
        )
    )
    info = probe(data)
    assert float(info["format"]["duration"]) == pytest.approx(2.5, abs=0.01)
    assert info["streams"][0]["sample_rate"] == "22050"


async def test_sound_effects_guess_a_duration_when_none_is_given(elevenlabs: AsyncElevenLabs) -> None:
    data = await collect(elevenlabs.text_to_sound_effects.convert(text="rain on a tin roof", output_format="pcm_8000"))
    assert catalog.SFX_MIN_SECONDS * 16_000 <= len(data) <= catalog.SFX_MAX_SECONDS * 16_000


@pytest.mark.parametrize(
    ("kwargs", "loc", "kind"),
    [
        ({"duration_seconds": 0.4}, ["body", "duration_seconds"], "greater_than_equal"),
        ({"duration_seconds": 30.5}, ["body", "duration_seconds"], "less_than_equal"),
        ({"prompt_influence": 1.5}, ["body", "prompt_influence"], "less_than_equal"),
        ({"model_id": "eleven_text_to_sound_v9"}, ["body", "model_id"], "literal_error"),
        ({"text": ""}, ["body", "text"], "string_too_short"),
    ],
)
async def test_sound_effects_refuse_what_the_api_refuses(
    elevenlabs: AsyncElevenLabs, kwargs: dict[str, Any], loc: list[str], kind: str
) -> None:
    error = await refusal(elevenlabs.text_to_sound_effects.convert(**{"text": "boom", **kwargs}))
    assert error.status_code == 422
    assert (error.body["detail"][0]["loc"], error.body["detail"][0]["type"]) == (loc, kind)


async def test_music_streams_from_its_stream_route(elevenlabs: AsyncElevenLabs) -> None:
    data = await collect(elevenlabs.music.stream(prompt="drums", music_length_ms=3000, output_format="pcm_8000"))
    assert len(data) == 3 * 8_000 * 2
    error = await refusal(
        elevenlabs.music.stream(
            prompt="drums", request_options={"additional_body_parameters": {"sign_with_c2pa": True}}
        )
    )
    assert error.body["detail"][0]["loc"] == ["body", "sign_with_c2pa"]  # the stream route has no such field
