"""The xAI backend: Grok Imagine images (generate, edit several images, continue editing) and video, over gRPC.

Importing this package loads no SDK; the generator builds xai-sdk's AsyncClient off the event loop on first use.
"""

from __future__ import annotations

from mediagen.adapters.xai.spec import SPEC
from mediagen.ports.generator import BackendOptions, BackendPlugin, MediaGenerator


def _factory(options: BackendOptions) -> MediaGenerator:
    from mediagen.adapters.xai.generator import XAIGenerator

    return XAIGenerator(options, spec=SPEC)


PLUGIN = BackendPlugin(SPEC, _factory)

__all__ = ["PLUGIN", "SPEC"]
