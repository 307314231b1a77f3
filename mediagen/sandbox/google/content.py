"""Gemini generateContent: text, images (made or edited, signed on Gemini 3) and speech, as one candidate."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mediagen.sandbox import media
from mediagen.sandbox.google.catalog import (
    BLOCK_OUTPUT,
    BLOCK_PROMPT,
    GEMINI_ASPECT_RATIOS,
    GEMINI_IMAGE_SIZES,
    NO_IMAGE,
    PCM_MIME,
    VOICES,
)
from mediagen.sandbox.google.wire import as_list, as_object, check_image, decode, encode, invalid

if TYPE_CHECKING:
    from mediagen.sandbox.google.fake import GoogleFake


class ContentEndpoint:
    """generateContent on the Gemini API and Vertex routes alike."""

    def __init__(self, fake: GoogleFake) -> None:
        self.fake = fake

    async def generate(self, request: web.Request, model: str, body: dict[str, Any]) -> dict[str, Any]:
        contents = contents_of(body)
        config = as_object(body.get("generationConfig", {}), "generation_config")
        modalities = [
            str(m).upper() for m in as_list(config.get("responseModalities", ["TEXT"]), "response_modalities")
        ]
        for modality in modalities:
            if modality not in ("TEXT", "IMAGE", "AUDIO"):
                raise invalid(f"Invalid value at 'generation_config.response_modalities': {modality!r}")
        is_image_model, is_tts_model = "image" in model, "tts" in model
        if "IMAGE" in modalities and not is_image_model:
            raise invalid(f"Model {model} does not support the requested response modalities: image")
        if "AUDIO" in modalities and not is_tts_model:
            raise invalid(f"Model {model} does not support the requested response modalities: audio")
        if is_tts_model and "AUDIO" not in modalities:
            raise invalid(f"Model {model} only supports audio output; set response_modalities to ['AUDIO']")
        if model.startswith("gemini-3"):
            self._check_signatures(contents)
        prompt = " ".join(str(part["text"]) for part in contents[-1]["parts"] if "text" in part)
        usage = {"promptTokenCount": max(1, len(prompt) // 4), "candidatesTokenCount": 0}
        answer: dict[str, Any] = {"modelVersion": model, "responseId": uuid.uuid4().hex, "usageMetadata": usage}
        # Vertex's answers explain a block in words; the Gemini API's schema has no field for them.
        vertex = "/publishers/" in request.path
        if BLOCK_PROMPT in prompt:
            feedback = {"blockReason": "SAFETY"}
            if vertex:
                feedback["blockReasonMessage"] = "The prompt was blocked by the sandbox."
            return {**answer, "promptFeedback": feedback}
        if BLOCK_OUTPUT in prompt:
            reason = "IMAGE_SAFETY" if "IMAGE" in modalities else "SAFETY"
            rating = {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
            candidate = {"finishReason": reason, "safetyRatings": [rating], "index": 0}
            if vertex:
                candidate["finishMessage"] = "The output was filtered by the sandbox."
            return {**answer, "candidates": [candidate]}
        if "AUDIO" in modalities:
            parts = [self._speech_part(config, prompt)]
        elif "IMAGE" in modalities and NO_IMAGE not in prompt:
            parts = [
                {"text": f"Here is the image: {prompt[:80]}"},
                await self._image_part(model, config, contents, prompt),
            ]
        else:
            parts = [{"text": f"The sandbox read: {prompt[:200]}"}]
        usage["candidatesTokenCount"] = 258 * len(parts)
        usage["totalTokenCount"] = usage["promptTokenCount"] + usage["candidatesTokenCount"]
        candidate = {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        return {**answer, "candidates": [candidate]}

    def _check_signatures(self, contents: Sequence[Mapping[str, Any]]) -> None:
        """Gemini 3 image models need every image the model made sent back with its thought signature."""
        for position, content in enumerate(contents):
            if content.get("role") != "model":
                continue
            for index, part in enumerate(content["parts"]):
                signature = part.get("thoughtSignature")
                if "inlineData" in part and signature is None:
                    raise invalid(
                        f"Image part is missing a thought_signature in content position {position + 1}, "
                        f"part position {index + 1}. Send back the model's parts unchanged."
                    )
                if signature is not None and not signed(decode(signature)):
                    raise invalid(f"Corrupted thought signature in content position {position + 1}.")

    async def _image_part(
        self, model: str, config: Mapping[str, Any], contents: Sequence[Mapping[str, Any]], prompt: str
    ) -> dict[str, Any]:
        image_config = as_object(config.get("imageConfig", {}), "generation_config.image_config")
        aspect = image_config.get("aspectRatio")
        if aspect is not None and aspect not in GEMINI_ASPECT_RATIOS:
            raise invalid(f"Unsupported aspect ratio {aspect!r}; use one of {', '.join(GEMINI_ASPECT_RATIOS)}")
        tier = image_config.get("imageSize")
        if tier is not None:
            if not model.startswith("gemini-3"):
                raise invalid(f"image_size is not supported by {model}")
            if tier not in GEMINI_IMAGE_SIZES:
                raise invalid(f"Unsupported image size {tier!r}; use one of 1K, 2K, 4K")
        sources = [decode(part["inlineData"]["data"]) for part in contents[-1]["parts"] if "inlineData" in part]
        if not sources:  # continuing a chat: edit the last image the model made
            sources = [
                decode(part["inlineData"]["data"])
                for content in contents[:-1]
                if content.get("role") == "model"
                for part in content["parts"]
                if "inlineData" in part
            ][-1:]
        for source in sources:
            check_image(source, "contents.parts.inline_data")
        if aspect is not None:
            ratio = ratio_of(aspect)
        elif sources:
            width, height = media.image_size(sources[0])
            ratio = width / height
        else:
            ratio = 1.0
        long_side = GEMINI_IMAGE_SIZES[tier or "1K"]
        width, height = (long_side, round(long_side / ratio)) if ratio >= 1 else (round(long_side * ratio), long_side)
        seed = config.get("seed")
        if sources:
            data = await asyncio.to_thread(media.derive, sources, width, height, "png", prompt=prompt)
        else:
            data = await asyncio.to_thread(media.image, width, height, "png", prompt=prompt, seed=seed)
        part: dict[str, Any] = {"inlineData": {"mimeType": "image/png", "data": encode(data)}}
        if model.startswith("gemini-3"):
            signature = sign(uuid.uuid4().bytes)
            self.fake.state.signatures.add(signature)
            part["thoughtSignature"] = encode(signature)
        return part

    def _speech_part(self, config: Mapping[str, Any], prompt: str) -> dict[str, Any]:
        speech = as_object(config.get("speechConfig", {}), "generation_config.speech_config")
        voice_config = as_object(speech.get("voiceConfig", {}), "speech_config.voice_config")
        prebuilt = as_object(voice_config.get("prebuiltVoiceConfig", {}), "voice_config.prebuilt_voice_config")
        voice = prebuilt.get("voiceName", "Kore")
        if voice not in VOICES:
            raise invalid(f"Voice name {voice!r} is not supported. Allowed voice names are: {', '.join(VOICES)}")
        if not prompt.strip():
            raise invalid("Speech generation needs text to speak")
        seconds = min(max(len(prompt) * 0.06, 0.5), 30.0)
        pcm = media.speech("pcm", seconds, seed=VOICES.index(voice))
        return {"inlineData": {"mimeType": PCM_MIME, "data": encode(pcm)}}


def contents_of(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    contents = as_list(body.get("contents"), "contents")
    if not contents:
        raise invalid("* GenerateContentRequest.contents: contents is not specified")
    for position, value in enumerate(contents):
        content = as_object(value, f"contents[{position}]")
        role = content.get("role", "user")
        if role not in ("user", "model"):
            raise invalid(f"Please use a valid role: user, model (contents[{position}].role is {role!r})")
        parts = as_list(content.get("parts"), f"contents[{position}].parts")
        if not parts:
            raise invalid(f"* GenerateContentRequest.contents[{position}].parts: contents.parts must not be empty")
        for index, item in enumerate(parts):
            part = as_object(item, f"contents[{position}].parts[{index}]")
            data_fields = [
                k for k in ("text", "inlineData", "fileData", "functionCall", "functionResponse") if k in part
            ]
            if len(data_fields) != 1:
                raise invalid(f"contents[{position}].parts[{index}] must have exactly one data field")
            if "inlineData" in part:
                blob = as_object(part["inlineData"], f"contents[{position}].parts[{index}].inline_data")
                if not isinstance(blob.get("mimeType"), str):
                    raise invalid(f"contents[{position}].parts[{index}].inline_data.mime_type is required")
                decode(blob.get("data"))
    if contents[-1].get("role", "user") != "user":
        raise invalid("The last content must come from the user role")
    return contents


#: Signs thought signatures so every sandbox, in any process, recognises the ones a sandbox issued.
SIGNATURE_KEY = b"mediagen-sandbox-thought-signature"


def sign(nonce: bytes) -> bytes:
    return nonce + hmac.new(SIGNATURE_KEY, nonce, hashlib.sha256).digest()[:16]


def signed(signature: bytes) -> bool:
    nonce, tag = signature[:-16], signature[-16:]
    return bool(nonce) and hmac.compare_digest(tag, hmac.new(SIGNATURE_KEY, nonce, hashlib.sha256).digest()[:16])


def ratio_of(text: str) -> float:
    width, _, height = text.partition(":")
    return int(width) / int(height)
