"""What a generation returns: the written artifact, who made it, and how each parameter was used."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import attrs

from mediagen.domain.errors import MediaGenError
from mediagen.domain.media import MediaType


class ObjectUrl(PurePosixPath):
    """Where an artifact lies in an object store: `str()` is its URL (s3://bucket/key), `.name` the key's last part.

    A pure path (it names no local file): `ObjectUrl("s3://bucket/renders/fox.png").parts` is
    ("s3:", "bucket", "renders", "fox.png").
    """

    def __str__(self) -> str:
        scheme, _, rest = super().__str__().partition(":/")
        return f"{scheme}://{rest}"

    @property
    def url(self) -> str:
        return str(self)


@attrs.frozen
class Artifact:
    """A file the sink wrote completely (never a partial one): a local `Path`, or an `ObjectUrl` in a bucket."""

    path: Path | ObjectUrl
    mime_type: str
    size_bytes: int
    sha256: str
    #: How long the video or audio plays, read from the written file's headers; None for images (and headerless
    #: audio such as raw PCM).
    media_duration_seconds: float | None = None


@attrs.frozen
class Adapted:
    """A parameter changed to the nearest value the backend accepts, e.g. 6 -> 8 seconds."""

    name: str
    requested: Any
    used: Any
    reason: str = ""


@attrs.frozen
class Ignored:
    """A parameter the backend cannot use; strict mode turns these into UnsupportedParameter."""

    name: str
    value: Any
    reason: str


@attrs.frozen
class ParameterReport:
    """How every parameter the caller set was used: applied as given, adapted, or ignored."""

    applied: Mapping[str, Any] = attrs.field(factory=dict)
    adapted: tuple[Adapted, ...] = ()
    ignored: tuple[Ignored, ...] = ()

    def merged(self, other: ParameterReport) -> ParameterReport:
        return ParameterReport(
            applied={**self.applied, **other.applied},
            adapted=self.adapted + other.adapted,
            ignored=self.ignored + other.ignored,
        )

    def accounted(self) -> frozenset[str]:
        return frozenset(self.applied) | {a.name for a in self.adapted} | {i.name for i in self.ignored}


@attrs.frozen
class Fallback:
    """A backend that was tried and failed before the one that produced the result."""

    backend: str
    model: str
    error_code: str
    message: str


@attrs.frozen
class GenerationResult:
    artifact: Artifact
    backend: str
    model: str
    media_type: MediaType
    #: Wall time of the whole generation (the clip's own length is `media_duration_seconds`).
    elapsed_seconds: float
    continuation_id: str | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    parameters: ParameterReport = attrs.field(factory=ParameterReport)
    fallbacks: tuple[Fallback, ...] = ()
    job_id: str | None = None

    @property
    def path(self) -> Path | ObjectUrl:
        return self.artifact.path

    @property
    def media_duration_seconds(self) -> float | None:
        """How long the video or audio plays (from the file), None for images."""
        return self.artifact.media_duration_seconds

    @property
    def duration_seconds(self) -> float:
        """Deprecated: the generation's wall time, read as the clip's length; use `elapsed_seconds`."""
        warnings.warn(
            "GenerationResult.duration_seconds is the generation's wall time: use elapsed_seconds, or "
            "media_duration_seconds for the clip's length",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.elapsed_seconds

    @property
    def applied(self) -> Mapping[str, Any]:
        return self.parameters.applied

    @property
    def adapted(self) -> tuple[Adapted, ...]:
        return self.parameters.adapted

    @property
    def ignored(self) -> tuple[Ignored, ...]:
        return self.parameters.ignored


@attrs.frozen
class BatchItem:
    """One request's outcome in a batch: exactly one of result and error is set."""

    index: int
    result: GenerationResult | None = None
    error: MediaGenError | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        return self.result is not None


@attrs.frozen
class BatchResult:
    """Items in request order."""

    items: tuple[BatchItem, ...]

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def succeeded(self) -> int:
        return sum(1 for item in self.items if item.ok)

    @property
    def failed(self) -> int:
        return self.total - self.succeeded

    @property
    def results(self) -> list[GenerationResult]:
        return [item.result for item in self.items if item.result is not None]
