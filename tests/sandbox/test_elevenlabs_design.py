"""The ElevenLabs fake's voice design through the real AsyncElevenLabs: previews carry real audio and generated
voice ids, saving one makes a voice of the account (also from another sandbox sharing the state_dir)."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from elevenlabs import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError

from mediagen.domain.sniff import sniff
from mediagen.sandbox import Sandbox, SandboxSettings
from mediagen.sandbox.elevenlabs import QUOTA_MARKER
from tests.sandbox.test_elevenlabs_voices import assert_known_fields

DESCRIPTION = "An old sailor with a gravelly, warm voice and a slow pace"
TEXT = "The sea was calm that night, and the stars hung low over the water as we sailed on towards the harbour lights."


async def test_design_answers_three_previews_in_the_asked_format(elevenlabs: AsyncElevenLabs) -> None:
    design = await elevenlabs.text_to_voice.design(
        voice_description=DESCRIPTION, text=TEXT, output_format="opus_48000_32", model_id="eleven_ttv_v3", seed=5
    )
    assert design.text == TEXT
    assert len(design.previews) == 3
    assert len({p.generated_voice_id for p in design.previews}) == 3
    for preview in design.previews:
        assert preview.media_type == "audio/opus"
        assert sniff(base64.b64decode(preview.audio_base_64)[:64]) == "audio/opus"
        assert preview.duration_secs == pytest.approx(len(TEXT) / 15, abs=0.01)


async def test_previews_answer_only_the_sdks_fields(elevenlabs_sandbox: Sandbox) -> None:
    from elevenlabs.types import VoiceDesignPreviewResponse

    async with httpx.AsyncClient(base_url=elevenlabs_sandbox.base_url("elevenlabs"), headers={"xi-api-key": "k"}) as h:
        body = (
            await h.post(
                "/v1/text-to-voice/create-previews", json={"voice_description": DESCRIPTION, "auto_generate_text": True}
            )
        ).json()
    assert_known_fields(VoiceDesignPreviewResponse, body)
    assert body["text"]  # an auto-generated text


async def test_saving_a_preview_makes_a_generated_voice(
    elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs
) -> None:
    design = await elevenlabs.text_to_voice.design(voice_description=DESCRIPTION, auto_generate_text=True)
    voice = await elevenlabs.text_to_voice.create(
        voice_name="Sailor",
        voice_description=DESCRIPTION,
        generated_voice_id=design.previews[1].generated_voice_id,
        labels={"accent": "scottish"},
    )
    assert (voice.name, voice.category, voice.labels) == ("Sailor", "generated", {"accent": "scottish"})
    assert [v.voice_id for v in elevenlabs_sandbox.state("elevenlabs").own_voices()] == [voice.voice_id]
    assert (await elevenlabs.voices.get(voice.voice_id)).name == "Sailor"


@pytest.mark.parametrize(
    ("kwargs", "loc", "kind"),
    [
        ({"voice_description": "too short"}, ["body", "voice_description"], "string_too_short"),
        ({"text": "short"}, ["body", "text"], "string_too_short"),
        ({"text": None}, ["body", "text"], "value_error"),
        ({"loudness": 2.0}, ["body", "loudness"], "less_than_equal"),
        ({"model_id": "eleven_ttv_v9"}, ["body", "model_id"], "literal_error"),
        ({"output_format": "wav_44100"}, ["query", "output_format"], "literal_error"),
    ],
)
async def test_design_refuses_what_the_api_refuses(
    elevenlabs: AsyncElevenLabs, kwargs: dict[str, object], loc: list[str], kind: str
) -> None:
    with pytest.raises(ApiError) as refused:
        await elevenlabs.text_to_voice.design(**{"voice_description": DESCRIPTION, "text": TEXT, **kwargs})  # type: ignore[arg-type]
    assert refused.value.status_code == 422
    assert (refused.value.body["detail"][0]["loc"], refused.value.body["detail"][0]["type"]) == (loc, kind)


async def test_design_rules_and_unknown_previews_in_the_detail_form(elevenlabs: AsyncElevenLabs) -> None:
    with pytest.raises(ApiError) as reference:
        await elevenlabs.text_to_voice.design(voice_description=DESCRIPTION, text=TEXT, prompt_strength=0.5)
    assert (reference.value.status_code, reference.value.body["detail"]["param"]) == (400, "prompt_strength")
    with pytest.raises(ApiError) as unknown:
        await elevenlabs.text_to_voice.create(
            voice_name="x", voice_description=DESCRIPTION, generated_voice_id="neverdesigned"
        )
    assert (unknown.value.status_code, unknown.value.body["detail"]["param"]) == (404, "generated_voice_id")
    with pytest.raises(ApiError) as quota:
        await elevenlabs.text_to_voice.design(voice_description=f"{DESCRIPTION} {QUOTA_MARKER}", text=TEXT)
    assert (quota.value.status_code, quota.value.body["detail"]["status"]) == (401, "quota_exceeded")


async def test_a_preview_is_saved_from_another_sandbox_sharing_the_state_dir(tmp_path: Path) -> None:
    settings = SandboxSettings(state_dir=tmp_path)
    async with httpx.AsyncClient() as http:
        async with Sandbox(vendors=("elevenlabs",), settings=settings) as one:
            client = AsyncElevenLabs(api_key="k", base_url=one.base_url("elevenlabs"), httpx_client=http)
            design = await client.text_to_voice.create_previews(voice_description=DESCRIPTION, text=TEXT)
        async with Sandbox(vendors=("elevenlabs",), settings=settings) as two:
            client = AsyncElevenLabs(api_key="k", base_url=two.base_url("elevenlabs"), httpx_client=http)
            voice = await client.text_to_voice.create(
                voice_name="Kept",
                voice_description=DESCRIPTION,
                generated_voice_id=design.previews[0].generated_voice_id,
            )
            assert (await client.voices.get(voice.voice_id)).category == "generated"
