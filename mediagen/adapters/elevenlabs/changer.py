"""Input audio transformed: the voice changer (speech_to_speech) and audio isolation, the file streamed from disk."""

from __future__ import annotations

from mediagen.adapters.elevenlabs.client import ElevenLabsClients, ElevenLabsSettings
from mediagen.adapters.elevenlabs.files import opened
from mediagen.adapters.elevenlabs.mapping import ConversionPlan, IsolationPlan
from mediagen.adapters.elevenlabs.speech import streamed
from mediagen.application.deadline import Deadline
from mediagen.ports.generator import GeneratedMedia, GenerationContext


async def change_voice(
    clients: ElevenLabsClients,
    settings: ElevenLabsSettings,
    plan: ConversionPlan,
    voice_id: str,
    ctx: GenerationContext,
    deadline: Deadline,
) -> GeneratedMedia:
    client = await clients.get(ctx.credentials, "speech_to_speech")
    # The upload is read while the request is sent, which `streamed` does by taking the first chunk of the answer;
    # the file can be closed once the answer has begun.
    async with opened([plan.source], cap=settings.max_upload_bytes) as [upload]:
        chunks = client.speech_to_speech.convert(
            voice_id,
            audio=upload,
            **dict(plan.kwargs),
            output_format=plan.out.name,
            request_options=settings.request_options(),
        )
        return await streamed(
            chunks,
            out=plan.out,
            model=plan.model,
            parameters=plan.parameters,
            metadata={"voice_id": voice_id},
            ctx=ctx,
            deadline=deadline,
        )


async def isolate_audio(
    clients: ElevenLabsClients,
    settings: ElevenLabsSettings,
    plan: IsolationPlan,
    ctx: GenerationContext,
    deadline: Deadline,
) -> GeneratedMedia:
    client = await clients.get(ctx.credentials, "audio_isolation")
    async with opened([plan.source], cap=settings.max_upload_bytes) as [upload]:
        chunks = client.audio_isolation.convert(audio=upload, request_options=settings.request_options())
        return await streamed(
            chunks,
            out=plan.out,
            model=plan.model,
            parameters=plan.parameters,
            metadata={},
            ctx=ctx,
            deadline=deadline,
            format_facts=False,  # the API picks the format (MP3) itself
        )
