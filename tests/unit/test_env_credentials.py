"""Credential sources: the first non-empty env var wins, and a key never shows in a repr, a message or a log."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediagen.adapters.credentials.env import EnvCredentialSource, StaticCredentialSource
from mediagen.domain.backend import BackendSpec, ModelSpec
from mediagen.domain.errors import AuthenticationFailed, BackendError
from mediagen.domain.media import Capability, MediaType
from mediagen.domain.secret import Secret
from mediagen.ports.credentials import CredentialSource

KEY = "sk-live-0123456789abcdef"
GOOGLE = BackendSpec(
    name="google",
    display_name="Google",
    env_vars=("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    models=[ModelSpec("imagen", MediaType.IMAGE, {Capability.TEXT_TO_IMAGE})],
)
OPENAI = BackendSpec(
    name="openai",
    display_name="OpenAI",
    env_vars="OPENAI_API_KEY",
    models=[ModelSpec("gpt-image-1", MediaType.IMAGE, {Capability.TEXT_TO_IMAGE})],
)


def test_both_sources_satisfy_the_port() -> None:
    sources: list[CredentialSource] = [EnvCredentialSource({}), StaticCredentialSource({})]
    assert all(source.get(GOOGLE) is None for source in sources)


# -- the environment ---------------------------------------------------------------------------------------------


def test_the_first_env_var_wins_when_several_are_set() -> None:
    source = EnvCredentialSource({"GOOGLE_API_KEY": "first", "GEMINI_API_KEY": "second"})
    assert source.get(GOOGLE) == Secret("first")


def test_a_later_env_var_is_used_when_the_first_is_unset() -> None:
    assert EnvCredentialSource({"GEMINI_API_KEY": "second"}).get(GOOGLE) == Secret("second")


@pytest.mark.parametrize("blank", ["", " ", "\t\n", "   \r\n"])
def test_a_whitespace_only_value_counts_as_missing(blank: str) -> None:
    assert EnvCredentialSource({"GOOGLE_API_KEY": blank, "GEMINI_API_KEY": "second"}).get(GOOGLE) == Secret("second")
    assert EnvCredentialSource({"GOOGLE_API_KEY": blank}).get(GOOGLE) is None


def test_surrounding_whitespace_is_trimmed_from_a_key() -> None:
    secret = EnvCredentialSource({"OPENAI_API_KEY": f"  {KEY}\n"}).get(OPENAI)
    assert secret is not None and secret.reveal() == KEY


def test_a_backend_with_no_env_var_set_has_no_key() -> None:
    assert EnvCredentialSource({"OTHER": KEY}).get(OPENAI) is None


def test_by_default_the_process_environment_is_read_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    source = EnvCredentialSource()
    assert source.get(OPENAI) is None
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert source.get(OPENAI) == Secret(KEY)


@given(values=st.lists(st.text(alphabet=" \tab\n", max_size=4), min_size=2, max_size=2))
def test_the_key_is_always_the_first_value_with_content(values: list[str]) -> None:
    environ = dict(zip(GOOGLE.env_vars, values, strict=True))
    expected = next((v.strip() for v in values if v.strip()), None)
    found = EnvCredentialSource(environ).get(GOOGLE)
    assert (found.reveal() if found else None) == expected


# -- fixed keys ----------------------------------------------------------------------------------------------------


def test_static_keys_are_looked_up_by_backend_name_and_ignore_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "the-real-key")
    source = StaticCredentialSource({"openai": "sandbox-dummy"})
    assert source.get(OPENAI) == Secret("sandbox-dummy")
    assert source.get(GOOGLE) is None


def test_static_keys_accept_secrets_and_drop_blank_values() -> None:
    source = StaticCredentialSource({"openai": Secret(KEY), "google": "  "})
    assert source.get(OPENAI) == Secret(KEY)
    assert source.get(GOOGLE) is None


def test_a_static_source_never_shows_its_keys() -> None:
    source = StaticCredentialSource({"openai": KEY})
    assert KEY not in repr(source) and KEY not in str(source) and KEY not in repr(vars(source))


# -- a secret never shows --------------------------------------------------------------------------------------------


def secret_from_env() -> Secret:
    secret = EnvCredentialSource({"OPENAI_API_KEY": KEY}).get(OPENAI)
    assert secret is not None
    return secret


def test_a_secret_repr_and_str_show_a_mask() -> None:
    secret = secret_from_env()
    assert KEY not in repr(secret) and KEY not in str(secret)
    assert "*" in str(secret)
    assert KEY not in repr([secret]) and KEY not in repr({"key": secret})


@pytest.mark.parametrize("spec", ["", "s", ">40", "!r"])
def test_formatting_a_secret_shows_a_mask(spec: str) -> None:
    secret = secret_from_env()
    rendered = f"{secret!r}" if spec == "!r" else format(secret, spec)
    assert KEY not in rendered
    assert KEY not in f"Bearer {secret}"
    assert KEY not in "key=%s" % (secret,)  # noqa: UP031 - %-formatting is what logging does
    assert KEY not in "key={}".format(secret)  # noqa: UP032 - str.format is another path to __format__


def test_an_exception_message_built_with_a_secret_shows_the_mask() -> None:
    secret = secret_from_env()
    errors: list[Exception] = [
        BackendError(f"request with {secret} failed", backend="openai"),
        AuthenticationFailed(f"key {secret} refused", status=401),
        ValueError(secret),
        RuntimeError("key", secret),
    ]
    for error in errors:
        assert KEY not in str(error) and KEY not in repr(error)
    assert "**" in str(errors[0])


def test_a_logged_secret_shows_the_mask(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("mediagen.test").info("using %s and %r", secret_from_env(), secret_from_env())
    assert KEY not in caplog.text
    assert "**" in caplog.text


def test_reveal_is_the_only_way_to_the_value() -> None:
    assert secret_from_env().reveal() == KEY
