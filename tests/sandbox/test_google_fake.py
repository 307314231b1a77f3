"""The Google fake, driven by the real google-genai client in Gemini-API mode and in Vertex express mode."""

from __future__ import annotations

import base64
import io
import wave
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from mediagen.sandbox import media
from mediagen.sandbox.google import GoogleState
from mediagen.sandbox.server import Sandbox
from mediagen.sandbox.settings import SandboxSettings

IMAGE_MODEL = "gemini-3.1-flash-image-preview"
KEY = "sandbox-test-key"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("google",), settings=SandboxSettings(job_polls=3, api_key=KEY)) as running:
        yield running


def client(sandbox: Sandbox, *, vertex: bool = False, key: str | None = KEY) -> genai.Client:
    options = types.HttpOptions(base_url=sandbox.base_url("google"))
    if vertex:
        return genai.Client(vertexai=True, api_key=key, http_options=options)
    return genai.Client(api_key=key, http_options=options)


@pytest.fixture
async def gemini(sandbox: Sandbox) -> AsyncIterator[Any]:
    made = client(sandbox)
    yield made.aio
    await made.aio.aclose()


@pytest.fixture
async def vertex(sandbox: Sandbox) -> AsyncIterator[Any]:
    made = client(sandbox, vertex=True)
    yield made.aio
    await made.aio.aclose()


def state(sandbox: Sandbox) -> GoogleState:
    found = sandbox.state("google")
    assert isinstance(found, GoogleState)
    return found


def image_config(**kwargs: Any) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"], image_config=types.ImageConfig(**kwargs))


# --- Gemini generateContent -------------------------------------------------------------------------------------


async def test_an_image_model_answers_a_text_part_and_a_png_of_the_asked_shape(gemini: Any) -> None:
    response = await gemini.models.generate_content(
        model=IMAGE_MODEL, contents="a red fox", config=image_config(aspect_ratio="16:9", image_size="2K")
    )
    parts = response.candidates[0].content.parts
    assert parts[0].text
    blob = parts[1].inline_data
    assert blob.mime_type == "image/png"
    assert media.image_size(blob.data) == (2048, 1152)
    assert parts[1].thought_signature  # Gemini 3 image models sign their images
    assert response.usage_metadata.total_token_count > 0


async def test_a_chat_must_send_back_the_thought_signatures_it_got(sandbox: Sandbox, gemini: Any) -> None:
    chat = gemini.chats.create(model=IMAGE_MODEL, config=image_config())
    await chat.send_message("a cabin")
    second = await chat.send_message("add snow")
    assert second.candidates[0].content.parts[1].inline_data.data
    history = [c.model_dump(mode="json", exclude_none=True) for c in chat.get_history()]
    for part in history[1]["parts"]:
        part.pop("thought_signature", None)
    stripped = gemini.chats.create(model=IMAGE_MODEL, config=image_config(), history=history)
    with pytest.raises(errors.ClientError, match="thought_signature") as caught:
        await stripped.send_message("and a moon")
    assert caught.value.code == 400


async def test_input_images_are_edited_and_keep_their_shape(gemini: Any) -> None:
    source = media.image(300, 200, "png", prompt="source")
    response = await gemini.models.generate_content(
        model=IMAGE_MODEL,
        contents=["make it blue", types.Part.from_bytes(data=source, mime_type="image/png")],
        config=image_config(),
    )
    width, height = media.image_size(response.candidates[0].content.parts[1].inline_data.data)
    assert round(width / height, 2) == 1.5


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (image_config(aspect_ratio="7:3"), "aspect ratio"),
        (image_config(image_size="8K"), "image size"),
        (types.GenerateContentConfig(response_modalities=["AUDIO"]), "modalities: audio"),
    ],
)
async def test_values_the_api_refuses_get_its_400(gemini: Any, config: types.GenerateContentConfig, match: str) -> None:
    with pytest.raises(errors.ClientError, match=match) as caught:
        await gemini.models.generate_content(model=IMAGE_MODEL, contents="x", config=config)
    assert (caught.value.code, caught.value.status) == (400, "INVALID_ARGUMENT")


async def test_safety_blocks_come_as_prompt_feedback_or_a_filtered_finish(gemini: Any) -> None:
    blocked = await gemini.models.generate_content(
        model=IMAGE_MODEL, contents="sandbox:block-prompt", config=image_config()
    )
    assert blocked.prompt_feedback.block_reason == types.BlockedReason.SAFETY
    assert not blocked.candidates
    filtered = await gemini.models.generate_content(
        model=IMAGE_MODEL, contents="sandbox:block-output", config=image_config()
    )
    assert filtered.candidates[0].finish_reason == types.FinishReason.IMAGE_SAFETY
    assert filtered.candidates[0].content is None


async def test_a_tts_model_answers_pcm_for_a_prebuilt_voice(gemini: Any) -> None:
    speech = types.SpeechConfig(
        voice_config=types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Puck"))
    )
    response = await gemini.models.generate_content(
        model="gemini-2.5-flash-preview-tts",
        contents="Hello from the sandbox",
        config=types.GenerateContentConfig(response_modalities=["AUDIO"], speech_config=speech),
    )
    blob = response.candidates[0].content.parts[0].inline_data
    assert blob.mime_type == "audio/L16;codec=pcm;rate=24000"
    assert len(blob.data) % 2 == 0 and len(blob.data) > 24000  # 16-bit samples, more than half a second
    wrong = types.SpeechConfig(
        voice_config=types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="alloy"))
    )
    with pytest.raises(errors.ClientError, match="Allowed voice names"):
        await gemini.models.generate_content(
            model="gemini-2.5-flash-preview-tts",
            contents="hi",
            config=types.GenerateContentConfig(response_modalities=["AUDIO"], speech_config=wrong),
        )


# --- auth ---------------------------------------------------------------------------------------------------------


async def test_a_missing_key_gets_googles_403_on_gemini_and_401_on_vertex(sandbox: Sandbox) -> None:
    import aiohttp

    base = sandbox.base_url("google")
    async with aiohttp.ClientSession() as session:
        gemini = await session.post(f"{base}/v1/models/{IMAGE_MODEL}:generateContent", json={"contents": []})
        vertex = await session.post(f"{base}/v1beta1/publishers/google/models/imagen-4.0-generate-001:predict", json={})
        assert gemini.status == 403
        assert (await gemini.json())["error"]["status"] == "PERMISSION_DENIED"
        assert vertex.status == 401
        assert (await vertex.json())["error"]["status"] == "UNAUTHENTICATED"


async def test_a_wrong_key_gets_api_key_invalid(sandbox: Sandbox) -> None:
    wrong = client(sandbox, key="not-the-sandbox-key")
    with pytest.raises(errors.ClientError) as caught:
        await wrong.aio.models.generate_content(model=IMAGE_MODEL, contents="x")
    await wrong.aio.aclose()
    assert caught.value.code == 400
    assert caught.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"


# --- Vertex predict: Imagen -----------------------------------------------------------------------------------------


async def test_imagen_generates_the_asked_number_of_images_at_its_sizes(vertex: Any) -> None:
    response = await vertex.models.generate_images(
        model="imagen-4.0-generate-001",
        prompt="a lighthouse",
        config=types.GenerateImagesConfig(number_of_images=2, aspect_ratio="9:16", output_mime_type="image/jpeg"),
    )
    assert len(response.generated_images) == 2
    first = response.generated_images[0].image
    assert first.mime_type == "image/jpeg"
    assert media.image_size(first.image_bytes) == (768, 1408)


async def test_imagen_refuses_a_seed_while_the_watermark_is_on(vertex: Any) -> None:
    with pytest.raises(errors.ClientError, match="add_watermark"):
        await vertex.models.generate_images(
            model="imagen-4.0-generate-001", prompt="x", config=types.GenerateImagesConfig(seed=1)
        )
    ok = await vertex.models.generate_images(
        model="imagen-4.0-generate-001", prompt="x", config=types.GenerateImagesConfig(seed=1, add_watermark=False)
    )
    assert ok.generated_images


@pytest.mark.parametrize("count", [1, 2, 4])
async def test_imagen_answers_sample_count_distinct_images(vertex: Any, count: int) -> None:
    response = await vertex.models.generate_images(
        model="imagen-4.0-generate-001", prompt="a fox", config=types.GenerateImagesConfig(number_of_images=count)
    )
    datas = [item.image.image_bytes for item in response.generated_images]
    assert len(datas) == len(set(datas)) == count
    assert all(media.image_size(data) == (1024, 1024) for data in datas)


@pytest.mark.parametrize("count", [0, 5])
async def test_imagen_refuses_a_sample_count_outside_one_to_four(vertex: Any, count: int) -> None:
    with pytest.raises(errors.ClientError) as caught:
        await vertex.models.generate_images(
            model="imagen-4.0-generate-001", prompt="a fox", config=types.GenerateImagesConfig(number_of_images=count)
        )
    assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
    assert "sampleCount" in str(caught.value.message)


async def test_an_imagen_edit_answers_sample_count_distinct_edits(vertex: Any) -> None:
    source = media.image(64, 48, "png", prompt="room")
    response = await vertex.models.edit_image(
        model="imagen-3.0-capability-001",
        prompt="a green sofa",
        reference_images=[
            types.RawReferenceImage(
                reference_id=1, reference_image=types.Image(image_bytes=source, mime_type="image/png")
            )
        ],
        config=types.EditImageConfig(number_of_images=3),
    )
    datas = [item.image.image_bytes for item in response.generated_images]
    assert len(datas) == len(set(datas)) == 3 and {media.image_size(d) for d in datas} == {(64, 48)}


async def test_imagen_reports_the_rai_reason_when_asked(vertex: Any) -> None:
    response = await vertex.models.generate_images(
        model="imagen-4.0-generate-001",
        prompt="sandbox:block-output",
        config=types.GenerateImagesConfig(number_of_images=1, include_rai_reason=True),
    )
    assert response.generated_images[0].image.image_bytes is None
    assert "sandbox" in response.generated_images[0].rai_filtered_reason


async def test_masked_editing_paints_where_the_mask_is_white(vertex: Any) -> None:
    source = media.image(64, 48, "png", prompt="room")
    mask_img = Image.new("L", (64, 48), 0)
    mask_img.paste(255, (0, 0, 32, 48))
    buffer = io.BytesIO()
    mask_img.save(buffer, "PNG")
    response = await vertex.models.edit_image(
        model="imagen-3.0-capability-001",
        prompt="a green sofa",
        reference_images=[
            types.RawReferenceImage(
                reference_id=1, reference_image=types.Image(image_bytes=source, mime_type="image/png")
            ),
            types.MaskReferenceImage(
                reference_id=2,
                reference_image=types.Image(image_bytes=buffer.getvalue(), mime_type="image/png"),
                config=types.MaskReferenceConfig(mask_mode="MASK_MODE_USER_PROVIDED"),
            ),
        ],
        config=types.EditImageConfig(edit_mode="EDIT_MODE_INPAINT_INSERTION", number_of_images=1),
    )
    edited = media.open_image(response.generated_images[0].image.image_bytes).convert("RGB")
    original = media.open_image(source).convert("RGB")
    assert edited.size == (64, 48)
    assert edited.getpixel((60, 2)) == original.getpixel((60, 2))  # black in the mask: kept
    assert edited.getpixel((2, 2)) == media.Palette.of("a green sofa").shape  # white in the mask: painted


async def test_an_inpaint_without_a_mask_and_an_edit_on_a_generate_model_are_refused(vertex: Any) -> None:
    raw = types.RawReferenceImage(
        reference_id=1, reference_image=types.Image(image_bytes=media.image(8, 8), mime_type="image/png")
    )
    with pytest.raises(errors.ClientError, match="needs a REFERENCE_TYPE_MASK"):
        await vertex.models.edit_image(
            model="imagen-3.0-capability-001", prompt="x", reference_images=[raw],
            config=types.EditImageConfig(edit_mode="EDIT_MODE_INPAINT_REMOVAL"),
        )  # fmt: skip
    with pytest.raises(errors.ClientError, match="does not support image editing"):
        await vertex.models.edit_image(model="imagen-4.0-generate-001", prompt="x", reference_images=[raw])


# --- Veo ----------------------------------------------------------------------------------------------------------


async def poll(
    vertex: Any, operation: types.GenerateVideosOperation
) -> tuple[types.GenerateVideosOperation, list[Any]]:
    seen = []
    for _ in range(20):
        operation = await vertex.operations.get(operation)
        seen.append(operation.metadata)
        if operation.done:
            return operation, seen
    raise AssertionError("the operation did not finish in 20 polls")


async def test_a_veo_operation_finishes_after_several_polls_with_an_inline_mp4_and_no_invented_progress(
    vertex: Any,
) -> None:
    operation = await vertex.models.generate_videos(
        model="veo-3.1-generate-preview",
        source=types.GenerateVideosSource(prompt="waves"),
        config=types.GenerateVideosConfig(duration_seconds=4, aspect_ratio="9:16", number_of_videos=1),
    )
    assert operation.name.startswith("publishers/google/models/veo-3.1-generate-preview/operations/")
    assert not operation.done
    operation, metadata = await poll(vertex, operation)
    assert metadata == [None, None, None]  # Vertex documents no progress for Veo; the fake invents none
    video = operation.response.generated_videos[0].video
    assert video.mime_type == "video/mp4" and video.video_bytes[4:8] == b"ftyp"


async def test_a_veo_video_comes_back_as_a_gs_uri_under_the_storage_uri_and_extends_by_it(vertex: Any) -> None:
    operation = await vertex.models.generate_videos(
        model="veo-3.1-generate-preview",
        source=types.GenerateVideosSource(prompt="a city"),
        config=types.GenerateVideosConfig(output_gcs_uri="gs://my-bucket/videos/"),
    )
    operation, _ = await poll(vertex, operation)
    video = operation.response.generated_videos[0].video
    assert video.uri.startswith("gs://my-bucket/videos/") and video.uri.endswith("/sample_0.mp4")
    assert video.video_bytes is None
    extension = await vertex.models.generate_videos(
        model="veo-3.1-generate-preview",
        source=types.GenerateVideosSource(prompt="further", video=types.Video(uri=video.uri, mime_type="video/mp4")),
    )
    extension, _ = await poll(vertex, extension)
    assert extension.response.generated_videos[0].video.video_bytes[4:8] == b"ftyp"


async def test_a_storage_uri_must_be_a_cloud_storage_uri_and_an_unknown_object_cannot_be_extended(vertex: Any) -> None:
    with pytest.raises(errors.ClientError, match="gs://bucket/path") as caught:
        await vertex.models.generate_videos(
            model="veo-3.1-generate-preview",
            source=types.GenerateVideosSource(prompt="a city"),
            config=types.GenerateVideosConfig(output_gcs_uri="http://127.0.0.1/videos"),
        )
    assert caught.value.code == 400
    missing = types.Video(uri="gs://my-bucket/none.mp4", mime_type="video/mp4")
    with pytest.raises(errors.ClientError, match="no such object"):
        await vertex.models.generate_videos(
            model="veo-3.1-generate-preview", source=types.GenerateVideosSource(prompt="x", video=missing)
        )


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"duration_seconds": 5}, "durationSeconds"),
        ({"resolution": "1080p", "duration_seconds": 4}, "1080p videos must be 8 seconds"),
        ({"aspect_ratio": "1:1"}, "Unsupported aspect ratio"),
    ],
)
async def test_veo_rejects_combinations_the_api_rejects(vertex: Any, config: dict[str, Any], match: str) -> None:
    with pytest.raises(errors.ClientError, match=match):
        await vertex.models.generate_videos(
            model="veo-3.1-generate-preview",
            source=types.GenerateVideosSource(prompt="x"),
            config=types.GenerateVideosConfig(**config),
        )


async def test_more_than_three_reference_images_are_refused(vertex: Any) -> None:
    image = types.Image(image_bytes=media.image(16, 16), mime_type="image/png")
    references = [types.VideoGenerationReferenceImage(image=image, reference_type="ASSET") for _ in range(4)]
    with pytest.raises(errors.ClientError, match="At most 3 reference images"):
        await vertex.models.generate_videos(
            model="veo-3.1-generate-preview",
            source=types.GenerateVideosSource(prompt="x"),
            config=types.GenerateVideosConfig(reference_images=references, duration_seconds=8),
        )


async def test_scripted_job_faults_end_the_operation_failed_or_never(sandbox: Sandbox, vertex: Any) -> None:
    sandbox.faults.push("google", "job_fails")
    failing = await vertex.models.generate_videos(model="veo-3.1-generate-preview", source={"prompt": "x"})
    failed, _ = await poll(vertex, failing)
    assert failed.error["code"] == 13
    sandbox.faults.push("google", "job_never_finishes")
    stuck = await vertex.models.generate_videos(model="veo-3.1-generate-preview", source={"prompt": "x"})
    for _ in range(5):
        stuck = await vertex.operations.get(stuck)
    assert not stuck.done and stuck.metadata is None


async def test_an_unknown_operation_is_not_found(vertex: Any) -> None:
    ghost = types.GenerateVideosOperation.model_validate(
        {"name": "publishers/google/models/veo-3.1-generate-preview/operations/nope"}
    )
    with pytest.raises(errors.ClientError) as caught:
        await vertex.operations.get(ghost)
    assert caught.value.code == 404


# --- faults on any route --------------------------------------------------------------------------------------------


async def test_rate_limit_carries_retry_after_and_googles_retry_info(sandbox: Sandbox, gemini: Any) -> None:
    sandbox.faults.push("google", "rate_limit;retry_after=7")
    with pytest.raises(errors.ClientError) as caught:
        await gemini.models.generate_content(model=IMAGE_MODEL, contents="x")
    assert (caught.value.code, caught.value.status) == (429, "RESOURCE_EXHAUSTED")
    assert caught.value.details["error"]["details"][0]["retryDelay"] == "7s"


@pytest.mark.parametrize(("fault", "code"), [("server_error", 500), ("unavailable", 503)])
async def test_server_faults_are_googles_5xx(sandbox: Sandbox, vertex: Any, fault: str, code: int) -> None:
    sandbox.faults.push("google", fault)
    with pytest.raises(errors.ServerError) as caught:
        await vertex.models.generate_images(model="imagen-4.0-generate-001", prompt="x")
    assert caught.value.code == code


async def test_retired_answers_googles_not_found_for_the_route(sandbox: Sandbox, vertex: Any) -> None:
    sandbox.faults.push("google", "retired")
    with pytest.raises(errors.ClientError) as caught:
        await vertex.models.generate_images(model="imagen-4.0-generate-001", prompt="x")
    assert (caught.value.code, caught.value.status) == (404, "NOT_FOUND")
    assert "was not found on this server" in str(caught.value.message)


def test_pcm_from_the_fake_is_little_endian_24khz_mono() -> None:
    pcm = media.speech("pcm", 0.5)
    with wave.open(io.BytesIO(media.speech("wav", 0.5))) as wav:
        assert wav.getframerate() == 24000 and wav.getnchannels() == 1
        assert wav.readframes(wav.getnframes()) == pcm
    assert base64.b64encode(pcm)
