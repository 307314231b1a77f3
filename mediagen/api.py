"""Module-level shortcuts: a service opened off the event loop, and one-call generation for scripts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mediagen.domain.request import MediaRequest
from mediagen.domain.result import GenerationResult
from mediagen.ports.progress import ProgressListener

if TYPE_CHECKING:  # the composition (cattrs, settings, stores) loads in a worker thread
    from mediagen.application.service import MediaService
    from mediagen.application.settings import Settings
    from mediagen.container import Container


@asynccontextmanager
async def open_service(
    container: Container | None = None, *, warm_up: Iterable[str] | bool = False, settings: Settings | None = None
) -> AsyncIterator[MediaService]:
    """The container's service, built in a worker thread so the event loop never waits on it: loading settings,
    finding plugins, starting the sandbox, opening the store. Without a container, the service `Container()` would
    build (with `settings` when given, else from env and files), wired by plain calls (`composition.Assembly`), so
    dependency_injector is not loaded.

    `warm_up` (True: every backend a request can reach; or a list of backend names) also loads those backends'
    SDKs and clients before the first request (`MediaService.warm_up`). On exit the service is closed and the
    container's resources (the sandbox) are shut down, in a worker thread too.
    """
    if container is not None and settings is not None:
        raise TypeError("open_service takes a container or settings, not both: override the container's settings")
    box, service = await asyncio.to_thread(_service_of, container, settings)
    try:
        if warm_up is not False:
            await service.warm_up(None if warm_up is True else warm_up)
        yield service
    finally:
        try:
            await service.aclose()
        finally:
            await asyncio.to_thread(box.shutdown_resources)


def _service_of(container: Container | None, settings: Settings | None = None) -> tuple[Any, MediaService]:
    if container is None:
        from mediagen.composition import Assembly

        assembly = Assembly(settings)  # on failure it stops the sandbox it started
        return assembly, assembly.service
    box: Any = container
    try:
        return box, box.service()
    except BaseException:
        box.shutdown_resources()  # building the service failed (a bad store path, say): stop the sandbox it started
        raise


async def generate(
    request: MediaRequest, *, progress: ProgressListener | None = None, container: Container | None = None
) -> GenerationResult:
    """Generate one artifact with a fresh (or given) container; closes what it opened."""
    if container is None:
        async with open_service() as service:
            return await service.generate(request, progress=progress)
    _, service = await asyncio.to_thread(_service_of, container)
    return await service.generate(request, progress=progress)


def generate_sync(
    request: MediaRequest, *, progress: ProgressListener | None = None, container: Container | None = None
) -> GenerationResult:
    """`generate` for synchronous code; inside a running event loop, `await mediagen.generate(...)` instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(generate(request, progress=progress, container=container))
    raise RuntimeError("generate_sync was called inside a running event loop; use `await mediagen.generate(...)`")
