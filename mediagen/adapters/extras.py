"""Reading `backends.<name>.extra` for an adapter: typed values, and errors that name the setting and the fix.

Shared by every vendor adapter (and open to third-party ones); it depends on nothing vendor-specific.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mediagen.domain.errors import ConfigurationError


class ExtraReader:
    """One backend's extras. Call `reject_unknown` with every key the adapter reads, so a typo is an error."""

    def __init__(self, backend: str, extra: Mapping[str, Any]) -> None:
        self._backend = backend
        self._extra = extra

    def _error(self, name: str, expected: str, value: object) -> ConfigurationError:
        return ConfigurationError(f"backends.{self._backend}.extra.{name} must be {expected}, not {value!r}", key=name)

    def reject_unknown(self, known: Iterable[str]) -> None:
        allowed = set(known)
        unknown = sorted(set(self._extra) - allowed)
        if unknown:
            raise ConfigurationError(
                f"backends.{self._backend}.extra has unknown keys {', '.join(unknown)}; "
                f"known: {', '.join(sorted(allowed))}",
                key=unknown[0],
            )

    def text(self, name: str) -> str | None:
        """A non-empty string, stripped; None when unset."""
        value = self._extra.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self._error(name, "a non-empty string", value)
        return value.strip()

    def optional_number(self, name: str, *, above: float = 0.0) -> float | None:
        """A number greater than `above`; None when unset."""
        value = self._extra.get(name)
        if value is None:
            return None
        try:
            number = float(value)
            valid = not isinstance(value, bool) and number > above
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise self._error(name, f"a number above {above:g}", value)
        return number

    def number(self, name: str, default: float, *, above: float = 0.0) -> float:
        """A number greater than `above`; `default` when unset."""
        number = self.optional_number(name, above=above)
        return default if number is None else number

    def whole(self, name: str, default: int, *, at_least: int = 1) -> int:
        """A whole number of at least `at_least`; `default` when unset."""
        value = self._extra.get(name, default)
        valid = not isinstance(value, bool)
        try:
            number = float(value)
            valid = valid and number == int(number) and number >= at_least
        except (TypeError, ValueError, OverflowError):
            valid = False
        if not valid:
            raise self._error(name, f"a whole number of at least {at_least}", value)
        return int(number)
