"""Pure functions: a MediaRequest to the keyword arguments of xai_sdk's image and video calls, with the report.

No I/O and no SDK import: the plans hold the SDK's own spellings of each proto enum (only values from spec.py, so
nothing outside the enums is ever sent) and the input images still as paths; image.py and video.py read them.
Property-tested in tests/unit/test_xai_mapping.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from mediagen.adapters.calls import check_images_per_call
from mediagen.adapters.ratios import aspect_for
from mediagen.adapters.xai.spec import (
    DEFAULT_EXTENSION_SECONDS,
    DEFAULT_VIDEO_SECONDS,
    EXTENSION_SECONDS,
    IMAGE_ASPECT_RATIOS,
    IMAGE_MEGAPIXELS,
    IMAGE_QUALITIES,
    IMAGE_RESOLUTIONS,
    VIDEO_ASPECT_RATIOS,
    VIDEO_RESOLUTIONS,
    VIDEO_SECONDS,
    VIDEO_SHORT_SIDES,
    takes_quality,
)
from mediagen.domain.backend import ModelSpec
from mediagen.domain.errors import InvalidRequest
from mediagen.domain.report import ReportBuilder
from mediagen.domain.request import InputImage, MediaRequest, Size
from mediagen.domain.result import ParameterReport

BACKEND = "xai"
#: Quality words mapped onto grok-imagine-image-2.0's two qualities.
_QUALITY_WORDS = {"low": "low", "medium": "medium", "standard": "medium", "high": "medium", "hd": "medium"}
#: Quality words that name a video resolution.
_VIDEO_QUALITY_WORDS = {"low": "480p", "sd": "480p", "medium": "720p", "hd": "720p", "high": "1080p"}
_JPEG_NAMES = ("jpeg", "jpg")


def nearest_image_resolution(size: Size) -> str:
    """The image resolution whose pixel count is closest to `size`'s, on a log scale (ties: the larger)."""
    megapixels = size.width * size.height / 1_000_000
    return min(
        IMAGE_RESOLUTIONS,
        key=lambda name: (abs(math.log(megapixels / IMAGE_MEGAPIXELS[name])), -IMAGE_MEGAPIXELS[name]),
    )


def nearest_video_resolution(size: Size) -> str:
    """The video resolution whose short side is closest to `size`'s short side (ties: the larger)."""
    short = min(size.width, size.height)
    return min(VIDEO_RESOLUTIONS, key=lambda name: (abs(VIDEO_SHORT_SIDES[name] - short), -VIDEO_SHORT_SIDES[name]))


def whole_seconds(seconds: float, allowed: Sequence[int]) -> int:
    """The allowed whole number of seconds nearest `seconds` (halves round up); never 0, never outside `allowed`."""
    return min(max(math.floor(seconds + 0.5), allowed[0]), allowed[-1])


def _report_for(request: MediaRequest, model: str) -> ReportBuilder:
    return ReportBuilder(request, model, backend=BACKEND, vendor="xAI")


def _refuse_mask(request: MediaRequest) -> None:
    if request.mask is not None:
        raise InvalidRequest(
            "xAI's image models take no mask; leave the backend unset so the mask goes to a model that takes one",
            field="mask",
        )


# --- images -------------------------------------------------------------------------------------------------------


@attrs.frozen
class ImagePlan:
    """One GenerateImage call: `kwargs` for `client.image.sample` besides the images, which image.py reads."""

    model: str
    prompt: str
    kwargs: Mapping[str, Any]
    images: tuple[InputImage, ...]
    parameters: ParameterReport
    #: Images from the call: GenerateImageRequest.n (`sample_batch`) when above 1.
    n: int = 1


def map_image(
    request: MediaRequest,
    model_name: str,
    model: ModelSpec | None,
    *,
    strict: bool = False,
) -> ImagePlan:
    """Generate or edit: the ratio and resolution snapped to the enums, base64 answers (no second download)."""
    _refuse_mask(request)
    check_images_per_call(request, model.constraints.images_per_call if model is not None else 1, model_name)
    report = _report_for(request, model_name)
    kwargs: dict[str, Any] = {"image_format": "base64"}
    aspect, aspect_reasons = aspect_for(request, IMAGE_ASPECT_RATIOS, model_name)
    if aspect is not None:
        kwargs["aspect_ratio"] = aspect
    resolution: str | None = None
    if request.quality is not None:
        word = request.quality.strip().lower()
        if word in IMAGE_RESOLUTIONS:
            resolution = word
            report.apply("quality", word)
        elif not takes_quality(model_name):
            report.ignore(
                "quality",
                f"{model_name} takes no quality; give the resolution as quality (1k or 2k), "
                "or use grok-imagine-image-2.0",
            )
        elif word in _QUALITY_WORDS:
            quality = _QUALITY_WORDS[word]
            kwargs["quality"] = quality
            reasons = [] if quality == word else [f"{model_name} takes quality {' or '.join(IMAGE_QUALITIES)}"]
            report.settle("quality", quality, reasons)
        else:
            report.ignore("quality", f"{model_name} takes quality {' or '.join(IMAGE_QUALITIES)}, or 1k or 2k")
    size = request.parsed_size
    if size is not None:
        resolution = resolution or nearest_image_resolution(size)
        report.adapt(
            "size",
            f"{aspect} at {resolution}",
            f"{model_name} takes an aspect ratio and a resolution (1k about 1 MP, 2k about 4 MP), not pixels",
        )
    else:
        report.settle("aspect_ratio", aspect, aspect_reasons)
    if resolution is not None:
        kwargs["resolution"] = resolution
    if request.output_format is not None:
        if request.output_format.lower() in _JPEG_NAMES:
            report.apply("output_format", "jpeg")
        else:
            report.ignore("output_format", "xAI returns JPEG images and cannot convert")
    report.apply("input_images", len(request.input_images))
    for name, reason in (
        ("negative_prompt", "takes no negative prompt; say what to avoid in the prompt"),
        ("seed", "takes no seed"),
        ("background", "cannot make transparent backgrounds"),
    ):
        report.ignore(name, f"{model_name} {reason}")
    return ImagePlan(
        model_name, request.prompt, kwargs, request.input_images, report.finish(strict=strict), n=request.n
    )


# --- video --------------------------------------------------------------------------------------------------------


@attrs.frozen
class VideoPlan:
    """GenerateVideo (or ExtendVideo when `extension`): kwargs for `client.video.start` / `extend_start`."""

    model: str
    prompt: str
    kwargs: Mapping[str, Any]
    parameters: ParameterReport
    first_frame: InputImage | None = None
    reference_images: tuple[InputImage, ...] = ()
    extension: bool = False


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _duration(
    request: MediaRequest, report: ReportBuilder, allowed: Sequence[int], default: int, what: str
) -> int | None:
    """Whole seconds within `allowed`, or None to let the service use its default (`default`)."""
    if request.duration is None:
        return None
    seconds = whole_seconds(request.duration, allowed)
    reasons = [] if seconds == request.duration else [f"{what} takes whole seconds from {allowed[0]} to {allowed[-1]}"]
    report.settle("duration", seconds, reasons)
    return seconds


def map_video(
    request: MediaRequest,
    model_name: str,
    model: ModelSpec | None,
    *,
    extension: bool = False,
    strict: bool = False,
) -> VideoPlan:
    """Text or image to video, or an extension: ratio and resolution snapped to the enums, seconds to 1–15 (1–10)."""
    report = _report_for(request, model_name)
    kwargs: dict[str, Any] = {}
    images = request.input_images
    as_references = len(images) >= 2 or (len(images) == 1 and _truthy(request.extra.get("reference_images", False)))
    if extension:
        if images:
            raise InvalidRequest(
                "extending an xAI video takes no input images; drop them or start a new video", field="input_images"
            )
        seconds = _duration(request, report, EXTENSION_SECONDS, DEFAULT_EXTENSION_SECONDS, "an extension")
        if seconds is not None:
            kwargs["duration"] = seconds
        for name in ("aspect_ratio", "size", "quality"):
            report.ignore(name, "an extension keeps the video's shape and resolution")
        report.ignore("extra.generate_audio", "an extension keeps the video's sound")
    else:
        seconds = _duration(request, report, VIDEO_SECONDS, DEFAULT_VIDEO_SECONDS, model_name)
        if seconds is not None:
            kwargs["duration"] = seconds
        aspect, aspect_reasons = aspect_for(request, VIDEO_ASPECT_RATIOS, model_name)
        if aspect is not None:
            kwargs["aspect_ratio"] = aspect
        resolution: str | None = None
        if request.quality is not None:
            word = request.quality.strip().lower()
            resolution = word if word in VIDEO_RESOLUTIONS else _VIDEO_QUALITY_WORDS.get(word)
            said = f"{model_name} takes a resolution as quality: {', '.join(VIDEO_RESOLUTIONS)}"
            if resolution is None:
                report.ignore("quality", said)
            else:
                report.settle("quality", resolution, [] if resolution == word else [said])
        size = request.parsed_size
        if size is not None and resolution is None:
            resolution = nearest_video_resolution(size)
        if resolution is not None:
            kwargs["resolution"] = resolution
        if size is not None:
            report.adapt(
                "size",
                f"{aspect} at {resolution}",
                f"{model_name} takes an aspect ratio ({', '.join(VIDEO_ASPECT_RATIOS)}) and a resolution "
                f"({', '.join(VIDEO_RESOLUTIONS)}), not pixels",
            )
        else:
            report.settle("aspect_ratio", aspect, aspect_reasons)
        audio = request.extra.get("generate_audio")
        if audio is not None:
            kwargs["generate_audio"] = _truthy(audio)
            report.apply("extra.generate_audio", kwargs["generate_audio"])
    if images:
        report.apply("input_images", f"{len(images)} reference images" if as_references else "starting frame")
    if "reference_images" in request.extra:
        report.apply("extra.reference_images", as_references)
    for name, reason in (
        ("negative_prompt", "takes no negative prompt; say what to avoid in the prompt"),
        ("seed", "takes no seed"),
    ):
        report.ignore(name, f"{model_name} {reason}")
    if request.output_format is not None:
        if request.output_format.lower() == "mp4":
            report.apply("output_format", "mp4")
        else:
            report.ignore("output_format", "xAI makes MP4 videos only")
    return VideoPlan(
        model_name,
        request.prompt,
        kwargs,
        report.finish(strict=strict),
        first_frame=images[0] if len(images) == 1 and not as_references else None,
        reference_images=tuple(images) if as_references else (),
        extension=extension,
    )
