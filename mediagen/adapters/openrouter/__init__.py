"""The OpenRouter backend: images from any image-output model OpenRouter routes to (Gemini, GPT image, FLUX...).

Importing this package loads no SDK; the generator builds its AsyncOpenAI (and imports openai) in a worker thread
on first use.
"""

from __future__ import annotations

from mediagen.adapters.openrouter.spec import SPEC
from mediagen.ports.generator import BackendOptions, BackendPlugin, MediaGenerator


def _factory(options: BackendOptions) -> MediaGenerator:
    from mediagen.adapters.openrouter.generator import OpenRouterGenerator

    return OpenRouterGenerator(options, spec=SPEC)


PLUGIN = BackendPlugin(SPEC, _factory)

__all__ = ["PLUGIN", "SPEC"]
