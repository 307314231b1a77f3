"""xAI's facts in one place: key env var, models, capabilities and the values its protos take.

Checked against xai-sdk 1.21.0: types/model.py (ImageGenerationModel, VideoGenerationModel), types/image.py,
types/video.py, and the enums of proto image_pb2 / video_pb2 (ImageAspectRatio, ImageResolution, ImageQuality,
VideoAspectRatio, VideoResolution). The values are the SDK's own spellings; the SDK turns each into its proto
enum member (a test holds every one to the installed protos).
"""

from __future__ import annotations

from typing import Final

from mediagen.domain.backend import BackendSpec, Constraints, ModelSpec
from mediagen.domain.media import Capability, MediaType

#: Where the SDK connects when no base_url is set (gRPC over TLS on port 443).
API_HOST: Final = "api.x.ai"
#: Hosts that may be reached without TLS (the sandbox); any other host always gets a secure channel.
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})

#: ImageAspectRatio members the SDK sends (it has no spelling for IMG_ASPECT_RATIO_AUTO).
IMAGE_ASPECT_RATIOS: Final = (
    "1:1", "3:4", "4:3", "9:16", "16:9", "2:3", "3:2", "9:19.5", "19.5:9", "9:20", "20:9", "1:2", "2:1",
)  # fmt: skip
#: ImageResolution: "1k" is about one megapixel, "2k" about four, whatever the aspect ratio.
IMAGE_RESOLUTIONS: Final = ("1k", "2k")
#: Megapixels of each image resolution, to pick one from a requested WxH.
IMAGE_MEGAPIXELS: Final = {"1k": 1.0, "2k": 4.0}
#: ImageQuality as the SDK spells it (the proto's IMG_QUALITY_HIGH has no SDK spelling); grok-imagine-image-2.0 only.
IMAGE_QUALITIES: Final = ("low", "medium")
#: The image the API sends back: base64 data URIs are JPEG (`data:image/jpeg;base64,...`) unless they say otherwise.
DEFAULT_IMAGE_MIME: Final = "image/jpeg"

VIDEO_ASPECT_RATIOS: Final = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3")
VIDEO_RESOLUTIONS: Final = ("480p", "720p", "1080p")
#: Short side of each video resolution, to pick one from a requested WxH.
VIDEO_SHORT_SIDES: Final = {"480p": 480, "720p": 720, "1080p": 1080}
#: Whole seconds GenerateVideo takes, and the SDK's default when none is sent.
VIDEO_SECONDS: Final = tuple(range(1, 16))
DEFAULT_VIDEO_SECONDS: Final = 8
#: Whole seconds ExtendVideo adds, and its default.
EXTENSION_SECONDS: Final = tuple(range(1, 11))
DEFAULT_EXTENSION_SECONDS: Final = 6

_IMAGE_CAPS: Final = frozenset(
    {Capability.TEXT_TO_IMAGE, Capability.IMAGE_EDIT, Capability.MULTI_IMAGE_INPUT, Capability.CONTINUATION}
)
_VIDEO_CAPS: Final = frozenset(
    {
        Capability.TEXT_TO_VIDEO,
        Capability.IMAGE_TO_VIDEO,
        Capability.REFERENCE_IMAGES,
        Capability.VIDEO_EXTEND,
        Capability.CONTINUATION,
    }
)
#: GenerateImageRequest.n (`client.image.sample_batch(..., n)`): 1 to 10 images per call, the range xAI's REST
#: reference gives the same endpoint.
IMAGES_PER_CALL: Final = 10
_IMAGE_CONSTRAINTS: Final = Constraints(
    aspect_ratios=IMAGE_ASPECT_RATIOS,
    resolutions=IMAGE_RESOLUTIONS,
    output_formats=("jpeg",),
    images_per_call=IMAGES_PER_CALL,
)
_VIDEO_CONSTRAINTS: Final = Constraints(
    aspect_ratios=VIDEO_ASPECT_RATIOS, resolutions=VIDEO_RESOLUTIONS, durations=VIDEO_SECONDS, output_formats=("mp4",)
)

SPEC = BackendSpec(
    name="xai",
    display_name="xAI (Grok Imagine)",
    env_vars=("XAI_API_KEY",),
    docs_url="https://docs.x.ai/docs",
    models=(
        ModelSpec(
            "grok-imagine-image",
            MediaType.IMAGE,
            _IMAGE_CAPS,
            _IMAGE_CONSTRAINTS,
            "Grok Imagine: text to image, edit one or several images, continue editing the last image",
        ),
        ModelSpec(
            "grok-imagine-image-2.0",
            MediaType.IMAGE,
            _IMAGE_CAPS,
            Constraints(
                aspect_ratios=IMAGE_ASPECT_RATIOS,
                resolutions=IMAGE_RESOLUTIONS,
                qualities=IMAGE_QUALITIES,
                output_formats=("jpeg",),
                images_per_call=IMAGES_PER_CALL,
            ),
            "Grok Imagine 2.0: the same, with a quality setting (low, medium)",
        ),
        ModelSpec(
            "grok-imagine-image-quality",
            MediaType.IMAGE,
            _IMAGE_CAPS,
            _IMAGE_CONSTRAINTS,
            "Grok Imagine tuned for quality over speed",
        ),
        ModelSpec(
            "grok-imagine-video",
            MediaType.VIDEO,
            _VIDEO_CAPS,
            _VIDEO_CONSTRAINTS,
            "Grok Imagine video with sound: text or image to video (1–15 s), reference images, extension",
        ),
        ModelSpec(
            "grok-imagine-video-1.5",
            MediaType.VIDEO,
            _VIDEO_CAPS,
            _VIDEO_CONSTRAINTS,
            "Grok Imagine video 1.5: the same, newer model",
        ),
    ),
    default_models={MediaType.IMAGE: "grok-imagine-image", MediaType.VIDEO: "grok-imagine-video"},
)


def takes_quality(model: str) -> bool:
    """Only grok-imagine-image-2.0 takes `quality` (xai-sdk 1.21 image.sample docs)."""
    found = SPEC.model(model)
    return found is not None and bool(found.constraints.qualities)
