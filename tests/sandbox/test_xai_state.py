"""The xAI fake's state_dir: video jobs and images handed out by URL outlive the sandbox (and the process) that made
them, so another sandbox sharing the directory polls, serves and edits them."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import grpc
import pytest
import xai_sdk
from xai_sdk.proto import deferred_pb2

from mediagen.domain.sniff import sniff
from mediagen.sandbox import Sandbox, SandboxSettings, SandboxThread

QUICK = datetime.timedelta(seconds=0.01)
VIDEO, IMAGE = "grok-imagine-video", "grok-imagine-image"


def settings(state_dir: Path) -> SandboxSettings:
    return SandboxSettings(state_dir=state_dir, job_polls=2)


def client_of(sandbox: Sandbox | SandboxThread) -> xai_sdk.AsyncClient:
    return xai_sdk.AsyncClient(api_key="k", api_host=sandbox.base_url("xai"), use_insecure_channel=True)


async def download(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        response.raise_for_status()
        return await response.read()


async def test_a_job_started_on_one_sandbox_is_polled_to_its_video_on_the_next(tmp_path: Path) -> None:
    async with Sandbox(vendors=("xai",), settings=settings(tmp_path)) as first:
        client = client_of(first)
        request_id = (await client.video.start("a fox", VIDEO, duration=1)).request_id
        assert (await client.video.get(request_id)).status == deferred_pb2.PENDING
        await client.close()
    assert (tmp_path / "xai" / "videos" / f"{request_id}.json").is_file()
    async with Sandbox(vendors=("xai",), settings=settings(tmp_path)) as second:
        client = client_of(second)
        done = await client.video.get(request_id)
        assert done.status == deferred_pb2.DONE
        assert done.response.video.url.startswith(second.origin("xai"))
        assert sniff((await download(done.response.video.url))[:32]) == "video/mp4"
        extended = await client.video.extend("it jumps", VIDEO, done.response.video.url, duration=1, interval=QUICK)
        assert extended.duration == 1
        await client.close()


async def test_two_running_sandboxes_see_each_others_polls(tmp_path: Path) -> None:
    async with (
        Sandbox(vendors=("xai",), settings=settings(tmp_path)) as one,
        Sandbox(vendors=("xai",), settings=settings(tmp_path)) as two,
    ):
        a, b = client_of(one), client_of(two)
        request_id = (await a.video.start("shared", VIDEO, duration=1)).request_id
        assert (await b.video.get(request_id)).status == deferred_pb2.PENDING
        assert (await a.video.get(request_id)).status == deferred_pb2.DONE
        assert (await b.video.get(request_id)).status == deferred_pb2.DONE
        await a.close()
        await b.close()


async def test_an_image_url_from_a_stopped_sandbox_is_edited_on_the_next(tmp_path: Path) -> None:
    async with Sandbox(vendors=("xai",), settings=settings(tmp_path)) as first:
        client = client_of(first)
        url = (await client.image.sample("a lake", IMAGE, aspect_ratio="2:1")).url
        await client.close()
    assert len(list((tmp_path / "xai" / "images").glob("*.bin"))) == 1
    async with Sandbox(vendors=("xai",), settings=settings(tmp_path)) as second:
        client = client_of(second)
        edited = await client.image.sample("at night", IMAGE, image_url=url, image_format="base64")
        assert len(await edited.image) > 0
        await client.close()


async def test_without_a_state_dir_nothing_outlives_the_sandbox() -> None:
    async with Sandbox(vendors=("xai",)) as first:
        client = client_of(first)
        request_id = (await client.video.start("gone", VIDEO, duration=1)).request_id
        await client.close()
    async with Sandbox(vendors=("xai",)) as second:
        client = client_of(second)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await client.video.get(request_id)
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND
        await client.close()


async def test_an_unsafe_request_id_is_not_found_and_reads_no_file(tmp_path: Path) -> None:
    outside = tmp_path / "secret.json"
    outside.write_text("{}")
    async with Sandbox(vendors=("xai",), settings=settings(tmp_path / "state")) as sb:
        client = client_of(sb)
        for request_id in ("../../secret", "a/b", "x" * 300):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await client.video.get(request_id)
            assert caught.value.code() is grpc.StatusCode.NOT_FOUND
        await client.close()


def test_a_job_made_in_another_process_with_the_sync_client_finishes_here(tmp_path: Path) -> None:
    script = """
import sys
import xai_sdk
from mediagen.sandbox import SandboxSettings, SandboxThread
with SandboxThread(("xai",), settings=SandboxSettings(state_dir=sys.argv[1], job_polls=2)) as sandbox:
    client = xai_sdk.Client(api_key="k", api_host=sandbox.base_url("xai"), use_insecure_channel=True)
    start = client.video.start("made elsewhere", "grok-imagine-video", duration=1)
    client.video.get(start.request_id)
    client.close()
    print(start.request_id)
"""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("XAI_", "MEDIAGEN_"))}
    made = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60, env=env, check=True
    )
    request_id = made.stdout.strip()
    with SandboxThread(("xai",), settings=settings(tmp_path)) as here:
        client = xai_sdk.Client(api_key="k", api_host=here.base_url("xai"), use_insecure_channel=True)
        done = client.video.get(request_id)
        assert done.status == deferred_pb2.DONE
        assert done.response.video.url.startswith(here.origin("xai"))
        image = client.image.sample("a sync image", IMAGE, image_format="base64")
        assert image.image[:3] == b"\xff\xd8\xff"
        client.close()


async def test_records_older_than_state_ttl_are_pruned_when_a_sandbox_starts(tmp_path: Path) -> None:
    async with Sandbox(vendors=("xai",), settings=settings(tmp_path)) as first:
        client = client_of(first)
        request_id = (await client.video.start("old", VIDEO, duration=1)).request_id
        await client.close()
    record = tmp_path / "xai" / "videos" / f"{request_id}.json"
    os.utime(record, (1_000_000, 1_000_000))
    ttl = SandboxSettings(state_dir=tmp_path, state_ttl_seconds=3600)
    async with Sandbox(vendors=("xai",), settings=ttl) as second:
        assert not record.exists()
        client = client_of(second)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await client.video.get(request_id)
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND
        await client.close()
