"""MediaService: generate, batch, continue and resume — retries, failover, timeouts, safe writes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from mediagen.application.deadline import within
from mediagen.application.jobs import JobInfo, _job_failed, _job_info, _JobTracker, _timed_out, _with_item
from mediagen.application.limits import LocalLimits
from mediagen.application.outcome import (
    _account,
    _account_hash,
    _close,
    _is_url,
    _output_media_type,
    _renamed,
    _vendor_reference,
)
from mediagen.application.registry import BackendRegistry
from mediagen.application.retrying import retry_after
from mediagen.application.selector import BackendSelector, Candidate, Verdict
from mediagen.application.settings import Settings
from mediagen.domain.backend import ModelSpec
from mediagen.domain.errors import (
    BackendError,
    ContinuationNotFound,
    GenerationTimeout,
    InternalError,
    InvalidRequest,
    JobNotFound,
    MediaGenError,
    MissingCredentials,
    UnsupportedParameter,
)
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import (
    Artifact,
    BatchItem,
    BatchResult,
    Fallback,
    GenerationResult,
    ParameterReport,
)
from mediagen.ports.artifacts import ArtifactSink, ArtifactTarget, Reclaimed
from mediagen.ports.continuation import (
    JOB_KIND,
    VENDOR_ID_KIND,
    ContinuationState,
    ContinuationStore,
)
from mediagen.ports.engine import BatchEngine
from mediagen.ports.generator import GeneratedMedia, GenerationContext, JobCanceller, ModelCatalog
from mediagen.ports.limits import CallLimit, CallLimits
from mediagen.ports.progress import (
    Downloading,
    Failed,
    FellBack,
    ProgressListener,
    Selected,
    Throttled,
    Written,
    ignore_progress,
)


class MediaService:
    """The use cases. Data flows one way: entrypoint -> service -> selector -> generator -> sink."""

    def __init__(
        self,
        *,
        registry: BackendRegistry,
        selector: BackendSelector,
        store: ContinuationStore,
        sink: ArtifactSink,
        settings: Settings,
        encode_request: Callable[[MediaRequest], dict[str, Any]] | None = None,
        decode_request: Callable[[dict[str, Any]], MediaRequest] | None = None,
        inspect_inputs: Callable[[MediaRequest], Awaitable[None]] | None = None,
        limits: CallLimits | None = None,
    ) -> None:
        self._registry = registry
        self._selector = selector
        self._store = store
        self._sink = sink
        self._settings = settings
        self._encode = encode_request
        self._decode = decode_request
        #: Checks a request's input files in depth (e.g. decodes its pictures) before any vendor call.
        self._inspect = inspect_inputs
        self._limits: CallLimits = LocalLimits() if limits is None else limits

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def selector(self) -> BackendSelector:
        return self._selector

    async def __aenter__(self) -> MediaService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._registry.aclose()
        await self._store.aclose()
        await self._limits.aclose()
        sink_aclose = getattr(self._sink, "aclose", None)  # optional in the port: a sink holding a client
        if sink_aclose is not None:
            await sink_aclose()

    def explain(self, request: MediaRequest) -> list[Verdict]:
        return self._selector.explain(request)

    async def list_models(self, backend: str) -> list[ModelSpec]:
        """The models `backend`'s vendor serves now, asked with its key (`mediagen backends NAME --refresh`)."""
        spec = self._registry.spec(backend)
        key = self._selector.credentials(backend)
        if key is None:
            raise MissingCredentials(backend, spec.env_vars)
        generator = await self._registry.ready(backend, key)
        if not isinstance(generator, ModelCatalog):
            raise InvalidRequest(
                f"{backend} cannot ask its vendor for its models; its known models are listed without --refresh",
                field="refresh",
            )
        timeout = max(self._settings.timeouts.for_media(media) for media in spec.media_types)
        return list(await generator.list_models(key, timeout=timeout))

    async def warm_up(self, backends: Iterable[str] | None = None) -> tuple[str, ...]:
        """Pay a backend's first-call cost now: its SDK import and client for the configured key, built in worker
        threads, and the store opened, so the first request only generates. Returns the backends warmed up.

        `backends` defaults to every backend a request can reach (enabled, with a key); an unknown name is
        InvalidRequest. A backend without a key gets its SDK loaded, and its client on the first call.
        """
        names = self._selector.available() if backends is None else list(dict.fromkeys(backends))
        for name in names:
            self._registry.spec(name)  # an unknown name fails before anything starts
        opening = getattr(self._store, "open", None)  # optional in the port: a store may connect ahead of use
        sink_warm_up = getattr(self._sink, "warm_up", None)  # optional in the port: see ArtifactSink
        media_types = {media for name in names for media in self._registry.spec(name).media_types}
        await asyncio.gather(
            *(self._warm_up(name) for name in names),
            *([opening()] if opening else []),
            *([sink_warm_up(media_types)] if sink_warm_up else []),
        )
        return tuple(names)

    async def _warm_up(self, name: str) -> None:
        credentials = self._selector.credentials(name)
        generator = await self._registry.ready(name, credentials)
        more = getattr(generator, "warm_up", None)  # optional: see ports.generator.WarmingGenerator
        if more is not None:
            await more(credentials)

    # -- generate ---------------------------------------------------------------------------------------

    async def generate(self, request: MediaRequest, *, progress: ProgressListener | None = None) -> GenerationResult:
        """One generation, written to disk; raises a MediaGenError subclass on failure."""
        if request.n > 1:
            raise InvalidRequest(
                f"asks for {request.n} images, which are {request.n} results: use generate_batch([request])", field="n"
            )
        return await self._generate(request, progress or ignore_progress, item=None)

    async def _generate(
        self, request: MediaRequest, listener: ProgressListener, *, item: int | None, resume: JobInfo | None = None
    ) -> GenerationResult:
        started = time.monotonic()
        timeout = request.timeout or self._settings.timeouts.for_media(request.media_type)
        state, route = await self._resolve_continuation(request)
        if resume is not None:
            route = resume.backend
        candidates = self._selector.candidates(request, backend=route)
        if resume is not None:
            candidates = [attrs.evolve(candidates[0], model=resume.model)]
        job = _JobTracker(self, request, item, listener, resume)
        await self._prepare_sink(request)
        if self._inspect is not None:
            await self._inspect(request)
        try:
            result = await within(
                timeout, self._run_candidates(request, candidates, state, job, listener, item, started, timeout)
            )
        except asyncio.TimeoutError:
            error = _timed_out(timeout, job)
            _with_item(listener, item, job.backend or "")(Failed(error_code=error.code, message=error.message))
            raise error from None
        except GenerationTimeout as vendor_timeout:
            # The generator ran out of the time it was handed (what was left of the overall timeout) first;
            # the caller sees the same error either way: their timeout, and how to collect a running job.
            raise _timed_out(timeout, job) from vendor_timeout
        # The file is written and the result is the caller's: from here nothing may turn it into an error (which
        # would leave a file nobody was told of), so forgetting the collected job is outside the timeout, and a
        # store failure there only leaves a stale job record, which expires with the store's TTL.
        with contextlib.suppress(Exception):
            await job.finished()
        return result

    async def check(self, request: MediaRequest) -> None:
        """Everything `generate` checks before calling a vendor, without calling one: the continuation, a backend
        and model that can serve it (with a key), the output dir and file name, the input files in depth. Raises
        the error `generate` would raise before paying."""
        _, route = await self._resolve_continuation(request)
        self._selector.candidates(request, backend=route)
        await self._prepare_sink(request)
        if self._inspect is not None:
            await self._inspect(request)

    async def check_batch(self, requests: Sequence[MediaRequest]) -> dict[int, MediaGenError]:
        """`check` for every request, and no two writing one file name: what `generate_batch` would fail on before
        any vendor call, by item index (empty when all is well), so a batch can be refused whole before it starts."""
        problems: dict[int, MediaGenError] = {}
        claimed: dict[tuple[str, str], int] = {}
        for index, request in enumerate(requests):
            try:
                await self.check(request)
            except MediaGenError as error:
                problems[index] = error
                continue
            if request.filename is None or request.overwrite:
                continue
            place = str(request.output_dir or self._settings.output_dir or "")
            key = (place, Path(request.filename).stem if "." in request.filename else request.filename)
            if key in claimed:
                problems[index] = InvalidRequest(
                    f"{request.filename!r} names the same file as item {claimed[key] + 1}; give each item its own "
                    "filename",
                    field="filename",
                )
            else:
                claimed[key] = index
        return problems

    async def _prepare_sink(self, request: MediaRequest) -> None:
        """Before any vendor is called (and paid): a bad output dir or a taken file name fails now, not after."""
        prepare = getattr(self._sink, "prepare", None)  # optional in the port: a sink may check its place early
        if prepare is not None:
            await prepare(
                request.output_dir or self._settings.output_dir,
                media_type=request.media_type,
                filename=request.filename,
                overwrite=request.overwrite,
            )

    async def _resolve_continuation(self, request: MediaRequest) -> tuple[ContinuationState | None, str | None]:
        """The state to resume from and the backend it must go to (the id alone decides)."""
        ref = request.continue_from
        if ref is None:
            return None, None
        backend, sep, vendor_id = ref.partition(":")
        if sep and vendor_id and backend in self._selector.specs:
            state: ContinuationState | None = ContinuationState(kind=VENDOR_ID_KIND, data={"vendor_id": vendor_id})
        else:
            record = await self._store.load(ref)
            if record is None or record.state.kind == JOB_KIND:
                raise ContinuationNotFound(ref)
            backend, state = record.backend, record.state
        if request.backend is not None and request.backend != backend:
            raise InvalidRequest(
                f"continuation {ref!r} belongs to backend {backend!r}, not {request.backend!r}; drop --backend",
                field="backend",
            )
        return state, backend

    async def _run_candidates(
        self,
        request: MediaRequest,
        candidates: Sequence[Candidate],
        state: ContinuationState | None,
        job: _JobTracker,
        listener: ProgressListener,
        item: int | None,
        started: float,
        timeout: float,
    ) -> GenerationResult:
        fallbacks: list[Fallback] = []
        for position, candidate in enumerate(candidates):
            emit = _with_item(listener, item, candidate.backend)
            emit(Selected(model=candidate.model, explicit=candidate.explicit))
            try:
                return await self._attempt(request, candidate, state, job, emit, started, timeout, tuple(fallbacks))
            except MediaGenError as error:
                following = candidates[position + 1] if position + 1 < len(candidates) else None
                if following is None or candidate.explicit or not error.retryable:
                    emit(Failed(error_code=error.code, message=error.message))
                    raise
                fallbacks.append(Fallback(candidate.backend, candidate.model, error.code, error.message))
                emit(FellBack(to_backend=following.backend, error_code=error.code, message=error.message))
        raise AssertionError("the selector returns at least one candidate")  # pragma: no cover

    async def _attempt(
        self,
        request: MediaRequest,
        candidate: Candidate,
        state: ContinuationState | None,
        job: _JobTracker,
        emit: ProgressListener,
        started: float,
        timeout: float,
        fallbacks: tuple[Fallback, ...],
    ) -> GenerationResult:
        job.backend, job.model = candidate.backend, candidate.model
        generator = await self._registry.ready(candidate.backend, candidate.credentials)

        backend_settings = self._settings.backend(candidate.backend)
        limit = CallLimit(backend_settings.requests_per_minute, backend_settings.max_concurrent)
        account = _account_hash(candidate.credentials.reveal())

        def throttled(seconds: float) -> None:
            emit(Throttled(wait_seconds=seconds))

        async def once() -> GenerationResult:
            # The slot is held until the file is written; a worker that dies frees it after the timeout (+1 min).
            lease = timeout - (time.monotonic() - started) + 60.0
            async with self._limits.hold(candidate.backend, account, limit, lease_seconds=lease, on_wait=throttled):
                ctx = GenerationContext(
                    credentials=candidate.credentials,
                    model=candidate.model,
                    timeout=max(timeout - (time.monotonic() - started), 0.001),
                    continuation=state,
                    progress=emit,
                    strict=self._settings.strict,
                    job_started=job.started,
                    resume_job_id=job.vendor_job_id,
                )
                try:
                    media = await generator.generate(request, ctx)
                except BackendError as error:
                    if job.record_id is not None and _job_failed(error):
                        # The vendor reports its job failed: a resume could only fail again, so the record goes.
                        with contextlib.suppress(Exception):
                            await job.finished()
                    raise
                return await self._finish(request, candidate, media, job, emit, started, fallbacks)

        try:
            return await once()
        except MediaGenError as error:
            failed = error
        return await retry_after(once, failed, emit, self._settings.retry)

    async def _finish(
        self,
        request: MediaRequest,
        candidate: Candidate,
        media: GeneratedMedia,
        job: _JobTracker,
        emit: ProgressListener,
        started: float,
        fallbacks: tuple[Fallback, ...],
    ) -> GenerationResult:
        report = _account(request, media.parameters, candidate.backend)
        if self._settings.strict and report.ignored:
            await _close(media.stream)
            first = report.ignored[0]
            raise UnsupportedParameter(
                f"{candidate.backend} would ignore it ({first.reason}); unset it or turn strict mode off",
                field=first.name,
                backend=candidate.backend,
            )
        target = ArtifactTarget(
            media_type=_output_media_type(request, media.mime_type),
            backend=candidate.backend,
            prompt=request.prompt,
            output_dir=request.output_dir or self._settings.output_dir,
            filename=request.filename,
            overwrite=request.overwrite,
        )
        total = media.size_hint

        def on_bytes(received: int) -> None:
            emit(Downloading(received=received, total=total))

        try:
            continuation_id, artifact = await self._keep(candidate.backend, media, target, on_bytes)
        finally:
            await _close(media.stream)
        emit(Written(path=artifact.path, size_bytes=artifact.size_bytes))
        renamed = _renamed(request.filename, artifact)
        if renamed is not None:
            report = report.merged(ParameterReport(adapted=(renamed,)))
        return GenerationResult(
            artifact=artifact,
            backend=candidate.backend,
            model=media.model,
            media_type=request.media_type,
            elapsed_seconds=round(time.monotonic() - started, 3),
            continuation_id=continuation_id,
            metadata=dict(media.metadata),
            parameters=report,
            fallbacks=fallbacks,
            job_id=job.vendor_job_id,
        )

    async def _keep(
        self, backend: str, media: GeneratedMedia, target: ArtifactTarget, on_bytes: Callable[[int], None]
    ) -> tuple[str | None, Artifact]:
        """Save the continuation and write the file; a store failure (or the timeout) leaves no file behind.

        When the sink can take back a file it just wrote (its optional `discard`) and no existing file is being
        replaced, the save runs while the file is written, so a call waits for the slower of the two rather than
        for both; otherwise the continuation is saved first. Either way the caller is told of a file only with its
        continuation saved."""
        discard = getattr(self._sink, "discard", None)
        state = media.continuation
        if state is None or discard is None or target.overwrite or _vendor_reference(backend, state) is not None:
            continuation_id = await self._save_continuation(backend, media.continuation)
            return continuation_id, await self._sink.write(
                media.stream, target, mime_type=media.mime_type, on_bytes=on_bytes
            )
        saving = asyncio.ensure_future(self._save_continuation(backend, media.continuation))
        try:
            artifact = await self._sink.write(media.stream, target, mime_type=media.mime_type, on_bytes=on_bytes)
        except BaseException:
            saving.cancel()
            with contextlib.suppress(BaseException):
                await saving  # its end (a record saved anyway is left to expire, as when a write fails after it)
            raise
        try:
            return await asyncio.shield(saving), artifact
        except BaseException:
            taking_back = asyncio.ensure_future(discard(artifact))
            while not taking_back.done():  # through repeated cancels: the file goes before the error is raised
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait({taking_back})
            if not taking_back.cancelled():
                taking_back.exception()  # collected: the store's error (or the cancel) is the one the caller sees
            if not saving.done():
                saving.cancel()
            raise

    async def _save_continuation(self, backend: str, state: ContinuationState | None) -> str | None:
        if state is None:
            return None
        reference = _vendor_reference(backend, state)
        if reference is not None:
            return reference
        return await self._store.save(backend, state)

    # -- batch ------------------------------------------------------------------------------------------

    async def generate_batch(
        self,
        requests: Sequence[MediaRequest],
        *,
        max_concurrent: int | None = None,
        progress: ProgressListener | None = None,
        engine: BatchEngine | None = None,
    ) -> BatchResult:
        """Bounded concurrency, request order kept, each failure captured in its own item. A request with n > 1
        counts as n requests in a row (n parallel calls, each its own file, result and item).

        With an `engine` (e.g. `mediagen.entrypoints.ray_engine.RayEngine`), each item runs there instead, with
        this service's settings; the engine's own capacity bounds the concurrency.
        """
        requests = [single for request in requests for single in request.singles()]
        limit = self._settings.max_concurrent if max_concurrent is None else max_concurrent
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidRequest(f"{limit!r} is not a whole number >= 1", field="max_concurrent")
        listener = progress or ignore_progress
        if engine is not None:
            return await engine.run(requests, settings=self._settings, progress=listener)
        gate = asyncio.Semaphore(limit)

        async def run(index: int, request: MediaRequest) -> BatchItem:
            async with gate:
                try:
                    return BatchItem(index, result=await self._generate(request, listener, item=index))
                except MediaGenError as error:
                    return BatchItem(index, error=error)
                except Exception as error:  # a bug must not lose the other items' results
                    return BatchItem(index, error=InternalError.unexpected(error))

        tasks = [asyncio.ensure_future(run(i, r)) for i, r in enumerate(requests)]
        try:
            items = await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return BatchResult(tuple(items))

    # -- long-running jobs ------------------------------------------------------------------------------

    async def jobs(self) -> list[JobInfo]:
        """Submitted vendor jobs whose result was not collected (interrupted waits), newest first."""
        return [_job_info(record) for record in await self._store.records(JOB_KIND)]

    async def job(self, job_id: str) -> JobInfo:
        record = await self._store.load(job_id)
        if record is None or record.state.kind != JOB_KIND:
            raise JobNotFound(job_id)
        return _job_info(record)

    async def forget(self, job_id: str) -> JobInfo:
        """Drop a job's record without asking the vendor anything (the job may still run, and be billed)."""
        info = await self.job(job_id)
        await self._store.delete(job_id)
        return info

    async def cancel(self, job_id: str) -> JobInfo:
        """Ask the vendor to cancel a recorded job, then drop its record. A backend that offers no cancel is an
        InvalidRequest saying so (its job keeps running; `forget` drops the record)."""
        record = await self._store.load(job_id)
        if record is None or record.state.kind != JOB_KIND:
            raise JobNotFound(job_id)
        info = _job_info(record)
        generator = self._registry.generator(info.backend)
        if not isinstance(generator, JobCanceller):
            raise InvalidRequest(
                f"{info.backend} offers no way to cancel a job it has started, so job {job_id} runs on at the vendor "
                f"until it ends; `mediagen jobs forget {job_id}` drops the record",
                field="job_id",
            )
        if self._decode is None:
            raise InternalError("this service was built without a request codec, so jobs cannot be cancelled")
        request = self._decode(dict(record.state.data["request"]))
        candidate = self._selector.candidates(request, backend=info.backend)[0]
        ctx = GenerationContext(
            credentials=candidate.credentials,
            model=info.model or candidate.model,
            timeout=self._settings.timeouts.for_media(request.media_type),
        )
        await generator.cancel(info.vendor_job_id, ctx)
        await self._store.delete(job_id)
        return info

    async def reclaim(self) -> Reclaimed:
        """Remove stale temp files (of writers killed mid-download) from the default output dir and the dirs the
        recorded jobs write to; returns what was freed."""
        sweep = getattr(self._sink, "reclaim", None)  # optional in the port
        if sweep is None:
            return Reclaimed()
        places: list[Path | None] = [self._settings.output_dir]
        for record in await self._store.records(JOB_KIND):
            recorded = record.state.data.get("output_dir")
            if isinstance(recorded, str) and Path(recorded) not in places:
                places.append(Path(recorded))
        freed = Reclaimed()
        for place in places:
            try:
                freed += await sweep(place)
            except MediaGenError:  # a place no longer allowed or usable holds nothing of ours to sweep
                continue
        return freed

    async def resume(
        self,
        job_id: str,
        *,
        progress: ProgressListener | None = None,
        timeout: float | None = None,
        output_dir: Path | None = None,
    ) -> GenerationResult:
        """Wait for a recorded vendor job again and collect its result, without paying twice.

        It waits up to `timeout` seconds (default: the settings' timeout for the media type, not the one that ran
        out) and writes where the job was meant to go unless `output_dir` says otherwise.
        """
        record = await self._store.load(job_id)
        if record is None or record.state.kind != JOB_KIND:
            raise JobNotFound(job_id)
        if self._decode is None:
            raise InternalError("this service was built without a request codec, so jobs cannot be resumed")
        request = self._decode(dict(record.state.data["request"]))
        recorded_dir = record.state.data.get("output_dir")
        place = output_dir or (Path(recorded_dir) if isinstance(recorded_dir, str) else request.output_dir)
        request = attrs.evolve(request, timeout=timeout, output_dir=place)
        return await self._generate(request, progress or ignore_progress, item=None, resume=_job_info(record))

    async def _record_job(self, backend: str, model: str, vendor_job_id: str, request: MediaRequest) -> str | None:
        if self._encode is None:
            return None
        data: dict[str, Any] = {"vendor_job_id": vendor_job_id, "model": model, "request": self._encode(request)}
        place = request.output_dir or self._settings.output_dir
        if place is not None:  # where the file was to go, so a resume in another process writes there too
            data["output_dir"] = str(place) if _is_url(place) else str(place.expanduser().absolute())
        return await self._store.save(backend, ContinuationState(kind=JOB_KIND, data=data))
