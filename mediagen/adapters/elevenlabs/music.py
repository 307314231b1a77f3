"""Music: music.compose, streamed to the sink."""

from __future__ import annotations

from mediagen.adapters.elevenlabs.client import ElevenLabsClients, ElevenLabsSettings
from mediagen.adapters.elevenlabs.mapping import MusicPlan
from mediagen.adapters.elevenlabs.speech import streamed
from mediagen.application.deadline import Deadline
from mediagen.ports.generator import GeneratedMedia, GenerationContext


async def compose_music(
    clients: ElevenLabsClients,
    settings: ElevenLabsSettings,
    plan: MusicPlan,
    ctx: GenerationContext,
    deadline: Deadline,
) -> GeneratedMedia:
    client = await clients.get(ctx.credentials)
    chunks = client.music.compose(
        **dict(plan.kwargs), output_format=plan.out.name, request_options=settings.request_options()
    )
    length = plan.kwargs.get("music_length_ms")
    metadata = {} if length is None else {"music_length_ms": length, "usage": {"seconds": length / 1000}}
    return await streamed(
        chunks,
        out=plan.out,
        model=plan.model,
        parameters=plan.parameters,
        metadata=metadata,
        ctx=ctx,
        deadline=deadline,
    )
