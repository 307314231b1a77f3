"""How settings values and types are worded in messages: masking secrets, showing values, naming types."""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs

from mediagen.domain.errors import ConfigurationError
from mediagen.domain.media import MediaType


class _InvalidSetting(ConfigurationError):
    """A value a structure hook or validator refused; the loader adds the full dotted key and the source."""

    def __init__(self, expected: str, value: object, *, key: str | None = None, because: str | None = None) -> None:
        super().__init__(f"{key or 'value'} = {_show(value)} is invalid: expected {expected}", key=key)
        self.expected = expected
        self.value = value
        #: A sibling key (relative to the same table) whose value made this one required.
        self.because = because


# --- showing values -----------------------------------------------------------------------------------------------

#: Compiled on first use (by `re`'s cache), as the URLs they mask are shown: in a display or an error.
_PASSWORD_IN_URL = r"(?i)^[a-z][a-z0-9+.-]*://[^/@\s]*:[^/@\s]*@"


_SECRET_QUERY_NAME = r"(?i)key|token|secret|password|passwd|sig|auth"


def _redact(text: str) -> str:
    """`text` with a URL's password, and query values named like a key or token, replaced by ***, so messages and
    displays never show them."""
    if "://" not in text:
        return text
    parts = original = urlsplit(text)
    if re.match(_PASSWORD_IN_URL, text):
        host = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        masked = [(name, "***" if re.search(_SECRET_QUERY_NAME, name) else value) for name, value in pairs]
        if masked != pairs:
            parts = parts._replace(query=urlencode(masked, safe="*"))
    return text if parts == original else urlunsplit(parts)


def _show(value: object) -> str:
    shown = repr(_redact(value)) if isinstance(value, str) else repr(value)
    return shown if len(shown) <= 200 else shown[:197] + "..."


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path) if path else "(top level)"


# --- naming types -------------------------------------------------------------------------------------------------


def _is_optional(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp)


def _without_none(tp: Any) -> Any:
    if not _is_optional(tp):
        return tp
    rest = tuple(arg for arg in get_args(tp) if arg is not type(None))
    return rest[0] if len(rest) == 1 else Union[rest]  # noqa: UP007 - a Union built from a runtime tuple has no X | Y spelling


def _is_variadic_tuple(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_dict(tp: Any) -> bool:
    return get_origin(tp) is dict


def _is_literal(tp: Any) -> bool:
    return get_origin(tp) is Literal


def _describe(tp: Any) -> str:
    """What a value of type `tp` looks like, in the words of the configuration reference."""
    if _is_optional(tp):
        return f"{_describe(_without_none(tp))}, or none"
    if _is_literal(tp):
        return "one of " + ", ".join(repr(arg) for arg in get_args(tp))
    if _is_variadic_tuple(tp):
        return f"a list (comma-separated in env) of items each {_describe(get_args(tp)[0])}"
    if _is_dict(tp) or (isinstance(tp, type) and attrs.has(tp)):
        return "a table"
    simple = {
        bool: "true or false (also 1/0, yes/no, on/off)",
        int: "an integer",
        float: "a finite number",
        str: "text",
        Path: "a path",
        MediaType: "a media type: image, video or audio",
    }
    return simple.get(tp, "any value")
