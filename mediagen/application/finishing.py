"""How a generation ends: each image written as its own file and result, with its continuation saved alongside —
both kept, or neither — and files the caller will not hear of taken back."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from typing import Any

import attrs

from mediagen.application.cancels import settled
from mediagen.application.jobs import _JobTracker, _with_item
from mediagen.application.outcome import _account, _close, _output_media_type, _renamed, _vendor_reference
from mediagen.application.selector import Candidate
from mediagen.application.settings import Settings
from mediagen.application.several import Share
from mediagen.application.turns import Turn
from mediagen.domain.errors import BackendError, MediaGenError, UnsupportedParameter
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import Artifact, Fallback, GenerationResult, ParameterReport
from mediagen.ports.artifacts import ArtifactSink, ArtifactTarget
from mediagen.ports.continuation import ContinuationState, ContinuationStore
from mediagen.ports.generator import GeneratedMedia
from mediagen.ports.progress import Downloading, ProgressListener, Written, ignore_progress

#: What one image of a call ends as: its result, or the error that kept it from the caller.
Outcome = GenerationResult | MediaGenError


@attrs.frozen
class _Call:
    """What one attempt's calls share: where progress goes, the clock, the backends that failed first, the part
    of a request for n images it makes (None for one generation), and in a batch the item's turn among its vendor
    calls (None elsewhere)."""

    emit: ProgressListener
    listener: ProgressListener
    started: float
    timeout: float
    fallbacks: tuple[Fallback, ...]
    share: Share | None
    turn: Turn | None = None

    def part(self, share: Share) -> _Call:
        """One of several calls made at once for a share: they run under the item's turn, held until all end."""
        return attrs.evolve(self, share=share, turn=None)


class Finisher:
    """Ends a vendor call's images: the service hands each call's media here, with the store and the sink it was
    built with."""

    def __init__(self, store: ContinuationStore, sink: ArtifactSink, settings: Settings) -> None:
        self._store = store
        self._sink = sink
        self._settings = settings

    async def finish_all(
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
            return [await self.finish(request, candidate, media, job, call.emit, call, filename=request.filename)]
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
            return await self.finish(
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
            await settled(*tasks)
            finished = [t.result() for t in tasks if not t.cancelled() and t.exception() is None]
            await self.take_back([r.artifact for r in finished if isinstance(r, GenerationResult)])
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

    async def take_back(self, artifacts: list[Artifact]) -> None:
        """Remove files written for a caller who will not hear of them, through repeated cancels; a sink that
        cannot take a file back keeps it."""
        discard = getattr(self._sink, "discard", None)
        if discard is None or not artifacts:
            return
        removing = asyncio.ensure_future(asyncio.gather(*(discard(a) for a in artifacts), return_exceptions=True))
        await settled(removing)

    async def finish(
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
        listening = emit is not ignore_progress  # else no event is built, one per chunk included

        def on_bytes(received: int) -> None:
            emit(Downloading(received=received, total=total))

        try:
            continuation_id, artifact = await self.keep(
                candidate.backend, media, target, on_bytes if listening else None
            )
        finally:
            await _close(media.stream)
        if listening:
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

    async def keep(
        self, backend: str, media: GeneratedMedia, target: ArtifactTarget, on_bytes: Callable[[int], None] | None
    ) -> tuple[str | None, Artifact]:
        """Save the continuation and write the file; a store failure (or the timeout) leaves no file behind.

        When the store can save from a worker thread (its optional `save_blocking`) and the sink can run that in the
        job placing the file (its optional `write_and_keep`), the save happens there, before the file gets its
        name: one thread hop for both. Otherwise, when the sink can take back a file it just wrote (its optional
        `discard`) and no existing file is being replaced, the save runs while the file is written, so a call
        waits for the slower of the two rather than for both; else the continuation is saved first. Either way the
        caller is told of a file only with its continuation saved."""
        state = media.continuation
        save_blocking = getattr(self._store, "save_blocking", None)
        write_and_keep = getattr(self._sink, "write_and_keep", None)
        if (
            state is not None
            and save_blocking is not None
            and write_and_keep is not None
            and _vendor_reference(backend, state) is None
        ):
            artifact, continuation_id = await write_and_keep(
                media.stream,
                target,
                mime_type=media.mime_type,
                on_bytes=on_bytes,
                keep=functools.partial(save_blocking, backend, state),
            )
            return continuation_id, artifact
        discard = getattr(self._sink, "discard", None)
        if state is None or discard is None or target.overwrite or _vendor_reference(backend, state) is not None:
            continuation_id = await self.save_continuation(backend, media.continuation)
            return continuation_id, await self._sink.write(
                media.stream, target, mime_type=media.mime_type, on_bytes=on_bytes
            )
        saving = asyncio.ensure_future(self.save_continuation(backend, media.continuation))
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
            await settled(taking_back)  # the file goes before the error (or the cancel) is raised
            if not taking_back.cancelled():
                taking_back.exception()  # collected: the store's error (or the cancel) is the one the caller sees
            if not saving.done():
                saving.cancel()
            raise

    async def save_continuation(self, backend: str, state: ContinuationState | None) -> str | None:
        if state is None:
            return None
        reference = _vendor_reference(backend, state)
        if reference is not None:
            return reference
        return await self._store.save(backend, state)
