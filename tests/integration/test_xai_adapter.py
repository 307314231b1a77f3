"""The xAI generator with the real xai-sdk (gRPC) against the sandbox's xAI fake."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from xai_sdk.proto import image_pb2, video_pb2

from mediagen.adapters.credentials.env import StaticCredentialSource
from mediagen.adapters.sinks.filesystem import FilesystemSink
from mediagen.adapters.stores.memory import MemoryStore
from mediagen.adapters.stores.sqlite import SqliteStore
from mediagen.adapters.xai import PLUGIN
from mediagen.adapters.xai.generator import XAIGenerator
from mediagen.adapters.xai.image import IMAGE_KIND
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
)
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.continuation import ContinuationStore
from mediagen.ports.generator import BackendOptions, GeneratedMedia, GenerationContext
from mediagen.ports.progress import Polling, ProgressEvent
from mediagen.sandbox import media
from mediagen.sandbox.server import Sandbox
from mediagen.sandbox.settings import SandboxSettings
from mediagen.sandbox.xai import XaiState

KEY = "sandbox-xai-test-key"
FAST = {"poll_interval": 0.01, "poll_max_interval": 0.02}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("xai",), settings=SandboxSettings(job_polls=3, api_key=KEY)) as running:
        yield running


def fake_state(sandbox: Sandbox) -> XaiState:
    found = sandbox.state("xai")
    assert isinstance(found, XaiState)
    return found


def options(sandbox: Sandbox, **extra: Any) -> BackendOptions:
    return BackendOptions(base_url=sandbox.base_url("xai"), extra={**FAST, **extra})


@pytest.fixture
async def generator(sandbox: Sandbox) -> AsyncIterator[XAIGenerator]:
    made = PLUGIN.factory(options(sandbox))
    assert isinstance(made, XAIGenerator)
    yield made
    await made.aclose()


def ctx(model: str, **kwargs: Any) -> GenerationContext:
    return GenerationContext(credentials=Secret(KEY), model=model, timeout=kwargs.pop("timeout", 60.0), **kwargs)


async def read(generated: GeneratedMedia) -> bytes:
    return b"".join([chunk async for chunk in generated.stream])


@pytest.fixture
def pictures(tmp_path: Path) -> list[Path]:
    paths = []
    for index, (width, height) in enumerate([(300, 200), (64, 96)]):
        path = tmp_path / f"picture{index}.png"
        path.write_bytes(media.image(width, height, "png", prompt=f"picture {index}"))
        paths.append(path)
    return paths


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def service(sandbox: Sandbox, root: Path, store: ContinuationStore, **extra: Any) -> MediaService:
    """A service as a separate process would build it: its own registry, generator, store object and sink."""
    registry = BackendRegistry([PLUGIN], {"xai": options(sandbox, **extra)})
    selector = BackendSelector(registry.specs, StaticCredentialSource({"xai": KEY}))
    sink = FilesystemSink(allowed_roots=[root], default_dir=root)
    settings = Settings(retry=RetrySettings(attempts=2, wait_initial=0, wait_max=0, wait_jitter=0))
    return MediaService(registry=registry, selector=selector, store=store, sink=sink, settings=settings)


def data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


# --- images ---------------------------------------------------------------------------------------------------------


async def test_an_image_is_asked_in_base64_with_enum_values_and_comes_back_decoded(
    sandbox: Sandbox, generator: XAIGenerator
) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a red fox", size="2048x1100")
    generated = await generator.generate(request, ctx("grok-imagine-image"))
    data = await read(generated)
    assert generated.mime_type == "image/jpeg" and data[:3] == b"\xff\xd8\xff"
    [sent] = fake_state(sandbox).received("GenerateImage")
    assert sent.format == image_pb2.ImageFormat.IMG_FORMAT_BASE64  # no second download
    assert sent.aspect_ratio == image_pb2.ImageAspectRatio.IMG_ASPECT_RATIO_16_9
    assert sent.resolution == image_pb2.ImageResolution.IMG_RESOLUTION_2K
    assert [(a.name, a.used) for a in generated.parameters.adapted] == [("size", "16:9 at 2k")]
    assert generated.continuation is not None and generated.continuation.kind == IMAGE_KIND
    assert generated.continuation.blob == data


async def test_n_images_are_one_generate_image_call_each_its_own_file_and_continuation(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    store = MemoryStore()
    async with service(sandbox, tmp_path, store) as svc:
        batch = await svc.generate_batch([MediaRequest(media_type="image", prompt="a red fox", n=3, filename="f.jpg")])
        assert batch.succeeded == 3
        [sent] = fake_state(sandbox).received("GenerateImage")  # one request for the three images
        assert sent.n == 3 and sent.format == image_pb2.ImageFormat.IMG_FORMAT_BASE64
        assert [r.path.name for r in batch.results] == ["f-1.jpg", "f-2.jpg", "f-3.jpg"] == files_in(tmp_path)
        assert len({r.artifact.sha256 for r in batch.results}) == 3
        ids = [r.continuation_id for r in batch.results]
        assert len(set(ids)) == 3 and all(ids)
        for result in batch.results:  # each image's continuation holds that image's own bytes
            assert result.continuation_id is not None
            record = await store.load(result.continuation_id)
            assert record is not None and record.state.blob == result.path.read_bytes()
        follow = await svc.generate(MediaRequest(media_type="image", prompt="now at night", continue_from=ids[1]))
    assert follow.backend == "xai"
    sent = fake_state(sandbox).received("GenerateImage")[-1]
    assert base64.b64decode(sent.image.image_url.split(",", 1)[1]) == batch.results[1].path.read_bytes()


async def test_images_withheld_by_moderation_are_their_items_errors(sandbox: Sandbox, generator: XAIGenerator) -> None:
    request = MediaRequest(media_type="image", prompt="sandbox:block-output", n=2)
    with pytest.raises(ContentRejected, match="moderation"):
        await generator.generate_images(request, ctx("grok-imagine-image"))


async def test_the_image_service_refuses_more_than_ten_images_as_xai_does(sandbox: Sandbox) -> None:
    import grpc
    from xai_sdk import AsyncClient

    client = AsyncClient(api_key=KEY, api_host=sandbox.base_url("xai").split("//")[-1], use_insecure_channel=True)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await client.image.sample_batch("a fox", "grok-imagine-image", 11, image_format="base64")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "n" in (caught.value.details() or "")


async def test_an_edit_sends_every_input_image_as_a_data_uri(
    sandbox: Sandbox, generator: XAIGenerator, pictures: list[Path]
) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="the two together", input_images=pictures)
    await read(await generator.generate(request, ctx("grok-imagine-image")))
    [sent] = fake_state(sandbox).received("GenerateImage")
    assert not sent.HasField("image")
    assert [content.image_url for content in sent.images] == [data_uri(p) for p in pictures]


async def test_a_continuation_edits_the_last_image_from_another_service_sharing_the_store(
    sandbox: Sandbox, tmp_path: Path, pictures: list[Path]
) -> None:
    database = tmp_path / "continuations.sqlite3"
    async with service(sandbox, tmp_path, SqliteStore(database)) as first:
        made = await first.generate(MediaRequest(media_type=MediaType.IMAGE, prompt="a cabin"))
    assert made.continuation_id is not None and made.continuation_id.startswith("xai_")
    async with service(sandbox, tmp_path, SqliteStore(database)) as second:
        edited = await second.generate(
            MediaRequest(
                media_type=MediaType.IMAGE, prompt="add snow", continue_from=made.continuation_id,
                input_images=pictures[:1],
            )
        )  # fmt: skip
    turns = fake_state(sandbox).received("GenerateImage")
    assert len(turns) == 2
    previous = "data:image/jpeg;base64," + base64.b64encode(made.path.read_bytes()).decode()
    assert [c.image_url for c in turns[1].images] == [previous, data_uri(pictures[0])]
    assert edited.path.read_bytes()[:3] == b"\xff\xd8\xff" and edited.continuation_id != made.continuation_id


async def test_a_video_continuation_is_not_an_image_to_edit(generator: XAIGenerator) -> None:
    from mediagen.ports.continuation import VENDOR_ID_KIND, ContinuationState

    state = ContinuationState(kind=VENDOR_ID_KIND, data={"vendor_id": "abc"})
    with pytest.raises(InvalidRequest) as caught:
        await generator.generate(
            MediaRequest(media_type="image", prompt="x"), ctx("grok-imagine-image", continuation=state)
        )
    assert caught.value.field == "continue_from"


@pytest.mark.parametrize(("media", "model"), [("image", "grok-imagine-video"), ("video", "grok-imagine-image")])
async def test_a_model_of_the_other_media_type_is_refused_before_any_call(
    sandbox: Sandbox, generator: XAIGenerator, media: str, model: str
) -> None:
    request = MediaRequest(media_type=media, prompt="x", n=2 if media == "image" else 1)
    call = generator.generate_images if media == "image" else generator.generate
    with pytest.raises(InvalidRequest, match=f"{model} makes") as caught:
        await call(request, ctx(model))
    assert caught.value.field == "model"
    assert fake_state(sandbox).calls == []


# --- video ----------------------------------------------------------------------------------------------------------


async def test_a_video_from_text_reports_its_request_id_at_once_and_the_vendors_progress(
    sandbox: Sandbox, generator: XAIGenerator
) -> None:
    events: list[ProgressEvent] = []
    jobs: list[str] = []

    async def job_started(job_id: str) -> None:
        jobs.append(job_id)
        assert not fake_state(sandbox).received("GetDeferredVideo")  # reported before the first poll

    request = MediaRequest(media_type=MediaType.VIDEO, prompt="waves", duration=3, aspect_ratio="9:16")
    generated = await generator.generate(
        request, ctx("grok-imagine-video", job_started=job_started, progress=events.append)
    )
    data = await read(generated)
    assert data[4:8] == b"ftyp" and generated.size_hint == len(data)
    assert jobs == [generated.metadata["request_id"]]
    [sent] = fake_state(sandbox).received("GenerateVideo")
    assert (sent.duration, sent.aspect_ratio) == (3, video_pb2.VideoAspectRatio.VIDEO_ASPECT_RATIO_9_16)
    polls = [e for e in events if isinstance(e, Polling)]
    assert polls[-1].percent == 100.0 and any(e.percent is not None and e.percent < 100 for e in polls[:-1])
    assert generated.continuation is not None and generated.continuation.data == {"vendor_id": jobs[0]}


async def test_a_video_from_an_image_sends_it_as_the_starting_frame(
    sandbox: Sandbox, generator: XAIGenerator, pictures: list[Path]
) -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="it moves", input_images=pictures[:1])
    assert (await read(await generator.generate(request, ctx("grok-imagine-video"))))[4:8] == b"ftyp"
    [sent] = fake_state(sandbox).received("GenerateVideo")
    assert sent.image.image_url == data_uri(pictures[0])


async def test_an_extension_continues_an_earlier_video_by_its_id(sandbox: Sandbox, tmp_path: Path) -> None:
    async with service(sandbox, tmp_path, MemoryStore()) as svc:
        first = await svc.generate(MediaRequest(media_type=MediaType.VIDEO, prompt="a road", duration=4))
        assert first.continuation_id == f"xai:{first.metadata['request_id']}"
        longer = await svc.generate(
            MediaRequest(
                media_type=MediaType.VIDEO, prompt="a town appears", continue_from=first.continuation_id, duration=12
            )
        )
    [extended] = fake_state(sandbox).received("ExtendVideo")
    assert extended.duration == 10  # an extension adds 1-10 s
    assert extended.video.url  # the URL xAI gave again for the earlier video
    assert longer.path.read_bytes()[4:8] == b"ftyp"
    assert longer.metadata["extended_request_id"] == first.metadata["request_id"]
    assert [(a.name, a.used) for a in longer.parameters.adapted] == [("duration", 10)]


async def test_an_interrupted_wait_resumes_without_a_second_generate_video(
    sandbox: Sandbox, generator: XAIGenerator
) -> None:
    jobs: list[str] = []

    async def job_started(job_id: str) -> None:
        jobs.append(job_id)
        raise KeyboardInterrupt  # the wait is interrupted right after the job exists

    request = MediaRequest(media_type=MediaType.VIDEO, prompt="a storm")
    with pytest.raises(KeyboardInterrupt):
        await generator.generate(request, ctx("grok-imagine-video", job_started=job_started))
    resumed = await generator.generate(request, ctx("grok-imagine-video", resume_job_id=jobs[0]))
    assert (await read(resumed))[4:8] == b"ftyp"
    assert len(fake_state(sandbox).received("GenerateVideo")) == 1


async def test_a_job_past_the_timeout_is_a_generation_timeout_naming_the_request(
    sandbox: Sandbox, generator: XAIGenerator
) -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="sandbox:never-finish")
    with pytest.raises(GenerationTimeout) as caught:
        await generator.generate(request, ctx("grok-imagine-video", timeout=0.5))
    [started] = fake_state(sandbox).jobs
    assert caught.value.job_id == started


@pytest.mark.parametrize(
    ("prompt", "error", "words"),
    [
        ("sandbox:fail-job", BackendError, "failed"),
        ("sandbox:expire-job", BackendError, "expired"),
        ("sandbox:block-output", ContentRejected, "moderation"),
    ],
)
async def test_a_video_that_ends_badly_is_a_typed_error_and_leaves_no_file(
    sandbox: Sandbox, tmp_path: Path, prompt: str, error: type[MediaGenError], words: str
) -> None:
    async with service(sandbox, tmp_path, MemoryStore()) as svc:
        with pytest.raises(error, match=words):
            await svc.generate(MediaRequest(media_type=MediaType.VIDEO, prompt=prompt))
    assert files_in(tmp_path) == []


# --- errors ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        ("rate_limit;retry_after=3", RateLimited, "rate_limited"),
        ("server_error", TransientBackendError, "transient_backend_error"),
        ("unavailable", TransientBackendError, "transient_backend_error"),
        ("content_policy;form=status", ContentRejected, "content_rejected"),
        ("content_policy", ContentRejected, "content_rejected"),
        ("content_policy;form=empty", ContentRejected, "content_rejected"),
    ],
)
async def test_each_grpc_status_ends_as_its_error_code_with_no_file_left(
    sandbox: Sandbox, tmp_path: Path, fault: str, error: type[MediaGenError], code: str
) -> None:
    sandbox.faults.push("xai", fault, times=None)
    async with service(sandbox, tmp_path, MemoryStore()) as svc:
        with pytest.raises(error) as caught:
            await svc.generate(MediaRequest(media_type=MediaType.IMAGE, prompt="a fox"))
    assert caught.value.code == code
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 3
    assert files_in(tmp_path) == []


async def test_a_wrong_key_is_authentication_failed_without_the_key(sandbox: Sandbox, tmp_path: Path) -> None:
    made = PLUGIN.factory(options(sandbox))
    wrong = "xai-wrongkey-0123456789"
    context = GenerationContext(credentials=Secret(wrong), model="grok-imagine-image", timeout=30)
    with pytest.raises(AuthenticationFailed) as caught:
        await made.generate(MediaRequest(media_type="image", prompt="x"), context)
    assert wrong not in str(caught.value) and wrong not in repr(caught.value.to_dict())
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "XAI_API_KEY" in caught.value.message
    await made.aclose()


async def test_an_image_the_service_cannot_read_is_an_invalid_request_naming_input_images(
    sandbox: Sandbox, generator: XAIGenerator, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 4)
    with pytest.raises(InvalidRequest) as caught:
        await generator.generate(
            MediaRequest(media_type="image", prompt="x", input_images=[broken]), ctx("grok-imagine-image")
        )
    assert caught.value.field == "input_images"


async def test_a_call_that_hangs_past_the_request_timeout_is_transient(sandbox: Sandbox) -> None:
    impatient = PLUGIN.factory(options(sandbox, request_timeout=0.2))
    sandbox.faults.push("xai", "hang;seconds=5")
    with pytest.raises(TransientBackendError, match="DEADLINE_EXCEEDED"):
        await impatient.generate(MediaRequest(media_type="image", prompt="hi"), ctx("grok-imagine-image"))
    await impatient.aclose()


async def test_a_cut_short_video_download_is_retried_without_a_second_generate_video(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.faults.push("xai", "truncated_download", times=1)
    async with service(sandbox, tmp_path, MemoryStore()) as svc:
        result = await svc.generate(MediaRequest(media_type="video", prompt="rain"))
    assert result.path.read_bytes()[4:8] == b"ftyp"
    assert len(fake_state(sandbox).received("GenerateVideo")) == 1
    assert files_in(tmp_path) == [result.path.name]


async def test_concurrent_first_calls_share_one_client_built_off_the_loop(sandbox: Sandbox) -> None:
    made = PLUGIN.factory(options(sandbox))
    assert isinstance(made, XAIGenerator)
    requests = [made.generate(MediaRequest(media_type="image", prompt=f"fox {i}"), ctx("grok-imagine-image"))
                for i in range(8)]  # fmt: skip
    results = await asyncio.gather(*requests)
    assert [(await read(r))[:3] for r in results] == [b"\xff\xd8\xff"] * 8
    assert made.clients.built == 1
    await made.aclose()
    await made.aclose()
