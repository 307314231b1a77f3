"""The OpenAI backend: GPT images (Responses image tool with multi-turn editing, Images API), Sora and speech.

Importing this package loads no SDK; the factory imports openai on first use.
"""

from __future__ import annotations

from mediagen.adapters.openai.spec import SPEC
from mediagen.ports.generator import BackendOptions, BackendPlugin, MediaGenerator


def _factory(options: BackendOptions) -> MediaGenerator:
    from mediagen.adapters.openai.generator import OpenAIGenerator

    return OpenAIGenerator(options, spec=SPEC)


PLUGIN = BackendPlugin(SPEC, _factory)

__all__ = ["PLUGIN", "SPEC"]
