"""Pure functions: a MediaRequest to OpenRouter's chat-completions body, the conversation kept between turns, and
the answer read back. No I/O and no SDK import; property-tested in tests/unit/test_openrouter_mapping.py.

Request and answer shapes follow https://openrouter.ai/docs/guides/overview/multimodal/image-generation: a user
message whose content is text and `image_url` parts (data URLs), `modalities`, `image_config`; the answer's
`choices[0].message.images` as `[{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}]`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

from mediagen.adapters.openrouter.spec import (
    COMMON_ASPECT_RATIOS,
    IMAGE_SIZES,
    modalities_for,
)
from mediagen.adapters.ratios import aspect_for, canonical, tier_for
from mediagen.adapters.turns import TrimmedHistory, trim_history
from mediagen.domain.backend import Constraints, ModelSpec
from mediagen.domain.errors import InvalidRequest
from mediagen.domain.media import Capability, MediaType
from mediagen.domain.report import ReportBuilder
from mediagen.domain.request import InputImage, MediaRequest
from mediagen.domain.result import ParameterReport
from mediagen.ports.continuation import ContinuationState

BACKEND: Final = "openrouter"
#: ContinuationState.kind of an OpenRouter image conversation.
CHAT_KIND: Final = "openrouter_chat"
#: How much of a model's words an error quotes.
QUOTE_CHARS: Final = 300

_MIME = re.compile(r"[\w.+-]+/[\w.+-]+")
_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)(?:;[^,;]*)*;base64,", re.IGNORECASE)


# --- the request --------------------------------------------------------------------------------------------------


@attrs.frozen
class ImagePlan:
    """One chat-completions call for an image: the prompt, input images (still paths), modalities, image_config."""

    model: str
    prompt: str
    images: tuple[InputImage, ...]
    modalities: tuple[str, ...]
    image_config: Mapping[str, str]
    parameters: ParameterReport
    #: Whether the model is one mediagen lists (an unlisted one is sent as named, its values unchecked).
    listed: bool = True

    def body(self, messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The JSON body: model, messages, modalities and (when set) image_config."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(message) for message in messages],
            "modalities": list(self.modalities),
        }
        if self.image_config:
            body["image_config"] = dict(self.image_config)
        return body


def map_image(request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False) -> ImagePlan:
    """The plan for `request` on `model_name`; `model` is its spec entry (None for a model mediagen does not list,
    which is sent as named: its aspect ratio snaps to OpenRouter's common ones, its size tier to the documented
    tiers, and OpenRouter clamps them to what the model's provider takes)."""
    report = ReportBuilder(request, model_name, backend=BACKEND, vendor="OpenRouter")
    listed = model is not None
    constraints = model.constraints if model is not None else Constraints()
    if request.mask is not None:
        raise InvalidRequest(
            f"OpenRouter's chat image models take no mask and {model_name} would drop it; "
            "leave the backend unset so the mask goes to a backend that takes one",
            field="mask",
        )
    limit = constraints.max_input_images
    if limit is not None and len(request.input_images) > limit:
        raise InvalidRequest(
            f"{model_name} takes at most {limit} input images; got {len(request.input_images)}. Send fewer images",
            field="input_images",
        )
    report.apply("input_images", len(request.input_images))

    image_config: dict[str, str] = {}
    ratios = constraints.aspect_ratios if listed else COMMON_ASPECT_RATIOS
    aspect: str | None = None
    if ratios:
        aspect, aspect_reasons = aspect_for(request, ratios, model_name)
        if aspect is not None:
            image_config["aspect_ratio"] = aspect
        report.settle("aspect_ratio", aspect, aspect_reasons)
    else:
        report.ignore("aspect_ratio", f"{model_name} takes no aspect_ratio in image_config")

    tiers = constraints.resolutions if listed else IMAGE_SIZES
    tier: str | None = None
    if request.quality is not None:
        tier = canonical(request.quality, tiers) if tiers else None
        if tier is None:
            said = f"one of {', '.join(tiers)}" if tiers else "none: it takes no image_size"
            report.ignore("quality", f"{model_name} sets detail by image_size, {said}")
        else:
            report.apply("quality", tier)
    size = request.parsed_size
    if size is not None:
        if tiers and tier is None:
            tier = tier_for(size, tiers)
        used = f"{aspect} at {tier}" if tier is not None else aspect
        if used is None:
            report.ignore("size", f"{model_name} takes neither an aspect ratio nor an image size")
        else:
            shape = f"an aspect ratio and a size tier ({', '.join(tiers)})" if tiers else "an aspect ratio"
            report.settle("size", used, [f"{model_name} takes {shape}, not pixels"])
    if tier is not None:
        image_config["image_size"] = tier

    report.ignore("seed", "OpenRouter documents no seed for image models")
    report.ignore("negative_prompt", f"{model_name} takes no negative prompt; say what to avoid in the prompt")
    report.ignore("background", "OpenRouter's chat image models take no background setting")
    report.ignore("output_format", "the model picks the image format (Gemini answers PNG); mediagen keeps it")
    return ImagePlan(
        model=model_name,
        prompt=request.prompt,
        images=request.input_images,
        modalities=modalities_for(model_name),
        image_config=image_config,
        parameters=report.finish(strict=strict),
        listed=listed,
    )


# --- messages and the conversation kept between turns --------------------------------------------------------------


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def user_message(text: str, image_urls: Sequence[str]) -> dict[str, Any]:
    """A user message: the text, then each image as an image_url part."""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    content += [{"type": "image_url", "image_url": {"url": url}} for url in image_urls]
    return {"role": "user", "content": content}


@attrs.frozen
class Conversation:
    """An image conversation as continuation state: the messages so far (bounded), the last image as a data URL,
    and how many turns were dropped to keep it bounded.

    Saved, the last image is the state's blob (its raw bytes, with its mime type in the data) rather than a data URL
    inside the JSON: a third smaller, and no base64 text for the store to encode and parse; reading the state back
    rebuilds the data URL the next turn sends."""

    model: str
    messages: tuple[Mapping[str, Any], ...]
    last_image: str
    dropped_turns: int = 0
    #: The last image's bytes, when in hand (the turn just made): the blob, without decoding `last_image` again.
    last_image_bytes: bytes | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)

    def state(self) -> ContinuationState:
        parts = split_data_url(self.last_image)
        if self.last_image_bytes is not None and parts is not None:
            mime, blob = parts[0], self.last_image_bytes
        else:
            mime, blob = decode_data_url(self.last_image)
        return ContinuationState(
            kind=CHAT_KIND,
            data={
                "model": self.model,
                "messages": [dict(message) for message in self.messages],
                "last_image_mime": mime,
                "dropped_turns": self.dropped_turns,
            },
            blob=blob,
        )


def conversation_from_state(state: ContinuationState) -> Conversation:
    """Read a saved conversation back; another backend's (or a damaged) state is an InvalidRequest."""
    if state.kind != CHAT_KIND:
        raise InvalidRequest(
            f"this continuation is a {state.kind!r}, not an OpenRouter image conversation; "
            "continue it with the backend that made it",
            field="continue_from",
        )
    messages = state.data.get("messages")
    mime = state.data.get("last_image_mime")
    if state.blob is not None and isinstance(mime, str) and _MIME.fullmatch(mime):
        last_image: Any = data_url(mime, state.blob)
    else:  # a state saved with the image as a data URL in its data
        last_image = state.data.get("last_image")
    if (
        not isinstance(messages, list)
        or not all(isinstance(m, Mapping) for m in messages)
        or not isinstance(last_image, str)
        or split_data_url(last_image) is None
    ):
        raise InvalidRequest(
            "the saved OpenRouter conversation is damaged (no messages or no last image); start a new image",
            field="continue_from",
        )
    dropped = state.data.get("dropped_turns", 0)
    return Conversation(
        model=str(state.data.get("model", "")),
        messages=tuple(messages),
        last_image=last_image,
        dropped_turns=dropped if isinstance(dropped, int) and not isinstance(dropped, bool) else 0,
    )


def turn_messages(previous: Conversation | None, prompt: str, input_urls: Sequence[str]) -> list[dict[str, Any]]:
    """What one turn sends: the kept messages, then the prompt with the last image (when continuing) and the
    request's own input images."""
    history = [dict(m) for m in previous.messages] if previous is not None else []
    last = [previous.last_image] if previous is not None else []
    return [*history, user_message(prompt, [*last, *input_urls])]


def after_turn(
    previous: Conversation | None,
    sent: Sequence[Mapping[str, Any]],
    reply_text: str,
    image_url: str,
    *,
    model: str,
    max_turns: int,
    max_bytes: int,
    image: bytes | None = None,
) -> tuple[Conversation, TrimmedHistory]:
    """The conversation after a turn: what was sent, the model's words (an assistant message, when it said any),
    trimmed to `max_turns` turns and `max_bytes` of JSON (oldest whole turns first); the new image (`image_url`,
    and its bytes `image` when in hand) kept apart."""
    messages = [dict(m) for m in sent]
    if reply_text.strip():
        messages.append({"role": "assistant", "content": reply_text})
    trimmed = trim_history(messages, max_turns=max_turns, max_bytes=max_bytes)
    dropped_before = previous.dropped_turns if previous is not None else 0
    conversation = Conversation(
        model, trimmed.contents, image_url, dropped_before + trimmed.dropped_turns, last_image_bytes=image
    )
    return conversation, trimmed


# --- the answer ---------------------------------------------------------------------------------------------------


@attrs.frozen
class Answer:
    """What matters in a chat-completions answer for an image."""

    id: str | None
    model: str | None
    provider: str | None
    text: str
    image_urls: tuple[str, ...]
    finish_reason: str | None
    native_finish_reason: str | None
    usage: Mapping[str, Any] | None
    #: An error OpenRouter put in a 200 answer (the model failed after it started): {code, message, metadata}.
    error: Mapping[str, Any] | None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping) and p.get("type") == "text")
    return ""


def read_answer(body: Mapping[str, Any]) -> Answer:
    """The first choice's words, image URLs (data or http), finish reasons, the upstream provider and usage."""
    choices = body.get("choices") if isinstance(body.get("choices"), list) else []
    choice: Mapping[str, Any] = choices[0] if choices and isinstance(choices[0], Mapping) else {}
    message = choice.get("message") if isinstance(choice.get("message"), Mapping) else {}
    assert isinstance(message, Mapping)
    urls: list[str] = []
    for image in message.get("images") or []:
        holder = image.get("image_url") if isinstance(image, Mapping) else None
        url = holder.get("url") if isinstance(holder, Mapping) else None
        if isinstance(url, str) and url:
            urls.append(url)
    error = choice.get("error") if isinstance(choice.get("error"), Mapping) else body.get("error")
    usage = body.get("usage")
    return Answer(
        id=_str_or_none(body.get("id")),
        model=_str_or_none(body.get("model")),
        provider=_str_or_none(body.get("provider")),
        text=_text_of(message.get("content")).strip(),
        image_urls=tuple(urls),
        finish_reason=_str_or_none(choice.get("finish_reason")),
        native_finish_reason=_str_or_none(choice.get("native_finish_reason")),
        usage=dict(usage) if isinstance(usage, Mapping) else None,
        error=error if isinstance(error, Mapping) else None,
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def split_data_url(url: str) -> tuple[str, str] | None:
    """(mime type, base64 payload) of a base64 data URL; None for anything else (an http URL)."""
    match = _DATA_URL.match(url)
    if match is None:
        return None
    return match["mime"].lower(), url[match.end() :]


def decode_data_url(url: str) -> tuple[str, bytes]:
    """The mime type and bytes of a base64 data URL; ValueError when it is not one or not valid base64."""
    parts = split_data_url(url)
    if parts is None:
        raise ValueError("not a base64 data URL")
    mime, payload = parts
    try:
        return mime, base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the data URL's base64 is not valid") from None


def quoted(text: str, limit: int = QUOTE_CHARS) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- the model list -----------------------------------------------------------------------------------------------


def listed_image_models(models: Sequence[Mapping[str, Any]]) -> list[ModelSpec]:
    """The models of OpenRouter's GET /models answer whose `architecture.output_modalities` include image, as
    specs: every one generates; one that also takes images in edits, and continues a conversation."""
    found: list[ModelSpec] = []
    for entry in models:
        architecture = entry.get("architecture")
        if not isinstance(architecture, Mapping):
            continue
        outputs = architecture.get("output_modalities")
        inputs = architecture.get("input_modalities")
        model_id = entry.get("id")
        if not isinstance(model_id, str) or not isinstance(outputs, list) or "image" not in outputs:
            continue
        caps = {Capability.TEXT_TO_IMAGE}
        if isinstance(inputs, list) and "image" in inputs:
            caps |= {Capability.IMAGE_EDIT, Capability.MULTI_IMAGE_INPUT, Capability.CONTINUATION}
        name = entry.get("name")
        found.append(ModelSpec(model_id, MediaType.IMAGE, frozenset(caps), description=str(name or "")))
    return found
