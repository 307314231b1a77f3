"""Finds backends: the built-in vendor packages and third-party `mediagen.backends` entry points."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

from mediagen.domain.errors import ConfigurationError
from mediagen.ports.generator import BackendPlugin

ENTRY_POINT_GROUP = "mediagen.backends"

#: Built-in vendor packages; each exposes `PLUGIN` and imports its SDK only inside the factory.
BUILTIN_MODULES: tuple[str, ...] = (
    "mediagen.adapters.openai",
    "mediagen.adapters.google",
    "mediagen.adapters.xai",
    "mediagen.adapters.openrouter",
    "mediagen.adapters.elevenlabs",
)


def builtin_plugins(modules: Iterable[str] = BUILTIN_MODULES) -> list[BackendPlugin]:
    return [_as_plugin(importlib.import_module(name).PLUGIN, name) for name in modules]


def entry_point_plugins(group: str = ENTRY_POINT_GROUP) -> list[BackendPlugin]:
    """Third-party backends: each entry point names a BackendPlugin or a callable returning one."""
    return [_load(ep) for ep in entry_points(group=group)]


def discover_plugins() -> list[BackendPlugin]:
    found = builtin_plugins() + entry_point_plugins()
    names = [p.spec.name for p in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigurationError(
            f"more than one installed backend is named {', '.join(duplicates)}; uninstall one of the plugins",
            key="mediagen.backends",
        )
    return found


def _load(entry: EntryPoint) -> BackendPlugin:
    where = f"entry point {entry.name!r} ({entry.value}) in group {ENTRY_POINT_GROUP!r}"
    try:
        loaded = entry.load()
    except Exception as exc:
        raise ConfigurationError(
            f"{where} failed to import: {type(exc).__name__}: {exc}; fix or uninstall that package",
            key=ENTRY_POINT_GROUP,
        ) from exc
    if callable(loaded) and not isinstance(loaded, BackendPlugin):
        loaded = loaded()
    return _as_plugin(loaded, where)


def _as_plugin(candidate: object, where: str) -> BackendPlugin:
    if not isinstance(candidate, BackendPlugin):
        raise ConfigurationError(
            f"{where} gave {type(candidate).__name__}, not mediagen.ports.generator.BackendPlugin",
            key=ENTRY_POINT_GROUP,
        )
    return candidate
