"""The vendors' published API descriptions as JSON Schema validators, so the fakes' tests hold requests and answers
to them mechanically.

The documents live beside the repository (`../shared/specs/`, or the directory named by MEDIAGEN_VENDOR_SPECS);
tests that need them skip when they are absent. OpenAPI 3.0 and Google discovery schemas are adapted to JSON Schema:
`nullable` becomes a null type, `oneOf` becomes `anyOf` (OpenAI's members overlap), Google's `required`
(path-bound fields such as `model`) is dropped, int64 also takes its string form (proto3 JSON sends it so),
discovery's `any` takes anything, and an object that lists its properties takes no others (what "no field the
schema lacks" means).
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest

SPECS = Path(os.environ.get("MEDIAGEN_VENDOR_SPECS", Path(__file__).resolve().parents[1].parent / "shared" / "specs"))
GEMINI = "generativelanguage.v1beta.openapi3.json"
VERTEX = "aiplatform.v1beta1.discovery.json"
OPENAI = "openai-openapi.json"


@functools.cache
def document(name: str) -> dict[str, Any]:
    path = SPECS / name
    if not path.is_file():
        pytest.skip(f"the vendor's published description {path} is not here")
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _adapt_openapi(node: Any, *, required: bool = True, close: bool = True) -> Any:
    """One schema node as JSON Schema. `close`: an object listing its properties takes no others; the parts of an
    allOf stay open (they point at `components/open/...`) and the whole is closed with unevaluatedProperties."""
    if isinstance(node, list):
        return [_adapt_openapi(item, required=required) for item in node]
    if not isinstance(node, dict):
        return node
    dropped = ("discriminator", "example") if required else ("discriminator", "example", "required")
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in dropped:
            continue
        if key == "allOf":
            out[key] = [_open_part(part, required) for part in value]
        elif key == "oneOf":  # members overlap (e.g. the two message shapes of an input item): any one will do
            out["anyOf"] = _adapt_openapi(value, required=required)
        else:
            out[key] = _adapt_openapi(value, required=required)
    if out.pop("nullable", False):
        return {"anyOf": [out, {"type": "null"}]}
    if out.get("format") in ("int64", "uint64") and out.get("type") == "integer":
        return {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^-?\d+$"}]}
    if close and "additionalProperties" not in out:
        if "allOf" in out and any("properties" in p or "$ref" in p for p in out["allOf"]):
            out["unevaluatedProperties"] = False
        elif "properties" in out and not _composed(out):
            out["additionalProperties"] = False
    return out


def _open_part(part: Any, required: bool) -> Any:
    if isinstance(part, dict) and set(part) == {"$ref"}:
        return {"$ref": part["$ref"].replace("/components/schemas/", "/components/open/")}
    return _adapt_openapi(part, required=required, close=False)


def _composed(schema: dict[str, Any]) -> bool:
    return any(key in schema for key in ("allOf", "anyOf", "oneOf"))


def _adapt_discovery(node: Any) -> Any:
    if isinstance(node, list):
        return [_adapt_discovery(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _adapt_discovery(value) for key, value in node.items() if key not in ("id", "description")}
    if isinstance(out.get("$ref"), str) and not out["$ref"].startswith("#"):
        return {"$ref": f"#/schemas/{out['$ref']}"}
    if out.get("type") == "any":
        out.pop("type")
    if out.get("format") in ("int64", "uint64") and out.get("type") == "string":
        out = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": r"^-?\d+$"}]}
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


@functools.cache
def _openapi_root(name: str) -> dict[str, Any]:
    # Google's OpenAPI document marks path-bound fields (GenerateContentRequest.model) required in the body too.
    schemas = document(name)["components"]["schemas"]
    required = name != GEMINI
    closed = {key: _adapt_openapi(value, required=required) for key, value in schemas.items()}
    opened = {key: _adapt_openapi(value, required=required, close=False) for key, value in schemas.items()}
    return {"components": {"schemas": closed, "open": opened}}


@functools.cache
def _discovery_root(name: str) -> dict[str, Any]:
    return {"schemas": {key: _adapt_discovery(value) for key, value in document(name)["schemas"].items()}}


def openapi_validator(
    name: str, schema: str, sdk_fields: Mapping[str, Iterable[str]] | None = None
) -> jsonschema.protocols.Validator:
    """A validator for the named schema of an OpenAPI 3.0 document (`components/schemas/<schema>`).

    `sdk_fields` names, per schema, the fields the SDK's response model has beyond the document (which lags the SDK):
    those are allowed too, with any value.
    """
    root = _openapi_root(name)
    if sdk_fields:
        root = copy.deepcopy(root)
        for target, fields in sdk_fields.items():
            for kind in ("schemas", "open"):
                properties = root["components"][kind][target].setdefault("properties", {})
                for field in fields:
                    properties.setdefault(field, {})
    return jsonschema.Draft202012Validator({**root, "$ref": f"#/components/schemas/{schema}"})


def discovery_validator(name: str, schema: str) -> jsonschema.protocols.Validator:
    """A validator for the named schema of a Google discovery document."""
    root = {**_discovery_root(name), "$ref": f"#/schemas/{schema}"}
    return jsonschema.Draft202012Validator(root)


def problems(validator: jsonschema.protocols.Validator, instance: Any) -> list[str]:
    """What in `instance` the schema refuses ([] when it conforms), each with its path."""
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in _errors(validator, instance)
    ]


def _errors(validator: jsonschema.protocols.Validator, instance: Any) -> Iterator[jsonschema.ValidationError]:
    for error in validator.iter_errors(instance):
        # For a failed anyOf/oneOf, the alternative that came closest says more than "is not valid under any".
        yield jsonschema.exceptions.best_match([error]) if error.context else error


def member_for(name: str, schema: str, type_value: str) -> str:
    """The member of a discriminated union (`anyOf`/`oneOf` of refs, no mapping) whose `type` declares `type_value`."""
    schemas = document(name)["components"]["schemas"]
    for ref in schemas[schema].get("anyOf", []) + schemas[schema].get("oneOf", []):
        member = ref["$ref"].rsplit("/", 1)[-1]
        declared = schemas[member].get("properties", {}).get("type", {})
        if type_value in declared.get("enum", ()) or declared.get("const") == type_value:
            return member
    raise AssertionError(f"no member of {schema} declares type {type_value!r}")
