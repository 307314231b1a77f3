"""GoogleGenerator: routes a request to Gemini images, Imagen, Veo or Gemini speech by model and media type."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from google.genai import types

from mediagen.adapters.google.client import GoogleClients, GoogleSettings
from mediagen.adapters.google.image import edit_imagen, generate_gemini_image, generate_imagen
from mediagen.adapters.google.mapping import (
    Family,
    family_of,
    map_gemini_image,
    map_imagen_edit,
    map_imagen_generate,
    map_speech,
    map_veo,
)
from mediagen.adapters.google.modes import Mode
from mediagen.adapters.google.speech import generate_speech
from mediagen.adapters.google.video import VeoRunner
from mediagen.adapters.sdk_models import built
from mediagen.application.deadline import Deadline
from mediagen.domain.backend import BackendSpec
from mediagen.domain.errors import InvalidRequest, MediaGenError
from mediagen.domain.request import InputImage, MediaRequest, Size
from mediagen.domain.secret import Secret
from mediagen.ports.generator import BackendOptions, GeneratedMedia, GenerationContext

_GEMINI = (
    types.GenerateContentConfig,
    types.GenerateContentResponse,
    types.GenerateContentResponseUsageMetadata,
    types.Candidate,
    types.Content,
    types.UserContent,
    types.Part,
    types.Blob,
    types.File,
    types.HttpResponse,
    types.AutomaticFunctionCallingConfig,
    getattr(types, "_GenerateContentParameters", None),  # the SDK's own request model (private)
)
#: The SDK models each family's calls build or parse, built off the event loop before its first call (sdk_models.py).
_SDK_MODELS: dict[Family, tuple[type[Any] | None, ...]] = {
    Family.GEMINI_IMAGE: _GEMINI,
    Family.GEMINI_TTS: (*_GEMINI, types.SpeechConfig, types.VoiceConfig, types.PrebuiltVoiceConfig),
    Family.IMAGEN_GENERATE: (
        types.GenerateImagesConfig,
        types.GenerateImagesResponse,
        types.GeneratedImage,
        types.Image,
        types.SafetyAttributes,
        types.HttpResponse,
        getattr(types, "_GenerateImagesParameters", None),
    ),
    Family.IMAGEN_EDIT: (
        types.EditImageConfig,
        types.EditImageResponse,
        types.RawReferenceImage,
        types.MaskReferenceImage,
        types.MaskReferenceConfig,
        types.GeneratedImage,
        types.Image,
        types.SafetyAttributes,
        types.HttpResponse,
        getattr(types, "_EditImageParameters", None),
    ),
    Family.VEO: (
        types.GenerateVideosConfig,
        types.GenerateVideosSource,
        types.GenerateVideosOperation,
        types.GenerateVideosResponse,
        types.GeneratedVideo,
        types.Video,
        types.Image,
        types.VideoGenerationReferenceImage,
        types.FetchPredictOperationConfig,
        types.HttpResponse,
        getattr(types, "_GenerateVideosParameters", None),
        getattr(types, "_FetchPredictOperationParameters", None),
    ),
}


class GoogleGenerator:
    """One generator for every Google model; clients are built on first use and shared by all calls."""

    def __init__(
        self,
        spec: BackendSpec,
        options: BackendOptions,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._spec = spec
        self._settings = GoogleSettings.from_options(options)
        self._clients = GoogleClients(self._settings)
        self._clock = clock
        self._veo = VeoRunner(self._clients, self._settings, sleep=sleep)

    @property
    def spec(self) -> BackendSpec:
        return self._spec

    @property
    def settings(self) -> GoogleSettings:
        return self._settings

    async def prepare(self, credentials: Secret) -> None:
        """Build the Gemini API client for this key off the event loop (Gemini images and speech use it; the Vertex
        client for Imagen and Veo is built, off the loop too, by the first call that needs it)."""
        await self._clients.prepare(Mode.GEMINI, credentials)

    async def warm_up(self, credentials: Secret | None) -> None:
        """For MediaService.warm_up: the SDK models of every call and the Vertex client (Imagen, Veo), built off
        the event loop."""
        await built(*(model for models in _SDK_MODELS.values() for model in models))
        if credentials is not None:
            await self._clients.prepare(Mode.VERTEX, credentials)

    async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
        deadline = Deadline.start(self._clock, ctx.timeout)
        model = self._spec.model(ctx.model)
        family = family_of(request, ctx.model)
        await built(*_SDK_MODELS[family])
        if family is Family.GEMINI_IMAGE:
            image_plan = map_gemini_image(request, ctx.model, model, strict=ctx.strict)
            return await generate_gemini_image(self._clients, self._settings, image_plan, ctx, deadline)
        if ctx.continuation is not None and family is not Family.VEO:
            raise InvalidRequest(f"{ctx.model} cannot continue an earlier generation", field="continue_from")
        if family in (Family.IMAGEN_GENERATE, Family.IMAGEN_EDIT):
            made = await self._imagen(family, request, ctx, deadline)
            first = made[0]
            if isinstance(first, MediaGenError):  # pragma: no cover - a call of one image raises instead
                raise first
            return first
        if family is Family.GEMINI_TTS:
            return await generate_speech(
                self._clients, map_speech(request, ctx.model, model, strict=ctx.strict), ctx, deadline
            )
        plan = map_veo(
            request,
            ctx.model,
            model,
            extension=ctx.continuation is not None,
            last_frame=await self._last_frame(request, resuming=ctx.resume_job_id is not None),
            first_frame_size=await self._first_frame_size(request),
            strict=ctx.strict,
        )
        return await self._veo.run(plan, ctx, deadline)

    async def generate_images(
        self, request: MediaRequest, ctx: GenerationContext
    ) -> Sequence[GeneratedMedia | MediaGenError]:
        """`request.n` images from one Imagen call (its sampleCount); the Gemini image models make one per call."""
        if request.n == 1:
            return [await self.generate(request, ctx)]
        family = family_of(request, ctx.model)
        if family not in (Family.IMAGEN_GENERATE, Family.IMAGEN_EDIT):
            raise InvalidRequest(f"{ctx.model} makes one image per call, not {request.n}", field="n")
        if ctx.continuation is not None:
            raise InvalidRequest(f"{ctx.model} cannot continue an earlier generation", field="continue_from")
        await built(*_SDK_MODELS[family])
        return await self._imagen(family, request, ctx, Deadline.start(self._clock, ctx.timeout))

    async def _imagen(
        self, family: Family, request: MediaRequest, ctx: GenerationContext, deadline: Deadline
    ) -> list[GeneratedMedia | MediaGenError]:
        model = self._spec.model(ctx.model)
        if family is Family.IMAGEN_GENERATE:
            return await generate_imagen(
                self._clients, map_imagen_generate(request, ctx.model, model, strict=ctx.strict), ctx, deadline
            )
        return await edit_imagen(
            self._clients, map_imagen_edit(request, ctx.model, model, strict=ctx.strict), ctx, deadline
        )

    @staticmethod
    async def _first_frame_size(request: MediaRequest) -> tuple[int, int] | None:
        """The upright size of a single starting image, which sets the video's orientation when none is asked."""
        if len(request.input_images) != 1 or request.aspect_ratio is not None or request.size is not None:
            return None
        size = await asyncio.to_thread(_upright_size, request.input_images[0])
        return size.width, size.height

    @staticmethod
    async def _last_frame(request: MediaRequest, *, resuming: bool) -> InputImage | None:
        """`extra.last_frame` as a checked image; when resuming, the job was submitted already, so it is not read."""
        value = request.extra.get("last_frame")
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise InvalidRequest("must be the path of an image file", field="extra.last_frame")
        if resuming:
            return InputImage(value, "image/png")
        return await asyncio.to_thread(InputImage.from_path, value, field="extra.last_frame")

    async def aclose(self) -> None:
        await self._clients.aclose()


def _upright_size(image: InputImage) -> Size:
    """`pictures.upright_size`, imported here, in the worker thread: Pillow loads only for a request with an image."""
    from mediagen.adapters.pictures import upright_size

    return upright_size(image)
