"""The cattrs converter of the settings: structure hooks that accept TOML values and env strings."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, get_args

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, mapping_structure_factory

from mediagen.application.settings.validators import _is_int
from mediagen.application.settings.wording import (
    _describe,
    _InvalidSetting,
    _is_dict,
    _is_literal,
    _is_optional,
    _is_variadic_tuple,
    _without_none,
)
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


def _make_converter() -> cattrs.Converter:
    """The converter for settings: strict about unknown keys, lenient about env strings, JSON-ready output."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(Path, _structure_path)
    converter.register_structure_hook(MediaType, _structure_media_type)
    converter.register_structure_hook_func(_is_literal, _structure_literal)

    def optional_hook(tp: Any) -> Callable[[Any, Any], Any]:
        inner_type = _without_none(tp)
        inner = converter.get_structure_hook(inner_type)

        def structure(value: Any, _: Any) -> Any:
            if value is None or (isinstance(value, str) and value.strip().lower() in _NONE_WORDS):
                return None
            try:
                return inner(value, inner_type)
            except _InvalidSetting as exc:
                raise _InvalidSetting(_describe(tp), value) from exc

        return structure

    def tuple_hook(tp: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
        item_type = get_args(tp)[0]
        item = converter.get_structure_hook(item_type)

        def structure(value: Any, _: Any) -> tuple[Any, ...]:
            if isinstance(value, str):
                items: list[Any] = _split_list(value)
            elif isinstance(value, (list, tuple)):
                items = list(value)
            else:
                raise _InvalidSetting(_describe(tp), value)
            try:
                return tuple(item(entry, item_type) for entry in items)
            except _InvalidSetting as exc:
                raise _InvalidSetting(_describe(tp), value) from exc

        return structure

    def dict_hook(tp: Any) -> Callable[[Any, Any], dict[Any, Any]]:
        inner = mapping_structure_factory(tp, converter, structure_to=dict)

        def structure(value: Any, _: Any) -> dict[Any, Any]:
            if not isinstance(value, Mapping):
                raise _InvalidSetting(_describe(tp), value)
            result: dict[Any, Any] = inner(value, tp)
            return result

        return structure

    def attrs_hook(cls: Any) -> Callable[[Any, Any], Any]:
        inner = make_dict_structure_fn(cls, converter)

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, Mapping):
                raise _InvalidSetting(_describe(cls), value)
            return inner(value, cls)

        return structure

    converter.register_structure_hook_factory(_is_optional, optional_hook)
    converter.register_structure_hook_factory(_is_variadic_tuple, tuple_hook)
    converter.register_structure_hook_factory(_is_dict, dict_hook)
    converter.register_structure_hook_factory(attrs.has, attrs_hook)

    converter.register_unstructure_hook(Path, str)
    converter.register_unstructure_hook_func(
        _is_variadic_tuple, lambda value: [converter.unstructure(item) for item in value]
    )
    return converter


_converter = _make_converter()
