"""OpenRouter's facts in one place: the key, the endpoint, the image models mediagen knows and what each takes.

OpenRouter makes images through chat completions (POST /api/v1/chat/completions with `modalities`), answering
them in `choices[0].message.images` as data URLs; `image_config` carries `aspect_ratio` and `image_size` where the
model takes them. Followed: https://openrouter.ai/docs/guides/overview/multimodal/image-generation (request,
response, the aspect ratios and sizes of the Gemini image models) and https://openrouter.ai/docs/api/reference/
errors-and-debugging (the error shape). Any other model id OpenRouter routes is accepted by name (`--model`).
"""

from __future__ import annotations

from typing import Final

import attrs

from mediagen.domain.backend import BackendSpec, Constraints, ModelSpec
from mediagen.domain.media import Capability, MediaType

#: Where the SDK goes when no base_url is configured (always passed, so the SDK never reads OPENAI_BASE_URL).
API_BASE_URL: Final = "https://openrouter.ai/api/v1"
DOCS_URL: Final = "https://openrouter.ai/docs/guides/overview/multimodal/image-generation"

#: The aspect ratios OpenRouter documents for Gemini image models (image_config.aspect_ratio).
GEMINI_ASPECT_RATIOS: Final = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
#: Gemini 3.1 Flash Image also takes the extreme ratios (OpenRouter's ImageGenerationRequestAspectRatio lists them).
WIDE_GEMINI_ASPECT_RATIOS: Final = (*GEMINI_ASPECT_RATIOS, "1:4", "4:1", "1:8", "8:1")
#: Ratios GPT image models make (1024x1024, 1024x1536, 1536x1024); OpenRouter clamps others to these.
GPT_IMAGE_ASPECT_RATIOS: Final = ("1:1", "2:3", "3:2")
#: The "common values" OpenRouter documents for aspect_ratio; sent as asked for a model mediagen does not list.
COMMON_ASPECT_RATIOS: Final = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9")
#: Every image_size tier OpenRouter documents (sent as asked for a model mediagen does not list).
IMAGE_SIZES: Final = ("0.5K", "1K", "2K", "4K")

#: Most image models answer in words and pictures; image-only models (FLUX) want modalities ["image"].
TEXT_AND_IMAGE: Final = ("image", "text")
IMAGE_ONLY: Final = ("image",)


@attrs.frozen
class ImageModel:
    """How one listed model is asked for an image: its output modalities (image_config values are in the spec)."""

    modalities: tuple[str, ...] = TEXT_AND_IMAGE


_CAPS: Final = frozenset(
    {Capability.TEXT_TO_IMAGE, Capability.IMAGE_EDIT, Capability.MULTI_IMAGE_INPUT, Capability.CONTINUATION}
)

DEFAULT_IMAGE_MODEL: Final = "google/gemini-3.1-flash-image-preview"

#: How each listed model is asked for an image (models not listed get TEXT_AND_IMAGE).
IMAGE_MODELS: Final = {
    "google/gemini-3.1-flash-image-preview": ImageModel(),
    "google/gemini-3-pro-image-preview": ImageModel(),
    "google/gemini-2.5-flash-image": ImageModel(),
    "openai/gpt-5-image": ImageModel(),
    "openai/gpt-5-image-mini": ImageModel(),
    "black-forest-labs/flux.2-pro": ImageModel(modalities=IMAGE_ONLY),
}

SPEC = BackendSpec(
    name="openrouter",
    display_name="OpenRouter (Gemini, GPT image, FLUX and more through one key)",
    env_vars=("OPENROUTER_API_KEY",),
    docs_url=DOCS_URL,
    models=(
        ModelSpec(
            DEFAULT_IMAGE_MODEL,
            MediaType.IMAGE,
            _CAPS,
            Constraints(
                aspect_ratios=WIDE_GEMINI_ASPECT_RATIOS,
                resolutions=("0.5K", "1K", "2K", "4K"),
                max_input_images=14,
            ),
            "Gemini 3.1 Flash Image through OpenRouter: generate, edit several images, continue over turns",
        ),
        ModelSpec(
            "google/gemini-3-pro-image-preview",
            MediaType.IMAGE,
            _CAPS,
            Constraints(aspect_ratios=GEMINI_ASPECT_RATIOS, resolutions=("1K", "2K", "4K"), max_input_images=14),
            "Gemini 3 Pro Image through OpenRouter: more reasoning, up to 4K",
        ),
        ModelSpec(
            "google/gemini-2.5-flash-image",
            MediaType.IMAGE,
            _CAPS,
            Constraints(aspect_ratios=GEMINI_ASPECT_RATIOS, max_input_images=3),
            "Gemini 2.5 Flash Image through OpenRouter: 1K only (no image_size)",
        ),
        ModelSpec(
            "openai/gpt-5-image",
            MediaType.IMAGE,
            _CAPS,
            Constraints(aspect_ratios=GPT_IMAGE_ASPECT_RATIOS, max_input_images=16),
            "GPT-5 with GPT image generation through OpenRouter",
        ),
        ModelSpec(
            "openai/gpt-5-image-mini",
            MediaType.IMAGE,
            _CAPS,
            Constraints(aspect_ratios=GPT_IMAGE_ASPECT_RATIOS, max_input_images=16),
            "GPT-5 Mini with GPT image generation through OpenRouter: cheaper turns",
        ),
        ModelSpec(
            "black-forest-labs/flux.2-pro",
            MediaType.IMAGE,
            _CAPS,
            Constraints(aspect_ratios=COMMON_ASPECT_RATIOS),
            "FLUX.2 Pro through OpenRouter: images only (no text in its answers)",
        ),
    ),
    default_models={MediaType.IMAGE: DEFAULT_IMAGE_MODEL},
)


def modalities_for(model: str) -> tuple[str, ...]:
    """What `modalities` to send: the listed model's, else image and text (what most image models answer)."""
    listed = IMAGE_MODELS.get(model)
    return listed.modalities if listed is not None else TEXT_AND_IMAGE
