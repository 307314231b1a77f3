"""What the ElevenLabs endpoints share: the output_format query parameter, voice settings, prompt markers, uploaded
audio (checked and timed) and streaming the answer as chunked audio."""

from __future__ import annotations

import hashlib
import io
import json
import wave
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from mediagen.domain.sniff import sniff
from mediagen.sandbox import media
from mediagen.sandbox.elevenlabs import catalog
from mediagen.sandbox.elevenlabs.wire import ElevenLabsError, Fields, Form, invalid
from mediagen.sandbox.vendor import Upload, stream_bytes

if TYPE_CHECKING:
    from mediagen.sandbox.elevenlabs.state import StoredVoice

#: Prompt markers: text containing one gets that answer, so a test can reach it through any client.
QUOTA_MARKER = "sandbox:quota-exceeded"
BLOCK_MARKER = "sandbox:block-prompt"
FAIL_MARKER = "sandbox:fail-job"
NEVER_FINISH_MARKER = "sandbox:never-finish"

VOICE_SETTINGS = ("stability", "use_speaker_boost", "similarity_boost", "style", "speed", "clone_strength")


def output_format(params: Fields, options: Sequence[str], default: str = catalog.DEFAULT_FORMAT) -> str:
    """The output_format query parameter, one of `options` (default mp3_44100_128)."""
    chosen = params.choice("output_format", options, default)
    assert chosen is not None
    return chosen


VoiceSettings = dict[str, "float | bool"]


def voice_settings(fields: Fields | None) -> VoiceSettings | None:
    """Validate a VoiceSettings object: stability, similarity_boost, style and clone_strength in 0-1, speed in
    0.7-1.2, use_speaker_boost a boolean."""
    if fields is None:
        return None
    fields.reject_unknown(VOICE_SETTINGS)
    out: VoiceSettings = {}
    for name in ("stability", "similarity_boost", "style", "clone_strength"):
        value = fields.number(name, ge=0.0, le=1.0)
        if value is not None:
            out[name] = value
    speed = fields.number("speed", ge=catalog.MIN_SPEED, le=catalog.MAX_SPEED)
    if speed is not None:
        out["speed"] = speed
    boost = fields.boolean("use_speaker_boost")
    if boost is not None:
        out["use_speaker_boost"] = boost
    return out


def voice_settings_text(raw: str | None) -> VoiceSettings | None:
    """The voice changer's voice_settings form field: a JSON-encoded VoiceSettings object."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise invalid(
            ("body", "voice_settings"), "Invalid JSON: voice_settings must be a JSON-encoded object", "json_invalid"
        ) from None
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid(
            ("body", "voice_settings"),
            "Input should be a valid dictionary or object to extract fields from",
            "model_attributes_type",
        )
    return voice_settings(Fields(value, ("body", "voice_settings")))


def check_markers(text: str, param: str) -> None:
    """Answer as the API does when a prompt marker asks for it: quota used up, or the prompt refused."""
    if QUOTA_MARKER in text:
        raise quota_exceeded(len(text))
    if BLOCK_MARKER in text:
        raise blocked(param, None)


def quota_exceeded(credits: int) -> ElevenLabsError:
    """ElevenLabs' answer when the account has no credits left: 401 with status quota_exceeded."""
    return ElevenLabsError(
        401,
        "quota_exceeded",
        f"This request exceeds your quota of 10000. You have 0 credits remaining, while {max(1, credits)} credits "
        "are required for this request.",
        type="authentication_error",
    )


def blocked(param: str, code: str | None, *, suggestion: str | None = None) -> ElevenLabsError:
    """ElevenLabs' refusal of a prompt against its terms: 400 bad_prompt (music adds a prompt_suggestion)."""
    return ElevenLabsError(
        400,
        code or "bad_prompt",
        "Your prompt appears to have violated our Terms of Service. Please try again with a different prompt.",
        param=param,
        data=None if suggestion is None else {"prompt_suggestion": suggestion},
    )


def voice_not_found(voice_id: str, param: str = "voice_id") -> ElevenLabsError:
    return ElevenLabsError(
        404, "voice_not_found", f"A voice with the voice_id {voice_id} was not found.", type="not_found", param=param
    )


def seed_of(*parts: str) -> int:
    """A stable number from text (voice ids, prompts), so the same request sounds the same."""
    return int.from_bytes(hashlib.sha256("\0".join(parts).encode()).digest()[:4], "big")


def speed_of(settings: VoiceSettings | None) -> float:
    """The speaking speed voice settings ask for (1.0 when they do not)."""
    speed = (settings or {}).get("speed", 1.0)
    return float(speed)


def speech_seconds(text: str, speed: float) -> float:
    """How long the fake speaks `text`: about 15 characters a second at speed 1, within 0.5 s and 10 min."""
    return min(catalog.MAX_SPEECH_SECONDS, max(0.5, len(text) / catalog.SPEECH_CHARS_PER_SECOND / speed))


async def _aiter(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def stream_audio(
    request: web.Request, fmt_name: str, seconds: float, seed: int, headers: dict[str, str] | None = None
) -> web.StreamResponse:
    """Answer `seconds` of audio in the output format `fmt_name`, chunked as the API streams it."""
    fmt = catalog.audio_format(fmt_name)
    chunks = media.audio_chunks(fmt, seconds, seed=seed)
    return await stream_bytes(request, _aiter(chunks), content_type=fmt.content_type, length=None, headers=headers)


def single_file(form: Form, name: str, *, required: bool = True) -> Upload | None:
    """The one file of a multipart field: missing is a 422 when required, several a 422 too."""
    files = form.files.get(name, [])
    if not files:
        if required:
            raise invalid(("body", name), "Field required", "missing")
        return None
    if len(files) > 1:
        raise invalid(("body", name), "Expected a single file, got several", "value_error")
    upload = files[0]
    if len(upload.data) > catalog.MAX_UPLOAD_BYTES:
        raise ElevenLabsError(
            413,
            "file_too_large",
            f"The uploaded file is larger than {catalog.MAX_UPLOAD_BYTES // (1024 * 1024)} MB.",
            param=name,
        )
    return upload


def media_kind(upload: Upload, *, allow_video: bool, raw_pcm: bool = False) -> str:
    """The media type of an uploaded file from its bytes: audio (or video when allowed); anything else is the API's
    400. `raw_pcm` (file_format=pcm_s16le_16) takes headerless 16-bit samples."""
    if raw_pcm:
        if not upload.data or len(upload.data) % 2:
            raise ElevenLabsError(
                400, "invalid_audio", "pcm_s16le_16 input must be whole 16-bit samples.", param=upload.field
            )
        return "audio/pcm"
    kind = sniff(upload.data[:64])
    if kind is not None and (kind.startswith("audio/") or (allow_video and kind.startswith("video/"))):
        return kind
    wanted = "an audio or video file" if allow_video else "an audio file"
    raise ElevenLabsError(
        400, "invalid_audio", f"The uploaded file could not be decoded: expected {wanted}.", param=upload.field
    )


def input_seconds(upload: Upload, kind: str) -> float:
    """About how long uploaded audio lasts: exact for WAV and raw 16 kHz PCM, from the first frame's bitrate for
    MP3, else as 128 kbit/s; within 0.5 s and 10 min."""
    data = upload.data
    seconds = len(data) / 16_000
    if kind == "audio/pcm":
        seconds = len(data) / 32_000
    elif kind == "audio/wav":
        try:
            with wave.open(io.BytesIO(data)) as reader:
                seconds = reader.getnframes() / reader.getframerate()
        except (wave.Error, EOFError, ZeroDivisionError):
            pass
    elif kind == "audio/mpeg":
        bitrate = _mp3_bitrate(data)
        if bitrate:
            seconds = len(data) * 8 / bitrate
    return min(catalog.MAX_SPEECH_SECONDS, max(0.5, seconds))


_MP3_KBPS = {
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}


def _mp3_bitrate(data: bytes) -> int | None:
    """The bitrate of an MP3's first Layer III frame (after any ID3 tag), in bits per second."""
    start = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        start = 10 + ((data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F))
    head = data[start : start + 4]
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    version = 3 if head[1] >> 3 & 0b11 == 3 else 2
    kbps = _MP3_KBPS[version][head[2] >> 4] if head[2] >> 4 < 15 else 0
    return kbps * 1000 or None


def voice_seed(voice: StoredVoice, text: str) -> int:
    return seed_of(voice.voice_id, text)
