"""`mediagen mcp --sandbox` driven by a real MCP client over stdio: the tool lists, generates and fails in JSON."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import shutil
import sys
from pathlib import Path
from typing import Any

from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from mediagen.domain.sniff import sniff

MEDIAGEN = shutil.which("mediagen", path=str(Path(sys.executable).parent))


async def _session_calls(
    tmp_path: Path, calls: list[dict[str, Any]], tool: str = "generate_image"
) -> tuple[list[str], list[Any]]:
    assert MEDIAGEN is not None, "the mediagen console script is not installed in this environment"
    params = StdioServerParameters(
        command=MEDIAGEN,
        args=["mcp", "--sandbox"],
        env={"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path)},
        cwd=tmp_path,
    )
    async with stdio_client(params) as streams, ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        tools = await session.list_tools()
        results = [await session.call_tool(tool, arguments) for arguments in calls]
    return [tool.name for tool in tools.tools], results


def test_an_mcp_client_lists_the_tool_and_generates_a_file(tmp_path: Path) -> None:
    names, results = asyncio.run(
        _session_calls(
            tmp_path,
            [
                {"prompt": "a red fox in snow", "backend": "openai"},
                {"prompt": "  "},
            ],
        )
    )
    media = ["generate_image", "generate_video", "generate_audio", "transform_audio", "clone_voice", "generate_batch"]
    assert names == [*media, "list_backends", "job_status", "job_resume"]
    made, refused = results
    assert not made.is_error
    payload = made.structured_content
    assert payload["success"] is True and payload["backend"] == "openai"
    written = Path(payload["file_path"])
    # Not the client's cwd: the default output root under the user data dir.
    assert written.parent == tmp_path / "data" / "mediagen" / "mcp" and sniff(written.read_bytes()[:64]) == "image/png"
    assert not list(tmp_path.glob("*.png"))
    assert payload["continuation_id"].startswith("openai:")
    assert refused.is_error
    error = refused.structured_content
    assert (error["success"], error["error_code"], error["field"]) == (False, "invalid_request", "prompt")
    assert "empty" in error["error"]


def test_an_mcp_client_sending_null_or_mistyped_fields_gets_the_tools_error_json_naming_them(tmp_path: Path) -> None:
    _, results = asyncio.run(
        _session_calls(
            tmp_path,
            [
                {"media_type": None, "prompt": "a fox"},  # the image tool is its media type: no such argument
                {"prompt": 42},
                {"prompt": None},
            ],
        )
    )
    fields = [(r.is_error, r.structured_content and r.structured_content.get("field")) for r in results]
    assert fields == [(True, "media_type"), (True, "prompt"), (True, "prompt")], [r.content for r in results]
    assert all(r.structured_content["error_code"] == "invalid_request" for r in results)


def test_an_mcp_client_runs_a_batch_of_mixed_media_in_request_order(tmp_path: Path) -> None:
    requests = [
        {"media_type": "audio", "prompt": "hello there", "backend": "openai", "audio_format": "wav"},
        {"media_type": "image", "prompt": "a red fox in snow", "backend": "google"},
    ]
    _, (made, refused) = asyncio.run(
        _session_calls(
            tmp_path,
            [{"requests": requests, "max_concurrent": 2}, {"requests": [*requests, {"media_type": "video"}]}],
            tool="generate_batch",
        )
    )
    payload = made.structured_content
    assert not made.is_error and (payload["operation"], payload["total"], payload["succeeded"]) == ("batch", 2, 2)
    speech, picture = payload["results"]
    assert (speech["operation"], speech["mime_type"], picture["operation"]) == ("audio", "audio/wav", "image")
    assert all(Path(item["file_path"]).is_file() for item in payload["results"])
    error = refused.structured_content
    assert refused.is_error and error["field"] == "requests" and "entry 3: prompt" in error["error"]


async def _video_with_progress(tmp_path: Path) -> tuple[Any, list[str], bytes]:
    assert MEDIAGEN is not None
    params = StdioServerParameters(
        command=MEDIAGEN,
        args=["mcp", "--sandbox", "-o", str(tmp_path / "out")],
        env={
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "HOME": str(tmp_path),
            "MEDIAGEN_SANDBOX_OPTIONS__JOB_POLLS": "3",
        },
        cwd=tmp_path,
    )
    messages: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    async with stdio_client(params) as streams, ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        result = await session.call_tool(
            "generate_video", {"prompt": "waves", "backend": "openai"}, progress_callback=on_progress
        )
        (link,) = [block for block in result.content if block.type == "resource_link"]
        read = await session.read_resource(link.uri)
    return result, messages, base64.b64decode(read.contents[0].blob)


def test_over_stdio_a_video_reports_progress_and_its_resource_reads_back_the_same_bytes(tmp_path: Path) -> None:
    result, messages, data = asyncio.run(_video_with_progress(tmp_path))
    payload = result.structured_content
    assert not result.is_error and Path(payload["file_path"]).parent == tmp_path / "out"
    assert any("submitted" in m for m in messages) and any(m.endswith("%") for m in messages)
    assert hashlib.sha256(data).hexdigest() == payload["sha256"]
    assert payload["media_duration_seconds"] == 4.0
