"""Turning cattrs' structured errors into one `ConfigurationError` naming each bad key, its value and source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from mediagen.application.settings.model import Settings
from mediagen.application.settings.sources import _DEFAULTS, ENV_PREFIX, _env_name, _Layers
from mediagen.application.settings.wording import _describe, _dotted, _InvalidSetting, _show
from mediagen.domain.errors import ConfigurationError


@attrs.frozen
class _Problem:
    key: str
    source: str
    text: str


def _invalid(layers: _Layers, path: tuple[str, ...], expected: str, because: str | None) -> _Problem:
    key, source = _dotted(path), layers.source_of(path)
    found, value = layers.value_at(path)
    if because is not None and source == _DEFAULTS:
        cause = (*path[:-1], because)
        source = layers.source_of(cause)
        cause_value = layers.value_at(cause)[1]
        text = (
            f"missing setting {key}: {_dotted(cause)} = {_show(cause_value)} (from {source}) needs it; "
            f"expected {expected}"
        )
        return _Problem(key, source, text)
    shown = _show(value) if found else "(not set)"
    return _Problem(key, source, f"invalid setting {key} = {shown} (from {source}): expected {expected}")


def _bad_key(layers: _Layers, path: tuple[str, ...], expected: str) -> _Problem:
    key, source = _dotted(path), layers.source_of(path)
    return _Problem(key, source, f"invalid key {key} (from {source}): {path[-1]!r} is not {expected}")


def _unknown_key(layers: _Layers, path: tuple[str, ...], cls: type[Any]) -> _Problem:
    key, source = _dotted(path), layers.source_of(path)
    known = sorted(field.name for field in attrs.fields(cls))
    import difflib  # only for a settings error

    close = difflib.get_close_matches(path[-1], known, n=1)
    from_env = source.upper().startswith(ENV_PREFIX)
    if close:
        fixed = (*path[:-1], close[0])
        hint = f"did you mean {_env_name(fixed) if from_env else _dotted(fixed)}?"
    else:
        hint = f"known keys here: {', '.join(known)}"
    return _Problem(key, source, f"unknown setting {key} (from {source}); {hint}")


def _problems(exc: BaseException, path: tuple[str, ...], tp: Any, layers: _Layers) -> Iterator[_Problem]:
    """Walk cattrs' structured errors down to each failing key."""
    if isinstance(exc, ClassValidationError):
        noted, other = exc.group_exceptions()
        for sub, attribute_note in noted:
            yield from _problems(sub, (*path, attribute_note.name), attribute_note.type, layers)
        for sub in other:
            yield from _problems(sub, path, None, layers)
    elif isinstance(exc, IterableValidationError):
        noted_items, other = exc.group_exceptions()
        for sub, item_note in noted_items:
            item_path = (*path, str(item_note.index))
            if str(item_note).startswith("Structuring mapping key"):
                expected = sub.expected if isinstance(sub, _InvalidSetting) else _describe(item_note.type)
                yield _bad_key(layers, item_path, expected)
            else:
                yield from _problems(sub, item_path, item_note.type, layers)
        for sub in other:
            yield from _problems(sub, path, tp, layers)
    elif isinstance(exc, ForbiddenExtraKeysError):
        for name in sorted(exc.extra_fields):
            yield _unknown_key(layers, (*path, name), exc.cl)
    elif isinstance(exc, _InvalidSetting):
        full = (*path, *exc.key.split(".")) if exc.key else path
        yield _invalid(layers, full, exc.expected, exc.because)
    else:
        yield _invalid(layers, path, f"{_describe(tp)} ({exc})", None)


def _configuration_error(exc: BaseException, layers: _Layers) -> ConfigurationError:
    problems = list(dict.fromkeys(_problems(exc, (), Settings, layers)))
    if not problems:  # pragma: no cover - cattrs always reports at least one cause
        return ConfigurationError(f"invalid settings: {exc}")
    first = problems[0]
    if len(problems) == 1:
        message = first.text
    else:
        message = f"{len(problems)} problems in the settings:\n" + "\n".join(f"  - {p.text}" for p in problems)
    return ConfigurationError(message, key=first.key, source=first.source)
