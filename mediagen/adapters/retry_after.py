"""The wait a vendor's 429 (or 503) asks for, read from its headers: shared by the HTTP adapters."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping


def retry_after_seconds(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """The wait a 429 asks for: retry-after-ms, else Retry-After as seconds or an HTTP date; None when absent."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = _header(headers, name)
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            continue
        if value >= 0 and value != float("inf"):
            return value / divisor
    raw_date = _header(headers, "retry-after")
    if raw_date is None:
        return None
    try:
        when = email.utils.parsedate_to_datetime(raw_date)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """The header `name` (lowercase) from an SDK's headers: a case-insensitive mapping (httpx's), or a plain dict
    that kept the server's capitalisation."""
    found = headers.get(name)
    if found is None:
        found = next((value for key, value in headers.items() if key.lower() == name), None)
    return found
