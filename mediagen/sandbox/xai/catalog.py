"""What the xAI fake accepts, read from the installed xai-sdk (its protos, its model and option types and its
docstrings), and the pixel sizes it draws at."""

from __future__ import annotations

import math
from typing import Final

#: xai_sdk.types.ImageGenerationModel and VideoGenerationModel.
IMAGE_MODELS: Final = ("grok-imagine-image", "grok-imagine-image-2.0", "grok-imagine-image-quality")
VIDEO_MODELS: Final = ("grok-imagine-video", "grok-imagine-video-1.5")
#: Models that take last_frame, keyframes and reference_audios (the SDK's docstrings: "Only supported for
#: grok-imagine-video-1.5").
VIDEO_MODELS_WITH_FRAMES: Final = ("grok-imagine-video-1.5",)

#: ImageAspectRatio enum names (after IMG_ASPECT_RATIO_) as width:height; AUTO follows the input image, else 1:1.
IMAGE_RATIOS: Final = {
    "1_1": (1.0, 1.0), "3_4": (3.0, 4.0), "4_3": (4.0, 3.0), "9_16": (9.0, 16.0), "16_9": (16.0, 9.0),
    "2_3": (2.0, 3.0), "3_2": (3.0, 2.0), "9_19_5": (9.0, 19.5), "19_5_9": (19.5, 9.0), "9_20": (9.0, 20.0),
    "20_9": (20.0, 9.0), "1_2": (1.0, 2.0), "2_1": (2.0, 1.0),
}  # fmt: skip
#: ImageResolution enum names (after IMG_RESOLUTION_) -> the side of the square of the same area; the default is 1K.
IMAGE_RESOLUTIONS: Final = {"1K": 1024, "2K": 2048}
DEFAULT_IMAGE_RESOLUTION: Final = "1K"
#: GenerateImageRequest.n: the REST reference's range for the same endpoint.
MAX_IMAGES: Final = 10
IMAGE_FORMAT: Final = "jpeg"  # what grok-imagine answers with

#: VideoAspectRatio enum names (after VIDEO_ASPECT_RATIO_); the SDK's default is 16:9.
VIDEO_RATIOS: Final = {
    "1_1": (1.0, 1.0), "16_9": (16.0, 9.0), "9_16": (9.0, 16.0), "4_3": (4.0, 3.0), "3_4": (3.0, 4.0),
    "3_2": (3.0, 2.0), "2_3": (2.0, 3.0),
}  # fmt: skip
DEFAULT_VIDEO_RATIO: Final = "16_9"
#: VideoResolution enum names (after VIDEO_RESOLUTION_) -> the short side in pixels; the SDK's default is 480p.
VIDEO_RESOLUTIONS: Final = {"480P": 480, "720P": 720, "1080P": 1080}
DEFAULT_VIDEO_RESOLUTION: Final = "480P"
#: Durations in whole seconds: generation 1-15 (default 8), extension 1-10 (default 6), as the SDK documents them.
VIDEO_SECONDS: Final = (1, 15)
DEFAULT_VIDEO_SECONDS: Final = 8
EXTEND_SECONDS: Final = (1, 10)
DEFAULT_EXTEND_SECONDS: Final = 6
#: At most this many keyframes and reference audios (the SDK's docstrings).
MAX_KEYFRAMES: Final = 4
MAX_REFERENCE_AUDIOS: Final = 3


def image_size(ratio: tuple[float, float], resolution: str) -> tuple[int, int]:
    """Pixels for an aspect ratio at a resolution: the area of the resolution's square, sides multiples of 16.

    xAI does not publish grok-imagine's pixel sizes; keeping the area is how its 1k/2k names read.
    """
    side = IMAGE_RESOLUTIONS[resolution]
    shape = ratio[0] / ratio[1]
    width = max(16, round(side * math.sqrt(shape) / 16) * 16)
    height = max(16, round(side / math.sqrt(shape) / 16) * 16)
    return width, height


def video_size(ratio: tuple[float, float], resolution: str) -> tuple[int, int]:
    """Pixels for a video: the resolution names the short side (480p, 720p, 1080p), the long side follows the ratio
    (even, as H.264 needs)."""
    short = VIDEO_RESOLUTIONS[resolution]
    long = round(short * max(ratio) / min(ratio) / 2) * 2
    return (long, short) if ratio[0] >= ratio[1] else (short, long)


def nearest_ratio(width: int, height: int, ratios: dict[str, tuple[float, float]]) -> str:
    """The enum name of the ratio closest to width:height (compared on a log scale)."""
    shape = math.log(width / height)
    return min(ratios, key=lambda name: abs(math.log(ratios[name][0] / ratios[name][1]) - shape))
