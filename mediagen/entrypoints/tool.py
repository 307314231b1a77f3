"""The `generate_media` agent tool: its JSON schema, and results in one JSON shape (shared with `--json`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from mediagen.domain.errors import InvalidRequest, MediaGenError
from mediagen.domain.media import AudioKind, MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import BatchResult, GenerationResult

TOOL_NAME = "generate_media"

#: Request fields the tool accepts, with their JSON schema; `media_type` and `prompt` lead.
_FIELDS: dict[str, dict[str, Any]] = {
    "media_type": {"type": "string", "enum": [m.value for m in MediaType], "description": "What to generate."},
    "prompt": {"type": "string", "description": "What to generate, or the edit to make when continuing."},
    "backend": {"type": "string", "description": "Force a backend; omit to pick the best available."},
    "model": {"type": "string", "description": "Force a model; omit for the backend's default."},
    "input_images": {"type": "array", "items": {"type": "string"}, "description": "Image paths to edit or animate."},
    "mask": {
        "type": "string",
        "description": "Mask image for the first input image: transparent pixels (or, "
        "with no transparency, white ones) mark what may change; needs input_images.",
    },
    "input_audio": {
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
        "description": "Audio path for voice_conversion, audio_isolation or dubbing (a video too); a list of "
        "sample paths for voice_clone.",
    },
    "aspect_ratio": {"type": "string", "pattern": r"^\d+:\d+$", "description": "e.g. 16:9 (or give size)."},
    "size": {"type": "string", "pattern": r"^\d+x\d+$", "description": "e.g. 1024x1024 (or give aspect_ratio)."},
    "quality": {"type": "string"},
    "background": {"type": "string", "description": "Image background, e.g. transparent."},
    "duration": {"type": "number", "exclusiveMinimum": 0, "description": "Seconds (video, music, effects)."},
    "seed": {"type": "integer"},
    "negative_prompt": {"type": "string"},
    "voice": {
        "type": "string",
        "description": "Voice name or id for speech and voice_conversion.",
    },
    "instructions": {"type": "string", "description": "Delivery instructions for speech."},
    "speed": {"type": "number", "exclusiveMinimum": 0},
    "language": {"type": "string", "description": "Language code, e.g. en; for dubbing, the target language."},
    "audio_kind": {"type": "string", "enum": [k.value for k in AudioKind]},
    "audio_format": {
        "type": "string",
        "description": "mp3, wav, opus, aac, flac or pcm; ElevenLabs also ulaw, alaw and full names like mp3_22050_32.",
    },
    "output_format": {"type": "string", "description": "png, jpeg, webp for images."},
    "continue_from": {"type": "string", "description": "continuation_id of an earlier result to build on."},
    "filename": {
        "type": "string",
        "description": "File name without directories; the extension is set. A taken name is a file_exists error.",
    },
    "extra": {
        "type": "object",
        "description": "Vendor-specific parameters. ElevenLabs: stability, similarity, style (0..1 voice settings), "
        "use_speaker_boost; instrumental (music); prompt_influence (0..1), loop (sound_effect); save_voice, "
        "preview_text (voice_design); keep_voice (voice_clone); voice_name (the new voice of voice_clone or a saved "
        "voice_design); source_language, num_speakers (dubbing).",
    },
}


def tool_schema() -> dict[str, Any]:
    """The tool definition an agent framework registers (name, description, JSON schema)."""
    return {
        "name": TOOL_NAME,
        "description": (
            "Generate an image, video or audio file with the best available backend, or continue an earlier "
            "generation (pass its continuation_id as continue_from). Returns the written file's path."
        ),
        "input_schema": {
            "type": "object",
            "properties": _FIELDS,
            "required": ["media_type"],
            "additionalProperties": False,
        },
    }


def request_from_arguments(arguments: Mapping[str, Any], *, defaults: Mapping[str, Any] | None = None) -> MediaRequest:
    """Build a MediaRequest from tool/JSON arguments; unknown keys are an InvalidRequest naming them."""
    if not isinstance(arguments, Mapping):
        raise InvalidRequest(
            f"expected an object of named arguments, got {type(arguments).__name__}", field="arguments"
        )
    unknown = sorted(set(arguments) - set(_FIELDS))
    if unknown:
        raise InvalidRequest(f"unknown argument(s) {', '.join(unknown)}; valid: {', '.join(_FIELDS)}", field=unknown[0])
    merged = {**(defaults or {}), **arguments}
    if "media_type" not in merged:
        raise InvalidRequest("is required: image, video or audio", field="media_type")
    return MediaRequest(**merged)


def mode_of(request: MediaRequest) -> str:
    """A one-word description of what the request does, for the `mode` field."""
    if request.media_type is MediaType.AUDIO:
        kind = request.effective_audio_kind
        return kind.value if kind else "speech"
    if request.continue_from is not None:
        return "remix" if request.media_type is MediaType.VIDEO else "continuation"
    if request.media_type is MediaType.VIDEO:
        return "image_to_video" if request.input_images else "text_to_video"
    if request.mask is not None:
        return "masked_edit"
    return "edit" if request.input_images else "text_to_image"


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (MediaType, AudioKind)):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def result_to_json(result: GenerationResult, request: MediaRequest) -> dict[str, Any]:
    artifact = result.artifact
    return {
        "success": True,
        "operation": result.media_type.value,
        "mode": mode_of(request),
        "file_path": str(artifact.path),
        "filename": artifact.path.name,
        "mime_type": artifact.mime_type,
        "sha256": artifact.sha256,
        "backend": result.backend,
        "model": result.model,
        "file_size": artifact.size_bytes,
        "duration_seconds": result.duration_seconds,
        "continuation_id": result.continuation_id,
        "metadata": _plain(result.metadata),
        "applied": _plain(result.applied),
        "adapted": [_plain(attrs.asdict(a)) for a in result.adapted],
        "ignored": [_plain(attrs.asdict(i)) for i in result.ignored],
        "fallbacks": [_plain(attrs.asdict(f)) for f in result.fallbacks],
    }


def error_to_json(error: MediaGenError, request: MediaRequest | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"success": False, **_plain(error.to_dict())}
    if request is not None:
        payload["operation"] = request.media_type.value
        payload["mode"] = mode_of(request)
    return payload


def batch_to_json(batch: BatchResult, requests: list[MediaRequest]) -> dict[str, Any]:
    results = [
        result_to_json(item.result, requests[item.index])
        if item.result is not None
        else error_to_json(item.error or MediaGenError("unknown failure"), requests[item.index])
        for item in batch.items
    ]
    return {
        "success": batch.failed == 0,
        "operation": "batch",
        "batch": True,
        "total": batch.total,
        "succeeded": batch.succeeded,
        "failed": batch.failed,
        "results": results,
    }
