"""POST/GET/DELETE /v1/responses: a model that always uses its image_generation tool when it has one.

Response ids are kept, so `previous_response_id` continues a conversation: the next image is drawn
from the last image in the chain, and the lineage is recorded for tests.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import attrs
from aiohttp import web

from mediagen.sandbox import media
from mediagen.sandbox.openai import catalog
from mediagen.sandbox.openai.images import ImageOptions, image_model, image_options, usage
from mediagen.sandbox.openai.state import GeneratedImage, ReceivedRequest, StoredResponse
from mediagen.sandbox.openai.wire import Params, bad_value, data_url_bytes, json_body, missing
from mediagen.sandbox.vendor import ApiError

if TYPE_CHECKING:
    from mediagen.sandbox.openai.fake import OpenAIFake

#: CreateResponse's parameters in OpenAI's OpenAPI document (2.3.0), and the three openai 3.57.0 sends beyond it.
CREATE_PARAMS = (
    "background", "context_management", "conversation", "include", "input", "instructions", "max_output_tokens",
    "max_tool_calls", "metadata", "model", "moderation", "parallel_tool_calls", "previous_response_id", "prompt",
    "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "reasoning", "safety_identifier",
    "service_tier", "store", "stream", "stream_options", "temperature", "text", "tool_choice", "tools",
    "top_logprobs", "top_p", "truncation", "user",
    "access_programs", "background_options", "image",
)  # fmt: skip
#: CreateResponse's scalar parameters as the document types and bounds them: (kind, minimum, maximum, choices).
SCALAR_PARAMS: dict[str, tuple[str, float | None, float | None, tuple[str, ...]]] = {
    "background": ("boolean", None, None, ()),
    "parallel_tool_calls": ("boolean", None, None, ()),
    "store": ("boolean", None, None, ()),
    "stream": ("boolean", None, None, ()),
    "instructions": ("string", None, None, ()),
    "previous_response_id": ("string", None, None, ()),
    "prompt_cache_key": ("string", None, None, ()),
    "safety_identifier": ("string", None, 64, ()),
    "user": ("string", None, None, ()),
    "temperature": ("number", 0, 2, ()),
    "top_p": ("number", 0, 1, ()),
    "top_logprobs": ("integer", 0, 20, ()),
    "max_output_tokens": ("integer", 16, None, ()),
    "max_tool_calls": ("integer", None, None, ()),
    "truncation": ("string", None, None, ("auto", "disabled")),
    "prompt_cache_retention": ("string", None, None, ("in_memory", "24h")),
}
IMAGE_TOOL_PARAMS = (
    "type",
    "model",
    "size",
    "quality",
    "output_format",
    "output_compression",
    "background",
    "moderation",
    "partial_images",
    "input_fidelity",
    "input_image_mask",
    "action",
    "complexity",
    "frame_count",
    "frame_duration_ms",
    "svg",
)


def check_scalars(params: Params) -> None:
    """OpenAI's 400 for a scalar parameter of the wrong type, out of its range, or not one of its values."""
    for name, (kind, low, high, choices) in SCALAR_PARAMS.items():
        if kind == "boolean":
            params.boolean(name, False)
        elif kind == "integer":
            params.integer(name, minimum=None if low is None else int(low), maximum=None if high is None else int(high))
        elif kind == "number":
            params.number(name, minimum=low, maximum=high)
        elif choices:
            params.choice(name, choices)
        else:
            params.string(name, max_length=None if high is None else int(high))


@attrs.frozen
class ParsedInput:
    """The user's words and the images the input carries (decoded), in order."""

    prompt: str
    images: tuple[bytes, ...]


@attrs.frozen
class ImageTool:
    options: ImageOptions
    partial_images: int
    action: str
    mask: bytes | None
    echo: dict[str, Any]


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class ResponsesEndpoints:
    """The Responses API of the OpenAI fake."""

    def __init__(self, fake: OpenAIFake) -> None:
        self.fake = fake

    async def create(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        state = self.fake.state
        state.requests.append(ReceivedRequest(request.method, request.path, body))
        params = Params(body)
        params.reject_unknown(CREATE_PARAMS)
        check_scalars(params)
        model = params.string("model", required=True)
        assert model is not None
        if not catalog.RESPONSES_MODEL.match(model):
            raise ApiError(400, f"The requested model '{model}' does not exist.", param="model", code="model_not_found")
        previous_id = params.string("previous_response_id")
        if previous_id is not None and state.response(previous_id) is None:
            raise ApiError(
                400,
                f"Previous response with id '{previous_id}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        if "input" not in body and previous_id is None:
            raise missing("input")
        parsed = self._input(body.get("input"))
        tools = body.get("tools") or []
        if not isinstance(tools, list):
            raise bad_value("tools", "Invalid type for 'tools': expected an array.", "invalid_type")
        tool = self._image_tool(tools)
        tool_choice = body.get("tool_choice", "auto")
        if tool_choice == "required" and tool is None and not tools:
            raise bad_value("tool_choice", "tool_choice 'required' needs at least one tool.")
        store = params.boolean("store", True)
        stream = params.boolean("stream", False)
        instructions = body.get("instructions")

        output: list[dict[str, Any]] = []
        image: GeneratedImage | None = None
        call_id: str | None = None
        image_usage: dict[str, Any] | None = None
        if tool is not None and tool_choice != "none":
            call_id = _new_id("ig")
            image = await self._draw(tool, parsed, previous_id)
            output.append(self._image_call(call_id, tool, image, parsed.prompt))
            image_usage = usage(parsed.prompt, [(image.width, image.height)], tool.options.reported_quality)
            state.images.append(image)
        text = f"Here is the image for: {parsed.prompt}" if image is not None else f"Sandbox reply to: {parsed.prompt}"
        output.append(
            {
                "id": _new_id("msg"),
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
            }
        )
        now = self.fake.context.now()
        input_tokens = catalog.text_tokens(parsed.prompt) + (image_usage["input_tokens"] if image_usage else 0)
        output_tokens = catalog.text_tokens(text) + (image_usage["output_tokens"] if image_usage else 0)
        response = {
            "id": _new_id("resp"),
            "object": "response",
            "created_at": now,
            "status": "completed",
            "background": False,
            "completed_at": now,
            "error": None,
            "incomplete_details": None,
            "instructions": instructions,
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": body.get("max_tool_calls"),
            "metadata": body.get("metadata") or {},
            "model": model,
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": previous_id,
            "reasoning": {"effort": None, "summary": None},
            "service_tier": "default",
            "temperature": body.get("temperature", 1.0),
            "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": tool_choice,
            "tools": [tool.echo if tool is not None and t.get("type") == "image_generation" else t for t in tools],
            "top_logprobs": body.get("top_logprobs", 0),
            "top_p": body.get("top_p", 1.0),
            "truncation": body.get("truncation", "disabled"),
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + output_tokens,
            },
        }
        if isinstance(body.get("user"), str):  # the document types Response.user as a string: absent when not given
            response["user"] = body["user"]
        if store:
            state.keep_response(StoredResponse(response["id"], response, parsed.prompt, previous_id, image, call_id))
        if stream:
            return await _stream(request, response, tool.partial_images if tool is not None else 0)
        return web.json_response(response)

    async def retrieve(self, request: web.Request) -> web.StreamResponse:
        stored = self._stored(request.match_info["response_id"])
        return web.json_response(stored.body)

    async def delete(self, request: web.Request) -> web.StreamResponse:
        stored = self._stored(request.match_info["response_id"])
        self.fake.state.forget_response(stored)
        return web.json_response({"id": stored.id, "object": "response", "deleted": True})

    def _stored(self, response_id: str) -> StoredResponse:
        stored = self.fake.state.response(response_id)
        if stored is None:
            raise ApiError(404, f"Response with id '{response_id}' not found.", param="response_id")
        return stored

    def _input(self, raw: object) -> ParsedInput:
        if raw is None:
            return ParsedInput("", ())
        if isinstance(raw, str):
            return ParsedInput(raw, ())
        if not isinstance(raw, list):
            raise bad_value("input", "Invalid type for 'input': expected a string or an array.", "invalid_type")
        texts: list[str] = []
        images: list[bytes] = []
        for index, item in enumerate(raw):
            if not isinstance(item, dict):
                raise bad_value(f"input[{index}]", f"Invalid type for 'input[{index}]': expected an object.")
            kind = item.get("type", "message")
            if kind in ("image_generation_call", "item_reference"):
                found = self._call_image(str(item.get("id")))
                if found is None:
                    raise bad_value(f"input[{index}].id", f"Item with id '{item.get('id')}' not found.")
                images.append(found.data)
            elif kind == "message" and item.get("role", "user") in ("user", "system", "developer"):
                self._message(item.get("content"), f"input[{index}].content", texts, images)
        return ParsedInput("\n".join(texts), tuple(images))

    def _message(self, content: object, param: str, texts: list[str], images: list[bytes]) -> None:
        if isinstance(content, str):
            texts.append(content)
            return
        if not isinstance(content, list):
            raise bad_value(param, f"Invalid type for '{param}': expected a string or an array.", "invalid_type")
        for index, part in enumerate(content):
            where = f"{param}[{index}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "input_text" and isinstance(part, dict):
                texts.append(str(part.get("text", "")))
            elif kind == "input_image" and isinstance(part, dict):
                if part.get("file_id"):
                    raise bad_value(f"{where}.file_id", f"File '{part['file_id']}' not found.", "file_not_found")
                url = part.get("image_url")
                if not isinstance(url, str):
                    raise missing(f"{where}.image_url")
                images.append(data_url_bytes(url, f"{where}.image_url"))

    def _call_image(self, call_id: str) -> GeneratedImage | None:
        return self.fake.state.call_image(call_id)

    def _image_tool(self, tools: list[Any]) -> ImageTool | None:
        found: ImageTool | None = None
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict) or "type" not in tool:
                raise missing(f"tools[{index}].type")
            if tool["type"] != "image_generation":
                continue
            params = Params(tool, prefix=f"tools[{index}].")
            params.reject_unknown(IMAGE_TOOL_PARAMS)
            model = image_model(params.string("model") or catalog.DEFAULT_TOOL_IMAGE_MODEL, params.label("model"))
            options = image_options(params, model)
            partial = params.integer("partial_images", minimum=0, maximum=3)
            action = params.choice("action", ("generate", "edit", "auto"), "auto")
            moderation = params.choice("moderation", catalog.MODERATION_LEVELS, "auto")
            params.choice("input_fidelity", catalog.INPUT_FIDELITIES)
            mask = None
            mask_spec = tool.get("input_image_mask")
            if isinstance(mask_spec, dict) and isinstance(mask_spec.get("image_url"), str):
                mask = data_url_bytes(mask_spec["image_url"], params.label("input_image_mask.image_url"))
            echo = {
                **tool,
                "model": model.name,
                "size": options.size,
                "quality": options.quality,
                "output_format": options.output_format,
                "output_compression": options.compression if options.compression is not None else 100,
                "background": options.background,
                "moderation": moderation,
                "partial_images": partial or 0,
            }
            found = ImageTool(options, partial or 0, action or "auto", mask, echo)
        return found

    async def _draw(self, tool: ImageTool, parsed: ParsedInput, previous_id: str | None) -> GeneratedImage:
        """An edit of the input images, else a continuation of the chain's last image, else a new image."""
        sources: list[bytes] = list(parsed.images)
        previous = self.fake.state.latest_image(previous_id)
        if not sources and previous is not None and tool.action != "generate":
            sources = [previous.data]
        options = tool.options
        transparent = options.background == "transparent"
        if sources:
            try:
                like = media.image_size(sources[0])
            except OSError:
                raise bad_value("input", "An input image could not be decoded.", "invalid_image") from None
            width, height = options.pixel_size(like=like)
            data = await asyncio.to_thread(
                media.derive,
                sources,
                width,
                height,
                options.output_format,
                prompt=parsed.prompt,
                mask=tool.mask,
                transparent=transparent,
                compression=options.compression,
            )
            lineage = tuple(hashlib.sha256(s).hexdigest() for s in sources)
            return GeneratedImage(data, width, height, options.output_format, lineage)
        width, height = options.pixel_size()
        data = await asyncio.to_thread(
            media.image,
            width,
            height,
            options.output_format,
            prompt=parsed.prompt,
            transparent=transparent,
            compression=options.compression,
        )
        return GeneratedImage(data, width, height, options.output_format)

    def _image_call(self, call_id: str, tool: ImageTool, image: GeneratedImage, prompt: str) -> dict[str, Any]:
        options = tool.options
        return {
            "id": call_id,
            "type": "image_generation_call",
            "status": "completed",
            "action": "edit" if image.sources else "generate",
            "background": options.reported_background,
            "output_format": options.output_format,
            "quality": options.reported_quality,
            "result": base64.b64encode(image.data).decode(),
            "revised_prompt": prompt,
            "size": f"{image.width}x{image.height}",
        }


async def _stream(request: web.Request, response: dict[str, Any], partial_images: int) -> web.StreamResponse:
    """The finished response replayed as the Responses streaming event sequence."""
    out = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await out.prepare(request)
    async for event in _events(response, partial_images):
        await out.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
    await out.write_eof()
    return out


async def _events(response: dict[str, Any], partial_images: int) -> AsyncIterator[dict[str, Any]]:
    sequence = 0

    def event(kind: str, **fields: Any) -> dict[str, Any]:
        nonlocal sequence
        sequence += 1
        return {"type": kind, "sequence_number": sequence - 1, **fields}

    # Response.usage is an object when present: a response still in progress has none yet, so the key is absent.
    pending = {key: value for key, value in response.items() if key != "usage"}
    pending |= {"status": "in_progress", "output": [], "completed_at": None}
    yield event("response.created", response=pending)
    yield event("response.in_progress", response=pending)
    for index, item in enumerate(response["output"]):
        if item["type"] == "image_generation_call":
            yield event("response.output_item.added", output_index=index, item={**item, "status": "in_progress"})
            yield event("response.image_generation_call.in_progress", output_index=index, item_id=item["id"])
            yield event("response.image_generation_call.generating", output_index=index, item_id=item["id"])
            for partial in range(partial_images):
                yield event(
                    "response.image_generation_call.partial_image",
                    output_index=index,
                    item_id=item["id"],
                    partial_image_index=partial,
                    partial_image_b64=item["result"],
                )
            yield event("response.image_generation_call.completed", output_index=index, item_id=item["id"])
        else:
            text = item["content"][0]["text"]
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "content": []},
            )
            yield event(
                "response.content_part.added", output_index=index, item_id=item["id"], content_index=0, part=part
            )
            yield event(
                "response.output_text.delta",
                output_index=index,
                item_id=item["id"],
                content_index=0,
                delta=text,
                logprobs=[],
            )
            yield event(
                "response.output_text.done",
                output_index=index,
                item_id=item["id"],
                content_index=0,
                text=text,
                logprobs=[],
            )
            yield event(
                "response.content_part.done",
                output_index=index,
                item_id=item["id"],
                content_index=0,
                part={**part, "text": text},
            )
        yield event("response.output_item.done", output_index=index, item=item)
    yield event("response.completed", response=response)
