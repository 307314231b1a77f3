"""Module-level shortcuts: a service opened off the event loop, and one-call generation for scripts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mediagen.domain.request import MediaRequest
from mediagen.domain.result import GenerationResult
from mediagen.ports.progress import ProgressListener

if TYPE_CHECKING:  # the container (dependency_injector, cattrs, settings, stores) loads in a worker thread
    from mediagen.application.service import MediaService
    from mediagen.container import Container


@asynccontextmanager
async def open_service(
    container: Container | None = None, *, warm_up: Iterable[str] | bool = False
) -> AsyncIterator[MediaService]:
    """The container's service (a fresh `Container()` when none is given), built in a worker thread so the event
    loop never waits on it: loading settings, finding plugins, starting the sandbox, opening the store.

    `warm_up` (True: every backend a request can reach; or a list of backend names) also loads those backends'
    SDKs and clients before the first request (`MediaService.warm_up`). On exit the service is closed and the
    container's resources (the sandbox) are shut down, in a worker thread too.
    """
    box, service = await asyncio.to_thread(_service_of, container)
    try:
        if warm_up is not False:
            await service.warm_up(None if warm_up is True else warm_up)
        yield service
    finally:
        try:
            await service.aclose()
        finally:
            await asyncio.to_thread(box.shutdown_resources)


def _service_of(container: Container | None) -> tuple[Any, MediaService]:
    if container is None:
        from mediagen.container import Container

        container = Container()
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
