"""The xAI fake's Video service through the real xai_sdk.AsyncClient: jobs, progress, extension, refusals, URLs."""

from __future__ import annotations

import base64
import datetime

import aiohttp
import grpc
import pytest
import xai_sdk
from xai_sdk.proto import deferred_pb2, image_pb2, video_pb2, video_pb2_grpc
from xai_sdk.video import VideoGenerationError

from mediagen.domain.sniff import sniff
from mediagen.sandbox import Sandbox, SandboxSettings, media
from tests.sandbox.conftest import decode_errors, needs_ffprobe, probe

MODEL = "grok-imagine-video"
QUICK = datetime.timedelta(seconds=0.01)


async def refused(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value


def stub(client: xai_sdk.AsyncClient) -> video_pb2_grpc.VideoStub:
    """The SDK's own stub on its authenticated channel, for messages the SDK's helpers would not build."""
    return client.video._stub


async def download(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        response.raise_for_status()
        return await response.read()


def data_uri(data: bytes) -> str:
    return f"data:image/png;base64,{base64.b64encode(data).decode()}"


async def test_text_to_video_polls_pending_with_progress_then_done(xai_client: xai_sdk.AsyncClient) -> None:
    start = await xai_client.video.start("a fox runs", MODEL, duration=2)
    assert start.request_id
    first = await xai_client.video.get(start.request_id)
    assert first.status == deferred_pb2.PENDING
    assert first.response.progress == 50
    assert not first.response.HasField("video")
    done = await xai_client.video.get(start.request_id)
    assert done.status == deferred_pb2.DONE
    assert done.response.video.duration == 2
    assert done.response.video.respect_moderation
    assert done.response.model == MODEL
    data = await download(done.response.video.url)
    assert sniff(data[:32]) == "video/mp4"


async def test_generate_waits_for_the_video(xai_client: xai_sdk.AsyncClient) -> None:
    video = await xai_client.video.generate("a fox", MODEL, duration=1, interval=QUICK)
    assert video.url.startswith("http://127.0.0.1:")
    assert video.duration == 1


@needs_ffprobe
@pytest.mark.parametrize(
    ("ratio", "resolution", "size"),
    [
        (None, None, (854, 480)),
        ("9:16", "720p", (720, 1280)),
        ("1:1", "480p", (480, 480)),
        ("4:3", "1080p", (1440, 1080)),
    ],
)
async def test_the_video_is_real_h264_at_the_asked_shape(
    xai_client: xai_sdk.AsyncClient, ratio: str | None, resolution: str | None, size: tuple[int, int]
) -> None:
    video = await xai_client.video.generate(
        "shape",
        MODEL,
        duration=2,
        aspect_ratio=ratio,
        resolution=resolution,
        interval=QUICK,  # type: ignore[arg-type]
    )
    data = await download(video.url)
    info = probe(data)
    stream = info["streams"][0]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", *size)
    assert float(info["format"]["duration"]) == pytest.approx(2.0)
    assert decode_errors(data) == ""


async def test_the_default_duration_is_eight_seconds(xai_client: xai_sdk.AsyncClient) -> None:
    video = await xai_client.video.generate("default", MODEL, interval=QUICK)
    assert video.duration == 8


async def test_image_to_video(xai_client: xai_sdk.AsyncClient, xai_sandbox: Sandbox) -> None:
    still = media.image(640, 360, "png", prompt="start")
    video = await xai_client.video.generate("it moves", MODEL, image_url=data_uri(still), duration=1, interval=QUICK)
    plain = await xai_client.video.generate("it moves", MODEL, duration=1, interval=QUICK)
    assert await download(video.url) != await download(plain.url)
    sent = xai_sandbox.state("xai").received("GenerateVideo")[0]
    assert isinstance(sent, video_pb2.GenerateVideoRequest)
    assert sent.image.image_url.startswith("data:image/png;base64,")


async def test_extension_continues_the_video_it_extends(xai_client: xai_sdk.AsyncClient) -> None:
    source = await xai_client.video.generate("a fox", MODEL, duration=2, aspect_ratio="9:16", interval=QUICK)
    extended = await xai_client.video.extend("it jumps", MODEL, source.url, duration=3, interval=QUICK)
    assert extended.duration == 3
    assert extended.url != source.url
    data = await download(extended.url)
    assert sniff(data[:32]) == "video/mp4"
    default = await xai_client.video.extend("again", MODEL, extended.url, interval=QUICK)
    assert default.duration == 6


async def test_video_to_video_from_a_video_url(xai_client: xai_sdk.AsyncClient) -> None:
    source = await xai_client.video.generate("a fox", MODEL, duration=1, interval=QUICK)
    edited = await xai_client.video.generate("make it snow", MODEL, video_url=source.url, interval=QUICK)
    assert edited.url != source.url


async def test_frames_and_voices_on_the_model_that_takes_them(xai_client: xai_sdk.AsyncClient) -> None:
    still = data_uri(media.image(64, 64, "png"))
    video = await xai_client.video.generate(
        "pinned", "grok-imagine-video-1.5", duration=4, last_frame_url=still,
        keyframes=[{"image_url": still, "timestamp": 2.0}], reference_audios=[{"voice_id": "ara"}],
        reference_image_urls=[still], interval=QUICK,
    )  # fmt: skip
    assert video.duration == 4


async def test_answers_carry_only_proto_fields(xai_sandbox: Sandbox) -> None:
    async with grpc.aio.insecure_channel(xai_sandbox.base_url("xai")) as channel:
        auth = (("authorization", "Bearer k"),)
        start = await video_pb2_grpc.VideoStub(channel).GenerateVideo(
            video_pb2.GenerateVideoRequest(prompt="p", model=MODEL, duration=1), metadata=auth
        )
        get = channel.unary_unary(
            "/xai_api.Video/GetDeferredVideo",
            request_serializer=video_pb2.GetDeferredVideoRequest.SerializeToString,
            response_deserializer=lambda raw: raw,
        )
        fields = []
        for _ in range(2):
            raw = await get(video_pb2.GetDeferredVideoRequest(request_id=start.request_id), metadata=auth)
            answer = video_pb2.GetDeferredVideoResponse.FromString(raw)
            assert answer.SerializeToString() == raw
            fields.append(
                (
                    {f.name for f, _ in answer.ListFields()},
                    {f.name for f, _ in answer.response.ListFields()},
                    {f.name for f, _ in answer.response.video.ListFields()},
                )
            )
    assert fields == [
        ({"status", "response"}, {"progress"}, set()),
        ({"status", "response"}, {"video", "model", "progress"}, {"url", "duration", "respect_moderation"}),
    ]


# --- job endings ------------------------------------------------------------------------------------------------


async def test_a_failed_job_raises_the_sdks_error(xai_client: xai_sdk.AsyncClient) -> None:
    with pytest.raises(VideoGenerationError) as caught:
        await xai_client.video.generate("sandbox:fail-job", MODEL, duration=1, interval=QUICK)
    assert caught.value.code == "video_generation_failed"


async def test_an_expired_job_ends_expired(xai_client: xai_sdk.AsyncClient) -> None:
    with pytest.raises(RuntimeError, match="Deferred request expired"):
        await xai_client.video.generate("sandbox:expire-job", MODEL, duration=1, interval=QUICK)


async def test_a_job_that_never_finishes_stays_pending_below_100(xai_client: xai_sdk.AsyncClient) -> None:
    start = await xai_client.video.start("sandbox:never-finish", MODEL, duration=1)
    progress = [(await xai_client.video.get(start.request_id)).response.progress for _ in range(6)]
    assert progress == sorted(progress)
    assert max(progress) < 100
    with pytest.raises(TimeoutError):
        await xai_client.video.generate(
            "sandbox:never-finish", MODEL, duration=1, interval=QUICK, timeout=datetime.timedelta(seconds=0.2)
        )


async def test_moderated_video_has_no_url(xai_client: xai_sdk.AsyncClient) -> None:
    video = await xai_client.video.generate("sandbox:block-output", MODEL, duration=1, interval=QUICK)
    assert video.respect_moderation is False
    with pytest.raises(ValueError, match="did not respect moderation"):
        _ = video.url


async def test_video_urls_and_results_expire() -> None:
    async with Sandbox(vendors=("xai",), settings=SandboxSettings(job_polls=1, media_url_ttl_seconds=1e-6)) as sb:
        client = xai_sdk.AsyncClient(api_key="k", api_host=sb.base_url("xai"), use_insecure_channel=True)
        video = await client.video.generate("soon gone", MODEL, duration=1, interval=QUICK)
        with pytest.raises(aiohttp.ClientResponseError) as caught:
            await download(video.url)
        assert caught.value.status == 403
        start = await client.video.start("soon gone", MODEL, duration=1)
        assert (await client.video.get(start.request_id)).status == deferred_pb2.DONE
        assert (await client.video.get(start.request_id)).status == deferred_pb2.EXPIRED
        error = await refused(client.video.extend("more", MODEL, video.url))
        assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert (error.details() or "").startswith("video.url:")
        await client.close()


# --- refusals ---------------------------------------------------------------------------------------------------

_STILL = data_uri(media.image(32, 32, "png"))


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"prompt": "", "model": MODEL}, "prompt"),
        ({"prompt": "p", "model": ""}, "model"),
        ({"prompt": "p", "model": "grok-imagine-image"}, "model"),
        ({"prompt": "p", "model": MODEL, "duration": 0}, "duration"),
        ({"prompt": "p", "model": MODEL, "duration": 16}, "duration"),
        ({"prompt": "p", "model": MODEL, "aspect_ratio": 42}, "aspect_ratio"),
        ({"prompt": "p", "model": MODEL, "resolution": 9}, "resolution"),
        ({"prompt": "p", "model": MODEL, "image": {"image_url": "data:image/png;base64,!!"}}, "image.image_url"),
        ({"prompt": "p", "model": MODEL, "image": {"image_url": _STILL, "detail": 8}}, "image.detail"),
        ({"prompt": "p", "model": MODEL, "last_frame": {"image_url": _STILL}}, "last_frame"),
        ({"prompt": "p", "model": MODEL, "reference_audios": [{"voice_id": "ara"}]}, "reference_audios"),
        (
            {"prompt": "p", "model": MODEL, "keyframes": [{"image": {"image_url": _STILL}, "timestamp_s": 1}]},
            "keyframes",
        ),
        (
            {
                "prompt": "p", "model": "grok-imagine-video-1.5", "duration": 4,
                "keyframes": [{"image": {"image_url": _STILL}, "timestamp_s": 4.0}],
            },
            "keyframes[0].timestamp_s",
        ),
        (
            {
                "prompt": "p", "model": "grok-imagine-video-1.5",
                "keyframes": [{"image": {"image_url": _STILL}, "timestamp_s": 1.0}] * 5,
            },
            "keyframes",
        ),
        (
            {"prompt": "p", "model": "grok-imagine-video-1.5", "reference_audios": [{"voice_id": "a"}] * 4},
            "reference_audios",
        ),
        (
            {"prompt": "p", "model": "grok-imagine-video-1.5", "reference_audios": [{"voice_id": " "}]},
            "reference_audios[0].voice_id",
        ),
        ({"prompt": "p", "model": MODEL, "video": {"url": "ftp://x/y.mp4"}}, "video.url"),
        ({"prompt": "p", "model": MODEL, "video": {}}, "video"),
    ],
)  # fmt: skip
async def test_generate_refusals_name_the_field(
    xai_client: xai_sdk.AsyncClient, request_fields: dict[str, object], field: str
) -> None:
    error = await refused(stub(xai_client).GenerateVideo(video_pb2.GenerateVideoRequest(**request_fields)))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith(f"{field}:")


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"prompt": "p", "model": MODEL}, "video"),
        ({"prompt": "", "model": MODEL, "video": {"url": "http://127.0.0.1:9/x.mp4"}}, "prompt"),
        ({"prompt": "p", "model": MODEL, "duration": 11, "video": {"url": "http://127.0.0.1:9/x.mp4"}}, "duration"),
        ({"prompt": "p", "model": MODEL, "video": {"url": "http://127.0.0.1:9/x.mp4"}}, "video.url"),
    ],
)
async def test_extend_refusals_name_the_field(
    xai_client: xai_sdk.AsyncClient, request_fields: dict[str, object], field: str
) -> None:
    error = await refused(stub(xai_client).ExtendVideo(video_pb2.ExtendVideoRequest(**request_fields)))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith(f"{field}:")


async def test_unknown_fields_are_refused_anywhere_in_the_message(xai_client: xai_sdk.AsyncClient) -> None:
    image = image_pb2.ImageUrlContent.FromString(
        image_pb2.ImageUrlContent(image_url=_STILL).SerializeToString() + b"\xb8\x06\x01"
    )
    request = video_pb2.GenerateVideoRequest(prompt="p", model=MODEL, image=image)
    error = await refused(stub(xai_client).GenerateVideo(request))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("image:")
    assert "unknown field number 103" in (error.details() or "")


async def test_not_found_answers(xai_client: xai_sdk.AsyncClient) -> None:
    error = await refused(xai_client.video.start("p", "grok-imagine-video-9"))
    assert error.code() is grpc.StatusCode.NOT_FOUND
    error = await refused(xai_client.video.get("no-such-request"))
    assert error.code() is grpc.StatusCode.NOT_FOUND
    error = await refused(xai_client.video.start("p", MODEL, video_file_id="file_1"))
    assert error.code() is grpc.StatusCode.NOT_FOUND
    error = await refused(stub(xai_client).GetDeferredVideo(video_pb2.GetDeferredVideoRequest()))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT


@needs_ffprobe
async def test_video_fps_and_min_bytes_settings_shape_the_download() -> None:
    settings = SandboxSettings(job_polls=1, video_fps=12, video_min_bytes=1_500_000)
    async with Sandbox(vendors=("xai",), settings=settings) as sb:
        client = xai_sdk.AsyncClient(api_key="k", api_host=sb.base_url("xai"), use_insecure_channel=True)
        video = await client.video.generate("big", MODEL, duration=1, interval=QUICK)
        data = await download(video.url)
        await client.close()
    assert len(data) >= 1_500_000
    assert probe(data)["streams"][0]["r_frame_rate"] == "12/1"
