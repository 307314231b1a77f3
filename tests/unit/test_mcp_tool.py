"""The MCP tool call: every failure comes back as the tool's error JSON, and never with an exception's own text."""

from __future__ import annotations

from typing import Any

from mediagen.domain.errors import RateLimited
from mediagen.domain.request import MediaRequest
from mediagen.entrypoints.mcp import McpHost, McpOptions

KEY = "sk-proj-MEDIAGENrecognisable0123456789abcdefSECRET"


class Exploding:
    """A service whose generate fails the way it is told."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def generate(self, request: MediaRequest, *, progress: Any = None) -> Any:
        raise self.error


async def call(error: Exception, name: str = "generate_image") -> dict[str, Any]:
    arguments = {"prompt": "a fox"}
    host = McpHost(Exploding(error), McpOptions("."))  # type: ignore[arg-type]
    return await host.call(name, arguments)


async def test_an_unexpected_exception_is_an_internal_error_naming_only_its_type() -> None:
    payload = await call(RuntimeError(f"connection reset while sending Authorization: Bearer {KEY}"))
    assert payload["success"] is False and payload["error_code"] == "internal_error"
    assert "RuntimeError" in payload["error"] and KEY not in repr(payload)


async def test_a_mediagen_error_keeps_its_code_and_message() -> None:
    payload = await call(RateLimited("slow down", backend="openai", retry_after=3.0))
    assert payload["success"] is False and payload["error_code"] == "rate_limited"
    assert "slow down" in payload["error"]


async def test_an_unknown_tool_is_an_invalid_request_naming_the_one_offered() -> None:
    payload = await call(RuntimeError("never reached"), name="make_media")
    assert payload["error_code"] == "invalid_request" and "generate_image" in payload["error"]
