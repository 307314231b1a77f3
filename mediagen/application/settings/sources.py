"""The layered sources of the settings: defaults, TOML files, MEDIAGEN_* env vars and overrides, merged key by
key with the source of every key, and relative paths anchored to the file that set them."""

from __future__ import annotations

import enum
import os
import re
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, get_args

import attrs
import platformdirs

from mediagen.application.settings.model import Settings
from mediagen.application.settings.values import _NONE_WORDS, _split_list
from mediagen.application.settings.wording import _is_dict, _is_variadic_tuple, _show, _without_none
from mediagen.domain.errors import ConfigurationError

ENV_PREFIX = "MEDIAGEN_"
CONFIG_ENV_VAR = "MEDIAGEN_CONFIG"
_ENV_NESTING = "__"
_OVERRIDES = "overrides"
_DEFAULTS = "defaults"


def _plain(value: Any) -> Any:
    """A copy of `value` with table keys as text (enum keys become their value), safe to merge into."""
    if isinstance(value, Mapping):
        return {_key_text(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _key_text(key: object) -> str:
    return str(key.value) if isinstance(key, enum.Enum) else str(key)


@attrs.define
class _Layers:
    """The deep merge of every source so far, and which source set each key (for error messages)."""

    tree: dict[str, Any] = attrs.field(factory=dict)
    origins: dict[tuple[str, ...], str] = attrs.field(factory=dict)
    #: Directory a source's relative paths are relative to, by source label.
    bases: dict[str, Path] = attrs.field(factory=dict)

    def add(self, data: Mapping[str, Any], label: str, base: Path | None) -> None:
        if base is not None:
            self.bases[label] = base
        self._merge(self.tree, data, (), label)

    def _merge(self, target: dict[str, Any], incoming: Mapping[Any, Any], prefix: tuple[str, ...], label: str) -> None:
        for raw_key, value in incoming.items():
            key = _key_text(raw_key)
            path = (*prefix, key)
            current = target.get(key)
            if isinstance(value, Mapping) and isinstance(current, dict):
                self.origins[path] = label
                self._merge(current, value, path, label)
                continue
            for stale in [p for p in self.origins if p[: len(path)] == path]:
                del self.origins[stale]
            target[key] = _plain(value)
            self._mark(path, target[key], label)

    def _mark(self, path: tuple[str, ...], value: Any, label: str) -> None:
        self.origins[path] = label
        if isinstance(value, dict):
            for key, item in value.items():
                self._mark((*path, key), item, label)

    def source_of(self, path: tuple[str, ...]) -> str:
        """The source that set `path`, or the table holding it."""
        for end in range(len(path), 0, -1):
            label = self.origins.get(path[:end])
            if label is not None:
                return label
        return _DEFAULTS

    def value_at(self, path: tuple[str, ...]) -> tuple[bool, Any]:
        node: Any = self.tree
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return False, None
            node = node[key]
        return True, node


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read settings file {path}: {exc.strerror or exc}", source=str(path)) from None


def _read_toml(path: Path, data: bytes) -> dict[str, Any]:
    """The TOML file at `path`, whose bytes are `data`, as a table."""
    if sys.version_info >= (3, 11):  # loaded only when a settings file exists
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    try:
        table: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
        return table
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(
            f"{path} is not valid TOML: {exc}; fix the syntax at that line", source=str(path)
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"cannot read settings file {path}: {exc}", source=str(path)) from None


def _pyproject_table(path: Path) -> tuple[str, dict[str, Any] | None]:
    """The `[tool.mediagen]` table of a pyproject.toml (None when it has none), with its source label. A file that
    never says "mediagen" has no such table and is not parsed: a project's pyproject.toml is not mediagen's to
    judge, and parsing it (tomllib's import included) is most of what reading settings costs a fresh process."""
    label = f"{path} [tool.mediagen]"
    data = _read_bytes(path)
    if b"mediagen" not in data:
        return label, None
    tool = _read_toml(path, data).get("tool")
    table = tool.get("mediagen") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigurationError(f"{label} must be a table of settings, not {_show(table)}", source=label)
    return label, table


def _settings_file(path: Path) -> tuple[str, dict[str, Any] | None]:
    if path.name == "pyproject.toml":
        return _pyproject_table(path)
    return str(path), _read_toml(path, _read_bytes(path))


def _file_layers(
    env: Mapping[str, str], cwd: Path, config_dir: Path | None
) -> Iterator[tuple[str, dict[str, Any], Path]]:
    """The settings files that exist, lowest precedence first, as (label, table, directory)."""
    user_dir = config_dir if config_dir is not None else platformdirs.user_config_path("mediagen")
    candidates = [user_dir / "config.toml", cwd / "pyproject.toml", cwd / "mediagen.toml"]
    for path in candidates:
        if path.is_file():
            label, table = _settings_file(path)
            if table is not None:
                yield label, table, path.parent
    named = next((value for name, value in env.items() if name.upper() == CONFIG_ENV_VAR and value), None)
    if named is not None:
        path = Path(named).expanduser()
        path = path if path.is_absolute() else cwd / path
        if not path.is_file():
            raise ConfigurationError(
                f"{CONFIG_ENV_VAR} names {path}, which is not a file; point it at a TOML settings file or unset it",
                key=CONFIG_ENV_VAR,
                source=CONFIG_ENV_VAR,
            )
        label, table = _settings_file(path)
        if table is not None:
            yield label, table, path.parent


def _env_name(path: tuple[str, ...]) -> str:
    return ENV_PREFIX + _ENV_NESTING.join(path).upper()


def _env_layers(env: Mapping[str, str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """One single-key table per MEDIAGEN_* variable, as (variable name, table); clashing names are an error."""
    seen: dict[tuple[str, ...], str] = {}
    for name in sorted(env):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper == CONFIG_ENV_VAR:
            continue
        path = tuple(name[len(ENV_PREFIX) :].lower().split(_ENV_NESTING))
        if not all(path):
            raise ConfigurationError(
                f"{name} is not a setting name: join nested keys with a double underscore, "
                "like MEDIAGEN_RETRY__ATTEMPTS",
                source=name,
            )
        for other_path, other in seen.items():
            shorter = min(len(path), len(other_path))
            if path[:shorter] == other_path[:shorter]:
                raise ConfigurationError(
                    f"{other} and {name} both set {'.'.join(path[:shorter])}; unset one of them",
                    key=".".join(path[:shorter]),
                    source=name,
                )
        seen[path] = name
        table: dict[str, Any] = {path[-1]: env[name]}
        for key in reversed(path[:-1]):
            table = {key: table}
        yield name, table


# --- relative paths -----------------------------------------------------------------------------------------------


@cache
def _path_fields(cls: type[Any], prefix: tuple[str, ...] = ()) -> tuple[tuple[tuple[str, ...], bool], ...]:
    """Keys holding paths, as (key pattern, is a list); `*` stands for any key of a table of settings."""
    found: list[tuple[tuple[str, ...], bool]] = []
    for field in attrs.fields(attrs.resolve_types(cls)):
        tp = _without_none(field.type)
        key = (*prefix, field.name)
        if tp is Path:
            found.append((key, False))
        elif _is_variadic_tuple(tp) and get_args(tp)[0] is Path:
            found.append((key, True))
        elif isinstance(tp, type) and attrs.has(tp):
            found.extend(_path_fields(tp, key))
        elif _is_dict(tp) and attrs.has(get_args(tp)[1]):
            found.extend(_path_fields(get_args(tp)[1], (*key, "*")))
    return tuple(found)


def _expand(node: Any, pattern: tuple[str, ...], done: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if not pattern:
        yield done
        return
    if not isinstance(node, dict):
        return
    head, rest = pattern[0], pattern[1:]
    keys = list(node) if head == "*" else [head] if head in node else []
    for key in keys:
        yield from _expand(node[key], rest, (*done, key))


#: An output place in an object store: a scheme of two or more letters (so not a drive like C:/) then ":/".
_PLACE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


def _anchor(value: Any, base: Path) -> Any:
    """`value` as an absolute path when it is a relative one; anything else is left for the hooks to judge."""
    if isinstance(value, (str, os.PathLike)) and _PLACE_URL.match(os.fspath(value)):
        return value  # an object-store place such as s3://bucket/prefix (as a Path, s3:/bucket/prefix): not relative
    if isinstance(value, os.PathLike) or (isinstance(value, str) and value.strip().lower() not in _NONE_WORDS):
        try:
            path = Path(value).expanduser()
        except RuntimeError:
            return value
        return path if path.is_absolute() else base / path
    return value


def _anchor_relative_paths(layers: _Layers) -> None:
    """Relative paths count from the directory of the file that set them; env and overrides from the cwd."""
    for pattern, is_list in _path_fields(Settings):
        for path in _expand(layers.tree, pattern):
            base = layers.bases.get(layers.source_of(path))
            if base is None:
                continue
            parent = layers.value_at(path[:-1])[1]
            value = parent[path[-1]]
            if is_list and isinstance(value, str):
                value = _split_list(value)
            if is_list and isinstance(value, (list, tuple)):
                parent[path[-1]] = [_anchor(item, base) for item in value]
            elif not is_list:
                parent[path[-1]] = _anchor(value, base)
