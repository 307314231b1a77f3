"""Attribute validators of the settings classes; each refusal is an `_InvalidSetting` naming what was expected."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from mediagen.application.settings.wording import _InvalidSetting

_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _int_at_least(low: int) -> _Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not _is_int(value) or value < low:
            raise _InvalidSetting(f"an integer >= {low}", value, key=attribute.name)

    return check


def _number_above(low: float, *, inclusive: bool, allow_none: bool = False) -> _Validator:
    expected = f"a number {'>=' if inclusive else '>'} {low:g}" + (", or none" if allow_none else "")

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None and allow_none:
            return
        if not _is_number(value) or value < low or (value == low and not inclusive):
            raise _InvalidSetting(expected, value, key=attribute.name)

    return check


def _one_of(*choices: str) -> _Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in choices:
            raise _InvalidSetting("one of " + ", ".join(repr(c) for c in choices), value, key=attribute.name)

    return check


def _instance_of(cls: type[Any]) -> _Validator:
    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, cls):
            raise _InvalidSetting(f"a table of settings ({cls.__name__})", value, key=attribute.name)

    return check


def _bool(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, bool):
        raise _InvalidSetting("true or false", value, key=attribute.name)


def _optional_path(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, Path):
        raise _InvalidSetting("a path", value, key=attribute.name)


def _paths(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(item, Path) for item in value):
        raise _InvalidSetting("a list of paths", value, key=attribute.name)


def _url(schemes: tuple[str, ...], example: str) -> _Validator:
    expected = f"a URL starting with {' or '.join(s + '://' for s in schemes)} (e.g. {example})"

    def check(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            raise _InvalidSetting(expected, value, key=attribute.name)
        try:
            parts = urlsplit(value)
        except ValueError:
            raise _InvalidSetting(expected, value, key=attribute.name) from None
        if parts.scheme not in schemes or not (parts.netloc or parts.path) or any(c.isspace() for c in value):
            raise _InvalidSetting(expected, value, key=attribute.name)

    return check


_URL_EXPECTED = "a URL starting with http:// or https:// (e.g. http://127.0.0.1:8080/v1)"
#: Backends whose base_url is the host:port of a gRPC API rather than an http(s) URL.
HOST_PORT_BACKENDS: frozenset[str] = frozenset({"xai"})
_HOST_PORT = r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.\-]*):(\d{1,5})$"  # compiled when a host:port is given
_HOST_PORT_EXPECTED = "host:port of a gRPC API, not a URL (e.g. api.x.ai:443, or 127.0.0.1:50051 for a sandbox)"


def _is_host_port(value: object) -> bool:
    match = re.match(_HOST_PORT, value) if isinstance(value, str) else None
    return match is not None and 0 < int(match[2]) < 65536


def _endpoint(example: str) -> _Validator:
    """An http(s) URL, or a gRPC host:port; which one a backend takes is checked with its name (_check_backends)."""
    url = _url(("http", "https"), example)
    expected = f"a URL starting with http:// or https:// (e.g. {example}), or host:port for a gRPC backend (xai)"

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if _is_host_port(value):
            return
        try:
            url(instance, attribute, value)
        except _InvalidSetting:
            raise _InvalidSetting(expected, value, key=attribute.name) from None

    return check
