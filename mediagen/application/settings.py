"""Settings: frozen attrs values structured by cattrs from defaults, TOML files, MEDIAGEN_* env vars and overrides.

`load_settings` merges the sources key by key (later wins), remembers where every value came from, and turns
any bad value into a `ConfigurationError` naming the dotted key, the value, what was expected and its source.
"""

from __future__ import annotations

import difflib
import enum
import math
import os
import re
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs
import cattrs
import platformdirs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_structure_fn, mapping_structure_factory

from mediagen.domain.errors import ConfigurationError
from mediagen.domain.media import MediaType
from mediagen.ports.generator import BackendOptions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_PRIORITIES",
    "ENV_PREFIX",
    "BackendSettings",
    "LoadedSettings",
    "RetrySettings",
    "Settings",
    "StoreKind",
    "StoreSettings",
    "TimeoutSettings",
    "load_settings",
    "load_settings_with_sources",
    "settings_from_dict",
    "settings_to_dict",
]

ENV_PREFIX = "MEDIAGEN_"
CONFIG_ENV_VAR = "MEDIAGEN_CONFIG"
_ENV_NESTING = "__"
_OVERRIDES = "overrides"
_DEFAULTS = "defaults"

StoreKind = Literal["sqlite", "memory", "redis"]

DEFAULT_PRIORITIES: Mapping[MediaType, tuple[str, ...]] = types.MappingProxyType(
    {
        MediaType.IMAGE: ("google", "openai", "xai", "openrouter"),
        MediaType.VIDEO: ("xai", "google", "openai"),
        MediaType.AUDIO: ("elevenlabs", "openai", "google"),
    }
)
"""The backend order tried per media type when the settings name none."""

_THIRTY_DAYS = 30 * 24 * 3600.0
_TWO_GIB = 2 * 1024**3


class _InvalidSetting(ConfigurationError):
    """A value a structure hook or validator refused; the loader adds the full dotted key and the source."""

    def __init__(self, expected: str, value: object, *, key: str | None = None, because: str | None = None) -> None:
        super().__init__(f"{key or 'value'} = {_show(value)} is invalid: expected {expected}", key=key)
        self.expected = expected
        self.value = value
        #: A sibling key (relative to the same table) whose value made this one required.
        self.because = because


# --- validators -------------------------------------------------------------------------------------------------

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
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.\-]*):(\d{1,5})$")
_HOST_PORT_EXPECTED = "host:port of a gRPC API, not a URL (e.g. api.x.ai:443, or 127.0.0.1:50051 for a sandbox)"


def _is_host_port(value: object) -> bool:
    match = _HOST_PORT.match(value) if isinstance(value, str) else None
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


def _names(value: object) -> bool:
    return isinstance(value, tuple) and all(isinstance(name, str) and name.strip() == name and name for name in value)


def _complete_priorities(value: object) -> object:
    """Media types the caller left out keep their default order; lists become tuples."""
    if not isinstance(value, Mapping):
        return value
    given = {key: tuple(names) if isinstance(names, list) else names for key, names in value.items()}
    return {**DEFAULT_PRIORITIES, **given}


def _check_priorities(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict):
        raise _InvalidSetting("a table of media type = list of backend names", value, key=attribute.name)
    for media_type, names in value.items():
        if not isinstance(media_type, MediaType):
            raise _InvalidSetting("a media type: image, video or audio", media_type, key=attribute.name)
        key = f"{attribute.name}.{media_type.value}"
        if not _names(names):
            raise _InvalidSetting("a list of backend names, like ['openai', 'google']", names, key=key)
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise _InvalidSetting(f"each backend at most once ({', '.join(repeated)} repeats)", names, key=key)


def _check_default_models(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict):
        raise _InvalidSetting("a table of media type = model name", value, key=attribute.name)
    for media_type, model in value.items():
        if not isinstance(media_type, MediaType):
            raise _InvalidSetting("a media type: image, video or audio", media_type, key=attribute.name)
        if not isinstance(model, str) or not model.strip():
            raise _InvalidSetting("a model name", model, key=f"{attribute.name}.{media_type.value}")


def _check_extra(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise _InvalidSetting("a table of vendor options", value, key=attribute.name)


def _check_backends(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, dict):
        raise _InvalidSetting("a table of backend name = backend settings", value, key=attribute.name)
    for name, backend in value.items():
        if not isinstance(name, str) or not name.strip():
            raise _InvalidSetting("a backend name", name, key=attribute.name)
        if not isinstance(backend, BackendSettings):
            raise _InvalidSetting("a table of backend settings", backend, key=f"{attribute.name}.{name}")
        if backend.base_url is not None and (name in HOST_PORT_BACKENDS) != _is_host_port(backend.base_url):
            expected = _HOST_PORT_EXPECTED if name in HOST_PORT_BACKENDS else _URL_EXPECTED
            raise _InvalidSetting(expected, backend.base_url, key=f"{attribute.name}.{name}.base_url")


# --- the settings ------------------------------------------------------------------------------------------------


@attrs.frozen
class RetrySettings:
    """How transient backend errors are retried: attempts per backend and exponential backoff with jitter."""

    attempts: int = attrs.field(default=3, validator=_int_at_least(1))
    wait_initial: float = attrs.field(default=0.5, validator=_number_above(0, inclusive=True))
    wait_max: float = attrs.field(default=20.0, validator=_number_above(0, inclusive=True))
    wait_jitter: float = attrs.field(default=0.5, validator=_number_above(0, inclusive=True))


@attrs.frozen
class TimeoutSettings:
    """Overall per-generation timeouts in seconds, by media type (video jobs run for minutes)."""

    image: float = attrs.field(default=180.0, validator=_number_above(0, inclusive=False))
    video: float = attrs.field(default=1200.0, validator=_number_above(0, inclusive=False))
    audio: float = attrs.field(default=300.0, validator=_number_above(0, inclusive=False))

    def for_media(self, media_type: MediaType) -> float:
        """The overall timeout for one generation of `media_type`."""
        by_type = {MediaType.IMAGE: self.image, MediaType.VIDEO: self.video, MediaType.AUDIO: self.audio}
        return by_type[media_type]


@attrs.frozen
class StoreSettings:
    """Where continuation state and job records live; SQLite by default so they survive restarts."""

    kind: StoreKind = attrs.field(default="sqlite", validator=_one_of(*get_args(StoreKind)))
    #: The SQLite file; None lets the store pick its file under the platformdirs user data dir.
    path: Path | None = attrs.field(default=None, validator=_optional_path)
    max_items: int = attrs.field(default=50, validator=_int_at_least(1))
    #: Seconds a continuation stays usable; None keeps it until deleted.
    ttl_seconds: float | None = attrs.field(
        default=_THIRTY_DAYS, validator=_number_above(0, inclusive=False, allow_none=True)
    )
    url: str | None = attrs.field(
        default=None,
        validator=_url(("redis", "rediss", "unix"), "redis://127.0.0.1:6379/0"),
        repr=lambda url: _show(url),  # the password masked; _show is defined further down
    )

    def __attrs_post_init__(self) -> None:
        if self.kind == "redis" and self.url is None:
            raise _InvalidSetting(
                "a redis URL such as redis://127.0.0.1:6379/0 when store.kind is 'redis'",
                None,
                key="url",
                because="kind",
            )


@attrs.frozen
class BackendSettings:
    """Per-backend settings: an endpoint override, default models, vendor extras, and an off switch."""

    #: An http(s) URL; for a gRPC backend (xai) its host:port.
    base_url: str | None = attrs.field(
        default=None, validator=_endpoint("http://127.0.0.1:8080/v1"), repr=lambda url: _show(url)
    )
    default_models: dict[MediaType, str] = attrs.field(factory=dict, validator=_check_default_models)
    extra: dict[str, Any] = attrs.field(factory=dict, validator=_check_extra)
    enabled: bool = attrs.field(default=True, validator=_bool)
    #: Calls this backend may start per minute (each retry counts); None: no limit of mediagen's own.
    requests_per_minute: float | None = attrs.field(
        default=None, validator=_number_above(0, inclusive=False, allow_none=True)
    )
    #: Calls of this backend running at once (held until the file is written); None: no limit of mediagen's own.
    max_concurrent: int | None = attrs.field(default=None, validator=attrs.validators.optional(_int_at_least(1)))

    def options(self) -> BackendOptions:
        """What a generator factory receives: the endpoint override and the vendor extras."""
        return BackendOptions(base_url=self.base_url, extra=dict(self.extra))


def _check_sandbox_options(instance: object, attribute: attrs.Attribute[Any], value: dict[str, Any]) -> None:
    """Values are checked by the sandbox when it starts; here only their shape: text, numbers, or lists of text."""
    for key, item in value.items():
        scalar = isinstance(item, (str, int, float, bool))
        listed = isinstance(item, (list, tuple)) and all(isinstance(x, str) for x in item)
        if not (scalar or listed):
            raise _InvalidSetting(
                "text, a number or a list of text, like latency = 0.25", item, key=f"{attribute.name}.{key}"
            )


@attrs.frozen
class Settings:
    """Everything mediagen can be configured with; `load_settings` builds it from files, env and overrides."""

    priorities: dict[MediaType, tuple[str, ...]] = attrs.field(
        factory=lambda: dict(DEFAULT_PRIORITIES), converter=_complete_priorities, validator=_check_priorities
    )
    backends: dict[str, BackendSettings] = attrs.field(factory=dict, validator=_check_backends)
    store: StoreSettings = attrs.field(factory=StoreSettings, validator=_instance_of(StoreSettings))
    #: Where results go; None means the current directory at the time of use.
    output_dir: Path | None = attrs.field(default=None, validator=_optional_path)
    #: Extra roots results may be written under; the sink always adds the output dir and the current directory.
    allowed_roots: tuple[Path, ...] = attrs.field(default=(), validator=_paths)
    max_concurrent: int = attrs.field(default=4, validator=_int_at_least(1))
    timeouts: TimeoutSettings = attrs.field(factory=TimeoutSettings, validator=_instance_of(TimeoutSettings))
    retry: RetrySettings = attrs.field(factory=RetrySettings, validator=_instance_of(RetrySettings))
    strict: bool = attrs.field(default=False, validator=_bool)
    max_artifact_bytes: int = attrs.field(default=_TWO_GIB, validator=_int_at_least(1))
    sandbox: bool = attrs.field(default=False, validator=_bool)
    #: How the in-process sandbox behaves (latency, faults, job_polls, ...), as text values by setting name.
    sandbox_options: dict[str, Any] = attrs.field(factory=dict, validator=_check_sandbox_options)

    def backend(self, name: str) -> BackendSettings:
        """The settings of backend `name`; defaults when none are configured."""
        found = self.backends.get(name)
        return found if found is not None else BackendSettings()

    def priority(self, media_type: MediaType) -> tuple[str, ...]:
        """The backend order to try for `media_type`."""
        return self.priorities[media_type]


# --- cattrs: structure hooks that accept TOML values and env strings ---------------------------------------------

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_NONE_WORDS = frozenset({"", "none"})


def _split_list(text: str) -> list[str]:
    """A comma-separated env value as items; blanks around items and empty items are dropped."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _is_optional(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType) and type(None) in get_args(tp)


def _without_none(tp: Any) -> Any:
    if not _is_optional(tp):
        return tp
    rest = tuple(arg for arg in get_args(tp) if arg is not type(None))
    return rest[0] if len(rest) == 1 else Union[rest]  # noqa: UP007 - a Union built from a runtime tuple has no X | Y spelling


def _is_variadic_tuple(tp: Any) -> bool:
    args = get_args(tp)
    return get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_dict(tp: Any) -> bool:
    return get_origin(tp) is dict


def _is_literal(tp: Any) -> bool:
    return get_origin(tp) is Literal


def _describe(tp: Any) -> str:
    """What a value of type `tp` looks like, in the words of the configuration reference."""
    if _is_optional(tp):
        return f"{_describe(_without_none(tp))}, or none"
    if _is_literal(tp):
        return "one of " + ", ".join(repr(arg) for arg in get_args(tp))
    if _is_variadic_tuple(tp):
        return f"a list (comma-separated in env) of items each {_describe(get_args(tp)[0])}"
    if _is_dict(tp) or (isinstance(tp, type) and attrs.has(tp)):
        return "a table"
    simple = {
        bool: "true or false (also 1/0, yes/no, on/off)",
        int: "an integer",
        float: "a finite number",
        str: "text",
        Path: "a path",
        MediaType: "a media type: image, video or audio",
    }
    return simple.get(tp, "any value")


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


# --- sources ------------------------------------------------------------------------------------------------------


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


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fp:
            table: dict[str, Any] = tomllib.load(fp)
        return table
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(
            f"{path} is not valid TOML: {exc}; fix the syntax at that line", source=str(path)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigurationError(f"cannot read settings file {path}: {reason}", source=str(path)) from None


def _pyproject_table(path: Path) -> tuple[str, dict[str, Any] | None]:
    """The `[tool.mediagen]` table of a pyproject.toml (None when it has none), with its source label."""
    label = f"{path} [tool.mediagen]"
    tool = _read_toml(path).get("tool")
    table = tool.get("mediagen") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigurationError(f"{label} must be a table of settings, not {_show(table)}", source=label)
    return label, table


def _settings_file(path: Path) -> tuple[str, dict[str, Any] | None]:
    if path.name == "pyproject.toml":
        return _pyproject_table(path)
    return str(path), _read_toml(path)


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


# --- errors -------------------------------------------------------------------------------------------------------

_PASSWORD_IN_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]*:[^/@\s]*@", re.IGNORECASE)


_SECRET_QUERY_NAME = re.compile(r"key|token|secret|password|passwd|sig|auth", re.IGNORECASE)


def _redact(text: str) -> str:
    """`text` with a URL's password, and query values named like a key or token, replaced by ***, so messages and
    displays never show them."""
    if "://" not in text:
        return text
    parts = original = urlsplit(text)
    if _PASSWORD_IN_URL.match(text):
        host = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        masked = [(name, "***" if _SECRET_QUERY_NAME.search(name) else value) for name, value in pairs]
        if masked != pairs:
            parts = parts._replace(query=urlencode(masked, safe="*"))
    return text if parts == original else urlunsplit(parts)


def _show(value: object) -> str:
    shown = repr(_redact(value)) if isinstance(value, str) else repr(value)
    return shown if len(shown) <= 200 else shown[:197] + "..."


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path) if path else "(top level)"


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


def _build(layers: _Layers) -> Settings:
    _anchor_relative_paths(layers)
    try:
        return _converter.structure(layers.tree, Settings)
    except (ClassValidationError, IterableValidationError, ForbiddenExtraKeysError) as exc:
        raise _configuration_error(exc, layers) from None


def _defaults() -> _Layers:
    layers = _Layers()
    layers.add(settings_to_dict(Settings(), redact_secrets=False), _DEFAULTS, None)
    return layers


# --- public entry points ------------------------------------------------------------------------------------------


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
