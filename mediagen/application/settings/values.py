"""How one value from a settings file or a MEDIAGEN_* variable becomes a setting's value: the leaf hooks the cattrs
converter registers, kept apart from cattrs so that settings needing only these load without it (`plain`)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, get_args

from mediagen.application.settings.validators import _is_int
from mediagen.application.settings.wording import _describe, _InvalidSetting
from mediagen.domain.media import MediaType

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_NONE_WORDS = frozenset({"", "none"})


def _split_list(text: str) -> list[str]:
    """A comma-separated env value as items; blanks around items and empty items are dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _structure_bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise _InvalidSetting(_describe(bool), value)


def _structure_int(value: Any, _: Any) -> int:
    if _is_int(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            pass
    raise _InvalidSetting(_describe(int), value)


def _structure_float(value: Any, _: Any) -> float:
    number: float | None = None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip())
    except (ValueError, OverflowError):
        number = None
    if number is None or not math.isfinite(number):
        raise _InvalidSetting(_describe(float), value)
    return number


def _structure_str(value: Any, _: Any) -> str:
    if isinstance(value, str):
        return value
    raise _InvalidSetting(_describe(str), value)


def _structure_path(value: Any, _: Any) -> Path:
    if isinstance(value, str) and value.strip():
        try:
            return Path(value).expanduser()
        except RuntimeError:  # ~user naming no known user
            raise _InvalidSetting("a path whose ~user names a known user", value) from None
    if isinstance(value, os.PathLike):
        return Path(value)
    raise _InvalidSetting(_describe(Path), value)


def _structure_media_type(value: Any, _: Any) -> MediaType:
    if isinstance(value, MediaType):
        return value
    if isinstance(value, str):
        try:
            return MediaType(value.strip().lower())
        except ValueError:
            pass
    raise _InvalidSetting(_describe(MediaType), value)


def _structure_literal(value: Any, tp: Any) -> Any:
    allowed = get_args(tp)
    if value in allowed:
        return value
    if isinstance(value, str) and value.strip().lower() in allowed:
        return value.strip().lower()
    raise _InvalidSetting(_describe(tp), value)


#: The hook of each leaf type, by type: the converter registers these, and `plain` calls them.
LEAF_HOOKS: Mapping[Any, Callable[[Any, Any], Any]] = {
    bool: _structure_bool,
    int: _structure_int,
    float: _structure_float,
    str: _structure_str,
    Path: _structure_path,
    MediaType: _structure_media_type,
}
