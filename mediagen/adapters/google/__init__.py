"""The Google backend: Gemini images (with multi-turn editing), Imagen, Veo and Gemini speech.

Importing this package loads no SDK; the factory imports google-genai on first use.
"""

from __future__ import annotations

from mediagen.adapters.google.spec import SPEC
from mediagen.ports.generator import BackendOptions, BackendPlugin, MediaGenerator


def _factory(options: BackendOptions) -> MediaGenerator:
    from mediagen.adapters.google.generator import GoogleGenerator

    return GoogleGenerator(SPEC, options)


PLUGIN = BackendPlugin(SPEC, _factory)

__all__ = ["PLUGIN", "SPEC"]
