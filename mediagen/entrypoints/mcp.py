"""`mediagen mcp`: the agent tools served over MCP, with the same JSON as `--json`.

The output root is chosen when the server starts (never the client's working directory); every path a call names
is confined to it and to the declared input roots. Long calls report progress; each result carries its file as a
resource link (readable with resources/read) and, below a size limit, as an embedded image or audio block.

Needs the `mcp` extra (`pip install 'mediagen[mcp]'`); the CLI says so when it is missing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import attrs

from mediagen.application.service import MediaService
from mediagen.domain.errors import ConfigurationError, InternalError, InvalidRequest, MediaGenError, PathNotAllowed
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.sniff import SNIFF_BYTES, sniff
from mediagen.entrypoints import listing
from mediagen.entrypoints.runtime import backends_for, warm_up_quietly
from mediagen.entrypoints.schema import BATCH_TOOL, Tool, tools
from mediagen.entrypoints.tool import (
    OUTPUT_SCHEMA,
    batch_to_json,
    error_to_json,
    request_for_tool,
    requests_for_batch,
    result_to_json,
    tool_schemas,
)
from mediagen.ports.progress import (
    Downloading,
    FellBack,
    Polling,
    ProgressEvent,
    Retried,
    Selected,
    Submitted,
    Throttled,
    Written,
)

if TYPE_CHECKING:
    import mcp_types as types
    from mcp.server.lowlevel import Server

#: The MCP server's name, as clients list it.
SERVER_NAME = "mediagen"
#: Files up to this size also come back embedded in the result (images and audio); larger ones only as a link.
DEFAULT_EMBED_LIMIT = 1_000_000
#: Request fields that name input files, confined to the output root and the input roots.
_PATH_FIELDS = ("input_images", "mask", "input_audio")

#: Send progress as (progress, total, message); MCP wants progress to grow with every notification.
Report = Callable[[float, "float | None", str], Awaitable[None]]


def default_output_root() -> Path:
    """Where the server writes when `-o` is not given: the user's data dir, never the client's cwd."""
    import platformdirs

    return platformdirs.user_data_path("mediagen") / "mcp"


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def _resolved_all(paths: Iterable[str | Path]) -> tuple[Path, ...]:
    return tuple(_resolved(p) for p in paths)


@attrs.frozen
class McpOptions:
    """What the host chose when it started the server."""

    output_root: Path = attrs.field(converter=_resolved)
    input_roots: tuple[Path, ...] = attrs.field(default=(), converter=_resolved_all)
    embed_limit: int = DEFAULT_EMBED_LIMIT

    @property
    def roots(self) -> tuple[Path, ...]:
        return (self.output_root, *self.input_roots)


#: The server's own tools besides the media tools and the batch tool.
_HOST_TOOLS: dict[str, dict[str, Any]] = {
    "list_backends": {
        "description": "The installed backends, whether each one's key is set, and for each media type which "
        "backend would be chosen and why each other is or is not usable.",
        "inputSchema": {"type": "object", "properties": {}, "additionalProperties": False},
    },
    "job_status": {
        "description": "What is recorded about a vendor job that was submitted and not collected (a video left "
        "running by a timeout or a cancelled call).",
        "inputSchema": {
            "type": "object",
            "properties": {"job_id": {"type": "string", "pattern": r"\S", "description": "The job_id to look up."}},
            "required": ["job_id"],
            "additionalProperties": False,
        },
    },
    "job_resume": {
        "description": "Wait for a recorded vendor job again and write its result, without paying for it twice.",
        "inputSchema": {
            "type": "object",
            "properties": {"job_id": {"type": "string", "pattern": r"\S", "description": "The job_id to collect."}},
            "required": ["job_id"],
            "additionalProperties": False,
        },
    },
}


class McpHost:
    """The tools' behaviour, apart from the protocol: one service, one output root."""

    def __init__(self, service: MediaService, options: McpOptions) -> None:
        self.service = service
        self.options = options

    def definitions(self) -> list[dict[str, Any]]:
        """Every tool as MCP lists it."""
        host = [{"name": name, **spec, "outputSchema": OUTPUT_SCHEMA} for name, spec in _HOST_TOOLS.items()]
        return [*tool_schemas("mcp"), *host]

    async def call(
        self, name: str, arguments: Mapping[str, Any] | None, report: Report | None = None
    ) -> dict[str, Any]:
        """Run one tool call; failures come back as the tool's error JSON (success=false), never as an exception."""
        request: MediaRequest | None = None
        arguments = {} if arguments is None else arguments
        progress = _Progress(report)
        try:
            offered = {tool.name: tool for tool in tools()}
            if name == BATCH_TOOL:
                # Confining paths and validating reads files: off the loop.
                requests, max_concurrent = await asyncio.to_thread(self._batch, arguments)
                async with progress:
                    batch = await self.service.generate_batch(
                        requests, max_concurrent=max_concurrent, progress=progress
                    )
                return batch_to_json(batch, requests)
            if name in _HOST_TOOLS:
                return await self._host_tool(name, arguments, progress)
            if name not in offered:
                names = ", ".join([*offered, BATCH_TOOL, *_HOST_TOOLS])
                raise InvalidRequest(f"unknown tool {name!r}; this server offers {names}", field="name")
            request = await asyncio.to_thread(self._request, offered[name], arguments)
            if request.n > 1:  # several images: each its own file and result, in the batch shape
                async with progress:
                    batch = await self.service.generate_batch([request], max_concurrent=request.n, progress=progress)
                return batch_to_json(batch, [request])
            async with progress:
                result = await self.service.generate(request, progress=progress)
        except MediaGenError as error:
            return error_to_json(error, request)
        except Exception as error:  # the MCP library would send the client its text, which may quote anything
            return error_to_json(InternalError.unexpected(error), request)
        return result_to_json(result, request)

    async def _host_tool(self, name: str, arguments: Any, progress: _Progress) -> dict[str, Any]:
        if not isinstance(arguments, Mapping) or set(arguments) - {"job_id"}:
            raise InvalidRequest(f"{name} takes only the arguments its schema lists", field="arguments")
        if name == "list_backends":
            if arguments:
                raise InvalidRequest("list_backends takes no arguments", field=next(iter(arguments)))
            from mediagen.entrypoints.runtime import explain_choice

            choice = {m.value: explain_choice(self.service, m) for m in MediaType}
            return {**listing.backends_json(self.service), "choice": choice}
        job_id = arguments.get("job_id")
        if not isinstance(job_id, str) or not job_id.strip():
            raise InvalidRequest("is required: the job_id a timeout or job_status gave", field="job_id")
        if name == "job_status":
            return listing.job_status_json(await self.service.job(job_id))
        async with progress:
            result = await self.service.resume(job_id, progress=progress, output_dir=self.options.output_root)
        return result_to_json(result, MediaRequest(media_type=result.media_type, prompt="-"))

    def _request(self, tool: Tool, arguments: Any) -> MediaRequest:
        """Blocking: the call's request, its paths confined, written under the output root."""
        request = request_for_tool(tool, self._confined(arguments))
        return attrs.evolve(request, output_dir=self.options.output_root)

    def _batch(self, arguments: Any) -> tuple[list[MediaRequest], int | None]:
        """Blocking: the batch call's requests, their paths confined, written under the output root."""
        entries = arguments.get("requests") if isinstance(arguments, Mapping) else None
        if isinstance(entries, list):
            arguments = {**arguments, "requests": [self._confined(entry) for entry in entries]}
        requests, max_concurrent = requests_for_batch(arguments)
        return [attrs.evolve(r, output_dir=self.options.output_root) for r in requests], max_concurrent

    def _confined(self, arguments: Any) -> Any:
        """The arguments with every input path made absolute (relative ones against the output root) and checked
        to lie under the output root or an input root."""
        if not isinstance(arguments, Mapping):
            return arguments
        confined = dict(arguments)
        for field in _PATH_FIELDS:
            value = confined.get(field)
            if isinstance(value, str):
                confined[field] = str(self.confine(value))
            elif isinstance(value, list):
                confined[field] = [str(self.confine(v)) if isinstance(v, str) else v for v in value]
        return confined

    def confine(self, path: str) -> Path:
        """`path` resolved (relative to the output root); PathNotAllowed outside the roots."""
        given = Path(path).expanduser()
        resolved = (given if given.is_absolute() else self.options.output_root / given).resolve()
        if not any(resolved.is_relative_to(root) for root in self.options.roots):
            roots = ", ".join(str(r) for r in self.options.roots)
            raise PathNotAllowed(
                f"{path!r} is outside the server's roots ({roots}); start `mediagen mcp` with --input-root to add one",
                path=path,
            )
        return resolved

    async def read(self, uri: str) -> tuple[bytes, str]:
        """A written file's bytes and type, for resources/read: only file URIs under the output root."""
        parsed = urlparse(uri)
        if parsed.scheme != "file":
            raise InvalidRequest(f"{uri!r} is not a file:// URI this server gave", field="uri")
        data = await asyncio.to_thread(_read_file, Path(unquote(parsed.path)), uri, self.options.output_root)
        return data, sniff(data[:SNIFF_BYTES]) or "application/octet-stream"

    async def content(self, payload: Mapping[str, Any]) -> list[types.ContentBlock]:
        """The result's content blocks: its JSON as text, then for each written file a resource link and, up to
        the embed limit, the image or audio itself."""
        import mcp_types as types

        blocks: list[types.ContentBlock] = [types.TextContent(type="text", text=json.dumps(payload, indent=2))]
        for item in payload.get("results", [payload]):
            if not item.get("success") or "file_path" not in item:
                continue
            path, mime = Path(item["file_path"]), item["mime_type"]
            blocks.append(
                types.ResourceLink(
                    type="resource_link",
                    uri=path.as_uri(),
                    name=item["filename"],
                    mime_type=mime,
                    size=item["file_size"],
                )
            )
            if item["file_size"] <= self.options.embed_limit and mime.startswith(("image/", "audio/")):
                data = base64.b64encode(await asyncio.to_thread(path.read_bytes)).decode()
                if mime.startswith("image/"):
                    blocks.append(types.ImageContent(type="image", data=data, mime_type=mime))
                else:
                    blocks.append(types.AudioContent(type="audio", data=data, mime_type=mime))
        return blocks


def _read_file(path: Path, uri: str, root: Path) -> bytes:
    """Blocking: the file's bytes, when it lies under `root` (links resolved)."""
    path = path.resolve()
    if not path.is_relative_to(root):
        raise PathNotAllowed(f"{uri!r} is outside the output root {root}", path=str(path))
    try:
        return path.read_bytes()
    except OSError:
        raise InvalidRequest(f"{uri!r} names no file this server wrote", field="uri") from None


class _Progress:
    """A progress listener sending each event as an MCP progress notification, in order, from one task."""

    def __init__(self, report: Report | None) -> None:
        self._report = report
        self._queue: asyncio.Queue[tuple[float, float | None, str] | None] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._step = 0.0

    async def __aenter__(self) -> _Progress:
        if self._report is not None:
            self._sender = asyncio.create_task(self._send())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._sender is None:
            return
        self._queue.put_nowait(None)
        if exc[0] is None:
            await self._sender  # every notification goes out before the result
        else:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender

    async def _send(self) -> None:
        assert self._report is not None
        while (update := await self._queue.get()) is not None:
            with contextlib.suppress(Exception):  # a client gone away must not fail the generation
                await self._report(*update)

    def __call__(self, event: ProgressEvent) -> None:
        if self._sender is None:
            return
        message = describe(event)
        if message is None:
            return
        percent = event.percent if isinstance(event, Polling) else None
        # Progress must grow with every notification: the vendor's percent when it gives one, else a step.
        self._step = max(self._step + 0.01, percent or 0.0)
        self._queue.put_nowait((self._step, 100.0 if percent is not None else None, message))


def describe(event: ProgressEvent) -> str | None:
    """One line saying what happened, in the words the CLI's progress display uses."""
    who = f"[{event.item + 1}] " if event.item is not None else ""
    who += event.backend
    if isinstance(event, Selected):
        return f"{who}: using {event.model}"
    if isinstance(event, Submitted):
        return f"{who}: job {event.job_id} submitted"
    if isinstance(event, Polling):
        percent = f" {event.percent:.0f}%" if event.percent is not None else ""
        return f"{who}: {event.status}{percent}"
    if isinstance(event, Downloading):
        total = f" of {event.total}" if event.total else ""
        return f"{who}: downloading {event.received}{total} bytes"
    if isinstance(event, Written):
        return f"{who}: wrote {event.path.name}"
    if isinstance(event, Retried):
        return f"{who}: {event.error_code}, retry {event.attempt} in {event.wait_seconds:.1f} s"
    if isinstance(event, Throttled):
        return f"{who}: waiting {event.wait_seconds:.1f} s for the rate limit"
    if isinstance(event, FellBack):
        return f"{who}: {event.error_code}, falling back to {event.to_backend}"
    return None


def build_server(service: MediaService, options: McpOptions) -> Server[Any]:
    """The MCP server over `service`: tools, progress, resources/read of the files it wrote."""
    import mcp_types as types
    from mcp.server.lowlevel import Server

    from mediagen import __version__

    host = McpHost(service, options)
    listed = [
        types.Tool(
            name=d["name"], description=d["description"], input_schema=d["inputSchema"], output_schema=d["outputSchema"]
        )
        for d in host.definitions()
    ]

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        payload = await host.call(params.name, params.arguments, ctx.session.report_progress)
        return types.CallToolResult(
            content=await host.content(payload),
            structured_content=payload,
            is_error=not payload.get("success", False),
        )

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[])  # every result links its own file

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        from mcp.shared.exceptions import MCPError

        try:
            data, mime = await host.read(str(params.uri))
        except MediaGenError as error:  # a JSON-RPC error the client sees, with the same words as a tool error
            raise MCPError(types.INVALID_PARAMS, error.message, {"error_code": error.code}) from None
        blob = types.BlobResourceContents(uri=params.uri, mime_type=mime, blob=base64.b64encode(data).decode())
        return types.ReadResourceResult(contents=[blob])

    return Server(
        SERVER_NAME,
        version=__version__,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )


#: Hosts that only this machine reaches; binding anything else needs a bearer token.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: The env var holding the bearer token streamable HTTP requires (always off loopback, on loopback when set).
TOKEN_ENV = "MCP_BEARER_TOKEN"


def check_bind(host: str, token: str | None) -> None:
    """ConfigurationError when `host` is reachable from other machines and no token guards it."""
    if host not in LOOPBACK_HOSTS and not token:
        raise ConfigurationError(
            f"binding {host} lets other machines call the tools: set {TOKEN_ENV} to a long random token "
            "(clients send it as 'Authorization: Bearer <token>'), or bind 127.0.0.1",
            key=TOKEN_ENV,
        )


def http_app(server: Server[Any], host: str, token: str | None) -> Any:
    """The streamable HTTP ASGI app at /mcp; with a token, every HTTP request must carry it as a bearer token."""
    app = server.streamable_http_app(host=host)
    if not token:
        return app
    expected = f"Bearer {token}".encode()

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, expected):
                body = json.dumps({"error": "a valid 'Authorization: Bearer <token>' header is required"}).encode()
                headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
                await send({"type": "http.response.start", "status": 401, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded


async def serve_mcp_http(
    service: MediaService, options: McpOptions, *, host: str, port: int, token: str | None
) -> None:
    """Serve the tools over streamable HTTP at http://HOST:PORT/mcp until interrupted."""
    import uvicorn

    check_bind(host, token)
    options.output_root.mkdir(parents=True, exist_ok=True)
    app = http_app(build_server(service, options), host, token)
    warming = warm_up_defaults(service)
    try:
        await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info")).serve()
    finally:
        warming.cancel()
        await asyncio.gather(warming, return_exceptions=True)


async def serve_mcp(service: MediaService, options: McpOptions | None = None) -> None:
    """Serve the tools over stdin/stdout until the client disconnects."""
    from mcp.server.stdio import stdio_server

    options = options or McpOptions(default_output_root())
    options.output_root.mkdir(parents=True, exist_ok=True)
    server = build_server(service, options)
    # The backend each media type goes to by default loads (SDK and client) while the client connects, so the
    # first tool call only generates (a call that comes sooner waits for the same build; others load on first use).
    warming = warm_up_defaults(service)
    try:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    finally:
        warming.cancel()
        await asyncio.gather(warming, return_exceptions=True)


def warm_up_defaults(service: MediaService) -> asyncio.Future[None]:
    """Start loading each media type's default backend in the background; the caller cancels it when done."""
    defaults = backends_for(service, [MediaRequest(media_type=media_type, prompt="-") for media_type in MediaType])
    return asyncio.ensure_future(warm_up_quietly(service, defaults))
