"""Speech: audio.speech through the SDK's streaming response, handed to the sink chunk by chunk."""

from __future__ import annotations

from typing import Any

from mediagen.adapters.openai.client import BodyStream, OpenAIClients
from mediagen.adapters.openai.mapping import SpeechPlan
from mediagen.adapters.openai.spec import PCM_LAYOUT
from mediagen.application.deadline import Deadline
from mediagen.ports.generator import GeneratedMedia, GenerationContext


async def generate_speech(
    clients: OpenAIClients, plan: SpeechPlan, ctx: GenerationContext, deadline: Deadline
) -> GeneratedMedia:
    """Send the speech request now (so a refusal raises here), stream its body later; bytes are `plan.audio_format`."""
    client = clients.get(ctx.credentials)
    stream = await BodyStream.open(
        client.audio.speech.with_streaming_response.create(**dict(plan.kwargs)),
        deadline=deadline,
        secret=ctx.credentials,
        what=f"{plan.audio_format} speech",
    )
    voice = plan.kwargs["voice"]
    metadata: dict[str, Any] = {
        "voice": voice["id"] if isinstance(voice, dict) else voice,
        "audio_format": plan.audio_format,
        "characters": len(str(plan.kwargs["input"])),
    }
    if plan.audio_format == "pcm":
        metadata["pcm"] = dict(PCM_LAYOUT)
    request_id = stream.headers.get("x-request-id")
    if request_id:
        metadata["request_id"] = request_id
    return GeneratedMedia(
        stream=stream,
        mime_type=plan.mime_type,
        model=plan.model,
        metadata=metadata,
        parameters=plan.parameters,
        size_hint=stream.content_length,
    )
