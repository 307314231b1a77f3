"""The MCP server in process, driven by the official `mcp` Client against the sandbox: files under the output
root, paths confined, results as resource links and embedded blocks, progress during a video, cancellation that
leaves the vendor job resumable and no file."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from mediagen.application.service import MediaService
from mediagen.domain.errors import ConfigurationError
from mediagen.entrypoints.mcp import McpOptions, build_server, check_bind, http_app
from mediagen.entrypoints.runtime import open_service
from mediagen.testing.media import png


@pytest.fixture
def roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    for name in list(os.environ):
        if name.startswith("MEDIAGEN_") or name.endswith(("_API_KEY", "_BASE_URL")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    out, inputs = tmp_path / "out", tmp_path / "inputs"
    out.mkdir()
    inputs.mkdir()
    return out, inputs


async def _service(polls: int) -> AsyncIterator[MediaService]:
    overrides = {"sandbox": True, "sandbox_options": {"job_polls": str(polls)}, "retry": {"wait_initial": 0}}
    async with open_service(overrides) as service:
        yield service


def client(service: MediaService, out: Path, inputs: Path, embed_limit: int = 1_000_000) -> Client:
    return Client(build_server(service, McpOptions(out, (inputs,), embed_limit)))


def blocks(result: Any, kind: str) -> list[Any]:
    return [block for block in result.content if block.type == kind]


async def test_an_image_comes_back_as_json_a_resource_link_and_the_image_itself(roots: tuple[Path, Path]) -> None:
    out, inputs = roots
    async for service in _service(polls=1):
        async with client(service, out, inputs) as mcp:
            result = await mcp.call_tool("generate_image", {"prompt": "a red fox", "backend": "openai"})
            payload = result.structured_content
            assert not result.is_error and Path(payload["file_path"]).parent == out
            (link,) = blocks(result, "resource_link")
            (image,) = blocks(result, "image")
            assert image.mime_type == payload["mime_type"] == "image/png"
            assert hashlib.sha256(base64.b64decode(image.data)).hexdigest() == payload["sha256"]
            read = await mcp.read_resource(link.uri)
            (contents,) = read.contents
            assert hashlib.sha256(base64.b64decode(contents.blob)).hexdigest() == payload["sha256"]


async def test_n_images_from_one_vendor_call_come_back_in_the_batch_shape_each_with_its_link(
    roots: tuple[Path, Path],
) -> None:
    out, inputs = roots
    async for service in _service(polls=1):
        async with client(service, out, inputs) as mcp:
            arguments = {"prompt": "a red fox", "backend": "openai", "model": "gpt-image-1.5", "n": 3}
            result = await mcp.call_tool("generate_image", arguments)
    payload = result.structured_content
    assert not result.is_error and (payload["operation"], payload["total"], payload["succeeded"]) == ("batch", 3, 3)
    items = payload["results"]
    assert [item["metadata"]["call"] for item in items] == [{"images": 3, "index": i} for i in range(3)]
    assert all(item["applied"]["n"] == 3 and Path(item["file_path"]).parent == out for item in items)
    assert len({item["sha256"] for item in items}) == 3 and len(blocks(result, "resource_link")) == 3


async def test_above_the_embed_limit_only_the_link_comes_back(roots: tuple[Path, Path]) -> None:
    out, inputs = roots
    async for service in _service(polls=1):
        async with client(service, out, inputs, embed_limit=10) as mcp:
            result = await mcp.call_tool("generate_audio", {"prompt": "hello there", "backend": "openai"})
            assert len(blocks(result, "resource_link")) == 1 and not blocks(result, "audio")


async def test_input_paths_are_confined_to_the_output_root_and_the_input_roots(roots: tuple[Path, Path]) -> None:
    out, inputs = roots
    (out / "in-out.png").write_bytes(png(64, 64))
    (inputs / "in-inputs.png").write_bytes(png(64, 64, seed=1))
    outside = out.parent / "elsewhere.png"
    outside.write_bytes(png(64, 64, seed=2))
    async for service in _service(polls=1):
        async with client(service, out, inputs) as mcp:
            relative = await mcp.call_tool("generate_image", {"prompt": "make it blue", "input_images": ["in-out.png"]})
            assert not relative.is_error, relative.structured_content  # relative paths start at the output root
            declared = await mcp.call_tool(
                "generate_image", {"prompt": "make it blue", "input_images": [str(inputs / "in-inputs.png")]}
            )
            assert not declared.is_error, declared.structured_content
            for path in (str(outside), "../elsewhere.png"):
                refused = await mcp.call_tool("generate_image", {"prompt": "make it blue", "input_images": [path]})
                error = refused.structured_content
                assert refused.is_error and error["error_code"] == "path_not_allowed"
                assert "--input-root" in error["error"]
            with pytest.raises(Exception, match="outside the output root"):
                await mcp.read_resource(outside.as_uri())


async def test_progress_arrives_during_a_video_and_grows(roots: tuple[Path, Path]) -> None:
    out, inputs = roots
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    async for service in _service(polls=3):
        async with client(service, out, inputs) as mcp:
            result = await mcp.call_tool(
                "generate_video", {"prompt": "waves", "backend": "openai"}, progress_callback=on_progress
            )
    assert not result.is_error, result.structured_content
    messages = [message or "" for _, _, message in updates]
    assert any("submitted" in m for m in messages) and any(m.endswith("%") for m in messages)
    progress = [p for p, _, _ in updates]
    assert progress == sorted(progress) and len(set(progress)) == len(progress)


async def test_a_cancelled_video_leaves_its_job_resumable_and_no_file(roots: tuple[Path, Path]) -> None:
    out, inputs = roots
    submitted = asyncio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if message and "submitted" in message:
            submitted.set()

    async for service in _service(polls=4):
        async with client(service, out, inputs) as mcp:
            call = asyncio.create_task(
                mcp.call_tool("generate_video", {"prompt": "waves", "backend": "openai"}, progress_callback=on_progress)
            )
            await submitted.wait()
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            (job,) = await service.jobs()
            assert not [p for p in out.iterdir() if p.suffix == ".mp4"]
            status = await mcp.call_tool("job_status", {"job_id": job.id})
            assert status.structured_content["job"]["job_id"] == job.id
            resumed = await mcp.call_tool("job_resume", {"job_id": job.id})
            payload = resumed.structured_content
            assert not resumed.is_error and payload["mime_type"] == "video/mp4"
            assert Path(payload["file_path"]).parent == out and await service.jobs() == []


async def test_list_backends_says_which_backend_each_media_type_would_use_and_why(roots: tuple[Path, Path]) -> None:
    out, inputs = roots
    async for service in _service(polls=1):
        async with client(service, out, inputs) as mcp:
            result = await mcp.call_tool("list_backends", {})
    payload = result.structured_content
    assert payload["operation"] == "backends" and {b["backend"] for b in payload["backends"]} >= {"openai", "google"}
    for rows in payload["choice"].values():
        assert sum(row["chosen"] for row in rows) == 1 and all(row["reason"] for row in rows)


@contextlib.asynccontextmanager
async def http_server(service: MediaService, out: Path, token: str | None) -> AsyncIterator[str]:
    """The server's streamable HTTP app on an ephemeral loopback port; yields its URL and stops it after."""
    import uvicorn

    app = http_app(build_server(service, McpOptions(out)), "127.0.0.1", token)
    listening = socket.create_server(("127.0.0.1", 0))  # bound and listening: clients queue until it serves
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.should_exit = True
        await serving
        listening.close()


async def test_streamable_http_on_loopback_serves_the_tools_and_a_token_guards_it(roots: tuple[Path, Path]) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    out, _ = roots
    token = "t0ken-" + "x" * 32
    async for service in _service(polls=1):
        async with http_server(service, out, token) as url:
            authorized = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
            async with authorized as http, Client(streamable_http_client(url, http_client=http)) as mcp:
                result = await mcp.call_tool("generate_image", {"prompt": "a red fox", "backend": "openai"})
                assert not result.is_error and Path(result.structured_content["file_path"]).parent == out
            async with httpx2.AsyncClient() as http:
                refused = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
                assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
            async with httpx2.AsyncClient(headers={"Authorization": "Bearer wrong"}) as http:
                assert (
                    await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
                ).status_code == 401


def test_binding_beyond_loopback_needs_a_token() -> None:
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", "a-token")
    with pytest.raises(ConfigurationError, match="MCP_BEARER_TOKEN"):
        check_bind("0.0.0.0", None)


async def test_n_images_come_back_in_the_batch_shape_each_its_own_file_and_link(roots: tuple[Path, Path]) -> None:
    out, inputs = roots
    async for service in _service(polls=1):
        async with client(service, out, inputs) as mcp:
            result = await mcp.call_tool("generate_image", {"prompt": "a red fox", "backend": "openai", "n": 3})
    payload = result.structured_content
    assert not result.is_error and (payload["operation"], payload["total"], payload["succeeded"]) == ("batch", 3, 3)
    paths = {item["file_path"] for item in payload["results"]}
    assert len(paths) == 3 and all(Path(p).parent == out for p in paths)
    assert len(blocks(result, "resource_link")) == 3 and len(blocks(result, "image")) == 3
