"""Every fault script of the sandbox, as the ElevenLabs fake answers it, through the real AsyncElevenLabs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from elevenlabs import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError

from mediagen.sandbox import FAULT_HEADER, FAULT_KINDS, Fault, Sandbox, SandboxSettings
from mediagen.sandbox.elevenlabs import QUOTA_MARKER
from tests.sandbox.conftest import NO_RETRIES

RACHEL = "21m00Tcm4TlvDq8ikWAM"
OPTIONS = NO_RETRIES


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def speak(client: AsyncElevenLabs, text: str = "hello", **options: object) -> bytes:
    return await collect(client.text_to_speech.convert(RACHEL, text=text, request_options={**OPTIONS, **options}))


async def test_rate_limit_is_a_429_with_retry_after(elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs) -> None:
    elevenlabs_sandbox.faults.push("elevenlabs", Fault("rate_limit", {"retry_after": 3}))
    with pytest.raises(ApiError) as limited:
        await speak(elevenlabs)
    assert limited.value.status_code == 429
    assert limited.value.headers is not None and limited.value.headers["retry-after"] == "3"
    detail = limited.value.body["detail"]
    assert (detail["type"], detail["code"], detail["status"]) == (
        "rate_limit_error",
        "rate_limit_exceeded",
        "rate_limit_exceeded",
    )
    elevenlabs_sandbox.faults.push("elevenlabs", "rate_limit;code=concurrent_limit_exceeded")
    with pytest.raises(ApiError) as concurrent:
        await elevenlabs.voices.get_all(request_options=OPTIONS)
    assert concurrent.value.body["detail"]["code"] == "concurrent_limit_exceeded"


async def test_the_sdks_own_retries_honour_retry_after(
    elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs
) -> None:
    elevenlabs_sandbox.faults.push("elevenlabs", Fault("rate_limit", {"retry_after": 0}), times=1)
    voices = await elevenlabs.voices.get_all()  # the SDK retries a 429 by itself
    assert voices.voices
    assert [c.status for c in elevenlabs_sandbox.calls("elevenlabs")] == [429, 200]


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [("server_error", 500, "internal_server_error"), ("unavailable", 503, "service_unavailable")],
)
async def test_server_faults_are_5xx_in_the_detail_form(
    elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs, fault: str, status: int, code: str
) -> None:
    elevenlabs_sandbox.faults.push("elevenlabs", fault)
    with pytest.raises(ApiError) as failed:
        await elevenlabs.voices.search(request_options=OPTIONS)
    assert (failed.value.status_code, failed.value.body["detail"]["code"]) == (status, code)


async def test_quota_exceeded_is_a_401_saying_so(elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs) -> None:
    elevenlabs_sandbox.faults.push("elevenlabs", "quota_exceeded")
    with pytest.raises(ApiError) as fault:
        await speak(elevenlabs)
    assert fault.value.status_code == 401
    assert fault.value.body["detail"]["status"] == "quota_exceeded"
    assert "quota" in fault.value.body["detail"]["message"]
    with pytest.raises(ApiError) as marker:
        await speak(elevenlabs, text=f"read this {QUOTA_MARKER}")
    assert marker.value.body["detail"]["status"] == "quota_exceeded"
    with pytest.raises(ApiError) as header:  # the fault from the request header, on a JSON route
        await elevenlabs.voices.get(RACHEL, request_options={"additional_headers": {FAULT_HEADER: "quota_exceeded"}})
    assert (header.value.status_code, header.value.body["detail"]["status"]) == (401, "quota_exceeded")


async def test_content_policy_is_a_bad_prompt(elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs) -> None:
    elevenlabs_sandbox.faults.push("elevenlabs", "content_policy", route="POST /v1/music")
    with pytest.raises(ApiError) as music:
        await collect(elevenlabs.music.compose(prompt="a song", request_options=OPTIONS))
    detail = music.value.body["detail"]
    assert (music.value.status_code, detail["status"], detail["param"]) == (400, "bad_prompt", "prompt")
    assert detail["data"]["prompt_suggestion"]
    elevenlabs_sandbox.faults.push("elevenlabs", "content_policy")
    with pytest.raises(ApiError) as speech:
        await speak(elevenlabs)
    assert (speech.value.status_code, speech.value.body["detail"]["param"]) == (400, "text")


async def test_retired_routes_answer_as_fastapi_does(elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs) -> None:
    elevenlabs_sandbox.faults.push("elevenlabs", "retired", route="POST /v1/sound-generation")
    with pytest.raises(ApiError) as gone:
        await collect(elevenlabs.text_to_sound_effects.convert(text="boom", request_options=OPTIONS))
    assert (gone.value.status_code, gone.value.body) == (404, {"detail": "Not Found"})
    async with httpx.AsyncClient(base_url=elevenlabs_sandbox.base_url("elevenlabs"), headers={"xi-api-key": "k"}) as h:
        assert (await h.get("/v1/no-such-thing")).json() == {"detail": "Not Found"}
        assert (await h.put("/v1/voices")).json() == {"detail": "Method Not Allowed"}


async def test_malformed_json_is_an_sdk_error(elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs) -> None:
    elevenlabs_sandbox.faults.push("elevenlabs", "malformed")
    with pytest.raises(ApiError) as broken:
        await elevenlabs.voices.get(RACHEL, request_options=OPTIONS)
    assert broken.value.status_code == 200
    assert isinstance(broken.value.body, str)


async def test_a_hang_outlasts_the_clients_timeout(elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs) -> None:
    elevenlabs_sandbox.faults.push("elevenlabs", Fault("hang", {"seconds": 5}))
    with pytest.raises(httpx.TimeoutException):
        await elevenlabs.voices.get_all(request_options={**OPTIONS, "timeout_in_seconds": 0.2})


async def test_a_hang_ends_when_the_sandbox_stops() -> None:
    settings = SandboxSettings(hang_seconds=30, faults=("elevenlabs:hang",))
    sb = Sandbox(vendors=("elevenlabs",), settings=settings)
    await sb.start()
    async with httpx.AsyncClient() as http:
        client = AsyncElevenLabs(api_key="k", base_url=sb.base_url("elevenlabs"), httpx_client=http)
        call = asyncio.ensure_future(client.voices.get_all(request_options=OPTIONS))
        await asyncio.to_thread(sb.faults.wait_applied, 1, 5.0)
        await sb.stop()
        with pytest.raises((ApiError, httpx.HTTPError)):
            await call


async def test_a_truncated_download_breaks_the_audio_stream(
    elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs
) -> None:
    elevenlabs_sandbox.faults.push("elevenlabs", Fault("truncated_download", {"bytes": 1000}))
    with pytest.raises(httpx.HTTPError):
        await speak(elevenlabs, text="z" * 600)
    assert [a.fault.name for a in elevenlabs_sandbox.faults.applied("elevenlabs")] == ["truncated_download"]


async def test_every_request_fault_has_an_elevenlabs_answer(elevenlabs_sandbox: Sandbox) -> None:
    """No fault kind falls through to the sandbox's own 500."""
    async with httpx.AsyncClient(base_url=elevenlabs_sandbox.base_url("elevenlabs"), headers={"xi-api-key": "k"}) as h:
        for name, kind in FAULT_KINDS.items():
            if kind.scope.value != "request" or name == "hang":
                continue
            answer = await h.get("/v1/models", headers={FAULT_HEADER: name})
            assert answer.status_code != 500 or name == "server_error", name
            if name != "malformed":
                assert "detail" in answer.json(), name
