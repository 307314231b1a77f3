"""Batches on Ray: each item a Ray task on the cluster, with the driver's settings and each worker's own keys.

`mediagen batch FILE --engine ray [--address ray://host:port|auto]`, or in the library
`service.generate_batch(requests, engine=RayEngine(address=...))`. Without an address a local cluster is started
(and stopped when the engine closes). Ray is the `ray` extra, imported only when the engine first runs.

What crosses to a worker: the `Settings` (no key is ever in them), the request, and the batch run's id and the
item's index. Each worker process builds one `Container` with those settings and keeps it for the items it runs;
its credentials come from that worker's environment, so keys are never serialized into a task. A worker process
that dies mid-item is retried by Ray on another worker (`max_retries`); that attempt resumes the vendor job the
dead one had recorded under the batch run and item (`MediaService.generate_batch_item`) when the store is shared.
An item that fails in mediagen (a vendor error, a bad request) is not retried there — the service has already
retried what deserved it — and comes back as that item's error.

Progress: with a listener, the workers send their items' events (selected, submitted, polling, downloading, ...)
to a small Ray actor as they happen, and the driver hands them on, so a batch on Ray shows as one in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import time
import uuid
from collections.abc import Sequence
from typing import Any

from mediagen.application.settings import Settings
from mediagen.domain.errors import ConfigurationError, InternalError, MediaGenError
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import BatchItem, BatchResult, GenerationResult
from mediagen.ports.progress import (
    Downloading,
    Failed,
    ProgressEvent,
    ProgressListener,
    Written,
    ignore_progress,
)

#: The service one worker process keeps, with the settings it was built for and the loop its clients live on.
_WORKER: dict[str, Any] = {}
#: Seconds between two byte counts of one item sent to the driver (every other event is sent as it happens).
_DOWNLOAD_EVERY = 0.25


def run_item(
    settings: Settings, request: MediaRequest, batch_id: str, index: int, relay: Any = None
) -> GenerationResult | MediaGenError:
    """Item `index` of the batch run `batch_id` on a Ray worker: the result, or the MediaGenError that ended it
    (returned, not raised, so Ray does not count it as a task failure to retry). `relay`: the actor its progress
    events go to, or None."""
    service = _worker_service(settings)
    loop: asyncio.AbstractEventLoop = _WORKER["loop"]
    progress = ignore_progress if relay is None else _forwarder(relay)
    try:
        result: GenerationResult = loop.run_until_complete(
            service.generate_batch_item(request, batch_id=batch_id, item=index, progress=progress)
        )
    except MediaGenError as error:
        return error
    except Exception as error:
        return InternalError.unexpected(error)
    return result


def _worker_service(settings: Settings) -> Any:
    """This process's service for `settings`, built on first use (one per worker process, reused by its items)."""
    from dependency_injector import providers

    from mediagen.container import Container

    fingerprint = pickle.dumps(settings)
    if _WORKER.get("settings") == fingerprint:
        return _WORKER["service"]
    if "service" in _WORKER:
        _WORKER["loop"].run_until_complete(_WORKER["service"].aclose())
        _WORKER["container"].shutdown_resources()
    loop = _WORKER.setdefault("loop", asyncio.new_event_loop())
    asyncio.set_event_loop(loop)
    container: Any = Container()
    container.settings.override(providers.Object(settings))
    _WORKER.update(settings=fingerprint, container=container, service=container.service())
    return _WORKER["service"]


def _forwarder(relay: Any) -> ProgressListener:
    """Sends an item's progress events to the driver's relay without waiting for them to arrive: every event but
    Written and Failed (the driver reports those from the item's outcome), byte counts at most every 0.25 s."""
    last_count = -_DOWNLOAD_EVERY

    def forward(event: ProgressEvent) -> None:
        nonlocal last_count
        if isinstance(event, (Written, Failed)):
            return
        if isinstance(event, Downloading):
            now = time.monotonic()
            if now - last_count < _DOWNLOAD_EVERY:
                return
            last_count = now
        # Progress is for display: a relay that is gone must not fail an item whose vendor work is paid for.
        with contextlib.suppress(Exception):
            relay.push.remote(event)

    return forward


class ProgressRelay:
    """A Ray actor for one batch run: the workers push their items' progress events, the driver pulls them in the
    order they came."""

    def __init__(self) -> None:
        self._events: list[ProgressEvent] = []
        self._arrived = asyncio.Event()

    async def push(self, event: ProgressEvent) -> None:
        self._events.append(event)
        self._arrived.set()

    async def pull(self) -> list[ProgressEvent]:
        """The events pushed since the last pull, waiting for one when there are none."""
        await self._arrived.wait()
        self._arrived.clear()
        events, self._events = self._events, []
        return events


class RayEngine:
    """Runs a batch's items as Ray tasks. `address`: None starts a local cluster (`local_cpus` CPUs, default all),
    "auto" joins the cluster of this machine, "ray://host:port" connects through Ray Client. Each item takes
    `cpus_per_item` of a worker's CPUs (fractions let an I/O-bound item share one)."""

    def __init__(
        self,
        address: str | None = None,
        *,
        local_cpus: int | None = None,
        cpus_per_item: float = 1.0,
        max_retries: int = 3,
    ) -> None:
        if not cpus_per_item > 0:
            raise ValueError(f"cpus_per_item must be > 0, got {cpus_per_item!r}")
        self._address = address
        self._local_cpus = local_cpus
        self._cpus_per_item = cpus_per_item
        self._max_retries = max_retries
        self._ray: Any = None
        self._started = False
        self._lock = asyncio.Lock()

    async def run(self, requests: Sequence[MediaRequest], *, settings: Any, progress: ProgressListener) -> BatchResult:
        ray = await self._connect()
        task = ray.remote(num_cpus=self._cpus_per_item, max_retries=self._max_retries)(run_item)
        shipped = ray.put(settings)  # once, shared by every task
        batch_id = uuid.uuid4().hex[:16]  # this run's, so an item's next attempt finds the job its last one recorded
        relay = None if progress is ignore_progress else ray.remote(num_cpus=0)(ProgressRelay).remote()
        finished_items: set[int] = set()
        relaying = None if relay is None else asyncio.ensure_future(_relay(relay, progress, finished_items))
        try:
            refs = [
                task.options(name=f"mediagen-item-{index}").remote(shipped, request, batch_id, index, relay)
                for index, request in enumerate(requests)
            ]
            return await _collect(ray, refs, progress, finished_items)
        finally:
            if relaying is not None:
                relaying.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await relaying
                ray.kill(relay)

    async def aclose(self) -> None:
        """Stop the local cluster this engine started (a cluster it joined keeps running)."""
        if self._ray is not None and self._started:
            await asyncio.to_thread(self._ray.shutdown)
            self._started = False

    async def _connect(self) -> Any:
        async with self._lock:
            if self._ray is None:
                self._ray = await asyncio.to_thread(self._init)
        return self._ray

    def _init(self) -> Any:
        """Blocking: import Ray, then start or join the cluster."""
        try:
            import ray
        except ImportError:
            raise ConfigurationError("--engine ray needs the ray extra: pip install 'mediagen[ray]'") from None
        if not ray.is_initialized():
            # Ray's own INFO lines ("Started a local Ray instance.") would land between the CLI's progress lines.
            options: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "logging_level": logging.WARNING,
            }
            if self._address is None and self._local_cpus is not None:
                options["num_cpus"] = self._local_cpus
            try:
                ray.init(address=self._address, **options)
            except ConnectionError as error:
                raise ConfigurationError(
                    f"cannot reach the Ray cluster at {self._address!r} ({type(error).__name__}); start it "
                    "(`ray start --head`) or check --address"
                ) from None
            self._started = self._address is None
        return ray


async def _collect(ray: Any, refs: list[Any], progress: ProgressListener, finished_items: set[int]) -> BatchResult:
    """The items' outcomes in request order, each reported as it finishes; a cancel cancels every task."""
    items: list[BatchItem | None] = [None] * len(refs)
    try:
        for finished in asyncio.as_completed([_outcome(index, ref) for index, ref in enumerate(refs)]):
            index, outcome = await finished
            finished_items.add(index)
            items[index] = _item(index, outcome, progress)
    except asyncio.CancelledError:
        for ref in refs:
            ray.cancel(ref)
        raise
    return BatchResult(tuple(item for item in items if item is not None))


async def _relay(relay: Any, progress: ProgressListener, finished_items: set[int]) -> None:
    """Hands the workers' progress events to `progress` until cancelled; an event of an item already reported
    finished (it came late, or from an attempt whose worker died) is dropped."""
    while True:
        try:
            events: list[ProgressEvent] = await asyncio.wrap_future(relay.pull.remote().future())
        except Exception:  # the relay is gone: the items' outcomes still come, only the live progress stops
            return
        for event in events:
            if event.item not in finished_items:
                progress(event)


async def _outcome(index: int, ref: Any) -> tuple[int, GenerationResult | MediaGenError]:
    """The item's index and outcome; a task Ray gave up on (its workers kept dying) is that item's error."""
    try:
        outcome: GenerationResult | MediaGenError = await asyncio.wrap_future(ref.future())
    except Exception as error:
        outcome = InternalError(
            f"the Ray task of this item failed ({type(error).__name__}) after its retries; run the item again"
        )
    return index, outcome


def _item(index: int, outcome: GenerationResult | MediaGenError, progress: ProgressListener) -> BatchItem:
    if isinstance(outcome, MediaGenError):
        progress(Failed(item=index, error_code=outcome.code, message=outcome.message))
        return BatchItem(index, error=outcome)
    progress(
        Written(item=index, backend=outcome.backend, path=outcome.artifact.path, size_bytes=outcome.artifact.size_bytes)
    )
    return BatchItem(index, result=outcome)
