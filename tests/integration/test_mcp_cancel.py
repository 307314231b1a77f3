"""Cancellation through the official `mcp` client against `mediagen mcp --sandbox` in a subprocess, over stdio and
over streamable HTTP: a video call cancelled mid-way leaves no file in the output root, and its vendor job stays
recorded, so job_status finds it and job_resume collects it without submitting it again."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

MEDIAGEN = shutil.which("mediagen", path=str(Path(sys.executable).parent))
#: Enough status polls (20 ms apart in the sandbox) that the job is still running when the cancel arrives.
_POLLS = "40"
_SUBMITTED = re.compile(r"job (\S+) submitted")


def _environment(tmp_path: Path) -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAGEN_") and not k.endswith("_API_KEY")}
    return {
        **kept,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "HOME": str(tmp_path),
        "MEDIAGEN_SANDBOX_OPTIONS__JOB_POLLS": _POLLS,
    }


async def _cancel_then_resume(session: ClientSession, out: Path) -> tuple[Any, Any, list[str]]:
    """Start a video, cancel the call once its job is submitted, then ask job_status and job_resume for it."""
    job: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")
        found = _SUBMITTED.search(message or "")
        if found and not job.done():
            job.set_result(found[1])

    call = asyncio.create_task(
        session.call_tool("generate_video", {"prompt": "waves", "backend": "openai"}, progress_callback=on_progress)
    )
    job_id = await asyncio.wait_for(job, 60)
    call.cancel()
    cancelled = await asyncio.gather(call, return_exceptions=True)
    assert isinstance(cancelled[0], asyncio.CancelledError), cancelled
    # The server learns of the cancel from the protocol; job_status goes through the same session after it.
    status = await session.call_tool("job_status", {"job_id": job_id})
    left = await asyncio.to_thread(lambda: sorted(p.name for p in out.iterdir()) if out.exists() else [])
    assert left == [], left
    resumed = await session.call_tool("job_resume", {"job_id": job_id})
    gone = await session.call_tool("job_status", {"job_id": job_id})
    return status, (resumed, gone), messages


def _check(status: Any, collected: tuple[Any, Any], out: Path) -> None:
    resumed, gone = collected
    assert not status.is_error, status.structured_content
    job = status.structured_content["job"]
    assert job["backend"] == "openai" and job["vendor_job_id"].startswith("video_")
    payload = resumed.structured_content
    assert not resumed.is_error, payload
    assert payload["mime_type"] == "video/mp4" and Path(payload["file_path"]).parent == out
    assert [p.name for p in out.iterdir()] == [Path(payload["file_path"]).name]
    # Collected: the record is gone, so a second resume cannot pay for it again.
    assert gone.is_error and gone.structured_content["error_code"] == "job_not_found"


async def _over_stdio(tmp_path: Path, out: Path) -> tuple[Any, Any, list[str]]:
    assert MEDIAGEN is not None, "the mediagen console script is not installed in this environment"
    params = StdioServerParameters(
        command=MEDIAGEN, args=["mcp", "--sandbox", "-o", str(out)], env=_environment(tmp_path), cwd=tmp_path
    )
    log = tmp_path / "server.log"
    with log.open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as streams, ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            found = await _cancel_then_resume(session, out)
    said = await asyncio.to_thread(log.read_text)
    assert "Traceback" not in said and "ERROR" not in said, said
    return found


def test_over_stdio_a_cancelled_video_leaves_no_file_and_its_job_resumable(tmp_path: Path) -> None:
    out = tmp_path / "out"
    status, collected, _ = asyncio.run(_over_stdio(tmp_path, out))
    _check(status, collected, out)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def _http_server(tmp_path: Path, out: Path) -> AsyncIterator[str]:
    """`mediagen mcp --transport http` in a subprocess; yields its URL once uvicorn says it serves, stops it after."""
    assert MEDIAGEN is not None
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        MEDIAGEN,
        *("mcp", "--sandbox", "--transport", "http", "--port", str(port), "-o", str(out)),
        env=_environment(tmp_path),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    said: list[str] = []
    try:
        while True:
            line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
            said.append(line)
            assert line, f"the server stopped before serving: {''.join(said)}"
            if "Uvicorn running on" in line:
                break
        stderr = process.stderr

        async def drain() -> None:  # the server's log, read as it comes so its pipe never fills
            while line := await stderr.readline():
                said.append(line.decode())

        draining = asyncio.ensure_future(drain())
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()
    await draining
    assert not [line for line in said if "Traceback" in line or "ERROR" in line], "".join(said)


async def _over_http(tmp_path: Path, out: Path) -> tuple[Any, Any, list[str]]:
    from mcp.client.streamable_http import streamable_http_client

    async with (
        _http_server(tmp_path, out) as url,
        streamable_http_client(url) as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        return await _cancel_then_resume(session, out)


def test_over_streamable_http_a_cancelled_video_leaves_no_file_and_its_job_resumable(tmp_path: Path) -> None:
    out = tmp_path / "out"
    status, collected, _ = asyncio.run(_over_http(tmp_path, out))
    _check(status, collected, out)
