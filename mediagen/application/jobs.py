"""Vendor jobs as the service records them: what `jobs list` shows, and the tracker of one generation's job."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from mediagen.domain.errors import (
    AuthenticationFailed,
    BackendError,
    GenerationTimeout,
)
from mediagen.domain.request import MediaRequest
from mediagen.ports.continuation import (
    JOB_KIND,
    ContinuationRecord,
)
from mediagen.ports.progress import (
    ProgressEvent,
    ProgressListener,
    Submitted,
    ignore_progress,
)

if TYPE_CHECKING:
    from mediagen.application.service import MediaService


@attrs.frozen
class JobInfo:
    """A long-running vendor job that was submitted and not yet collected."""

    id: str
    backend: str
    vendor_job_id: str
    model: str
    prompt: str
    created_at: float


@attrs.frozen
class BatchSlot:
    """One item of one run of a batch whose items run in several processes: what its job record is kept under, so
    an attempt of the item after a worker died finds the job an earlier attempt submitted."""

    batch_id: str
    item: int

    def as_data(self) -> dict[str, Any]:
        return {"id": self.batch_id, "item": self.item}

    def holds(self, record: ContinuationRecord) -> bool:
        """Whether `record` is the job record of this slot."""
        return record.state.kind == JOB_KIND and record.state.data.get("batch") == self.as_data()


def _with_item(listener: ProgressListener, index: int | None, backend: str) -> ProgressListener:
    if listener is ignore_progress:  # nobody listens: skip building an event copy per event
        return ignore_progress

    def forward(event: ProgressEvent) -> None:
        listener(attrs.evolve(event, item=index, backend=event.backend or backend))

    return forward


def _job_info(record: ContinuationRecord) -> JobInfo:
    data = record.state.data
    return JobInfo(
        id=record.id,
        backend=record.backend,
        vendor_job_id=str(data["vendor_job_id"]),
        model=str(data.get("model", "")),
        prompt=str(data.get("request", {}).get("prompt", "")),
        created_at=record.created_at,
    )


def _job_failed(error: BackendError) -> bool:
    """Whether an error means the vendor job itself failed (not a call that may succeed when repeated, nor a key
    the vendor refused, with which the job may be fine)."""
    return not error.retryable and not isinstance(error, AuthenticationFailed)


def _timed_out(timeout: float, job: _JobTracker) -> GenerationTimeout:
    return GenerationTimeout(
        f"no result within {timeout:.1f} s"
        + (f"; the vendor job continues: `mediagen jobs resume {job.record_id}`" if job.record_id else "")
        + "; raise the timeout (--timeout or timeouts.<media> setting) for long jobs",
        backend=job.backend,
        job_id=job.record_id,
    )


class _JobTracker:
    """Records a vendor job the moment it exists and forgets it once its result is on disk."""

    def __init__(
        self,
        service: MediaService,
        request: MediaRequest,
        item: int | None,
        listener: ProgressListener,
        resume: JobInfo | None,
        slot: BatchSlot | None = None,
    ) -> None:
        self._service = service
        self._request = request
        self._item = item
        self._listener = listener
        self._slot = slot
        self.backend: str | None = resume.backend if resume else None
        self.model: str | None = resume.model if resume else None
        self.vendor_job_id: str | None = resume.vendor_job_id if resume else None
        self.record_id: str | None = resume.id if resume else None

    async def started(self, vendor_job_id: str) -> None:
        self.vendor_job_id = vendor_job_id
        backend = self.backend or ""
        if self.record_id is None:
            self.record_id = await self._service._record_job(
                backend, self.model or "", vendor_job_id, self._request, self._slot
            )
        _with_item(self._listener, self._item, backend)(Submitted(job_id=self.record_id or vendor_job_id))

    async def finished(self) -> None:
        """Forget the record: the result is collected, or the vendor reports the job failed."""
        if self.record_id is not None:
            await self._service._store.delete(self.record_id)
            self.record_id = None
