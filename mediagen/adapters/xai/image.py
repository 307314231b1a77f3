"""Grok Imagine images: one GenerateImage call, answered in base64 (no second download), every input image sent.

Editing sends each input image as a data URI (`image_url` for one, `image_urls` for several). A continuation keeps
the last image's bytes: the next turn sends them first, so `--continue-from` edits it from any process.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

from mediagen.adapters.xai.client import XAIClients, vendor_call
from mediagen.adapters.xai.errors import BACKEND
from mediagen.adapters.xai.mapping import ImagePlan
from mediagen.adapters.xai.spec import DEFAULT_IMAGE_MIME
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import BackendError, ContentRejected, InvalidRequest, MediaGenError
from mediagen.domain.media import MediaType
from mediagen.domain.request import InputImage
from mediagen.domain.sniff import SNIFF_BYTES, media_type_of, sniff
from mediagen.ports.continuation import ContinuationState
from mediagen.ports.generator import GeneratedMedia, GenerationContext

#: ContinuationState.kind of a Grok image kept for the next turn (its bytes in the blob).
IMAGE_KIND = "xai_image"
#: Answers larger than this are decoded in a worker thread rather than on the event loop.
_INLINE_DECODE_LIMIT = 256 * 1024


def data_uri(data: bytes, mime_type: str) -> str:
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"


def read_as_data_uri(image: InputImage) -> str:
    return data_uri(image.read_bytes(), image.mime_type or "image/png")


def previous_image(state: ContinuationState) -> str:
    """The last image of an earlier turn, as the data URI the next turn sends first."""
    if state.kind != IMAGE_KIND:
        raise InvalidRequest(
            f"this continuation is a {state.kind!r}, not a Grok image; continue an image made by xAI",
            field="continue_from",
        )
    if not state.blob:
        raise InvalidRequest("the saved Grok image is empty; start a new image", field="continue_from")
    return data_uri(state.blob, str(state.data.get("mime_type") or DEFAULT_IMAGE_MIME))


def decode_answer(encoded: str) -> tuple[bytes, str]:
    """The bytes and MIME type of the `data:image/...;base64,...` the API answers with (bytes decide the type)."""
    header, sep, body = encoded.partition("base64,")
    if not sep:
        header, body = "", encoded
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise BackendError("xAI sent an image that is not valid base64", backend=BACKEND) from None
    found = sniff(data[:SNIFF_BYTES])
    if found is not None and media_type_of(found) is MediaType.IMAGE:
        return data, found
    said = header.removeprefix("data:").split(";", 1)[0].strip()
    return data, said if said.startswith("image/") else DEFAULT_IMAGE_MIME


def usage_of(proto: Any) -> dict[str, Any]:
    """A SamplingUsage proto as plain JSON (only the fields the answer set)."""
    from google.protobuf.json_format import MessageToDict

    return dict(MessageToDict(proto, preserving_proto_field_name=True))


async def generate_image(
    clients: XAIClients, plan: ImagePlan, ctx: GenerationContext, deadline: Deadline
) -> GeneratedMedia:
    """Generate, or edit every input image (after the continued one): one GenerateImage, base64 back."""
    (made,) = await generate_images(clients, plan, ctx, deadline)
    if isinstance(made, MediaGenError):
        raise made
    return made


async def generate_images(
    clients: XAIClients, plan: ImagePlan, ctx: GenerationContext, deadline: Deadline
) -> list[GeneratedMedia | MediaGenError]:
    """One GenerateImage call for the plan's n images (`sample` for one, `sample_batch` for several), each its own
    media with its own continuation, or why moderation withheld it; a call with every image withheld raises."""
    urls: list[str] = []
    if ctx.continuation is not None:
        urls.append(previous_image(ctx.continuation))
    if plan.images:
        urls += await asyncio.to_thread(lambda: [read_as_data_uri(image) for image in plan.images])
    kwargs: dict[str, Any] = dict(plan.kwargs)
    if len(urls) == 1:
        kwargs["image_url"] = urls[0]
    elif urls:
        kwargs["image_urls"] = urls
    client = await clients.get(ctx.credentials)

    async def sample() -> list[Any]:
        try:
            if plan.n == 1:
                return [await client.image.sample(plan.prompt, plan.model, **kwargs)]
            return list(await client.image.sample_batch(plan.prompt, plan.model, plan.n, **kwargs))
        except IndexError:  # xai-sdk 1.21 indexes the answer's images: an answer with fewer than asked
            raise ContentRejected(
                "xAI answered without an image, as its moderation does for a prompt it refuses; change the prompt",
                backend=BACKEND,
            ) from None

    responses = await vendor_call(sample(), deadline=deadline, secret=ctx.credentials)
    first = responses[0]
    metadata: dict[str, Any] = {"model": first.model, "input_images": len(urls)}
    usage = usage_of(first.usage)
    if usage:
        metadata["usage"] = usage  # the whole call's, for all its images
    # sample_batch answers one ImageResponse per image of the one proto, in its order (xai-sdk 1.21).
    made = [await _one_image(first.proto.images[index], plan, metadata) for index in range(len(responses))]
    if not any(isinstance(image, GeneratedMedia) for image in made):
        error = made[0]
        assert isinstance(error, MediaGenError)
        raise error
    return made


async def _one_image(image: Any, plan: ImagePlan, metadata: dict[str, Any]) -> GeneratedMedia | MediaGenError:
    """One GeneratedImage of the answer as media (its bytes kept as the continuation), or why it is missing."""
    encoded = image.base64
    if not image.respect_moderation:
        return ContentRejected(
            "xAI's moderation withheld the image; change the prompt or the input images", backend=BACKEND
        )
    if not encoded:
        return BackendError("xAI answered without an image", backend=BACKEND)
    if len(encoded) > _INLINE_DECODE_LIMIT:
        data, mime = await asyncio.to_thread(decode_answer, encoded)
    else:
        data, mime = decode_answer(encoded)
    state = ContinuationState(kind=IMAGE_KIND, data={"model": plan.model, "mime_type": mime}, blob=data)
    return GeneratedMedia.from_bytes(
        data,
        mime_type=mime,
        model=plan.model,
        metadata=dict(metadata),
        continuation=state,
        parameters=plan.parameters,
    )
