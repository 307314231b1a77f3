"""Every fault script as the real AsyncOpenAI client sees it, from the header and from the queue."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable

import openai
import pytest
from openai import AsyncOpenAI

from mediagen.sandbox import FAULT_HEADER, Fault, Sandbox


def fault(spec: str) -> dict[str, str]:
    return {FAULT_HEADER: spec}


async def test_rate_limit_is_a_429_with_retry_after_and_openais_body(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        await client.images.generate(model="gpt-image-1", prompt="x", extra_headers=fault("rate_limit;retry_after=7"))
    assert info.value.response.headers["retry-after"] == "7"
    assert (info.value.code, info.value.type) == ("rate_limit_exceeded", "requests")
    assert "try again in 7s" in info.value.message


async def test_the_sdk_honours_retry_after_and_then_succeeds(sandbox: Sandbox) -> None:
    sandbox.faults.push("openai", Fault("rate_limit", {"retry_after": 0.05}), times=1)
    async with AsyncOpenAI(base_url=sandbox.base_url("openai"), api_key="k", max_retries=1) as client:
        result = await client.images.generate(model="gpt-image-1", prompt="after a wait")
    assert result.data
    assert [c.status for c in sandbox.calls("openai")] == [429, 200]


@pytest.mark.parametrize(("name", "status"), [("server_error", 500), ("unavailable", 503)])
async def test_server_faults_are_internal_server_errors(client: AsyncOpenAI, name: str, status: int) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        await client.responses.create(model="gpt-5", input="x", extra_headers=fault(name))
    assert info.value.status_code == status
    assert info.value.type == "server_error"


async def test_retired_answers_as_openai_does_for_a_route_it_no_longer_serves(
    sandbox: Sandbox, client: AsyncOpenAI
) -> None:
    sandbox.faults.push("openai", "retired", times=1)
    with pytest.raises(openai.NotFoundError) as info:
        await client.videos.create(prompt="x")
    assert info.value.body == {
        "message": "Invalid URL (POST /v1/videos)", "type": "invalid_request_error", "param": None, "code": None
    }  # fmt: skip
    assert sandbox.state("openai").videos == {}  # nothing was created
    assert (await client.videos.create(prompt="x")).status == "queued"  # the next request is served


async def test_hang_outlasts_the_client_timeout(sandbox: Sandbox, client: AsyncOpenAI) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await client.with_options(timeout=0.3).audio.speech.create(
            model="tts-1", input="x", voice="alloy", extra_headers=fault("hang;seconds=3")
        )
    assert time.monotonic() - started < 2


async def test_a_short_hang_only_delays_the_answer(client: AsyncOpenAI) -> None:
    started = time.monotonic()
    page = await client.videos.list(extra_headers=fault("hang;seconds=0.2"))
    assert page.data == []
    assert time.monotonic() - started >= 0.2


async def test_malformed_is_a_200_whose_body_is_not_json(client: AsyncOpenAI) -> None:
    with pytest.raises(json.JSONDecodeError):  # openai 3.57.0 lets the decode error through unwrapped
        await client.images.generate(model="gpt-image-1", prompt="x", extra_headers=fault("malformed"))
    raw = await client.images.with_raw_response.generate(
        model="gpt-image-1", prompt="x", extra_headers=fault("malformed")
    )
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("application/json")


POLICY_CALLS: dict[str, Callable[[AsyncOpenAI, dict[str, str]], Awaitable[object]]] = {
    "image": lambda c, h: c.images.generate(model="gpt-image-1", prompt="x", extra_headers=h),
    "response": lambda c, h: c.responses.create(model="gpt-5", input="x", extra_headers=h),
    "video": lambda c, h: c.videos.create(prompt="x", extra_headers=h),
    "speech": lambda c, h: c.audio.speech.create(model="tts-1", input="x", voice="alloy", extra_headers=h),
}


@pytest.mark.parametrize(
    ("call", "code", "kind"),
    [
        ("image", "moderation_blocked", "image_generation_user_error"),
        ("response", "moderation_blocked", "invalid_request_error"),
        ("video", "moderation_blocked", "invalid_request_error"),
        ("speech", "content_policy_violation", "invalid_request_error"),
    ],
)
async def test_content_policy_is_openais_400_with_the_policy_code(
    client: AsyncOpenAI, call: str, code: str, kind: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await POLICY_CALLS[call](client, fault("content_policy"))
    assert (info.value.code, info.value.type, info.value.param) == (code, kind, None)


async def test_job_fails_ends_the_video_failed_with_an_error(client: AsyncOpenAI) -> None:
    created = await client.videos.create(prompt="x", extra_headers=fault("job_fails;code=moderation_blocked"))
    done = await client.videos.poll(created.id)
    assert done.status == "failed"
    assert done.error is not None
    assert done.error.code == "moderation_blocked"
    with pytest.raises(openai.NotFoundError):
        await client.videos.download_content(created.id)


async def test_job_never_finishes_stays_in_progress(sandbox: Sandbox, client: AsyncOpenAI) -> None:
    sandbox.faults.push("openai", "job_never_finishes")
    created = await client.videos.create(prompt="forever")
    progress = []
    for _ in range(10):
        video = await client.videos.retrieve(created.id)
        assert video.status == "in_progress"
        progress.append(video.progress)
    assert progress == sorted(progress)
    assert max(progress) < 100


async def test_slow_poll_needs_more_polls_and_delays_each(client: AsyncOpenAI) -> None:
    created = await client.videos.create(prompt="slow", extra_headers=fault("slow_poll;polls=5;delay=0.05"))
    started = time.monotonic()
    statuses = [(await client.videos.retrieve(created.id)).status for _ in range(5)]
    assert statuses == ["in_progress"] * 4 + ["completed"]
    assert time.monotonic() - started >= 0.25


async def test_truncated_download_closes_the_connection_mid_body(sandbox: Sandbox, client: AsyncOpenAI) -> None:
    done = await client.videos.create_and_poll(prompt="cut")
    sandbox.faults.push("openai", "truncated_download;fraction=0.25")
    with pytest.raises(openai.APIConnectionError):
        await client.videos.download_content(done.id)
    assert len((await client.videos.download_content(done.id)).content) > 0  # one download only


async def test_truncated_chunked_speech_is_cut_short_too(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        await client.audio.speech.create(
            model="tts-1", input="x" * 300, voice="alloy", extra_headers=fault("truncated_download;bytes=100")
        )


async def test_queued_faults_can_target_one_route(sandbox: Sandbox, client: AsyncOpenAI) -> None:
    sandbox.faults.push("openai", "server_error", times=None, route="POST /v1/videos")
    await client.images.generate(model="gpt-image-1", prompt="unaffected")
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await client.videos.create(prompt="x")
    sandbox.faults.clear()
    assert (await client.videos.create(prompt="x")).status == "queued"


async def test_a_header_fault_that_cannot_apply_to_a_request_is_ignored(client: AsyncOpenAI) -> None:
    result = await client.images.generate(model="gpt-image-1", prompt="x", extra_headers=fault("job_fails"))
    assert result.data


async def test_an_unknown_fault_header_is_a_400_naming_the_header(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="unknown sandbox fault 'boom'") as info:
        await client.images.generate(model="gpt-image-1", prompt="x", extra_headers=fault("boom"))
    assert info.value.param == FAULT_HEADER


async def test_applied_faults_are_recorded_with_their_source(sandbox: Sandbox, client: AsyncOpenAI) -> None:
    sandbox.faults.push("openai", "unavailable")
    with pytest.raises(openai.InternalServerError):
        await client.videos.list()
    with pytest.raises(openai.RateLimitError):
        await client.videos.list(extra_headers=fault("rate_limit"))
    applied = sandbox.faults.applied("openai")
    assert [(a.fault.name, a.source, a.path) for a in applied] == [
        ("unavailable", "script", "/v1/videos"),
        ("rate_limit", "header", "/v1/videos"),
    ]
