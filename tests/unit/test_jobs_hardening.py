"""Job records: a job the vendor reports failed is forgotten with its error; `forget` drops a record; `cancel` asks
the vendor where it can and says plainly where it cannot."""

from __future__ import annotations

import pytest

from mediagen.domain.backend import BackendSpec
from mediagen.domain.errors import (
    BackendError,
    ContentRejected,
    GenerationTimeout,
    InvalidRequest,
    JobNotFound,
    MediaGenError,
    TransientBackendError,
)
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.ports.generator import BackendPlugin, GeneratedMedia, GenerationContext
from mediagen.testing import fake_spec
from tests.unit.test_service import build

VIDEO = MediaRequest(media_type=MediaType.VIDEO, prompt="waves", timeout=30)


class _FailingJob:
    """Submits a vendor job that then ends the way it is told (an error), as Sora's or Veo's poll reports it."""

    def __init__(self, spec: BackendSpec, outcome: MediaGenError) -> None:
        self.spec = spec
        self.outcome = outcome

    async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
        await ctx.job_started("vendor-job-9")
        raise self.outcome

    async def aclose(self) -> None:
        return None


class _CancellableJob(_FailingJob):
    def __init__(self, spec: BackendSpec) -> None:
        super().__init__(spec, GenerationTimeout("still running", job_id="vendor-job-9"))
        self.cancelled: list[tuple[str, str]] = []

    async def cancel(self, job_id: str, ctx: GenerationContext) -> None:
        self.cancelled.append((job_id, ctx.credentials.reveal()))


@pytest.mark.parametrize(
    "outcome",
    [BackendError("Sora video vendor-job-9 failed: internal"), ContentRejected("the safety system refused it")],
)
async def test_a_job_the_vendor_reports_failed_is_forgotten_and_its_error_raised(outcome: MediaGenError) -> None:
    service, _ = build([BackendPlugin(fake_spec("alpha"), lambda options: _FailingJob(fake_spec("alpha"), outcome))])
    with pytest.raises(type(outcome)):
        await service.generate(VIDEO)
    assert await service.jobs() == []


@pytest.mark.parametrize(
    "outcome", [TransientBackendError("connection reset"), GenerationTimeout("still running", job_id="vendor-job-9")]
)
async def test_a_job_interrupted_by_a_passing_failure_stays_resumable(outcome: MediaGenError) -> None:
    service, _ = build([BackendPlugin(fake_spec("alpha"), lambda options: _FailingJob(fake_spec("alpha"), outcome))])
    with pytest.raises(MediaGenError):
        await service.generate(VIDEO)
    [job] = await service.jobs()
    assert job.vendor_job_id == "vendor-job-9"


async def test_forget_drops_the_record_and_an_unknown_id_is_job_not_found() -> None:
    outcome = GenerationTimeout("still running")
    service, _ = build([BackendPlugin(fake_spec("alpha"), lambda options: _FailingJob(fake_spec("alpha"), outcome))])
    with pytest.raises(GenerationTimeout):
        await service.generate(VIDEO)
    [job] = await service.jobs()
    assert (await service.forget(job.id)).vendor_job_id == "vendor-job-9"
    assert await service.jobs() == []
    with pytest.raises(JobNotFound):
        await service.forget(job.id)


async def test_cancel_asks_the_vendor_with_the_backends_key_then_drops_the_record() -> None:
    generator = _CancellableJob(fake_spec("alpha"))
    service, _ = build([BackendPlugin(generator.spec, lambda options: generator)])
    with pytest.raises(GenerationTimeout):
        await service.generate(VIDEO)
    [job] = await service.jobs()
    await service.cancel(job.id)
    assert generator.cancelled == [("vendor-job-9", "key-alpha")]
    assert await service.jobs() == []


async def test_cancel_where_the_backend_offers_none_says_so_and_keeps_the_record() -> None:
    outcome = GenerationTimeout("still running")
    service, _ = build([BackendPlugin(fake_spec("alpha"), lambda options: _FailingJob(fake_spec("alpha"), outcome))])
    with pytest.raises(GenerationTimeout):
        await service.generate(VIDEO)
    [job] = await service.jobs()
    with pytest.raises(InvalidRequest, match="offers no way to cancel") as caught:
        await service.cancel(job.id)
    assert f"mediagen jobs forget {job.id}" in caught.value.message
    assert [j.id for j in await service.jobs()] == [job.id]
