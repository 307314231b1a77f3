"""The OpenAI adapter with the real AsyncOpenAI against the sandbox's OpenAI fake, mostly through MediaService
with the real FilesystemSink: images, edits, masks, continuations, Sora, speech, every fault script, keys."""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import httpx2
import openai
import pytest
from PIL import Image

from mediagen.adapters.credentials.env import StaticCredentialSource
from mediagen.adapters.openai import PLUGIN
from mediagen.adapters.openai.errors import sora_retired_error, translate_openai_error
from mediagen.adapters.openai.generator import OpenAIGenerator
from mediagen.adapters.openai.spec import SORA_SHUTDOWN
from mediagen.adapters.sinks.filesystem import FilesystemSink
from mediagen.adapters.stores.memory import MemoryStore
from mediagen.adapters.stores.sqlite import SqliteStore
from mediagen.application.codec import decode_request, encode_request
from mediagen.application.registry import BackendRegistry
from mediagen.application.selector import BackendSelector
from mediagen.application.service import MediaService
from mediagen.application.settings import BackendSettings, RetrySettings, Settings, TimeoutSettings
from mediagen.domain.errors import (
    AuthenticationFailed,
    BackendError,
    ContentRejected,
    ContinuationNotFound,
    GenerationTimeout,
    InvalidRequest,
    MediaGenError,
    RateLimited,
    TransientBackendError,
)
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import GenerationResult
from mediagen.domain.secret import Secret
from mediagen.domain.sniff import EXTENSIONS, SNIFF_BYTES, sniff
from mediagen.ports.continuation import ContinuationStore
from mediagen.ports.generator import BackendOptions, GeneratedMedia, GenerationContext
from mediagen.ports.progress import Downloading, Polling, Retried, Selected, Submitted, Written
from mediagen.sandbox import FAULT_KINDS, Fault, Sandbox, SandboxSettings, media
from mediagen.sandbox.openai import OpenAIState
from mediagen.testing import RecordingListener
from mediagen.testing.media import png

#: Shaped like a real project key, so both the exact value and the key pattern would be caught if leaked.
KEY = "sk-proj-MEDIAGENrecognisable0123456789abcdefSECRET"


def before_sora_shutdown() -> datetime.date:
    """The sandbox plays a Sora API that still serves: auto-selection picks Sora only before its shutdown."""
    return SORA_SHUTDOWN - datetime.timedelta(days=1)


FAST = {"poll_interval": 0.01, "poll_max_interval": 0.02}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    settings = SandboxSettings(job_polls=2, poll_after_ms=1, api_key=KEY, hang_seconds=5)
    async with Sandbox(vendors=("openai",), settings=settings) as running:
        yield running


def state(sandbox: Sandbox) -> OpenAIState:
    return sandbox.state("openai")


def options(sandbox: Sandbox, **extra: Any) -> BackendOptions:
    return BackendOptions(base_url=sandbox.base_url("openai"), extra={**FAST, **extra})


def build(
    sandbox: Sandbox,
    root: Path,
    store: ContinuationStore | None = None,
    *,
    attempts: int = 2,
    wait_max: float = 0.0,
    timeouts: TimeoutSettings | None = None,
    **extra: Any,
) -> MediaService:
    """A service as an app builds it: its own registry, generator, store and a real sink confined to `root`."""
    retry = RetrySettings(attempts=attempts, wait_initial=0, wait_max=wait_max, wait_jitter=0)
    registry = BackendRegistry([PLUGIN], {"openai": options(sandbox, **extra)})
    return MediaService(
        registry=registry,
        selector=BackendSelector(registry.specs, StaticCredentialSource({"openai": KEY}), today=before_sora_shutdown),
        store=store if store is not None else MemoryStore(),
        sink=FilesystemSink(allowed_roots=[root], default_dir=root),
        settings=Settings(retry=retry, timeouts=timeouts if timeouts is not None else TimeoutSettings()),
        encode_request=encode_request,
        decode_request=decode_request,
    )


@pytest.fixture
def out(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


@pytest.fixture
async def svc(sandbox: Sandbox, out: Path) -> AsyncIterator[MediaService]:
    async with build(sandbox, out) as service:
        yield service


@pytest.fixture
async def generator(sandbox: Sandbox) -> AsyncIterator[OpenAIGenerator]:
    made = PLUGIN.factory(options(sandbox))
    assert isinstance(made, OpenAIGenerator)
    yield made
    await made.aclose()


@pytest.fixture
def pictures(tmp_path: Path) -> list[Path]:
    paths = []
    for index, (width, height) in enumerate([(300, 200), (64, 64), (80, 60)]):
        path = tmp_path / f"picture{index}.png"
        path.write_bytes(png(width, height, seed=index))
        paths.append(path)
    return paths


def ctx(model: str, **kwargs: Any) -> GenerationContext:
    return GenerationContext(credentials=Secret(KEY), model=model, timeout=kwargs.pop("timeout", 60.0), **kwargs)


async def read(generated: GeneratedMedia) -> bytes:
    return b"".join([chunk async for chunk in generated.stream])


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_in(directory: Path) -> list[str]:
    """Every entry, hidden temp files included."""
    return sorted(p.name for p in directory.iterdir())


def sniffed_extension(path: Path) -> str | None:
    found = sniff(path.read_bytes()[:SNIFF_BYTES])
    return EXTENSIONS[found] if found is not None else None


def assert_no_key(*shown: object) -> None:
    """Neither the key nor anything shaped like an OpenAI key's secret part appears in what is shown."""
    for item in shown:
        if isinstance(item, MediaGenError):
            texts = [str(item), repr(item), item.message, json.dumps(item.to_dict(), default=str)]
        elif isinstance(item, GenerationResult):
            texts = [repr(item), json.dumps(dict(item.metadata), default=str), repr(item.parameters)]
        else:
            texts = [repr(item)]
        for text in texts:
            assert KEY not in text and "recognisable0123456789" not in text, f"the API key leaked into {text[:200]}"


# --- images ------------------------------------------------------------------------------------------------------


async def test_an_image_is_made_by_the_responses_tool_in_the_nearest_size_and_the_asked_format(
    svc: MediaService, sandbox: Sandbox, out: Path
) -> None:
    request = MediaRequest(
        media_type=MediaType.IMAGE, prompt="a red fox in snow", aspect_ratio="16:9", quality="low", output_format="webp"
    )
    result = await svc.generate(request)
    assert (result.backend, result.model) == ("openai", "gpt-5.4")
    assert result.path.parent == out and result.path.suffix == ".webp" and sniffed_extension(result.path) == "webp"
    assert media.image_size(result.path.read_bytes()) == (1536, 1024)
    [adapted] = result.adapted
    assert (adapted.name, adapted.requested, adapted.used) == ("aspect_ratio", "16:9", "1536x1024")
    assert result.applied == {"quality": "low", "output_format": "webp"} and result.ignored == ()
    [sent] = state(sandbox).requests_to("/v1/responses")
    assert sent.params["model"] == "gpt-5.4" and sent.params["input"] == "a red fox in snow"
    assert sent.params["tools"] == [
        {"type": "image_generation", "size": "1536x1024", "quality": "low", "output_format": "webp"}
    ]
    assert sent.params["tool_choice"] == {"type": "image_generation"}
    assert result.continuation_id == f"openai:{result.metadata['response_id']}"
    assert result.metadata["usage"]["total_tokens"] > 0 and result.metadata["revised_prompt"]
    assert_no_key(result)


async def test_an_edit_sends_every_input_image_to_the_responses_api(
    svc: MediaService, sandbox: Sandbox, pictures: list[Path]
) -> None:
    result = await svc.generate(MediaRequest(media_type="image", prompt="one scene", input_images=pictures))
    [sent] = state(sandbox).requests_to("/v1/responses")
    [message] = sent.params["input"]
    parts = message["content"]
    assert parts[0] == {"type": "input_text", "text": "one scene"}
    sent_images = [base64.b64decode(p["image_url"].split(",", 1)[1]) for p in parts[1:]]
    assert sent_images == [p.read_bytes() for p in pictures]
    assert state(sandbox).images[-1].sources == tuple(sha(p.read_bytes()) for p in pictures)
    assert result.applied["input_images"] == 3 and result.metadata["action"] == "edit"


async def test_an_images_api_edit_sends_every_input_image_as_an_image_array(
    svc: MediaService, sandbox: Sandbox, pictures: list[Path]
) -> None:
    request = MediaRequest(
        media_type="image", prompt="one scene", model="gpt-image-1.5", input_images=pictures, background="opaque"
    )
    result = await svc.generate(request)
    [sent] = state(sandbox).requests_to("/v1/images/edits")
    assert [u.sha256 for u in sent.files_named("image[]")] == [sha(p.read_bytes()) for p in pictures]
    assert sent.params["model"] == "gpt-image-1.5" and sent.params["background"] == "opaque"
    assert result.metadata["operation"] == "edit" and result.applied["input_images"] == 3
    assert state(sandbox).requests_to("/v1/responses") == []


async def test_n_images_on_the_images_api_are_one_request_each_image_its_own_file(
    svc: MediaService, sandbox: Sandbox, out: Path
) -> None:
    request = MediaRequest(media_type="image", prompt="a red fox", model="gpt-image-1.5", n=4, filename="fox.png")
    batch = await svc.generate_batch([request])
    assert batch.succeeded == 4
    [sent] = state(sandbox).requests_to("/v1/images/generations")  # exactly one request for the four images
    assert sent.params["n"] == 4
    results = batch.results
    assert [r.path.name for r in results] == [f"fox-{i}.png" for i in range(1, 5)] == files_in(out)
    assert len({r.artifact.sha256 for r in results}) == 4
    assert all(r.applied["n"] == 4 and r.metadata["usage"]["total_tokens"] > 0 for r in results)
    assert [r.metadata["call"] for r in results] == [{"images": 4, "index": i} for i in range(4)]
    assert_no_key(*results)


async def test_n_edits_on_the_images_api_are_one_multipart_request(
    generator: OpenAIGenerator, sandbox: Sandbox, pictures: list[Path]
) -> None:
    request = MediaRequest(media_type="image", prompt="one scene", model="gpt-image-1.5", input_images=pictures, n=3)
    made = await generator.generate_images(request, ctx("gpt-image-1.5"))
    datas = [await read(m) for m in made if isinstance(m, GeneratedMedia)]
    assert len(set(datas)) == 3
    [sent] = state(sandbox).requests_to("/v1/images/edits")
    assert sent.params["n"] == "3" and len(sent.files_named("image[]")) == 3


async def test_n_images_from_a_responses_model_are_n_turns_each_its_own_continuation(
    svc: MediaService, sandbox: Sandbox
) -> None:
    batch = await svc.generate_batch([MediaRequest(media_type="image", prompt="a red fox", n=3)])
    assert batch.succeeded == 3 and len(state(sandbox).requests_to("/v1/responses")) == 3
    assert len({r.continuation_id for r in batch.results}) == 3
    (adapted,) = [a for a in batch.results[0].adapted if a.name == "n"]
    assert adapted.used == "3 calls of one image" and adapted.reason == "gpt-5.4 makes one image per call"


async def test_the_images_api_refuses_more_than_ten_images_as_openai_does(sandbox: Sandbox) -> None:
    client = openai.AsyncOpenAI(api_key=KEY, base_url=sandbox.base_url("openai"), max_retries=0)
    async with client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.images.generate(model="gpt-image-1.5", prompt="a fox", n=11)
    assert caught.value.param == "n" and caught.value.code == "integer_above_max_value"


async def test_a_mask_goes_to_the_images_api_with_its_images_and_is_never_dropped(
    svc: MediaService, sandbox: Sandbox, pictures: list[Path], tmp_path: Path
) -> None:
    mask = tmp_path / "mask.png"
    hole = Image.new("RGBA", (300, 200), (0, 0, 0, 255))
    hole.paste((0, 0, 0, 0), (100, 50, 200, 150))  # transparent: the area to change, in OpenAI's own form
    hole.save(mask)
    request = MediaRequest(
        media_type="image", prompt="a vase on the table", input_images=pictures[:2], mask=mask, quality="high",
        size="1024x1024", output_format="png",
    )  # fmt: skip
    result = await svc.generate(request)
    assert result.model == "gpt-image-1.5"  # the default gpt-5.4 takes no mask, so the selector chose this one
    [sent] = state(sandbox).requests_to("/v1/images/edits")
    [sent_mask] = sent.files_named("mask")
    sent_image = Image.open(io.BytesIO(sent_mask.data))
    first = Image.open(pictures[0])
    assert sent_image.format == "PNG" and sent_image.mode == "RGBA" and sent_image.size == first.size
    alpha = sent_image.getchannel("A").resize((300, 200), Image.Resampling.NEAREST)
    assert alpha.getpixel((150, 100)) == 0 and alpha.getpixel((20, 20)) == 255  # the same hole, resized
    assert len(sent.files_named("image[]")) == 2
    assert state(sandbox).images[-1].sources[-1] == sent_mask.sha256
    assert result.applied == {
        "mask": str(mask), "input_images": 2, "quality": "high", "size": "1024x1024", "output_format": "png",
    }  # fmt: skip
    assert sniffed_extension(result.path) == "png"


# --- continuation ------------------------------------------------------------------------------------------------


async def test_a_second_turn_continues_the_first_by_previous_response_id_across_fresh_services(
    sandbox: Sandbox, out: Path, tmp_path: Path
) -> None:
    results: list[GenerationResult] = []
    continue_from: str | None = None
    for prompt in ["a cabin in a forest", "add snow on the roof"]:
        # A new service, generator and store object per turn: as two processes would do it.
        async with build(sandbox, out, SqliteStore(tmp_path / "continuations.sqlite3")) as service:
            result = await service.generate(
                MediaRequest(media_type="image", prompt=prompt, continue_from=continue_from)
            )
        assert result.continuation_id is not None and result.continuation_id.startswith("openai:resp_")
        continue_from = result.continuation_id
        results.append(result)
    first, second = results
    sent = state(sandbox).requests_to("/v1/responses")
    assert "previous_response_id" not in sent[0].params
    assert sent[1].params["previous_response_id"] == first.metadata["response_id"]
    assert second.metadata["previous_response_id"] == first.metadata["response_id"]
    assert second.continuation_id != first.continuation_id
    # The fake drew the second image from the first one, which is exactly what was written to disk.
    assert state(sandbox).images[-1].sources == (sha(first.path.read_bytes()),)


async def test_continuing_from_a_response_openai_does_not_know_is_continuation_not_found(svc: MediaService) -> None:
    with pytest.raises(ContinuationNotFound) as caught:
        await svc.generate(MediaRequest(media_type="image", prompt="more", continue_from="openai:resp_gone"))
    assert caught.value.continuation_id == "openai:resp_gone"


async def test_continuing_an_image_from_a_video_id_is_refused_before_any_call(
    svc: MediaService, sandbox: Sandbox
) -> None:
    with pytest.raises(InvalidRequest, match="is a Sora video"):
        await svc.generate(MediaRequest(media_type="image", prompt="more", continue_from="openai:video_123"))
    assert sandbox.calls("openai") == []


# --- video -------------------------------------------------------------------------------------------------------


async def test_text_to_video_reports_the_job_at_once_polls_with_progress_and_streams_an_mp4(
    sandbox: Sandbox, out: Path
) -> None:
    listener = RecordingListener()
    seen_at_submit: list[tuple[list[str], int]] = []

    def watch(event: Any) -> None:
        listener(event)
        if isinstance(event, Submitted):
            polls = [c for c in sandbox.calls("openai") if c.method == "GET"]
            seen_at_submit.append((list(state(sandbox).videos), len(polls)))

    async with build(sandbox, out) as service:
        request = MediaRequest(media_type="video", prompt="waves at dusk", duration=6, aspect_ratio="16:9")
        result = await service.generate(request, progress=watch)
        assert await service.jobs() == []  # the job record is gone once the file is on disk
    video_id = result.metadata["video_id"]
    assert result.job_id == video_id and result.continuation_id == f"openai:{video_id}"
    assert seen_at_submit == [([video_id], 0)]  # reported when the job existed, before the first poll
    kinds = [type(e).__name__ for e in listener.events]
    assert kinds[:2] == ["Selected", "Submitted"] and kinds[-1] == "Written"
    assert kinds.index("Polling") < kinds.index("Downloading")
    polls = listener.of_type(Polling)
    assert [(p.status, p.percent) for p in polls] == [("in_progress", 50.0), ("completed", 100.0)]
    size = result.artifact.size_bytes
    assert listener.of_type(Downloading)[-1] == Downloading(backend="openai", received=size, total=size)
    assert listener.of_type(Written)[0].path == result.path
    assert result.path.suffix == ".mp4" and sniffed_extension(result.path) == "mp4"
    [create] = state(sandbox).requests_to("/v1/videos", "POST")
    assert create.params == {"prompt": "waves at dusk", "model": "sora-2", "size": "1280x720", "seconds": "8"}
    assert create.files == ()
    [adapted] = result.adapted
    assert (adapted.name, adapted.requested, adapted.used) == ("duration", 6.0, 8.0)
    assert result.applied == {"aspect_ratio": "1280x720"} and result.metadata["usage"] == {"seconds": 8.0}
    assert_no_key(result)


async def test_the_video_id_reaches_job_started_before_the_first_poll(
    sandbox: Sandbox, generator: OpenAIGenerator
) -> None:
    started: list[tuple[str, list[tuple[str, str]]]] = []

    async def job_started(job_id: str) -> None:
        started.append((job_id, [(c.method, c.path) for c in sandbox.calls("openai")]))

    generated = await generator.generate(
        MediaRequest(media_type="video", prompt="a storm"), ctx("sora-2", job_started=job_started)
    )
    await read(generated)
    assert started == [(generated.metadata["video_id"], [("POST", "/v1/videos")])]


def square_on_white(width: int, height: int, side: int) -> bytes:
    """A white image with a black square in the middle: stretching would turn the square into a rectangle."""
    img = Image.new("RGB", (width, height), "white")
    left, top = (width - side) // 2, (height - side) // 2
    img.paste((0, 0, 0), (left, top, left + side, top + side))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def dark_box(data: bytes) -> tuple[int, int]:
    """Width and height of the dark pixels' bounding box."""
    img = Image.open(io.BytesIO(data)).convert("L").point(lambda v: 255 if v < 128 else 0)
    box = img.getbbox()
    assert box is not None
    return box[2] - box[0], box[3] - box[1]


@pytest.mark.parametrize(("source", "video"), [((300, 200), (1280, 720)), ((200, 300), (720, 1280))])
async def test_image_to_video_sends_the_start_image_cover_cropped_to_the_video_size_without_distortion(
    svc: MediaService, sandbox: Sandbox, tmp_path: Path, source: tuple[int, int], video: tuple[int, int]
) -> None:
    start = tmp_path / "start.png"
    start.write_bytes(square_on_white(*source, side=40))
    result = await svc.generate(MediaRequest(media_type="video", prompt="the square spins", input_images=[start]))
    [create] = state(sandbox).requests_to("/v1/videos", "POST")
    [reference] = create.files_named("input_reference")
    assert create.params["size"] == f"{video[0]}x{video[1]}"
    assert media.image_size(reference.data) == video
    scale = max(video[0] / source[0], video[1] / source[1])  # cover: scaled until the frame is filled
    width, height = dark_box(reference.data)
    assert abs(width - height) <= 2, f"the square became {width}x{height}: the image was distorted"
    assert abs(width - 40 * scale) <= 3
    assert state(sandbox).videos[result.metadata["video_id"]].reference_sha256 == reference.sha256
    assert result.applied["input_images"] == 1 and sniffed_extension(result.path) == "mp4"


async def test_a_start_image_already_of_the_video_size_is_sent_as_it_is(
    svc: MediaService, sandbox: Sandbox, tmp_path: Path
) -> None:
    start = tmp_path / "portrait.jpg"
    start.write_bytes(media.image(720, 1280, "jpeg", prompt="a tower"))
    await svc.generate(MediaRequest(media_type="video", prompt="clouds pass", input_images=[start]))
    [create] = state(sandbox).requests_to("/v1/videos", "POST")
    [reference] = create.files_named("input_reference")
    assert reference.sha256 == sha(start.read_bytes()) and reference.content_type == "image/jpeg"
    assert create.params["size"] == "720x1280"


async def test_a_remix_continues_a_video_and_reports_what_it_keeps(svc: MediaService, sandbox: Sandbox) -> None:
    first = await svc.generate(MediaRequest(media_type="video", prompt="a river", size="1280x720"))
    assert first.continuation_id is not None
    second = await svc.generate(
        MediaRequest(media_type="video", prompt="the river at night", duration=12, continue_from=first.continuation_id)
    )
    source_id, remix_id = first.metadata["video_id"], second.metadata["video_id"]
    [remix] = state(sandbox).requests_to(f"/v1/videos/{source_id}/remix")
    assert remix.params == {"prompt": "the river at night"}
    assert len(state(sandbox).requests_to("/v1/videos", "POST")) == 1
    assert second.metadata["remixed_from_video_id"] == source_id
    assert state(sandbox).videos[remix_id].size == "1280x720"
    assert [i.name for i in second.ignored] == ["duration"]
    assert second.continuation_id == f"openai:{remix_id}" and sniffed_extension(second.path) == "mp4"


async def test_remixing_a_video_openai_does_not_know_is_continuation_not_found(
    svc: MediaService, sandbox: Sandbox
) -> None:
    with pytest.raises(ContinuationNotFound) as caught:
        await svc.generate(MediaRequest(media_type="video", prompt="again", continue_from="openai:video_gone"))
    assert caught.value.continuation_id == "openai:video_gone"
    assert [(c.path, c.status) for c in sandbox.calls("openai")] == [("/v1/videos/video_gone/remix", 404)]


# --- the Sora API's shutdown ---------------------------------------------------------------------------------------


async def test_a_retired_sora_api_is_a_backend_error_naming_the_shutdown_and_veo_never_retried(
    sandbox: Sandbox, out: Path
) -> None:
    sandbox.faults.push("openai", "retired", times=1, route="POST /v1/videos")  # a retry would be served
    listener = RecordingListener()
    async with build(sandbox, out, attempts=3) as service:
        with pytest.raises(BackendError) as caught:
            await service.generate(MediaRequest(**VIDEO), progress=listener)
    error = caught.value
    assert type(error) is BackendError and not error.retryable and error.status == 404
    assert "OpenAI announced its shutdown for 2026-09-24" in error.message
    assert "--backend google (Veo)" in error.message
    assert "Invalid URL (POST /v1/videos)" in error.message  # the vendor's own words are kept
    assert [(c.method, c.path, c.status) for c in sandbox.calls("openai")] == [("POST", "/v1/videos", 404)]
    assert listener.of_type(Retried) == [] and state(sandbox).videos == {}
    assert files_in(out) == []
    assert_no_key(error, *listener.events)


async def test_a_remix_on_a_retired_sora_api_names_the_shutdown_not_a_missing_video(
    svc: MediaService, sandbox: Sandbox
) -> None:
    first = await svc.generate(MediaRequest(media_type="video", prompt="a river"))
    sandbox.faults.push("openai", "retired", times=1, route="POST /v1/videos/*/remix")
    with pytest.raises(BackendError, match="OpenAI announced its shutdown for 2026-09-24") as caught:
        await svc.generate(MediaRequest(media_type="video", prompt="at night", continue_from=first.continuation_id))
    assert "--backend google" in caught.value.message and not caught.value.retryable
    remixes = [c.status for c in sandbox.calls("openai") if c.path.endswith("/remix")]
    assert remixes == [404]  # answered once, never retried


async def test_resuming_a_video_on_a_retired_sora_api_names_the_shutdown(
    sandbox: Sandbox, generator: OpenAIGenerator
) -> None:
    sandbox.faults.push("openai", "retired", times=1, route="GET /v1/videos/*")
    with pytest.raises(BackendError, match="OpenAI announced its shutdown for 2026-09-24"):
        await generator.generate(MediaRequest(**VIDEO), ctx("sora-2", resume_job_id="video_123"))


async def test_the_sdks_sora_deprecation_warning_is_left_to_the_callers_filters(generator: OpenAIGenerator) -> None:
    with pytest.warns(DeprecationWarning, match="The Sora API is scheduled to permanently shut down"):
        await read(await generator.generate(MediaRequest(**VIDEO), ctx("sora-2")))


def sora_answer(status: int, path: str, body: dict[str, Any]) -> openai.APIStatusError:
    """The SDK's exception for an answer to POST `path`, as the real client would raise it."""
    request = httpx2.Request("POST", f"https://api.openai.com{path}")
    response = httpx2.Response(status, request=request, json={"error": body})
    cls = openai.NotFoundError if status == 404 else openai.APIStatusError
    return cls(str(body.get("message")), response=response, body=body)


ROUTE_GONE = {"message": "Invalid URL (POST /v1/videos)", "type": "invalid_request_error", "param": None, "code": None}
VIDEO_GONE = {"message": "Video with id 'video_1' not found.", "type": "invalid_request_error", "param": "video_id"}


@pytest.mark.parametrize(
    ("status", "path", "body", "names_a_video", "retired"),
    [
        (404, "/v1/videos", ROUTE_GONE, False, True),
        (410, "/v1/videos", {"message": "The Sora API has been shut down."}, False, True),
        (404, "/v1/videos", {"message": "Not found."}, False, True),  # create names no id: the route is gone
        (404, "/v1/videos", {"message": "The model `sora-9` does not exist", "code": "model_not_found"}, False, False),
        (404, "/v1/videos/video_1/remix", {**ROUTE_GONE, "message": "Invalid URL (POST /v1/videos/video_1/remix)"},
         True, True),
        (404, "/v1/videos/video_1/remix", VIDEO_GONE, True, False),  # the video is unknown, the API is not gone
        (410, "/v1/videos/video_1/remix", {"message": "Video 'video_1' has expired."}, True, False),
        (400, "/v1/videos", {"message": "Invalid URL (POST /v1/videos)"}, False, False),
    ],
)  # fmt: skip
def test_only_an_answer_that_the_videos_endpoint_is_gone_reads_as_the_sora_shutdown(
    status: int, path: str, body: dict[str, Any], names_a_video: bool, retired: bool
) -> None:
    error = sora_retired_error(sora_answer(status, path, body), names_a_video=names_a_video, secret=Secret(KEY))
    assert (error is not None) == retired
    if error is not None:
        assert type(error) is BackendError and error.status == status and not error.retryable
        assert f"{SORA_SHUTDOWN.isoformat()}" in error.message and str(body["message"]) in error.message


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


async def test_polling_waits_as_long_as_the_api_hints_capped_by_the_longest_wait() -> None:
    slow_hint = SandboxSettings(job_polls=3, poll_after_ms=250)
    async with Sandbox(vendors=("openai",), settings=slow_hint) as hinted:
        for longest, expected in [(20.0, [0.25, 0.25]), (0.1, [0.1, 0.1])]:
            clock = FakeClock()
            made = OpenAIGenerator(options(hinted, poll_max_interval=longest), clock=clock, sleep=clock.sleep)
            generated = await made.generate(MediaRequest(**VIDEO), ctx("sora-2"))
            assert (await read(generated))[4:8] == b"ftyp"
            await made.aclose()
            assert clock.slept == expected


async def test_a_job_that_never_finishes_ends_at_the_overall_timeout_naming_the_video(sandbox: Sandbox) -> None:
    clock = FakeClock()
    made = OpenAIGenerator(options(sandbox), clock=clock, sleep=clock.sleep)
    sandbox.faults.push("openai", "job_never_finishes", times=1)
    with pytest.raises(GenerationTimeout) as caught:
        await made.generate(MediaRequest(**VIDEO), ctx("sora-2", timeout=0.05))
    await made.aclose()
    [video_id] = state(sandbox).videos
    assert caught.value.job_id == video_id and f"Sora video {video_id} keeps running" in caught.value.message
    # The clock is fake but HTTP calls take real time: a call started with a sliver of the deadline left may
    # run out in real time first, so the sleeps add up to the deadline or just under it, never past it.
    assert 0.04 <= sum(clock.slept) <= 0.05 + 1e-9 and len(clock.slept) > 5


async def test_resuming_waits_for_the_same_video_without_submitting_again(
    sandbox: Sandbox, generator: OpenAIGenerator
) -> None:
    jobs: list[str] = []

    async def job_started(job_id: str) -> None:
        jobs.append(job_id)
        raise KeyboardInterrupt  # the wait is interrupted right after the job exists

    with pytest.raises(KeyboardInterrupt):
        await generator.generate(MediaRequest(**VIDEO), ctx("sora-2", job_started=job_started))
    resumed = await generator.generate(MediaRequest(**VIDEO), ctx("sora-2", resume_job_id=jobs[0]))
    assert (await read(resumed))[4:8] == b"ftyp" and resumed.metadata["video_id"] == jobs[0]
    assert len(state(sandbox).requests_to("/v1/videos", "POST")) == 1


async def test_a_timed_out_video_is_collected_later_by_service_resume(
    sandbox: Sandbox, out: Path, tmp_path: Path
) -> None:
    sandbox.faults.push("openai", "slow_poll;polls=40;delay=0.02", times=1)
    store_path = tmp_path / "jobs.sqlite3"
    async with build(sandbox, out, SqliteStore(store_path), timeouts=TimeoutSettings(video=0.3)) as impatient:
        with pytest.raises(GenerationTimeout):
            await impatient.generate(MediaRequest(**VIDEO))
        [job] = await impatient.jobs()
    assert files_in(out) == []
    async with build(sandbox, out, SqliteStore(store_path)) as later:  # another process, the same store
        result = await later.resume(job.id)
        assert await later.jobs() == []
    assert result.metadata["video_id"] == job.vendor_job_id and sniffed_extension(result.path) == "mp4"
    assert len(state(sandbox).requests_to("/v1/videos", "POST")) == 1
    assert KEY.encode() not in store_path.read_bytes()


async def test_a_video_is_streamed_to_the_sink_in_chunks_never_held_whole() -> None:
    big = SandboxSettings(job_polls=1, poll_after_ms=1, video_min_bytes=4 * 1024 * 1024)
    async with Sandbox(vendors=("openai",), settings=big) as sandbox:
        made = PLUGIN.factory(options(sandbox))
        generated = await made.generate(MediaRequest(**VIDEO), ctx("sora-2"))
        sizes = [len(chunk) async for chunk in generated.stream]
        await made.aclose()
    assert sum(sizes) == generated.size_hint and sum(sizes) >= 4 * 1024 * 1024
    assert len(sizes) > 4 and max(sizes) <= 1024 * 1024


async def test_a_request_openai_rejects_is_a_backend_error_with_its_message_never_retried(
    svc: MediaService, sandbox: Sandbox, pictures: list[Path], tmp_path: Path
) -> None:
    # A model the spec does not list goes to OpenAI as named (with the backend named), and OpenAI says no.
    request = MediaRequest(media_type="image", prompt="x", backend="openai", model="gpt-image-9")
    with pytest.raises(BackendError) as caught:
        await svc.generate(request)
    assert type(caught.value) is BackendError and caught.value.status in (400, 404)
    assert "gpt-image-9" in caught.value.message
    assert len(sandbox.calls("openai")) == 1


# --- speech ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["mp3", "wav", "opus", "aac", "flac", "pcm"])
async def test_speech_in_each_format_is_a_file_whose_bytes_are_what_its_extension_says(
    svc: MediaService, sandbox: Sandbox, fmt: str
) -> None:
    request = MediaRequest(
        media_type="audio", prompt="Hello from the sandbox.", voice="Nova", audio_format=fmt, instructions="warmly"
    )
    result = await svc.generate(request)
    [sent] = state(sandbox).requests_to("/v1/audio/speech")
    assert sent.params["response_format"] == fmt and sent.params["voice"] == "nova"
    assert sent.params["instructions"] == "warmly" and sent.params["model"] == "gpt-4o-mini-tts"
    assert result.path.suffix == f".{fmt}"
    if fmt == "pcm":  # raw samples have no header; 16-bit mono at 24 kHz
        assert result.artifact.mime_type == "audio/pcm" and result.artifact.size_bytes % 2 == 0
        assert result.metadata["pcm"] == {"sample_rate": 24000, "channels": 1, "sample_format": "s16le"}
    else:
        assert sniffed_extension(result.path) == fmt
    assert result.applied == {"voice": "nova", "audio_format": fmt, "instructions": "warmly"}


async def test_an_unknown_voice_is_an_error_listing_the_valid_ones_and_nothing_is_sent(
    sandbox: Sandbox, generator: OpenAIGenerator
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await generator.generate(MediaRequest(media_type="audio", prompt="Hi", voice="darth"), ctx("gpt-4o-mini-tts"))
    assert caught.value.field == "voice"
    assert all(voice in caught.value.message for voice in ("alloy", "coral", "marin", "cedar"))
    assert sandbox.calls("openai") == []


# --- faults ------------------------------------------------------------------------------------------------------


@attrs.frozen
class FaultCase:
    """A scripted fault, the request it hits, and how mediagen must end: a file (None) or a typed error."""

    fault: str
    times: int | None
    request: dict[str, Any]
    outcome: type[MediaGenError] | None
    route: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


IMAGE = {"media_type": "image", "prompt": "a lighthouse"}
VIDEO = {"media_type": "video", "prompt": "a lighthouse at night"}
SPEECH = {"media_type": "audio", "prompt": "Hello there.", "audio_format": "pcm"}
FAULT_CASES = {
    "rate limit once, retried": FaultCase("rate_limit;retry_after=0.01", 1, IMAGE, None),
    "rate limit always": FaultCase("rate_limit;retry_after=0.01", None, IMAGE, RateLimited),
    "500 once, retried": FaultCase("server_error", 1, SPEECH, None),
    "500 always": FaultCase("server_error", None, IMAGE, TransientBackendError),
    "503 once, retried": FaultCase("unavailable", 1, VIDEO, None),
    "503 always": FaultCase("unavailable", None, SPEECH, TransientBackendError),
    "hang past the request timeout once": FaultCase("hang;seconds=5", 1, IMAGE, None, extra={"request_timeout": 0.2}),
    "hang past the request timeout always": FaultCase(
        "hang;seconds=5", None, SPEECH, TransientBackendError, extra={"request_timeout": 0.2}
    ),
    "hang past the overall timeout": FaultCase("hang;seconds=5", None, {**IMAGE, "timeout": 0.3}, GenerationTimeout),
    "malformed JSON once": FaultCase("malformed", 1, IMAGE, None),
    "malformed JSON always": FaultCase("malformed", None, IMAGE, TransientBackendError),
    "malformed speech body": FaultCase("malformed", None, SPEECH, TransientBackendError),
    "malformed video status once": FaultCase("malformed", 1, VIDEO, None, route="GET /v1/videos/*"),
    "content policy, image": FaultCase("content_policy", 1, IMAGE, ContentRejected),
    "content policy, video": FaultCase("content_policy", 1, VIDEO, ContentRejected),
    "content policy, speech": FaultCase("content_policy", 1, SPEECH, ContentRejected),
    "job fails": FaultCase("job_fails", 1, VIDEO, BackendError),
    "job blocked by moderation": FaultCase("job_fails;code=moderation_blocked", 1, VIDEO, ContentRejected),
    "job never finishes": FaultCase("job_never_finishes", 1, {**VIDEO, "timeout": 0.5}, GenerationTimeout),
    "video download cut short once": FaultCase("truncated_download", 1, VIDEO, None),
    "video download always cut short": FaultCase("truncated_download", None, VIDEO, TransientBackendError),
    "speech download always cut short": FaultCase("truncated_download", None, SPEECH, TransientBackendError),
    "slow polling": FaultCase("slow_poll;polls=3;delay=0.01", 1, VIDEO, None),
    "video endpoint retired": FaultCase("retired", 1, VIDEO, BackendError, route="POST /v1/videos"),
    "quota spent": FaultCase("quota_exceeded", 1, IMAGE, BackendError),
}


def test_every_sandbox_fault_kind_has_a_case() -> None:
    assert {Fault.parse(case.fault).name for case in FAULT_CASES.values()} == set(FAULT_KINDS)


@pytest.mark.parametrize("case", FAULT_CASES.values(), ids=FAULT_CASES.keys())
async def test_each_fault_is_retried_to_a_file_or_ends_in_its_typed_error_with_no_file_and_no_key(
    sandbox: Sandbox, out: Path, case: FaultCase
) -> None:
    sandbox.faults.push("openai", case.fault, times=case.times, route=case.route)
    listener = RecordingListener()
    async with build(sandbox, out, **case.extra) as service:
        if case.outcome is None:
            result = await service.generate(MediaRequest(**case.request), progress=listener)
            assert files_in(out) == [result.path.name]
            assert result.path.suffix == ".pcm" or sniffed_extension(result.path) == result.path.suffix[1:]
            assert_no_key(result, *listener.events)
        else:
            with pytest.raises(case.outcome) as caught:
                await service.generate(MediaRequest(**case.request), progress=listener)
            assert type(caught.value) is case.outcome
            assert files_in(out) == []  # no partial file, not even a temp file
            assert_no_key(caught.value, *listener.events)
    assert sandbox.faults.applied("openai"), "the fault was never applied"
    retried = listener.of_type(Retried)
    if case.outcome is None:
        assert retried or Fault.parse(case.fault).name == "slow_poll"
    if case.outcome in (ContentRejected, BackendError):  # refusals and failed jobs are not retried
        assert retried == []


async def test_a_rate_limit_waits_the_retry_after_it_gave(sandbox: Sandbox, out: Path) -> None:
    sandbox.faults.push("openai", "rate_limit;retry_after=0.05", times=1)
    listener = RecordingListener()
    async with build(sandbox, out, wait_max=1.0) as service:
        await service.generate(MediaRequest(**IMAGE), progress=listener)
    [retried] = listener.of_type(Retried)
    assert (retried.error_code, retried.wait_seconds) == ("rate_limited", 0.05)
    assert [c.status for c in sandbox.calls("openai")] == [429, 200]


async def test_a_persisting_rate_limit_carries_the_vendors_hint(sandbox: Sandbox, out: Path) -> None:
    sandbox.faults.push("openai", "rate_limit;retry_after=0.02", times=None)
    async with build(sandbox, out, attempts=3) as service:
        with pytest.raises(RateLimited) as caught:
            await service.generate(MediaRequest(**IMAGE))
    assert caught.value.retry_after == 0.02 and caught.value.status == 429
    assert [c.status for c in sandbox.calls("openai")] == [429, 429, 429]


@pytest.mark.parametrize(("fault", "status"), [("server_error", 500), ("unavailable", 503)])
async def test_server_errors_are_retried_then_a_transient_error_with_the_status(
    sandbox: Sandbox, out: Path, fault: str, status: int
) -> None:
    sandbox.faults.push("openai", fault, times=None)
    async with build(sandbox, out, attempts=3) as service:
        with pytest.raises(TransientBackendError) as caught:
            await service.generate(MediaRequest(**IMAGE))
    assert caught.value.status == status and "retrying usually helps" in caught.value.message
    assert len(sandbox.calls("openai")) == 3


async def test_a_hang_past_the_request_timeout_is_a_transient_error_that_says_so(sandbox: Sandbox) -> None:
    impatient = PLUGIN.factory(options(sandbox, request_timeout=0.2))
    sandbox.faults.push("openai", "hang;seconds=5", times=1)
    with pytest.raises(TransientBackendError, match="did not answer in time"):
        await impatient.generate(MediaRequest(**SPEECH), ctx("gpt-4o-mini-tts"))
    await impatient.aclose()


async def test_a_cut_short_video_download_is_retried_from_the_same_job_never_resubmitted(
    sandbox: Sandbox, out: Path
) -> None:
    sandbox.faults.push("openai", "truncated_download", times=1)
    async with build(sandbox, out) as service:
        result = await service.generate(MediaRequest(**VIDEO))
    downloads = [c for c in sandbox.calls("openai") if c.path.endswith("/content")]
    assert [c.fault for c in downloads] == ["truncated_download", None]
    assert len(state(sandbox).requests_to("/v1/videos", "POST")) == 1
    assert files_in(out) == [result.path.name] and sniffed_extension(result.path) == "mp4"


async def test_a_job_that_never_finishes_times_out_naming_a_job_that_can_be_resumed(
    sandbox: Sandbox, out: Path
) -> None:
    sandbox.faults.push("openai", "job_never_finishes", times=1)
    async with build(sandbox, out) as service:
        with pytest.raises(GenerationTimeout) as caught:
            await service.generate(MediaRequest(**VIDEO, timeout=0.3))
        [job] = await service.jobs()
    [video_id] = state(sandbox).videos
    assert job.vendor_job_id == video_id
    # The service's overall timeout and the adapter's deadline (the same instant) race: the service names its
    # job record, the adapter the Sora video. Either way the error says how to get the video.
    if caught.value.job_id == job.id:
        assert f"mediagen jobs resume {job.id}" in caught.value.message
    else:
        assert caught.value.job_id == video_id and f"Sora video {video_id} keeps running" in caught.value.message
    assert files_in(out) == []


async def test_a_failed_job_names_the_video_and_the_vendors_reason(sandbox: Sandbox, out: Path) -> None:
    sandbox.faults.push("openai", "job_fails", times=1)
    async with build(sandbox, out) as service:
        with pytest.raises(BackendError) as caught:
            await service.generate(MediaRequest(**VIDEO))
    [video_id] = state(sandbox).videos
    assert video_id in caught.value.message and "video_generation_failed" in caught.value.message
    assert not caught.value.retryable


async def test_a_batch_of_twenty_images_with_one_refusal_writes_nineteen_files_in_order(
    svc: MediaService, sandbox: Sandbox, out: Path
) -> None:
    sandbox.faults.push("openai", "content_policy", times=1)
    requests = [MediaRequest(media_type="image", prompt=f"lighthouse number {i}") for i in range(20)]
    listener = RecordingListener()
    batch = await svc.generate_batch(requests, max_concurrent=8, progress=listener)
    assert (batch.total, batch.succeeded, batch.failed) == (20, 19, 1)
    [failed] = [item for item in batch.items if not item.ok]
    assert isinstance(failed.error, ContentRejected)
    for index, item in enumerate(batch.items):
        assert item.index == index
        if item.result is not None:  # each result is its own request's image: the fake echoes the prompt
            assert item.result.metadata["revised_prompt"] == f"lighthouse number {index}"
    assert sorted(files_in(out)) == sorted(r.path.name for r in batch.results) and len(files_in(out)) == 19
    assert {e.item for e in listener.of_type(Written)} == set(range(20)) - {failed.index}


# --- keys ---------------------------------------------------------------------------------------------------------


async def test_a_refused_key_is_an_authentication_failure_that_never_shows_the_key(sandbox: Sandbox) -> None:
    wrong = "sk-proj-WRONGkey0123456789abcdefghijklmnop"
    made = PLUGIN.factory(options(sandbox))
    for request, model in [(IMAGE, "gpt-5.4"), (IMAGE, "gpt-image-1.5"), (VIDEO, "sora-2"), (SPEECH, "tts-1")]:
        context = GenerationContext(credentials=Secret(wrong), model=model, timeout=30)
        with pytest.raises(AuthenticationFailed) as caught:
            await made.generate(MediaRequest(**request), context)
        error = caught.value
        assert "OPENAI_API_KEY" in error.message and error.status == 401
        for text in (str(error), repr(error), json.dumps(error.to_dict())):
            assert wrong not in text and "WRONGkey" not in text
    await made.aclose()


def test_a_key_the_vendor_echoes_in_an_error_is_scrubbed_from_the_translation() -> None:
    request = httpx2.Request("POST", "https://api.openai.com/v1/responses")
    body = {
        "message": f"Incorrect API key provided: {KEY}. Also seen as sk-proj-****SECRET.",
        "code": "invalid_api_key",
    }
    for status, cls in [(401, openai.AuthenticationError), (400, openai.BadRequestError)]:
        response = httpx2.Response(status, request=request, json={"error": body})
        error = translate_openai_error(cls(body["message"], response=response, body=body), secret=Secret(KEY))
        assert isinstance(error, AuthenticationFailed if status == 401 else BackendError)
        assert_no_key(error)
        assert "sk-proj-****" not in error.message and "Incorrect API key provided" in error.message


# --- the client and its endpoint -----------------------------------------------------------------------------------


async def test_one_client_is_built_on_first_use_reused_by_every_call_and_closed_by_aclose(sandbox: Sandbox) -> None:
    made = PLUGIN.factory(options(sandbox))
    assert isinstance(made, OpenAIGenerator)
    assert made.clients.built == 0  # nothing is built before the first call
    await read(await made.generate(MediaRequest(**IMAGE), ctx("gpt-5.4")))
    client = made.clients.get(Secret(KEY))
    for request, model in [(SPEECH, "gpt-4o-mini-tts"), (VIDEO, "sora-2"), (IMAGE, "gpt-image-1.5")]:
        await read(await made.generate(MediaRequest(**request), ctx(model)))
    assert made.clients.built == 1 and made.clients.get(Secret(KEY)) is client
    await made.aclose()
    assert client.is_closed() and made.clients.built == 0
    await read(await made.generate(MediaRequest(**SPEECH), ctx("tts-1")))  # usable again after aclose
    assert made.clients.get(Secret(KEY)) is not client
    await made.aclose()
    await made.aclose()  # idempotent


async def test_closing_the_service_closes_the_client_and_a_new_key_gets_its_own(sandbox: Sandbox, out: Path) -> None:
    registry = BackendRegistry([PLUGIN], {"openai": options(sandbox)})
    service = MediaService(
        registry=registry,
        selector=BackendSelector(registry.specs, StaticCredentialSource({"openai": KEY})),
        store=MemoryStore(),
        sink=FilesystemSink(allowed_roots=[out], default_dir=out),
        settings=Settings(),
    )
    made = registry.generator("openai")
    assert isinstance(made, OpenAIGenerator)
    await service.generate(MediaRequest(**IMAGE))
    await service.generate(MediaRequest(**SPEECH))
    client = made.clients.get(Secret(KEY))
    other = made.clients.get(Secret("sk-proj-another-key-0123456789"))
    assert other is not client and made.clients.built == 2
    await service.aclose()
    assert client.is_closed() and other.is_closed()


async def test_an_explicit_base_url_is_used_and_the_sdk_never_reads_openai_base_url(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    pointed = PLUGIN.factory(options(sandbox))
    generated = await pointed.generate(MediaRequest(**SPEECH), ctx("gpt-4o-mini-tts"))
    assert await read(generated)
    assert isinstance(pointed, OpenAIGenerator)
    assert str(pointed.clients.get(Secret(KEY)).base_url) == sandbox.base_url("openai") + "/"
    await pointed.aclose()
    # Without a base_url the adapter names OpenAI's endpoint itself, so the variable is not read behind its back.
    default = PLUGIN.factory(BackendOptions())
    assert isinstance(default, OpenAIGenerator)
    assert str(default.clients.get(Secret(KEY)).base_url) == "https://api.openai.com/v1/"
    await default.aclose()


async def test_the_key_mediagen_chose_is_the_one_sent_whatever_the_sdks_own_variables_say(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK reads these by itself; an Authorization line in OPENAI_CUSTOM_HEADERS would replace the key
    # the selector checked (and, in sandbox mode, send a real token to the fake).
    monkeypatch.setenv("OPENAI_CUSTOM_HEADERS", "Authorization: Bearer sk-from-the-environment\nX-Trace: on")
    monkeypatch.setenv("OPENAI_ORG_ID", "org-from-the-environment")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_from_the_environment")
    generator = PLUGIN.factory(options(sandbox))
    assert isinstance(generator, OpenAIGenerator)
    generated = await generator.generate(MediaRequest(**SPEECH), ctx("gpt-4o-mini-tts"))  # the fake expects KEY
    assert await read(generated)
    client = generator.clients.get(Secret(KEY))
    assert client.organization is None and client.project is None
    await generator.aclose()
    configured = PLUGIN.factory(options(sandbox, organization="org-set", project="proj_set"))
    assert isinstance(configured, OpenAIGenerator)
    client = configured.clients.get(Secret(KEY))
    assert (client.organization, client.project) == ("org-set", "proj_set")
    await configured.aclose()


async def test_openai_base_url_and_the_base_url_setting_reach_the_adapter(sandbox: Sandbox, out: Path) -> None:
    from mediagen.container import backend_options

    url = sandbox.base_url("openai")
    from_env = backend_options(Settings(), [PLUGIN], environ={"OPENAI_BASE_URL": url})["openai"]
    assert from_env.base_url == url
    configured = Settings(backends={"openai": BackendSettings(base_url=url)})
    from_settings = backend_options(configured, [PLUGIN], environ={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert from_settings["openai"].base_url == url  # the setting wins over the variable
    for chosen in (from_env, from_settings["openai"]):
        registry = BackendRegistry([PLUGIN], {"openai": attrs.evolve(chosen, extra=FAST)})
        async with MediaService(
            registry=registry,
            selector=BackendSelector(registry.specs, StaticCredentialSource({"openai": KEY})),
            store=MemoryStore(),
            sink=FilesystemSink(allowed_roots=[out], default_dir=out),
            settings=Settings(),
        ) as service:
            result = await service.generate(MediaRequest(**SPEECH))
        assert result.path.exists()
    assert len(state(sandbox).requests_to("/v1/audio/speech")) == 2


async def test_progress_events_of_an_image_are_selected_downloading_written(svc: MediaService) -> None:
    listener = RecordingListener()
    result = await svc.generate(MediaRequest(**IMAGE), progress=listener)
    assert isinstance(listener.events[0], Selected) and listener.events[0].model == "gpt-5.4"
    assert listener.of_type(Submitted) == [] and listener.of_type(Polling) == []
    assert listener.of_type(Written) == [
        Written(backend="openai", path=result.path, size_bytes=result.artifact.size_bytes)
    ]


FIRST_IMAGE = """
import asyncio, json, sys, threading
from mediagen.adapters.openai import PLUGIN
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions, GenerationContext
from mediagen.sandbox import Sandbox

OTHER_APIS = ("openai.resources.audio", "openai.resources.images", "openai.resources.videos")
on_the_loop = []

class OnTheLoop:
    # Records the SDK modules imported from the main thread, where the event loop runs.
    def find_spec(self, name, path=None, target=None):
        if threading.current_thread() is threading.main_thread() and name.startswith(("openai", "anyio")):
            on_the_loop.append(name)
        return None

async def main():
    async with Sandbox(vendors=("openai",)) as sandbox:
        generator = PLUGIN.factory(BackendOptions(base_url=sandbox.base_url("openai")))
        sys.meta_path.insert(0, OnTheLoop())
        key = Secret("k")
        await generator.prepare(key)
        async def run(model, media_type, **fields):
            ctx = GenerationContext(credentials=key, model=model, timeout=30)
            media = await generator.generate(MediaRequest(media_type=media_type, prompt="a fox", **fields), ctx)
            async for _ in media.stream:
                pass
        await run("gpt-5.4", "image")
        after_image = sorted(m for m in sys.modules if m.startswith(OTHER_APIS))
        await run("gpt-image-1.5", "image")
        await run("gpt-4o-mini-tts", "audio")
        await generator.aclose()
        print(json.dumps([after_image, on_the_loop]))

asyncio.run(main())
"""


def test_a_first_image_loads_only_the_responses_api_and_no_call_imports_on_the_event_loop() -> None:
    """The client's build loads the Responses API (the default image call); the images and speech APIs load in a
    worker thread before their first call."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", FIRST_IMAGE], capture_output=True, text=True, check=True)
    after_image, on_the_loop = json.loads(done.stdout.strip().splitlines()[-1])
    assert after_image == [] and on_the_loop == [], done.stdout
