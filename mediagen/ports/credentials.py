"""Where API keys come from."""

from __future__ import annotations

from typing import Protocol

from mediagen.domain.backend import BackendSpec
from mediagen.domain.secret import Secret


class CredentialSource(Protocol):
    def get(self, spec: BackendSpec) -> Secret | None:
        """The backend's key, wrapped, or None when it has none."""
        ...
