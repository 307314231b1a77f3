"""The exception taxonomy: every error has a stable `code` and a message that says what to do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class MediaGenError(Exception):
    """Base of every error mediagen raises on purpose. Messages never contain a secret."""

    code: ClassVar[str] = "mediagen_error"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, Any]:
        """Structured facts beyond the message (field, backend, ...), JSON-ready."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, "error_code": self.code, **self.details()}

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its class, message and fields (their __init__ takes keywords), e.g. back from a Ray worker."""
        return (_restore, (type(self), self.args, dict(self.__dict__)))


def _restore(cls: type[MediaGenError], args: tuple[Any, ...], state: dict[str, Any]) -> MediaGenError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InvalidRequest(MediaGenError):
    """A request (or a CLI option) is malformed; `field` names the culprit."""

    code = "invalid_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field

    def details(self) -> dict[str, Any]:
        return {"field": self.field} if self.field else {}


class UnsupportedParameter(InvalidRequest):
    """Strict mode: the chosen backend would ignore a parameter the caller set."""

    code = "unsupported_parameter"

    def __init__(self, message: str, *, field: str, backend: str) -> None:
        super().__init__(message, field=field)
        self.backend = backend

    def details(self) -> dict[str, Any]:
        return {"field": self.field, "backend": self.backend}


class ConfigurationError(MediaGenError):
    """A setting from env or a TOML file is wrong; the message names the key and the source."""

    code = "configuration_error"

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.source = source

    def details(self) -> dict[str, Any]:
        return {k: v for k, v in (("key", self.key), ("source", self.source)) if v is not None}


class NoBackendAvailable(MediaGenError):
    """No backend can serve the request; lists every backend and why it was skipped."""

    code = "no_backend_available"

    def __init__(
        self,
        message: str,
        *,
        reasons: Mapping[str, str] | None = None,
        enabling_env_vars: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        lines = [message]
        for backend, reason in (reasons or {}).items():
            lines.append(f"  - {backend}: {reason}")
        hints = {b: list(v) for b, v in (enabling_env_vars or {}).items() if v}
        if hints:
            lines.append("Set one of: " + "; ".join(f"{' or '.join(v)} (enables {b})" for b, v in hints.items()))
        super().__init__("\n".join(lines))
        self.summary = message
        self.reasons = dict(reasons or {})
        self.enabling_env_vars = hints

    def details(self) -> dict[str, Any]:
        return {"reasons": self.reasons, "enabling_env_vars": self.enabling_env_vars}


class MissingCredentials(MediaGenError):
    """An explicitly chosen backend has no key."""

    code = "missing_credentials"

    def __init__(self, backend: str, env_vars: Sequence[str], *, alternatives: Sequence[str] = ()) -> None:
        names = " or ".join(env_vars) if env_vars else "its credentials"
        message = f"backend {backend!r} has no API key: set {names}"
        if alternatives:
            message += f", or choose --backend {' / '.join(alternatives)}"
        super().__init__(message)
        self.backend = backend
        self.env_vars = tuple(env_vars)

    def details(self) -> dict[str, Any]:
        return {"backend": self.backend, "env_vars": list(self.env_vars)}


class ContinuationNotFound(MediaGenError):
    """`continue_from` names nothing the store holds (unknown, expired or deleted)."""

    code = "continuation_not_found"

    def __init__(self, continuation_id: str) -> None:
        super().__init__(
            f"no continuation {continuation_id!r}: it is unknown, expired or was made with another store; "
            "start a new generation without continue_from"
        )
        self.continuation_id = continuation_id

    def details(self) -> dict[str, Any]:
        return {"continuation_id": self.continuation_id}


class JobNotFound(MediaGenError):
    """A job id names no recorded long-running job."""

    code = "job_not_found"

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no recorded job {job_id!r}; `mediagen jobs list` shows the known ones")
        self.job_id = job_id

    def details(self) -> dict[str, Any]:
        return {"job_id": self.job_id}


class PathNotAllowed(MediaGenError):
    """A path resolves outside the allowed output roots, or would overwrite a file."""

    code = "path_not_allowed"

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def details(self) -> dict[str, Any]:
        return {"path": self.path} if self.path else {}


class FileExists(PathNotAllowed):
    """The file name asked for is taken (by a file of its stem and an extension the request can produce); found
    before any vendor is called, unless overwrite was asked for."""

    code = "file_exists"


class BackendError(MediaGenError):
    """The vendor answered with an error; `backend` says which, `status` the HTTP/gRPC status."""

    code = "backend_error"

    def __init__(self, message: str, *, backend: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.backend = backend
        self.status = status

    def details(self) -> dict[str, Any]:
        return {k: v for k, v in (("backend", self.backend), ("status", self.status)) if v is not None}


class TransientBackendError(BackendError):
    """Worth retrying: 5xx, connection reset, a timeout of one call, a cut-short download."""

    code = "transient_backend_error"
    retryable = True


class RateLimited(TransientBackendError):
    """429; `retry_after` (seconds) is the vendor's hint, when it gave one."""

    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        backend: str | None = None,
        status: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, backend=backend, status=status)
        self.retry_after = retry_after

    def details(self) -> dict[str, Any]:
        extra = {"retry_after": self.retry_after} if self.retry_after is not None else {}
        return {**super().details(), **extra}


class ContentRejected(BackendError):
    """The vendor's safety system refused the prompt or the output; the reason is the vendor's."""

    code = "content_rejected"


class AuthenticationFailed(BackendError):
    """The key was refused (401/403); check it, never retried."""

    code = "authentication_failed"


class GenerationTimeout(MediaGenError):
    """The generation did not finish within the overall timeout; nothing was written."""

    code = "generation_timeout"

    def __init__(self, message: str, *, backend: str | None = None, job_id: str | None = None) -> None:
        super().__init__(message)
        self.backend = backend
        self.job_id = job_id

    def details(self) -> dict[str, Any]:
        return {k: v for k, v in (("backend", self.backend), ("job_id", self.job_id)) if v is not None}


class InternalError(MediaGenError):
    """A bug, not a vendor or user problem: captured per batch item so one never loses the others."""

    code = "internal_error"

    @classmethod
    def unexpected(cls, error: BaseException) -> InternalError:
        """For an exception that is no MediaGenError: its type only, since its text may quote anything, a key too."""
        return cls(f"unexpected {type(error).__name__} in a backend or mediagen itself; please report it")


ALL_ERRORS: tuple[type[MediaGenError], ...] = (
    MediaGenError,
    InvalidRequest,
    UnsupportedParameter,
    ConfigurationError,
    NoBackendAvailable,
    MissingCredentials,
    ContinuationNotFound,
    JobNotFound,
    PathNotAllowed,
    FileExists,
    BackendError,
    TransientBackendError,
    RateLimited,
    ContentRejected,
    AuthenticationFailed,
    GenerationTimeout,
    InternalError,
)
