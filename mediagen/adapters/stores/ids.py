"""Continuation ids: `{backend}_{kind}_{uuid12}`, readable, safe in paths and URLs, and unique."""

from __future__ import annotations

import functools
import re
import secrets

_UNSAFE = re.compile(r"[^a-z0-9-]+")


@functools.lru_cache(maxsize=64)  # a handful of backends and kinds, asked on every save
def _safe_part(text: str, fallback: str) -> str:
    """`text` lowercased with every run of characters outside [a-z0-9-] turned into one hyphen."""
    return _UNSAFE.sub("-", text.lower()).strip("-") or fallback


def new_continuation_id(backend: str, kind: str) -> str:
    """A fresh id naming its backend and kind, with 12 random hex digits (48 bits) for uniqueness.

    Both parts are reduced to [a-z0-9-], so an id never contains the `:` of `{backend}:{vendor id}` references.
    """
    return f"{_safe_part(backend, 'backend')}_{_safe_part(kind, 'state')}_{secrets.token_hex(6)}"
