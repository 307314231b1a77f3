"""Settings: frozen attrs values structured from defaults, TOML files, MEDIAGEN_* env vars and overrides.

`load_settings` merges the sources key by key (later wins), remembers where every value came from, and turns
any bad value into a `ConfigurationError` naming the dotted key, the value, what was expected and its source.

The package is split by what it holds: `model` (the attrs classes), `validators`, `values` (the leaf hooks),
`converter` (cattrs with those hooks), `plain` (text, numbers and tables built by the hooks alone, without
cattrs), `sources` (files, env vars, the key-by-key merge), `errors` and `wording` (messages), and `loading`
(entry points).
"""

from __future__ import annotations

from mediagen.application.settings.loading import (
    LoadedSettings,
    load_settings,
    load_settings_with_sources,
    settings_from_dict,
    settings_to_dict,
)
from mediagen.application.settings.model import (
    DEFAULT_PRIORITIES,
    BackendSettings,
    RetrySettings,
    Settings,
    StoreKind,
    StoreSettings,
    TimeoutSettings,
)
from mediagen.application.settings.sources import CONFIG_ENV_VAR, ENV_PREFIX
from mediagen.application.settings.validators import HOST_PORT_BACKENDS as HOST_PORT_BACKENDS

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
