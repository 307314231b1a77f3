"""Finds backends: the built-in vendor packages and third-party `mediagen.backends` entry points."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from mediagen.domain.errors import ConfigurationError
from mediagen.ports.generator import BackendPlugin

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

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
    """Third-party backends: each entry point names a BackendPlugin or a callable returning one.

    importlib.metadata (and the email, zipfile and csv modules it loads) is imported, and every distribution's
    entry points parsed, only when some installed distribution may declare the group (`may_declare`)."""
    if not may_declare(group):
        return []
    from importlib.metadata import entry_points

    return [_load(ep) for ep in entry_points(group=group)]


def may_declare(group: str, path: Sequence[object] | None = None, finders: Sequence[object] | None = None) -> bool:
    """False only when no distribution `importlib.metadata` finds can declare an entry point of `group`.

    It finds them as `<name>.dist-info` / `<name>.egg-info` folders (and an `.egg`'s `EGG-INFO`) in the folders of
    `path` (sys.path), whose `entry_points.txt` holds a `[group]` section. A zip archive on the path, or a finder
    of distributions other than the standard path finder (on `finders`, sys.meta_path), is not looked into: the
    answer is then True, and importlib.metadata decides, as it always does when the answer is True.
    """
    from importlib.machinery import PathFinder

    for finder in sys.meta_path if finders is None else finders:
        if finder is not PathFinder and getattr(finder, "find_distributions", None) is not None:
            return True
    needle = group.encode()
    for entry in sys.path if path is None else path:
        if not isinstance(entry, str):
            return True
        root = entry or "."
        try:
            children = os.listdir(root)
        except OSError:
            if os.path.exists(root):
                return True  # a zip archive (or a folder it cannot list): importlib.metadata looks
            continue
        egg = os.path.basename(entry).lower().endswith(".egg")
        for child in children:
            low = child.lower()
            if low.endswith((".dist-info", ".egg-info")) or (egg and low == "egg-info"):
                try:
                    with open(os.path.join(root, child, "entry_points.txt"), "rb") as listed:
                        if needle in listed.read():
                            return True
                except OSError:
                    continue
    return False


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
