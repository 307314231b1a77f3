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
from mediagen.application.jobs import (
    BatchSlot,
    JobInfo,
    _job_failed,
    _job_info,
    _JobTracker,
    _timed_out,
    _with_item,
)
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
from mediagen.application.several import Share, images_per_call, shares, split_calls
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
    ContinuationRecord,
    ContinuationState,
    ContinuationStore,
)
from mediagen.ports.engine import BatchEngine
from mediagen.ports.generator import (
    GeneratedMedia,
    GenerationContext,
    ImageBatchGenerator,
    JobCanceller,
    MediaGenerator,
    ModelCatalog,
)
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

#: What one image of a call ends as: its result, or the error that kept it from the caller.
Outcome = GenerationResult | MediaGenError


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
        self._store_reached = False
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
        await asyncio.gather(*(self._warm_up(name) for name in names), *([opening()] if opening else []))
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
        self,
        request: MediaRequest,
        listener: ProgressListener,
        *,
        item: int | None,
        resume: JobInfo | None = None,
        slot: BatchSlot | None = None,
    ) -> GenerationResult:
        (outcome,) = await self._run(request, listener, item=item, resume=resume, share=None, slot=slot)
        if isinstance(outcome, MediaGenError):  # pragma: no cover - one image's failure is raised, not returned
            raise outcome
        return outcome

    async def _run(
        self,
        request: MediaRequest,
        listener: ProgressListener,
        *,
        item: int | None,
        resume: JobInfo | None,
        share: Share | None,
        slot: BatchSlot | None = None,
    ) -> list[Outcome]:
        """One generation, or (with a `share`) one vendor call's part of a request for n images: its outcome per
        image. A failure of the whole call raises."""
        if share is not None:
            item = share.first
        started = time.monotonic()
        timeout = request.timeout or self._settings.timeouts.for_media(request.media_type)
        state, route = await self._resolve_continuation(request)
        if resume is not None:
            route = resume.backend
        candidates = self._selector.candidates(request, backend=route)
        if resume is not None:
            candidates = [attrs.evolve(candidates[0], model=resume.model)]
        job = _JobTracker(self, request, item, listener, resume, slot)
        await self._reach_store()
        for name in share.names if share is not None else (request.filename,):
            await self._prepare_sink(attrs.evolve(request, filename=name))
        if self._inspect is not None:
            await self._inspect(request)
        try:
            outcomes = await within(
                timeout,
                self._run_candidates(request, candidates, state, job, listener, item, started, timeout, share),
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
        return outcomes

    async def check(self, request: MediaRequest) -> None:
        """Everything `generate` checks before calling a vendor, without calling one: the continuation, a backend
        and model that can serve it (with a key), the output dir and file name, the input files in depth. Raises
        the error `generate` would raise before paying."""
        _, route = await self._resolve_continuation(request)
        self._selector.candidates(request, backend=route)
        await self._reach_store()
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

    async def _reach_store(self) -> None:
        """Before the first vendor call (and payment): a store that cannot be reached (a Redis that is down, a SQLite
        file that is no database) fails now, once per service, not after a generation whose continuation it must
        keep. The store's `open` is optional in the port."""
        if self._store_reached:
            return
        reach = getattr(self._store, "open", None)
        if reach is not None:
            await reach()
        self._store_reached = True

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
        share: Share | None,
    ) -> list[Outcome]:
        fallbacks: list[Fallback] = []
        for position, candidate in enumerate(candidates):
            emit = _with_item(listener, item, candidate.backend)
            emit(Selected(model=candidate.model, explicit=candidate.explicit))
            try:
                return await self._attempt(
                    request, candidate, state, job, _Call(emit, listener, started, timeout, tuple(fallbacks), share)
                )
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
        call: _Call,
    ) -> list[Outcome]:
        job.backend, job.model = candidate.backend, candidate.model
        generator = await self._registry.ready(candidate.backend, candidate.credentials)
        per_call = 1
        if request.n > 1 and isinstance(generator, ImageBatchGenerator):
            per_call = images_per_call(self._registry.spec(candidate.backend), candidate.model)
        counts = split_calls(request.n, per_call)
        if len(counts) == 1:
            return await self._call(request, candidate, state, job, call, generator)
        # This backend makes fewer images per call than the plan's (one fallen back to): the share, split again.
        assert call.share is not None, "a request for n images comes as a share"
        parts: list[tuple[MediaRequest, _Call]] = []
        start = 0
        for count in counts:
            part = call.share.part(start, count)
            parts.append(
                (attrs.evolve(request, n=count, filename=part.names[0] if count == 1 else None), call.part(part))
            )
            start += count
        done = await asyncio.gather(
            *(self._call(part, candidate, state, job, part_call, generator) for part, part_call in parts),
            return_exceptions=True,
        )
        outcomes: list[Outcome] = []
        errors: list[MediaGenError] = []
        for (asked, _), got in zip(parts, done, strict=True):
            if isinstance(got, MediaGenError):
                errors.append(got)
                outcomes += [got] * asked.n
            elif isinstance(got, BaseException):
                raise got
            else:
                outcomes += got
        if len(errors) == len(parts):
            raise errors[0]
        return outcomes

    async def _call(
        self,
        request: MediaRequest,
        candidate: Candidate,
        state: ContinuationState | None,
        job: _JobTracker,
        call: _Call,
        generator: MediaGenerator,
    ) -> list[Outcome]:
        """One vendor call (retried as the settings say) and its images written."""
        backend_settings = self._settings.backend(candidate.backend)
        limit = CallLimit(backend_settings.requests_per_minute, backend_settings.max_concurrent)
        account = "" if limit.unlimited else _account_hash(candidate.credentials.reveal())
        emit, started, timeout = call.emit, call.started, call.timeout

        def throttled(seconds: float) -> None:
            emit(Throttled(wait_seconds=seconds))

        async def once() -> list[Outcome]:
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
                    if request.n > 1:
                        assert isinstance(generator, ImageBatchGenerator), "n > 1 goes only to a batch generator"
                        made = list(await generator.generate_images(request, ctx))
                    else:
                        made = [await generator.generate(request, ctx)]
                except BackendError as error:
                    if job.record_id is not None and _job_failed(error):
                        # The vendor reports its job failed: a resume could only fail again, so the record goes.
                        with contextlib.suppress(Exception):
                            await job.finished()
                    raise
                return await self._finish_all(request, candidate, made, job, call)

        try:
            return await once()
        except MediaGenError as error:
            failed = error
        return await retry_after(once, failed, emit, self._settings.retry)

    async def _finish_all(
        self,
        request: MediaRequest,
        candidate: Candidate,
        made: list[GeneratedMedia | MediaGenError],
        job: _JobTracker,
        call: _Call,
    ) -> list[Outcome]:
        """Each image of one call written as its own file and result; raises when not one of them could be."""
        share = call.share
        if share is None:
            (media,) = made
            if isinstance(media, MediaGenError):
                raise media
            return [await self._finish(request, candidate, media, job, call.emit, call, filename=request.filename)]
        if len(made) != len(share.items):
            for extra in made:
                if isinstance(extra, GeneratedMedia):
                    await _close(extra.stream)
            raise BackendError(
                f"{candidate.backend} answered with {len(made)} images where {len(share.items)} were asked",
                backend=candidate.backend,
            )
        many = len(made) > 1

        async def finish(position: int, media: GeneratedMedia | MediaGenError) -> Outcome:
            if isinstance(media, MediaGenError):
                return media
            emit = _with_item(call.listener, share.items[position], candidate.backend)
            facts = {"call": {"images": len(made), "index": position}} if many else None
            return await self._finish(
                request, candidate, media, job, emit, call, filename=share.names[position], facts=facts
            )

        tasks = [asyncio.ensure_future(finish(i, media)) for i, media in enumerate(made)]
        try:
            done = await asyncio.gather(*tasks, return_exceptions=True)
        except BaseException:
            # Cancelled (or timed out) while some images were still being written: the caller hears of none of
            # them, so the files already written are taken back, as `_keep` does for one.
            for task in tasks:
                task.cancel()
            await _settled(tasks)
            finished = [t.result() for t in tasks if not t.cancelled() and t.exception() is None]
            await self._take_back([r.artifact for r in finished if isinstance(r, GenerationResult)])
            raise
        outcomes: list[Outcome] = []
        for got in done:
            if isinstance(got, (GenerationResult, MediaGenError)):
                outcomes.append(got)
            else:
                raise got
        if all(isinstance(outcome, MediaGenError) for outcome in outcomes):
            first = outcomes[0]
            assert isinstance(first, MediaGenError)
            raise first
        return outcomes

    async def _take_back(self, artifacts: list[Artifact]) -> None:
        """Remove files written for a caller who will not hear of them, through repeated cancels; a sink that
        cannot take a file back keeps it."""
        discard = getattr(self._sink, "discard", None)
        if discard is None or not artifacts:
            return
        removing = asyncio.ensure_future(asyncio.gather(*(discard(a) for a in artifacts), return_exceptions=True))
        await _settled([removing])

    async def _finish(
        self,
        request: MediaRequest,
        candidate: Candidate,
        media: GeneratedMedia,
        job: _JobTracker,
        emit: ProgressListener,
        call: _Call,
        *,
        filename: str | None,
        facts: dict[str, Any] | None = None,
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
        if call.share is not None:
            report = report.merged(call.share.report())
        target = ArtifactTarget(
            media_type=_output_media_type(request, media.mime_type),
            backend=candidate.backend,
            prompt=request.prompt,
            output_dir=request.output_dir or self._settings.output_dir,
            filename=filename,
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
        renamed = _renamed(filename, artifact)
        if renamed is not None:
            report = report.merged(ParameterReport(adapted=(renamed,)))
        return GenerationResult(
            artifact=artifact,
            backend=candidate.backend,
            model=media.model,
            media_type=request.media_type,
            elapsed_seconds=round(time.monotonic() - call.started, 3),
            continuation_id=continuation_id,
            metadata={**media.metadata, **(facts or {})},
            parameters=report,
            fallbacks=call.fallbacks,
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
        """Bounded concurrency (at most `max_concurrent` vendor calls at a time), request order kept, each failure
        captured in its own item. A request with n > 1 stands for n items in a row, each its own file and result:
        they come from as few calls as the chosen model makes them in (its `images_per_call`: one call of n where
        the vendor takes `n`, else n parallel calls), and each result reports how `n` was served.

        With an `engine` (e.g. `mediagen.entrypoints.ray_engine.RayEngine`), each item runs there instead, with
        this service's settings; the engine's own capacity bounds the concurrency, and n images are n calls.
        """
        limit = self._settings.max_concurrent if max_concurrent is None else max_concurrent
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidRequest(f"{limit!r} is not a whole number >= 1", field="max_concurrent")
        listener = progress or ignore_progress
        if engine is not None:
            singles = [single for request in requests for single in request.singles()]
            return await engine.run(singles, settings=self._settings, progress=listener)
        gate = asyncio.Semaphore(limit)
        calls: list[tuple[MediaRequest, Share | None, int]] = []
        index = 0
        for request in requests:
            if request.n == 1:
                calls.append((request, None, index))
            else:
                for share in await self._plan(request, index):
                    count = len(share.items)
                    calls.append((attrs.evolve(request, n=count, filename=share.names[0] if count == 1 else None),
                                  share, share.first))  # fmt: skip
            index += request.n

        async def run(request: MediaRequest, share: Share | None, first: int) -> list[BatchItem]:
            items = share.items if share is not None else (first,)
            outcomes: list[Outcome]
            async with gate:
                try:
                    outcomes = await self._run(request, listener, item=first, resume=None, share=share)
                except MediaGenError as error:
                    outcomes = [error] * len(items)
                except Exception as error:  # a bug must not lose the other items' results
                    outcomes = [InternalError.unexpected(error)] * len(items)
            return [
                BatchItem(i, result=o) if isinstance(o, GenerationResult) else BatchItem(i, error=o)
                for i, o in zip(items, outcomes, strict=True)
            ]

        tasks = [asyncio.ensure_future(run(*call)) for call in calls]
        try:
            done = await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return BatchResult(tuple(sorted((item for items in done for item in items), key=lambda item: item.index)))

    async def _plan(self, request: MediaRequest, first: int) -> tuple[Share, ...]:
        """The calls a request for n images makes on the backend and model it goes to (from their spec; no vendor
        is called). When none can serve it, n calls of one, each to meet that error as its own item."""
        names = tuple(single.filename for single in request.singles())
        try:
            _, route = await self._resolve_continuation(request)
            candidate = self._selector.candidates(request, backend=route)[0]
        except MediaGenError:
            return shares(first, names, 1, request.model or "")
        return shares(first, names, images_per_call(self._registry.spec(candidate.backend), candidate.model),
                      candidate.model)  # fmt: skip

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
        request = attrs.evolve(request, timeout=timeout, output_dir=output_dir or _recorded_place(record, request))
        return await self._generate(request, progress or ignore_progress, item=None, resume=_job_info(record))

    async def generate_batch_item(
        self, request: MediaRequest, *, batch_id: str, item: int, progress: ProgressListener | None = None
    ) -> GenerationResult:
        """Item `item` of the batch run `batch_id` when a batch's items run in several processes (`RayEngine`): a
        vendor job that an earlier attempt of this very item recorded (its worker died mid-item) is resumed as
        `resume` does, not paid for again; otherwise the item is generated, with any job it starts recorded under
        the batch and item. Attempts on other machines find the record only in a store they share (Redis, or
        SQLite on a shared path). Progress events carry `item`."""
        slot = BatchSlot(batch_id, item)
        listener = progress or ignore_progress
        record = await self._batch_job(slot)
        if record is None:
            return await self._generate(request, listener, item=item, slot=slot)
        request = attrs.evolve(request, output_dir=_recorded_place(record, request))
        return await self._generate(request, listener, item=item, resume=_job_info(record), slot=slot)

    async def _batch_job(self, slot: BatchSlot) -> ContinuationRecord | None:
        """The uncollected job record of a batch item (recorded jobs are few: those running, and those whose wait
        was cut off and not resumed yet), or None."""
        return next((record for record in await self._store.records(JOB_KIND) if slot.holds(record)), None)

    async def _record_job(
        self, backend: str, model: str, vendor_job_id: str, request: MediaRequest, slot: BatchSlot | None = None
    ) -> str | None:
        if self._encode is None:
            return None
        data: dict[str, Any] = {"vendor_job_id": vendor_job_id, "model": model, "request": self._encode(request)}
        if slot is not None:  # so another attempt of the item (its worker died) resumes this job
            data["batch"] = slot.as_data()
        place = request.output_dir or self._settings.output_dir
        if place is not None:  # where the file was to go, so a resume in another process writes there too
            data["output_dir"] = str(place) if _is_url(place) else str(place.expanduser().absolute())
        return await self._store.save(backend, ContinuationState(kind=JOB_KIND, data=data))


def _recorded_place(record: ContinuationRecord, request: MediaRequest) -> Path | None:
    """Where a recorded job's file was to go (absolute when it was recorded, so another process writes there too)."""
    recorded = record.state.data.get("output_dir")
    return Path(recorded) if isinstance(recorded, str) else request.output_dir


async def _settled(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Wait until every task is done, whatever cancels arrive meanwhile."""
    while not all(task.done() for task in tasks):
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait(tasks)


@attrs.frozen
class _Call:
    """What one attempt's calls share: where progress goes, the clock, the backends that failed first, and the part
    of a request for n images it makes (None for one generation)."""

    emit: ProgressListener
    listener: ProgressListener
    started: float
    timeout: float
    fallbacks: tuple[Fallback, ...]
    share: Share | None

    def part(self, share: Share) -> _Call:
        return attrs.evolve(self, share=share)
