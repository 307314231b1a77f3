"""Pure functions: a MediaRequest to what google-genai takes, with every set parameter applied, adapted or ignored.

No I/O and no SDK import: the plans hold plain values (config dicts the SDK validates, input images still as
paths); image.py, video.py and speech.py turn them into calls. Property-tested in tests/unit/test_google_mapping.py.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from mediagen.adapters.calls import check_images_per_call
from mediagen.adapters.google.spec import DEFAULT_VOICE, SPEECH_FORMATS, VEO_RULES, VeoRules
from mediagen.adapters.ratios import aspect_for, canonical, tier_for
from mediagen.domain.backend import Constraints, ModelSpec
from mediagen.domain.errors import InvalidRequest
from mediagen.domain.media import Capability, MediaType
from mediagen.domain.report import ReportBuilder
from mediagen.domain.request import InputImage, MediaRequest
from mediagen.domain.result import ParameterReport

BACKEND = "google"

#: Nominal long side of each Gemini/Imagen image size tier, to pick a tier from a requested WxH.
_TIERS = {"1K": 1024, "2K": 2048, "4K": 4096}
#: Nominal short side of each Veo resolution.
_RESOLUTIONS = {"720p": 720, "1080p": 1080}
_FORMAT_MIME = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg"}
_EDIT_MODES = {
    "inpaint_insertion": "EDIT_MODE_INPAINT_INSERTION",
    "inpaint_removal": "EDIT_MODE_INPAINT_REMOVAL",
    "outpaint": "EDIT_MODE_OUTPAINT",
}


class Family(enum.Enum):
    """Which Google API a request goes to; decided by the model's name and the request."""

    GEMINI_IMAGE = "gemini image (generate_content)"
    IMAGEN_GENERATE = "imagen (generate_images)"
    IMAGEN_EDIT = "imagen (edit_image)"
    VEO = "veo (generate_videos)"
    GEMINI_TTS = "gemini speech (generate_content)"


def family_of(request: MediaRequest, model: str) -> Family:
    """The API for `request` on `model`: Imagen for imagen-* (edit when input images are given), else Gemini."""
    if request.media_type is MediaType.VIDEO:
        return Family.VEO
    if request.media_type is MediaType.AUDIO:
        return Family.GEMINI_TTS
    if model.startswith("imagen-"):
        return Family.IMAGEN_EDIT if request.input_images else Family.IMAGEN_GENERATE
    return Family.GEMINI_IMAGE


# --- the parameter report ---------------------------------------------------------------------------------------


def _report_for(request: MediaRequest, model: str) -> ReportBuilder:
    return ReportBuilder(request, model, backend=BACKEND, vendor="Google")


# --- shared value snapping ----------------------------------------------------------------------------------------


def nearest_duration(seconds: float, allowed: Sequence[float]) -> float:
    """The allowed duration closest to `seconds`; ties go to the longer one."""
    return min(allowed, key=lambda value: (abs(value - seconds), -value))


def _check_input_count(request: MediaRequest, constraints: Constraints, model: str, what: str) -> None:
    limit = constraints.max_input_images
    if limit is not None and len(request.input_images) > limit:
        raise InvalidRequest(
            f"{model} takes at most {limit} {what}; got {len(request.input_images)}. Send fewer images",
            field="input_images",
        )


def _constraints(model: ModelSpec | None) -> Constraints:
    return model.constraints if model is not None else Constraints()


def _has(model: ModelSpec | None, capability: Capability) -> bool:
    """Unknown models (named explicitly, not in the spec) are given the benefit of the doubt."""
    return model is None or capability in model.capabilities


# --- Gemini images ------------------------------------------------------------------------------------------------


@attrs.frozen
class GeminiImagePlan:
    """One generate_content turn for a Gemini image model: text, all input images as parts, and the config."""

    model: str
    text: str
    images: tuple[InputImage, ...]
    config: Mapping[str, Any]
    parameters: ParameterReport


def map_gemini_image(
    request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False
) -> GeminiImagePlan:
    report = _report_for(request, model_name)
    constraints = _constraints(model)
    if request.mask is not None:
        raise InvalidRequest(
            f"{model_name} cannot use a mask and would drop it; use imagen-3.0-capability-001 "
            "or leave the model unset so the mask goes to a model that takes it",
            field="mask",
        )
    _check_input_count(request, constraints, model_name, "input images")
    if request.n > 1:  # generate_content answers one candidate with one image: the service makes n calls
        raise InvalidRequest(f"{model_name} makes one image per call, not {request.n}", field="n")
    report.apply("input_images", len(request.input_images))

    image_config: dict[str, Any] = {}
    aspect, aspect_reasons = aspect_for(request, constraints.aspect_ratios, model_name)
    if aspect is not None:
        image_config["aspect_ratio"] = aspect
    tiers = constraints.resolutions
    tier: str | None = None
    if request.quality is not None:
        tier = canonical(request.quality, tiers or tuple(_TIERS))
        if tier is None:
            report.ignore(
                "quality", f"{model_name} sets detail by image size, one of {', '.join(tiers)}; give one of those"
            )
        else:
            report.apply("quality", tier)
    size = request.parsed_size
    if size is not None:
        size_tier = tier if tier is not None else tier_for(size, tiers or tuple(_TIERS))
        tier = size_tier
        used = f"{aspect} at {size_tier}"
        reasons = [f"{model_name} takes an aspect ratio and a size tier ({', '.join(tiers or _TIERS)}), not pixels"]
        report.settle("size", used, reasons)
    if tier is not None and (len(tiers) > 1 or not tiers):
        image_config["image_size"] = tier
    report.settle("aspect_ratio", aspect, aspect_reasons)

    config: dict[str, Any] = {"response_modalities": ["TEXT", "IMAGE"]}
    if image_config:
        config["image_config"] = image_config
    if request.seed is not None:
        config["seed"] = request.seed
        report.apply("seed")
    if request.output_format is not None:
        if request.output_format.lower() in constraints.output_formats:
            report.apply("output_format", request.output_format.lower())
        else:
            report.ignore("output_format", "the Gemini API picks the image format (PNG) and cannot convert")
    report.ignore("negative_prompt", f"{model_name} takes no negative prompt; say what to avoid in the prompt")
    report.ignore("background", f"{model_name} cannot make transparent backgrounds")
    return GeminiImagePlan(model_name, request.prompt, request.input_images, config, report.finish(strict=strict))


# --- Imagen -------------------------------------------------------------------------------------------------------


@attrs.frozen
class ImagenPlan:
    """generate_images or edit_image on an Imagen model: one image, config as GenerateImagesConfig/EditImageConfig."""

    model: str
    prompt: str
    config: Mapping[str, Any]
    parameters: ParameterReport
    #: For edit_image: the image to edit, the user's mask (None for mask-free edits) and its dilation.
    image: InputImage | None = None
    mask: InputImage | None = None
    mask_dilation: float | None = None


def _imagen_common(
    request: MediaRequest, report: ReportBuilder, model_name: str, model: ModelSpec | None
) -> dict[str, Any]:
    constraints = _constraints(model)
    check_images_per_call(request, constraints.images_per_call, model_name)
    # Imagen's sampleCount: the request's n in one call (the service splits more than a call makes).
    config: dict[str, Any] = {"number_of_images": request.n, "include_rai_reason": True}
    if request.negative_prompt is not None:
        if _has(model, Capability.NEGATIVE_PROMPT):
            config["negative_prompt"] = request.negative_prompt
            report.apply("negative_prompt")
        else:
            report.ignore("negative_prompt", f"{model_name} takes no negative prompt")
    if request.seed is not None:
        config["seed"] = request.seed
        # Imagen refuses a seed while its invisible watermark is on (the default), so the watermark goes off.
        config["add_watermark"] = False
        report.apply("seed")
    if request.output_format is not None:
        wanted = request.output_format.lower()
        formats = constraints.output_formats or tuple(_FORMAT_MIME)
        if wanted in _FORMAT_MIME and (wanted in formats or (wanted == "jpg" and "jpeg" in formats)):
            config["output_mime_type"] = _FORMAT_MIME[wanted]
            report.apply("output_format", wanted)
        else:
            report.ignore("output_format", f"{model_name} makes {' or '.join(formats)} only")
    report.ignore("background", f"{model_name} cannot make transparent backgrounds")
    return config


def map_imagen_generate(
    request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False
) -> ImagenPlan:
    report = _report_for(request, model_name)
    constraints = _constraints(model)
    config = _imagen_common(request, report, model_name, model)
    aspect, reasons = aspect_for(request, constraints.aspect_ratios, model_name)
    if aspect is not None:
        config["aspect_ratio"] = aspect
    report.settle("aspect_ratio", aspect, reasons)
    tiers = constraints.resolutions
    tier: str | None = None
    if request.quality is not None:
        tier = canonical(request.quality, tiers) if tiers else None
        if tier is None:
            report.ignore("quality", f"{model_name} sets detail by image size: {', '.join(tiers) or 'not settable'}")
        else:
            report.apply("quality", tier)
    if request.parsed_size is not None:
        if tier is None and tiers:
            tier = tier_for(request.parsed_size, tiers)
        used = f"{aspect} at {tier}" if tier else aspect
        report.settle("size", used, [f"{model_name} takes an aspect ratio and a size tier, not pixels"])
    if tier is not None and len(tiers) > 1:
        config["image_size"] = tier
    return ImagenPlan(model_name, request.prompt, config, report.finish(strict=strict))


def map_imagen_edit(
    request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False
) -> ImagenPlan:
    report = _report_for(request, model_name)
    if not request.input_images:
        raise InvalidRequest(f"{model_name} edits an image: give one input image", field="input_images")
    _check_input_count(request, _constraints(model), model_name, "input image to edit")
    if request.mask is not None and not _has(model, Capability.MASK):
        raise InvalidRequest(f"{model_name} cannot use a mask; use imagen-3.0-capability-001", field="mask")
    config = _imagen_common(request, report, model_name, model)
    mode = request.extra.get("edit_mode")
    if request.mask is None:
        config["edit_mode"] = "EDIT_MODE_DEFAULT"
        if mode is not None:
            report.ignore("extra.edit_mode", "edit modes need a mask")
    else:
        if mode is None:
            config["edit_mode"] = _EDIT_MODES["inpaint_insertion"]
        elif str(mode).lower() in _EDIT_MODES:
            config["edit_mode"] = _EDIT_MODES[str(mode).lower()]
            report.apply("extra.edit_mode", str(mode).lower())
        else:
            raise InvalidRequest(f"{mode!r} is not one of: {', '.join(_EDIT_MODES)}", field="extra.edit_mode")
        report.apply("mask")
    report.apply("input_images", 1)
    dilation = request.extra.get("mask_dilation")
    if dilation is not None:
        if request.mask is None:
            report.ignore("extra.mask_dilation", "there is no mask to dilate")
            dilation = None
        elif isinstance(dilation, bool) or not isinstance(dilation, (int, float)) or not 0 <= dilation <= 1:
            raise InvalidRequest(f"{dilation!r} is not a fraction from 0 to 1", field="extra.mask_dilation")
        else:
            report.apply("extra.mask_dilation")
    for name in ("aspect_ratio", "size"):
        report.ignore(name, "an edit keeps the input image's shape")
    report.ignore("quality", "an edit keeps the input image's size")
    return ImagenPlan(
        model_name,
        request.prompt,
        config,
        report.finish(strict=strict),
        image=request.input_images[0],
        mask=request.mask,
        mask_dilation=None if dilation is None else float(dilation),
    )


# --- Veo ----------------------------------------------------------------------------------------------------------


@attrs.frozen
class VeoPlan:
    """generate_videos: prompt, the images by role, and GenerateVideosConfig as a dict (images added by video.py)."""

    model: str
    prompt: str
    config: Mapping[str, Any]
    parameters: ParameterReport
    first_frame: InputImage | None = None
    reference_images: tuple[InputImage, ...] = ()
    last_frame: InputImage | None = None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _video_resolution(request: MediaRequest, allowed: Sequence[str]) -> tuple[str | None, list[str]]:
    """The resolution asked for by quality (720p/1080p) or size (by its short side), snapped to `allowed`."""
    choices = [r for r in allowed if r in _RESOLUTIONS] or list(_RESOLUTIONS)
    if request.quality is not None:
        named = canonical(request.quality, choices)
        if named is not None:
            return named, []
    size = request.parsed_size
    if size is None:
        return None, []
    short = min(size.width, size.height)
    chosen = min(choices, key=lambda r: (abs(_RESOLUTIONS[r] - short), -_RESOLUTIONS[r]))
    return chosen, []


def map_veo(
    request: MediaRequest,
    model_name: str,
    model: ModelSpec | None,
    *,
    extension: bool = False,
    last_frame: InputImage | None = None,
    first_frame_size: tuple[int, int] | None = None,
    strict: bool = False,
) -> VeoPlan:
    """Veo's rules: durations snapped, 16:9/9:16, 720p/1080p with the model's combination rules, images by role.

    With a starting image of `first_frame_size` (width, height) and no aspect ratio or size asked, the video takes
    the image's orientation: a portrait image makes a 9:16 video.
    """
    report = _report_for(request, model_name)
    constraints = _constraints(model)
    rules = VEO_RULES.get(model_name, VeoRules())
    images = request.input_images
    as_references = len(images) >= 2 or (len(images) == 1 and _truthy(request.extra.get("reference_images", False)))
    if extension and images:
        raise InvalidRequest(
            "extending a Veo video takes no input images; drop them or start anew", field="input_images"
        )
    if as_references:
        if len(images) > rules.max_reference_images:
            raise InvalidRequest(
                f"Veo takes at most {rules.max_reference_images} reference images; got {len(images)}. "
                "Send fewer images",
                field="input_images",
            )
        if not _has(model, Capability.REFERENCE_IMAGES):
            raise InvalidRequest(
                f"{model_name} takes one starting image, not reference images; veo-3.1-generate-preview takes up to 3",
                field="input_images",
            )
    if last_frame is not None:
        if len(images) != 1 or as_references:
            raise InvalidRequest(
                "a last frame needs exactly one starting image in input_images", field="extra.last_frame"
            )
        if not _has(model, Capability.LAST_FRAME):
            raise InvalidRequest(f"{model_name} takes no last frame; veo-3.1 models do", field="extra.last_frame")
    first_frame = images[0] if len(images) == 1 and not as_references else None
    references = tuple(images) if as_references else ()

    aspect_choices = constraints.aspect_ratios or ("16:9", "9:16")
    aspect, aspect_reasons = aspect_for(request, aspect_choices, model_name)
    if aspect is None and first_frame is not None and first_frame_size is not None:
        width, height = first_frame_size
        shaped = "9:16" if height > width else "16:9"
        aspect = shaped if shaped in aspect_choices else None
    resolution, resolution_reasons = _video_resolution(request, constraints.resolutions)
    durations = constraints.durations
    duration: float | None = None
    duration_reasons: list[str] = []
    if request.duration is not None:
        duration = nearest_duration(request.duration, durations) if durations else request.duration
        if duration != request.duration:
            duration_reasons.append(f"{model_name} makes clips of {', '.join(f'{d:g}' for d in durations)} s")
    long = rules.long_duration

    def force_duration(reason: str) -> None:
        nonlocal duration
        if duration != long:
            duration = long
            if request.duration is not None:
                duration_reasons.append(reason)

    if resolution in rules.landscape_only_resolutions and aspect == "9:16":
        resolution = "720p"
        resolution_reasons.append(f"{model_name} makes 9:16 in 720p only")
    if references and rules.references_force_long_landscape:
        if aspect not in (None, "16:9"):
            aspect_reasons.append("reference images need 16:9")
        aspect = "16:9"
        force_duration(f"reference images need {long:g} s")
    if extension:
        if resolution not in (None, rules.extension_resolution):
            resolution_reasons.append(f"an extension comes in {rules.extension_resolution}")
        resolution = rules.extension_resolution
        force_duration(f"an extension adds {long:g} s")
    if resolution in rules.long_only_resolutions:
        force_duration(f"{resolution} needs {long:g} s")

    config: dict[str, Any] = {"number_of_videos": 1}
    if aspect is not None:
        config["aspect_ratio"] = aspect
    if resolution is not None:
        config["resolution"] = resolution
    if duration is not None:
        config["duration_seconds"] = int(duration)
    report.settle("aspect_ratio", aspect, aspect_reasons)
    report.settle("duration", duration, duration_reasons)
    if request.quality is not None:
        if canonical(request.quality, tuple(_RESOLUTIONS)) is None:
            report.ignore("quality", f"{model_name} takes a resolution as quality: 720p or 1080p")
        else:
            report.settle("quality", resolution, resolution_reasons)
    if request.parsed_size is not None:
        size_reasons = [*aspect_reasons, *resolution_reasons]
        exact = {("16:9", "720p"): "1280x720", ("9:16", "720p"): "720x1280"}
        exact |= {("16:9", "1080p"): "1920x1080", ("9:16", "1080p"): "1080x1920"}
        if exact.get((str(aspect), str(resolution))) != str(request.parsed_size):
            size_reasons.append(f"{model_name} takes 16:9 or 9:16 at 720p or 1080p, not pixels")
        report.settle("size", f"{aspect} {resolution}", size_reasons)

    if request.negative_prompt is not None:
        if _has(model, Capability.NEGATIVE_PROMPT):
            config["negative_prompt"] = request.negative_prompt
            report.apply("negative_prompt")
        else:
            report.ignore("negative_prompt", f"{model_name} takes no negative prompt")
    if request.seed is not None:
        config["seed"] = request.seed
        report.apply("seed")
    audio = request.extra.get("generate_audio")
    config["generate_audio"] = True if audio is None else _truthy(audio)
    report.apply("extra.generate_audio", config["generate_audio"])
    report.apply("input_images", f"{len(references)} reference images" if references else "starting frame")
    report.apply("extra.reference_images", bool(references))
    report.apply("extra.last_frame", None if last_frame is None else str(last_frame.path))
    return VeoPlan(
        model_name,
        request.prompt,
        config,
        report.finish(strict=strict),
        first_frame=first_frame,
        reference_images=references,
        last_frame=last_frame,
    )


# --- Gemini speech ------------------------------------------------------------------------------------------------


@attrs.frozen
class SpeechPlan:
    """generate_content with audio output: the text to speak, the config, and how to package the PCM."""

    model: str
    text: str
    config: Mapping[str, Any]
    audio_format: str
    voice: str
    parameters: ParameterReport


def map_speech(request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False) -> SpeechPlan:
    report = _report_for(request, model_name)
    constraints = _constraints(model)
    voice = DEFAULT_VOICE
    if request.voice is not None:
        voices = constraints.voices
        named = canonical(request.voice, voices) if voices else request.voice.strip()
        if named is None:
            raise InvalidRequest(
                f"{request.voice!r} is not a {model_name} voice; choose one of: {', '.join(voices)}", field="voice"
            )
        voice = named
        report.apply("voice", voice)
    formats = constraints.audio_formats or SPEECH_FORMATS
    audio_format = "wav"
    if request.audio_format is not None:
        wanted = request.audio_format.lower()
        if wanted not in formats:
            raise InvalidRequest(
                f"{model_name} returns 16-bit PCM, written as {' or '.join(formats)}; {wanted!r} is not supported",
                field="audio_format",
            )
        audio_format = wanted
        report.apply("audio_format", wanted)
    text = request.prompt
    if request.instructions is not None:
        # Gemini TTS takes style direction in the text itself ("Say cheerfully: ...").
        text = f"{request.instructions.strip().rstrip(':')}: {request.prompt}"
        report.apply("instructions")
    speech_config: dict[str, Any] = {"voice_config": {"prebuilt_voice_config": {"voice_name": voice}}}
    if request.language is not None:
        speech_config["language_code"] = request.language
        report.apply("language")
    report.ignore("speed", f"{model_name} has no speed setting; ask for a pace in the instructions")
    report.ignore("output_format", "for speech, set audio_format (wav or pcm)")
    config = {"response_modalities": ["AUDIO"], "speech_config": speech_config}
    return SpeechPlan(model_name, text, config, audio_format, voice, report.finish(strict=strict))
