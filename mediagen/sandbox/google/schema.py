"""Google's request schemas, as the Google front end reads JSON: an unknown field name, a value of the wrong type or
an enum value the API lacks is refused with 400 INVALID_ARGUMENT, worded as Google words it.

The messages come from Google's published descriptions (the Gemini API's OpenAPI document and the Vertex AI
discovery document), reduced by `extract` to what a check needs and shipped as `schema.json`; the fake's tests
compare that file with a fresh extraction from the documents. Regenerate it with
`python -m mediagen.sandbox.google.schema GEMINI_OPENAPI.json VERTEX_DISCOVERY.json > schema.json`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import Any

from mediagen.sandbox.google.wire import GoogleApiError

#: The messages each API's requests are read as.
GEMINI_ROOTS = ("GenerateContentRequest",)
VERTEX_ROOTS = (
    "GoogleCloudAiplatformV1beta1GenerateContentRequest",
    "GoogleCloudAiplatformV1beta1PredictRequest",
    "GoogleCloudAiplatformV1beta1PredictLongRunningRequest",
    "GoogleCloudAiplatformV1beta1FetchPredictOperationRequest",
)
#: The Gemini document (revision 20250701) predates GenerationConfig.imageConfig; its fields are google-genai
#: 3.6.1's `_ImageConfig_to_mldev` (aspectRatio, imageSize; the other ImageConfig fields raise in Gemini mode).
_GEMINI_ADDITIONS: dict[str, dict[str, Any]] = {
    "ImageConfig": {"aspectRatio": {"t": "string"}, "imageSize": {"t": "string"}},
    "GenerationConfig": {"imageConfig": {"t": "message", "ref": "ImageConfig"}},
}
_PROTO_TYPES = {"int32": "TYPE_INT32", "uint32": "TYPE_UINT32", "int64": "TYPE_INT64", "uint64": "TYPE_UINT64"}
_PROTO_TYPES |= {"float": "TYPE_FLOAT", "double": "TYPE_DOUBLE", "bool": "TYPE_BOOL", "string": "TYPE_STRING"}
_PROTO_TYPES |= {"bytes": "TYPE_BYTES", "enum": "TYPE_ENUM"}
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1)}
_INT_RANGES |= {"int64": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1)}


# --- extraction from the published documents -------------------------------------------------------------------


def _field(prop: Mapping[str, Any], ref_of: Any) -> dict[str, Any]:
    """One property of an OpenAPI 3 or discovery schema as {"t": kind, ...}."""
    ref = ref_of(prop)
    if ref is not None:
        return {"t": "message", "ref": ref}
    kind = prop.get("type")
    if kind == "array":
        return {"t": "list", "items": _field(prop.get("items", {}), ref_of)}
    if kind == "object":
        if "additionalProperties" in prop:
            return {"t": "map", "values": _field(prop["additionalProperties"], ref_of)}
        return {"t": "struct"}
    if kind == "string":
        if "enum" in prop:
            return {"t": "enum", "values": list(prop["enum"])}
        fmt = str(prop.get("format", ""))
        return {"t": {"byte": "bytes", "int64": "int64", "uint64": "uint64"}.get(fmt, "string")}
    if kind == "integer":
        return {"t": prop.get("format", "int32")}
    if kind == "number":
        return {"t": prop.get("format", "double")}
    if kind == "boolean":
        return {"t": "bool"}
    return {"t": "any"}


def _closure(
    schemas: Mapping[str, Any], roots: tuple[str, ...], ref_of: Any, extra: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    messages: dict[str, dict[str, Any]] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in messages:
            continue
        props = schemas.get(name, {}).get("properties", {})
        fields = {key: _field(prop, ref_of) for key, prop in props.items()}
        fields |= extra.get(name, {})
        messages[name] = dict(sorted(fields.items()))
        pending += [ref for field in fields.values() for ref in _refs(field) if ref not in messages]
    return dict(sorted(messages.items()))


def _refs(field: Mapping[str, Any]) -> Iterator[str]:
    if field["t"] == "message":
        yield field["ref"]
    for inner in ("items", "values"):
        if isinstance(field.get(inner), dict):
            yield from _refs(field[inner])


def _openapi_ref(prop: Mapping[str, Any]) -> str | None:
    target = prop.get("$ref") or next((p.get("$ref") for p in prop.get("allOf", ()) if "$ref" in p), None)
    return None if target is None else str(target).rsplit("/", 1)[-1]


def _discovery_ref(prop: Mapping[str, Any]) -> str | None:
    target = prop.get("$ref")
    return None if target is None else str(target)


def extract(gemini_openapi: Mapping[str, Any], vertex_discovery: Mapping[str, Any]) -> dict[str, Any]:
    """The request messages the fake reads, from the Gemini OpenAPI 3 document and the Vertex discovery document."""
    gemini = _closure(gemini_openapi["components"]["schemas"], GEMINI_ROOTS, _openapi_ref, _GEMINI_ADDITIONS)
    vertex = _closure(vertex_discovery["schemas"], VERTEX_ROOTS, _discovery_ref, {})
    return {
        "gemini": {"revision": gemini_openapi.get("info", {}).get("version"), "messages": gemini},
        "vertex": {"revision": vertex_discovery.get("revision"), "messages": vertex},
    }


@functools.cache
def shipped() -> dict[str, Any]:
    """The extraction shipped with the fake."""
    return json.loads(resources.files(__package__).joinpath("schema.json").read_text())  # type: ignore[no-any-return]


# --- checking a request -----------------------------------------------------------------------------------------


def snake(name: str) -> str:
    """A proto field's name as Google's errors spell it (`generationConfig` -> `generation_config`)."""
    return re.sub(r"(?<!^)([A-Z])", lambda m: "_" + m[1].lower(), name)


def _camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), name)


class _Checker:
    def __init__(self, messages: Mapping[str, Mapping[str, Any]]) -> None:
        self.messages = messages
        self.violations: list[tuple[str, str]] = []

    def message(self, value: Any, name: str, path: str) -> None:
        if not isinstance(value, dict):
            self._invalid(path, f"type.googleapis.com/{name}", value)
            return
        fields = self.messages[name]
        for key, item in value.items():
            field = fields.get(key) or fields.get(_camel(key))
            if field is None:
                where = f" at '{path}'" if path else ""
                text = f'Invalid JSON payload received. Unknown name "{key}"{where}: Cannot find field.'
                self.violations.append((path, text))
                continue
            if item is not None:  # proto3 JSON reads null as "not set"
                self.value(item, field, f"{path}.{snake(_camel(key))}" if path else snake(_camel(key)))

    def value(self, value: Any, field: Mapping[str, Any], path: str) -> None:
        kind = field["t"]
        if kind == "message":
            self.message(value, field["ref"], path)
        elif kind == "list":
            if not isinstance(value, list):
                self.violations.append((path, f"Invalid value at '{path}': expected a list. Starting an object on a "
                                        "scalar field" if isinstance(value, dict) else
                                        f"Invalid value at '{path}': a list is expected"))  # fmt: skip
                return
            for index, item in enumerate(value):
                self.value(item, field["items"], f"{path}[{index}]")
        elif kind == "map":
            if not isinstance(value, dict):
                self._invalid(path, "TYPE_MESSAGE", value)
                return
            for key, item in value.items():
                self.value(item, field["values"], f"{path}[{key!r}]")
        elif kind == "struct":
            if not isinstance(value, dict):
                self._invalid(path, "type.googleapis.com/google.protobuf.Struct", value)
        elif kind != "any" and not _scalar_ok(value, field):
            self._invalid(path, _PROTO_TYPES.get(kind, kind), value)

    def _invalid(self, path: str, type_name: str, value: Any) -> None:
        if isinstance(value, (dict, list)):
            shown = "list" if isinstance(value, list) else "object"
            text = f"Invalid value at '{path}' ({type_name}), Starting an {shown} on a scalar field"
        else:
            text = f"Invalid value at '{path}' ({type_name}), {json.dumps(value)}"
        self.violations.append((path, text))


def _scalar_ok(value: Any, field: Mapping[str, Any]) -> bool:
    """proto3 JSON: integers also as decimal strings, floats also as strings ("NaN", "1.5"), bytes as base64."""
    kind = field["t"]
    if kind in _INT_RANGES:
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        low, high = _INT_RANGES[kind]
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind in ("float", "double"):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return False
            return True
        return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "bytes":
        if not isinstance(value, str):
            return False
        try:
            base64.b64decode(value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4), validate=True)
        except (binascii.Error, ValueError):
            return False
        return True
    if kind == "enum":
        values = field["values"]
        return (isinstance(value, str) and value in values) or (
            isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(values)
        )
    return True


def refuse_unknown(value: Mapping[str, Any], known: Iterable[str], where: str) -> None:
    """Google's 400 for field names outside `known` in `value` (a JSON object found at `where`)."""
    allowed = set(known)
    violations = [
        (where, f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field.")
        for key in value
        if key not in allowed
    ]
    _raise(violations)


def _raise(violations: list[tuple[str, str]]) -> None:
    if violations:
        details = {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": path, "description": text} for path, text in violations],
        }
        raise GoogleApiError(400, "\n".join(text for _, text in violations), details=[details])


def check(body: Mapping[str, Any], api: str, message: str) -> None:
    """Raise Google's 400 INVALID_ARGUMENT when `body` does not read as `message` of `api` ("gemini" or "vertex")."""
    checker = _Checker(shipped()[api]["messages"])
    checker.message(dict(body), message, "")
    _raise(checker.violations)


if __name__ == "__main__":  # pragma: no cover - regenerates schema.json from the vendors' documents
    with open(sys.argv[1], encoding="utf-8") as gemini, open(sys.argv[2], encoding="utf-8") as vertex:
        print(json.dumps(extract(json.load(gemini), json.load(vertex)), indent=1, sort_keys=True))
