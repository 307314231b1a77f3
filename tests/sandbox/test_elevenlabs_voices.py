"""The ElevenLabs fake's voices and models through the real AsyncElevenLabs: premade voices, search and pages,
instant clones (add, get, delete), answers parsed by the SDK's models, and voices shared through a state_dir."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from elevenlabs import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.types import GetVoicesResponse, GetVoicesV2Response, Model, Voice

from mediagen.sandbox import Sandbox, SandboxSettings, media
from mediagen.sandbox.elevenlabs import catalog

RACHEL = "21m00Tcm4TlvDq8ikWAM"


def sample(seconds: float = 1.0) -> tuple[str, bytes, str]:
    return ("sample.wav", b"".join(media.speech_chunks("wav", seconds)), "audio/wav")


async def test_premade_voices_are_listed_with_their_real_ids(elevenlabs: AsyncElevenLabs) -> None:
    listed = await elevenlabs.voices.get_all()
    names = {v.name: v.voice_id for v in listed.voices}
    assert names["Rachel"] == RACHEL
    assert names["Adam"] == "pNInz6obpgDQGcFmaJgB"
    assert {v.category for v in listed.voices} == {"premade"}
    rachel = await elevenlabs.voices.get(RACHEL)
    assert rachel.settings is not None and rachel.settings.stability == 0.5
    assert rachel.labels is not None and rachel.labels["gender"] == "female"


async def test_answers_hold_only_fields_the_sdk_models_have(elevenlabs_sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(base_url=elevenlabs_sandbox.base_url("elevenlabs"), headers={"xi-api-key": "k"}) as h:
        bodies = {
            GetVoicesResponse: (await h.get("/v1/voices")).json(),
            GetVoicesV2Response: (await h.get("/v2/voices", params={"page_size": 3})).json(),
            Voice: (await h.get(f"/v1/voices/{RACHEL}")).json(),
        }
        models = (await h.get("/v1/models")).json()
    for model_type, body in bodies.items():
        assert_known_fields(model_type, body)
    for model in models:
        assert_known_fields(Model, model)


def assert_known_fields(model_type: type, body: object) -> None:
    """Every key of `body` is a field of the SDK's pydantic model (recursively for nested models)."""
    parsed = model_type.model_validate(body)  # type: ignore[attr-defined]
    assert parsed.model_extra in (None, {}), f"{model_type.__name__} got fields it does not have: {parsed.model_extra}"
    for name, value in parsed:
        items = value if isinstance(value, list) else [value]
        for item in items:
            if hasattr(item, "model_extra"):
                assert item.model_extra in (None, {}), f"{type(item).__name__}.{name}: {item.model_extra}"


async def test_search_filters_sorts_and_pages(elevenlabs: AsyncElevenLabs) -> None:
    first = await elevenlabs.voices.search(page_size=4, sort="name", sort_direction="asc", include_total_count=True)
    assert first.total_count == len(catalog.PREMADE_VOICES)
    assert first.has_more and first.next_page_token is not None
    names = [v.name for v in first.voices]
    assert names == sorted(names)
    second = await elevenlabs.voices.search(page_size=4, sort="name", next_page_token=first.next_page_token)
    assert {v.voice_id for v in second.voices}.isdisjoint(v.voice_id for v in first.voices)
    british = await elevenlabs.voices.search(accent="british", page_size=100)
    assert {v.name for v in british.voices} == {"George", "Lily", "Daniel", "Alice"}
    by_ids = await elevenlabs.voices.search(voice_ids=[RACHEL, "pNInz6obpgDQGcFmaJgB"])
    assert {v.name for v in by_ids.voices} == {"Rachel", "Adam"}
    assert (await elevenlabs.voices.search(search="rach")).voices[0].voice_id == RACHEL


@pytest.mark.parametrize(
    ("kwargs", "loc"),
    [
        ({"page_size": 101}, ["query", "page_size"]),
        ({"sort": "age"}, ["query", "sort"]),
        ({"category": "famous"}, ["query", "category"]),
        ({"request_options": {"additional_query_parameters": {"colour": "red"}}}, ["query", "colour"]),
    ],
)
async def test_search_refuses_bad_query_parameters(
    elevenlabs: AsyncElevenLabs, kwargs: dict[str, object], loc: list[str]
) -> None:
    with pytest.raises(ApiError) as refused:
        await elevenlabs.voices.search(**kwargs)  # type: ignore[arg-type]
    assert refused.value.status_code == 422
    assert refused.value.body["detail"][0]["loc"] == loc


async def test_a_clone_is_a_voice_until_it_is_deleted(elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs) -> None:
    created = await elevenlabs.voices.ivc.create(
        name="My voice", files=[sample(1.0), sample(2.0)], description="mine", labels={"accent": "irish"}
    )
    assert created.requires_verification is False
    state = elevenlabs_sandbox.state("elevenlabs")
    assert [v.voice_id for v in state.own_voices()] == [created.voice_id]
    voice = await elevenlabs.voices.get(created.voice_id)
    assert (voice.name, voice.category, voice.labels) == ("My voice", "cloned", {"accent": "irish"})
    assert voice.samples is not None and [s.duration_secs for s in voice.samples] == [1.0, 2.0]
    listed = await elevenlabs.voices.search(category="cloned")
    assert [v.voice_id for v in listed.voices] == [created.voice_id]
    assert (await elevenlabs.voices.delete(created.voice_id)).status == "ok"
    assert state.own_voices() == []
    with pytest.raises(ApiError) as gone:
        await elevenlabs.voices.get(created.voice_id)
    assert (gone.value.status_code, gone.value.body["detail"]["status"]) == (404, "voice_not_found")


async def test_clones_refuse_what_the_api_refuses(elevenlabs: AsyncElevenLabs) -> None:
    cases = [
        ({"name": "x", "files": []}, 422, ["body", "files"]),
        ({"name": "", "files": [sample()]}, 422, ["body", "name"]),
        ({"name": "x", "files": [("notes.txt", b"just text", "text/plain")]}, 400, "files"),
        ({"name": "x", "files": [sample()], "labels": {"mood": "happy"}}, 400, "labels"),
        ({"name": "x", "files": [sample()] * 26}, 400, "files"),
    ]
    for kwargs, status, where in cases:
        with pytest.raises(ApiError) as refused:
            await elevenlabs.voices.ivc.create(**kwargs)  # type: ignore[arg-type]
        assert refused.value.status_code == status, kwargs
        detail = refused.value.body["detail"]
        assert (detail[0]["loc"] if status == 422 else detail["param"]) == where


async def test_premade_voices_cannot_be_deleted_and_unknown_ones_are_not_found(elevenlabs: AsyncElevenLabs) -> None:
    with pytest.raises(ApiError) as premade:
        await elevenlabs.voices.delete(RACHEL)
    assert premade.value.status_code == 400
    with pytest.raises(ApiError) as unknown:
        await elevenlabs.voices.delete("nosuchvoice")
    assert unknown.value.status_code == 404


async def test_models_list_what_each_model_can_do(elevenlabs: AsyncElevenLabs) -> None:
    models = {m.model_id: m for m in await elevenlabs.models.list()}
    assert models["eleven_multilingual_v2"].can_do_text_to_speech
    assert models["eleven_english_sts_v2"].can_do_voice_conversion
    assert not models["eleven_english_sts_v2"].can_do_text_to_speech


async def test_voices_outlive_a_sandbox_through_its_state_dir(tmp_path: Path) -> None:
    settings = SandboxSettings(state_dir=tmp_path)
    async with Sandbox(vendors=("elevenlabs",), settings=settings) as one, httpx.AsyncClient() as http:
        client = AsyncElevenLabs(api_key="k", base_url=one.base_url("elevenlabs"), httpx_client=http)
        kept = await client.voices.ivc.create(name="kept", files=[sample()])
        dropped = await client.voices.ivc.create(name="dropped", files=[sample()])
        async with Sandbox(vendors=("elevenlabs",), settings=settings) as two:
            other = AsyncElevenLabs(api_key="k", base_url=two.base_url("elevenlabs"), httpx_client=http)
            await other.voices.delete(dropped.voice_id)  # deleted by the other sandbox, while both run
        assert [v.name for v in one.state("elevenlabs").own_voices()] == ["kept"]
    async with Sandbox(vendors=("elevenlabs",), settings=settings) as three, httpx.AsyncClient() as http:
        client = AsyncElevenLabs(api_key="k", base_url=three.base_url("elevenlabs"), httpx_client=http)
        assert (await client.voices.get(kept.voice_id)).name == "kept"
        assert [v.voice_id for v in (await client.voices.search(category="cloned")).voices] == [kept.voice_id]


async def test_a_file_under_a_name_the_endpoint_lacks_is_refused(elevenlabs_sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(base_url=elevenlabs_sandbox.base_url("elevenlabs"), headers={"xi-api-key": "k"}) as h:
        stray = await h.post("/v1/voices/add", data={"name": "x"}, files={"samples": sample()})
        as_text = await h.post("/v1/voices/add", data={"name": "x"}, files={"files": sample(), "description": sample()})
        text_for_file = await h.post(  # multipart (httpx sends the text parts first)
            "/v1/voices/add", data={"name": "x", "files": "not a file"}, files={"samples": sample()}
        )
        not_multipart = await h.post("/v1/voices/add", data={"name": "x"})
    assert stray.json()["detail"][0] == {
        "loc": ["body", "samples"],
        "msg": "Extra inputs are not permitted",
        "type": "extra_forbidden",
    }
    assert as_text.json()["detail"][0]["loc"] == ["body", "description"]
    assert as_text.json()["detail"][0]["type"] == "string_type"
    assert text_for_file.json()["detail"][0]["loc"] == ["body", "files"]
    assert not_multipart.status_code == 422
