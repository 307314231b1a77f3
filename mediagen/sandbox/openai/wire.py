"""Reading OpenAI requests (JSON or multipart) and rejecting bad ones with the API's own error wording."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
from aiohttp import BodyPartReader, web

from mediagen.sandbox.vendor import ApiError, Upload


def missing(name: str) -> ApiError:
    return ApiError(400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")


def invalid_value(name: str, value: object, supported: Sequence[str]) -> ApiError:
    quoted = [f"'{s}'" for s in supported]
    listed = ", ".join(quoted[:-1]) + f", and {quoted[-1]}" if len(quoted) > 2 else " and ".join(quoted)
    return ApiError(400, f"Invalid value: '{value}'. Supported values are: {listed}.", param=name, code="invalid_value")


def bad_value(name: str, message: str, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, param=name, code=code)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or the API's 400 for a body that is not one."""
    try:
        data = json.loads(await request.read())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
            "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
        ) from None
    if not isinstance(data, dict):
        raise ApiError(400, "Invalid type for request body: expected an object.", code="invalid_type")
    return data


@attrs.frozen
class Form:
    """A multipart body: text fields (repeated names keep every value) and files by field name."""

    fields: Mapping[str, list[str]]
    files: Mapping[str, list[Upload]]

    def scalars(self) -> dict[str, str]:
        return {name: values[-1] for name, values in self.fields.items()}


async def form_body(request: web.Request) -> Form:
    """The request's multipart form, or the API's 400 when it is not multipart."""
    if not request.content_type.startswith("multipart/"):
        raise ApiError(
            400,
            f"Invalid Content-Type header ({request.content_type}), expected multipart/form-data.",
            code="invalid_content_type",
        )
    fields: dict[str, list[str]] = {}
    files: dict[str, list[Upload]] = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name is None:
            raise ApiError(400, "Nested or unnamed multipart parts are not supported.")
        data = bytes(await part.read(decode=False))
        content_type = part.headers.get("Content-Type")
        if part.filename is not None or (content_type is not None and not content_type.startswith("text/")):
            files.setdefault(part.name, []).append(Upload(part.name, part.filename, content_type, data))
        else:
            fields.setdefault(part.name, []).append(data.decode("utf-8", errors="replace"))
    return Form(fields, files)


_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", dict: "an object"}


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


class Params:
    """Typed, validated access to request parameters; form values arrive as text and are converted."""

    def __init__(self, values: Mapping[str, Any], *, textual: bool = False, prefix: str = "") -> None:
        self.values = dict(values)
        self.textual = textual
        self.prefix = prefix  # e.g. "tools[0]." so errors name the nested parameter as the API does

    def reject_unknown(self, known: Iterable[str]) -> None:
        allowed = set(known)
        for name in self.values:
            if name not in allowed:
                label = self.prefix + name
                raise ApiError(400, f"Unknown parameter: '{label}'.", param=label, code="unknown_parameter")

    def given(self, name: str) -> bool:
        return self.values.get(name) is not None

    def label(self, name: str) -> str:
        """How the API names this parameter in errors."""
        return self.prefix + name

    def _wrong_type(self, name: str, expected: str, value: object) -> ApiError:
        label = self.prefix + name
        return ApiError(
            400,
            f"Invalid type for '{label}': expected {expected}, but got {_type_name(value)} instead.",
            param=label,
            code="invalid_type",
        )

    def string(self, name: str, *, required: bool = False, max_length: int | None = None) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise missing(self.prefix + name)
            return None
        if not isinstance(value, str):
            raise self._wrong_type(name, "a string", value)
        label = self.prefix + name
        if required and not value.strip():
            raise bad_value(
                label,
                f"Invalid '{label}': empty string. Expected a string with minimum length 1, but got an empty string "
                "instead.",
                "empty_string",
            )
        if max_length is not None and len(value) > max_length:
            raise bad_value(
                label,
                f"Invalid '{label}': string too long. Expected a string with maximum length {max_length}, but got a "
                f"string with length {len(value)} instead.",
                "string_above_max_length",
            )
        return value

    def choice(self, name: str, options: Sequence[str], default: str | None = None) -> str | None:
        value = self.string(name)
        if value is None:
            return default
        if value not in options:
            raise invalid_value(self.prefix + name, value, options)
        return value

    def integer(self, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None:
            return None
        if self.textual and isinstance(value, str):
            try:
                value = int(value)
            except ValueError:
                raise self._wrong_type(name, "an integer", "text") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong_type(name, "an integer", value)
        self._range(name, value, minimum, maximum, "integer")
        return value

    def number(self, name: str, *, minimum: float | None = None, maximum: float | None = None) -> float | None:
        value = self.values.get(name)
        if value is None:
            return None
        if self.textual and isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise self._wrong_type(name, "a number", "text") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self._wrong_type(name, "a number", value)
        self._range(name, float(value), minimum, maximum, "decimal")
        return float(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.values.get(name)
        if value is None:
            return default
        if self.textual and isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        if not isinstance(value, bool):
            raise self._wrong_type(name, "a boolean", value)
        return value

    def _range(self, name: str, value: float, minimum: float | None, maximum: float | None, kind: str) -> None:
        shown = int(value) if kind == "integer" else value
        name = self.prefix + name
        if minimum is not None and value < minimum:
            raise bad_value(
                name,
                f"Invalid '{name}': {kind} below minimum value. Expected a value >= {minimum}, but got {shown} "
                "instead.",
                f"{kind}_below_min_value",
            )
        if maximum is not None and value > maximum:
            raise bad_value(
                name,
                f"Invalid '{name}': {kind} above maximum value. Expected a value <= {maximum}, but got {shown} "
                "instead.",
                f"{kind}_above_max_value",
            )


def data_url_bytes(url: str, param: str) -> bytes:
    """The bytes of a base64 data URL; other URLs are rejected (the sandbox has no network)."""
    if not url.startswith("data:"):
        raise bad_value(
            param,
            f"Error while downloading {url[:80]}: the sandbox has no network; send images as base64 data URLs.",
            "invalid_image_url",
        )
    _, _, payload = url.partition(",")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise bad_value(param, "Invalid base64 image data URL.", "invalid_image_url") from None
