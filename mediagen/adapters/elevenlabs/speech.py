"""Text to speech, and the one way every audio-returning call is handed to the sink: streamed, never joined."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from mediagen.adapters.elevenlabs.client import AudioStream, ElevenLabsClients, ElevenLabsSettings
from mediagen.adapters.elevenlabs.mapping import AudioOut, SpeechPlan
from mediagen.application.deadline import Deadline
from mediagen.domain.result import ParameterReport
from mediagen.ports.generator import GeneratedMedia, GenerationContext


async def streamed(
    chunks: AsyncIterator[bytes],
    *,
    out: AudioOut,
    model: str,
    parameters: ParameterReport,
    metadata: Mapping[str, Any],
    ctx: GenerationContext,
    deadline: Deadline,
    format_facts: bool = True,
) -> GeneratedMedia:
    """Send the call now (its first chunk, so a refusal raises here) and stream the rest to the sink."""
    stream = await AudioStream.open(chunks, deadline=deadline, secret=ctx.credentials)
    return GeneratedMedia(
        stream=stream,
        mime_type=out.mime_type,
        model=model,
        metadata={**(out.metadata() if format_facts else {}), **metadata},
        parameters=parameters,
    )


async def generate_speech(
    clients: ElevenLabsClients,
    settings: ElevenLabsSettings,
    plan: SpeechPlan,
    voice_id: str,
    ctx: GenerationContext,
    deadline: Deadline,
    *,
    metadata: Mapping[str, Any] | None = None,
) -> GeneratedMedia:
    client = await clients.get(ctx.credentials)
    kwargs: dict[str, Any] = dict(plan.kwargs)
    if "voice_settings" in kwargs:
        from elevenlabs.types.voice_settings import VoiceSettings  # loaded with the client, off the loop

        kwargs["voice_settings"] = VoiceSettings(**kwargs["voice_settings"])
    chunks = client.text_to_speech.convert(
        voice_id, **kwargs, output_format=plan.out.name, request_options=settings.request_options()
    )
    facts = {"voice_id": voice_id, "characters": len(plan.kwargs["text"]), **(metadata or {})}
    if plan.voice is not None and plan.voice != voice_id:
        facts["voice"] = plan.voice
    return await streamed(
        chunks, out=plan.out, model=plan.model, parameters=plan.parameters, metadata=facts, ctx=ctx, deadline=deadline
    )
