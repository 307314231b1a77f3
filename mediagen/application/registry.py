"""BackendRegistry: the installed backends' specs, and their generators built once, on first use, off the loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence

from mediagen.application.collector import collector_paused
from mediagen.application.shutdown import close_at_shutdown, left_behind
from mediagen.domain.backend import BackendSpec
from mediagen.domain.errors import InvalidRequest
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions, BackendPlugin, MediaGenerator


class BackendRegistry:
    """Holds plugins; builds each generator lazily (its SDK loads then) and reuses it for every call.

    From async code (`ready`), a plugin's factory runs in a worker thread and a generator's `prepare` hook is awaited
    once per key, so a vendor SDK's import and client construction never hold the event loop; concurrent first calls
    wait for the same build. Both run with the garbage collector paused, as they load an SDK (`collector.py`).

    Generators hold clients bound to the event loop they were built on (aiohttp sessions, gRPC channels). Asked from
    another loop once that one has stopped (`generate_sync` with one container runs a loop per call), the registry
    builds them again on the new loop. A loop's generators are closed at its shutdown (`loop.shutdown_asyncgens`,
    which asyncio.run calls), so none is left open on a loop that is gone.
    """

    def __init__(
        self,
        plugins: Sequence[BackendPlugin],
        options: Callable[[str], BackendOptions] | Mapping[str, BackendOptions] | None = None,
    ) -> None:
        self._plugins: dict[str, BackendPlugin] = {}
        for plugin in plugins:
            if plugin.spec.name in self._plugins:
                raise ValueError(f"two backends are named {plugin.spec.name!r}; backend names must be unique")
            self._plugins[plugin.spec.name] = plugin
        if options is None:
            self._options: Callable[[str], BackendOptions] = lambda name: BackendOptions()
        elif isinstance(options, Mapping):
            mapping = dict(options)
            self._options = lambda name: mapping.get(name, BackendOptions())
        else:
            self._options = options
        self._generators: dict[str, MediaGenerator] = {}
        self._prepared: set[tuple[str, Secret]] = set()
        #: The build (or preparation) under way per backend (or backend and key): every first call awaits the same.
        self._pending: dict[object, asyncio.Future[None]] = {}
        #: The loop the generators were built on, and what closes them at that loop's shutdown.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: AsyncGenerator[None, None] | None = None

    @property
    def specs(self) -> list[BackendSpec]:
        return [plugin.spec for plugin in self._plugins.values()]

    def spec(self, name: str) -> BackendSpec:
        return self._plugin(name).spec

    def options(self, name: str) -> BackendOptions:
        return self._options(name)

    def generator(self, name: str) -> MediaGenerator:
        """The generator for `name`, built in the calling thread if it was not yet; async code awaits `ready`."""
        generator = self._generators.get(name)
        if generator is None:
            generator = self._generators[name] = self._plugin(name).factory(self._options(name))
        return generator

    async def ready(self, name: str, credentials: Secret | None = None) -> MediaGenerator:
        """The generator for `name`, built off the loop the first time and prepared for `credentials` once."""
        self._follow_loop()
        if self._closer is None:
            await self._close_at_shutdown()
        generator = self._generators.get(name)
        if generator is None:
            plugin = self._plugin(name)
            await self._once(name, lambda: self._build(name, plugin))
            generator = self._generators[name]
        if credentials is not None and (name, credentials) not in self._prepared:
            prepare = getattr(generator, "prepare", None)  # optional: see PreparingGenerator
            if prepare is None:
                self._prepared.add((name, credentials))
            else:
                await self._once((name, credentials), lambda: self._prepare(name, credentials, prepare))
        return generator

    def build_soon(self, name: str) -> None:
        """Start building `name`'s generator in a worker thread unless it is built or being built, and return at once:
        the caller's other work (checks before a call) runs meanwhile, and `ready` awaits the same build. A failed
        build, or an unknown name, is `ready`'s to report (it starts a failed build again)."""
        self._follow_loop()
        plugin = self._plugins.get(name)
        if plugin is not None and name not in self._generators:
            self._start(name, lambda: self._build(name, plugin))

    def _follow_loop(self) -> None:
        """On a loop other than the generators' one, once that one has stopped: forget them, to build them again.
        (They were closed at the old loop's shutdown when asyncio.run ended it; a loop closed without it took their
        connections with it, and a stopped one can't run their close.)"""
        if self._loop is None:  # the first loop adopts what `generator` built before any loop asked
            self._loop = asyncio.get_running_loop()
        elif left_behind(self._loop):
            self._generators, self._prepared, self._closer = {}, set(), None
            self._loop = asyncio.get_running_loop()

    async def _close_at_shutdown(self) -> None:
        """Once per loop, before its first build: what closes the generators at the loop's shutdown."""
        if self._closer is None:
            self._closer = await close_at_shutdown(functools.partial(self._close_on, asyncio.get_running_loop()))

    async def _close_on(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop:  # still this loop's generators: none was closed or built since on another
            await self.aclose()

    async def _build(self, name: str, plugin: BackendPlugin) -> None:
        if name not in self._generators:
            await self._close_at_shutdown()
            async with collector_paused():
                self._generators[name] = await asyncio.to_thread(plugin.factory, self._options(name))

    async def _prepare(self, name: str, credentials: Secret, prepare: Callable[[Secret], Awaitable[None]]) -> None:
        if (name, credentials) not in self._prepared:
            async with collector_paused():
                await prepare(credentials)
            self._prepared.add((name, credentials))

    async def _once(self, key: object, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work()` once for `key` however many callers ask at once. A caller that is cancelled leaves it running
        for the others; once it is over (done or failed) the next caller that still needs it starts it again."""
        await asyncio.shield(self._start(key, work))

    def _start(self, key: object, work: Callable[[], Awaitable[None]]) -> asyncio.Future[None]:
        """The run of `work()` under way for `key`, started now if there is none (on this loop)."""
        pending = self._pending.get(key)
        if pending is None or pending.get_loop() is not asyncio.get_running_loop():
            pending = self._pending[key] = asyncio.ensure_future(work())
            pending.add_done_callback(lambda done: self._settled(key, done))
        return pending

    def _settled(self, key: object, done: asyncio.Future[None]) -> None:
        if self._pending.get(key) is done:
            del self._pending[key]
        if not done.cancelled():
            done.exception()  # every waiter gets it; this only keeps asyncio from calling it never retrieved

    def _plugin(self, name: str) -> BackendPlugin:
        try:
            return self._plugins[name]
        except KeyError:
            known = ", ".join(sorted(self._plugins)) or "none installed"
            raise InvalidRequest(f"unknown backend {name!r}; known backends: {known}", field="backend") from None

    async def aclose(self) -> None:
        """Close every generator that was built (their HTTP/gRPC clients)."""
        generators, self._generators = list(self._generators.values()), {}
        self._prepared.clear()
        await asyncio.gather(*(g.aclose() for g in generators), return_exceptions=True)
