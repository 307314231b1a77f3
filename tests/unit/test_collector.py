"""A backend's SDK loads with the garbage collector paused: nothing is collected while it loads, its new objects are
collected once afterwards in the loading thread, and the host's own collector setting is kept."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mediagen.application.collector import loaded_with_collector_paused
from mediagen.application.registry import BackendRegistry
from mediagen.domain.backend import BackendSpec
from mediagen.ports.generator import BackendOptions, BackendPlugin, MediaGenerator
from mediagen.testing import FakeGenerator, fake_spec


class Collections:
    """Every collection that starts while recording: its generation and the thread it runs in."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.seen.append((info["generation"], threading.current_thread().name))

    def clear(self) -> None:
        self.seen.clear()


@pytest.fixture
def collections() -> Iterator[Collections]:
    enabled = gc.isenabled()
    gc.enable()
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


def test_a_load_runs_with_the_collector_paused_then_collects_the_young_generations_once_in_its_thread(
    collections: Collections,
) -> None:
    during: list[bool] = []

    def load() -> int:
        during.append(gc.isenabled())
        made = allocate_a_lot()
        during.append(gc.isenabled())
        return len(made)

    def in_worker() -> None:
        assert loaded_with_collector_paused(load) == 50 * gc.get_threshold()[0]

    worker = threading.Thread(target=in_worker, name="loader")
    collections.clear()
    worker.start()
    worker.join()
    assert during == [False, False]
    assert gc.isenabled()
    # No collection while it loaded: one, of the young generations, when it was done, in the loading thread.
    assert [seen for seen in collections.seen if seen[1] == "loader"] == [(1, "loader")]


def test_a_load_that_fails_still_resumes_the_collector_and_raises() -> None:
    def load() -> None:
        raise RuntimeError("the SDK is missing")

    with pytest.raises(RuntimeError, match="the SDK is missing"):
        loaded_with_collector_paused(load)
    assert gc.isenabled()


def test_a_host_that_turned_the_collector_off_keeps_it_off_and_nothing_is_collected(
    collections: Collections,
) -> None:
    gc.disable()
    collections.clear()
    assert loaded_with_collector_paused(lambda: len(allocate_a_lot())) > 0
    assert not gc.isenabled()
    assert collections.seen == []


def test_loads_at_once_keep_the_collector_paused_until_the_last_ends(collections: Collections) -> None:
    first_in, second_in, first_may_end = threading.Event(), threading.Event(), threading.Event()
    seen_after_first: list[bool] = []

    def first() -> None:
        first_in.set()
        assert first_may_end.wait(10)

    def second() -> None:
        second_in.set()
        assert first_in.wait(10)
        first_may_end.set()
        one.join(10)  # the first load is over: the collector stays paused while this one still loads
        seen_after_first.append(gc.isenabled())

    one = threading.Thread(target=loaded_with_collector_paused, args=(first,))
    two = threading.Thread(target=loaded_with_collector_paused, args=(second,))
    one.start()
    assert first_in.wait(10)
    two.start()
    two.join(10)
    assert seen_after_first == [False]
    assert gc.isenabled()


async def test_the_registry_builds_a_generator_with_the_collector_paused(collections: Collections) -> None:
    spec: BackendSpec = fake_spec("alpha")
    seen: list[bool] = []

    def factory(options: BackendOptions) -> MediaGenerator:
        seen.append(gc.isenabled())
        return FakeGenerator(spec)

    registry = BackendRegistry([BackendPlugin(spec, factory)])
    generator = await registry.ready("alpha")
    assert isinstance(generator, FakeGenerator)
    assert seen == [False]
    assert gc.isenabled()
