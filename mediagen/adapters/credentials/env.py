"""Credential sources: the process environment (the default) and a fixed mapping (sandbox mode, embedding)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from mediagen.domain.backend import BackendSpec
from mediagen.domain.secret import Secret


class EnvCredentialSource:
    """A backend's key from the first of its spec's env vars that holds more than whitespace."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        # None means os.environ as it is at each call, so a key exported after start-up is seen.
        self._environ = environ

    def get(self, spec: BackendSpec) -> Secret | None:
        environ = os.environ if self._environ is None else self._environ
        for name in spec.env_vars:
            value = environ.get(name, "").strip()
            if value:
                return Secret(value)
        return None


class StaticCredentialSource:
    """Keys given up front, by backend name; the environment is never read (sandbox mode supplies dummy keys)."""

    def __init__(self, keys: Mapping[str, str | Secret]) -> None:
        self._keys: dict[str, Secret] = {}
        for backend, key in keys.items():
            secret = key if isinstance(key, Secret) else _wrap(key)
            if secret is not None:
                self._keys[backend] = secret

    def get(self, spec: BackendSpec) -> Secret | None:
        return self._keys.get(spec.name)


def _wrap(value: str) -> Secret | None:
    stripped = value.strip()
    return Secret(stripped) if stripped else None
