"""Settings built without loading cattrs, when every value given needs only the leaf hooks of `values`.

A fresh process that sets a few MEDIAGEN_* variables (an endpoint, an output directory, a store kind) would
otherwise import cattrs and generate its structure functions, about 15 ms and ten thousand objects, before its
first call. The values given here are text, numbers and tables of them, turned into settings by the very hooks the
converter registers; anything else (a list, the priorities, a key the settings lack, a value a hook or validator
refuses) makes `build_plain` answer None, and the converter builds the settings, or words the error, as before.
A test holds the two builders equal on generated settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, get_args

import attrs

from mediagen.application.settings.model import Settings
from mediagen.application.settings.values import _NONE_WORDS, LEAF_HOOKS, _structure_literal, _structure_str
from mediagen.application.settings.wording import _InvalidSetting, _is_dict, _is_literal, _is_optional, _without_none


class _NotPlain(Exception):
    """A value only the converter structures (or words the error of)."""


def build_plain(tree: Mapping[str, Any], defaults: Mapping[str, Any]) -> Settings | None:
    """The settings of the merged `tree` (whose unchanged parts are the plain `defaults`), or None when the converter
    must build them."""
    try:
        settings: Settings = _structure_class(tree, Settings, defaults)
    except (_NotPlain, _InvalidSetting):
        return None
    return settings


@cache
def _fields(cls: type) -> dict[str, Any]:
    """Each init argument of the attrs class `cls` with its resolved type."""
    return {field.name: field.type for field in attrs.fields(attrs.resolve_types(cls)) if field.init}


def _structure_class(value: Any, cls: type, defaults: Mapping[str, Any]) -> Any:
    if not isinstance(value, Mapping):
        raise _NotPlain
    fields = _fields(cls)
    given: dict[str, Any] = {}
    for key, item in value.items():
        if key not in fields:
            raise _NotPlain
        default = defaults.get(key)
        if key in defaults and _same(item, default):
            continue  # the class's own default, which is what the converter makes of it
        given[key] = _structure(item, fields[key], default if isinstance(default, Mapping) else {})
    return cls(**given)


def _structure(value: Any, tp: Any, defaults: Mapping[str, Any]) -> Any:
    if _is_optional(tp):
        if value is None or (isinstance(value, str) and value.strip().lower() in _NONE_WORDS):
            return None
        tp = _without_none(tp)
    leaf = LEAF_HOOKS.get(tp)
    if leaf is not None:
        return leaf(value, tp)
    if _is_literal(tp):
        return _structure_literal(value, tp)
    if isinstance(tp, type) and attrs.has(tp):
        return _structure_class(value, tp, defaults)
    if _is_dict(tp) and isinstance(value, Mapping):
        key_type, item_type = get_args(tp)
        if key_type is str and item_type is Any:
            return {_structure_str(key, str): item for key, item in value.items()}
        if key_type is str and isinstance(item_type, type) and attrs.has(item_type):
            return {_structure_str(key, str): _structure_class(item, item_type, {}) for key, item in value.items()}
    raise _NotPlain


def _same(value: Any, default: Any) -> bool:
    """Equal and of the same types throughout (4.0 is not the default 4: the converter may judge it otherwise)."""
    if type(value) is not type(default):
        return False
    if isinstance(value, dict):
        return value.keys() == default.keys() and all(_same(value[key], default[key]) for key in value)
    if isinstance(value, list):
        return len(value) == len(default) and all(_same(a, b) for a, b in zip(value, default, strict=True))
    return bool(value == default)
