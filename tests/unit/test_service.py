"""MediaService through its public methods, with the shipped fakes: routing, retries, failover, jobs, batch."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediagen.adapters.sinks.filesystem import FilesystemSink
from mediagen.adapters.stores.memory import MemoryStore
from mediagen.adapters.stores.sqlite import SqliteStore
from mediagen.application.codec import request_converter
from mediagen.application.registry import BackendRegistry
from mediagen.application.selector import BackendSelector
from mediagen.application.service import MediaService
from mediagen.application.settings import BackendSettings, RetrySettings, Settings
from mediagen.domain.backend import BackendSpec
from mediagen.domain.errors import (
    BackendError,
    ContentRejected,
    ContinuationNotFound,
    FileExists,
    GenerationTimeout,
    InvalidRequest,
    JobNotFound,
    RateLimited,
    TransientBackendError,
    UnsupportedParameter,
)
from mediagen.domain.media import Capability, MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import Adapted
from mediagen.ports.continuation import ContinuationStore
from mediagen.ports.generator import BackendPlugin, GeneratedMedia, GenerationContext
from mediagen.ports.progress import FellBack, ProgressEvent, Retried, Selected, Submitted, Throttled, Written
from mediagen.testing import FakeGenerator, MemorySink, RecordingListener, StaticCredentials, fake_plugin, fake_spec

NO_WAIT = RetrySettings(attempts=3, wait_initial=0, wait_max=0, wait_jitter=0)


def build(
    plugins: Sequence[BackendPlugin],
    keys: dict[str, str] | None = None,
    *,
    store: ContinuationStore | None = None,
    priority: Sequence[str] = (),
    inspect_inputs: Any = None,
    sink: Any = None,
    **settings_kwargs: Any,
) -> tuple[MediaService, MemorySink]:
    settings_kwargs.setdefault("retry", NO_WAIT)
    settings = Settings(**settings_kwargs)
    specs = [p.spec for p in plugins]
    credentials = StaticCredentials(keys if keys is not None else {s.name: f"key-{s.name}" for s in specs})
    selector = BackendSelector(
        specs, credentials, priorities={mt: tuple(priority) for mt in MediaType}, strict=settings.strict
    )
    sink = sink if sink is not None else MemorySink()
    converter = request_converter()
    service = MediaService(
        registry=BackendRegistry(plugins),
        selector=selector,
        store=store if store is not None else MemoryStore(),
        sink=sink,
        settings=settings,
        encode_request=converter.unstructure,
        decode_request=lambda data: converter.structure(data, MediaRequest),
        inspect_inputs=inspect_inputs,
    )
    return service, sink


def image(prompt: str = "a fox", **kwargs: Any) -> MediaRequest:
    return MediaRequest(media_type=MediaType.IMAGE, prompt=prompt, **kwargs)


def plugin(name: str, **kwargs: Any) -> tuple[BackendPlugin, FakeGenerator]:
    spec = fake_spec(name)
    generator = FakeGenerator(spec, **kwargs)
    return fake_plugin(spec, generator), generator


async def test_generate_writes_the_artifact_and_reports_who_made_it() -> None:
    alpha, _ = plugin("alpha")
    service, sink = build([alpha])
    listener = RecordingListener()
    result = await service.generate(image(), progress=listener)
    assert result.backend == "alpha"
    assert result.artifact.mime_type == "image/png"
    assert sink.written[result.artifact.path][:8] == b"\x89PNG\r\n\x1a\n"
    assert result.continuation_id is not None and result.continuation_id.startswith("alpha_")
    assert [type(e) for e in listener.events if isinstance(e, (Selected, Written))] == [Selected, Written]


async def test_continuation_routes_back_to_the_originating_backend_whatever_the_priority() -> None:
    alpha, _ = plugin("alpha")
    beta, beta_gen = plugin("beta")
    service, _ = build([alpha, beta], priority=["beta", "alpha"])
    first = await service.generate(image(backend="alpha"))
    second = await service.generate(image("now at night", continue_from=first.continuation_id))
    assert second.backend == "alpha"
    assert beta_gen.calls[-1][0].prompt != "now at night" if beta_gen.calls else True


async def test_continuation_state_reaches_the_generator() -> None:
    alpha, generator = plugin("alpha")
    service, _ = build([alpha])
    first = await service.generate(image())
    await service.generate(image("again", continue_from=first.continuation_id))
    ctx = generator.calls[-1][1]
    assert ctx.continuation is not None and ctx.continuation.data["turn"] == 1


async def test_unknown_continuation_is_continuation_not_found() -> None:
    alpha, _ = plugin("alpha")
    service, _ = build([alpha])
    with pytest.raises(ContinuationNotFound):
        await service.generate(image(continue_from="alpha_image_000000000000"))


async def test_stateless_vendor_ids_route_by_their_prefix() -> None:
    alpha, generator = plugin("alpha")
    beta, _ = plugin("beta")
    service, _ = build([alpha, beta], priority=["beta"])
    result = await service.generate(image(continue_from="alpha:resp_123"))
    assert result.backend == "alpha"
    ctx = generator.calls[-1][1]
    assert ctx.continuation is not None and ctx.continuation.data == {"vendor_id": "resp_123"}


async def test_continuation_with_a_different_named_backend_is_refused() -> None:
    alpha, _ = plugin("alpha")
    beta, _ = plugin("beta")
    service, _ = build([alpha, beta])
    first = await service.generate(image(backend="alpha"))
    with pytest.raises(InvalidRequest, match="belongs to backend 'alpha'"):
        await service.generate(image(continue_from=first.continuation_id, backend="beta"))


async def test_transient_errors_are_retried_and_reported() -> None:
    alpha, generator = plugin("alpha", script=[TransientBackendError("503"), RateLimited("slow down", retry_after=9)])
    service, _ = build([alpha])
    listener = RecordingListener()
    result = await service.generate(image(), progress=listener)
    assert result.backend == "alpha" and len(generator.calls) == 3
    retried = listener.of_type(Retried)
    assert [r.error_code for r in retried] == ["transient_backend_error", "rate_limited"]
    assert retried[1].wait_seconds == 0  # retry_after 9 s, capped by retry.wait_max = 0


async def test_the_backoff_before_a_retry_lets_other_tasks_run() -> None:
    alpha, generator = plugin("alpha", script=[TransientBackendError("503")])
    service, _ = build([alpha], retry=RetrySettings(attempts=2, wait_initial=0.05, wait_max=0.05, wait_jitter=0))
    calls_when_ticked: list[int] = []

    async def tick() -> None:
        await asyncio.sleep(0.01)  # due in the middle of the 50 ms backoff
        calls_when_ticked.append(len(generator.calls))

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)  # the ticker is asleep before the first attempt
    result = await service.generate(image())
    await ticker
    assert result.backend == "alpha" and len(generator.calls) == 2
    assert calls_when_ticked == [1]  # it ran during the wait, not after the second attempt


async def test_auto_selected_backend_fails_over_to_the_next_with_its_own_model() -> None:
    failing = [TransientBackendError("down")] * 3
    alpha, _ = plugin("alpha", script=failing)
    beta, beta_gen = plugin("beta")
    service, _ = build([alpha, beta], priority=["alpha", "beta"])
    listener = RecordingListener()
    result = await service.generate(image(), progress=listener)
    assert result.backend == "beta"
    assert beta_gen.calls[0][1].model == beta_gen.spec.default_models[MediaType.IMAGE]
    assert [(f.backend, f.error_code) for f in result.fallbacks] == [("alpha", "transient_backend_error")]
    assert [(e.backend, e.to_backend) for e in listener.of_type(FellBack)] == [("alpha", "beta")]


async def test_an_explicit_backend_is_never_switched() -> None:
    alpha, _ = plugin("alpha", script=[TransientBackendError("down")] * 3)
    beta, beta_gen = plugin("beta")
    service, _ = build([alpha, beta])
    with pytest.raises(TransientBackendError):
        await service.generate(image(backend="alpha"))
    assert beta_gen.calls == []


async def test_non_retryable_errors_neither_retry_nor_fail_over() -> None:
    alpha, generator = plugin("alpha", script=[ContentRejected("refused by the safety system")])
    beta, beta_gen = plugin("beta")
    service, _ = build([alpha, beta], priority=["alpha", "beta"])
    with pytest.raises(ContentRejected):
        await service.generate(image())
    assert len(generator.calls) == 1 and beta_gen.calls == []


async def test_a_named_model_fails_over_only_among_backends_that_serve_it() -> None:
    shared = fake_spec("alpha")
    model = shared.default_models[MediaType.IMAGE]
    beta_spec = fake_spec("beta")
    gamma_spec = attrs.evolve(
        fake_spec("gamma"),
        models=(*fake_spec("gamma").models, attrs.evolve(shared.model(model), name=model)),  # type: ignore[arg-type]
    ) if fake_spec("gamma").model(model) is None else fake_spec("gamma")  # fmt: skip
    alpha_gen = FakeGenerator(shared, script=[TransientBackendError("down")] * 3)
    plugins = [fake_plugin(shared, alpha_gen), fake_plugin(beta_spec), fake_plugin(gamma_spec)]
    service, _ = build(plugins, priority=["alpha", "beta", "gamma"])
    result = await service.generate(image(model=model))
    assert result.backend in {"gamma", "beta"}
    assert result.model == model


async def test_overall_timeout_raises_generation_timeout_and_writes_nothing() -> None:
    alpha, _ = plugin("alpha", latency=30)
    service, sink = build([alpha])
    with pytest.raises(GenerationTimeout):
        await service.generate(image(timeout=0.05))
    assert sink.written == {}


async def test_strict_mode_turns_an_ignored_parameter_into_an_error_before_writing() -> None:
    spec = fake_spec("alpha", capabilities={Capability.TEXT_TO_IMAGE, Capability.SEED})
    service, sink = build([fake_plugin(spec)], strict=True)
    request = image(extra={"unknown_knob": 1})
    with pytest.raises(UnsupportedParameter) as caught:
        await service.generate(request)
    assert caught.value.field == "extra.unknown_knob"
    assert sink.written == {}


async def test_every_set_parameter_is_accounted_for_in_the_result() -> None:
    alpha, _ = plugin("alpha")
    service, _ = build([alpha])
    request = image(aspect_ratio="16:9", seed=4, negative_prompt="blur", extra={"vendor_thing": True})
    result = await service.generate(request)
    assert set(request.set_parameters()) <= result.parameters.accounted()


class _JobGenerator:
    """Submits a vendor job, then waits until told to finish; resumes by the vendor job id."""

    def __init__(self, spec: BackendSpec) -> None:
        self.spec = spec
        self.finish = asyncio.Event()
        self.resumed: list[str] = []
        self.submitted: list[str] = []
        self.timeouts: list[float] = []

    async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
        self.timeouts.append(ctx.timeout)
        if ctx.resume_job_id is None:
            self.submitted.append(request.prompt)
            await ctx.job_started("vendor-job-1")
        else:
            self.resumed.append(ctx.resume_job_id)
        await self.finish.wait()
        from mediagen.testing.media import mp4_stub

        return GeneratedMedia.from_bytes(mp4_stub(), mime_type="video/mp4", model=ctx.model)

    async def aclose(self) -> None:
        return None


class _FailingStore(MemoryStore):
    """A store whose saves or deletes fail, as a store that lost its database would."""

    def __init__(self, *, save: bool = False, delete: bool = False) -> None:
        super().__init__()
        self.fail_save, self.fail_delete = save, delete

    async def save(self, backend: str, state: Any) -> str:
        if self.fail_save:
            raise RuntimeError("the database is gone")
        return await super().save(backend, state)

    async def delete(self, continuation_id: str) -> None:
        if self.fail_delete:
            raise RuntimeError("the database is gone")
        await super().delete(continuation_id)


async def test_a_store_failing_to_save_the_continuation_leaves_no_file() -> None:
    alpha, _ = plugin("alpha")
    service, sink = build([alpha], store=_FailingStore(save=True))
    with pytest.raises(RuntimeError):
        await service.generate(image())
    assert sink.written == {}  # the caller got an error, so no file they were never told of


class _SlowStore(MemoryStore):
    """A store whose saves take a while, so the file is written before the save ends."""

    def __init__(self, *, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail

    async def save(self, backend: str, state: Any) -> str:
        for _ in range(20):
            await asyncio.sleep(0)
        if self.fail:
            raise RuntimeError("the database is gone")
        return await super().save(backend, state)


@pytest.mark.parametrize("store", [_FailingStore(save=True), _SlowStore(fail=True)], ids=["at-once", "after-the-file"])
async def test_a_store_failing_while_the_file_is_written_leaves_no_file_on_disk(
    tmp_path: Path, store: MemoryStore
) -> None:
    alpha, _ = plugin("alpha")
    sink = FilesystemSink([tmp_path], tmp_path)
    service, _ = build([alpha], store=store, sink=sink)
    with pytest.raises(RuntimeError, match="database is gone"):
        await service.generate(image())
    assert await asyncio.to_thread(lambda: [p.name for p in tmp_path.rglob("*") if p.is_file()]) == []


async def test_a_slow_save_is_waited_for_and_its_id_comes_with_the_file(tmp_path: Path) -> None:
    alpha, _ = plugin("alpha")
    store = _SlowStore()
    service, _ = build([alpha], store=store, sink=FilesystemSink([tmp_path], tmp_path))
    result = await service.generate(image())
    assert await asyncio.to_thread(result.artifact.path.is_file) and result.continuation_id is not None
    assert await store.load(result.continuation_id) is not None


class _CountedSqliteStore(SqliteStore):
    """A SQLite store that counts the saves made through its async `save`."""

    async_saves = 0

    async def save(self, backend: str, state: Any) -> str:
        self.async_saves += 1
        return await super().save(backend, state)


class _LostSqliteStore(SqliteStore):
    """A SQLite store whose blocking saves fail, as on a disk that went bad after the store was opened."""

    def save_blocking(self, backend: str, state: Any) -> str:
        raise sqlite3.OperationalError("disk I/O error")


async def test_with_sqlite_and_the_filesystem_the_continuation_is_saved_in_the_job_writing_the_file(
    tmp_path: Path,
) -> None:
    alpha, _ = plugin("alpha")
    store = _CountedSqliteStore(tmp_path / "continuations.sqlite3")
    out = tmp_path / "out"
    service, _ = build([alpha], store=store, sink=FilesystemSink([out], out))
    try:
        result = await service.generate(image())
        assert result.continuation_id is not None
        record = await store.load(result.continuation_id)
        assert record is not None and record.backend == "alpha"
        assert store.async_saves == 0  # saved by save_blocking, in the sink's worker-thread job
        assert await asyncio.to_thread(result.artifact.path.is_file)
    finally:
        await store.aclose()


@pytest.mark.parametrize("overwrite", [False, True], ids=["new", "replacing"])
async def test_a_blocking_save_failing_leaves_no_file_and_never_replaces_one(tmp_path: Path, overwrite: bool) -> None:
    alpha, _ = plugin("alpha")
    store = _LostSqliteStore(tmp_path / "continuations.sqlite3")
    out = tmp_path / "out"
    await asyncio.to_thread(out.mkdir)
    if overwrite:
        await asyncio.to_thread((out / "kept.png").write_bytes, b"the old one")
    service, _ = build([alpha], store=store, sink=FilesystemSink([out], out))
    try:
        with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
            await service.generate(image(filename="kept.png", overwrite=True) if overwrite else image())
    finally:
        await store.aclose()
    left = await asyncio.to_thread(lambda: {p.name: p.read_bytes() for p in out.iterdir()})
    assert left == ({"kept.png": b"the old one"} if overwrite else {})


class _StuckStore(MemoryStore):
    """A store whose saves never end, as one waiting on a database another process holds."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = asyncio.Event()

    async def save(self, backend: str, state: Any) -> str:
        self.waiting.set()
        await asyncio.Event().wait()
        raise AssertionError("never reached")


async def test_a_timeout_while_the_save_is_pending_after_the_file_is_written_leaves_no_file(tmp_path: Path) -> None:
    alpha, _ = plugin("alpha")
    store = _StuckStore()
    service, _ = build([alpha], store=store, sink=FilesystemSink([tmp_path], tmp_path))
    with pytest.raises(GenerationTimeout):
        await service.generate(image(timeout=0.5))
    assert store.waiting.is_set()
    assert await asyncio.to_thread(lambda: [p.name for p in tmp_path.rglob("*") if p.is_file()]) == []


async def test_a_store_failing_when_a_file_is_replaced_keeps_the_file_that_was_there(tmp_path: Path) -> None:
    alpha, _ = plugin("alpha")
    await asyncio.to_thread((tmp_path / "kept.png").write_bytes, b"the old one")
    service, _ = build([alpha], store=_FailingStore(save=True), sink=FilesystemSink([tmp_path], tmp_path))
    with pytest.raises(RuntimeError):
        await service.generate(image(filename="kept.png", overwrite=True))
    assert await asyncio.to_thread((tmp_path / "kept.png").read_bytes) == b"the old one"


async def test_a_collected_job_the_store_cannot_forget_still_returns_the_written_file() -> None:
    spec = fake_spec("alpha")
    generator = _JobGenerator(spec)
    generator.finish.set()
    service, sink = build([fake_plugin(spec, generator)], store=_FailingStore(delete=True))
    result = await service.generate(MediaRequest(media_type=MediaType.VIDEO, prompt="waves"))
    assert sink.written[result.artifact.path]  # the file and its result, not an error after the write


async def test_an_interrupted_job_is_recorded_and_resumed_without_a_second_submission() -> None:
    spec = fake_spec("alpha")
    generator = _JobGenerator(spec)
    service, _ = build([BackendPlugin(spec, lambda options: generator)])
    listener = RecordingListener()
    video = MediaRequest(media_type=MediaType.VIDEO, prompt="waves", timeout=0.05)
    with pytest.raises(GenerationTimeout) as caught:
        await service.generate(video, progress=listener)
    [job] = await service.jobs()
    assert caught.value.job_id == job.id and "jobs resume" in caught.value.message
    assert job.vendor_job_id == "vendor-job-1" and job.prompt == "waves"
    assert [e.job_id for e in listener.of_type(Submitted)] == [job.id]
    generator.finish.set()
    result = await service.resume(job.id)
    assert generator.resumed == ["vendor-job-1"]
    assert result.artifact.mime_type == "video/mp4"
    assert await service.jobs() == []


async def test_a_resume_waits_the_settings_timeout_not_the_one_that_ran_out_and_writes_where_the_job_was_meant_to(
    tmp_path: Path,
) -> None:
    spec = fake_spec("alpha")
    generator = _JobGenerator(spec)
    service, _ = build([BackendPlugin(spec, lambda options: generator)])
    video = MediaRequest(media_type=MediaType.VIDEO, prompt="waves", timeout=0.05, output_dir=tmp_path / "renders")
    with pytest.raises(GenerationTimeout):
        await service.generate(video)
    [job] = await service.jobs()
    generator.finish.set()
    result = await service.resume(job.id)
    assert generator.timeouts[-1] > 60  # the video timeout of the settings (600 s by default), not 0.05 s
    assert result.path.parent == tmp_path / "renders"
    generator.finish.clear()
    with pytest.raises(GenerationTimeout):
        await service.generate(video)
    [job] = await service.jobs()
    generator.finish.set()
    elsewhere = await service.resume(job.id, timeout=30, output_dir=tmp_path / "other")
    assert generator.timeouts[-1] <= 30 and elsewhere.path.parent == tmp_path / "other"


async def test_a_job_meant_for_an_s3_place_resumes_to_that_place_not_a_local_directory_of_that_name() -> None:
    spec = fake_spec("alpha")
    generator = _JobGenerator(spec)
    service, _ = build([BackendPlugin(spec, lambda options: generator)])
    place = Path("s3://renders/nightly")
    with pytest.raises(GenerationTimeout):
        await service.generate(MediaRequest(media_type=MediaType.VIDEO, prompt="waves", timeout=0.05, output_dir=place))
    [job] = await service.jobs()
    generator.finish.set()
    result = await service.resume(job.id)
    assert result.path.parent == place and str(result.path.parent) == "s3:/renders/nightly"


async def test_a_batch_item_whose_worker_died_after_its_job_was_recorded_resumes_that_job_on_another_worker(
    tmp_path: Path,
) -> None:
    """Two workers sharing one SQLite file, as the processes of a Ray batch do: the first dies (is cancelled) with
    its item's job submitted; the item's next attempt, on the second, waits for that job instead of paying again."""
    spec = fake_spec("alpha")
    video = MediaRequest(media_type=MediaType.VIDEO, prompt="waves", output_dir=tmp_path / "renders")
    dying, survivor = _JobGenerator(spec), _JobGenerator(spec)
    first, _ = build([fake_plugin(spec, dying)], store=SqliteStore(tmp_path / "jobs.sqlite3"))
    second, sink = build([fake_plugin(spec, survivor)], store=SqliteStore(tmp_path / "jobs.sqlite3"))
    submitted = asyncio.Event()

    def listen(event: ProgressEvent) -> None:
        if isinstance(event, Submitted):
            submitted.set()

    attempt = asyncio.ensure_future(first.generate_batch_item(video, batch_id="b1", item=3, progress=listen))
    await submitted.wait()
    attempt.cancel()  # the worker dies with the job running at the vendor
    with pytest.raises(asyncio.CancelledError):
        await attempt
    [recorded] = await second.jobs()
    survivor.finish.set()
    listener = RecordingListener()
    result = await second.generate_batch_item(video, batch_id="b1", item=3, progress=listener)
    assert dying.submitted == ["waves"] and survivor.submitted == [] and survivor.resumed == ["vendor-job-1"]
    assert result.job_id == recorded.vendor_job_id == "vendor-job-1" and result.path.parent == tmp_path / "renders"
    assert sink.written[result.artifact.path] and {e.item for e in listener.events} == {3}
    assert await second.jobs() == []  # collected, so forgotten
    await first.aclose()
    await second.aclose()


async def test_a_batch_items_recorded_job_is_resumed_only_by_that_item_of_that_batch_run() -> None:
    spec = fake_spec("alpha")
    generator = _JobGenerator(spec)
    service, _ = build([fake_plugin(spec, generator)])
    video = MediaRequest(media_type=MediaType.VIDEO, prompt="waves", timeout=0.05)
    with pytest.raises(GenerationTimeout):  # a job recorded for item 0 of run b1, its wait cut off
        await service.generate_batch_item(video, batch_id="b1", item=0)
    [job] = await service.jobs()
    generator.finish.set()
    for batch_id, item in (("b1", 1), ("b2", 0)):
        await service.generate_batch_item(attrs.evolve(video, timeout=None), batch_id=batch_id, item=item)
    assert generator.resumed == [] and len(generator.submitted) == 3
    assert [j.id for j in await service.jobs()] == [job.id]  # still there for its own item (or `jobs resume`)
    await service.generate_batch_item(attrs.evolve(video, timeout=None), batch_id="b1", item=0)
    assert generator.resumed == ["vendor-job-1"] and await service.jobs() == []


class _OwnDeadlineGenerator(_JobGenerator):
    """Submits a job, then gives up at the deadline it was handed, as the vendor adapters do."""

    async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
        await ctx.job_started("vendor-job-2")
        raise GenerationTimeout(f"vendor job still running after {ctx.timeout:.3f} s", job_id="vendor-job-2")


async def test_a_generator_running_out_of_its_time_reads_as_the_overall_timeout_with_the_resume_hint() -> None:
    spec = fake_spec("alpha")
    service, _ = build([BackendPlugin(spec, lambda options: _OwnDeadlineGenerator(spec))])
    with pytest.raises(GenerationTimeout) as caught:
        await service.generate(MediaRequest(media_type=MediaType.VIDEO, prompt="waves", timeout=7))
    [job] = await service.jobs()
    assert caught.value.job_id == job.id and caught.value.backend == "alpha"
    assert caught.value.message.startswith("no result within 7.0 s")
    assert f"mediagen jobs resume {job.id}" in caught.value.message


async def test_resuming_an_unknown_job_is_job_not_found() -> None:
    alpha, _ = plugin("alpha")
    service, _ = build([alpha])
    with pytest.raises(JobNotFound):
        await service.resume("alpha_job_000000000000")


async def test_batch_rejects_a_concurrency_below_one() -> None:
    alpha, _ = plugin("alpha")
    service, _ = build([alpha])
    for bad in (0, -1):
        with pytest.raises(InvalidRequest, match="max_concurrent"):
            await service.generate_batch([image()], max_concurrent=bad)


class _Gauge:
    def __init__(self) -> None:
        self.now = 0
        self.peak = 0


async def test_batch_never_exceeds_its_concurrency() -> None:
    spec = fake_spec("alpha")
    gauge = _Gauge()
    inner = FakeGenerator(spec, latency=0.01)

    class Counting:
        spec = inner.spec

        async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
            gauge.now += 1
            gauge.peak = max(gauge.peak, gauge.now)
            try:
                return await inner.generate(request, ctx)
            finally:
                gauge.now -= 1

        async def aclose(self) -> None:
            return None

    service, _ = build([BackendPlugin(spec, lambda options: Counting())])
    batch = await service.generate_batch([image(f"fox {i}") for i in range(12)], max_concurrent=3)
    assert batch.succeeded == 12 and gauge.peak == 3


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(outcomes=st.lists(st.tuples(st.booleans(), st.integers(0, 3)), min_size=1, max_size=8))
def test_batch_keeps_order_for_any_delays_and_failures(outcomes: list[tuple[bool, int]]) -> None:
    spec = fake_spec("alpha")

    class Scripted:
        def __init__(self) -> None:
            self.spec = spec
            self.fake = FakeGenerator(spec)

        async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
            index = int(request.prompt.split()[-1])
            ok, delay = outcomes[index]
            for _ in range(delay):
                await asyncio.sleep(0)
            if not ok:
                raise BackendError(f"item {index} failed")
            return await self.fake.generate(request, ctx)

        async def aclose(self) -> None:
            return None

    generator = Scripted()
    service, _ = build([BackendPlugin(spec, lambda options: generator)])
    requests = [image(f"item {i}") for i in range(len(outcomes))]
    batch = asyncio.run(service.generate_batch(requests, max_concurrent=3))
    assert [item.index for item in batch.items] == list(range(len(outcomes)))
    assert [item.ok for item in batch.items] == [ok for ok, _ in outcomes]
    assert batch.failed == sum(1 for ok, _ in outcomes if not ok)
    for item in batch.items:
        if not item.ok:
            assert item.error is not None and f"item {item.index} failed" in item.error.message


async def test_cancelling_a_batch_cancels_in_flight_work_and_leaves_no_file(tmp_path: Path) -> None:
    alpha, _ = plugin("alpha", latency=30)
    service, sink = build([alpha])
    task = asyncio.ensure_future(service.generate_batch([image(f"fox {i}") for i in range(4)], max_concurrent=2))
    for _ in range(5):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sink.written == {}


async def test_a_bug_in_one_batch_item_is_an_internal_error_that_quotes_nothing_and_keeps_the_others() -> None:
    spec = fake_spec("alpha")
    inner = FakeGenerator(spec)

    class Buggy:
        def __init__(self) -> None:
            self.spec = spec

        async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
            if request.prompt == "bug":
                raise KeyError(f"Authorization: Bearer {ctx.credentials.reveal()}")
            return await inner.generate(request, ctx)

        async def aclose(self) -> None:
            return None

    service, _ = build([BackendPlugin(spec, lambda options: Buggy())], keys={"alpha": "sk-very-secret"})
    batch = await service.generate_batch([image("fine"), image("bug"), image("also fine")])
    assert [item.ok for item in batch.items] == [True, False, True]
    error = batch.items[1].error
    assert error is not None and error.code == "internal_error"
    assert (
        error.message == "unexpected KeyError in a backend or mediagen itself; please report it"
        and "secret" not in repr(error.to_dict())
    )


async def test_requests_per_minute_holds_a_call_back_with_a_throttled_event_inside_the_timeout() -> None:
    alpha, generator = plugin("alpha")
    service, sink = build([alpha], backends={"alpha": BackendSettings(requests_per_minute=1)})
    await service.generate(image("first"))
    listener = RecordingListener()
    with pytest.raises(GenerationTimeout):  # the next slot is a minute away
        await service.generate(image("second", timeout=0.2), progress=listener)
    [throttled] = listener.of_type(Throttled)
    assert throttled.backend == "alpha" and throttled.wait_seconds == 60
    assert len(generator.calls) == 1 and len(sink.written) == 1


async def test_a_generous_requests_per_minute_lets_a_batch_through_without_waiting() -> None:
    alpha, generator = plugin("alpha")
    service, _ = build([alpha], backends={"alpha": BackendSettings(requests_per_minute=600)})
    listener = RecordingListener()
    batch = await service.generate_batch([image(f"fox {i}") for i in range(8)], progress=listener)
    assert batch.succeeded == 8 and listener.of_type(Throttled) == [] and len(generator.calls) == 8


class _Uploading(MemorySink):
    """A sink whose files take long to place once their bytes are in (an upload to an object store): each waits
    for `go` after reading its stream; `all_waiting` is set once `expected` writes wait."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected = expected
        self.waiting = 0
        self.go = asyncio.Event()
        self.all_waiting = asyncio.Event()

    async def write(self, stream: Any, target: Any, *, mime_type: str, on_bytes: Any = None) -> Any:
        chunks = [chunk async for chunk in stream]
        self.waiting += 1
        if self.waiting == self.expected:
            self.all_waiting.set()
        await self.go.wait()

        async def again() -> Any:
            for chunk in chunks:
                yield chunk

        return await super().write(again(), target, mime_type=mime_type, on_bytes=on_bytes)


async def test_a_batch_items_turn_passes_on_once_its_media_is_received_not_once_its_file_is_placed() -> None:
    alpha, generator = plugin("alpha")
    sink = _Uploading(expected=3)
    service, _ = build([alpha], sink=sink)
    batch = asyncio.ensure_future(service.generate_batch([image(f"fox {i}") for i in range(3)], max_concurrent=1))
    await asyncio.wait_for(sink.all_waiting.wait(), 10)
    assert len(generator.calls) == 3 and sink.written == {}  # every call made while the first file still uploads
    sink.go.set()
    result = await batch
    assert result.succeeded == 3 and len(sink.written) == 3


async def test_a_retry_after_a_received_answer_waits_for_a_turn_again() -> None:
    """An item whose download fails after its answer came retries only when a turn is free: the batch never has
    more vendor calls (answers still being received) at once than its concurrency."""
    spec = fake_spec("alpha")
    inner = FakeGenerator(spec)
    gauge = _Gauge()
    failed: set[str] = set()

    class FlakyDownloads:
        spec = inner.spec

        async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
            gauge.now += 1
            gauge.peak = max(gauge.peak, gauge.now)
            media = await inner.generate(request, ctx)
            flaky = request.prompt.endswith("0") and request.prompt not in failed
            failed.add(request.prompt)

            async def download() -> Any:
                try:
                    async for chunk in media.stream:
                        for _ in range(3):
                            await asyncio.sleep(0)  # the other items run meanwhile
                        if flaky:
                            raise TransientBackendError("the download broke off", backend="alpha")
                        yield chunk
                finally:
                    gauge.now -= 1

            return attrs.evolve(media, stream=download())

        async def aclose(self) -> None:
            return None

    service, _ = build([BackendPlugin(spec, lambda options: FlakyDownloads())])
    batch = await service.generate_batch([image(f"fox {i}") for i in range(12)], max_concurrent=2)
    assert batch.succeeded == 12 and len(inner.calls) == 14 and gauge.peak == 2


async def test_max_concurrent_keeps_a_backends_calls_at_once_below_the_batch_concurrency() -> None:
    running = peak = 0

    async def counting_sleep(seconds: float) -> None:  # the fake's latency: the time a call is at the vendor
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await asyncio.sleep(seconds)
        finally:
            running -= 1

    alpha, _ = plugin("alpha", latency=0.02, sleep=counting_sleep)
    service, _ = build([alpha], backends={"alpha": BackendSettings(max_concurrent=2)})
    batch = await service.generate_batch([image(f"fox {i}") for i in range(6)], max_concurrent=6)
    assert batch.succeeded == 6 and peak == 2


@pytest.mark.parametrize("where", ["outside", "unmakeable"])
async def test_an_output_dir_the_sink_cannot_use_fails_before_any_vendor_call(tmp_path: Path, where: str) -> None:
    from mediagen.adapters.sinks.filesystem import FilesystemSink
    from mediagen.domain.errors import PathNotAllowed

    alpha, generator = plugin("alpha")
    service, _ = build([alpha], sink=FilesystemSink(allowed_roots=[tmp_path, Path("/proc")], default_dir=tmp_path))
    bad = tmp_path.parent / "elsewhere" if where == "outside" else Path("/proc/mediagen-cannot-be-here")
    with pytest.raises(PathNotAllowed) as caught:
        await service.generate(image(output_dir=bad))
    assert str(bad) in caught.value.message and generator.calls == []
    result = await service.generate(image(output_dir=tmp_path / "new"))  # a dir it can make is made, then used
    assert result.path.parent == tmp_path / "new" and len(generator.calls) == 1


@pytest.mark.parametrize(
    ("asked", "written", "reported"),
    [
        ("fox.jpg", "fox.png", True),
        ("fox", "fox.png", False),
        ("fox.png", "fox.png", False),
        ("my fox!.png", "my-fox.png", True),
    ],
)
async def test_a_file_name_the_sink_had_to_change_is_reported_as_adapted(
    asked: str, written: str, reported: bool
) -> None:
    alpha, _ = plugin("alpha")
    service, _ = build([alpha])
    result = await service.generate(image(filename=asked))
    assert result.path.name == written
    renamed = [a for a in result.adapted if a.name == "filename"]
    assert bool(renamed) is reported
    if reported:
        assert (renamed[0].requested, renamed[0].used) == (asked, written) and "image/png" in renamed[0].reason


async def test_n_images_are_n_calls_each_its_own_file_and_result_in_request_order() -> None:
    alpha, generator = plugin("alpha")
    service, sink = build([alpha])
    batch = await service.generate_batch([image("a fox", n=3, filename="fox.png"), image("a cat")])
    assert (batch.total, batch.succeeded) == (4, 4)
    names = [item.result.artifact.path.name for item in batch.items if item.result is not None]
    assert names[:3] == ["fox-1.png", "fox-2.png", "fox-3.png"] and len(set(sink.written)) == 4
    assert len(generator.calls) == 4
    fox = [item.result for item in batch.items[:3] if item.result is not None]
    assert all(r.adapted[-1] == Adapted("n", 3, "3 calls of one image", "alpha-image makes one image per call")
               for r in fox)  # fmt: skip
    with pytest.raises(InvalidRequest, match="generate_batch") as caught:
        await service.generate(image(n=2))
    assert caught.value.field == "n"


def many(name: str, per_call: int, **kwargs: Any) -> tuple[BackendPlugin, FakeGenerator]:
    spec = fake_spec(name, images_per_call=per_call)
    generator = FakeGenerator(spec, **kwargs)
    return fake_plugin(spec, generator), generator


async def test_n_images_where_the_vendor_takes_n_are_one_call_each_image_its_own_file_result_and_continuation() -> None:
    alpha, generator = many("alpha", 10)
    service, sink = build([alpha])
    listener = RecordingListener()
    batch = await service.generate_batch([image("a fox", n=3, filename="fox.png")], progress=listener)
    assert [request.n for request, _ in generator.calls] == [3]
    results = batch.results
    assert [r.path.name for r in results] == ["fox-1.png", "fox-2.png", "fox-3.png"]
    assert len({r.artifact.sha256 for r in results}) == 3 and len(sink.written) == 3
    assert len({r.continuation_id for r in results}) == 3 and all(r.continuation_id for r in results)
    assert all(r.applied["n"] == 3 for r in results)
    assert [r.metadata["call"] for r in results] == [{"images": 3, "index": i} for i in range(3)]
    assert sorted(e.item for e in listener.of_type(Written)) == [0, 1, 2]


async def test_more_images_than_one_call_makes_are_as_few_calls_as_even_as_can_be() -> None:
    alpha, generator = many("alpha", 4)
    service, _ = build([alpha])
    batch = await service.generate_batch([image("a cat"), image("a fox", n=10), image("a dog")], max_concurrent=8)
    assert sorted(request.n for request, _ in generator.calls) == [1, 1, 3, 3, 4]
    assert (batch.total, batch.succeeded) == (12, 12) and [item.index for item in batch.items] == list(range(12))
    assert "cat" in batch.results[0].path.name and "dog" in batch.results[11].path.name
    foxes = batch.results[1:11]
    assert len({r.artifact.sha256 for r in foxes}) == 10
    (adapted,) = [a for a in foxes[0].adapted if a.name == "n"]
    assert (adapted.requested, adapted.used) == (10, "3 calls of 4+3+3 images")
    assert "at most 4 images per call" in adapted.reason
    assert "n" not in batch.results[0].applied and not [a for a in batch.results[0].adapted if a.name == "n"]


async def test_an_image_the_vendor_withheld_is_its_items_error_and_the_others_are_written() -> None:
    alpha, _ = many("alpha", 4, withheld=[1])
    service, sink = build([alpha])
    batch = await service.generate_batch([image("a fox", n=3)])
    assert [item.ok for item in batch.items] == [True, False, True]
    assert isinstance(batch.items[1].error, ContentRejected) and len(sink.written) == 2


async def test_a_call_of_n_images_is_retried_whole_and_falls_back_split_to_what_the_next_backend_makes() -> None:
    alpha, alpha_gen = many("alpha", 4, script=[TransientBackendError("503")])
    service, _ = build([alpha])
    batch = await service.generate_batch([image("a fox", n=4)])
    assert batch.succeeded == 4 and [request.n for request, _ in alpha_gen.calls] == [4, 4]

    down = [TransientBackendError("down")] * 3
    alpha, alpha_gen = many("alpha", 4, script=down)
    beta, beta_gen = plugin("beta")
    service, _ = build([alpha, beta], priority=["alpha", "beta"])
    batch = await service.generate_batch([image("a fox", n=4, filename="fox.png")])
    assert batch.succeeded == 4 and [request.n for request, _ in beta_gen.calls] == [1, 1, 1, 1]
    assert [r.path.name for r in batch.results] == [f"fox-{i}.png" for i in range(1, 5)]
    assert all(r.backend == "beta" and r.fallbacks[0].backend == "alpha" for r in batch.results)


async def test_a_call_of_n_images_that_fails_is_an_error_for_each_of_its_items_only() -> None:
    alpha, _ = many("alpha", 2, script=[None, ContentRejected("no")])
    service, _ = build([alpha])
    batch = await service.generate_batch([image("a fox", n=4)], max_concurrent=1)
    assert [item.ok for item in batch.items] == [True, True, False, False]
    assert all(isinstance(item.error, ContentRejected) for item in batch.items[2:])


class _StallingSink(MemorySink):
    """Writes the first file, then waits forever on every other write (a slow disk, or a cancel on its way)."""

    async def write(self, stream: Any, target: Any, **kwargs: Any) -> Any:
        if self.artifacts:
            await asyncio.Event().wait()
        return await super().write(stream, target, **kwargs)


async def test_a_call_of_n_images_cancelled_while_writing_leaves_none_of_its_files() -> None:
    alpha, _ = many("alpha", 4)
    sink = _StallingSink()
    service, _ = build([alpha], sink=sink)
    finished = asyncio.Event()  # the first image's result is made (its file and continuation kept)

    def on_event(event: Any) -> None:
        if isinstance(event, Written):
            finished.set()

    running = asyncio.ensure_future(service.generate_batch([image("a fox", n=3)], progress=on_event))
    await finished.wait()
    assert len(sink.written) == 1
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert sink.written == {}  # the written one was taken back: the caller heard of none of them


async def test_check_batch_refuses_two_items_writing_one_file_name() -> None:
    alpha, generator = plugin("alpha")
    service, _ = build([alpha])
    problems = await service.check_batch([image(filename="fox.png"), image("a cat"), image(filename="fox.jpg")])
    assert list(problems) == [2]
    assert isinstance(problems[2], InvalidRequest) and problems[2].field == "filename"
    assert "item 1" in problems[2].message and generator.calls == []


async def test_check_batch_knows_the_numbered_names_of_n_images(tmp_path: Path) -> None:
    from mediagen.adapters.sinks.filesystem import FilesystemSink

    alpha, generator = plugin("alpha")
    service, _ = build([alpha], sink=FilesystemSink(allowed_roots=[tmp_path], default_dir=tmp_path))
    # fox-1.png and fox-2.png for the first item: the third names one of them, the second does not.
    requests = [image(filename="fox.png", n=2), image(filename="fox-3.png"), image(filename="fox-2.jpg")]
    problems = await service.check_batch(requests)
    assert list(problems) == [2] and "'fox-2.jpg' names the same file as item 1" in problems[2].message
    (tmp_path / "fox-1.png").write_bytes(b"taken")  # a file one of the n images would be written to
    problems = await service.check_batch([image(filename="fox.png", n=2)])
    assert isinstance(problems[0], FileExists) and problems[0].path == str(tmp_path / "fox-1.png")
    assert generator.calls == []
