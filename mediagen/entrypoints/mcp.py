"""`mediagen mcp`: the agent tools (generate_image, generate_video, generate_audio, ...) served over MCP (stdio),
with the same JSON as `--json`.

Needs the `mcp` extra (`pip install 'mediagen[mcp]'`); the CLI says so when it is missing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mediagen.application.service import MediaService
from mediagen.domain.errors import InternalError, InvalidRequest, MediaGenError
from mediagen.domain.request import MediaRequest
from mediagen.entrypoints.schema import BATCH_TOOL, tools
from mediagen.entrypoints.tool import (
    batch_to_json,
    error_to_json,
    request_for_tool,
    requests_for_batch,
    result_to_json,
    tool_schemas,
)

#: The MCP server's name, as clients list it.
SERVER_NAME = "mediagen"


async def call_generate_media(service: MediaService, name: str, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
    """Run one tool call; failures come back as the tool's error JSON (success=false), never as an exception."""
    request: MediaRequest | None = None
    try:
        offered = {tool.name: tool for tool in tools()}
        if name == BATCH_TOOL:
            requests, max_concurrent = requests_for_batch({} if arguments is None else arguments)
            batch = await service.generate_batch(requests, max_concurrent=max_concurrent)
            return batch_to_json(batch, requests)
        if name not in offered:
            names = ", ".join([*offered, BATCH_TOOL])
            raise InvalidRequest(f"unknown tool {name!r}; this server offers {names}", field="name")
        request = request_for_tool(offered[name], {} if arguments is None else arguments)
        result = await service.generate(request)
    except MediaGenError as error:
        return error_to_json(error, request)
    except Exception as error:  # the MCP library would send the client its text, which may quote anything
        return error_to_json(InternalError.unexpected(error), request)
    return result_to_json(result, request)


async def serve_mcp(service: MediaService) -> None:
    """Serve the tool over stdin/stdout until the client disconnects."""
    import mcp_types as types
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

    from mediagen import __version__

    listed = [
        types.Tool(
            name=d["name"], description=d["description"], input_schema=d["inputSchema"], output_schema=d["outputSchema"]
        )
        for d in tool_schemas("mcp")
    ]

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        payload = await call_generate_media(service, params.name, params.arguments)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(payload, indent=2))],
            structured_content=payload,
            is_error=not payload.get("success", False),
        )

    server: Server[Any] = Server(SERVER_NAME, version=__version__, on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
