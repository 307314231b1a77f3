"""Reading Google requests and refusing bad ones in Google's error envelope."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from mediagen.sandbox import media
from mediagen.sandbox.vendor import ApiError

STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class GoogleApiError(ApiError):
    """An error answered in Google's shape: {"error": {"code", "message", "status", "details"}}."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        status: str | None = None,
        details: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code, message, code=status or STATUS.get(code, "UNKNOWN"), headers=headers)
        self.details = [dict(d) for d in details]


def invalid(message: str) -> GoogleApiError:
    return GoogleApiError(400, message)


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        raise invalid("Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload received. The request body must be a JSON object.")
    return body


def camel_keys(value: Any) -> Any:
    """Google's JSON parsing accepts field names in lowerCamelCase and in snake_case (proto3 JSON), and
    google-genai 3.6 does send some nested ones snake_cased (`inlineData: {"mime_type": ...}` in chat history)."""
    if isinstance(value, dict):
        return {re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), k): camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(item) for item in value]
    return value


def as_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(f"Invalid value at '{where}': expected an object")
    return value


def as_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise invalid(f"Invalid value at '{where}': expected a list")
    return value


def single_instance(body: Mapping[str, Any]) -> dict[str, Any]:
    instances = as_list(body.get("instances"), "instances")
    if len(instances) != 1:
        raise invalid(f"Exactly one instance is supported, got {len(instances)}")
    return as_object(instances[0], "instances[0]")


def decode(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise invalid("Inline data must be base64-encoded bytes")
    try:
        # proto3 JSON takes the standard and the URL-safe alphabet; pydantic (so google-genai) sends URL-safe.
        return base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise invalid("Invalid value: inline data is not valid base64") from None


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_image(data: bytes, where: str) -> bytes:
    try:
        media.open_image(data)
    except Exception:  # Pillow raises several types for undecodable bytes
        raise invalid(f"{where}: the image could not be decoded; send PNG, JPEG or WebP bytes") from None
    return data
