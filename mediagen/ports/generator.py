"""MediaGenerator: what a vendor adapter implements, and what it is handed per call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from mediagen.domain.backend import BackendSpec, ModelSpec
from mediagen.domain.errors import MediaGenError
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import ParameterReport
from mediagen.domain.secret import Secret
from mediagen.ports.continuation import ContinuationState
from mediagen.ports.progress import ProgressListener, ignore_progress


async def _single(data: bytes) -> AsyncIterator[bytes]:
    yield data


@attrs.frozen(kw_only=True)
class GeneratedMedia:
    """The vendor's output, not yet on disk: an async byte stream (constant memory for video)."""

    stream: AsyncIterator[bytes] = attrs.field(repr=False)
    mime_type: str
    model: str
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    continuation: ContinuationState | None = None
    parameters: ParameterReport = attrs.field(factory=ParameterReport)
    size_hint: int | None = None

    @classmethod
    def from_bytes(cls, data: bytes, **kwargs: Any) -> GeneratedMedia:
        return cls(stream=_single(data), size_hint=len(data), **kwargs)


async def _no_job(job_id: str) -> None:
    return None


@attrs.frozen(kw_only=True)
class BackendOptions:
    """Per-backend settings an adapter may use: an endpoint override and vendor extras."""

    base_url: str | None = None
    extra: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class GenerationContext:
    """Everything a generator gets besides the request. Generators never read env vars."""

    credentials: Secret
    model: str
    timeout: float
    continuation: ContinuationState | None = None
    progress: ProgressListener = ignore_progress
    strict: bool = False
    #: Call the moment a vendor job exists, so an interrupted wait can be resumed by id.
    job_started: Callable[[str], Awaitable[None]] = _no_job
    #: Set when resuming: the vendor job to wait for instead of submitting a new one.
    resume_job_id: str | None = None


class MediaGenerator(Protocol):
    """A vendor backend. One that can stop a long-running job it started also offers `cancel` (see
    `JobCanceller`); the service looks for it and says plainly when a backend has none."""

    @property
    def spec(self) -> BackendSpec: ...

    async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
        """Produce media for `request` with `ctx.model`; raise only MediaGenError subclasses."""
        ...

    async def aclose(self) -> None:
        """Release clients; called once when the container shuts down."""
        ...


@runtime_checkable
class ModelCatalog(Protocol):
    """A generator that can also ask its vendor which models it serves now (optional; `backends NAME --refresh`)."""

    async def list_models(self, credentials: Secret, *, timeout: float) -> Sequence[ModelSpec]:
        """The vendor's current models of the kinds this backend makes; raise only MediaGenError subclasses."""
        ...


@runtime_checkable
class JobCanceller(Protocol):
    """The optional part of a generator that cancels a vendor job it started (`mediagen jobs cancel ID`)."""

    async def cancel(self, job_id: str, ctx: GenerationContext) -> None:
        """Ask the vendor to stop (or delete) job `job_id`; raise only MediaGenError subclasses."""
        ...


@runtime_checkable
class ImageBatchGenerator(Protocol):
    """The optional part of a generator whose vendor makes several images in one call (its API's `n`). The service
    calls it for a request of n > 1 on a model whose `images_per_call` is above 1, with n at most that."""

    async def generate_images(
        self, request: MediaRequest, ctx: GenerationContext
    ) -> Sequence[GeneratedMedia | MediaGenError]:
        """`request.n` images from ONE vendor call, in the vendor's order: each its own GeneratedMedia (with its own
        continuation, as a single image has), or the MediaGenError that withheld that one (e.g. a safety filter that
        removed it). A call that fails as a whole raises, as `generate` does; raise only MediaGenError subclasses."""
        ...


class PreparingGenerator(MediaGenerator, Protocol):
    """A generator with the optional `prepare` hook: what it needs per key (an SDK client) is built there, off the
    event loop, before its first call with that key and when the host warms it up."""

    async def prepare(self, credentials: Secret) -> None:
        """Get ready to serve calls made with `credentials`; blocking work goes to a worker thread."""
        ...


class WarmingGenerator(MediaGenerator, Protocol):
    """A generator with the optional `warm_up` hook, which only `MediaService.warm_up` awaits (after `prepare`):
    every other first-use cost paid ahead, e.g. the SDK models of each API it calls, built in a worker thread."""

    async def warm_up(self, credentials: Secret | None) -> None: ...


GeneratorFactory = Callable[[BackendOptions], MediaGenerator]


@attrs.frozen
class BackendPlugin:
    """What the `mediagen.backends` entry-point group yields: a spec and how to build its generator.

    The factory imports the vendor SDK only when called, so `import mediagen` stays light. The registry calls it
    in a worker thread, never on the event loop: it may import the SDK, read files and build clients that need no
    key; it must not need a running loop.
    """

    spec: BackendSpec
    factory: GeneratorFactory
