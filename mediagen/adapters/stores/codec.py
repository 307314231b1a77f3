"""JSON encoding of continuation data shared by the stores, so every store accepts and returns the same values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def encode_data(data: Mapping[str, Any]) -> str:
    """Compact JSON text for `data`; anything that is not plain JSON is refused at save time, in every store."""
    if not isinstance(data, Mapping):
        raise TypeError(f"continuation data must be a JSON object (a mapping), not a {type(data).__name__}")
    try:
        return json.dumps(dict(data), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"continuation data must be plain JSON (objects, arrays, strings, finite numbers, booleans, null): {exc}"
        ) from exc


def decode_data(text: str | bytes) -> dict[str, Any]:
    """The mapping `encode_data` wrote."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise TypeError(f"stored continuation data is a {type(value).__name__}, not a JSON object")
    return value
