"""What the OpenAI API accepts: models, sizes, qualities, formats, voices, durations (openai 3.57.0 docs)."""

from __future__ import annotations

import re
from typing import Final

import attrs

STANDARD_IMAGE_SIZES: Final = ("1024x1024", "1536x1024", "1024x1536")
IMAGE_OUTPUT_FORMATS: Final = ("png", "jpeg", "webp")
PREVIEW_OUTPUT_FORMATS: Final = ("gif", "svg")  # need preview access the sandbox account does not have
BACKGROUNDS: Final = ("transparent", "opaque", "auto")
MODERATION_LEVELS: Final = ("low", "auto")
INPUT_FIDELITIES: Final = ("high", "low")
MAX_PROMPT_CHARS: Final = 32_000
MAX_EDIT_IMAGES: Final = 16
MAX_IMAGE_BYTES: Final = 50 * 1024 * 1024
MAX_MASK_BYTES: Final = 4 * 1024 * 1024
# Flexible-size models: both sides multiples of 16, ratio within 1:3..3:1, edges and pixels bounded.
FLEX_MAX_EDGE: Final = 3840
FLEX_MIN_PIXELS: Final = 655_360
FLEX_MAX_PIXELS: Final = 3840 * 2160


@attrs.frozen
class ImageModel:
    name: str
    flexible_sizes: bool
    qualities: tuple[str, ...]


_BASE_QUALITIES = ("low", "medium", "high", "auto")
_MAX_QUALITIES = ("low", "medium", "high", "xhigh", "max", "auto")

IMAGE_MODELS: Final[dict[str, ImageModel]] = {
    m.name: m
    for m in (
        ImageModel("gpt-image-1", False, _BASE_QUALITIES),
        ImageModel("gpt-image-1-mini", False, _BASE_QUALITIES),
        ImageModel("gpt-image-1.5", False, _BASE_QUALITIES),
        ImageModel("chatgpt-image-latest", False, _BASE_QUALITIES),
        ImageModel("gpt-image-2", True, _BASE_QUALITIES),
        ImageModel("gpt-image-2-2026-04-21", True, _BASE_QUALITIES),
        ImageModel("gpt-image-2.5-sunburst", True, _MAX_QUALITIES),
        ImageModel("gpt-image-2.5-sunburst-2026-09-08", True, _MAX_QUALITIES),
        ImageModel("gpt-image-2.5-flare", True, _MAX_QUALITIES),
        ImageModel("gpt-image-2.5-flare-2026-09-08", True, _MAX_QUALITIES),
        ImageModel("gpt-image-2.6-sunburst", True, _MAX_QUALITIES),
        ImageModel("gpt-image-2.6-flare", True, _MAX_QUALITIES),
    )
}
RETIRED_IMAGE_MODELS: Final = {"dall-e-2": "2026-05-12", "dall-e-3": "2026-05-12"}
DEFAULT_IMAGE_MODEL: Final = "gpt-image-1.5"
DEFAULT_TOOL_IMAGE_MODEL: Final = "gpt-image-2.6-sunburst"

# Image tokens per 1024x1024-equivalent image by quality (scaled by pixel count).
IMAGE_TOKENS: Final = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 6240, "max": 8320}

RESPONSES_MODEL: Final = re.compile(
    r"^(gpt-4o(-mini)?|gpt-4\.1(-mini|-nano)?|gpt-5(\.\d+)?(-mini|-nano|-pro|-chat-latest)?|o3|o4-mini|o3-pro)"
    r"(-\d{4}-\d{2}-\d{2})?$"
)

VIDEO_MODELS: Final[dict[str, tuple[str, ...]]] = {
    "sora-2": ("720x1280", "1280x720"),
    "sora-2-2025-10-06": ("720x1280", "1280x720"),
    "sora-2-2025-12-08": ("720x1280", "1280x720"),
    "sora-2-pro": ("720x1280", "1280x720", "1024x1792", "1792x1024"),
    "sora-2-pro-2025-10-06": ("720x1280", "1280x720", "1024x1792", "1792x1024"),
}
VIDEO_SECONDS: Final = ("4", "8", "12")
DEFAULT_VIDEO_MODEL: Final = "sora-2"
DEFAULT_VIDEO_SECONDS: Final = "4"
DEFAULT_VIDEO_SIZE: Final = "720x1280"
VIDEO_VARIANTS: Final = ("video", "thumbnail", "spritesheet")

SPEECH_MODELS: Final = (
    "tts-1",
    "tts-1-hd",
    "gpt-4o-mini-tts",
    "gpt-4o-mini-tts-2025-03-20",
    "gpt-4o-mini-tts-2025-12-15",
)
LEGACY_SPEECH_MODELS: Final = ("tts-1", "tts-1-hd")  # no instructions, no SSE, fewer voices
VOICES: Final = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
    "marin",
    "cedar",
)
LEGACY_VOICES: Final = ("alloy", "ash", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer")
SPEECH_FORMATS: Final = ("mp3", "opus", "aac", "flac", "wav", "pcm")
MAX_SPEECH_INPUT: Final = 4096
MIN_SPEED: Final = 0.25
MAX_SPEED: Final = 4.0
MAX_SPEECH_SECONDS: Final = 300.0
SPEECH_CHARS_PER_SECOND: Final = 15.0


def parse_size(text: str) -> tuple[int, int] | None:
    """`WxH` as two positive ints, or None when it is not that shape."""
    match = re.fullmatch(r"([1-9][0-9]{0,4})x([1-9][0-9]{0,4})", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def flexible_size_problem(width: int, height: int) -> str | None:
    """Why a flexible-size model rejects WxH, or None when it accepts it."""
    if width % 16 or height % 16:
        return "width and height must both be divisible by 16"
    if max(width, height) > 3 * min(width, height):
        return "the aspect ratio must be between 1:3 and 3:1"
    if max(width, height) > FLEX_MAX_EDGE:
        return f"the longest edge must be at most {FLEX_MAX_EDGE} pixels"
    if not FLEX_MIN_PIXELS <= width * height <= FLEX_MAX_PIXELS:
        return f"the image must have between {FLEX_MIN_PIXELS} and {FLEX_MAX_PIXELS} pixels"
    return None


def nearest_standard_size(width: int, height: int) -> str:
    """The standard size whose aspect ratio is closest to width:height ("auto" sizing)."""
    ratio = width / height

    def distance(size: str) -> float:
        w, h = map(int, size.split("x"))
        return abs(w / h - ratio)

    return min(STANDARD_IMAGE_SIZES, key=distance)


def image_tokens(width: int, height: int, quality: str) -> int:
    return max(1, round(IMAGE_TOKENS.get(quality, IMAGE_TOKENS["medium"]) * width * height / (1024 * 1024)))


def text_tokens(text: str) -> int:
    return max(1, len(text) // 4)
