"""Vendor SDK models (pydantic) built in a worker thread before a call first needs them, not on the event loop.

pydantic builds a model's validator and serializer on its first use when the model defers it (openai and
google-genai do, to import faster); that first use costs 10-200 ms, which would hold the host's event loop during
the first call of each kind. An adapter names the models a call constructs or parses and awaits `built(...)` before
it: the first time they are built off the loop, afterwards it is a few attribute checks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

_building = threading.Lock()


async def built(*models: type[Any] | None) -> None:
    """Build the given pydantic models unless they are built (None entries, e.g. a name an SDK dropped, are skipped)."""
    if all(_complete(model) for model in models):
        return
    await asyncio.to_thread(_build, models)


def _complete(model: type[Any] | None) -> bool:
    return model is None or bool(model.__dict__.get("__pydantic_complete__", True))


def _build(models: tuple[type[Any] | None, ...]) -> None:
    with _building:  # pydantic does not promise that building one model from two threads at once is safe
        for model in models:
            if not _complete(model):
                model.model_rebuild()  # type: ignore[union-attr]


_done: set[Callable[[], object]] = set()


async def once_off_loop(work: Callable[[], object]) -> None:
    """Run `work` in a worker thread the first time it is asked for in this process; afterwards return at once.

    For an SDK's other lazy first-use costs, e.g. a pydantic TypeAdapter per union field built the first time a
    response is parsed: `work` parses a typical answer, so the first real one is parsed at full speed on the loop.
    """
    if work not in _done:
        await asyncio.to_thread(_run_once, work)


def _run_once(work: Callable[[], object]) -> None:
    with _building:
        if work not in _done:
            work()
            _done.add(work)
