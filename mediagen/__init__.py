"""mediagen: one API for generating images, video and audio across vendors.

Importing this package loads no vendor SDK: backends load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mediagen.domain.errors import (
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
from mediagen.domain.media import AudioKind, Capability, MediaType
from mediagen.domain.request import InputAudio, InputImage, MediaRequest
from mediagen.domain.result import Adapted, Artifact, BatchItem, BatchResult, GenerationResult, Ignored

if TYPE_CHECKING:
    from mediagen.api import generate, generate_sync, open_service
    from mediagen.container import Container

__all__ = [
    "Adapted",
    "Artifact",
    "AudioKind",
    "AuthenticationFailed",
    "BackendError",
    "BatchItem",
    "BatchResult",
    "Capability",
    "ConfigurationError",
    "Container",
    "ContentRejected",
    "ContinuationNotFound",
    "FileExists",
    "GenerationResult",
    "GenerationTimeout",
    "Ignored",
    "InputAudio",
    "InputImage",
    "InternalError",
    "InvalidRequest",
    "JobNotFound",
    "MediaGenError",
    "MediaRequest",
    "MediaType",
    "MissingCredentials",
    "NoBackendAvailable",
    "PathNotAllowed",
    "RateLimited",
    "TransientBackendError",
    "UnsupportedParameter",
    "generate",
    "generate_sync",
    "open_service",
]

__version__ = "0.1.0"

_LAZY = {
    "Container": "mediagen.container",
    "generate": "mediagen.api",
    "generate_sync": "mediagen.api",
    "open_service": "mediagen.api",
}


def __dir__() -> list[str]:
    return sorted({*__all__, "__version__"})


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mediagen' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
