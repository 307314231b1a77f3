"""ExtraReader: the typed reading of `backends.<name>.extra` every adapter shares."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediagen.adapters.extras import ExtraReader
from mediagen.domain.errors import ConfigurationError


def test_values_from_toml_or_env_text_are_read_with_defaults_when_unset() -> None:
    read = ExtraReader("acme", {"region": " eu ", "interval": "0.5", "turns": "3", "limit": 7.0})
    assert read.text("region") == "eu" and read.text("missing") is None
    assert read.number("interval", 2.0) == 0.5 and read.number("missing", 2.0) == 2.0
    assert read.optional_number("missing") is None
    assert read.whole("turns", 8) == 3 and read.whole("limit", 1) == 7 and read.whole("missing", 8) == 8


@pytest.mark.parametrize(
    ("call", "value", "expected"),
    [
        ("text", "", "a non-empty string"),
        ("text", 3, "a non-empty string"),
        ("number", "soon", "a number above 0"),
        ("number", 0, "a number above 0"),
        ("number", True, "a number above 0"),
        ("whole", 2.5, "a whole number of at least 1"),
        ("whole", 0, "a whole number of at least 1"),
        ("whole", "many", "a whole number of at least 1"),
        ("whole", float("inf"), "a whole number of at least 1"),
    ],
)
def test_a_bad_value_names_the_setting_what_it_must_be_and_what_it_was(call: str, value: Any, expected: str) -> None:
    read = ExtraReader("acme", {"knob": value})
    with pytest.raises(ConfigurationError) as caught:
        getattr(read, call)("knob", *(() if call == "text" else (1,)))
    assert caught.value.key == "knob"
    assert caught.value.message == f"backends.acme.extra.knob must be {expected}, not {value!r}"


def test_unknown_keys_are_an_error_listing_the_known_ones() -> None:
    read = ExtraReader("acme", {"regoin": "eu", "region": "eu"})
    with pytest.raises(ConfigurationError) as caught:
        read.reject_unknown(["region", "interval"])
    assert caught.value.key == "regoin"
    assert caught.value.message == "backends.acme.extra has unknown keys regoin; known: interval, region"
    ExtraReader("acme", {"region": "eu"}).reject_unknown(["region"])


@given(st.floats(min_value=1e-6, max_value=1e9, allow_nan=False))
def test_any_positive_number_survives_as_text(value: float) -> None:
    assert ExtraReader("acme", {"n": repr(value)}).number("n", 1.0) == value
