"""The models the OpenRouter fake serves, as its GET /api/v1/models answers them, and what each takes.

The model object follows OpenRouter's Models API schema (https://openrouter.ai/docs/guides/overview/models: id,
canonical_slug, name, created, description, context_length, architecture{modality, input_modalities,
output_modalities, tokenizer, instruct_type}, pricing, top_provider, per_request_limits, supported_parameters).
The aspect ratios and image sizes each model takes follow the image-generation guide; the fake refuses the rest.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

GEMINI_RATIOS: Final = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
WIDE_GEMINI_RATIOS: Final = (*GEMINI_RATIOS, "1:4", "4:1", "1:8", "8:1")
COMMON_RATIOS: Final = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9")
#: Long side in pixels of each image_size.
SIZE_PIXELS: Final = {"0.5K": 512, "1K": 1024, "2K": 2048, "4K": 4096}
DEFAULT_SIZE: Final = "1K"


@attrs.frozen
class FakeModel:
    id: str
    name: str
    provider: str
    input_modalities: tuple[str, ...]
    output_modalities: tuple[str, ...]
    aspect_ratios: tuple[str, ...] = ()
    image_sizes: tuple[str, ...] = ()
    created: int = 1_760_000_000

    @property
    def makes_images(self) -> bool:
        return "image" in self.output_modalities

    def listing(self) -> dict[str, Any]:
        """The model as GET /api/v1/models lists it."""
        modality = f"{'+'.join(self.input_modalities)}->{'+'.join(self.output_modalities)}"
        parameters = ["max_tokens", "temperature", "top_p", "seed", "stop", "response_format"]
        return {
            "id": self.id,
            "canonical_slug": self.id,
            "name": self.name,
            "created": self.created,
            "description": f"{self.name} (served by the mediagen sandbox)",
            "context_length": 32768,
            "architecture": {
                "modality": modality,
                "input_modalities": list(self.input_modalities),
                "output_modalities": list(self.output_modalities),
                "tokenizer": "Other",
                "instruct_type": None,
            },
            "pricing": {"prompt": "0.0000003", "completion": "0.0000025", "request": "0", "image": "0.00003"},
            "top_provider": {"context_length": 32768, "max_completion_tokens": 8192, "is_moderated": False},
            "per_request_limits": None,
            "supported_parameters": parameters,
        }


MODELS: Final[dict[str, FakeModel]] = {
    m.id: m
    for m in (
        FakeModel(
            "google/gemini-3.1-flash-image-preview",
            "Google: Gemini 3.1 Flash Image Preview",
            "Google AI Studio",
            ("image", "text"),
            ("image", "text"),
            WIDE_GEMINI_RATIOS,
            ("0.5K", "1K", "2K", "4K"),
        ),
        FakeModel(
            "google/gemini-3-pro-image-preview",
            "Google: Gemini 3 Pro Image Preview",
            "Google",
            ("image", "text"),
            ("image", "text"),
            GEMINI_RATIOS,
            ("1K", "2K", "4K"),
        ),
        FakeModel(
            "google/gemini-2.5-flash-image",
            "Google: Gemini 2.5 Flash Image",
            "Google AI Studio",
            ("image", "text"),
            ("image", "text"),
            GEMINI_RATIOS,
        ),
        FakeModel("openai/gpt-5-image", "OpenAI: GPT-5 Image", "OpenAI", ("image", "text", "file"), ("image", "text"),
                  ("1:1", "2:3", "3:2")),
        FakeModel("openai/gpt-5-image-mini", "OpenAI: GPT-5 Image Mini", "OpenAI", ("image", "text", "file"),
                  ("image", "text"), ("1:1", "2:3", "3:2")),
        FakeModel("black-forest-labs/flux.2-pro", "Black Forest Labs: FLUX.2 Pro", "Black Forest Labs",
                  ("text", "image"), ("image",), COMMON_RATIOS),
        FakeModel("sourceful/riverflow-v2-fast", "Sourceful: Riverflow V2 Fast", "Sourceful", ("text",), ("image",),
                  COMMON_RATIOS),
        FakeModel("openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", "OpenAI", ("text", "image", "file"), ("text",)),
        FakeModel("anthropic/claude-sonnet-4.5", "Anthropic: Claude Sonnet 4.5", "Anthropic", ("text", "image"),
                  ("text",)),
    )
}  # fmt: skip

#: The model OpenRouter uses when a request names none (an account's default; the sandbox account's is this).
DEFAULT_MODEL: Final = "google/gemini-3.1-flash-image-preview"
