"""`/xai_api.Image/GenerateImage`: generation and edits (one input in `image`, several in `images`), answered as data
URIs (`data:image/jpeg;base64,...`, which the SDK splits at "base64,") or as loopback URLs that expire."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from typing import TYPE_CHECKING

import grpc
from aiohttp import web
from xai_sdk.proto import image_pb2

from mediagen.sandbox import media
from mediagen.sandbox.rpc import RpcCall, RpcError
from mediagen.sandbox.vendor import ApiError, stream_bytes
from mediagen.sandbox.xai import catalog
from mediagen.sandbox.xai.state import ReceivedCall, StoredImage
from mediagen.sandbox.xai.wire import check_message, enum_name, invalid

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from mediagen.sandbox.xai.fake import XaiFake

IMAGE_PATH = "/xai-imgen"
_CONTENT_TYPE = media.IMAGE_CONTENT_TYPES[catalog.IMAGE_FORMAT]
#: Prompt markers: the whole request refused by moderation (no images), or every image withheld by it.
BLOCK_PROMPT = "sandbox:block-prompt"
BLOCK_OUTPUT = "sandbox:block-output"
#: The service's words when a moderation refusal comes back as a status (the `content_policy;form=status` fault).
REJECTED_IMAGE = "Generated image rejected by content moderation."


class ImageService:
    """The Image service of the xAI fake, and the loopback URLs its URL-format answers point at."""

    def __init__(self, fake: XaiFake) -> None:
        self.fake = fake

    async def generate(self, request: image_pb2.GenerateImageRequest, call: RpcCall) -> image_pb2.ImageResponse:
        self.fake.state.calls.append(_received("GenerateImage", request))
        check_message(request)
        if not request.prompt.strip():
            raise invalid("prompt", "must not be empty")
        model = self.fake.check_model(request.model, catalog.IMAGE_MODELS, "an image")
        count = request.n if request.HasField("n") else 1
        if not 1 <= count <= catalog.MAX_IMAGES:
            raise invalid("n", f"must be between 1 and {catalog.MAX_IMAGES}, got {count}")
        # format has no presence: 0 (IMG_FORMAT_INVALID) is "not set", and the SDK's default is a URL.
        as_url = request.format != image_pb2.IMG_FORMAT_BASE64
        for field, prefix in (
            ("quality", "IMG_QUALITY_"),
            ("aspect_ratio", "IMG_ASPECT_RATIO_"),
            ("resolution", "IMG_RESOLUTION_"),
        ):
            if enum_name(request, field, prefix) == "INVALID":
                raise invalid(field, f"{prefix}INVALID is not a value to send; leave {field} unset for the default")
        if request.HasField("image") and len(request.images):
            raise invalid("images", "set either image (one input) or images (several), not both")
        if request.HasField("image"):
            inputs = [("image", request.image)]
        else:
            inputs = [(f"images[{index}]", item) for index, item in enumerate(request.images)]
        sources = [await self.fake.input_image(item, field) for field, item in inputs]
        size = await self._size(request, sources)
        moderation = self._moderation(request.prompt, call)
        response = image_pb2.ImageResponse(model=model)
        if moderation == "empty":
            return response  # the whole request refused: the service answers with no images at all
        storage_error = _NO_FILES if request.HasField("storage_options") else None
        for index in range(count):
            if moderation == "flagged":
                response.images.add(respect_moderation=False)
                continue
            data = await asyncio.to_thread(self._draw, sources, size, request.prompt, index)
            image = response.images.add(respect_moderation=True)
            if as_url:
                image.url = self._publish(data, size)
            else:
                image.base64 = f"data:{_CONTENT_TYPE};base64,{base64.b64encode(data).decode()}"
            if storage_error is not None:
                image.storage_error = storage_error
        return response

    async def _size(self, request: image_pb2.GenerateImageRequest, sources: list[bytes]) -> tuple[int, int]:
        ratio = enum_name(request, "aspect_ratio", "IMG_ASPECT_RATIO_")
        resolution = enum_name(request, "resolution", "IMG_RESOLUTION_") or catalog.DEFAULT_IMAGE_RESOLUTION
        if ratio is None or ratio == "AUTO":
            if sources:
                width, height = await asyncio.to_thread(media.image_size, sources[0])
                ratio = catalog.nearest_ratio(width, height, catalog.IMAGE_RATIOS)
            else:
                ratio = "1_1"
        return catalog.image_size(catalog.IMAGE_RATIOS[ratio], resolution)

    def _moderation(self, prompt: str, call: RpcCall) -> str | None:
        """How moderation answers: None (it passes), "empty" (no images) or "flagged" (images withheld); the fault's
        status form is an INVALID_ARGUMENT."""
        fault = call.fault
        if fault is not None and fault.name == "content_policy":
            form = fault.text("form", "flagged")
            if form == "status":
                raise RpcError(grpc.StatusCode.INVALID_ARGUMENT, fault.text("message", REJECTED_IMAGE))
            return "empty" if form == "empty" else "flagged"
        if BLOCK_PROMPT in prompt:
            return "empty"
        if BLOCK_OUTPUT in prompt:
            return "flagged"
        return None

    @staticmethod
    def _draw(sources: list[bytes], size: tuple[int, int], prompt: str, index: int) -> bytes:
        if sources:
            return media.derive(sources, *size, catalog.IMAGE_FORMAT, prompt=f"{prompt}\0{index}")
        return media.image(*size, catalog.IMAGE_FORMAT, prompt=prompt, seed=index)

    def _publish(self, data: bytes, size: tuple[int, int]) -> str:
        image_id = f"xai-tmp-imgen-{uuid.uuid4()}"
        expires_at = time.time() + self.fake.context.settings.media_url_ttl_seconds
        self.fake.state.keep_image(StoredImage(image_id, _CONTENT_TYPE, expires_at, *size, data=data))
        return f"{self.fake.origin}{IMAGE_PATH}/{image_id}.{catalog.IMAGE_FORMAT}"

    def stored(self, path: str) -> StoredImage | None:
        """The image a URL path of this fake names, whether or not its URL still works."""
        name = path.removeprefix(f"{IMAGE_PATH}/")
        if name == path or not name.endswith(f".{catalog.IMAGE_FORMAT}"):
            return None
        return self.fake.state.image(name.removesuffix(f".{catalog.IMAGE_FORMAT}"))

    async def download(self, request: web.Request) -> web.StreamResponse:
        image = self.stored(request.path)
        if image is None:
            raise ApiError(404, "The specified key does not exist.", code="NoSuchKey")
        if time.time() > image.expires_at:
            raise ApiError(403, "Request has expired.", code="AccessDenied")

        async def body() -> AsyncIterator[bytes]:
            yield image.data

        return await stream_bytes(request, body(), content_type=image.content_type, length=len(image.data))


_NO_FILES = "The sandbox has no Files API: the image was not stored (storage_options is not served here)."


def _received(method: str, request: image_pb2.GenerateImageRequest) -> ReceivedCall:
    copy = image_pb2.GenerateImageRequest()
    copy.CopyFrom(request)
    return ReceivedCall(method, copy)
