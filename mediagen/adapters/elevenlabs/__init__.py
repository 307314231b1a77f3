"""The ElevenLabs backend: speech, music, sound effects, voice conversion, audio isolation, voice design, voice
clone and dubbing.

Importing this package loads no SDK; the factory imports the generator on first use, and the generator imports
the elevenlabs SDK in a worker thread when it first builds its client.
"""

from __future__ import annotations

from mediagen.adapters.elevenlabs.spec import SPEC
from mediagen.ports.generator import BackendOptions, BackendPlugin, MediaGenerator


def _factory(options: BackendOptions) -> MediaGenerator:
    from mediagen.adapters.elevenlabs.generator import ElevenLabsGenerator

    return ElevenLabsGenerator(options, spec=SPEC)


PLUGIN = BackendPlugin(SPEC, _factory)

__all__ = ["PLUGIN", "SPEC"]
