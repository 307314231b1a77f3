"""The ElevenLabs fake's dubbing through the real AsyncElevenLabs: a job that runs dubbing -> dubbed over the
sandbox's job_polls, answers a real MP4 for a video and MP3 for audio, fails when asked, and survives its sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from elevenlabs import AsyncElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.types import DoDubbingResponse, DubbingMetadataResponse

from mediagen.domain.sniff import sniff
from mediagen.sandbox import Fault, Sandbox, SandboxSettings, media
from mediagen.sandbox.elevenlabs import FAIL_MARKER, NEVER_FINISH_MARKER
from mediagen.sandbox.elevenlabs.dubbing import mp4_facts
from tests.sandbox.conftest import decode_errors, needs_ffprobe
from tests.sandbox.test_elevenlabs_voices import assert_known_fields

VIDEO = media.mp4(2.0, 320, 240, fps=12)
AUDIO = b"".join(media.audio_chunks(media.AudioFormat("mp3", 44_100, 128_000), 3.0))


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


async def run_to_end(client: AsyncElevenLabs, dubbing_id: str, polls: int = 10) -> list[str]:
    statuses = []
    for _ in range(polls):
        status = (await client.dubbing.get(dubbing_id)).status
        statuses.append(status)
        if status != "dubbing":
            break
    return statuses


@needs_ffprobe
async def test_a_video_is_dubbed_into_a_playable_mp4_of_its_size(elevenlabs: AsyncElevenLabs) -> None:
    job = await elevenlabs.dubbing.create(
        file=("clip.mp4", VIDEO, "video/mp4"), target_lang="es", source_lang="en", num_speakers=1, watermark=True
    )
    assert job.expected_duration_sec > 0
    assert await run_to_end(elevenlabs, job.dubbing_id) == ["dubbing", "dubbed"]  # job_polls=2
    meta = await elevenlabs.dubbing.get(job.dubbing_id)
    assert (meta.name, meta.target_languages, meta.source_language) == ("clip.mp4", ["es"], "en")
    assert meta.media_metadata is not None and meta.media_metadata.content_type == "video/mp4"
    dubbed = await collect(elevenlabs.dubbing.audio.get(job.dubbing_id, "es"))
    assert sniff(dubbed[:16]) == "video/mp4"
    assert mp4_facts(dubbed) == (pytest.approx(2.0, abs=0.1), 320, 240)
    assert decode_errors(dubbed) == ""


async def test_audio_is_dubbed_into_mp3_of_its_length(elevenlabs: AsyncElevenLabs) -> None:
    job = await elevenlabs.dubbing.create(file=("talk.mp3", AUDIO, "audio/mpeg"), target_lang="deu", name="Talk")
    await run_to_end(elevenlabs, job.dubbing_id)
    meta = await elevenlabs.dubbing.get(job.dubbing_id)
    assert (meta.name, meta.target_languages) == ("Talk", ["de"])  # an ISO 639-3 code names the same language
    dubbed = await collect(elevenlabs.dubbing.audio.get(job.dubbing_id, "de"))
    assert sniff(dubbed[:4]) == "audio/mpeg"
    assert len(dubbed) == pytest.approx(len(AUDIO), rel=0.02)


async def test_answers_hold_only_the_sdks_fields(elevenlabs_sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(base_url=elevenlabs_sandbox.base_url("elevenlabs"), headers={"xi-api-key": "k"}) as h:
        created = (await h.post("/v1/dubbing", data={"target_lang": "fr"}, files={"file": ("a.mp3", AUDIO)})).json()
        meta = (await h.get(f"/v1/dubbing/{created['dubbing_id']}")).json()
    assert_known_fields(DoDubbingResponse, created)
    assert_known_fields(DubbingMetadataResponse, meta)


async def test_the_dubbed_file_is_not_ready_before_the_job_ends(elevenlabs: AsyncElevenLabs) -> None:
    job = await elevenlabs.dubbing.create(file=("a.mp3", AUDIO, "audio/mpeg"), target_lang="fr")
    with pytest.raises(ApiError) as early:
        await collect(elevenlabs.dubbing.audio.get(job.dubbing_id, "fr"))
    assert (early.value.status_code, early.value.body["detail"]["status"]) == (425, "dubbing_not_ready")
    await run_to_end(elevenlabs, job.dubbing_id)
    with pytest.raises(ApiError) as wrong_language:
        await collect(elevenlabs.dubbing.audio.get(job.dubbing_id, "it"))
    assert (wrong_language.value.status_code, wrong_language.value.body["detail"]["param"]) == (404, "language_code")
    with pytest.raises(ApiError) as unknown:
        await elevenlabs.dubbing.get("nosuchdubbing")
    assert (unknown.value.status_code, unknown.value.body["detail"]["status"]) == (404, "dubbing_not_found")


@pytest.mark.parametrize(
    ("kwargs", "status", "where"),
    [
        ({"file": ("a.mp3", AUDIO, "audio/mpeg")}, 422, ["body", "target_lang"]),
        ({"file": ("a.mp3", AUDIO, "audio/mpeg"), "target_lang": "xx"}, 400, "target_lang"),
        ({"file": ("a.txt", b"plain text", "text/plain"), "target_lang": "es"}, 400, "file"),
        ({"target_lang": "es"}, 400, "file"),
        ({"source_url": "https://example.com/a.mp4", "target_lang": "es"}, 400, "source_url"),
        (
            {"file": ("a.mp3", AUDIO, "audio/mpeg"), "target_lang": "es", "num_speakers": 99},
            422,
            ["body", "num_speakers"],
        ),
        ({"file": ("a.mp3", AUDIO, "audio/mpeg"), "target_lang": "es", "mode": "manual"}, 400, "csv_file"),
        (
            {"file": ("a.mp3", AUDIO, "audio/mpeg"), "target_lang": "es", "start_time": 5, "end_time": 2},
            400,
            "end_time",
        ),
    ],
)
async def test_create_refuses_what_the_api_refuses(
    elevenlabs: AsyncElevenLabs, kwargs: dict[str, object], status: int, where: object
) -> None:
    with pytest.raises(ApiError) as refused:
        await elevenlabs.dubbing.create(**kwargs)  # type: ignore[arg-type]
    assert refused.value.status_code == status
    detail = refused.value.body["detail"]
    assert (detail[0]["loc"] if status == 422 else detail["param"]) == where


async def test_a_marked_job_fails_and_another_never_finishes(elevenlabs: AsyncElevenLabs) -> None:
    failing = await elevenlabs.dubbing.create(
        file=("a.mp3", AUDIO, "audio/mpeg"), target_lang="es", name=f"demo {FAIL_MARKER}"
    )
    assert await run_to_end(elevenlabs, failing.dubbing_id) == ["failed"]
    meta = await elevenlabs.dubbing.get(failing.dubbing_id)
    assert meta.error
    stuck = await elevenlabs.dubbing.create(
        file=("a.mp3", AUDIO, "audio/mpeg"), target_lang="es", name=f"demo {NEVER_FINISH_MARKER}"
    )
    assert set(await run_to_end(elevenlabs, stuck.dubbing_id, polls=6)) == {"dubbing"}


async def test_job_faults_ride_on_the_job(elevenlabs_sandbox: Sandbox, elevenlabs: AsyncElevenLabs) -> None:
    elevenlabs_sandbox.faults.push("elevenlabs", Fault("job_fails", {"at": 2, "code": "no_speech"}))
    job = await elevenlabs.dubbing.create(file=("a.mp3", AUDIO, "audio/mpeg"), target_lang="es")
    assert await run_to_end(elevenlabs, job.dubbing_id) == ["dubbing", "failed"]
    assert "no speech" in ((await elevenlabs.dubbing.get(job.dubbing_id)).error or "")
    elevenlabs_sandbox.faults.push("elevenlabs", Fault("slow_poll", {"polls": 4, "delay": 0}))
    slow = await elevenlabs.dubbing.create(file=("a.mp3", AUDIO, "audio/mpeg"), target_lang="es")
    assert await run_to_end(elevenlabs, slow.dubbing_id) == ["dubbing", "dubbing", "dubbing", "dubbed"]
    elevenlabs_sandbox.faults.push("elevenlabs", "job_never_finishes")
    stuck = await elevenlabs.dubbing.create(file=("a.mp3", AUDIO, "audio/mpeg"), target_lang="es")
    assert set(await run_to_end(elevenlabs, stuck.dubbing_id, polls=5)) == {"dubbing"}


async def test_a_job_is_polled_and_fetched_from_another_sandbox(tmp_path: Path) -> None:
    settings = SandboxSettings(state_dir=tmp_path, job_polls=2)
    async with httpx.AsyncClient() as http:
        async with Sandbox(vendors=("elevenlabs",), settings=settings) as one:
            client = AsyncElevenLabs(api_key="k", base_url=one.base_url("elevenlabs"), httpx_client=http)
            job = await client.dubbing.create(file=("clip.mp4", VIDEO, "video/mp4"), target_lang="ja")
            assert (await client.dubbing.get(job.dubbing_id)).status == "dubbing"
        async with Sandbox(vendors=("elevenlabs",), settings=settings) as two:  # e.g. `mediagen jobs resume`
            client = AsyncElevenLabs(api_key="k", base_url=two.base_url("elevenlabs"), httpx_client=http)
            assert (await client.dubbing.get(job.dubbing_id)).status == "dubbed"
            assert mp4_facts(await collect(client.dubbing.audio.get(job.dubbing_id, "ja")))[1:] == (320, 240)
            await client.dubbing.delete(job.dubbing_id)
        async with Sandbox(vendors=("elevenlabs",), settings=settings) as three:
            client = AsyncElevenLabs(api_key="k", base_url=three.base_url("elevenlabs"), httpx_client=http)
            with pytest.raises(ApiError):
                await client.dubbing.get(job.dubbing_id)


async def test_a_large_dubbed_video_streams_with_its_length(tmp_path: Path) -> None:
    settings = SandboxSettings(job_polls=1, video_min_bytes=8 * 1024 * 1024)
    async with Sandbox(vendors=("elevenlabs",), settings=settings) as sb, httpx.AsyncClient() as http:
        client = AsyncElevenLabs(api_key="k", base_url=sb.base_url("elevenlabs"), httpx_client=http)
        job = await client.dubbing.create(file=("clip.mp4", VIDEO, "video/mp4"), target_lang="es")
        await run_to_end(client, job.dubbing_id)
        async with client.dubbing.audio.with_raw_response.get(job.dubbing_id, "es") as response:
            length = int(response.headers["content-length"])
            received = 0
            async for chunk in response.data:
                received += len(chunk)
    assert length == received >= 8 * 1024 * 1024
