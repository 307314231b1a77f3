"""The service's long-running-job use cases: list, look up, forget, cancel and resume recorded vendor jobs, resume a
batch item's job after its worker died, sweep stale temp files. `MediaService` inherits them from `JobDesk`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from mediagen.application.jobs import BatchSlot, JobInfo, _job_info
from mediagen.application.outcome import _is_url
from mediagen.application.registry import BackendRegistry
from mediagen.application.selector import BackendSelector
from mediagen.application.settings import Settings
from mediagen.domain.errors import InternalError, InvalidRequest, JobNotFound, MediaGenError
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import GenerationResult
from mediagen.ports.artifacts import ArtifactSink, Reclaimed
from mediagen.ports.continuation import JOB_KIND, ContinuationRecord, ContinuationState, ContinuationStore
from mediagen.ports.generator import GenerationContext, JobCanceller
from mediagen.ports.progress import ProgressListener, ignore_progress


class JobDesk:
    """Recorded vendor jobs, over the service's store, registry, selector and sink."""

    _store: ContinuationStore
    _registry: BackendRegistry
    _selector: BackendSelector
    _sink: ArtifactSink
    _settings: Settings
    _encode: Callable[[MediaRequest], dict[str, Any]] | None
    _decode: Callable[[dict[str, Any]], MediaRequest] | None

    if TYPE_CHECKING:  # MediaService's: one generation, or the resume of a recorded job

        async def _generate(
            self,
            request: MediaRequest,
            listener: ProgressListener,
            *,
            item: int | None,
            resume: JobInfo | None = None,
            slot: BatchSlot | None = None,
        ) -> GenerationResult: ...

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
        generator = await self._registry.ready(info.backend)
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
