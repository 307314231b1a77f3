"""Reading ElevenLabs requests (JSON, multipart, query) and refusing bad ones in the API's two error shapes.

The API is a FastAPI service. A request that does not fit an endpoint's schema (a missing or unknown field, a wrong
type, a value out of range) gets 422 with FastAPI's validation body, which the SDK types as HttpValidationError:
`{"detail": [{"loc": ["body", "voice_settings", "stability"], "msg": "...", "type": "less_than_equal"}]}` (the msg and
type wordings are pydantic 2's). Unknown fields are refused (`extra_forbidden`) although FastAPI would drop them, so
a misspelt parameter is never silently ignored. Everything else (auth, quota, a voice or job that does not exist,
rules that span fields) gets the API's detail object, `{"detail": {"type", "code", "message", "status",
"request_id", "param"}}`, as ElevenLabs' errors page documents it (`status` is the legacy twin of `code`).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
from aiohttp import BodyPartReader, web

from mediagen.sandbox.vendor import ApiError, Upload

Loc = tuple[str | int, ...]


class ElevenLabsError(ApiError):
    """An error in the API's detail-object form; `data` carries extra fields some errors have (music's
    `prompt_suggestion`)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        type: str = "validation_error",
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(status, message, type=type, param=param, code=code, headers=headers)
        self.data = dict(data) if data is not None else None


class Invalid(ApiError):
    """A 422 in FastAPI's validation form: one entry per problem, each with loc, msg and type."""

    def __init__(self, errors: Sequence[Mapping[str, Any]]) -> None:
        first = errors[0]
        super().__init__(422, str(first["msg"]), type="validation_error", param=_param(first["loc"]))
        self.errors = [dict(e) for e in errors]


def _param(loc: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in loc[1:]) or str(loc[0])


def invalid(loc: Loc, msg: str, kind: str) -> Invalid:
    return Invalid([{"loc": list(loc), "msg": msg, "type": kind}])


def missing(loc: Loc) -> Invalid:
    return invalid(loc, "Field required", "missing")


def detail_body(error: ApiError) -> dict[str, Any]:
    """The JSON body for any ApiError: the validation list for Invalid, the detail object otherwise."""
    if isinstance(error, Invalid):
        return {"detail": error.errors}
    code = error.code or _CODES.get(error.status, "invalid_request")
    kind = error.type if isinstance(error, ElevenLabsError) else _TYPES.get(error.status, "validation_error")
    detail: dict[str, Any] = {
        "type": kind,
        "code": code,
        "message": error.message,
        "status": code,
        "request_id": uuid.uuid4().hex,
    }
    if error.param is not None:
        detail["param"] = error.param
    if isinstance(error, ElevenLabsError) and error.data is not None:
        detail["data"] = error.data
    return {"detail": detail}


# For errors the framework raises (shutting down, a sandbox failure, a bad fault header) in plain ApiError form.
_CODES = {401: "invalid_api_key", 404: "not_found", 500: "internal_server_error", 503: "service_unavailable"}
_TYPES = {
    401: "authentication_error",
    404: "not_found",
    429: "rate_limit_error",
    500: "internal_server_error",
    503: "service_unavailable",
}


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or FastAPI's 422 for a body that is not one."""
    raw = await request.read()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        position = exc.pos if isinstance(exc, json.JSONDecodeError) else 0
        raise invalid(("body", position), "JSON decode error", "json_invalid") from None
    if not isinstance(data, dict):
        raise invalid(
            ("body",), "Input should be a valid dictionary or object to extract fields from", "model_attributes_type"
        )
    return data


@attrs.frozen
class Form:
    """A multipart body: text fields (repeated names keep every value) and files by field name."""

    fields: Mapping[str, list[str]]
    files: Mapping[str, list[Upload]]

    def scalars(self) -> dict[str, str]:
        return {name: values[-1] for name, values in self.fields.items()}


async def form_body(request: web.Request, file_fields: Iterable[str], text_fields: Iterable[str] = ()) -> Form:
    """The request's multipart form; a text value where a file belongs, or a file where text belongs, is a 422, and
    so is a file under a name the endpoint does not have."""
    if not request.content_type.startswith("multipart/"):
        raise invalid(("body",), "Expected a multipart/form-data body", "model_attributes_type")
    files_allowed = set(file_fields)
    text_allowed = set(text_fields)
    fields: dict[str, list[str]] = {}
    files: dict[str, list[Upload]] = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or not part.name:
            raise invalid(("body",), "Nested or unnamed multipart parts are not supported", "model_attributes_type")
        data = bytes(await part.read(decode=False))
        if part.filename is not None:
            if part.name in text_allowed:
                raise invalid(("body", part.name), "Input should be a valid string", "string_type")
            if part.name not in files_allowed:
                raise invalid(("body", part.name), "Extra inputs are not permitted", "extra_forbidden")
            files.setdefault(part.name, []).append(
                Upload(part.name, part.filename, part.headers.get("Content-Type"), data)
            )
        else:
            if part.name in files_allowed:
                raise invalid(
                    ("body", part.name), "Value error, Expected UploadFile, received: <class 'str'>", "value_error"
                )
            try:
                fields.setdefault(part.name, []).append(data.decode("utf-8"))
            except UnicodeDecodeError:
                raise invalid(
                    ("body", part.name),
                    "Input should be a valid string, unable to parse raw data as a unicode string",
                    "string_unicode",
                ) from None
    return Form(fields, files)


_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n"})


def _literal_list(options: Sequence[str]) -> str:
    quoted = [f"'{o}'" for o in options]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" or {quoted[-1]}"


class Fields:
    """Typed, validated access to one object's fields (a JSON object, a form, a query string), raising 422s whose
    loc starts with `where` (e.g. ("body",), ("query",), ("body", "voice_settings")). Text sources (forms and
    queries) convert their values as pydantic's lax mode does; JSON values must already have the right type."""

    def __init__(self, values: Mapping[str, Any], where: Loc, *, textual: bool = False) -> None:
        self.values = dict(values)
        self.where = where
        self.textual = textual

    def loc(self, name: str | int) -> Loc:
        return (*self.where, name)

    def reject_unknown(self, known: Iterable[str]) -> None:
        allowed = set(known)
        for name in self.values:
            if name not in allowed:
                raise invalid(self.loc(name), "Extra inputs are not permitted", "extra_forbidden")

    def given(self, name: str) -> bool:
        return self.values.get(name) is not None

    def string(
        self, name: str, *, required: bool = False, min_length: int | None = None, max_length: int | None = None
    ) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise missing(self.loc(name))
            return None
        if not isinstance(value, str):
            raise invalid(self.loc(name), "Input should be a valid string", "string_type")
        if min_length is not None and len(value) < min_length:
            unit = "character" if min_length == 1 else "characters"
            raise invalid(self.loc(name), f"String should have at least {min_length} {unit}", "string_too_short")
        if max_length is not None and len(value) > max_length:
            raise invalid(self.loc(name), f"String should have at most {max_length} characters", "string_too_long")
        return value

    def choice(self, name: str, options: Sequence[str], default: str | None = None) -> str | None:
        value = self.string(name)
        if value is None:
            return default
        if value not in options:
            raise invalid(self.loc(name), f"Input should be {_literal_list(options)}", "literal_error")
        return value

    def integer(self, name: str, *, ge: int | None = None, le: int | None = None) -> int | None:
        value = self.values.get(name)
        if value is None:
            return None
        if self.textual and isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise invalid(
                    self.loc(name),
                    "Input should be a valid integer, unable to parse string as an integer",
                    "int_parsing",
                ) from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(self.loc(name), "Input should be a valid integer", "int_type")
        self._range(name, value, ge, le)
        return value

    def number(self, name: str, *, ge: float | None = None, le: float | None = None) -> float | None:
        value = self.values.get(name)
        if value is None:
            return None
        if self.textual and isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise invalid(
                    self.loc(name),
                    "Input should be a valid number, unable to parse string as a number",
                    "float_parsing",
                ) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise invalid(self.loc(name), "Input should be a valid number", "float_type")
        if not math.isfinite(value):
            raise invalid(self.loc(name), "Input should be a finite number", "finite_number")
        self._range(name, float(value), ge, le)
        return float(value)

    def boolean(self, name: str) -> bool | None:
        value = self.values.get(name)
        if value is None:
            return None
        if self.textual and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE or lowered in _FALSE:
                return lowered in _TRUE
            raise invalid(self.loc(name), "Input should be a valid boolean, unable to interpret input", "bool_parsing")
        if not isinstance(value, bool):
            raise invalid(self.loc(name), "Input should be a valid boolean", "bool_type")
        return value

    def string_list(self, name: str, *, max_items: int | None = None) -> list[str] | None:
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            raise invalid(self.loc(name), "Input should be a valid list", "list_type")
        if max_items is not None and len(value) > max_items:
            raise invalid(
                self.loc(name),
                f"List should have at most {max_items} items after validation, not {len(value)}",
                "too_long",
            )
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise invalid((*self.loc(name), index), "Input should be a valid string", "string_type")
        return list(value)

    def obj(self, name: str) -> Fields | None:
        """A nested object's fields, or None when it was not given."""
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise invalid(
                self.loc(name),
                "Input should be a valid dictionary or object to extract fields from",
                "model_attributes_type",
            )
        return Fields(value, self.loc(name))

    def objects(self, name: str, *, required: bool = False, max_items: int | None = None) -> list[Fields] | None:
        """A list of nested objects' fields, or None when it was not given."""
        value = self.values.get(name)
        if value is None:
            if required:
                raise missing(self.loc(name))
            return None
        if not isinstance(value, list):
            raise invalid(self.loc(name), "Input should be a valid list", "list_type")
        if max_items is not None and len(value) > max_items:
            raise invalid(
                self.loc(name),
                f"List should have at most {max_items} items after validation, not {len(value)}",
                "too_long",
            )
        out = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise invalid(
                    (*self.loc(name), index),
                    "Input should be a valid dictionary or object to extract fields from",
                    "model_attributes_type",
                )
            out.append(Fields(item, (*self.loc(name), index)))
        return out

    def string_map(self, name: str, *, nullable_values: bool = False) -> dict[str, str | None] | None:
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise invalid(self.loc(name), "Input should be a valid dictionary", "dict_type")
        for key, item in value.items():
            if not (isinstance(item, str) or (nullable_values and item is None)):
                raise invalid((*self.loc(name), key), "Input should be a valid string", "string_type")
        return dict(value)

    def _range(self, name: str, value: float, ge: float | None, le: float | None) -> None:
        if ge is not None and value < ge:
            raise invalid(
                self.loc(name), f"Input should be greater than or equal to {_shown(ge)}", "greater_than_equal"
            )
        if le is not None and value > le:
            raise invalid(self.loc(name), f"Input should be less than or equal to {_shown(le)}", "less_than_equal")


def _shown(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() and isinstance(bound, int) else str(bound)


def query(request: web.Request, known: Iterable[str]) -> Fields:
    """The query string as Fields (repeated names keep the last value), unknown names refused."""
    fields = Fields({name: request.query.getall(name)[-1] for name in request.query}, ("query",), textual=True)
    fields.reject_unknown(known)
    return fields
