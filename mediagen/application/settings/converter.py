"""The cattrs converter of the settings: the leaf hooks of `values`, and hooks for optional values, lists, tables
and attrs classes that accept TOML values and env strings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, get_args

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, mapping_structure_factory

from mediagen.application.settings.values import _NONE_WORDS, LEAF_HOOKS, _split_list, _structure_literal
from mediagen.application.settings.wording import (
    _describe,
    _InvalidSetting,
    _is_dict,
    _is_literal,
    _is_optional,
    _is_variadic_tuple,
    _without_none,
)


def _make_converter() -> cattrs.Converter:
    """The converter for settings: strict about unknown keys, lenient about env strings, JSON-ready output."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    for leaf, hook in LEAF_HOOKS.items():
        converter.register_structure_hook(leaf, hook)
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
