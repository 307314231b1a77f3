"""Pure functions: a MediaRequest to the kwargs the openai SDK takes, with every set parameter accounted for.

No I/O and no SDK import: plans hold plain values (input images still as paths); image.py, video.py and
audio.py turn them into calls. Property-tested in tests/unit/test_openai_mapping.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from mediagen.adapters.calls import check_images_per_call
from mediagen.adapters.openai.spec import (
    ALPHA_FORMATS,
    BACKGROUNDS,
    CUSTOM_VOICE_PREFIX,
    DEFAULT_SPEECH_FORMAT,
    DEFAULT_VOICE,
    IMAGE_FORMATS,
    IMAGE_QUALITIES,
    IMAGE_SIZES,
    LEGACY_SPEECH_VOICES,
    MAX_EDIT_IMAGES,
    MAX_IMAGE_PROMPT_CHARS,
    MAX_SPEECH_CHARS,
    SORA_PRO_SIZES,
    SORA_SECONDS,
    SORA_SIZES,
    SPEECH_FORMAT_ALIASES,
    SPEECH_FORMATS,
    SPEECH_MIME,
    SPEECH_VOICES,
    SPEED_RANGE,
    is_legacy_speech,
)
from mediagen.adapters.ratios import canonical
from mediagen.domain.backend import Constraints, ModelSpec
from mediagen.domain.errors import InvalidRequest
from mediagen.domain.media import AudioKind, MediaType
from mediagen.domain.report import ReportBuilder
from mediagen.domain.request import InputImage, MediaRequest, Size
from mediagen.domain.result import ParameterReport

BACKEND = "openai"

#: Quality names other vendors (and DALL-E) use, and the GPT image quality they mean.
_QUALITY_ALIASES = {"standard": "medium", "hd": "high"}
_MODERATION = ("low", "auto")
_FIDELITY = ("high", "low")


# --- value snapping -----------------------------------------------------------------------------------------------


def nearest_size(ratio: float, allowed: Sequence[str], *, area: int | None = None) -> str:
    """The allowed WxH whose shape is closest to `ratio` (log scale, so 2:1 and 1:2 are equally far from 1:1).

    Ties go to the size whose pixel count is closest to `area` when given, else to the larger one.
    """

    def key(text: str) -> tuple[float, int, int]:
        size = Size.parse(text)
        pixels = size.width * size.height
        return (round(abs(math.log(ratio / size.ratio)), 9), abs(pixels - area) if area is not None else 0, -pixels)

    return min(allowed, key=key)


def nearest_seconds(seconds: float, allowed: Sequence[float] = SORA_SECONDS) -> float:
    """The allowed clip length closest to `seconds`; ties go to the longer one."""
    return min(allowed, key=lambda value: (abs(value - seconds), -value))


def seconds_param(seconds: float) -> str:
    """A clip length as the string the Sora API wants ("4", "8", "12")."""
    return f"{seconds:g}"


def _constraints(model: ModelSpec | None) -> Constraints:
    return model.constraints if model is not None else Constraints()


def _check_prompt(request: MediaRequest, limit: int | None, model_name: str) -> None:
    if limit is not None and len(request.prompt) > limit:
        raise InvalidRequest(
            f"{model_name} takes at most {limit} characters; this one has {len(request.prompt)}. Shorten it",
            field="prompt",
        )


def _size_from_request(
    request: MediaRequest, report: ReportBuilder, allowed: Sequence[str], model_name: str
) -> tuple[str | None, bool]:
    """The allowed size for the request's size or aspect ratio (None when neither is set), and whether it was set."""
    if request.size is not None:
        asked = Size.parse(request.size)
        exact = canonical(str(asked), allowed)
        if exact is not None:
            report.apply("size", exact)
            return exact, True
        chosen = nearest_size(asked.ratio, allowed, area=asked.width * asked.height)
        report.adapt("size", chosen, f"{model_name} makes {', '.join(allowed)}")
        return chosen, True
    ratio = request.parsed_aspect_ratio
    if ratio is not None:
        chosen = nearest_size(ratio.value, allowed)
        if math.isclose(Size.parse(chosen).ratio, ratio.value, rel_tol=1e-6):
            report.apply("aspect_ratio", chosen)
        else:
            report.adapt("aspect_ratio", chosen, f"{model_name} makes {', '.join(allowed)}; this is the closest shape")
        return chosen, True
    return None, False


def _ignore_for_media(report: ReportBuilder, request: MediaRequest, model_name: str) -> None:
    """Parameters no OpenAI model of this kind has, each with the reason."""
    report.ignore("seed", f"OpenAI's {request.media_type.value} models take no seed; results are not repeatable")
    report.ignore("negative_prompt", "OpenAI takes no negative prompt; say what to avoid in the prompt")
    if request.media_type is not MediaType.AUDIO:
        for name in ("voice", "speed", "language"):
            report.ignore(name, f"{request.media_type.value} requests have no {name}")
    if request.media_type is MediaType.IMAGE:
        report.ignore("duration", "images have no duration")


# --- extras -------------------------------------------------------------------------------------------------------


def _choice_extra(request: MediaRequest, name: str, allowed: Sequence[str]) -> str | None:
    value = request.extra.get(name)
    if value is None:
        return None
    chosen = canonical(str(value), allowed) if isinstance(value, str) else None
    if chosen is None:
        raise InvalidRequest(f"{value!r} is not one of: {', '.join(allowed)}", field=f"extra.{name}")
    return chosen


def _compression_extra(request: MediaRequest) -> int | None:
    value = request.extra.get("output_compression")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise InvalidRequest(f"{value!r} is not a whole number from 0 to 100", field="extra.output_compression")
    return value


# --- images: options shared by the Images API and the Responses image tool ----------------------------------------


def _image_options(
    request: MediaRequest, report: ReportBuilder, model_name: str, constraints: Constraints
) -> dict[str, Any]:
    """size, quality, output_format, background and output_compression, validated against the model's lists."""
    options: dict[str, Any] = {}
    size, _ = _size_from_request(request, report, constraints.sizes or IMAGE_SIZES, model_name)
    if size is not None:
        options["size"] = size

    if request.quality is not None:
        qualities = constraints.qualities or IMAGE_QUALITIES
        quality = canonical(request.quality, qualities)
        alias = _QUALITY_ALIASES.get(request.quality.strip().lower())
        if quality is not None:
            options["quality"] = quality
            report.apply("quality", quality)
        elif alias is not None and alias in qualities:
            options["quality"] = alias
            report.adapt("quality", alias, f"{model_name} names its qualities {', '.join(qualities)}")
        else:
            report.ignore("quality", f"{model_name} takes quality {', '.join(qualities)}; its default (auto) was used")

    formats = constraints.output_formats or IMAGE_FORMATS
    fmt: str | None = None
    if request.output_format is not None:
        wanted = request.output_format.strip().lower()
        fmt = canonical("jpeg" if wanted == "jpg" else wanted, formats)
        if fmt is None:
            report.ignore("output_format", f"{model_name} makes {', '.join(formats)}; png was made")

    if request.background is not None:
        background = canonical(request.background, BACKGROUNDS)
        if background is None:
            report.ignore("background", f"background is one of {', '.join(BACKGROUNDS)}; auto was used")
        else:
            options["background"] = background
            report.apply("background", background)
            if background == "transparent" and fmt is not None and fmt not in ALPHA_FORMATS:
                report.adapt("output_format", "png", f"{fmt} cannot be transparent; a transparent background needs png")
                fmt = "png"
                options["output_format"] = fmt
    if fmt is not None:
        options["output_format"] = fmt
        if not any(a.name == "output_format" for a in report.adapted):
            report.apply("output_format", fmt)

    compression = _compression_extra(request)
    if compression is not None:
        if options.get("output_format", "png") == "png":
            report.ignore("extra.output_compression", "png is lossless; compression applies to jpeg and webp")
        else:
            options["output_compression"] = compression
            report.apply("extra.output_compression", compression)
    return options


def _check_images(request: MediaRequest, constraints: Constraints, model_name: str) -> None:
    limit = constraints.max_input_images if constraints.max_input_images is not None else MAX_EDIT_IMAGES
    if len(request.input_images) > limit:
        raise InvalidRequest(
            f"{model_name} takes at most {limit} input images; got {len(request.input_images)}. Send fewer images",
            field="input_images",
        )


@attrs.frozen
class ResponsesImagePlan:
    """One Responses API turn that makes an image with the image_generation tool."""

    model: str
    prompt: str
    #: The image_generation tool entry of `tools`.
    tool: Mapping[str, Any]
    images: tuple[InputImage, ...]
    instructions: str | None
    previous_response_id: str | None
    parameters: ParameterReport

    def kwargs(self, input_items: Any) -> dict[str, Any]:
        """The POST /responses body (responses.create's kwargs), given the `input` of prompt and images."""
        kwargs: dict[str, Any] = {
            "model": self.model,
            "input": input_items,
            "tools": [dict(self.tool)],
            # Force the tool: without it the model may answer in words only.
            "tool_choice": {"type": "image_generation"},
        }
        if self.instructions is not None:
            kwargs["instructions"] = self.instructions
        if self.previous_response_id is not None:
            kwargs["previous_response_id"] = self.previous_response_id
        return kwargs


def map_responses_image(
    request: MediaRequest,
    model_name: str,
    model: ModelSpec | None,
    *,
    previous_response_id: str | None = None,
    strict: bool = False,
) -> ResponsesImagePlan:
    """A request for a Responses model: tool options, input images, and the turn it continues (if any)."""
    report = ReportBuilder(request, model_name, backend=BACKEND, vendor="OpenAI")
    constraints = _constraints(model)
    _check_prompt(request, constraints.max_prompt_chars or MAX_IMAGE_PROMPT_CHARS, model_name)
    if request.mask is not None:
        raise InvalidRequest(
            f"{model_name} (Responses API) does not take mediagen's mask and would drop it; use gpt-image-1.5 "
            "or leave the model unset so the mask goes to a model that takes it",
            field="mask",
        )
    _check_images(request, constraints, model_name)
    report.apply("input_images", len(request.input_images))
    tool: dict[str, Any] = {"type": "image_generation", **_image_options(request, report, model_name, constraints)}
    image_model = request.extra.get("image_model")
    if image_model is not None:
        if not isinstance(image_model, str) or not image_model.strip():
            raise InvalidRequest("must name a GPT image model, e.g. gpt-image-1.5", field="extra.image_model")
        tool["model"] = image_model.strip()
        report.apply("extra.image_model", tool["model"])
    moderation = _choice_extra(request, "moderation", _MODERATION)
    if moderation is not None:
        tool["moderation"] = moderation
        report.apply("extra.moderation", moderation)
    fidelity = _choice_extra(request, "input_fidelity", _FIDELITY)
    if fidelity is not None:
        if request.input_images:
            tool["input_fidelity"] = fidelity
            report.apply("extra.input_fidelity", fidelity)
        else:
            report.ignore("extra.input_fidelity", "input fidelity applies to input images; none were given")
    if request.instructions is not None:
        report.apply("instructions")
    _ignore_for_media(report, request, model_name)
    check_images_per_call(request, 1, f"{model_name} (Responses API)")
    return ResponsesImagePlan(
        model=model_name,
        prompt=request.prompt,
        tool=tool,
        images=request.input_images,
        instructions=request.instructions,
        previous_response_id=previous_response_id,
        parameters=report.finish(strict=strict),
    )


@attrs.frozen
class ImagesApiPlan:
    """images.generate (no input images) or images.edit (every input image, and the mask when given)."""

    model: str
    #: Everything but the files: prompt, model, size, quality, background, output_format, ...
    kwargs: Mapping[str, Any]
    images: tuple[InputImage, ...]
    mask: InputImage | None
    parameters: ParameterReport

    @property
    def is_edit(self) -> bool:
        return bool(self.images)


def map_images_api(
    request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False
) -> ImagesApiPlan:
    """A request for a GPT image model on the Images API."""
    report = ReportBuilder(request, model_name, backend=BACKEND, vendor="OpenAI")
    constraints = _constraints(model)
    _check_prompt(request, constraints.max_prompt_chars or MAX_IMAGE_PROMPT_CHARS, model_name)
    _check_images(request, constraints, model_name)
    kwargs: dict[str, Any] = {
        "prompt": request.prompt,
        "model": model_name,
        **_image_options(request, report, model_name, constraints),
    }
    report.apply("input_images", len(request.input_images))
    if request.mask is not None:
        report.apply("mask")
    check_images_per_call(request, constraints.images_per_call, model_name)
    if request.n > 1:
        kwargs["n"] = request.n
    moderation = _choice_extra(request, "moderation", _MODERATION)
    if moderation is not None:
        if request.input_images:
            report.ignore("extra.moderation", "images.edit has no moderation setting")
        else:
            kwargs["moderation"] = moderation
            report.apply("extra.moderation", moderation)
    fidelity = _choice_extra(request, "input_fidelity", _FIDELITY)
    if fidelity is not None:
        if request.input_images:
            kwargs["input_fidelity"] = fidelity
            report.apply("extra.input_fidelity", fidelity)
        else:
            report.ignore("extra.input_fidelity", "input fidelity applies to input images; none were given")
    report.ignore("instructions", f"{model_name} takes only a prompt; use a Responses model (gpt-5.4) for instructions")
    report.ignore("extra.image_model", "the Images API's model is the request's model")
    _ignore_for_media(report, request, model_name)
    return ImagesApiPlan(model_name, kwargs, request.input_images, request.mask, report.finish(strict=strict))


# --- video --------------------------------------------------------------------------------------------------------


@attrs.frozen
class VideoPlan:
    """videos.create (with an optional starting image) or videos.remix of an earlier video."""

    model: str
    prompt: str
    #: videos.create kwargs besides input_reference: prompt, model, size, and seconds when set.
    kwargs: Mapping[str, Any]
    #: The size the video (and so the starting image) has.
    size: Size
    reference: InputImage | None
    remix_of: str | None
    parameters: ParameterReport


def sora_sizes(model_name: str, model: ModelSpec | None) -> tuple[str, ...]:
    if model is not None and model.constraints.sizes:
        return model.constraints.sizes
    return SORA_PRO_SIZES if model_name.startswith("sora-2-pro") else SORA_SIZES


def map_video(
    request: MediaRequest,
    model_name: str,
    model: ModelSpec | None,
    *,
    remix_of: str | None = None,
    input_size: Size | None = None,
    strict: bool = False,
) -> VideoPlan:
    """A Sora request. `input_size` is the starting image's size: its shape picks the video's when none is asked."""
    report = ReportBuilder(request, model_name, backend=BACKEND, vendor="OpenAI")
    allowed = sora_sizes(model_name, model)
    durations = _constraints(model).durations or SORA_SECONDS
    if remix_of is not None:
        if request.input_images:
            raise InvalidRequest(
                "a remix changes an earlier video by prompt and takes no input image; drop it or start a new video",
                field="input_images",
            )
        for name in ("size", "aspect_ratio", "duration"):
            report.ignore(name, "a remix keeps the source video's size and length")
        _video_common(request, report, model_name)
        return VideoPlan(
            model=model_name,
            prompt=request.prompt,
            kwargs={"prompt": request.prompt},
            size=Size.parse(allowed[0]),
            reference=None,
            remix_of=remix_of,
            parameters=report.finish(strict=strict),
        )
    if len(request.input_images) > 1:
        raise InvalidRequest(
            f"{model_name} starts from one image; got {len(request.input_images)}. Send one", field="input_images"
        )
    size_text, was_set = _size_from_request(request, report, allowed, model_name)
    if not was_set:
        size_text = nearest_size(input_size.ratio, allowed) if input_size is not None else allowed[0]
    assert size_text is not None
    kwargs: dict[str, Any] = {"prompt": request.prompt, "model": model_name, "size": size_text}
    if request.duration is not None:
        seconds = nearest_seconds(request.duration, durations)
        kwargs["seconds"] = seconds_param(seconds)
        if math.isclose(seconds, request.duration):
            report.apply("duration", seconds)
        else:
            choices = ", ".join(seconds_param(d) for d in durations)
            report.adapt("duration", seconds, f"{model_name} makes clips of {choices} seconds; this is the nearest")
    report.apply("input_images", len(request.input_images))
    _video_common(request, report, model_name)
    return VideoPlan(
        model=model_name,
        prompt=request.prompt,
        kwargs=kwargs,
        size=Size.parse(size_text),
        reference=request.input_images[0] if request.input_images else None,
        remix_of=None,
        parameters=report.finish(strict=strict),
    )


def _video_common(request: MediaRequest, report: ReportBuilder, model_name: str) -> None:
    if request.output_format is not None:
        if request.output_format.strip().lower() == "mp4":
            report.apply("output_format", "mp4")
        else:
            report.ignore("output_format", f"{model_name} makes mp4 only")
    report.ignore(
        "quality", f"Sora has no quality setting; sora-2-pro is the higher-fidelity model ({model_name} used)"
    )
    report.ignore("background", "videos have no transparent background")
    report.ignore("instructions", f"{model_name} takes only a prompt")
    _ignore_for_media(report, request, model_name)


# --- speech -------------------------------------------------------------------------------------------------------


@attrs.frozen
class SpeechPlan:
    """audio.speech.create kwargs and the MIME type of the bytes it returns."""

    model: str
    kwargs: Mapping[str, Any]
    audio_format: str
    mime_type: str
    parameters: ParameterReport


def speech_voices(model_name: str, model: ModelSpec | None) -> tuple[str, ...]:
    if model is not None and model.constraints.voices:
        return model.constraints.voices
    return LEGACY_SPEECH_VOICES if is_legacy_speech(model_name) else SPEECH_VOICES


def map_speech(request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False) -> SpeechPlan:
    """A speech request: voice and format checked against the model's lists, instructions where taken."""
    kind = request.effective_audio_kind
    if kind is not AudioKind.SPEECH:
        raise InvalidRequest(
            f"OpenAI makes speech, not {kind.value if kind else 'this'}; choose another backend", field="audio_kind"
        )
    report = ReportBuilder(request, model_name, backend=BACKEND, vendor="OpenAI")
    constraints = _constraints(model)
    _check_prompt(request, constraints.max_prompt_chars or MAX_SPEECH_CHARS, model_name)

    voices = speech_voices(model_name, model)
    voice: str | dict[str, str]
    if request.voice is None:
        voice = DEFAULT_VOICE if DEFAULT_VOICE in voices else voices[0]
    elif request.voice.strip().startswith(CUSTOM_VOICE_PREFIX):
        voice = {"id": request.voice.strip()}
        report.apply("voice", request.voice.strip())
    else:
        found = canonical(request.voice, voices)
        if found is None:
            raise InvalidRequest(
                f"{request.voice!r} is not a voice of {model_name}; choose one of: {', '.join(voices)} "
                f"(or a custom voice id starting with {CUSTOM_VOICE_PREFIX!r})",
                field="voice",
            )
        voice = found
        report.apply("voice", found)

    formats = constraints.audio_formats or SPEECH_FORMATS
    fmt = DEFAULT_SPEECH_FORMAT
    if request.audio_format is not None:
        wanted = request.audio_format.strip().lower()
        alias = SPEECH_FORMAT_ALIASES.get(wanted)
        if wanted in formats:
            fmt = wanted
            report.apply("audio_format", fmt)
        elif alias is not None and alias in formats:
            fmt = alias
            report.adapt("audio_format", fmt, f"OpenAI's {alias} output is what {wanted} holds (Ogg Opus)")
        else:
            raise InvalidRequest(
                f"{model_name} makes {', '.join(formats)}, not {request.audio_format!r}; choose one of those",
                field="audio_format",
            )

    kwargs: dict[str, Any] = {"model": model_name, "input": request.prompt, "voice": voice, "response_format": fmt}
    if request.instructions is not None:
        if is_legacy_speech(model_name):
            report.ignore("instructions", f"{model_name} takes no instructions; gpt-4o-mini-tts does")
        else:
            kwargs["instructions"] = request.instructions
            report.apply("instructions")
    if request.speed is not None:
        low, high = SPEED_RANGE
        speed = min(max(request.speed, low), high)
        kwargs["speed"] = speed
        if speed == request.speed:
            report.apply("speed", speed)
        else:
            report.adapt("speed", speed, f"OpenAI speech speed runs from {low:g} to {high:g}")
    report.ignore("language", "OpenAI speech reads the language from the text")
    report.ignore("output_format", "for speech, set audio_format")
    for name in ("size", "aspect_ratio", "quality", "background", "duration"):
        report.ignore(name, "speech has no such setting")
    _ignore_for_media(report, request, model_name)
    return SpeechPlan(model_name, kwargs, fmt, SPEECH_MIME[fmt], report.finish(strict=strict))
