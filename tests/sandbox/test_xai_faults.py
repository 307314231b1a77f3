"""Every fault script of the sandbox, as the xAI fake answers it in gRPC terms, seen through the real xai_sdk."""

from __future__ import annotations

import datetime

import aiohttp
import grpc
import pytest
import xai_sdk
from google.rpc import error_details_pb2, status_pb2
from xai_sdk.proto import deferred_pb2, image_pb2
from xai_sdk.video import VideoGenerationError

from mediagen.sandbox import FAULT_KINDS, Fault, Sandbox
from mediagen.sandbox.rpc import status_number

IMAGE, VIDEO = "grok-imagine-image", "grok-imagine-video"
QUICK = datetime.timedelta(seconds=0.01)
#: Which test below covers each fault of the catalogue (a new fault without an xAI answer fails the first test).
COVERED = {
    "rate_limit": "test_rate_limit_is_resource_exhausted_with_a_retry_info",
    "server_error": "test_server_error_is_internal",
    "quota_exceeded": "test_quota_exceeded_is_resource_exhausted_with_no_retry_hint",
    "unavailable": "test_unavailable_is_retried_by_the_sdk_then_surfaces",
    "hang": "test_hang_runs_into_the_clients_deadline",
    "malformed": "test_malformed_is_an_answer_the_sdk_cannot_parse",
    "retired": "test_retired_is_unimplemented",
    "content_policy": "test_content_policy_is_the_moderation_answer",
    "job_fails": "test_job_fails_ends_failed_with_the_code",
    "job_never_finishes": "test_job_never_finishes_stays_pending",
    "truncated_download": "test_truncated_download_cuts_the_video_and_the_image",
    "slow_poll": "test_slow_poll_needs_more_polls",
}


def test_every_fault_has_an_xai_answer() -> None:
    assert set(COVERED) == set(FAULT_KINDS)
    assert all(name in globals() for name in COVERED.values())


async def refused(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value


async def test_rate_limit_is_resource_exhausted_with_a_retry_info(
    xai_sandbox: Sandbox, xai_client: xai_sdk.AsyncClient
) -> None:
    xai_sandbox.faults.push("xai", Fault("rate_limit", {"retry_after": 2.5}))
    error = await refused(xai_client.image.sample("p", IMAGE))
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    trailer = dict(error.trailing_metadata() or ())
    status = status_pb2.Status.FromString(trailer["grpc-status-details-bin"])
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    info = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(info)
    assert info.retry_delay.ToTimedelta() == datetime.timedelta(seconds=2.5)
    assert xai_sandbox.calls("xai")[-1].status == status_number(grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert xai_sandbox.calls("xai")[-1].fault == "rate_limit;retry_after=2.5"


async def test_quota_exceeded_is_resource_exhausted_with_no_retry_hint(
    xai_sandbox: Sandbox, xai_client: xai_sdk.AsyncClient
) -> None:
    xai_sandbox.faults.push("xai", "quota_exceeded")
    error = await refused(xai_client.image.sample("p", IMAGE))
    assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "credits" in (error.details() or "")
    assert "grpc-status-details-bin" not in dict(error.trailing_metadata() or ())


async def test_server_error_is_internal(xai_sandbox: Sandbox, xai_client: xai_sdk.AsyncClient) -> None:
    xai_sandbox.faults.push("xai", "server_error")
    error = await refused(xai_client.video.start("p", VIDEO))
    assert error.code() is grpc.StatusCode.INTERNAL


async def test_unavailable_is_retried_by_the_sdk_then_surfaces(
    xai_sandbox: Sandbox, xai_client: xai_sdk.AsyncClient
) -> None:
    xai_sandbox.faults.push("xai", "unavailable", times=1)
    assert (await xai_client.image.sample("p", IMAGE, image_format="base64")).respect_moderation
    assert [c.status for c in xai_sandbox.calls("xai")] == [status_number(grpc.StatusCode.UNAVAILABLE), 0]
    xai_sandbox.faults.push("xai", "unavailable", times=None)
    error = await refused(xai_client.image.sample("p", IMAGE))
    assert error.code() is grpc.StatusCode.UNAVAILABLE


async def test_hang_runs_into_the_clients_deadline(xai_sandbox: Sandbox) -> None:
    client = xai_sdk.AsyncClient(
        api_key="k", api_host=xai_sandbox.base_url("xai"), use_insecure_channel=True, timeout=0.3
    )
    xai_sandbox.faults.push("xai", Fault("hang", {"seconds": 5}))
    error = await refused(client.image.sample("p", IMAGE))
    assert error.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    await client.close()


async def test_malformed_is_an_answer_the_sdk_cannot_parse(
    xai_sandbox: Sandbox, xai_client: xai_sdk.AsyncClient
) -> None:
    """grpc.aio logs the parse failure and hands the SDK None, so the SDK's next step fails on it."""
    xai_sandbox.faults.push("xai", "malformed")
    assert await xai_client.video.get("any") is None
    xai_sandbox.faults.push("xai", "malformed")
    with pytest.raises(AttributeError):
        await xai_client.image.sample("p", IMAGE)
    assert xai_sandbox.calls("xai")[-1].fault == "malformed"


async def test_retired_is_unimplemented(xai_sandbox: Sandbox, xai_client: xai_sdk.AsyncClient) -> None:
    xai_sandbox.faults.push("xai", "retired", route="/xai_api.Video/*")
    assert (await xai_client.image.sample("p", IMAGE, image_format="base64")).respect_moderation
    error = await refused(xai_client.video.start("p", VIDEO))
    assert error.code() is grpc.StatusCode.UNIMPLEMENTED


async def test_content_policy_is_the_moderation_answer(xai_sandbox: Sandbox, xai_client: xai_sdk.AsyncClient) -> None:
    xai_sandbox.faults.push("xai", "content_policy")
    flagged = await xai_client.image.sample("p", IMAGE, image_format="base64")
    assert flagged.respect_moderation is False
    xai_sandbox.faults.push("xai", "content_policy;form=empty")
    empty = await xai_client.image._stub.GenerateImage(image_pb2.GenerateImageRequest(prompt="p", model=IMAGE))
    assert len(empty.images) == 0
    xai_sandbox.faults.push("xai", "content_policy;form=status")
    error = await refused(xai_client.image.sample("p", IMAGE))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "content moderation" in (error.details() or "")
    xai_sandbox.faults.push("xai", "content_policy")
    video = await xai_client.video.generate("p", VIDEO, duration=1, interval=QUICK)
    assert video.respect_moderation is False
    xai_sandbox.faults.push("xai", "content_policy;form=status")
    error = await refused(xai_client.video.start("p", VIDEO))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "content moderation" in (error.details() or "")
    start = await xai_client.video.start("p", VIDEO, duration=1)
    xai_sandbox.faults.push("xai", "content_policy", route="/xai_api.Video/GetDeferredVideo")
    done = [await xai_client.video.get(start.request_id) for _ in range(2)][-1]
    assert done.status == deferred_pb2.DONE
    assert not done.response.video.respect_moderation
    assert not done.response.video.url


async def test_job_fails_ends_failed_with_the_code(xai_sandbox: Sandbox, xai_client: xai_sdk.AsyncClient) -> None:
    xai_sandbox.faults.push("xai", "job_fails;code=internal_error;at=1")
    start = await xai_client.video.start("p", VIDEO, duration=1)
    answer = await xai_client.video.get(start.request_id)
    assert answer.status == deferred_pb2.FAILED
    assert answer.response.error.code == "internal_error"
    source = await xai_client.video.generate("p", VIDEO, duration=1, interval=QUICK)
    xai_sandbox.faults.push("xai", "job_fails", route="/xai_api.Video/ExtendVideo")
    with pytest.raises(VideoGenerationError) as caught:
        await xai_client.video.extend("p", VIDEO, video_url=source.url, interval=QUICK)
    assert caught.value.code == "video_generation_failed"


async def test_job_never_finishes_stays_pending(xai_sandbox: Sandbox, xai_client: xai_sdk.AsyncClient) -> None:
    xai_sandbox.faults.push("xai", "job_never_finishes", route="/xai_api.Video/GenerateVideo")
    start = await xai_client.video.start("p", VIDEO, duration=1)
    answers = [await xai_client.video.get(start.request_id) for _ in range(5)]
    assert {a.status for a in answers} == {deferred_pb2.PENDING}
    assert answers[-1].response.progress < 100


async def test_slow_poll_needs_more_polls(xai_sandbox: Sandbox, xai_client: xai_sdk.AsyncClient) -> None:
    xai_sandbox.faults.push("xai", "slow_poll;polls=4;delay=0")
    start = await xai_client.video.start("p", VIDEO, duration=1)
    statuses = [(await xai_client.video.get(start.request_id)).status for _ in range(4)]
    assert statuses == [deferred_pb2.PENDING] * 3 + [deferred_pb2.DONE]


async def test_truncated_download_cuts_the_video_and_the_image(
    xai_sandbox: Sandbox, xai_client: xai_sdk.AsyncClient
) -> None:
    video = await xai_client.video.generate("p", VIDEO, duration=1, interval=QUICK)
    image = await xai_client.image.sample("p", IMAGE)
    xai_sandbox.faults.push("xai", "truncated_download", times=2)
    async with aiohttp.ClientSession() as session:
        for url in (video.url, image.url):
            with pytest.raises(aiohttp.ClientPayloadError):
                async with session.get(url) as response:
                    await response.read()


async def test_a_fault_in_the_call_metadata_applies_to_that_call_only(xai_sandbox: Sandbox) -> None:
    client = xai_sdk.AsyncClient(
        api_key="k", api_host=xai_sandbox.base_url("xai"), use_insecure_channel=True,
        metadata=(("x-mediagen-fault", "server_error"),),
    )  # fmt: skip
    error = await refused(client.image.sample("p", IMAGE))
    assert error.code() is grpc.StatusCode.INTERNAL
    assert xai_sandbox.faults.applied("xai")[-1].source == "header"
    await client.close()


async def test_request_faults_on_a_download_url_are_http_answers(
    xai_sandbox: Sandbox, xai_client: xai_sdk.AsyncClient
) -> None:
    image = await xai_client.image.sample("p", IMAGE)
    xai_sandbox.faults.push("xai", "rate_limit", route="GET /xai-imgen/*")
    async with aiohttp.ClientSession() as session, session.get(image.url) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "1"
