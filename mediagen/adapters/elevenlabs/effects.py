"""Sound effects: text_to_sound_effects.convert, streamed to the sink."""

from __future__ import annotations

from typing import Any

from mediagen.adapters.elevenlabs.client import ElevenLabsClients, ElevenLabsSettings
from mediagen.adapters.elevenlabs.mapping import EffectPlan
from mediagen.adapters.elevenlabs.speech import streamed
from mediagen.application.deadline import Deadline
from mediagen.ports.generator import GeneratedMedia, GenerationContext


async def generate_sound_effect(
    clients: ElevenLabsClients,
    settings: ElevenLabsSettings,
    plan: EffectPlan,
    ctx: GenerationContext,
    deadline: Deadline,
) -> GeneratedMedia:
    client = await clients.get(ctx.credentials, "text_to_sound_effects")
    chunks = client.text_to_sound_effects.convert(
        **dict(plan.kwargs), output_format=plan.out.name, request_options=settings.request_options()
    )
    metadata: dict[str, Any] = {}
    if "duration_seconds" in plan.kwargs:
        metadata["usage"] = {"seconds": plan.kwargs["duration_seconds"]}
    return await streamed(
        chunks,
        out=plan.out,
        model=plan.model,
        parameters=plan.parameters,
        metadata=metadata,
        ctx=ctx,
        deadline=deadline,
    )
