"""Builds and closes the service for one CLI invocation, and the rows `mediagen backends` prints."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from mediagen import api
from mediagen.application.service import MediaService
from mediagen.application.settings import load_settings
from mediagen.domain.backend import ModelSpec
from mediagen.domain.errors import InvalidRequest, MediaGenError
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest


@asynccontextmanager
async def open_service(
    overrides: Mapping[str, Any] | None = None, *, warm_up: Iterable[str] | bool = False
) -> AsyncIterator[MediaService]:
    """The service for one command, with settings that include the CLI's overrides (strict, sandbox, output dir),
    built off the event loop (see `mediagen.api.open_service`)."""
    settings = await asyncio.to_thread(load_settings, overrides=dict(overrides or {}))
    async with api.open_service(settings=settings, warm_up=warm_up) as service:
        yield service


async def warm_up_quietly(service: MediaService, backends: Iterable[str] | None = None) -> None:
    """`service.warm_up` where a backend that fails to load is left for its first request, which reports the same
    error where it belongs (a batch item, a tool call's result)."""
    with contextlib.suppress(Exception):
        await service.warm_up(backends)


def backends_for(service: MediaService, requests: Iterable[MediaRequest]) -> list[str]:
    """The backend each request would go to first, once each (a request no backend can serve is left out: its
    own item reports why)."""
    chosen: dict[str, None] = {}
    for request in requests:
        try:
            chosen[service.selector.candidates(request, backend=request.backend)[0].backend] = None
        except MediaGenError:
            continue
    return list(chosen)


def describe_backends(service: MediaService) -> list[dict[str, Any]]:
    """One row per installed backend: what it makes, its default models, whether its key is set."""
    selector = service.selector
    rows = []
    for spec in selector.specs.values():
        has_key = selector.has_credentials(spec.name)
        rows.append(
            {
                "backend": spec.name,
                "media": ", ".join(m.value for m in spec.media_types),
                "default models": ", ".join(f"{m.value}: {n}" for m, n in spec.default_models.items()),
                "key": "set" if has_key else "missing",
                "env vars": " or ".join(spec.env_vars),
            }
        )
    return rows


def describe_models(
    service: MediaService, backend: str, models: Sequence[ModelSpec] | None = None
) -> list[dict[str, Any]]:
    """One row per model of `backend`, from its spec (or `models`, as its vendor listed them): what it makes, can
    do and accepts (every listed value)."""
    spec = service.selector.specs.get(backend)
    if spec is None:
        known = ", ".join(service.selector.specs) or "none"
        raise InvalidRequest(f"no backend named {backend!r}; installed: {known}", field="backend")
    rows = []
    for model in spec.models if models is None else models:
        rows.append(
            {
                "model": model.name,
                "media": model.media_type.value,
                "default": spec.default_models.get(model.media_type) == model.name,
                "capabilities": ", ".join(sorted(cap.value for cap in model.capabilities)),
                "accepts": model.constraints.summary(),
                "about": model.description,
                "retired_on": model.retired_on.isoformat() if model.retired_on is not None else None,
            }
        )
    return rows


def explain_choice(service: MediaService, media_type: MediaType) -> list[dict[str, Any]]:
    """Every backend in priority order for a plain request of `media_type`, and why it is (not) chosen."""
    probe = MediaRequest(media_type=media_type, prompt="probe")
    rows = []
    chosen_yet = False
    for position, verdict in enumerate(service.explain(probe), start=1):
        chosen = verdict.usable and not chosen_yet
        reason = verdict.reason
        if verdict.usable and chosen_yet:
            reason += "; used if an earlier one fails"
        chosen_yet = chosen_yet or verdict.usable
        rows.append(
            {
                "order": position,
                "backend": verdict.backend,
                "chosen": chosen,
                "usable": verdict.usable,
                "model": verdict.model,
                "reason": reason,
            }
        )
    return rows
