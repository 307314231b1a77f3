"""The Google generator with the real google-genai client against the sandbox's Google fake."""

from __future__ import annotations

import base64
import io
import json
import wave
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import types

from mediagen.adapters.credentials.env import StaticCredentialSource
from mediagen.adapters.google import PLUGIN, SPEC
from mediagen.adapters.google.generator import GoogleGenerator
from mediagen.adapters.google.history import HISTORY_KIND
from mediagen.adapters.google.video import VIDEO_KIND
from mediagen.adapters.sinks.filesystem import FilesystemSink
from mediagen.adapters.stores.memory import MemoryStore
from mediagen.adapters.stores.sqlite import SqliteStore
from mediagen.application.registry import BackendRegistry
from mediagen.application.selector import BackendSelector
from mediagen.application.service import MediaService
from mediagen.application.settings import RetrySettings, Settings
from mediagen.domain.errors import (
    AuthenticationFailed,
    BackendError,
    ContentRejected,
    GenerationTimeout,
    InvalidRequest,
    MediaGenError,
    RateLimited,
    TransientBackendError,
    UnsupportedParameter,
)
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.continuation import ContinuationState, ContinuationStore
from mediagen.ports.generator import BackendOptions, GeneratedMedia, GenerationContext
from mediagen.ports.progress import Polling, ProgressEvent
from mediagen.sandbox import media
from mediagen.sandbox.google import GoogleState
from mediagen.sandbox.server import Sandbox
from mediagen.sandbox.settings import SandboxSettings

KEY = "sandbox-google-test-key"
FAST = {"poll_interval": 0.01, "poll_max_interval": 0.02}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("google",), settings=SandboxSettings(job_polls=3, api_key=KEY)) as running:
        yield running


def fake_state(sandbox: Sandbox) -> GoogleState:
    found = sandbox.state("google")
    assert isinstance(found, GoogleState)
    return found


def options(sandbox: Sandbox, **extra: Any) -> BackendOptions:
    return BackendOptions(base_url=sandbox.base_url("google"), extra={**FAST, **extra})


@pytest.fixture
async def generator(sandbox: Sandbox) -> AsyncIterator[GoogleGenerator]:
    made = PLUGIN.factory(options(sandbox))
    assert isinstance(made, GoogleGenerator)
    yield made
    await made.aclose()


def ctx(model: str, **kwargs: Any) -> GenerationContext:
    return GenerationContext(credentials=Secret(KEY), model=model, timeout=kwargs.pop("timeout", 60.0), **kwargs)


async def read(generated: GeneratedMedia) -> bytes:
    return b"".join([chunk async for chunk in generated.stream])


@pytest.fixture
def pictures(tmp_path: Path) -> list[Path]:
    paths = []
    for index, (width, height) in enumerate([(300, 200), (64, 64), (80, 60), (50, 50)]):
        path = tmp_path / f"picture{index}.png"
        path.write_bytes(media.image(width, height, "png", prompt=f"picture {index}"))
        paths.append(path)
    return paths


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def service(sandbox: Sandbox, root: Path, store: ContinuationStore, **extra: Any) -> MediaService:
    """A service as a separate process would build it: its own registry, generator, store object and sink."""
    registry = BackendRegistry([PLUGIN], {"google": options(sandbox, **extra)})
    selector = BackendSelector(registry.specs, StaticCredentialSource({"google": KEY}))
    sink = FilesystemSink(allowed_roots=[root], default_dir=root)
    settings = Settings(retry=RetrySettings(attempts=2, wait_initial=0, wait_max=0, wait_jitter=0))
    return MediaService(registry=registry, selector=selector, store=store, sink=sink, settings=settings)


# --- Gemini images --------------------------------------------------------------------------------------------------


async def test_a_gemini_image_is_a_png_of_the_asked_shape_with_its_text_as_metadata(
    sandbox: Sandbox, generator: GoogleGenerator
) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a red fox", aspect_ratio="16:9", quality="2K")
    generated = await generator.generate(request, ctx("gemini-3.1-flash-image-preview"))
    data = await read(generated)
    assert generated.mime_type == "image/png"
    assert media.image_size(data) == (2048, 1152)
    assert generated.metadata["text"].startswith("Here is the image")
    assert generated.metadata["usage"]["total_token_count"] > 0
    assert generated.parameters.applied == {"aspect_ratio": "16:9", "quality": "2K"}
    [sent] = fake_state(sandbox).requests_to("generateContent")
    assert sent.body["generationConfig"]["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "2K"}


async def test_every_input_image_is_sent_as_a_part(
    sandbox: Sandbox, generator: GoogleGenerator, pictures: list[Path]
) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="combine them", input_images=pictures[:3])
    generated = await generator.generate(request, ctx("gemini-3.1-flash-image-preview"))
    await read(generated)
    [sent] = fake_state(sandbox).requests_to("generateContent")
    parts = sent.body["contents"][-1]["parts"]
    assert [p.get("text") for p in parts if "text" in p] == ["combine them"]
    assert sorted(media.image_size(media_b64(p)) for p in parts if "inlineData" in p) == [
        (64, 64),
        (80, 60),
        (300, 200),
    ]
    assert generated.parameters.applied["input_images"] == 3


def media_b64(part: dict[str, Any]) -> bytes:
    import base64

    return base64.b64decode(part["inlineData"]["data"].replace("-", "+").replace("_", "/"))


async def test_a_three_turn_edit_continues_from_state_that_went_through_json(sandbox: Sandbox) -> None:
    states: list[ContinuationState] = []
    state: ContinuationState | None = None
    for turn, prompt in enumerate(["a cabin in a forest", "add snow on the roof", "make it night"]):
        # A new generator per turn and state that went through JSON text: as separate processes would do it.
        fresh = PLUGIN.factory(options(sandbox))
        if state is not None:
            state = ContinuationState(kind=state.kind, data=json.loads(json.dumps(dict(state.data))), blob=state.blob)
        request = MediaRequest(media_type=MediaType.IMAGE, prompt=prompt, continue_from=None if turn == 0 else "prev")
        generated = await fresh.generate(request, ctx("gemini-3.1-flash-image-preview", continuation=state))
        assert (await read(generated))[:8] == b"\x89PNG\r\n\x1a\n"
        await fresh.aclose()
        assert generated.continuation is not None and generated.continuation.kind == HISTORY_KIND
        assert generated.metadata["history"]["turns"] == turn + 1
        state = generated.continuation
        states.append(state)
    sent = fake_state(sandbox).requests_to("generateContent")
    assert [[c["role"] for c in r.body["contents"]] for r in sent] == [
        ["user"],
        ["user", "model", "user"],
        ["user", "model", "user", "model", "user"],
    ]
    # Every image the model made went back with its thought signature (the fake refuses them otherwise).
    model_parts = [
        p for c in sent[-1].body["contents"] if c["role"] == "model" for p in c["parts"] if "inlineData" in p
    ]
    assert len(model_parts) == 2 and all(p.get("thoughtSignature") for p in model_parts)


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


async def test_restored_history_is_kept_in_googles_field_names_and_sent_as_the_sdk_sent_it(sandbox: Sandbox) -> None:
    first = await PLUGIN.factory(options(sandbox)).generate(
        MediaRequest(media_type=MediaType.IMAGE, prompt="a cabin"), ctx("gemini-3.1-flash-image-preview")
    )
    await read(first)
    assert first.continuation is not None
    history = first.continuation.data["history"]
    assert {"inlineData", "mimeType", "thoughtSignature"} <= _keys(history)
    assert not {k for k in _keys(history) if "_" in k}  # no snake_case name of mediagen's own
    # An older state saved in snake_case still reads.
    older = [types.Content.model_validate(c).model_dump(mode="json", exclude_none=True) for c in history]
    assert "inline_data" in _keys(older)
    for state in (
        first.continuation,
        ContinuationState(kind=HISTORY_KIND, data={**first.continuation.data, "history": older}),
    ):
        request = MediaRequest(media_type=MediaType.IMAGE, prompt="add snow", continue_from="prev")
        await read(
            await PLUGIN.factory(options(sandbox)).generate(
                request, ctx("gemini-3.1-flash-image-preview", continuation=state)
            )
        )
    opening, continued, _ = fake_state(sandbox).requests_to("generateContent")
    # The restored user turn goes out exactly as google-genai sent it the first time.
    assert continued.sent["contents"][0] == opening.sent["contents"][0]


async def test_three_turns_through_fresh_services_on_one_sqlite_store(sandbox: Sandbox, tmp_path: Path) -> None:
    continuation: str | None = None
    paths = []
    for prompt in ["a boat", "add a sail", "add a seagull"]:
        store = SqliteStore(tmp_path / "continuations.sqlite3")
        async with service(sandbox, tmp_path, store) as svc:
            result = await svc.generate(
                MediaRequest(media_type=MediaType.IMAGE, prompt=prompt, continue_from=continuation)
            )
        assert result.backend == "google" and result.continuation_id is not None
        assert result.continuation_id.startswith("google_gemini-chat_")
        continuation = result.continuation_id
        paths.append(result.path)
    assert [p.suffix for p in paths] == [".png"] * 3
    last = fake_state(sandbox).requests_to("generateContent")[-1]
    assert len(last.body["contents"]) == 5


async def test_history_beyond_the_turn_bound_is_dropped_and_reported(sandbox: Sandbox) -> None:
    bounded = PLUGIN.factory(options(sandbox, max_history_turns=2))
    state = None
    dropped = []
    for prompt in ["one", "two", "three", "four"]:
        generated = await bounded.generate(
            MediaRequest(media_type=MediaType.IMAGE, prompt=prompt),
            ctx("gemini-3.1-flash-image-preview", continuation=state),
        )
        await read(generated)
        state = generated.continuation
        dropped.append((generated.metadata["history"]["turns"], generated.metadata["history"]["dropped_turns_total"]))
    await bounded.aclose()
    assert dropped == [(1, 0), (2, 0), (2, 1), (2, 2)]
    assert state is not None and state.data["dropped_turns"] == 2


async def test_a_safety_block_is_content_rejected_with_the_vendors_reason(generator: GoogleGenerator) -> None:
    for prompt, reason in [("sandbox:block-prompt", "SAFETY"), ("sandbox:block-output", "IMAGE_SAFETY")]:
        with pytest.raises(ContentRejected, match=reason) as caught:
            await generator.generate(
                MediaRequest(media_type="image", prompt=prompt), ctx("gemini-3.1-flash-image-preview")
            )
        # The Gemini API gives a reason, not words (its PromptFeedback has no blockReasonMessage).
        assert (
            "blocked the prompt" if reason == "SAFETY" else "HARM_CATEGORY_DANGEROUS_CONTENT"
        ) in caught.value.message


async def test_an_answer_without_an_image_is_an_error_that_says_so(generator: GoogleGenerator) -> None:
    with pytest.raises(BackendError, match="no image") as caught:
        await generator.generate(
            MediaRequest(media_type="image", prompt="sandbox:no-image"), ctx("gemini-3.1-flash-image-preview")
        )
    assert type(caught.value) is BackendError
    assert "The sandbox read" in caught.value.message


# --- Imagen ----------------------------------------------------------------------------------------------------------


async def test_imagen_generates_one_image_with_seed_negative_prompt_and_aspect(
    sandbox: Sandbox, generator: GoogleGenerator
) -> None:
    request = MediaRequest(
        media_type=MediaType.IMAGE, prompt="a lighthouse", seed=7, negative_prompt="people", aspect_ratio="3:4",
        output_format="jpeg",
    )  # fmt: skip
    generated = await generator.generate(request, ctx("imagen-4.0-generate-001"))
    data = await read(generated)
    assert generated.mime_type == "image/jpeg" and media.image_size(data) == (896, 1280)
    [sent] = fake_state(sandbox).requests_to("predict")
    assert sent.path == "/v1beta1/publishers/google/models/imagen-4.0-generate-001:predict"
    assert sent.body["parameters"].items() >= {
        "sampleCount": 1, "seed": 7, "negativePrompt": "people", "aspectRatio": "3:4", "addWatermark": False,
    }.items()  # fmt: skip
    assert generated.parameters.ignored == ()


async def test_imagen_makes_n_distinct_images_in_one_predict_call(sandbox: Sandbox, generator: GoogleGenerator) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a lighthouse", n=4, aspect_ratio="16:9")
    made = await generator.generate_images(request, ctx("imagen-4.0-generate-001"))
    assert all(isinstance(m, GeneratedMedia) for m in made) and len(made) == 4
    datas = [await read(m) for m in made if isinstance(m, GeneratedMedia)]
    assert len(set(datas)) == 4 and {media.image_size(d) for d in datas} == {(1408, 768)}
    [sent] = fake_state(sandbox).requests_to("predict")  # one request for the four
    assert sent.body["parameters"]["sampleCount"] == 4


async def test_an_imagen_edit_makes_n_distinct_edits_in_one_call(
    sandbox: Sandbox, generator: GoogleGenerator, pictures: list[Path]
) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a vase", n=3, input_images=pictures[:1])
    made = await generator.generate_images(request, ctx("imagen-3.0-capability-001"))
    datas = [await read(m) for m in made if isinstance(m, GeneratedMedia)]
    assert len(set(datas)) == 3 and {media.image_size(d) for d in datas} == {(300, 200)}
    [sent] = fake_state(sandbox).requests_to("predict")
    assert sent.body["parameters"]["sampleCount"] == 3


async def test_ten_imagen_images_through_the_service_are_three_calls_each_image_its_own_file(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    async with service(sandbox, tmp_path, MemoryStore()) as svc:
        request = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", n=10, model="imagen-4.0-generate-001",
                               filename="fox.png")  # fmt: skip
        batch = await svc.generate_batch([request])
    assert batch.succeeded == 10
    assert [r.path.name for r in batch.results] == [f"fox-{i}.png" for i in range(1, 11)]
    counts = sorted(r.body["parameters"]["sampleCount"] for r in fake_state(sandbox).requests_to("predict"))
    assert counts == [3, 3, 4]
    assert len({r.artifact.sha256 for r in batch.results}) == 10  # each call draws anew, as Imagen does
    (adapted,) = [a for a in batch.results[0].adapted if a.name == "n"]
    assert adapted.used == "3 calls of 4+3+3 images" and "at most 4 images per call" in adapted.reason


async def test_imagen_refuses_more_samples_than_it_makes_as_vertex_does(sandbox: Sandbox) -> None:
    client = genai.Client(
        vertexai=True, api_key=KEY, http_options=types.HttpOptions(base_url=sandbox.base_url("google"))
    )
    with pytest.raises(genai.errors.ClientError) as caught:
        await client.aio.models.generate_images(
            model="imagen-4.0-generate-001", prompt="a fox", config=types.GenerateImagesConfig(number_of_images=5)
        )
    assert caught.value.code == 400 and "sampleCount" in str(caught.value)


async def test_an_imagen_rai_filter_is_content_rejected(generator: GoogleGenerator) -> None:
    with pytest.raises(ContentRejected, match="Responsible AI"):
        await generator.generate(
            MediaRequest(media_type="image", prompt="sandbox:block-output"), ctx("imagen-4.0-generate-001")
        )


async def test_a_masked_request_is_routed_to_imagen_and_the_mask_is_sent(
    sandbox: Sandbox, tmp_path: Path, pictures: list[Path]
) -> None:
    mask = tmp_path / "mask.png"
    mask.write_bytes(media.image(300, 200, "png", prompt="mask"))
    async with service(sandbox, tmp_path, MemoryStore()) as svc:
        request = MediaRequest(media_type=MediaType.IMAGE, prompt="a vase", input_images=pictures[:1], mask=mask)
        result = await svc.generate(request)
    assert result.model == "imagen-3.0-capability-001"
    assert result.parameters.applied["mask"] == str(mask)
    assert media.image_size(result.path.read_bytes()) == (300, 200)
    [sent] = fake_state(sandbox).requests_to("predict")
    references = sent.body["instances"][0]["referenceImages"]
    assert [r["referenceType"] for r in references] == ["REFERENCE_TYPE_RAW", "REFERENCE_TYPE_MASK"]
    assert references[1]["maskImageConfig"]["maskMode"] == "MASK_MODE_USER_PROVIDED"
    assert sent.body["parameters"]["editMode"] == "EDIT_MODE_INPAINT_INSERTION"
    assert not fake_state(sandbox).requests_to("generateContent")


async def test_either_form_of_mask_reaches_imagen_as_white_where_the_picture_may_change(
    sandbox: Sandbox, tmp_path: Path, pictures: list[Path]
) -> None:
    """OpenAI's form (transparent hole) and Imagen's (white on black) mean the same edit on Google as on OpenAI."""
    from PIL import Image

    transparent_hole = Image.new("RGBA", (300, 200), (90, 90, 90, 255))
    transparent_hole.paste((0, 0, 0, 0), (100, 50, 200, 150))
    white_on_black = Image.new("L", (300, 200), 0)
    white_on_black.paste(255, (100, 50, 200, 150))
    sent_masks = []
    for name, mask_image in (("hole.png", transparent_hole), ("white.png", white_on_black)):
        mask_image.save(tmp_path / name)
        async with service(sandbox, tmp_path, MemoryStore()) as svc:
            request = MediaRequest(
                media_type=MediaType.IMAGE, prompt="a vase", input_images=pictures[:1], mask=tmp_path / name
            )
            await svc.generate(request)
        sent = fake_state(sandbox).requests_to("predict")[-1]
        encoded = sent.body["instances"][0]["referenceImages"][1]["referenceImage"]["bytesBase64Encoded"]
        sent_masks.append(base64.b64decode(encoded))
    assert sent_masks[0] == sent_masks[1]
    sent_mask = Image.open(io.BytesIO(sent_masks[0]))
    assert sent_mask.mode == "L" and sent_mask.size == Image.open(pictures[0]).size
    scaled = sent_mask.resize((300, 200), Image.Resampling.NEAREST)
    assert scaled.getpixel((150, 100)) == 255 and scaled.getpixel((20, 20)) == 0


# --- Veo -------------------------------------------------------------------------------------------------------------


async def test_veo_text_to_video_reports_the_operation_polls_and_streams_an_mp4(
    sandbox: Sandbox, generator: GoogleGenerator
) -> None:
    jobs: list[str] = []
    events: list[ProgressEvent] = []

    async def job_started(job_id: str) -> None:
        jobs.append(job_id)

    request = MediaRequest(media_type=MediaType.VIDEO, prompt="waves at dusk", duration=5, aspect_ratio="9:16")
    generated = await generator.generate(
        request, ctx("veo-3.1-generate-preview", job_started=job_started, progress=events.append)
    )
    data = await read(generated)
    assert data[4:8] == b"ftyp" and generated.mime_type == "video/mp4"
    assert jobs == [generated.metadata["operation"]]
    polls = [e for e in events if isinstance(e, Polling)]
    # Veo sends no progress figure: the events count the polls (and the time waited) until it is done.
    assert [(p.status, p.percent, p.polls) for p in polls] == [
        ("running", None, 1),
        ("running", None, 2),
        ("done", 100.0, 3),
    ]
    [adapted] = generated.parameters.adapted
    assert (adapted.name, adapted.requested, adapted.used) == ("duration", 5.0, 6.0)
    [sent] = fake_state(sandbox).requests_to("predictLongRunning")
    assert sent.body["parameters"].items() >= {"durationSeconds": 6, "aspectRatio": "9:16", "sampleCount": 1}.items()
    assert generated.continuation is not None and generated.continuation.kind == VIDEO_KIND


async def test_veo_image_to_video_sends_the_starting_frame(
    sandbox: Sandbox, generator: GoogleGenerator, pictures: list[Path]
) -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="it moves", input_images=pictures[:1])
    await read(await generator.generate(request, ctx("veo-3.1-generate-preview")))
    [sent] = fake_state(sandbox).requests_to("predictLongRunning")
    assert media.image_size(
        media_b64({"inlineData": {"data": sent.body["instances"][0]["image"]["bytesBase64Encoded"]}})
    ) == (300, 200)


@pytest.mark.parametrize(
    ("size", "asked", "sent_ratio"),
    [((200, 300), None, "9:16"), ((300, 200), None, "16:9"), ((200, 300), "16:9", "16:9")],
    ids=["portrait", "landscape", "asked-wins"],
)
async def test_a_starting_image_gives_the_video_its_orientation_unless_one_is_asked(
    sandbox: Sandbox, generator: GoogleGenerator, tmp_path: Path, size: tuple[int, int], asked: str | None,
    sent_ratio: str,
) -> None:  # fmt: skip
    start = tmp_path / "start.png"
    start.write_bytes(media.image(*size, "png", prompt="start"))
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="it moves", input_images=[start], aspect_ratio=asked)
    result = await read(await generator.generate(request, ctx("veo-3.1-generate-preview")))
    assert result
    [sent] = fake_state(sandbox).requests_to("predictLongRunning")
    assert sent.body["parameters"]["aspectRatio"] == sent_ratio


async def test_veo_reference_images_and_more_than_three_is_an_error(
    sandbox: Sandbox, generator: GoogleGenerator, pictures: list[Path]
) -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="the same dog", input_images=pictures[:3])
    generated = await generator.generate(request, ctx("veo-3.1-generate-preview"))
    await read(generated)
    [sent] = fake_state(sandbox).requests_to("predictLongRunning")
    assert [r["referenceType"] for r in sent.body["instances"][0]["referenceImages"]] == ["ASSET"] * 3
    assert sent.body["parameters"].items() >= {"durationSeconds": 8, "aspectRatio": "16:9"}.items()
    too_many = MediaRequest(media_type=MediaType.VIDEO, prompt="x", input_images=pictures[:4])
    with pytest.raises(InvalidRequest, match="at most 3 reference images"):
        await generator.generate(too_many, ctx("veo-3.1-generate-preview"))
    assert len(fake_state(sandbox).requests_to("predictLongRunning")) == 1


async def test_a_last_frame_from_extra_is_sent_with_the_starting_frame(
    sandbox: Sandbox, generator: GoogleGenerator, pictures: list[Path]
) -> None:
    request = MediaRequest(
        media_type=MediaType.VIDEO, prompt="from day to night", input_images=pictures[:1],
        extra={"last_frame": str(pictures[2])},
    )  # fmt: skip
    generated = await generator.generate(request, ctx("veo-3.1-generate-preview"))
    await read(generated)
    [sent] = fake_state(sandbox).requests_to("predictLongRunning")
    instance = sent.body["instances"][0]
    assert "image" in instance
    last = media_b64({"inlineData": {"data": instance["lastFrame"]["bytesBase64Encoded"]}})
    assert media.image_size(last) == (80, 60)
    assert generated.parameters.applied["extra.last_frame"] == str(pictures[2])
    missing = MediaRequest(
        media_type=MediaType.VIDEO, prompt="x", input_images=pictures[:1], extra={"last_frame": "/nope.png"}
    )
    with pytest.raises(InvalidRequest, match="does not exist"):
        await generator.generate(missing, ctx("veo-3.1-generate-preview"))


async def test_a_video_written_to_cloud_storage_is_a_clear_error_saying_where_it_is(
    sandbox: Sandbox, generator: GoogleGenerator
) -> None:
    # mediagen never sends a storage URI; an operation made elsewhere with one is resumed to its gs:// answer.
    client = genai.Client(
        vertexai=True, api_key=KEY, http_options=types.HttpOptions(base_url=sandbox.base_url("google"))
    )
    operation = await client.aio.models.generate_videos(
        model="veo-3.1-generate-preview",
        source=types.GenerateVideosSource(prompt="a city"),
        config=types.GenerateVideosConfig(output_gcs_uri="gs://their-bucket/veo"),
    )
    await client.aio.aclose()
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="a city")
    with pytest.raises(BackendError) as caught:
        await generator.generate(request, ctx("veo-3.1-generate-preview", resume_job_id=operation.name))
    assert "gs://their-bucket/veo/" in caught.value.message
    assert "storageUri" in caught.value.message and "output_gcs_uri" in caught.value.message
    assert "gcloud storage cp" in caught.value.message and caught.value.code != "internal_error"


async def test_veo_progress_tells_the_time_waited_by_the_generators_clock(sandbox: Sandbox) -> None:
    clock = FakeClock()
    paced = GoogleGenerator(
        SPEC, options(sandbox, poll_interval=5, poll_backoff=2, poll_max_interval=100), clock=clock, sleep=clock.sleep
    )
    events: list[ProgressEvent] = []
    await read(
        await paced.generate(
            MediaRequest(media_type="video", prompt="x"), ctx("veo-3.1-generate-preview", progress=events.append)
        )
    )
    assert [e.elapsed_seconds for e in events if isinstance(e, Polling)] == [5.0, 15.0, 35.0]
    await paced.aclose()


@pytest.mark.parametrize("prompt", ["a river"])
async def test_extending_a_previous_veo_video_sends_it_back(
    sandbox: Sandbox, generator: GoogleGenerator, prompt: str
) -> None:
    first = await generator.generate(MediaRequest(media_type="video", prompt=prompt), ctx("veo-3.1-generate-preview"))
    await read(first)
    assert first.continuation is not None
    state = first.continuation
    copied = ContinuationState(kind=state.kind, data=json.loads(json.dumps(dict(state.data))), blob=state.blob)
    request = MediaRequest(media_type="video", prompt="keep going", duration=4, continue_from="prev")
    extended = await generator.generate(request, ctx("veo-3.1-generate-preview", continuation=copied))
    assert (await read(extended))[4:8] == b"ftyp"
    sent = fake_state(sandbox).requests_to("predictLongRunning")[-1]
    assert "video" in sent.body["instances"][0]
    assert sent.body["parameters"].items() >= {"resolution": "720p", "durationSeconds": 8}.items()
    assert extended.parameters.adapted[0].name == "duration"


async def test_resuming_polls_the_existing_operation_without_submitting_again(
    sandbox: Sandbox, generator: GoogleGenerator
) -> None:
    jobs: list[str] = []

    async def job_started(job_id: str) -> None:
        jobs.append(job_id)
        raise KeyboardInterrupt  # the wait is interrupted right after the job exists

    request = MediaRequest(media_type=MediaType.VIDEO, prompt="a slow sunset")
    with pytest.raises(KeyboardInterrupt):
        await generator.generate(request, ctx("veo-3.1-generate-preview", job_started=job_started))
    resumed = await generator.generate(request, ctx("veo-3.1-generate-preview", resume_job_id=jobs[0]))
    assert (await read(resumed))[4:8] == b"ftyp"
    assert resumed.metadata["operation"] == jobs[0]
    assert len(fake_state(sandbox).requests_to("predictLongRunning")) == 1


class FakeClock:
    """Time that moves only when the generator sleeps between polls."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_a_never_finishing_operation_ends_in_generation_timeout_naming_it(sandbox: Sandbox) -> None:
    clock = FakeClock()
    slow = GoogleGenerator(
        SPEC, options(sandbox, poll_interval=5, poll_max_interval=30), clock=clock, sleep=clock.sleep
    )
    with pytest.raises(GenerationTimeout) as caught:
        await slow.generate(
            MediaRequest(media_type="video", prompt="sandbox:never-finish"),
            ctx("veo-3.1-generate-preview", timeout=120),
        )
    await slow.aclose()
    operation = next(iter(fake_state(sandbox).operations))
    assert caught.value.job_id == operation
    assert clock.slept[:4] == [5, 7.5, 11.25, 16.875] and max(clock.slept) <= 30
    assert sum(clock.slept) == pytest.approx(120)


async def test_through_the_service_a_never_finishing_job_leaves_no_file(sandbox: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    async with service(sandbox, out.parent, MemoryStore()) as svc:
        with pytest.raises(GenerationTimeout):
            await svc.generate(
                MediaRequest(media_type="video", prompt="sandbox:never-finish", timeout=0.3, output_dir=out)
            )
    assert files_in(out) == []


async def test_a_failed_or_filtered_operation_is_a_typed_error(generator: GoogleGenerator) -> None:
    with pytest.raises(BackendError, match="failed") as failed:
        await generator.generate(
            MediaRequest(media_type="video", prompt="sandbox:fail-job"), ctx("veo-3.1-generate-preview")
        )
    assert not failed.value.retryable
    with pytest.raises(ContentRejected, match="safety"):
        await generator.generate(
            MediaRequest(media_type="video", prompt="sandbox:block-output"), ctx("veo-3.1-generate-preview")
        )


# --- speech ----------------------------------------------------------------------------------------------------------


async def test_gemini_speech_is_a_wav_that_wave_opens_with_the_declared_rate(generator: GoogleGenerator) -> None:
    request = MediaRequest(media_type=MediaType.AUDIO, prompt="Hello from the sandbox", voice="puck")
    generated = await generator.generate(request, ctx("gemini-2.5-flash-preview-tts"))
    data = await read(generated)
    assert generated.mime_type == "audio/wav"
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        assert wav.getnframes() > 12000
    assert generated.parameters.applied["voice"] == "Puck"


async def test_speech_as_pcm_is_the_raw_samples(generator: GoogleGenerator) -> None:
    request = MediaRequest(media_type=MediaType.AUDIO, prompt="Hello", audio_format="pcm")
    generated = await generator.generate(request, ctx("gemini-2.5-flash-preview-tts"))
    data = await read(generated)
    assert generated.mime_type == "audio/pcm" and data[:4] != b"RIFF" and len(data) % 2 == 0


# --- errors ----------------------------------------------------------------------------------------------------------


async def test_a_refused_key_is_an_authentication_failure_that_never_shows_the_key(sandbox: Sandbox) -> None:
    wrong = "wrong-key-0123456789abcdef"
    made = PLUGIN.factory(options(sandbox))
    for model, media_type in [("gemini-3.1-flash-image-preview", "image"), ("imagen-4.0-generate-001", "image")]:
        context = GenerationContext(credentials=Secret(wrong), model=model, timeout=30)
        with pytest.raises(AuthenticationFailed) as caught:
            await made.generate(MediaRequest(media_type=media_type, prompt="x"), context)
        assert wrong not in str(caught.value) and wrong not in repr(caught.value.to_dict())
        assert "GOOGLE_API_KEY" in caught.value.message
    await made.aclose()


@pytest.mark.parametrize(
    ("fault", "error", "check"),
    [
        ("rate_limit;retry_after=3", RateLimited, lambda e: e.retry_after == 3),
        ("server_error", TransientBackendError, lambda e: e.status == 500),
        ("unavailable", TransientBackendError, lambda e: e.status == 503),
        ("malformed", TransientBackendError, lambda e: "malformed" in e.message),
        ("content_policy", ContentRejected, lambda e: "Responsible AI" in e.message),
    ],
)
async def test_vendor_faults_are_translated_once_into_typed_errors(
    sandbox: Sandbox, generator: GoogleGenerator, fault: str, error: type[MediaGenError], check: Callable[[Any], bool]
) -> None:
    sandbox.faults.push("google", fault)
    with pytest.raises(error) as caught:
        await generator.generate(MediaRequest(media_type="image", prompt="x"), ctx("gemini-3.1-flash-image-preview"))
    assert type(caught.value) is error and check(caught.value)


async def test_a_request_that_hangs_past_the_request_timeout_is_transient(sandbox: Sandbox) -> None:
    impatient = PLUGIN.factory(options(sandbox, request_timeout=0.2))
    sandbox.faults.push("google", "hang;seconds=5")
    with pytest.raises(TransientBackendError, match="in time"):
        await impatient.generate(MediaRequest(media_type="audio", prompt="hi"), ctx("gemini-2.5-flash-preview-tts"))
    await impatient.aclose()


async def test_strict_mode_refuses_an_ignored_parameter_before_any_call(
    sandbox: Sandbox, generator: GoogleGenerator
) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="x", background="transparent")
    with pytest.raises(UnsupportedParameter) as caught:
        await generator.generate(request, ctx("gemini-3.1-flash-image-preview", strict=True))
    assert caught.value.field == "background"
    assert sandbox.calls("google") == []


async def test_continuing_from_another_kind_of_state_is_refused(generator: GoogleGenerator) -> None:
    video_state = ContinuationState(kind=VIDEO_KIND, data={"uri": "files/abc"})
    with pytest.raises(InvalidRequest, match="not a Gemini image chat"):
        await generator.generate(
            MediaRequest(media_type="image", prompt="x"),
            ctx("gemini-3.1-flash-image-preview", continuation=video_state),
        )
