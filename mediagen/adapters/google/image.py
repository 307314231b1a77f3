"""Images: Gemini image models as a chat (so any image can be edited further), Imagen generate and edit."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from google.genai import types
from google.genai.errors import ExperimentalWarning

from mediagen.adapters.google.calls import vendor_call
from mediagen.adapters.google.client import GoogleClients, GoogleSettings
from mediagen.adapters.google.history import history_from_state, history_state, trim_history
from mediagen.adapters.google.mapping import (
    BACKEND,
    GeminiImagePlan,
    ImagenPlan,
)
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import BackendError, ContentRejected, MediaGenError
from mediagen.domain.request import InputImage
from mediagen.ports.generator import GeneratedMedia, GenerationContext

T = TypeVar("T")

#: Finish reasons that mean a safety or policy stop rather than a model that simply made no image.
SAFETY_FINISH_REASONS = frozenset(
    {
        "SAFETY",
        "IMAGE_SAFETY",
        "PROHIBITED_CONTENT",
        "IMAGE_PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_RECITATION",
        "MODEL_ARMOR",
    }
)


async def read_image(image: InputImage) -> dict[str, Any]:
    """An input image as an inline part (a PartDict), read off the event loop."""
    data = await asyncio.to_thread(image.read_bytes)
    return {"inline_data": {"data": data, "mime_type": image.mime_type or "image/png"}}


def _name(value: Any) -> str:
    return str(getattr(value, "value", value)) if value is not None else "none"


def check_prompt_feedback(response: types.GenerateContentResponse, what: str) -> None:
    """Raise ContentRejected when Gemini blocked the prompt itself (no candidates come back then)."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        detail = f": {feedback.block_reason_message}" if feedback.block_reason_message else ""
        raise ContentRejected(
            f"Gemini's safety filters blocked the prompt ({_name(feedback.block_reason)}){detail}; rephrase it",
            backend=BACKEND,
        )


def answer_parts(response: types.GenerateContentResponse, what: str) -> tuple[list[types.Part], str, str]:
    """The first candidate's non-thought parts, its finish reason, and what explains it.

    google-genai 3.6 drops finishMessage in Gemini-API mode, so the blocked safety categories explain it there.
    """
    check_prompt_feedback(response, what)
    candidates = response.candidates or []
    if not candidates:
        raise BackendError(f"Gemini returned no candidate and no {what}", backend=BACKEND)
    candidate = candidates[0]
    parts = [p for p in (candidate.content.parts or [] if candidate.content else []) if not p.thought]
    blocked = [_name(r.category) for r in candidate.safety_ratings or [] if r.blocked]
    explanation = "; ".join(filter(None, [candidate.finish_message, ", ".join(blocked)]))
    return parts, _name(candidate.finish_reason), explanation


def no_output_error(what: str, reason: str, message: str, texts: Sequence[str]) -> BackendError:
    """ContentRejected for a safety stop, else a BackendError saying no media came back (never an empty file)."""
    detail = f": {message}" if message else ""
    if reason in SAFETY_FINISH_REASONS:
        return ContentRejected(f"Gemini's safety filters stopped the {what} ({reason}){detail}", backend=BACKEND)
    said = " ".join(texts).strip()
    tail = f"; the model said: {said[:300]}" if said else ""
    return BackendError(f"Gemini returned no {what} (finish reason {reason}){detail}{tail}", backend=BACKEND)


def _usage(response: types.GenerateContentResponse) -> dict[str, Any]:
    usage = response.usage_metadata
    return usage.model_dump(mode="json", exclude_none=True) if usage is not None else {}


async def generate_gemini_image(
    clients: GoogleClients,
    settings: GoogleSettings,
    plan: GeminiImagePlan,
    ctx: GenerationContext,
    deadline: Deadline,
) -> GeneratedMedia:
    """One chat turn: restore the saved history (if continuing), send it with text + every input image, keep the
    answer.

    The turn is the request google-genai's chat sends (`chats.AsyncChat.send_message`: the history and the new
    user Content to `models.generate_content`), made directly: the chat object adds nothing to the body, and its
    bookkeeping (a deep copy of the config per turn, a per-request header override) costs the SDK's CPU each call.
    The contents go as ContentDicts, which the SDK turns into its request for less CPU than Content objects. The
    history kept is the chat's curated one: the turn joins it only when the answer is valid."""
    restored = history_from_state(ctx.continuation) if ctx.continuation is not None else None
    # Saved turns go back as saved (camelCase, or snake_case as older states were: the SDK reads both), checked
    # first so that a damaged one fails here, not inside the call.
    earlier = [dict(c) for c in restored.contents] if restored is not None else []
    for content in earlier:
        types.Content.model_validate(content)
    turn = {"role": "user", "parts": [{"text": plan.text}, *[await read_image(image) for image in plan.images]]}
    aio = await clients.for_call("models.generate_content", ctx.credentials)
    response: types.GenerateContentResponse = await vendor_call(
        aio.models.generate_content(
            model=plan.model,
            contents=[*earlier, turn],
            config=types.GenerateContentConfig.model_validate(dict(plan.config)),
        ),
        deadline=deadline,
        secret=ctx.credentials,
    )
    answer, reason, message = answer_parts(response, "image")
    texts = [p.text for p in answer if p.text]
    images = [p.inline_data for p in answer if p.inline_data is not None and p.inline_data.data]
    images = [blob for blob in images if (blob.mime_type or "image/").startswith("image/")]
    if not images:
        raise no_output_error("image", reason, message, texts)
    image = images[-1]
    assert image.data is not None
    answered = response.candidates[0].content if response.candidates else None
    contents = earlier
    if answered is not None and _valid_turn(answered):
        # The new turns kept in Google's JSON field names (camelCase), as the API documents its Content.
        new = (types.Content.model_validate(turn), answered)
        contents = [*earlier, *(c.model_dump(mode="json", exclude_none=True, by_alias=True) for c in new)]
    trimmed = trim_history(contents, max_turns=settings.max_history_turns, max_bytes=settings.max_history_bytes)
    dropped_before = restored.dropped_turns if restored is not None else 0
    metadata: dict[str, Any] = {
        "text": "\n".join(texts),
        "finish_reason": reason,
        "response_id": response.response_id,
        "model_version": response.model_version,
        "usage": _usage(response),
        "history": {
            "turns": trimmed.turns,
            "bytes": trimmed.size_bytes,
            "dropped_turns": trimmed.dropped_turns,
            "dropped_turns_total": dropped_before + trimmed.dropped_turns,
        },
    }
    if restored is not None and restored.model and restored.model != plan.model:
        metadata["history"]["started_with_model"] = restored.model
    return GeneratedMedia.from_bytes(
        image.data,
        mime_type=image.mime_type or "image/png",
        model=plan.model,
        metadata=metadata,
        continuation=history_state(plan.model, trimmed, dropped_before=dropped_before),
        parameters=plan.parameters,
    )


#: A part with nothing set: an answer holding one is not kept (see `_valid_turn`); built once, not per part.
_EMPTY_PART = types.Part()


def _valid_turn(content: types.Content) -> bool:
    """Whether a chat keeps this answer in its curated history (google-genai's rule: some parts, none empty)."""
    return bool(content.parts) and all(part != _EMPTY_PART for part in content.parts or [])


def _quietly(make: Callable[[], Awaitable[T]]) -> Awaitable[T]:
    """Start an Imagen call without its one-time ExperimentalWarning (google-genai 3.6 deprecates Imagen in
    favour of Gemini image models; mediagen uses Imagen on purpose). The warning fires when the call is made,
    synchronously, so the filter is in place only for that instant."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return make()


def _imagen_images(
    response: types.GenerateImagesResponse | types.EditImageResponse, plan: ImagenPlan, metadata: dict[str, Any]
) -> list[GeneratedMedia | MediaGenError]:
    """Each image asked (the plan's number_of_images), in Imagen's order: its media, or why its filters removed it.
    Imagen leaves a removed image out of its answer (or, asked for its reason, answers the reason in its place);
    when none is left, the call fails as one image's would."""
    asked = int(plan.config.get("number_of_images", 1))
    mime = str(plan.config.get("output_mime_type", "image/png"))
    made: list[GeneratedMedia | MediaGenError] = []
    reasons: list[str] = []
    for item in response.generated_images or []:
        if item.image is not None and item.image.image_bytes:
            made.append(
                GeneratedMedia.from_bytes(
                    item.image.image_bytes,
                    mime_type=item.image.mime_type or mime,
                    model=plan.model,
                    metadata=dict(metadata),
                    parameters=plan.parameters,
                )
            )
        elif item.rai_filtered_reason:
            reasons.append(item.rai_filtered_reason)
            made.append(ContentRejected(f"Imagen's safety filters removed the image: {item.rai_filtered_reason}",
                                        backend=BACKEND))  # fmt: skip
    if not any(isinstance(m, GeneratedMedia) for m in made):
        if reasons:
            raise ContentRejected(f"Imagen's safety filters removed the image: {'; '.join(reasons)}", backend=BACKEND)
        raise BackendError("Imagen returned no image (and gave no filter reason)", backend=BACKEND)
    while len(made) < asked:
        made.append(ContentRejected("Imagen's safety filters removed the image (no reason given)", backend=BACKEND))
    return made[:asked]


async def generate_imagen(
    clients: GoogleClients, plan: ImagenPlan, ctx: GenerationContext, deadline: Deadline
) -> list[GeneratedMedia | MediaGenError]:
    """generate_images (Vertex mode): the plan's number_of_images from the prompt, in one call."""
    aio = await clients.for_call("models.generate_images", ctx.credentials)
    config = types.GenerateImagesConfig.model_validate(dict(plan.config))
    call = _quietly(lambda: aio.models.generate_images(model=plan.model, prompt=plan.prompt, config=config))
    response = await vendor_call(call, deadline=deadline, secret=ctx.credentials)
    return _imagen_images(response, plan, {})


async def edit_imagen(
    clients: GoogleClients, plan: ImagenPlan, ctx: GenerationContext, deadline: Deadline
) -> list[GeneratedMedia | MediaGenError]:
    """edit_image (Vertex mode): the input image as the raw reference, the user's mask as the mask reference; the
    plan's number_of_images edits in one call."""
    assert plan.image is not None
    source = await asyncio.to_thread(plan.image.read_bytes)
    references: list[Any] = [
        types.RawReferenceImage(
            reference_id=1, reference_image=types.Image(image_bytes=source, mime_type=plan.image.mime_type)
        )
    ]
    if plan.mask is not None:
        given = plan.mask

        def convert() -> bytes:  # Imagen's form, whichever of mediagen's two the user gave (adapters/masks.py)
            from mediagen.adapters import masks  # in the worker thread: Pillow loads only for a masked edit
            from mediagen.adapters.pictures import upright_size

            return masks.white_where_changed(given.read_bytes(), upright_size(source))

        mask = await asyncio.to_thread(convert)
        references.append(
            types.MaskReferenceImage(
                reference_id=2,
                reference_image=types.Image(image_bytes=mask, mime_type="image/png"),
                config=types.MaskReferenceConfig(
                    mask_mode=types.MaskReferenceMode.MASK_MODE_USER_PROVIDED, mask_dilation=plan.mask_dilation
                ),
            )
        )
    aio = await clients.for_call("models.edit_image", ctx.credentials)
    config = types.EditImageConfig.model_validate(dict(plan.config))
    call = _quietly(
        lambda: aio.models.edit_image(model=plan.model, prompt=plan.prompt, reference_images=references, config=config)
    )
    response = await vendor_call(call, deadline=deadline, secret=ctx.credentials)
    return _imagen_images(response, plan, {"edit_mode": plan.config.get("edit_mode")})
