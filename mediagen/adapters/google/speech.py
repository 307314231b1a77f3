"""Gemini speech: generate_content with audio output and a prebuilt voice; the PCM it returns becomes a WAV."""

from __future__ import annotations

from typing import Any

from google.genai import types

from mediagen.adapters.google.calls import vendor_call
from mediagen.adapters.google.client import GoogleClients
from mediagen.adapters.google.image import answer_parts, no_output_error
from mediagen.adapters.google.mapping import BACKEND, SpeechPlan
from mediagen.adapters.google.wav import parse_pcm_mime, pcm_to_wav
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import BackendError
from mediagen.ports.generator import GeneratedMedia, GenerationContext


async def generate_speech(
    clients: GoogleClients, plan: SpeechPlan, ctx: GenerationContext, deadline: Deadline
) -> GeneratedMedia:
    aio = await clients.for_call("models.generate_content", ctx.credentials)
    response: types.GenerateContentResponse = await vendor_call(
        aio.models.generate_content(
            model=plan.model,
            contents=plan.text,
            config=types.GenerateContentConfig.model_validate(dict(plan.config)),
        ),
        deadline=deadline,
        secret=ctx.credentials,
    )
    answer, reason, message = answer_parts(response, "audio")
    blobs = [p.inline_data for p in answer if p.inline_data is not None and p.inline_data.data]
    audio = [blob for blob in blobs if (blob.mime_type or "").lower().startswith("audio/")]
    if not audio:
        raise no_output_error("audio", reason, message, [p.text for p in answer if p.text])
    mime = audio[0].mime_type or ""
    fmt = parse_pcm_mime(mime)
    if fmt is None:
        raise BackendError(f"Gemini returned {mime!r} audio, not the PCM mediagen converts to WAV", backend=BACKEND)
    pcm = b"".join(blob.data for blob in audio if blob.data is not None)
    usage = response.usage_metadata
    metadata: dict[str, Any] = {
        "voice": plan.voice,
        "sample_rate": fmt.rate,
        "channels": fmt.channels,
        "vendor_mime_type": mime,
        "usage": usage.model_dump(mode="json", exclude_none=True) if usage is not None else {},
    }
    if plan.audio_format == "pcm":
        return GeneratedMedia.from_bytes(
            pcm, mime_type="audio/pcm", model=plan.model, metadata=metadata, parameters=plan.parameters
        )
    return GeneratedMedia.from_bytes(
        pcm_to_wav(pcm, fmt), mime_type="audio/wav", model=plan.model, metadata=metadata, parameters=plan.parameters
    )
