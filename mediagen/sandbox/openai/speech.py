"""POST /v1/audio/speech: validated like the real API, answered with chunked audio in the asked format."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from aiohttp import web

from mediagen.sandbox import media
from mediagen.sandbox.openai import catalog
from mediagen.sandbox.openai.state import ReceivedRequest
from mediagen.sandbox.openai.wire import Params, bad_value, invalid_value, json_body, missing
from mediagen.sandbox.vendor import stream_bytes

if TYPE_CHECKING:
    from mediagen.sandbox.openai.fake import OpenAIFake

SPEECH_PARAMS = ("model", "input", "voice", "instructions", "response_format", "speed", "stream_format")


def speech_seconds(text: str, speed: float) -> float:
    """How long the fake speaks `text`: about 15 characters a second at speed 1, within 0.5 s and 5 min."""
    return min(catalog.MAX_SPEECH_SECONDS, max(0.5, len(text) / catalog.SPEECH_CHARS_PER_SECOND / speed))


async def _aiter(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


class SpeechEndpoint:
    """Text to speech of the OpenAI fake."""

    def __init__(self, fake: OpenAIFake) -> None:
        self.fake = fake

    async def create(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        self.fake.state.requests.append(ReceivedRequest(request.method, request.path, body))
        params = Params(body)
        params.reject_unknown(SPEECH_PARAMS)
        model = params.string("model", required=True)
        assert model is not None
        if model not in catalog.SPEECH_MODELS:
            raise invalid_value("model", model, catalog.SPEECH_MODELS)
        legacy = model in catalog.LEGACY_SPEECH_MODELS
        text = params.string("input", required=True, max_length=catalog.MAX_SPEECH_INPUT)
        assert text is not None
        voice = self._voice(body.get("voice"), model, legacy)
        if params.string("instructions") is not None and legacy:
            raise bad_value("instructions", f"Instructions are not supported for model '{model}'.")
        fmt = params.choice("response_format", catalog.SPEECH_FORMATS, "mp3")
        assert fmt is not None
        speed = params.number("speed", minimum=catalog.MIN_SPEED, maximum=catalog.MAX_SPEED)
        stream_format = params.choice("stream_format", ("sse", "audio"), "audio")
        if stream_format == "sse" and legacy:
            raise bad_value("stream_format", f"stream_format 'sse' is not supported for model '{model}'.")
        seconds = speech_seconds(text, 1.0 if speed is None else speed)
        seed = int.from_bytes(hashlib.sha256(voice.encode()).digest()[:4], "big")
        chunks = media.speech_chunks(fmt, seconds, seed=seed)
        if stream_format == "sse":
            return await stream_bytes(
                request, _aiter(self._sse(chunks, text, seconds)), content_type="text/event-stream", length=None
            )
        return await stream_bytes(request, _aiter(chunks), content_type=media.SPEECH_CONTENT_TYPES[fmt], length=None)

    def _voice(self, voice: object, model: str, legacy: bool) -> str:
        if voice is None:
            raise missing("voice")
        if isinstance(voice, dict):
            voice_id = voice.get("id")
            raise bad_value("voice", f"Voice '{voice_id}' not found.", "voice_not_found")
        if not isinstance(voice, str):
            raise bad_value("voice", "Invalid type for 'voice': expected a string or an object.", "invalid_type")
        allowed = catalog.LEGACY_VOICES if legacy else catalog.VOICES
        if voice not in allowed:
            raise invalid_value("voice", voice, allowed)
        return voice

    def _sse(self, chunks: Iterator[bytes], text: str, seconds: float) -> Iterator[bytes]:
        for chunk in chunks:
            event = {"type": "speech.audio.delta", "audio": base64.b64encode(chunk).decode()}
            yield f"data: {json.dumps(event)}\n\n".encode()
        tokens_in, tokens_out = catalog.text_tokens(text), max(1, round(seconds * 10))
        done = {
            "type": "speech.audio.done",
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out, "total_tokens": tokens_in + tokens_out},
        }
        yield f"data: {json.dumps(done)}\n\n".encode()
