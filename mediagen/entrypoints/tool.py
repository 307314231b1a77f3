"""The agent tools: their definitions for each framework, argument checking, and results in one JSON shape
(shared with `--json`). The schemas themselves are generated in `mediagen.entrypoints.schema`."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match

from mediagen.domain.backend import BackendSpec
from mediagen.domain.errors import InvalidRequest, MediaGenError
from mediagen.domain.media import AudioKind, MediaType
from mediagen.domain.request import VISIBLE_CHARACTER, MediaRequest
from mediagen.domain.result import BatchResult, GenerationResult
from mediagen.entrypoints.schema import BATCH_TOOL, Tool, batch_schema, tool_for, tools

#: JSON Schema 2020-12 (MCP's default dialect), where an integer is an int (1.0 is a number, as the seed rule has it).
_VALIDATOR = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)
    ),
)

#: The JSON shape of every result: one generation's success, a failure, or a batch of them.
_ITEM_FIELDS: dict[str, dict[str, Any]] = {
    "success": {"type": "boolean", "description": "Whether the file was written."},
    "operation": {"type": "string", "description": "image, video or audio (batch for a batch)."},
    "mode": {"type": "string", "description": "What the request did, e.g. text_to_image, edit, speech."},
    "file_path": {"type": "string", "description": "Absolute path of the written file."},
    "filename": {"type": "string", "description": "The written file's name."},
    "mime_type": {"type": "string", "description": "What the file holds, from its bytes."},
    "sha256": {"type": "string", "description": "Hex digest of the file."},
    "backend": {"type": ["string", "null"], "description": "The backend that made it."},
    "model": {"type": "string", "description": "The model that made it."},
    "file_size": {"type": "integer", "description": "Bytes written."},
    "elapsed_seconds": {"type": "number", "description": "Wall time of the whole generation."},
    "media_duration_seconds": {
        "type": ["number", "null"],
        "description": "How long the video or audio plays, read from the file; null for images.",
    },
    "continuation_id": {"type": ["string", "null"], "description": "Pass as continue_from to build on this."},
    "metadata": {
        "type": "object",
        "description": "Vendor facts: ids, revised prompt, usage (the whole call's); `call` ({images, index}) when "
        "one vendor call made several images.",
    },
    "applied": {"type": "object", "description": "Parameters used as given."},
    "adapted": {"type": "array", "items": {"type": "object"}, "description": "[{name, requested, used, reason}]"},
    "ignored": {"type": "array", "items": {"type": "object"}, "description": "[{name, value, reason}]"},
    "fallbacks": {"type": "array", "items": {"type": "object"}, "description": "Backends that failed first."},
    "error": {"type": "string", "description": "On failure: what happened and what to do."},
    "error_code": {"type": "string", "description": "On failure: a stable code, e.g. invalid_request."},
    "field": {"type": ["string", "null"], "description": "On failure: the argument at fault."},
}
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **_ITEM_FIELDS,
        "batch": {"type": "boolean", "description": "Present and true for a batch."},
        "total": {"type": "integer", "description": "Batch: requests run."},
        "succeeded": {"type": "integer", "description": "Batch: requests that wrote a file."},
        "failed": {"type": "integer", "description": "Batch: requests that failed."},
        "results": {
            "type": "array",
            "items": {"type": "object", "properties": _ITEM_FIELDS, "required": ["success"]},
            "description": "Batch: one result per request, in request order.",
        },
    },
    "required": ["success"],
}

#: The agent frameworks whose tool definitions `tool_schemas` writes.
FORMATS = ("mcp", "anthropic", "openai")


def tool_schemas(format: str = "mcp", specs: Iterable[BackendSpec] | None = None) -> list[dict[str, Any]]:
    """Every tool's definition as `format` takes it: "mcp" (name, description, inputSchema, outputSchema),
    "anthropic" (name, description, input_schema) or "openai" (a strict function tool). The batch tool is last."""
    if format not in FORMATS:
        raise InvalidRequest(f"{format!r} is not one of: {', '.join(FORMATS)}", field="format")
    batch = Tool(BATCH_TOOL, _BATCH_TEXT, None, (), batch_schema(specs))
    return [_definition(tool, format) for tool in [*tools(specs), batch]]


_BATCH_TEXT = (
    "Run several generations at once (images, videos and audio mixed), at most max_concurrent at a time. Returns "
    "one result per request in request order; a failed request does not stop the others."
)


def tool_schema(name: str, format: str = "mcp", specs: Iterable[BackendSpec] | None = None) -> dict[str, Any]:
    """One tool's definition (see `tool_schemas`)."""
    for definition in tool_schemas(format, specs):
        if definition.get("name", definition.get("function", {}).get("name")) == name:
            return definition
    offered = ", ".join(t.name for t in tools(specs))
    raise InvalidRequest(f"no tool {name!r}; the installed backends offer {offered}", field="name")


def _definition(tool: Tool, format: str) -> dict[str, Any]:
    if format == "anthropic":
        return {"name": tool.name, "description": tool.description, "input_schema": copy.deepcopy(tool.input_schema)}
    if format == "openai":
        parameters = _strict(tool.input_schema)
        return {
            "type": "function",
            "function": {"name": tool.name, "description": tool.description, "parameters": parameters, "strict": True},
        }
    return {
        "name": tool.name,
        "description": tool.description,
        "inputSchema": copy.deepcopy(tool.input_schema),
        "outputSchema": copy.deepcopy(OUTPUT_SCHEMA),
    }


def _strict(schema: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI strict mode: every property listed in `required` (optional ones already take null), no `examples` (the
    model's description names the known ones), and no `not`,
    `if`/`then` or free-form object. So `extra` is left out, and the two cross-field rules (size or
    aspect_ratio; a mask needs input_images) stay in the descriptions; the validator still applies them."""
    properties = {}
    for name, prop in schema["properties"].items():
        if name in _FREE_FORM:
            continue
        prop = {key: copy.deepcopy(value) for key, value in prop.items() if key not in ("not", "examples")}
        if "anyOf" in prop.get("items", {}):  # the batch tool's requests
            prop["items"] = {"anyOf": [_strict(item) for item in prop["items"]["anyOf"]]}
        properties[name] = prop
    strict = {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}
    return {**strict, "description": schema["description"]} if "description" in schema else strict


#: Arguments whose keys are the vendor's, which strict function schemas cannot express.
_FREE_FORM = frozenset({"extra"})


def requests_for_batch(
    arguments: Any, specs: Iterable[BackendSpec] | None = None
) -> tuple[list[MediaRequest], int | None]:
    """The batch tool's requests, every one checked and built before any is sent, and its max_concurrent.
    A refusal names `requests` (and the entry) or `max_concurrent`."""
    if not isinstance(arguments, Mapping):
        raise InvalidRequest(f"arguments must be a JSON object, not {type(arguments).__name__}", field="arguments")
    entries = arguments.get("requests")
    built: list[MediaRequest] = []
    if isinstance(entries, list):
        for number, entry in enumerate(entries, start=1):
            try:
                built.append(request_from_arguments(entry, specs=specs))
            except InvalidRequest as error:
                raise InvalidRequest(f"entry {number}: {error.message}", field="requests") from None
    broken = best_match(_VALIDATOR(batch_schema(specs)).iter_errors(dict(arguments)))
    if broken is not None:
        field = str(broken.absolute_path[0]) if broken.absolute_path else "requests"
        if broken.validator == "additionalProperties":
            field = sorted(set(arguments) - {"requests", "max_concurrent"})[0]
        raise InvalidRequest(broken.message, field=field)
    return built, arguments.get("max_concurrent")


def request_from_arguments(
    arguments: Any, *, defaults: Mapping[str, Any] | None = None, specs: Iterable[BackendSpec] | None = None
) -> MediaRequest:
    """Build a MediaRequest from tool/JSON arguments with `media_type`: they are checked against the schema of the
    tool that makes that media type (bad input is an InvalidRequest naming the field), then validated."""
    if not isinstance(arguments, Mapping):
        raise InvalidRequest(f"arguments must be a JSON object, not {type(arguments).__name__}", field="arguments")
    merged = {**(defaults or {}), **arguments}
    media_type = merged.pop("media_type", None)
    if not isinstance(media_type, str) or media_type.strip().lower() not in {m.value for m in MediaType}:
        raise InvalidRequest("is required: image, video or audio", field="media_type")
    kind = merged.get("audio_kind")
    audio_kind = AudioKind(kind) if kind in {k.value for k in AudioKind} else None
    tool = tool_for(MediaType(media_type.strip().lower()), audio_kind, specs)
    return request_for_tool(tool, merged)


def request_for_tool(tool: Tool, arguments: Any) -> MediaRequest:
    """Check a call's arguments against the tool's input schema, then build the request (null means not given)."""
    check_arguments(tool, arguments)
    if tool.media_type is None:
        raise InvalidRequest(f"{tool.name} makes no single request; call a media tool", field="name")
    given = {name: value for name, value in arguments.items() if value is not None}
    return MediaRequest(media_type=tool.media_type, **given)


def check_arguments(tool: Tool, arguments: Any) -> None:
    """InvalidRequest naming the field for the first way `arguments` breaks the tool's input schema."""
    if not isinstance(arguments, Mapping):
        raise InvalidRequest(f"arguments must be a JSON object, not {type(arguments).__name__}", field="arguments")
    error = best_match(_validator(tool).iter_errors(dict(arguments)))
    if error is None:
        return
    properties = tool.input_schema["properties"]
    if error.validator == "additionalProperties":
        unknown = sorted(set(arguments) - set(properties))
        raise InvalidRequest(
            f"unknown argument(s) {', '.join(unknown)} for {tool.name}; valid: {', '.join(properties)}",
            field=unknown[0],
        )
    if "then" in error.schema_path:
        raise InvalidRequest("a mask needs at least one input image to apply to", field="mask")
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in arguments]
        raise InvalidRequest(f"is required by {tool.name}", field=missing[0])
    if error.validator == "not" and not error.absolute_path:
        raise InvalidRequest("give size or aspect_ratio, not both", field="size")
    field = str(error.absolute_path[0]) if error.absolute_path else "arguments"
    about = properties.get(field, {}).get("description", "")
    if error.validator == "pattern" and error.validator_value in (r"\S", VISIBLE_CHARACTER):
        raise InvalidRequest(f"must not be empty; {about[:1].lower()}{about[1:]}", field=field)
    if error.validator in ("pattern", "not"):
        raise InvalidRequest(f"{error.instance!r} is not allowed: {about}", field=field)
    raise InvalidRequest(f"{error.message} ({about})", field=field)


def _validator(tool: Tool) -> Any:
    return _VALIDATOR(tool.input_schema)


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
        "elapsed_seconds": result.elapsed_seconds,
        "media_duration_seconds": result.media_duration_seconds,
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
    """The batch shape; `requests` as given (one asking for n images stands for n items)."""
    requests = [single for request in requests for single in request.singles()]
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
