"""XAIGenerator: routes a request to Grok Imagine images or video; one AsyncClient shared by every call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

from mediagen.adapters.calls import model_for
from mediagen.adapters.xai.client import XAIClients, XAISettings
from mediagen.adapters.xai.image import generate_image, generate_images
from mediagen.adapters.xai.mapping import map_image, map_video
from mediagen.adapters.xai.spec import SPEC
from mediagen.adapters.xai.video import VideoRunner
from mediagen.application.deadline import Deadline
from mediagen.domain.backend import BackendSpec
from mediagen.domain.errors import InvalidRequest, MediaGenError
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.continuation import VENDOR_ID_KIND
from mediagen.ports.generator import BackendOptions, GeneratedMedia, GenerationContext


class XAIGenerator:
    """One generator for every xAI model. Building it loads no SDK: the client is built on the first call."""

    def __init__(
        self,
        options: BackendOptions,
        *,
        spec: BackendSpec = SPEC,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._spec = spec
        self._settings = XAISettings.from_options(options)
        self._clients = XAIClients(self._settings)
        self._clock = clock
        self._video = VideoRunner(self._clients, self._settings, sleep=sleep)

    @property
    def spec(self) -> BackendSpec:
        return self._spec

    @property
    def settings(self) -> XAISettings:
        return self._settings

    @property
    def clients(self) -> XAIClients:
        return self._clients

    async def prepare(self, credentials: Secret) -> None:
        """Import xai-sdk and build its AsyncClient for this key off the event loop (the registry calls this before
        the first call with the key, and `MediaService.warm_up` does), so no call waits for them."""
        await self._clients.get(credentials)

    async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
        deadline = Deadline.start(self._clock, ctx.timeout)
        model = model_for(self._spec, request, ctx.model)
        state = ctx.continuation
        if request.media_type is MediaType.IMAGE:
            if state is not None and state.kind == VENDOR_ID_KIND:
                raise InvalidRequest(
                    "this continuation is an xAI video; continue it with a video request", field="continue_from"
                )
            return await generate_image(
                self._clients, map_image(request, ctx.model, model, strict=ctx.strict), ctx, deadline
            )
        if request.media_type is MediaType.VIDEO:
            if state is not None and state.kind != VENDOR_ID_KIND:
                raise InvalidRequest(
                    f"this continuation is a {state.kind!r}, not an xAI video; continue it with a request of its kind",
                    field="continue_from",
                )
            plan = map_video(request, ctx.model, model, extension=state is not None, strict=ctx.strict)
            return await self._video.run(plan, ctx, deadline)
        raise InvalidRequest("xAI makes images and video, not audio; choose another backend", field="media_type")

    async def generate_images(
        self, request: MediaRequest, ctx: GenerationContext
    ) -> Sequence[GeneratedMedia | MediaGenError]:
        """`request.n` images from one GenerateImage call (`sample_batch`), each with its own continuation."""
        if request.n == 1 or request.media_type is not MediaType.IMAGE:
            return [await self.generate(request, ctx)]
        deadline = Deadline.start(self._clock, ctx.timeout)
        model = model_for(self._spec, request, ctx.model)
        if ctx.continuation is not None and ctx.continuation.kind == VENDOR_ID_KIND:
            raise InvalidRequest(
                "this continuation is an xAI video; continue it with a video request", field="continue_from"
            )
        return await generate_images(
            self._clients, map_image(request, ctx.model, model, strict=ctx.strict), ctx, deadline
        )

    async def aclose(self) -> None:
        await self._clients.aclose()
