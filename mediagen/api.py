"""Module-level shortcuts for scripts: one call builds a container, generates, and cleans up."""

from __future__ import annotations

import asyncio
from typing import Any

from mediagen.container import Container
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import GenerationResult
from mediagen.ports.progress import ProgressListener


async def generate(
    request: MediaRequest, *, progress: ProgressListener | None = None, container: Container | None = None
) -> GenerationResult:
    """Generate one artifact with a fresh (or given) container; closes what it opened."""
    owned = container is None
    box: Any = Container() if container is None else container
    service = box.service()
    try:
        return await service.generate(request, progress=progress)  # type: ignore[no-any-return]
    finally:
        if owned:
            await service.aclose()
            box.shutdown_resources()


def generate_sync(
    request: MediaRequest, *, progress: ProgressListener | None = None, container: Container | None = None
) -> GenerationResult:
    """`generate` for synchronous code; inside a running event loop, `await mediagen.generate(...)` instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(generate(request, progress=progress, container=container))
    raise RuntimeError("generate_sync was called inside a running event loop; use `await mediagen.generate(...)`")
