"""The agent tools' contract, generated from one source: MediaRequest's fields, their validators' rules, and the
installed backends' specs. The same schema validates every call, so what it allows is what the tool accepts.

One tool per media type (and, for audio, per shape of input: `generate_audio` takes a prompt, `transform_audio`
takes an input audio file, `clone_voice` takes both) rather than one tool with a `oneOf` on `media_type`: OpenAI
strict functions and Anthropic tools both refuse `oneOf`/`anyOf` at the top of an input schema, and a tool per
media type lets each carry exactly the backends, models, formats and voices that serve it, with `prompt` required
where the request needs one.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import attrs

from mediagen.adapters.plugins import discover_plugins
from mediagen.domain.backend import BackendSpec, ModelSpec
from mediagen.domain.errors import InvalidRequest
from mediagen.domain.media import AudioKind, Capability, MediaType
from mediagen.domain.request import _FORMAT, MAX_N, SEED_RANGE, VISIBLE_CHARACTER, InputAudio, InputImage, MediaRequest

#: Request fields that are not the agent's to set: where files go and overwriting are the host's choice.
HOST_FIELDS = frozenset({"media_type", "output_dir", "overwrite", "timeout"})

#: What each request field means to an agent. Every field the tool exposes needs one (a test checks).
DESCRIPTIONS: dict[str, str] = {
    "prompt": "What to generate, or the edit to make when continuing an earlier result.",
    "backend": "Force a backend; omit to pick the best one available.",
    "model": "Force a model; omit for the backend's default.",
    "input_images": "Paths of existing image files (PNG, JPEG, WebP, GIF) to edit or animate.",
    "mask": "Path of a mask image for the first input image: transparent pixels (or, with no transparency, "
    "white ones) mark what may change; needs input_images.",
    "input_audio": "Path of an existing audio (or video, for dubbing) file to transform.",
    "aspect_ratio": "Width:height, e.g. 16:9; give this or size, not both.",
    "size": "WidthxHeight in pixels, e.g. 1024x1024; give this or aspect_ratio, not both.",
    "quality": "Rendering quality.",
    "background": "Image background, e.g. transparent.",
    "duration": "Length in seconds; the nearest length the model makes is used and reported.",
    "seed": "Integer seed for repeatable results where the model takes one.",
    "negative_prompt": "What to keep out of the result.",
    "voice": "Voice name, or a custom voice id.",
    "instructions": "How to deliver the speech (tone, pace, accent).",
    "speed": "Speech speed, 1 is normal.",
    "language": "Language code, e.g. en or fr.",
    "audio_kind": "Which audio operation to run.",
    "audio_format": "Audio file format.",
    "output_format": "File format of the image or video.",
    "continue_from": "continuation_id of an earlier result to build on.",
    "filename": "File name without directories; its extension follows the content.",
    "extra": "Vendor-specific parameters passed through as given.",
    "n": "How many images to make, each its own file (one vendor call where the model takes a count, else "
    "parallel calls); more than 1 returns the batch result shape.",
}

#: Audio tools, by the shape of their input: (needs a prompt, needs input audio) -> (name, description).
_AUDIO_TOOLS: dict[tuple[bool, bool], tuple[str, str]] = {
    (True, False): ("generate_audio", "Generate speech, music or sound from a text prompt."),
    (False, True): ("transform_audio", "Transform an existing audio file (convert a voice, isolate, dub)."),
    (True, True): ("clone_voice", "Make a voice from an audio sample and speak a prompt with it."),
}
_TOOL_TEXT = {
    MediaType.IMAGE: ("generate_image", "Generate or edit an image, or continue an earlier image generation."),
    MediaType.VIDEO: ("generate_video", "Generate a video from text or a starting image, or remix an earlier one."),
}
_TAIL = " Writes the file and returns its path, sha256, backend, model and how each parameter was used."

_NON_BLANK = r"\S"
#: The validators' rules for W:H and WxH, with the positive-integer check folded into the pattern.
_RATIO_PATTERN = r"^\s*0*[1-9][0-9]*\s*:\s*0*[1-9][0-9]*\s*$"
_SIZE_PATTERN = r"^\s*0*[1-9][0-9]*\s*[xX×]\s*0*[1-9][0-9]*\s*$"


@attrs.frozen
class Tool:
    """One agent tool: a name, what it does, and the requests it makes."""

    name: str
    description: str
    #: None for the batch tool, whose requests say their own.
    media_type: MediaType | None
    audio_kinds: tuple[AudioKind, ...] = ()
    input_schema: Mapping[str, Any] = attrs.field(factory=dict, eq=False)


def installed_specs() -> tuple[BackendSpec, ...]:
    """The specs of every installed backend (built in or a plugin); SDKs are not imported."""
    return _installed()


@functools.lru_cache(maxsize=1)
def _installed() -> tuple[BackendSpec, ...]:
    return tuple(plugin.spec for plugin in discover_plugins())


def tools(specs: Iterable[BackendSpec] | None = None) -> list[Tool]:
    """The tools the installed backends make possible (or `specs`), in media-type order."""
    return list(_installed_tools() if specs is None else _tools(tuple(specs)))


@functools.lru_cache(maxsize=1)
def _installed_tools() -> tuple[Tool, ...]:
    return _tools(installed_specs())


def _tools(specs: tuple[BackendSpec, ...]) -> tuple[Tool, ...]:
    found = []
    for media_type in MediaType:
        if media_type is MediaType.AUDIO:
            offered = [kind for kind in AudioKind if _models(specs, media_type, (kind,))]
            for shape, (name, text) in _AUDIO_TOOLS.items():
                kinds = tuple(k for k in offered if (k.needs_prompt, k.needs_input_audio) == shape)
                if kinds:
                    found.append(_tool(name, text, specs, media_type, kinds))
        elif _models(specs, media_type, ()):
            name, text = _TOOL_TEXT[media_type]
            found.append(_tool(name, text, specs, media_type, ()))
    return tuple(found)


#: The tool that runs several requests at once, as the CLI's `mediagen batch` runs a batch file.
BATCH_TOOL = "generate_batch"
#: Most requests one batch call takes (an agent that needs more calls again).
MAX_BATCH_REQUESTS = 100


def batch_schema(specs: Iterable[BackendSpec] | None = None) -> dict[str, Any]:
    """The batch tool's input schema: `requests`, each one request object of a media tool plus its `media_type`
    (the objects of a CLI batch file), and `max_concurrent`."""
    items = []
    for tool in tools(specs):
        assert tool.media_type is not None
        item = copy.deepcopy(dict(tool.input_schema))
        media_type = {"type": "string", "enum": [tool.media_type.value], "description": "What this request makes."}
        item["properties"] = {"media_type": media_type, **item["properties"]}
        item["required"] = ["media_type", *item["required"]]
        item["description"] = f"A {tool.name} request."
        items.append(item)
    return {
        "type": "object",
        "properties": {
            "requests": {
                "type": "array",
                "items": {"anyOf": items},
                "minItems": 1,
                "maxItems": MAX_BATCH_REQUESTS,
                "description": "The requests, each an object with media_type and the arguments of the tool that "
                "makes that media type. Every one is checked before any is sent; results keep this order.",
            },
            "max_concurrent": {
                "type": ["integer", "null"],
                "minimum": 1,
                "description": "How many requests run at once; null for the configured default.",
            },
        },
        "required": ["requests"],
        "additionalProperties": False,
    }


def tool_for(media_type: MediaType, audio_kind: AudioKind | None, specs: Iterable[BackendSpec] | None = None) -> Tool:
    """The tool that makes requests of this media type (and audio kind); InvalidRequest when none is installed."""
    kind = (audio_kind or AudioKind.SPEECH) if media_type is MediaType.AUDIO else None
    for tool in tools(specs):
        if tool.media_type is media_type and (kind is None or kind in tool.audio_kinds):
            return tool
    what = f"{kind.value} audio" if kind else media_type.value
    raise InvalidRequest(f"no installed backend makes {what}", field="audio_kind" if kind else "media_type")


def _models(specs: Sequence[BackendSpec], media_type: MediaType, kinds: Sequence[AudioKind]) -> list[ModelSpec]:
    wanted = {Capability.for_audio_kind(k) for k in kinds}
    return [
        model for spec in specs for model in spec.models_for(media_type) if not wanted or model.capabilities & wanted
    ]


def _tool(
    name: str, text: str, specs: Sequence[BackendSpec], media_type: MediaType, kinds: tuple[AudioKind, ...]
) -> Tool:
    models = _models(specs, media_type, kinds)
    backends = [s.name for s in specs if any(m in s.models for m in models)]
    properties: dict[str, Any] = {}
    for field in attrs.fields(attrs.resolve_types(MediaRequest)):
        if field.name in HOST_FIELDS or not _applies(field.name, media_type, kinds):
            continue
        schema = _refine(field.name, _json_type(field.type), backends, models, kinds)
        properties[field.name] = {"description": DESCRIPTIONS.get(field.name, ""), **schema}
    required = ["prompt"] if kinds == () or kinds[0].needs_prompt else []
    if kinds and kinds[0].needs_input_audio:
        required.append("input_audio")
    if kinds and AudioKind.SPEECH not in kinds:
        required.append("audio_kind")
    for optional in set(properties) - set(required):  # null means "not given", as OpenAI strict functions send it
        properties[optional] = _nullable(properties[optional])
    input_schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if "mask" in properties:  # a mask needs input images (null is "not given" for both)
        input_schema["if"] = _given("mask")
        input_schema["then"] = _given("input_images")
    if "size" in properties and "aspect_ratio" in properties:  # size or aspect_ratio, not both
        input_schema["not"] = _given("size", "aspect_ratio")
    return Tool(name, text + _TAIL, media_type, kinds, input_schema)


def _applies(name: str, media_type: MediaType, kinds: tuple[AudioKind, ...]) -> bool:
    """Which request fields a tool takes, by the validator's rules on media types and audio kinds."""
    if name == "n":  # several results from one request: images only
        return media_type is MediaType.IMAGE
    if media_type is MediaType.AUDIO:
        if name in ("input_images", "mask", "size", "aspect_ratio", "background", "output_format"):
            return False
        if name == "input_audio":
            return kinds[0].needs_input_audio
        if name == "prompt":
            return kinds[0].needs_prompt or not kinds[0].needs_input_audio
        return True
    return name not in ("input_audio", "audio_kind", "audio_format", "voice", "instructions", "speed", "language")


def _json_type(annotation: Any) -> dict[str, Any]:
    """The JSON type of a request field, from its annotation."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is Union or (args and type(None) in get_args(annotation)):
        return _json_type(args[0])
    if get_origin(annotation) is tuple:
        return {"type": "array", "items": _json_type(args[0]), "minItems": 1}
    if annotation in (InputImage, InputAudio, Path, str):
        return {"type": "string"}
    if annotation is float:
        return {"type": "number"}
    if annotation is int:
        return {"type": "integer"}
    if annotation is bool:
        return {"type": "boolean"}
    if annotation in (MediaType, AudioKind):
        return {"type": "string", "enum": [member.value for member in annotation]}
    return {"type": "object"}


def _listed(models: Sequence[ModelSpec], attribute: str) -> list[str]:
    values: list[str] = []
    for model in models:
        for value in getattr(model.constraints, attribute):
            if value not in values:
                values.append(value)
    return values


def _refine(
    name: str, schema: dict[str, Any], backends: list[str], models: Sequence[ModelSpec], kinds: tuple[AudioKind, ...]
) -> dict[str, Any]:
    """A field's JSON type narrowed by the validator's rule for it and the installed backends' values."""
    if name in ("continue_from", "backend", "model"):
        schema["pattern"] = _NON_BLANK
    if name == "input_audio":  # one file; several samples only where a voice is cloned
        schema["items"]["pattern"] = _NON_BLANK
        schema["minItems"] = 1
        if AudioKind.VOICE_CLONE not in kinds:
            schema["maxItems"] = 1
    if name == "seed":
        schema["minimum"], schema["maximum"] = SEED_RANGE.start, SEED_RANGE.stop - 1
    if name == "prompt":
        schema["pattern"] = VISIBLE_CHARACTER
    if name == "input_images":
        schema["items"]["pattern"] = _NON_BLANK
        most = [m.constraints.max_input_images for m in models if m.constraints.max_input_images is not None]
        if most and len(most) == len(models):
            schema["maxItems"] = max(most)
    if name == "mask":
        schema["pattern"] = _NON_BLANK
    if name == "backend":
        schema = {"type": "string", "enum": backends}
    if name == "model":
        # Known models as examples, not an enum: a model the specs do not list yet is sent as named when the backend
        # is named (vendors release models faster than specs move), and OpenRouter takes any model id it routes to.
        known = [m.name for m in models]
        schema = {
            "type": "string",
            "pattern": _NON_BLANK,
            "examples": known,
            "description": f"{DESCRIPTIONS['model']} Known: {', '.join(known)}." if known else DESCRIPTIONS["model"],
        }
    if name == "audio_kind":
        schema = {"type": "string", "enum": [k.value for k in kinds]}
    if name == "aspect_ratio":
        schema["pattern"] = _RATIO_PATTERN
    if name == "size":
        schema["pattern"] = _SIZE_PATTERN
    if name in ("duration", "speed"):
        schema["exclusiveMinimum"] = 0
    if name == "n":
        schema.update(minimum=1, maximum=MAX_N)
    for field, attribute in (("output_format", "output_formats"), ("audio_format", "audio_formats")):
        if name == field:
            listed = _listed(models, attribute)
            schema = {"type": "string", "enum": listed} if listed else {"type": "string", "pattern": _FORMAT}
    if name == "quality":
        listed = _listed(models, "qualities")
        if listed:
            schema["enum"] = listed
    if name == "voice":
        voices = {"type": "string", "enum": _listed(models, "voices")}
        prefixes = _listed(models, "voice_id_prefixes")
        if not voices["enum"]:
            schema["pattern"] = _NON_BLANK
        elif prefixes:
            custom = "^\\s*(" + "|".join(_escape(p) for p in prefixes) + ")"
            schema = {"anyOf": [voices, {"type": "string", "pattern": custom}]}
        else:
            schema = voices
    if name == "filename":
        # No separator or NUL anywhere, and one character that is none of them nor space.
        schema = {"type": "string", "pattern": r"^[^/\\\x00]*[^/\\\x00\s][^/\\\x00]*$", "not": {"enum": [".", ".."]}}
    return schema


def _given(*names: str) -> dict[str, Any]:
    """Matches arguments where every one of `names` is present and not null."""
    return {"required": list(names), "properties": {name: {"not": {"type": "null"}} for name in names}}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    nullable = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


def _escape(text: str) -> str:
    return "".join("\\" + c if not (c.isalnum() or c == "_") else c for c in text)
