"""MediaService: generate, batch, continue and resume — retries, failover, timeouts, safe writes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from mediagen.application.collector import collector_paused
from mediagen.application.deadline import within
from mediagen.application.finishing import Finisher, Outcome, _Call
from mediagen.application.job_desk import JobDesk
from mediagen.application.jobs import (
    BatchSlot,
    JobInfo,
    _job_failed,
    _JobTracker,
    _timed_out,
    _with_item,
)
from mediagen.application.limits import LocalLimits
from mediagen.application.outcome import (
    _account_hash,
)
from mediagen.application.registry import BackendRegistry
from mediagen.application.retrying import retry_after
from mediagen.application.selector import BackendSelector, Candidate, Verdict
from mediagen.application.settings import Settings
from mediagen.application.several import Share, images_per_call, shares, split_calls
from mediagen.application.turns import Turn
from mediagen.domain.backend import ModelSpec
from mediagen.domain.errors import (
    BackendError,
    ContinuationNotFound,
    GenerationTimeout,
    InternalError,
    InvalidRequest,
    MediaGenError,
    MissingCredentials,
)
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import (
    BatchItem,
    BatchResult,
    Fallback,
    GenerationResult,
)
from mediagen.ports.artifacts import ArtifactSink
from mediagen.ports.continuation import (
    JOB_KIND,
    VENDOR_ID_KIND,
    ContinuationState,
    ContinuationStore,
)
from mediagen.ports.engine import BatchEngine
from mediagen.ports.generator import (
    GenerationContext,
    ImageBatchGenerator,
    MediaGenerator,
    ModelCatalog,
)
from mediagen.ports.limits import CallLimit, CallLimits
from mediagen.ports.progress import (
    Failed,
    FellBack,
    ProgressListener,
    Selected,
    Throttled,
    ignore_progress,
)


class MediaService(JobDesk):
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
        self._finisher = Finisher(store, sink, settings)

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
        sink_warm_up = getattr(self._sink, "warm_up", None)  # optional in the port: see ArtifactSink
        store_warm_up = getattr(self._store, "warm_up", None)  # optional in the port: see ContinuationStore
        media_types = {media for name in names for media in self._registry.spec(name).media_types}
        async with collector_paused():  # all of it loads modules and builds what lives as long as the process
            await asyncio.gather(
                *(self._warm_up(name) for name in names),
                self._reach_store(),  # the store's optional `open`, once: the first request does not reach it again
                *([sink_warm_up(media_types)] if sink_warm_up else []),
                *([store_warm_up()] if store_warm_up else []),
                *([self._warm_up_codec()] if names and self._encode is not None else []),
            )
        return tuple(names)

    async def _warm_up_codec(self) -> None:
        """The request codec's first use (its module may load then), in a worker thread: a job's record needs it."""
        encode = self._encode
        assert encode is not None
        await asyncio.to_thread(encode, MediaRequest(media_type=MediaType.VIDEO, prompt="warm-up"))

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
        turn: Turn | None = None,
    ) -> list[Outcome]:
        """One generation, or (with a `share`) one vendor call's part of a request for n images: its outcome per
        image. A failure of the whole call raises. In a batch, each vendor call waits for the item's `turn`."""
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
        # The first candidate's generator (its SDK import, in a worker thread) builds while the store, the sink and
        # the inputs are checked, which still come first: their errors are the ones raised.
        self._registry.build_soon(candidates[0].backend)
        await self._reach_store()
        for name in share.names if share is not None else (request.filename,):
            await self._prepare_sink(request, name)
        if self._inspect is not None:
            await self._inspect(request)
        try:
            outcomes = await within(
                timeout,
                self._run_candidates(request, candidates, state, job, listener, item, started, timeout, share, turn),
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
        the error `generate` would raise before paying. A request for n images with a file name is checked under
        each numbered name its images are written under (fox-1.png, fox-2.png, ...)."""
        _, route = await self._resolve_continuation(request)
        self._selector.candidates(request, backend=route)
        await self._reach_store()
        for name in _file_names(request):
            await self._prepare_sink(request, name)
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
            for name in _file_names(request):
                assert name is not None
                key = (place, Path(name).stem if "." in name else name)
                if key in claimed and claimed[key] != index:
                    problems[index] = InvalidRequest(
                        f"{name!r} names the same file as item {claimed[key] + 1}; give each item its own filename",
                        field="filename",
                    )
                    break
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

    async def _prepare_sink(self, request: MediaRequest, filename: str | None) -> None:
        """Before any vendor is called (and paid): a bad output dir or a taken file name (`filename`, the request's
        or one of its n images') fails now, not after."""
        prepare = getattr(self._sink, "prepare", None)  # optional in the port: a sink may check its place early
        if prepare is not None:
            await prepare(
                request.output_dir or self._settings.output_dir,
                media_type=request.media_type,
                filename=filename,
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
        turn: Turn | None,
    ) -> list[Outcome]:
        fallbacks: list[Fallback] = []
        for position, candidate in enumerate(candidates):
            emit = _with_item(listener, item, candidate.backend)
            if emit is not ignore_progress:
                emit(Selected(model=candidate.model, explicit=candidate.explicit))
            try:
                return await self._attempt(
                    request,
                    candidate,
                    state,
                    job,
                    _Call(emit, listener, started, timeout, tuple(fallbacks), share, turn),
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
        if request.n == 1:  # one image, video or clip: one call
            return await self._call(request, candidate, state, job, call, generator)
        per_call = 1
        if request.n > 1 and isinstance(generator, ImageBatchGenerator):
            per_call = images_per_call(self._registry.spec(candidate.backend), candidate.model)
        counts = split_calls(request.n, per_call)
        if len(counts) == 1:
            return await self._call(request, candidate, state, job, call, generator)
        # This backend makes fewer images per call than the plan's (one fallen back to): the share, split again.
        assert call.share is not None, "a request for n images comes as a share"
        if call.turn is not None:  # the parts run under the item's turn (taken again if an earlier answer gave it)
            await call.turn.take()
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
            if call.turn is not None:  # a batch item: its turn first (again, when a retry follows a received answer)
                await call.turn.take()
            if limit.unlimited:  # no slot to hold: the call and its file, without entering the limits
                return await call_and_finish()
            # The slot is held until the file is written; a worker that dies frees it after the timeout (+1 min).
            lease = timeout - (time.monotonic() - started) + 60.0
            async with self._limits.hold(candidate.backend, account, limit, lease_seconds=lease, on_wait=throttled):
                return await call_and_finish()

        async def call_and_finish() -> list[Outcome]:
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
            if call.turn is not None:  # the next item's vendor call need not wait for these files
                made = call.turn.given_back_after(made)
            return await self._finisher.finish_all(request, candidate, made, job, call)

        try:
            return await once()
        except MediaGenError as error:
            failed = error
        return await retry_after(once, failed, emit, self._settings.retry)

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
        captured in its own item. An item's turn passes to the next once its vendor call's media has been received:
        its file is written while the next call runs. A request with n > 1 stands for n items in a row, each its own
        file and result: they come from as few calls as the chosen model makes them in (its `images_per_call`: one
        call of n where the vendor takes `n`, else n parallel calls), and each result reports how `n` was served.

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
            turn = Turn(gate)
            await turn.take()  # the item's checks run in its turn too: no more than `limit` items start at once
            try:
                outcomes = await self._run(request, listener, item=first, resume=None, share=share, turn=turn)
            except MediaGenError as error:
                outcomes = [error] * len(items)
            except Exception as error:  # a bug must not lose the other items' results
                outcomes = [InternalError.unexpected(error)] * len(items)
            finally:
                turn.give_back()
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


def _file_names(request: MediaRequest) -> tuple[str | None, ...]:
    """The file names a request's results are written under: its own, or for n images the numbered ones."""
    return tuple(dict.fromkeys(single.filename for single in request.singles()))
