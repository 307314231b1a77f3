"""The error taxonomy (stable codes, JSON shape, no secret ever) and the result values (counts and order)."""

from __future__ import annotations

import inspect
import json
import pickle
import re
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import mediagen
from mediagen.domain import errors
from mediagen.domain.errors import (
    ALL_ERRORS,
    AuthenticationFailed,
    BackendError,
    ConfigurationError,
    ContentRejected,
    ContinuationNotFound,
    FileExists,
    GenerationTimeout,
    InternalError,
    InvalidRequest,
    JobNotFound,
    MediaGenError,
    MissingCredentials,
    NoBackendAvailable,
    PathNotAllowed,
    RateLimited,
    TransientBackendError,
    UnsupportedParameter,
)
from mediagen.domain.media import MediaType
from mediagen.domain.result import (
    Adapted,
    Artifact,
    BatchItem,
    BatchResult,
    Fallback,
    GenerationResult,
    Ignored,
    ParameterReport,
)
from mediagen.domain.secret import Secret

#: The codes the core issue lists, by class; they are part of the public contract (agent tools match on them).
CODES: dict[type[MediaGenError], str] = {
    InvalidRequest: "invalid_request",
    UnsupportedParameter: "unsupported_parameter",
    NoBackendAvailable: "no_backend_available",
    MissingCredentials: "missing_credentials",
    ContinuationNotFound: "continuation_not_found",
    PathNotAllowed: "path_not_allowed",
    FileExists: "file_exists",
    RateLimited: "rate_limited",
    TransientBackendError: "transient_backend_error",
    BackendError: "backend_error",
    ContentRejected: "content_rejected",
    AuthenticationFailed: "authentication_failed",
    GenerationTimeout: "generation_timeout",
    InternalError: "internal_error",
    ConfigurationError: "configuration_error",
    JobNotFound: "job_not_found",
}


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def error_classes() -> list[type[MediaGenError]]:
    """Every MediaGenError subclass the errors module defines, found by looking, not from a hand-kept list."""
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, MediaGenError) and cls is not MediaGenError and cls.__module__ == errors.__name__
    ]


# -- codes --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "code"), CODES.items(), ids=[cls.__name__ for cls in CODES])
def test_each_error_has_the_stable_code_the_issue_lists(cls: type[MediaGenError], code: str) -> None:
    assert cls.code == code


def test_every_error_class_is_listed_has_a_snake_case_code_and_is_exported() -> None:
    found = error_classes()
    assert set(found) == set(CODES), "a new error class needs its code added to CODES (and to the docs)"
    assert set(ALL_ERRORS) == {MediaGenError, *found}
    for cls in found:
        assert cls.code == snake_case(cls.__name__)
        assert getattr(mediagen, cls.__name__) is cls, f"mediagen does not re-export {cls.__name__}"
    assert len({cls.code for cls in ALL_ERRORS}) == len(ALL_ERRORS), "two classes share a code"


def test_only_transient_errors_are_retryable() -> None:
    assert {cls for cls in ALL_ERRORS if cls.retryable} == {TransientBackendError, RateLimited}


def test_the_hierarchy_lets_callers_catch_by_family() -> None:
    assert issubclass(UnsupportedParameter, InvalidRequest)
    for cls in (TransientBackendError, RateLimited, ContentRejected, AuthenticationFailed):
        assert issubclass(cls, BackendError)
    assert issubclass(RateLimited, TransientBackendError)
    assert all(issubclass(cls, Exception) for cls in ALL_ERRORS)


# -- to_dict ------------------------------------------------------------------------------------------------------


def samples() -> list[MediaGenError]:
    """One instance of every error class, with every detail set."""
    return [
        MediaGenError("something failed"),
        InvalidRequest("is not W:H", field="aspect_ratio"),
        UnsupportedParameter("would be ignored", field="seed", backend="openai"),
        ConfigurationError("bad value", key="retry.attempts", source="MEDIAGEN_RETRY__ATTEMPTS"),
        NoBackendAvailable("nothing", reasons={"openai": "no key"}, enabling_env_vars={"openai": ["OPENAI_API_KEY"]}),
        MissingCredentials("xai", ["XAI_API_KEY"]),
        ContinuationNotFound("openai_image_0123456789ab"),
        JobNotFound("job-1"),
        PathNotAllowed("outside", path="/etc/passwd"),
        BackendError("bad", backend="google", status=400),
        TransientBackendError("503", backend="google", status=503),
        RateLimited("slow down", backend="openai", retry_after=2.5),
        ContentRejected("refused", backend="openai", status=400),
        AuthenticationFailed("bad key", backend="openai", status=401),
        GenerationTimeout("too slow", backend="openai", job_id="video_1"),
        InternalError("unexpected KeyError"),
    ]


@pytest.mark.parametrize("error", samples(), ids=lambda e: type(e).__name__)
def test_to_dict_is_json_with_the_message_the_code_and_the_details(error: MediaGenError) -> None:
    data = error.to_dict()
    assert data["error"] == error.message == str(error)
    assert data["error_code"] == error.code
    assert data == {"error": error.message, "error_code": error.code, **error.details()}
    assert json.loads(json.dumps(data)) == data


def test_details_name_the_culprit_of_each_kind() -> None:
    by_type = {type(error): error.to_dict() for error in samples()}
    assert by_type[InvalidRequest]["field"] == "aspect_ratio"
    assert {"field": "seed", "backend": "openai"}.items() <= by_type[UnsupportedParameter].items()
    config = by_type[ConfigurationError]
    assert config["key"] == "retry.attempts" and config["source"] == "MEDIAGEN_RETRY__ATTEMPTS"
    assert by_type[MissingCredentials]["env_vars"] == ["XAI_API_KEY"]
    assert by_type[ContinuationNotFound]["continuation_id"] == "openai_image_0123456789ab"
    assert by_type[JobNotFound]["job_id"] == "job-1"
    assert by_type[PathNotAllowed]["path"] == "/etc/passwd"
    assert {"backend": "openai", "status": 429, "retry_after": 2.5}.items() <= by_type[RateLimited].items()
    assert {"backend": "openai", "job_id": "video_1"}.items() <= by_type[GenerationTimeout].items()


def test_unset_details_are_left_out_rather_than_null() -> None:
    assert InvalidRequest("bad").to_dict() == {"error": "bad", "error_code": "invalid_request"}
    assert BackendError("bad").to_dict() == {"error": "bad", "error_code": "backend_error"}
    assert "retry_after" not in RateLimited("slow").to_dict()
    assert GenerationTimeout("slow").to_dict() == {"error": "slow", "error_code": "generation_timeout"}


def test_invalid_request_prefixes_the_field_to_the_message() -> None:
    error = InvalidRequest("'16x9' is not W:H with positive integers, e.g. 16:9", field="aspect_ratio")
    assert error.message == "aspect_ratio: '16x9' is not W:H with positive integers, e.g. 16:9"


def test_no_backend_available_lists_every_backend_why_and_the_env_vars_that_would_help() -> None:
    error = NoBackendAvailable(
        "no backend can generate image",
        reasons={"google": "no key (set GOOGLE_API_KEY or GEMINI_API_KEY)", "openai": "no key", "xai": "no mask"},
        enabling_env_vars={"google": ["GOOGLE_API_KEY", "GEMINI_API_KEY"], "openai": ["OPENAI_API_KEY"], "xai": []},
    )
    lines = error.message.splitlines()
    assert lines[0] == "no backend can generate image"
    assert "  - google: no key (set GOOGLE_API_KEY or GEMINI_API_KEY)" in lines
    assert "  - openai: no key" in lines and "  - xai: no mask" in lines
    assert lines[-1] == "Set one of: GOOGLE_API_KEY or GEMINI_API_KEY (enables google); OPENAI_API_KEY (enables openai)"
    assert error.summary == "no backend can generate image"
    assert error.to_dict()["reasons"] == error.reasons
    assert set(error.reasons) == {"google", "openai", "xai"}
    assert error.to_dict()["enabling_env_vars"] == {
        "google": ["GOOGLE_API_KEY", "GEMINI_API_KEY"],
        "openai": ["OPENAI_API_KEY"],
    }


def test_missing_credentials_names_every_env_var_and_the_alternatives() -> None:
    error = MissingCredentials("google", ["GOOGLE_API_KEY", "GEMINI_API_KEY"], alternatives=["openai", "xai"])
    assert error.message == (
        "backend 'google' has no API key: set GOOGLE_API_KEY or GEMINI_API_KEY, or choose --backend openai / xai"
    )
    assert error.to_dict() == {
        "error": error.message,
        "error_code": "missing_credentials",
        "backend": "google",
        "env_vars": ["GOOGLE_API_KEY", "GEMINI_API_KEY"],
    }


def test_continuation_not_found_says_what_to_do() -> None:
    assert "start a new generation without continue_from" in ContinuationNotFound("x_image_1").message


# -- secrets ------------------------------------------------------------------------------------------------------

KEY = "sk-proj-mediagen-test-4f9a1c2e8b7d6a5f"


def built_like_the_adapters(secret: Secret) -> list[MediaGenError]:
    """Errors made the ways an adapter makes them, with the key object close at hand."""
    vendor = RuntimeError(f"401 Unauthorized: Incorrect API key provided: {secret!r}")
    chained = AuthenticationFailed(f"the vendor refused the key {secret}: {vendor}", backend="openai", status=401)
    chained.__cause__ = vendor
    return [
        chained,
        BackendError(f"request with key={secret} failed", backend="acme", status=500),
        RateLimited(f"slow down ({secret!s})", backend="acme", retry_after=1.0),
        TransientBackendError("could not reach {}: reset".format(secret), backend="acme"),  # noqa: UP032
        GenerationTimeout(f"{secret:>40} took too long", backend="acme", job_id="job_1"),
        InvalidRequest(f"{secret!r} is not accepted", field="extra"),
        MissingCredentials("acme", ["ACME_API_KEY"]),
        NoBackendAvailable("nothing", reasons={"acme": f"key {secret} refused"}, enabling_env_vars={"acme": ["K"]}),
        InternalError(f"unexpected {type(vendor).__name__}"),
        ContentRejected("%s refused" % secret, backend="acme"),  # noqa: UP031
    ]


def shown(error: MediaGenError) -> str:
    """Everything a log line, a JSON result or a traceback header could show of the error."""
    return "\n".join([str(error), repr(error), error.message, json.dumps(error.to_dict()), repr(error.args)])


@pytest.mark.parametrize("index", range(len(built_like_the_adapters(Secret(KEY)))))
def test_no_error_shows_the_key_in_its_text_repr_or_json(index: int) -> None:
    error = built_like_the_adapters(Secret(KEY))[index]
    assert KEY not in shown(error)


@given(st.from_regex(r"[A-Za-z0-9_\-]{16,64}", fullmatch=True))
def test_for_any_key_a_secret_in_an_error_shows_only_the_mask(value: str) -> None:
    baseline = "".join(shown(error) for error in built_like_the_adapters(Secret("placeholder")))
    assume(value not in baseline)  # a value that happens to be ordinary message text, like "missing_credentials"
    for error in built_like_the_adapters(Secret(value)):
        assert value not in shown(error)


@pytest.mark.parametrize("adapter", ["openai", "google"])
async def test_a_translated_vendor_error_carries_no_key_anywhere_in_its_traceback(adapter: str) -> None:
    """--debug and logging print the whole chain: the vendor's own exception, which may quote the key, is not in it."""
    import importlib
    import time
    import traceback

    from mediagen.application.deadline import Deadline
    from mediagen.domain.errors import MediaGenError

    calls = importlib.import_module(f"mediagen.adapters.{adapter}.{'client' if adapter == 'openai' else 'calls'}")

    async def failing() -> None:
        raise ValueError(f"the SDK says: invalid key {KEY} for this project")

    with pytest.raises(MediaGenError) as caught:
        await calls.vendor_call(failing(), deadline=Deadline.start(time.monotonic, 5.0), secret=Secret(KEY))
    error = caught.value
    assert KEY not in "".join(traceback.format_exception(error))
    assert KEY not in str(error) and KEY not in json.dumps(error.to_dict())


def test_a_secret_repr_str_and_format_never_show_the_value() -> None:
    secret = Secret(KEY)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", "%s" % secret, f"{secret:>50}"):  # noqa: UP031
        assert KEY not in text
    assert repr(secret) == "Secret('**********')"
    assert secret.reveal() == KEY
    assert KEY not in repr([secret]) and KEY not in repr({"key": secret})


def test_a_secret_refuses_to_be_pickled_or_empty() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret(KEY))
    with pytest.raises(ValueError, match="empty"):
        Secret("")


def test_the_shipped_translators_scrub_the_key_from_vendor_text() -> None:
    """The two built-in adapters' translators, fed a vendor failure that echoes the key."""
    from mediagen.adapters.google.errors import translate_google_error
    from mediagen.adapters.openai.errors import translate_openai_error

    secret = Secret(KEY)
    for translated in (
        translate_openai_error(RuntimeError(f"client built with {KEY} crashed"), secret=secret),
        translate_google_error(RuntimeError(f"client built with {KEY} crashed"), secret=secret),
        translate_google_error(ConnectionError(f"proxy said: bad key {KEY}"), secret=secret),
    ):
        assert isinstance(translated, MediaGenError)
        assert KEY not in shown(translated), shown(translated)


# -- results ------------------------------------------------------------------------------------------------------


def result(name: str, backend: str = "fake") -> GenerationResult:
    artifact = Artifact(path=Path(f"/out/{name}.png"), mime_type="image/png", size_bytes=10, sha256="ab" * 32)
    return GenerationResult(
        artifact=artifact,
        backend=backend,
        model=f"{backend}-image",
        media_type=MediaType.IMAGE,
        elapsed_seconds=0.01,
        parameters=ParameterReport(
            applied={"seed": 1},
            adapted=(Adapted("size", "100x100", "1024x1024", "nearest allowed size"),),
            ignored=(Ignored("negative_prompt", "blur", "not supported"),),
        ),
        fallbacks=(Fallback("other", "other-image", "rate_limited", "429"),),
    )


def test_a_result_exposes_its_artifact_and_parameter_report() -> None:
    made = result("fox")
    assert made.path == Path("/out/fox.png") == made.artifact.path
    assert made.applied == {"seed": 1}
    assert made.adapted[0].used == "1024x1024" and made.ignored[0].reason == "not supported"
    assert made.parameters.accounted() == {"seed", "size", "negative_prompt"}
    assert made.continuation_id is None and made.job_id is None and dict(made.metadata) == {}
    assert made.fallbacks[0].error_code == "rate_limited"


def test_parameter_reports_merge_without_losing_an_entry() -> None:
    first = ParameterReport(applied={"seed": 1}, ignored=(Ignored("voice", "x", "no voices"),))
    second = ParameterReport(applied={"size": "64x64"}, adapted=(Adapted("duration", 6, 8),))
    merged = first.merged(second)
    assert merged.applied == {"seed": 1, "size": "64x64"}
    assert merged.accounted() == {"seed", "size", "voice", "duration"}


@given(st.lists(st.booleans(), max_size=30))
def test_a_batch_counts_and_keeps_items_in_request_order(outcomes: list[bool]) -> None:
    items = tuple(
        BatchItem(index, result=result(f"r{index}")) if ok else BatchItem(index, error=BackendError(f"e{index}"))
        for index, ok in enumerate(outcomes)
    )
    batch = BatchResult(items)
    assert batch.total == len(outcomes)
    assert batch.succeeded == sum(outcomes) and batch.failed == len(outcomes) - sum(outcomes)
    assert [item.index for item in batch.items] == list(range(len(outcomes)))
    assert [r.path.stem for r in batch.results] == [f"r{i}" for i, ok in enumerate(outcomes) if ok]
    assert all(item.ok == (item.result is not None) for item in batch.items)


def test_a_failed_item_keeps_its_typed_error() -> None:
    item = BatchItem(3, error=RateLimited("slow", retry_after=4))
    assert not item.ok and isinstance(item.error, RateLimited) and item.error.to_dict()["retry_after"] == 4


def test_results_are_frozen_values() -> None:
    import attrs

    made = result("fox")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.backend = "other"  # type: ignore[misc]
    assert made == result("fox")


@pytest.mark.parametrize(
    "error",
    [
        InvalidRequest("bad size", field="size"),
        PathNotAllowed("outside the roots", path="/etc"),
        BackendError("the vendor failed", backend="openai", status=500),
        MissingCredentials("openai", ["OPENAI_API_KEY"]),
    ],
    ids=lambda error: type(error).__name__,
)
def test_an_error_survives_pickling_as_it_does_coming_back_from_a_ray_worker(error: MediaGenError) -> None:
    restored = pickle.loads(pickle.dumps(error))
    assert type(restored) is type(error) and restored.to_dict() == error.to_dict() and str(restored) == str(error)
