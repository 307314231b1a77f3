"""OpenAIGenerator: routes a request to the Responses image tool, the Images API, Sora or speech."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from openai.types import ImagesResponse, Video
from openai.types.images_response import Usage as ImagesUsage
from openai.types.responses import Response, ResponseUsage

from mediagen.adapters.calls import model_for
from mediagen.adapters.openai.audio import generate_speech
from mediagen.adapters.openai.client import OpenAIClients, OpenAISettings
from mediagen.adapters.openai.image import (
    generate_with_images_api,
    generate_with_responses,
    images_api_call,
    parse_sample_response,
)
from mediagen.adapters.openai.mapping import map_images_api, map_responses_image, map_speech, map_video
from mediagen.adapters.openai.spec import SPEC, Api, api_for
from mediagen.adapters.openai.video import SoraRunner
from mediagen.adapters.sdk_models import built, once_off_loop
from mediagen.application.deadline import Deadline
from mediagen.domain.backend import BackendSpec
from mediagen.domain.errors import InvalidRequest, MediaGenError
from mediagen.domain.media import MediaType
from mediagen.domain.request import InputImage, MediaRequest, Size
from mediagen.domain.secret import Secret
from mediagen.ports.continuation import VENDOR_ID_KIND
from mediagen.ports.generator import BackendOptions, GeneratedMedia, GenerationContext

#: The SDK models each API's call builds or parses, built off the event loop before its first call (sdk_models.py).
_SDK_MODELS: dict[Api, tuple[type[Any], ...]] = {
    Api.RESPONSES: (Response, ResponseUsage),
    Api.IMAGES: (ImagesResponse, ImagesUsage),
    Api.VIDEOS: (Video,),
    Api.SPEECH: (),
}

#: Id prefixes OpenAI gives responses and videos, to refuse continuing one as the other before any call.
_FOREIGN_PREFIX = {Api.RESPONSES: ("video_", "a Sora video"), Api.VIDEOS: ("resp_", "an image conversation")}


class OpenAIGenerator:
    """One generator for every OpenAI model; one AsyncOpenAI, built on first use and shared by all calls."""

    def __init__(
        self,
        options: BackendOptions,
        *,
        spec: BackendSpec = SPEC,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._spec = spec
        self._settings = OpenAISettings.from_options(options)
        self._clients = OpenAIClients(self._settings)
        self._clock = clock
        self._sora = SoraRunner(self._clients, self._settings, sleep=sleep)

    @property
    def spec(self) -> BackendSpec:
        return self._spec

    @property
    def settings(self) -> OpenAISettings:
        return self._settings

    @property
    def clients(self) -> OpenAIClients:
        return self._clients

    async def prepare(self, credentials: Secret) -> None:
        """Build the AsyncOpenAI for this key off the event loop (the registry calls this before the first call)."""
        await self._clients.prepare(credentials)

    async def warm_up(self, credentials: Secret | None) -> None:
        """For MediaService.warm_up: every API's SDK module, SDK models and a sample answer, off the event loop."""
        if credentials is not None:
            await self._clients.prepare(credentials, *Api)
        await built(*(model for models in _SDK_MODELS.values() for model in models))
        await once_off_loop(parse_sample_response)

    async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
        deadline = Deadline.start(self._clock, ctx.timeout)
        model = model_for(self._spec, request, ctx.model)
        api = api_for(request.media_type, ctx.model)
        await self._clients.prepare(ctx.credentials, api)
        await built(*_SDK_MODELS[api])
        if api is Api.RESPONSES:
            await once_off_loop(parse_sample_response)
        vendor_id = self._continued(ctx, api)
        if api is Api.RESPONSES:
            plan = map_responses_image(request, ctx.model, model, previous_response_id=vendor_id, strict=ctx.strict)
            return await generate_with_responses(self._clients, plan, ctx, deadline)
        if api is Api.VIDEOS:
            input_size: Size | None = None
            if request.input_images and vendor_id is None and ctx.resume_job_id is None:
                input_size = await asyncio.to_thread(_upright_size, request.input_images[0])
            video_plan = map_video(
                request, ctx.model, model, remix_of=vendor_id, input_size=input_size, strict=ctx.strict
            )
            return await self._sora.run(video_plan, ctx, deadline)
        if vendor_id is not None:
            raise InvalidRequest(f"{ctx.model} cannot continue an earlier generation", field="continue_from")
        if api is Api.IMAGES:
            images_plan = map_images_api(request, ctx.model, model, strict=ctx.strict)
            return await generate_with_images_api(self._clients, images_plan, ctx, deadline)
        speech_plan = map_speech(request, ctx.model, model, strict=ctx.strict)
        return await generate_speech(self._clients, speech_plan, ctx, deadline)

    async def generate_images(
        self, request: MediaRequest, ctx: GenerationContext
    ) -> Sequence[GeneratedMedia | MediaGenError]:
        """`request.n` images from one Images API call (its `n`); the Responses image tool makes one per turn."""
        if request.n == 1:
            return [await self.generate(request, ctx)]
        deadline = Deadline.start(self._clock, ctx.timeout)
        await self._clients.prepare(ctx.credentials)
        model = self._spec.model(ctx.model)
        if request.media_type is not MediaType.IMAGE or api_for(request.media_type, ctx.model) is not Api.IMAGES:
            raise InvalidRequest(f"{ctx.model} makes one result per call; ask for one", field="n")
        await built(*_SDK_MODELS[Api.IMAGES])
        if ctx.continuation is not None:
            raise InvalidRequest(f"{ctx.model} cannot continue an earlier generation", field="continue_from")
        plan = map_images_api(request, ctx.model, model, strict=ctx.strict)
        return await images_api_call(self._clients, plan, ctx, deadline)

    async def cancel(self, job_id: str, ctx: GenerationContext) -> None:
        """Cancel a Sora job this backend started: the video is deleted at OpenAI."""
        await self._sora.cancel(job_id, ctx, Deadline.start(self._clock, ctx.timeout))

    @staticmethod
    def _continued(ctx: GenerationContext, api: Api) -> str | None:
        """The OpenAI id a continuation names (a response to build on, a video to remix), checked for its kind."""
        state = ctx.continuation
        if state is None:
            return None
        vendor_id = state.data.get("vendor_id") if state.kind == VENDOR_ID_KIND else None
        if not isinstance(vendor_id, str) or not vendor_id.strip():
            raise InvalidRequest(
                f"this continuation ({state.kind!r}) was not made by OpenAI; continue it with the backend that made it",
                field="continue_from",
            )
        foreign = _FOREIGN_PREFIX.get(api)
        if foreign is not None and vendor_id.startswith(foreign[0]):
            raise InvalidRequest(
                f"openai:{vendor_id} is {foreign[1]}; continue it with a request of that kind", field="continue_from"
            )
        return vendor_id.strip()

    async def aclose(self) -> None:
        await self._clients.aclose()


def _upright_size(image: InputImage) -> Size:
    """`pictures.upright_size`, imported here, in the worker thread: Pillow loads only for a request with an image."""
    from mediagen.adapters.pictures import upright_size

    return upright_size(image)
