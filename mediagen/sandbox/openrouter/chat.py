"""POST /api/v1/chat/completions with image output, GET /api/v1/models, and the expiring image URLs.

Requests are held to OpenRouter's documented request schema (https://openrouter.ai/docs/api/reference/overview,
.../multimodal/image-generation): an unknown field, a wrong type or a value the model does not take is a 400 in
OpenRouter's error shape. OpenRouter's own validation wording is not published, so the messages are the fake's;
the status and the envelope are OpenRouter's. Answers carry only fields of the documented response.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import secrets
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from mediagen.sandbox import media
from mediagen.sandbox.openrouter.catalog import DEFAULT_MODEL, DEFAULT_SIZE, MODELS, SIZE_PIXELS, FakeModel
from mediagen.sandbox.openrouter.state import OpenRouterState, ReceivedRequest, ServedImage
from mediagen.sandbox.vendor import ApiError, stream_bytes

if TYPE_CHECKING:
    from mediagen.sandbox.openrouter.fake import OpenRouterFake

#: Prompt markers that pick an answer, so tests and users can reach every branch of a client.
IMAGE_URL: Final = "sandbox:image-url"  # the image as a loopback URL (expires after URL_TTL_SECONDS)
EXPIRED_URL: Final = "sandbox:expired-url"  # a URL that has already expired
NO_IMAGE: Final = "sandbox:no-image"  # words only, no image
NO_CREDITS: Final = "sandbox:no-credits"  # 402
PROVIDER_DOWN: Final = "sandbox:provider-down"  # 502 from the upstream provider
URL_TTL_SECONDS: Final = 60.0
FILES_PATH: Final = "/files"

#: Top-level request fields OpenRouter documents for chat completions.
REQUEST_FIELDS: Final = frozenset(
    {
        "messages", "prompt", "model", "models", "response_format", "stop", "stream", "stream_options",
        "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "frequency_penalty",
        "presence_penalty", "repetition_penalty", "seed", "logit_bias", "logprobs", "top_logprobs", "min_p", "top_a",
        "tools", "tool_choice", "parallel_tool_calls", "prediction", "transforms", "route", "provider", "user",
        "usage", "reasoning", "modalities", "image_config", "plugins", "metadata", "session_id", "verbosity", "debug",
    }
)  # fmt: skip
MESSAGE_FIELDS: Final = frozenset({"role", "content", "name", "tool_calls", "tool_call_id", "reasoning"})
ROLES: Final = ("system", "developer", "user", "assistant", "tool")
MODALITIES: Final = ("text", "image", "audio")
IMAGE_CONFIG_FIELDS: Final = frozenset({"aspect_ratio", "image_size"})


class OpenRouterError(ApiError):
    """An error answer with OpenRouter's optional `metadata` object."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, message, headers=headers)
        self.metadata = dict(metadata) if metadata is not None else None


def bad_request(message: str) -> OpenRouterError:
    return OpenRouterError(400, message)


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def _expect(value: object, kind: type | tuple[type, ...], where: str, expected: str) -> None:
    if not isinstance(value, kind) or (
        isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,))
    ):
        raise bad_request(f"Invalid type for '{where}': expected {expected}, received {_type_name(value)}")


def _unknown(found: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    for name in found:
        if name not in known:
            raise bad_request(f"Unrecognized key '{name}' in {where}")


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read())
    except (UnicodeDecodeError, ValueError):
        raise bad_request("Invalid JSON in request body") from None
    if not isinstance(data, dict):
        raise bad_request(f"Invalid type for request body: expected object, received {_type_name(data)}")
    return data


def _image_bytes(url: object, where: str) -> bytes:
    _expect(url, str, where, "string")
    assert isinstance(url, str)
    if not url.startswith("data:"):
        # OpenRouter fetches http(s) image URLs; the sandbox has no network.
        raise bad_request(f"{where}: the sandbox has no network; send images as base64 data URLs")
    header, _, payload = url.partition(",")
    if not header.endswith(";base64"):
        raise bad_request(f"{where}: only base64 data URLs are supported")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(f"{where}: invalid base64 in data URL") from None
    try:
        media.open_image(data)
    except Exception:  # Pillow raises several types for undecodable bytes
        raise bad_request(f"{where}: the image could not be decoded; send PNG, JPEG, WebP or GIF") from None
    return data


def _content_images(content: object, where: str) -> tuple[str, list[bytes]]:
    """The text and the decoded images of a message's content (a string or a list of parts)."""
    if isinstance(content, str):
        return content, []
    if content is None:
        return "", []
    _expect(content, list, f"{where}.content", "string or array")
    assert isinstance(content, list)
    texts: list[str] = []
    images: list[bytes] = []
    for index, part in enumerate(content):
        at = f"{where}.content[{index}]"
        _expect(part, dict, at, "object")
        kind = part.get("type")
        if kind == "text":
            _unknown(part, frozenset({"type", "text", "cache_control"}), at)
            _expect(part.get("text"), str, f"{at}.text", "string")
            texts.append(part["text"])
        elif kind == "image_url":
            _unknown(part, frozenset({"type", "image_url"}), at)
            holder = part.get("image_url")
            _expect(holder, dict, f"{at}.image_url", "object")
            _unknown(holder, frozenset({"url", "detail"}), f"{at}.image_url")
            detail = holder.get("detail")
            if detail is not None and detail not in ("auto", "low", "high"):
                raise bad_request(f"Invalid value for '{at}.image_url.detail': expected 'auto', 'low' or 'high'")
            images.append(_image_bytes(holder.get("url"), f"{at}.image_url.url"))
        else:
            raise bad_request(f"Invalid value for '{at}.type': expected 'text', 'image_url', 'file' or 'input_audio'")
    return " ".join(texts), images


def _messages(body: Mapping[str, Any]) -> list[tuple[str, str, list[bytes]]]:
    """(role, text, images) of every message, each checked."""
    messages = body.get("messages")
    if messages is None:
        raise bad_request("Either 'messages' or 'prompt' is required")
    _expect(messages, list, "messages", "array")
    if not messages:
        raise bad_request("'messages' must contain at least one message")
    read = []
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        _expect(message, dict, where, "object")
        _unknown(message, MESSAGE_FIELDS, where)
        role = message.get("role")
        if role not in ROLES:
            raise bad_request(f"Invalid value for '{where}.role': expected one of {', '.join(ROLES)}")
        text, images = _content_images(message.get("content"), where)
        if role == "assistant" and images:
            raise bad_request(f"{where}: assistant messages take no image_url parts")
        read.append((role, text, images))
    return read


def _model(body: Mapping[str, Any]) -> FakeModel:
    name = body.get("model", DEFAULT_MODEL)
    _expect(name, str, "model", "string")
    model = MODELS.get(name)
    if model is None:
        raise bad_request(f"{name} is not a valid model ID")
    return model


def _modalities(body: Mapping[str, Any], model: FakeModel) -> tuple[str, ...]:
    asked = body.get("modalities", ["text"])
    _expect(asked, list, "modalities", "array")
    for index, value in enumerate(asked):
        if value not in MODALITIES:
            raise bad_request(f"Invalid value for 'modalities[{index}]': expected 'text', 'image' or 'audio'")
    missing = [m for m in asked if m not in model.output_modalities]
    if missing:
        # What OpenRouter answers when no provider of the model produces the asked outputs (its docs tell image-only
        # models to be asked with ["image"]); modelled as its "no endpoints" 404.
        raise OpenRouterError(
            404, f"No endpoints found that support the requested output modalities: {', '.join(asked)}"
        )
    return tuple(asked)


def _image_config(body: Mapping[str, Any], model: FakeModel) -> tuple[str | None, str]:
    config = body.get("image_config", {})
    _expect(config, dict, "image_config", "object")
    _unknown(config, IMAGE_CONFIG_FIELDS, "image_config")
    aspect = config.get("aspect_ratio")
    if aspect is not None:
        _expect(aspect, str, "image_config.aspect_ratio", "string")
        if aspect not in model.aspect_ratios:
            takes = ", ".join(model.aspect_ratios) or "none"
            raise bad_request(f"{model.id} does not support aspect_ratio {aspect!r}; supported: {takes}")
    size = config.get("image_size")
    if size is not None:
        _expect(size, str, "image_config.image_size", "string")
        if size not in model.image_sizes:
            takes = ", ".join(model.image_sizes) or "none"
            raise bad_request(f"{model.id} does not support image_size {size!r}; supported: {takes}")
    return aspect, size or DEFAULT_SIZE


def _check_other_fields(body: Mapping[str, Any]) -> None:
    _unknown(body, REQUEST_FIELDS, "request body")
    stream = body.get("stream")
    if stream is not None:
        _expect(stream, bool, "stream", "boolean")
        if stream:
            raise bad_request("the sandbox does not stream; send stream: false")
    for name in ("max_tokens", "max_completion_tokens", "seed", "top_k"):
        if body.get(name) is not None:
            _expect(body[name], int, name, "integer")
    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            _expect(body[name], (int, float), name, "number")


def _dimensions(aspect: str | None, size: str, sources: Sequence[bytes]) -> tuple[int, int]:
    if aspect is not None:
        width, _, height = aspect.partition(":")
        ratio = float(width) / float(height)
    elif sources:
        w, h = media.image_size(sources[0])
        ratio = w / h
    else:
        ratio = 1.0
    long_side = SIZE_PIXELS[size]
    if ratio >= 1:
        return long_side, max(1, round(long_side / ratio))
    return max(1, round(long_side * ratio)), long_side


class ChatEndpoints:
    def __init__(self, fake: OpenRouterFake) -> None:
        self._fake = fake

    @property
    def _state(self) -> OpenRouterState:
        return self._fake.state

    def _record(self, request: web.Request, body: dict[str, Any]) -> None:
        wanted = ("http-referer", "x-title", "authorization", "openai-", "x-custom")
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower().startswith(wanted)}
        self._state.requests.append(ReceivedRequest(request.method, request.path, headers, body))

    async def create(self, request: web.Request) -> web.StreamResponse:
        body = await _json_object(request)
        self._record(request, body)
        _check_other_fields(body)
        model = _model(body)
        modalities = _modalities(body, model)
        aspect, size = _image_config(body, model)
        messages = _messages(body)
        users = [m for m in messages if m[0] == "user"]
        if not users:
            raise bad_request("messages: at least one user message is required")
        prompt, sources = users[-1][1], users[-1][2]
        if NO_CREDITS in prompt:
            raise OpenRouterError(
                402,
                "This request requires more credits, or fewer max_tokens. You requested up to 8192 tokens, but can "
                "only afford 0. To increase, visit https://openrouter.ai/settings/credits and add more credits",
            )
        if PROVIDER_DOWN in prompt:
            raise OpenRouterError(
                502,
                "Provider returned error",
                metadata={"provider_name": model.provider, "raw": "upstream connect error or disconnect"},
            )
        answer_image = "image" in modalities and NO_IMAGE not in prompt
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if "text" in modalities:
            message["content"] = (
                "Here is the picture you asked for." if answer_image else f"I cannot draw that. {prompt[:400]}"
            )
        if answer_image:
            width, height = _dimensions(aspect, size, sources)
            if sources:
                data = await asyncio.to_thread(media.derive, sources, width, height, "png", prompt=prompt)
            else:
                data = await asyncio.to_thread(media.image, width, height, "png", prompt=prompt)
            message["images"] = [{"type": "image_url", "image_url": {"url": self._image_url(request, data, prompt)}}]
        elif message["content"] is None:
            message["content"] = ""
        completion_tokens = 1290 if answer_image else 12
        prompt_tokens = 8 + len(prompt) // 4 + 258 * sum(len(m[2]) for m in messages)
        return web.json_response(
            {
                "id": f"gen-{int(time.time())}-{secrets.token_hex(10)}",
                "provider": model.provider,
                "model": model.id,
                "object": "chat.completion",
                "created": self._fake.context.now(),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "native_finish_reason": "STOP",
                        "message": message,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    def _image_url(self, request: web.Request, data: bytes, prompt: str) -> str:
        as_url = IMAGE_URL in prompt or EXPIRED_URL in prompt or self._fake.context.settings.image_urls
        if not as_url:
            return f"data:image/png;base64,{base64.b64encode(data).decode('ascii')}"
        token = secrets.token_urlsafe(16)
        expires = time.time() + (-1.0 if EXPIRED_URL in prompt else URL_TTL_SECONDS)
        self._state.images[token] = ServedImage(data, "image/png", expires)
        return f"{request.scheme}://{request.host}{FILES_PATH}/{token}.png"

    async def file(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        found = self._state.image(token)
        if found is None:
            # What the storage behind an expired or unknown image URL answers is not documented; a 404.
            return web.Response(status=404, text="Not Found")

        async def chunks() -> AsyncIterator[bytes | memoryview]:
            view = memoryview(found.data)
            for start in range(0, len(view), 64 * 1024):
                yield view[start : start + 64 * 1024]

        return await stream_bytes(request, chunks(), content_type=found.mime_type, length=len(found.data))

    async def models(self, request: web.Request) -> web.StreamResponse:
        for name in request.query:
            if name not in ("output_modalities", "supported_parameters", "category"):
                raise bad_request(f"Unrecognized query parameter '{name}'")
        wanted = request.query.get("output_modalities")
        listed = list(MODELS.values())
        if wanted is not None and wanted != "all":
            kinds = {w.strip() for w in wanted.split(",") if w.strip()}
            listed = [m for m in listed if kinds <= set(m.output_modalities)]
        return web.json_response({"data": [m.listing() for m in listed]})
