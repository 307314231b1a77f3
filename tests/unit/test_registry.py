"""BackendRegistry.ready and MediaService.warm_up: a backend is built off the event loop, once, and prepared once
per key, however many first calls ask at once."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from mediagen.adapters.stores.memory import MemoryStore
from mediagen.application.registry import BackendRegistry
from mediagen.application.selector import BackendSelector
from mediagen.application.service import MediaService
from mediagen.application.settings import Settings
from mediagen.domain.backend import BackendSpec
from mediagen.domain.errors import ConfigurationError, InvalidRequest
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions, BackendPlugin, MediaGenerator
from mediagen.testing import FakeGenerator, MemorySink, StaticCredentials, fake_spec


class PreparingFake(FakeGenerator):
    """A FakeGenerator with the optional `prepare` hook, recording the keys it was prepared for."""

    def __init__(self, spec: BackendSpec) -> None:
        super().__init__(spec)
        self.prepared: list[Secret] = []
        self.warmed: list[Secret | None] = []

    async def prepare(self, credentials: Secret) -> None:
        await asyncio.sleep(0)  # lets other first calls arrive meanwhile
        self.prepared.append(credentials)

    async def warm_up(self, credentials: Secret | None) -> None:
        self.warmed.append(credentials)


class GatedPlugin:
    """A plugin whose factory blocks until released and records the thread it ran in and how often."""

    def __init__(self, spec: BackendSpec, *, fail_first: bool = False) -> None:
        self.spec = spec
        self.release = threading.Event()
        self.entered = threading.Event()
        self.threads: list[threading.Thread] = []
        self.options: list[BackendOptions] = []
        self._fail_first = fail_first
        self.generator = PreparingFake(spec)

    def factory(self, options: BackendOptions) -> MediaGenerator:
        self.threads.append(threading.current_thread())
        self.options.append(options)
        self.entered.set()
        self.release.wait(timeout=10)
        if self._fail_first and len(self.threads) == 1:
            raise ConfigurationError("the SDK is missing", key="backends")
        return self.generator

    def plugin(self) -> BackendPlugin:
        return BackendPlugin(self.spec, self.factory)


async def _entered(gated: GatedPlugin) -> None:
    """Until the factory runs (in its worker thread); the loop stays free meanwhile."""
    assert await asyncio.to_thread(gated.entered.wait, 10)


async def test_concurrent_first_calls_wait_for_one_build_made_in_a_worker_thread() -> None:
    gated = GatedPlugin(fake_spec("alpha"))
    options = BackendOptions(base_url="http://127.0.0.1:9")
    registry = BackendRegistry([gated.plugin()], {"alpha": options})
    waiters = [asyncio.ensure_future(registry.ready("alpha", Secret("k"))) for _ in range(5)]
    await _entered(gated)
    ticks = 0
    while ticks < 3:  # the loop keeps running while the factory blocks in its thread
        await asyncio.sleep(0)
        ticks += 1
    assert not any(w.done() for w in waiters)
    gated.release.set()
    built = await asyncio.gather(*waiters)
    assert all(b is gated.generator for b in built)
    assert len(gated.threads) == 1 and gated.threads[0] is not threading.current_thread()
    assert gated.options == [options]
    assert gated.generator.prepared == [Secret("k")]


async def test_a_first_call_prepares_the_generator_but_does_not_warm_it_up() -> None:
    gated = GatedPlugin(fake_spec("alpha"))
    gated.release.set()
    registry = BackendRegistry([gated.plugin()])
    await registry.ready("alpha", Secret("k"))
    assert gated.generator.prepared == [Secret("k")] and gated.generator.warmed == []


async def test_a_generator_is_prepared_once_per_key() -> None:
    gated = GatedPlugin(fake_spec("alpha"))
    gated.release.set()
    registry = BackendRegistry([gated.plugin()])
    for key in ("k1", "k1", "k2", "k1", "k2"):
        await registry.ready("alpha", Secret(key))
    await registry.ready("alpha")  # no key: built, not prepared
    assert gated.generator.prepared == [Secret("k1"), Secret("k2")]


async def test_a_cancelled_first_call_leaves_the_build_to_the_others() -> None:
    gated = GatedPlugin(fake_spec("alpha"))
    registry = BackendRegistry([gated.plugin()])
    first = asyncio.ensure_future(registry.ready("alpha"))
    second = asyncio.ensure_future(registry.ready("alpha"))
    await _entered(gated)
    first.cancel()
    gated.release.set()
    assert await second is gated.generator
    assert first.cancelled() and len(gated.threads) == 1


async def test_a_failed_build_is_reported_to_every_waiter_and_tried_again_by_the_next_call() -> None:
    gated = GatedPlugin(fake_spec("alpha"), fail_first=True)
    registry = BackendRegistry([gated.plugin()])
    waiters = [asyncio.ensure_future(registry.ready("alpha")) for _ in range(3)]
    await _entered(gated)
    gated.release.set()
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(o, ConfigurationError) for o in outcomes)
    assert await registry.ready("alpha") is gated.generator
    assert len(gated.threads) == 2


async def test_an_unknown_backend_is_an_invalid_request_naming_the_known_ones() -> None:
    registry = BackendRegistry([GatedPlugin(fake_spec("alpha")).plugin()])
    with pytest.raises(InvalidRequest, match="known backends: alpha"):
        await registry.ready("beta")


def _service(plugins: list[BackendPlugin], keys: dict[str, str]) -> MediaService:
    specs = [p.spec for p in plugins]
    return MediaService(
        registry=BackendRegistry(plugins),
        selector=BackendSelector(specs, StaticCredentials(keys)),
        store=MemoryStore(),
        sink=MemorySink(),
        settings=Settings(),
    )


async def test_warm_up_builds_and_prepares_every_reachable_backend_and_the_first_call_reuses_it() -> None:
    alpha, beta, gamma = (
        GatedPlugin(fake_spec("alpha")),
        GatedPlugin(fake_spec("beta")),
        GatedPlugin(fake_spec("gamma")),
    )
    for gated in (alpha, beta, gamma):
        gated.release.set()
    service = _service([alpha.plugin(), beta.plugin(), gamma.plugin()], {"alpha": "ka", "beta": "kb"})
    assert await service.warm_up() == ("alpha", "beta")  # gamma has no key
    assert alpha.generator.prepared == [Secret("ka")] and beta.generator.prepared == [Secret("kb")]
    assert alpha.generator.warmed == [Secret("ka")] and beta.generator.warmed == [Secret("kb")]
    assert gamma.threads == []
    await service.generate(MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", backend="alpha"))
    assert len(alpha.threads) == 1 and alpha.generator.prepared == [Secret("ka")]
    assert alpha.generator.warmed == [Secret("ka")]  # only warm_up calls the warm_up hook
    assert len(alpha.generator.calls) == 1


async def test_warm_up_of_named_backends_loads_one_without_a_key_and_refuses_an_unknown_name() -> None:
    alpha, beta = GatedPlugin(fake_spec("alpha")), GatedPlugin(fake_spec("beta"))
    for gated in (alpha, beta):
        gated.release.set()
    service = _service([alpha.plugin(), beta.plugin()], {"alpha": "ka"})
    assert await service.warm_up(["beta", "beta"]) == ("beta",)
    assert len(beta.threads) == 1 and beta.generator.prepared == [] and alpha.threads == []
    assert beta.generator.warmed == [None]
    with pytest.raises(InvalidRequest, match="unknown backend 'delta'"):
        await service.warm_up(["alpha", "delta"])
    assert alpha.threads == []  # nothing starts when a name is unknown


async def test_open_service_builds_warms_and_closes(tmp_path: Path) -> None:
    from dependency_injector import providers

    from mediagen import Container, open_service
    from mediagen.application.settings import load_settings

    gated = GatedPlugin(fake_spec("alpha"))
    gated.release.set()
    container = Container()
    container.settings.override(providers.Object(load_settings(overrides={"output_dir": str(tmp_path)})))
    container.plugins.override(providers.Object([gated.plugin()]))
    container.credentials.override(providers.Object(StaticCredentials({"alpha": "ka"})))
    container.store.override(providers.Singleton(MemoryStore))
    async with open_service(container, warm_up=True) as service:
        assert gated.generator.prepared == [Secret("ka")]
        result = await service.generate(MediaRequest(media_type=MediaType.IMAGE, prompt="a fox"))
        assert result.backend == "alpha" and result.artifact.path.parent.name == tmp_path.name
    assert gated.generator.closed


async def test_warm_up_opens_a_store_that_can_connect_ahead(tmp_path: Path) -> None:
    from mediagen.adapters.stores.sqlite import SqliteStore

    alpha = GatedPlugin(fake_spec("alpha"))
    alpha.release.set()
    path = tmp_path / "state" / "continuations.sqlite3"
    store = SqliteStore(path)
    service = MediaService(
        registry=BackendRegistry([alpha.plugin()]),
        selector=BackendSelector([alpha.spec], StaticCredentials({"alpha": "ka"})),
        store=store,
        sink=MemorySink(),
        settings=Settings(),
    )
    async with service:
        assert not await asyncio.to_thread(path.exists)
        await service.warm_up()
        assert await asyncio.to_thread(path.exists)


def test_a_batch_warms_up_the_backend_each_request_goes_to_first_and_skips_what_none_can_serve() -> None:
    from mediagen.entrypoints.runtime import backends_for

    plugins = [GatedPlugin(fake_spec(name)).plugin() for name in ("alpha", "beta", "gamma")]
    service = _service(plugins, {"alpha": "ka", "beta": "kb"})  # gamma has no key
    requests = [
        MediaRequest(media_type=MediaType.IMAGE, prompt="auto"),
        MediaRequest(media_type=MediaType.IMAGE, prompt="named", backend="beta"),
        MediaRequest(media_type=MediaType.IMAGE, prompt="no key", backend="gamma"),
        MediaRequest(media_type=MediaType.IMAGE, prompt="again", backend="beta"),
    ]
    assert backends_for(service, requests) == ["alpha", "beta"]


async def test_build_soon_starts_the_build_in_a_worker_thread_and_ready_awaits_that_same_build() -> None:
    gated = GatedPlugin(fake_spec("alpha"))
    registry = BackendRegistry([gated.plugin()])
    registry.build_soon("alpha")  # returns at once: the factory blocks in its own thread
    await _entered(gated)
    registry.build_soon("alpha")  # under way: not started twice
    waiter = asyncio.ensure_future(registry.ready("alpha", Secret("k")))
    await asyncio.sleep(0)
    assert not waiter.done()
    gated.release.set()
    assert await waiter is gated.generator
    registry.build_soon("alpha")  # built: nothing to do
    assert len(gated.threads) == 1 and gated.threads[0] is not threading.current_thread()
    registry.build_soon("beta")  # unknown: `ready` reports it
    with pytest.raises(InvalidRequest, match="unknown backend 'beta'"):
        await registry.ready("beta")


async def test_a_build_started_soon_that_fails_is_reported_by_ready_which_tries_again() -> None:
    gated = GatedPlugin(fake_spec("alpha"), fail_first=True)
    registry = BackendRegistry([gated.plugin()])
    registry.build_soon("alpha")
    await _entered(gated)
    gated.release.set()
    with pytest.raises(ConfigurationError, match="the SDK is missing"):
        await registry.ready("alpha")  # joins the build under way, which fails
    assert await registry.ready("alpha") is gated.generator  # started again
    assert len(gated.threads) == 2


async def test_a_request_checks_the_sink_while_its_backend_builds_and_raises_the_sinks_error(tmp_path: Path) -> None:
    from mediagen.adapters.sinks.filesystem import FilesystemSink
    from mediagen.domain.errors import PathNotAllowed

    gated = GatedPlugin(fake_spec("alpha"))
    service = MediaService(
        registry=BackendRegistry([gated.plugin()]),
        selector=BackendSelector([gated.spec], StaticCredentials({"alpha": "ka"})),
        store=MemoryStore(),
        sink=FilesystemSink(allowed_roots=[tmp_path / "allowed"], default_dir=tmp_path / "allowed"),
        settings=Settings(),
    )
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", output_dir=tmp_path / "elsewhere")
    with pytest.raises(PathNotAllowed):
        await service.generate(request)
    await _entered(gated)  # the backend's build had started meanwhile, in its worker thread
    assert gated.generator.calls == []  # no vendor call
    gated.release.set()
    await service.aclose()


async def test_warm_up_also_pays_the_request_codecs_first_use_in_a_worker_thread() -> None:
    gated = GatedPlugin(fake_spec("alpha"))
    gated.release.set()
    threads: list[threading.Thread] = []

    def encode(request: MediaRequest) -> dict[str, object]:
        threads.append(threading.current_thread())
        return {"media_type": request.media_type.value, "prompt": request.prompt}

    service = MediaService(
        registry=BackendRegistry([gated.plugin()]),
        selector=BackendSelector([gated.spec], StaticCredentials({"alpha": "ka"})),
        store=MemoryStore(),
        sink=MemorySink(),
        settings=Settings(),
        encode_request=encode,
    )
    await service.warm_up()
    assert len(threads) == 1 and threads[0] is not threading.current_thread()


class LoopBound(FakeGenerator):
    """A FakeGenerator that records the event loop it was prepared on and the one it was closed on, and how often."""

    def __init__(self, spec: BackendSpec) -> None:
        super().__init__(spec)
        self.prepared_on: asyncio.AbstractEventLoop | None = None
        self.closed_on: list[asyncio.AbstractEventLoop] = []

    async def prepare(self, credentials: Secret) -> None:
        self.prepared_on = asyncio.get_running_loop()

    async def aclose(self) -> None:
        self.closed_on.append(asyncio.get_running_loop())


def loop_bound_registry() -> tuple[BackendRegistry, list[LoopBound]]:
    spec = fake_spec("alpha")
    built: list[LoopBound] = []

    def factory(options: BackendOptions) -> MediaGenerator:
        built.append(LoopBound(spec))
        return built[-1]

    return BackendRegistry([BackendPlugin(spec, factory)]), built


def test_each_event_loop_gets_generators_built_on_it_closed_at_its_shutdown() -> None:
    """One registry used from one asyncio.run after another (generate_sync with one container does that): the
    generators, whose clients belong to the loop they were built on, are built again on each loop and closed, on
    their own loop, as it shuts down."""
    registry, built = loop_bound_registry()

    async def use() -> LoopBound:
        generator = await registry.ready("alpha", Secret("k"))
        assert isinstance(generator, LoopBound)
        assert generator is await registry.ready("alpha", Secret("k"))  # one per loop
        return generator

    first = asyncio.run(use())
    assert first.closed_on == [first.prepared_on]
    second = asyncio.run(use())
    assert second is not first and second.prepared_on is not first.prepared_on
    assert second.closed_on == [second.prepared_on]
    assert built == [first, second]


def test_a_registry_closed_before_its_loop_ends_closes_each_generator_once() -> None:
    registry, built = loop_bound_registry()

    async def use_and_close() -> None:
        await registry.ready("alpha", Secret("k"))
        await registry.aclose()

    asyncio.run(use_and_close())
    assert len(built) == 1 and len(built[0].closed_on) == 1


def test_a_loop_closed_without_shutting_down_leaves_its_generators_behind_and_the_next_builds_its_own() -> None:
    registry, built = loop_bound_registry()
    loop = asyncio.new_event_loop()
    first = loop.run_until_complete(registry.ready("alpha", Secret("k")))
    loop.close()  # no shutdown_asyncgens: nothing could close them on it now
    second = asyncio.run(registry.ready("alpha", Secret("k")))
    assert second is not first and built == [first, second]


def test_a_generator_built_before_any_loop_asked_is_the_first_loops_and_closed_at_its_shutdown() -> None:
    registry, built = loop_bound_registry()
    early = registry.generator("alpha")  # built in the calling thread, no loop running
    assert asyncio.run(registry.ready("alpha", Secret("k"))) is early
    assert isinstance(early, LoopBound) and early.closed_on == [early.prepared_on]
    assert built == [early]
