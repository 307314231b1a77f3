"""Shared fixtures for the sandbox tests: OpenAI and ElevenLabs sandboxes with real SDK clients on them, ffprobe."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import xai_sdk
from elevenlabs import AsyncElevenLabs
from openai import AsyncOpenAI

from mediagen.sandbox import Sandbox, SandboxSettings

FFPROBE = shutil.which("ffprobe")
FFMPEG = shutil.which("ffmpeg")
needs_ffprobe = pytest.mark.skipif(FFPROBE is None or FFMPEG is None, reason="ffmpeg/ffprobe not installed")


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("openai",), settings=SandboxSettings(poll_after_ms=1, hang_seconds=5)) as sb:
        yield sb


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=sandbox.base_url("openai"), api_key="k", max_retries=0) as c:
        yield c


def probe(data: bytes, *input_args: str) -> dict[str, Any]:
    """ffprobe's streams and format for `data` (written to a temp file)."""
    assert FFPROBE is not None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "media"
        path.write_bytes(data)
        out = subprocess.run(
            [FFPROBE, "-v", "error", *input_args, "-show_streams", "-show_format", "-of", "json", str(path)],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def decode_errors(data: bytes, *input_args: str) -> str:
    """What ffmpeg complains about while decoding every frame/sample of `data` ('' when clean)."""
    assert FFMPEG is not None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "media"
        path.write_bytes(data)
        out = subprocess.run(
            [FFMPEG, "-v", "error", *input_args, "-i", str(path), "-f", "null", "-"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    return out.stderr.strip() + ("" if out.returncode == 0 else f" (exit {out.returncode})")


@pytest.fixture
async def xai_sandbox() -> AsyncIterator[Sandbox]:
    """The xAI fake alone, with quick jobs."""
    async with Sandbox(vendors=("xai",), settings=SandboxSettings(job_polls=2, hang_seconds=5)) as sb:
        yield sb


@pytest.fixture
async def elevenlabs_sandbox() -> AsyncIterator[Sandbox]:
    settings = SandboxSettings(poll_after_ms=1, hang_seconds=5, job_polls=2)
    async with Sandbox(vendors=("elevenlabs",), settings=settings) as sb:
        yield sb


@pytest.fixture
async def xai_client(xai_sandbox: Sandbox) -> AsyncIterator[xai_sdk.AsyncClient]:
    """The real xai_sdk.AsyncClient on the xAI fake (insecure channel: it is loopback)."""
    client = xai_sdk.AsyncClient(api_key="k", api_host=xai_sandbox.base_url("xai"), use_insecure_channel=True)
    yield client
    await client.close()


@pytest.fixture
async def elevenlabs(elevenlabs_sandbox: Sandbox) -> AsyncIterator[AsyncElevenLabs]:
    """A real AsyncElevenLabs client on the ElevenLabs fake (its own httpx client, closed after the test)."""
    async with httpx.AsyncClient(timeout=30) as http:
        yield AsyncElevenLabs(api_key="k", base_url=elevenlabs_sandbox.base_url("elevenlabs"), httpx_client=http)


#: Per-call options that turn off the SDK's own retries (it retries 429 and 5xx twice by default).
NO_RETRIES: Any = {"max_retries": 0}
