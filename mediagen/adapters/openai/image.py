"""Images: the Responses API's image_generation tool (with multi-turn continuation) and the Images API."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Sequence
from typing import Any

import openai
from openai.types.responses import Response

from mediagen.adapters.openai.client import OpenAIClients, vendor_call
from mediagen.adapters.openai.errors import BACKEND, POLICY_CODES, scrub
from mediagen.adapters.openai.mapping import ImagesApiPlan, ResponsesImagePlan
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import BackendError, ContentRejected, ContinuationNotFound, MediaGenError
from mediagen.domain.media import MediaType
from mediagen.domain.request import InputImage
from mediagen.domain.secret import Secret
from mediagen.domain.sniff import SNIFF_BYTES, media_type_of, sniff
from mediagen.ports.continuation import VENDOR_ID_KIND, ContinuationState
from mediagen.ports.generator import GeneratedMedia, GenerationContext

_FORMAT_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


#: A typical Responses answer with the image tool (as the sandbox and the OpenAPI document shape it), minus the image.
_SAMPLE_RESPONSE: dict[str, Any] = {
    "id": "resp_sample",
    "object": "response",
    "created_at": 0,
    "status": "completed",
    "model": "gpt-5.4",
    "output": [
        {"type": "image_generation_call", "id": "ig_sample", "status": "completed", "result": "", "revised_prompt": ""},
        {
            "type": "message",
            "id": "msg_sample",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "", "annotations": []}],
        },
    ],
    "parallel_tool_calls": True,
    "reasoning": {"effort": None, "summary": None},
    "text": {"format": {"type": "text"}, "verbosity": "medium"},
    "tool_choice": "auto",
    "tools": [{"type": "image_generation"}],
    "usage": {
        "input_tokens": 1,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 1,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 2,
    },
}


def parse_sample_response() -> None:
    """Parse a typical answer as the SDK parses every one (`construct`), in a worker thread before the first call:
    the first parse builds a pydantic TypeAdapter per union field (output items, tools, formats), ~30 ms."""
    _usage(Response.construct(**_SAMPLE_RESPONSE).usage)


def _usage(usage: Any) -> dict[str, Any] | None:
    if usage is None:
        return None
    dumped = usage.model_dump(mode="json", exclude_none=True) if hasattr(usage, "model_dump") else usage
    return dict(dumped) if isinstance(dumped, dict) else None


def _decode(b64: str, what: str) -> bytes:
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise BackendError(f"OpenAI sent {what} that is not valid base64", backend=BACKEND) from None


def _image_mime(data: bytes, output_format: str | None) -> str:
    """What the bytes are; the mime of the asked format when the bytes prove nothing (the sink checks again)."""
    found = sniff(data[:SNIFF_BYTES])
    if found is not None and media_type_of(found) is MediaType.IMAGE:
        return found
    return _FORMAT_MIME.get(output_format or "png", "image/png")


async def _data_url(image: InputImage) -> str:
    data = await asyncio.to_thread(image.read_bytes)
    return f"data:{image.mime_type};base64,{base64.b64encode(data).decode('ascii')}"


async def _file(image: InputImage) -> tuple[str, bytes, str]:
    return (image.path.name, await asyncio.to_thread(image.read_bytes), image.mime_type)


async def _openai_mask(mask: InputImage, first_image: bytes) -> tuple[str, bytes, str]:
    """The mask in OpenAI's form (a PNG, transparent where to change, the first image's size), whichever of
    mediagen's two forms the user gave (see mediagen.adapters.masks)."""

    def convert() -> bytes:  # in the worker thread: Pillow loads here, only for a request with a mask
        from mediagen.adapters import masks
        from mediagen.adapters.pictures import upright_size

        return masks.transparent_where_changed(mask.read_bytes(), upright_size(first_image))

    return (f"{mask.path.stem}.png", await asyncio.to_thread(convert), "image/png")


# --- Responses API ------------------------------------------------------------------------------------------------


async def responses_input(plan: ResponsesImagePlan) -> Any:
    """The prompt alone, or one user message with the prompt and every input image as a data URL."""
    if not plan.images:
        return plan.prompt
    content: list[dict[str, Any]] = [{"type": "input_text", "text": plan.prompt}]
    for image in plan.images:
        content.append({"type": "input_image", "image_url": await _data_url(image), "detail": "auto"})
    return [{"role": "user", "content": content}]


async def generate_with_responses(
    clients: OpenAIClients, plan: ResponsesImagePlan, ctx: GenerationContext, deadline: Deadline
) -> GeneratedMedia:
    """One turn with the image_generation tool; its response id is the continuation for the next turn."""
    client = clients.get(ctx.credentials)
    kwargs = plan.kwargs(await responses_input(plan))

    async def create() -> Any:
        try:
            # The SDK's own POST, as responses.create makes it, minus responses.create's pass over the body
            # against its TypedDicts (~240 us a call): that pass leaves what the plan builds unchanged, which
            # tests/unit/test_openai_mapping.py checks against the installed SDK for every plan.
            return await client.post("/responses", body=kwargs, cast_to=Response)
        except openai.APIStatusError as exc:
            previous = plan.previous_response_id
            gone = exc.code == "previous_response_not_found" or "previous response" in exc.message.lower()
            if previous is not None and gone:
                raise ContinuationNotFound(f"{BACKEND}:{previous}") from None
            raise

    response = await vendor_call(create(), deadline=deadline, secret=ctx.credentials)
    return _responses_result(plan, response, ctx.credentials)


def _responses_result(plan: ResponsesImagePlan, response: Any, secret: Secret) -> GeneratedMedia:
    calls = [item for item in (response.output or []) if getattr(item, "type", None) == "image_generation_call"]
    image_call = next((c for c in calls if getattr(c, "result", None)), None)
    if image_call is None:
        raise _no_image(response, calls, secret)
    data = _decode(image_call.result, "an image")
    metadata: dict[str, Any] = {"api": "responses", "response_id": response.id, "image_call_id": image_call.id}
    for name in ("revised_prompt", "size", "quality", "background", "output_format", "action"):
        value = getattr(image_call, name, None)
        if value is not None:
            metadata[name] = value
    if plan.previous_response_id is not None:
        metadata["previous_response_id"] = plan.previous_response_id
    usage = _usage(getattr(response, "usage", None))
    if usage is not None:
        metadata["usage"] = usage
    return GeneratedMedia.from_bytes(
        data,
        mime_type=_image_mime(data, getattr(image_call, "output_format", None)),
        model=plan.model,
        metadata=metadata,
        continuation=ContinuationState(kind=VENDOR_ID_KIND, data={"vendor_id": response.id}),
        parameters=plan.parameters,
    )


def _no_image(response: Any, calls: Sequence[Any], secret: Secret) -> MediaGenError:
    """Why a response carries no image: a refusal, a failed tool call, or a model that answered in words."""
    for call in calls:
        error = getattr(call, "error", None)
        if error is not None:
            code = str(getattr(error, "code", "") or "")
            message = scrub(str(getattr(error, "message", "") or code), secret)
            if code in POLICY_CODES:
                return ContentRejected(f"OpenAI's safety system refused the image: {message}", backend=BACKEND)
            return BackendError(f"OpenAI's image tool failed ({code or 'no code'}): {message}", backend=BACKEND)
    error = getattr(response, "error", None)
    if error is not None:
        code = str(getattr(error, "code", "") or "")
        message = scrub(str(getattr(error, "message", "") or code), secret)
        if code in POLICY_CODES:
            return ContentRejected(f"OpenAI's safety system refused the request: {message}", backend=BACKEND)
        return BackendError(f"OpenAI response {response.id} failed ({code or 'no code'}): {message}", backend=BACKEND)
    incomplete = getattr(response, "incomplete_details", None)
    reason = getattr(incomplete, "reason", None)
    if reason == "content_filter":
        return ContentRejected("OpenAI's content filter stopped the response before an image", backend=BACKEND)
    text = scrub(str(getattr(response, "output_text", "") or "").strip(), secret)[:300]
    said = f": {text!r}" if text else ""
    return BackendError(
        f"OpenAI answered without an image (status {getattr(response, 'status', None)}){said}; "
        "rephrase the prompt as a request for a picture",
        backend=BACKEND,
    )


# --- Images API ---------------------------------------------------------------------------------------------------


async def generate_with_images_api(
    clients: OpenAIClients, plan: ImagesApiPlan, ctx: GenerationContext, deadline: Deadline
) -> GeneratedMedia:
    """images.generate, or images.edit with every input image (a list when several) and the mask when given."""
    return (await images_api_call(clients, plan, ctx, deadline))[0]


async def images_api_call(
    clients: OpenAIClients, plan: ImagesApiPlan, ctx: GenerationContext, deadline: Deadline
) -> list[GeneratedMedia]:
    """One images.generate or images.edit call, its `n` images (the plan's, 1 when unset) each its own media."""
    client = clients.get(ctx.credentials)
    if plan.is_edit:
        files = [await _file(image) for image in plan.images]
        edit: dict[str, Any] = dict(plan.kwargs)
        edit["image"] = files[0] if len(files) == 1 else files
        if plan.mask is not None:
            edit["mask"] = await _openai_mask(plan.mask, files[0][1])
        response = await vendor_call(client.images.edit(**edit), deadline=deadline, secret=ctx.credentials)
    else:
        response = await vendor_call(
            client.images.generate(**dict(plan.kwargs)), deadline=deadline, secret=ctx.credentials
        )
    images = response.data or []
    asked = int(plan.kwargs.get("n", 1))
    if len(images) != asked:
        said = "without an image" if not images else f"with {len(images)} images where {asked} were asked"
        raise BackendError(f"OpenAI's Images API answered {said}", backend=BACKEND)
    common: dict[str, Any] = {"api": "images", "operation": "edit" if plan.is_edit else "generate"}
    for name in ("size", "quality", "background", "output_format"):
        value = getattr(response, name, None)
        if value is not None:
            common[name] = value
    usage = _usage(response.usage)
    if usage is not None:
        common["usage"] = usage  # the whole call's, for all its images
    datas = await asyncio.gather(*(_image_bytes(clients, image, ctx.credentials, deadline) for image in images))
    made = []
    for image, data in zip(images, datas, strict=True):
        metadata = dict(common)
        if image.revised_prompt:
            metadata["revised_prompt"] = image.revised_prompt
        made.append(
            GeneratedMedia.from_bytes(
                data,
                mime_type=_image_mime(data, response.output_format or plan.kwargs.get("output_format")),
                model=plan.model,
                metadata=metadata,
                parameters=plan.parameters,
            )
        )
    return made


async def _image_bytes(clients: OpenAIClients, image: Any, secret: Secret, deadline: Deadline) -> bytes:
    """One answered image's bytes: decoded, or fetched at once from its (expiring) URL."""
    if image.b64_json:
        return _decode(image.b64_json, "an image")
    if image.url:
        return await _download_url(clients, image.url, secret, deadline)
    raise BackendError("OpenAI's Images API answered with neither image data nor a URL", backend=BACKEND)


async def _download_url(clients: OpenAIClients, url: str, secret: Secret, deadline: Deadline) -> bytes:
    """Fetch an image URL at once (they expire), with a client that does not carry the API key."""

    async def fetch() -> bytes:
        response = await (await clients.plain()).get(url)
        if response.status_code >= 400:
            raise BackendError(
                f"the image URL OpenAI returned answered {response.status_code}; generate again",
                backend=BACKEND,
                status=response.status_code,
            )
        return response.content

    return await vendor_call(fetch(), deadline=deadline, secret=secret)
