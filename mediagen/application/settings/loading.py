"""The public entry points: load settings from every source (with where each key came from), build them from one
mapping, and turn them back into plain data for display."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attr
import attrs

from mediagen.application.settings.model import Settings
from mediagen.application.settings.plain import build_plain
from mediagen.application.settings.sources import (
    _DEFAULTS,
    _OVERRIDES,
    _anchor_relative_paths,
    _env_layers,
    _file_layers,
    _Layers,
)
from mediagen.application.settings.wording import _dotted, _redact


def _build(layers: _Layers) -> Settings:
    if not layers.bases:
        # Only the defaults (no settings file, MEDIAGEN_* variable or override): the converter would build
        # `Settings()` from them (a test holds the two equal), so a default run loads no cattrs.
        return Settings()
    _anchor_relative_paths(layers)
    plain = build_plain(layers.tree, _plain_defaults())
    if plain is not None:  # text, numbers and tables of them: no cattrs needed
        return plain
    from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

    from mediagen.application.settings.converter import _converter

    try:
        return _converter.structure(layers.tree, Settings)
    except (ClassValidationError, IterableValidationError, ForbiddenExtraKeysError) as exc:
        from mediagen.application.settings.errors import _configuration_error  # the wording of a bad setting

        raise _configuration_error(exc, layers) from None


def _defaults() -> _Layers:
    layers = _Layers()
    layers.add(_plain_defaults(), _DEFAULTS, None)
    return layers


def _plain_defaults() -> dict[str, Any]:
    """The defaults as plain data, as `settings_to_dict` gives them (a test holds the two equal), by attrs' own
    `asdict`: the converter's unstructure functions are generated only when settings are shown, not at every load."""

    def plain(_: object, __: object, value: Any) -> Any:
        return str(value) if isinstance(value, Path) else value

    return attr.asdict(Settings(), retain_collection_types=False, value_serializer=plain)


@attrs.frozen
class LoadedSettings:
    """Settings plus, for every dotted key, the source its value came from (`mediagen config` shows both)."""

    settings: Settings
    #: Dotted key -> "defaults", a file path (with " [tool.mediagen]" for pyproject.toml), an env var, "overrides".
    sources: dict[str, str]


def load_settings(
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    config_dir: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from, lowest first: defaults, user config.toml, [tool.mediagen] in pyproject.toml, mediagen.toml,
    the file named by MEDIAGEN_CONFIG, MEDIAGEN_* env vars, then `overrides`, merged key by key.
    """
    return load_settings_with_sources(env=env, cwd=cwd, config_dir=config_dir, overrides=overrides).settings


def load_settings_with_sources(
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    config_dir: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> LoadedSettings:
    """Like `load_settings`, and also tells which source set each key."""
    environ: Mapping[str, str] = os.environ if env is None else env
    here = Path.cwd() if cwd is None else cwd
    layers = _defaults()
    for label, table, directory in _file_layers(environ, here, config_dir):
        layers.add(table, label, directory)
    for name, table in _env_layers(environ):
        layers.add(table, name, here)
    if overrides is not None:
        layers.add(overrides, _OVERRIDES, here)
    settings = _build(layers)
    sources: dict[str, str] = {}
    for path, label in sorted(layers.origins.items()):
        found, value = layers.value_at(path)
        if found and not (isinstance(value, dict) and value):  # leaves and empty tables
            sources[_dotted(path)] = label
    return LoadedSettings(settings, sources)


def settings_from_dict(
    data: Mapping[str, Any], *, source: str = "a settings mapping", base_dir: Path | None = None
) -> Settings:
    """Settings from one nested mapping over the defaults, e.g. a parsed JSON or TOML document.

    Relative paths count from `base_dir` (the current directory when None); errors name `source`.
    """
    layers = _defaults()
    layers.add(data, source, Path.cwd() if base_dir is None else base_dir)
    return _build(layers)


def settings_to_dict(settings: Settings, *, redact_secrets: bool = True) -> dict[str, Any]:
    """The settings as plain JSON-ready data (paths as text, lists, media types by value), for display.

    Passwords inside URLs are masked unless `redact_secrets` is False.
    """
    from mediagen.application.settings.converter import _converter

    data: dict[str, Any] = _converter.unstructure(settings)
    if redact_secrets and isinstance(data["store"].get("url"), str):
        data["store"]["url"] = _redact(data["store"]["url"])
    if redact_secrets:
        for backend in data["backends"].values():
            if isinstance(backend.get("base_url"), str):
                backend["base_url"] = _redact(backend["base_url"])
        if data["sandbox_options"].get("api_key") is not None:
            data["sandbox_options"]["api_key"] = "***"
    return data
