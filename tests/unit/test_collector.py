"""A backend's SDK loads with the garbage collector paused: nothing is collected while it loads, what it made then
becomes old without a collection, and the host's own collector setting and frozen objects are kept."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mediagen.adapters.stores.memory import MemoryStore
from mediagen.application.collector import collector_paused
from mediagen.application.registry import BackendRegistry
from mediagen.application.selector import BackendSelector
from mediagen.application.service import MediaService
from mediagen.application.settings import Settings
from mediagen.domain.backend import BackendSpec
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions, BackendPlugin, MediaGenerator
from mediagen.testing import FakeGenerator, MemorySink, StaticCredentials, fake_spec


class Collections:
    """Every collection that starts while recording: its generation and whether it ran in the main thread."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, bool]] = []

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.seen.append((info["generation"], threading.current_thread() is threading.main_thread()))


@pytest.fixture
def collections() -> Iterator[Collections]:
    """Records the collections from here on, with the collector on; its setting comes back afterwards."""
    enabled = gc.isenabled()
    gc.enable()
    gc.collect()
    recorder = Collections()
    gc.callbacks.append(recorder)
    try:
        yield recorder
    finally:
        gc.callbacks.remove(recorder)
        if not enabled:
            gc.disable()


def allocate_a_lot() -> list[list[int]]:
    """Far more container objects than the young generation's threshold: a running collector would collect often."""
    return [[n] for n in range(50 * gc.get_threshold()[0])]


class Loader:
    """A blocking load that records whether the collector ran while it made its objects."""

    def __init__(self) -> None:
        self.enabled: list[bool] = []
        self.made: list[list[list[int]]] = []

    def __call__(self) -> None:
        self.enabled.append(gc.isenabled())
        self.made.append(allocate_a_lot())
        self.enabled.append(gc.isenabled())


async def test_a_load_runs_with_the_collector_paused_and_what_it_made_becomes_old_without_a_collection(
    collections: Collections,
) -> None:
    load = Loader()
    async with collector_paused():
        await asyncio.to_thread(load)
    assert load.enabled == [False, False]
    assert gc.isenabled()
    assert collections.seen == []  # nothing collected while it loaded, however much it made, nor afterwards
    made = load.made[0][-1]
    assert any(found is made for found in gc.get_objects(generation=2))  # old at once: no young collection scans it
    assert gc.get_freeze_count() == 0


async def test_a_host_that_keeps_objects_frozen_keeps_them_and_the_young_generations_are_collected_instead(
    collections: Collections,
) -> None:
    kept = [["frozen by the host"]]
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        async with collector_paused():
            await asyncio.to_thread(Loader())
        assert gc.get_freeze_count() > frozen // 2  # still frozen (objects freed meanwhile leave the count)
        assert collections.seen == [(1, False)]  # one collection of the young generations, in a worker thread
    finally:
        gc.unfreeze()
    assert kept


async def test_a_load_that_fails_or_is_cancelled_still_resumes_the_collector() -> None:
    with pytest.raises(RuntimeError, match="the SDK is missing"):
        async with collector_paused():
            raise RuntimeError("the SDK is missing")
    assert gc.isenabled()

    entered = asyncio.Event()

    async def load() -> None:
        async with collector_paused():
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.ensure_future(load())
    await entered.wait()
    assert not gc.isenabled()
    task.cancel()
    await asyncio.sleep(0)
    task.cancel()  # a second cancel while the collector is being resumed
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gc.isenabled()


async def test_a_load_ending_when_the_loops_executor_is_shut_down_still_resumes_the_collector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop = asyncio.get_running_loop()

    def shut(executor: object, work: object, *args: object) -> None:
        raise RuntimeError("cannot schedule new futures after shutdown")

    async with collector_paused():
        monkeypatch.setattr(loop, "run_in_executor", shut)
    assert gc.isenabled()


async def test_a_host_that_turned_the_collector_off_keeps_it_off_and_nothing_is_collected(
    collections: Collections,
) -> None:
    gc.disable()
    async with collector_paused():
        await asyncio.to_thread(Loader())
    assert not gc.isenabled()
    assert collections.seen == []


async def test_loads_at_once_keep_the_collector_paused_until_the_last_ends(collections: Collections) -> None:
    first_done = asyncio.Event()
    seen_after_first: list[bool] = []

    async def first() -> None:
        async with collector_paused():
            await asyncio.to_thread(Loader())
        first_done.set()

    async def second() -> None:
        async with collector_paused():
            await first_done.wait()
            seen_after_first.append(gc.isenabled())

    await asyncio.gather(first(), second())
    assert seen_after_first == [False]
    assert gc.isenabled()


class PreparingFake(FakeGenerator):
    """Records whether the collector ran while it was prepared and warmed up."""

    def __init__(self, spec: BackendSpec) -> None:
        super().__init__(spec)
        self.enabled: list[bool] = []

    async def prepare(self, credentials: Secret) -> None:
        self.enabled.append(gc.isenabled())

    async def warm_up(self, credentials: Secret | None) -> None:
        self.enabled.append(gc.isenabled())


async def test_the_registry_builds_and_prepares_a_generator_with_the_collector_paused(
    collections: Collections,
) -> None:
    spec = fake_spec("alpha")
    generator = PreparingFake(spec)
    built: list[bool] = []

    def factory(options: BackendOptions) -> MediaGenerator:
        built.append(gc.isenabled())
        return generator

    registry = BackendRegistry([BackendPlugin(spec, factory)])
    assert await registry.ready("alpha", Secret("k")) is generator
    assert built == [False] and generator.enabled == [False]
    assert gc.isenabled()


async def test_warm_up_runs_with_the_collector_paused(collections: Collections) -> None:
    spec = fake_spec("alpha")
    generator = PreparingFake(spec)
    registry = BackendRegistry([BackendPlugin(spec, lambda options: generator)])
    service = MediaService(
        registry=registry,
        selector=BackendSelector(registry.specs, StaticCredentials({"alpha": "k"})),
        store=MemoryStore(),
        sink=MemorySink(),
        settings=Settings(),
    )
    assert await service.warm_up(["alpha"]) == ("alpha",)
    assert generator.enabled == [False, False]  # prepared, then warmed up
    assert gc.isenabled()
    await service.aclose()
