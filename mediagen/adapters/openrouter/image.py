"""One image turn on OpenRouter: chat completions with image output, the answer's image decoded or fetched, the
conversation kept so the next turn (in any process) edits this image."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from mediagen.adapters.openrouter.client import OpenRouterClients, OpenRouterSettings, fetch_image, vendor_call
from mediagen.adapters.openrouter.errors import answer_error, scrub
from mediagen.adapters.openrouter.mapping import (
    BACKEND,
    Answer,
    Conversation,
    ImagePlan,
    after_turn,
    data_url,
    decode_data_url,
    quoted,
    read_answer,
    split_data_url,
    turn_messages,
)
from mediagen.adapters.openrouter.spec import IMAGE_ONLY
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import BackendError, ContentRejected, MediaGenError
from mediagen.domain.media import MediaType
from mediagen.domain.request import InputImage
from mediagen.domain.secret import Secret
from mediagen.domain.sniff import SNIFF_BYTES, media_type_of, sniff
from mediagen.ports.generator import GeneratedMedia, GenerationContext

if TYPE_CHECKING:
    from openai import AsyncOpenAI

#: Finish reasons that mean a filter stopped the answer rather than a model that simply drew nothing.
FILTER_REASONS = frozenset(
    {"content_filter", "SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT"}
)


#: Base64 characters decoded on the event loop (at most ~0.2 ms of work); larger images are decoded in a thread.
INLINE_DECODE_CHARS = 256 * 1024


def _input_urls(images: Sequence[InputImage]) -> list[str]:
    return [data_url(image.mime_type or "image/png", image.read_bytes()) for image in images]


async def _complete(client: AsyncOpenAI, body: dict[str, Any]) -> dict[str, Any]:
    """POST /chat/completions through the SDK; the answer as the JSON it came in (OpenRouter's fields included).

    The SDK's own POST, as `chat.completions.create` makes it, minus two passes that change nothing here: create's
    pass over the body against its TypedDicts (which leaves every body a plan builds unchanged, as
    tests/unit/test_openrouter_mapping.py checks against the installed SDK), and the answer parsed into a
    ChatCompletion only to be dumped back to JSON. Together about 0.3 ms of the event loop's CPU a call, and on the
    first call the TypedDicts' type hints, resolved on the loop (about 35 ms)."""
    answer = await client.post("/chat/completions", body=body, cast_to=object)
    if not isinstance(answer, dict):  # the SDK gives a body that is not JSON as its text
        raise BackendError(
            f"OpenRouter answered with {type(answer).__name__} data, not a JSON object; generate again",
            backend=BACKEND,
        )
    return answer


def _wants_image_only(plan: ImagePlan, error: BackendError) -> bool:
    """Whether OpenRouter found no endpoint for an unlisted model asked for text too (its 404 "No endpoints found
    that support the requested output modalities")."""
    return (
        not plan.listed and plan.modalities != IMAGE_ONLY and error.status == 404 and "output modalities" in str(error)
    )


def _no_image(answer: Answer, secret: Secret) -> MediaGenError:
    reason = answer.native_finish_reason or answer.finish_reason or "none"
    text = scrub(answer.text, secret)
    said = f"; the model said: {quoted(text)!r}" if text else ""
    if answer.finish_reason in FILTER_REASONS or answer.native_finish_reason in FILTER_REASONS:
        return ContentRejected(
            f"a content filter stopped the image (finish reason {reason}){said}; rephrase the prompt", backend=BACKEND
        )
    return BackendError(
        f"OpenRouter answered without an image (finish reason {reason}){said}; ask plainly for a picture, or pick a "
        "model whose output includes images (`mediagen backends openrouter --refresh`)",
        backend=BACKEND,
    )


def _image_mime(data: bytes, claimed: str | None) -> str:
    found = sniff(data[:SNIFF_BYTES])
    if found is None or media_type_of(found) is not MediaType.IMAGE:
        raise BackendError(
            f"OpenRouter's image is not a PNG, JPEG, WebP or GIF (claimed {claimed or 'nothing'}); generate again",
            backend=BACKEND,
        )
    return found


async def _image_bytes(
    clients: OpenRouterClients, settings: OpenRouterSettings, url: str, deadline: Deadline, secret: Secret
) -> tuple[bytes, str, str]:
    """The image's bytes, its mime type, and a data URL of it for the conversation; `url` is a data URL (decoded
    off the loop) or an http(s) URL (fetched now, before it expires)."""
    parts = split_data_url(url)
    if parts is not None:
        if len(parts[1]) * 3 // 4 > settings.max_image_bytes:
            raise BackendError(
                f"OpenRouter's image is larger than {settings.max_image_bytes} bytes; raise "
                f"backends.{BACKEND}.extra.max_image_bytes to take it",
                backend=BACKEND,
            )
        try:
            # Decoding costs ~1 ms per MiB; below INLINE_DECODE_CHARS that is less than a worker-thread hop.
            small = len(parts[1]) <= INLINE_DECODE_CHARS
            claimed, data = decode_data_url(url) if small else await asyncio.to_thread(decode_data_url, url)
        except ValueError as exc:
            raise BackendError(f"OpenRouter's image data URL is broken: {exc}", backend=BACKEND) from None
        return data, _image_mime(data, claimed), url
    data = await fetch_image(clients, url, limit=settings.max_image_bytes, deadline=deadline, secret=secret)
    mime = _image_mime(data, None)
    return data, mime, await asyncio.to_thread(data_url, mime, data)


async def generate_image(
    clients: OpenRouterClients,
    settings: OpenRouterSettings,
    plan: ImagePlan,
    previous: Conversation | None,
    ctx: GenerationContext,
    deadline: Deadline,
) -> GeneratedMedia:
    """One turn: the kept conversation (if continuing) and the prompt with the last image and the input images."""
    input_urls = await asyncio.to_thread(_input_urls, plan.images) if plan.images else []
    messages = turn_messages(previous, plan.prompt, input_urls)
    client = await clients.get(ctx.credentials)
    try:
        raw = await vendor_call(_complete(client, plan.body(messages)), deadline=deadline, secret=ctx.credentials)
    except BackendError as error:
        if not _wants_image_only(plan, error):
            raise
        # A model mediagen does not list that makes images only (OpenRouter's docs: ask those with ["image"]);
        # nothing was generated or charged, so ask again the way it takes.
        plan = attrs.evolve(plan, modalities=IMAGE_ONLY)
        raw = await vendor_call(_complete(client, plan.body(messages)), deadline=deadline, secret=ctx.credentials)
    answer = read_answer(raw)
    if answer.error is not None:
        raise answer_error(answer.error, secret=ctx.credentials)
    if not answer.image_urls:
        raise _no_image(answer, ctx.credentials)
    url = answer.image_urls[-1]
    data, mime, kept_url = await _image_bytes(clients, settings, url, deadline, ctx.credentials)
    conversation, trimmed = after_turn(
        previous,
        messages,
        answer.text,
        kept_url,
        model=plan.model,
        max_turns=settings.max_history_turns,
        max_bytes=settings.max_history_bytes,
        image=data,
    )
    metadata: dict[str, Any] = {
        "api": "chat.completions",
        "response_id": answer.id,
        "provider": answer.provider,
        "routed_model": answer.model,
        "finish_reason": answer.finish_reason,
        "native_finish_reason": answer.native_finish_reason,
        "image_source": "data_url" if kept_url is url else "url",
        "history": {
            "turns": trimmed.turns,
            "bytes": trimmed.size_bytes,
            "dropped_turns": trimmed.dropped_turns,
            "dropped_turns_total": conversation.dropped_turns,
        },
    }
    if answer.text:
        metadata["text"] = scrub(answer.text, ctx.credentials)
    if len(answer.image_urls) > 1:
        metadata["images_returned"] = len(answer.image_urls)
    if answer.usage is not None:
        metadata["usage"] = dict(answer.usage)
    return GeneratedMedia.from_bytes(
        data,
        mime_type=mime,
        model=plan.model,
        metadata={k: v for k, v in metadata.items() if v is not None},
        continuation=conversation.state(),
        parameters=plan.parameters,
    )
