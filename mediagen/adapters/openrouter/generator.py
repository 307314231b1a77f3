"""OpenRouterGenerator: images through OpenRouter's chat completions, and its live list of image models."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from mediagen.adapters.openrouter.client import OpenRouterClients, OpenRouterSettings, vendor_call
from mediagen.adapters.openrouter.image import INLINE_DECODE_CHARS, generate_image
from mediagen.adapters.openrouter.mapping import (
    Conversation,
    conversation_from_state,
    listed_image_models,
    map_image,
)
from mediagen.adapters.openrouter.spec import SPEC
from mediagen.application.deadline import Deadline
from mediagen.domain.backend import BackendSpec, ModelSpec
from mediagen.domain.errors import InvalidRequest
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.continuation import ContinuationState
from mediagen.ports.generator import BackendOptions, GeneratedMedia, GenerationContext


class OpenRouterGenerator:
    """Images from any image-output model on OpenRouter; one AsyncOpenAI, built on first use off the loop."""

    def __init__(
        self, options: BackendOptions, *, spec: BackendSpec = SPEC, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._spec = spec
        self._settings = OpenRouterSettings.from_options(options)
        self._clients = OpenRouterClients(self._settings)
        self._clock = clock

    @property
    def spec(self) -> BackendSpec:
        return self._spec

    @property
    def settings(self) -> OpenRouterSettings:
        return self._settings

    @property
    def clients(self) -> OpenRouterClients:
        return self._clients

    async def prepare(self, credentials: Secret) -> None:
        """Build the AsyncOpenAI for this key off the event loop (the registry calls this before the first call)."""
        await self._clients.get(credentials)

    async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
        deadline = Deadline.start(self._clock, ctx.timeout)
        if request.media_type is not MediaType.IMAGE:
            raise InvalidRequest(
                f"OpenRouter makes images here, not {request.media_type.value}; use another backend",
                field="media_type",
            )
        model = self._spec.model(ctx.model)
        previous = await _conversation(ctx.continuation) if ctx.continuation is not None else None
        plan = map_image(request, ctx.model, model, strict=ctx.strict)
        return await generate_image(self._clients, self._settings, plan, previous, ctx, deadline)

    async def list_models(self, credentials: Secret, *, timeout: float) -> Sequence[ModelSpec]:
        """OpenRouter's GET /models, narrowed to the models whose output modalities include image."""
        deadline = Deadline.start(self._clock, timeout)
        client = await self._clients.get(credentials)

        async def fetch() -> list[dict[str, Any]]:
            page = await client.models.list()
            return [model.model_dump(mode="json") for model in page.data]

        return listed_image_models(await vendor_call(fetch(), deadline=deadline, secret=credentials))

    async def aclose(self) -> None:
        await self._clients.aclose()


async def _conversation(state: ContinuationState) -> Conversation:
    """The saved conversation; rebuilding the data URL of a large image (~1 ms per MiB) happens off the loop."""
    if state.blob is not None and len(state.blob) > INLINE_DECODE_CHARS * 3 // 4:
        return await asyncio.to_thread(conversation_from_state, state)
    return conversation_from_state(state)
