"""The settings model: frozen attrs classes, their defaults and the checks that span a whole table."""

from __future__ import annotations

import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal, get_args

import attrs

from mediagen.application.settings.validators import (
    _HOST_PORT_EXPECTED,
    _URL_EXPECTED,
    HOST_PORT_BACKENDS,
    _bool,
    _endpoint,
    _instance_of,
    _int_at_least,
    _is_host_port,
    _number_above,
    _one_of,
    _optional_path,
    _paths,
    _url,
)
from mediagen.application.settings.wording import _InvalidSetting, _show
from mediagen.domain.media import MediaType
from mediagen.ports.generator import BackendOptions

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
        repr=lambda url: _show(url),  # the password masked
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


#: What a backend without settings of its own gets (frozen, so one is shared).
_NO_BACKEND_SETTINGS: Final = BackendSettings()


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
        return found if found is not None else _NO_BACKEND_SETTINGS

    def priority(self, media_type: MediaType) -> tuple[str, ...]:
        """The backend order to try for `media_type`."""
        return self.priorities[media_type]
