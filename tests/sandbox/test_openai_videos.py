"""The Sora fake: multipart create, jobs advancing poll by poll, streamed MP4 downloads, remix lineage."""

from __future__ import annotations

import base64
import io

import openai
import pytest
from openai import AsyncOpenAI
from openai.types import Video
from PIL import Image

from mediagen.domain.sniff import sniff
from mediagen.sandbox import Sandbox, SandboxSettings, media
from tests.sandbox.conftest import decode_errors, needs_ffprobe, probe

REQUIRED_VIDEO_FIELDS = {
    "id",
    "object",
    "created_at",
    "completed_at",
    "expires_at",
    "error",
    "model",
    "progress",
    "prompt",
    "remixed_from_video_id",
    "seconds",
    "size",
    "status",
}


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "green").save(out, "PNG")
    return out.getvalue()


async def test_a_job_goes_queued_then_in_progress_with_rising_progress_then_completed(
    sandbox: Sandbox, client: AsyncOpenAI
) -> None:
    created = await client.videos.create(prompt="a fox runs", model="sora-2", seconds="4", size="1280x720")
    assert (created.status, created.progress, created.completed_at, created.error) == ("queued", 0, None, None)
    seen = []
    for _ in range(3):
        raw = await client.videos.with_raw_response.retrieve(created.id)
        assert raw.headers["openai-poll-after-ms"] == "1"
        video = raw.parse()
        seen.append((video.status, video.progress))
    assert seen == [("in_progress", 33), ("in_progress", 67), ("completed", 100)]
    assert video.completed_at is not None
    assert video.expires_at is not None


async def test_create_poll_download_gives_an_mp4_of_the_requested_size(sandbox: Sandbox, client: AsyncOpenAI) -> None:
    created = await client.videos.create(prompt="a fox", model="sora-2-pro", seconds="8", size="1792x1024")
    sent = sandbox.state("openai").requests_to("/v1/videos", "POST")[-1]
    assert sent.params == {"prompt": "a fox", "model": "sora-2-pro", "seconds": "8", "size": "1792x1024"}
    done = await client.videos.poll(created.id)
    assert done.status == "completed"
    content = await client.videos.download_content(done.id, variant="video")
    data = content.content
    assert sniff(data[:32]) == "video/mp4"
    assert len(data) == int(content.response.headers["content-length"])


@needs_ffprobe
async def test_the_downloaded_video_plays_at_the_requested_size_and_length(client: AsyncOpenAI) -> None:
    done = await client.videos.create_and_poll(prompt="portrait", seconds="4", size="720x1280")
    data = (await client.videos.download_content(done.id)).content
    info = probe(data)
    stream = info["streams"][0]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 720, 1280)
    assert float(info["format"]["duration"]) == pytest.approx(4.0)
    assert decode_errors(data) == ""


async def test_content_is_404_until_the_job_completes(client: AsyncOpenAI) -> None:
    created = await client.videos.create(prompt="wait")
    with pytest.raises(openai.NotFoundError, match="until status is 'completed'"):
        await client.videos.download_content(created.id)


async def test_thumbnail_and_spritesheet_variants_are_images(client: AsyncOpenAI) -> None:
    done = await client.videos.create_and_poll(prompt="stills", size="1280x720")
    thumbnail = (await client.videos.download_content(done.id, variant="thumbnail")).content
    sprites = (await client.videos.download_content(done.id, variant="spritesheet")).content
    assert sniff(thumbnail[:32]) == "image/webp"
    assert media.image_size(thumbnail) == (1280, 720)
    assert sniff(sprites[:32]) == "image/jpeg"


async def test_remix_records_its_source(sandbox: Sandbox, client: AsyncOpenAI) -> None:
    source = await client.videos.create_and_poll(prompt="a fox", size="1280x720", seconds="8")
    remix = await client.videos.remix(source.id, prompt="now at night")
    assert remix.remixed_from_video_id == source.id
    assert (remix.status, remix.seconds, remix.size, remix.prompt) == ("queued", "8", "1280x720", "now at night")
    done = await client.videos.poll(remix.id)
    data = (await client.videos.download_content(done.id)).content
    assert sniff(data[:32]) == "video/mp4"
    assert data != (await client.videos.download_content(source.id)).content
    assert sandbox.state("openai").videos[remix.id].content_prompt == "a fox\nnow at night"


async def test_only_completed_videos_can_be_remixed(client: AsyncOpenAI) -> None:
    source = await client.videos.create(prompt="not yet")
    with pytest.raises(openai.BadRequestError, match="only completed videos can be remixed"):
        await client.videos.remix(source.id, prompt="x")


async def test_an_input_reference_of_the_video_size_is_accepted_and_recorded(
    sandbox: Sandbox, client: AsyncOpenAI
) -> None:
    reference = _png(720, 1280)
    created = await client.videos.create(prompt="animate", size="720x1280", input_reference=("ref.png", reference))
    sent = sandbox.state("openai").requests_to("/v1/videos", "POST")[-1]
    assert [u.data for u in sent.files_named("input_reference")] == [reference]
    assert sandbox.state("openai").videos[created.id].reference_sha256 == sent.files[0].sha256


async def test_an_input_reference_of_another_size_is_refused_as_the_api_does(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="Inpaint image must match the requested width and height") as e:
        await client.videos.create(prompt="x", size="1280x720", input_reference=("ref.png", _png(1024, 1024)))
    assert e.value.param == "input_reference"


@pytest.mark.parametrize(
    ("kwargs", "param", "message"),
    [
        ({"size": "1792x1024"}, "size", "Supported values are: '720x1280' and '1280x720'."),
        ({"seconds": "6"}, "seconds", "Supported values are: '4', '8', and '12'."),
        ({"model": "sora-3"}, "model", "Invalid value: 'sora-3'."),
    ],
)
async def test_bad_video_requests_are_refused_naming_the_parameter(
    client: AsyncOpenAI, kwargs: dict[str, object], param: str, message: str
) -> None:
    call = {"prompt": "x", "model": "sora-2", **kwargs}
    with pytest.raises(openai.BadRequestError) as info:
        await client.videos.create(**call)  # type: ignore[arg-type]
    assert info.value.param == param
    assert message in info.value.message


async def test_json_create_with_a_data_url_reference_works_like_multipart(client: AsyncOpenAI) -> None:
    url = "data:image/png;base64," + base64.b64encode(_png(1280, 720)).decode()
    created = await client.post(
        "/videos",
        cast_to=Video,
        body={"prompt": "json", "size": "1280x720", "input_reference": {"image_url": url}},
    )
    assert created.status == "queued"


async def test_videos_can_be_listed_and_deleted(client: AsyncOpenAI) -> None:
    first = await client.videos.create(prompt="one")
    second = await client.videos.create(prompt="two")
    page = await client.videos.list(order="asc")
    assert [v.id for v in page.data] == [first.id, second.id]
    deleted = await client.videos.delete(first.id)
    assert deleted.deleted
    with pytest.raises(openai.NotFoundError):
        await client.videos.retrieve(first.id)


async def test_every_video_object_carries_every_field_the_reference_requires(client: AsyncOpenAI) -> None:
    raw = await client.videos.with_raw_response.create(prompt="strict")
    body = raw.http_response.json()
    assert body.keys() >= REQUIRED_VIDEO_FIELDS
    Video.model_validate(body)
    polled = await client.videos.with_raw_response.retrieve(body["id"])
    assert polled.http_response.json().keys() >= REQUIRED_VIDEO_FIELDS


async def test_min_bytes_setting_streams_a_large_video_with_an_exact_length() -> None:
    settings = SandboxSettings(job_polls=1, video_min_bytes=8 * 1024 * 1024, poll_after_ms=1)
    async with (
        Sandbox(vendors=("openai",), settings=settings) as sb,
        AsyncOpenAI(base_url=sb.base_url("openai"), api_key="k", max_retries=0) as client,
    ):
        done = await client.videos.create_and_poll(prompt="big", size="1280x720")
        total = 0
        async with client.videos.with_streaming_response.download_content(done.id) as response:
            length = int(response.headers["content-length"])
            async for chunk in response.iter_bytes():
                total += len(chunk)
    assert total == length >= 8 * 1024 * 1024


async def test_a_client_abandoning_a_download_is_not_an_error(caplog: pytest.LogCaptureFixture) -> None:
    settings = SandboxSettings(job_polls=1, video_min_bytes=32 * 1024 * 1024, poll_after_ms=1)
    async with (
        Sandbox(vendors=("openai",), settings=settings) as sb,
        AsyncOpenAI(base_url=sb.base_url("openai"), api_key="k", max_retries=0) as client,
    ):
        done = await client.videos.create_and_poll(prompt="abandoned", size="1280x720")
        async with client.videos.with_streaming_response.download_content(done.id) as response:
            async for _ in response.iter_bytes(1024 * 1024):
                break
        assert (await client.videos.retrieve(done.id)).status == "completed"
    assert [r for r in caplog.records if r.levelno >= 40] == []
