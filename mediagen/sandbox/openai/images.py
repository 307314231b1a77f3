"""POST /v1/images/generations (JSON) and /v1/images/edits (multipart), validated like the real API."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
from aiohttp import web
from PIL import UnidentifiedImageError

from mediagen.domain.sniff import sniff
from mediagen.sandbox import media
from mediagen.sandbox.openai import catalog
from mediagen.sandbox.openai.state import GeneratedImage, ReceivedRequest
from mediagen.sandbox.openai.wire import Params, bad_value, form_body, invalid_value, json_body, missing
from mediagen.sandbox.vendor import ApiError, Upload

if TYPE_CHECKING:
    from mediagen.sandbox.openai.fake import OpenAIFake

_COMMON = (
    "prompt",
    "model",
    "n",
    "size",
    "quality",
    "background",
    "output_format",
    "output_compression",
    "response_format",
    "stream",
    "partial_images",
    "style",
    "user",
    "safety_identifier",
    "svg",
    "complexity",
    "frame_count",
    "frame_duration_ms",
)
GENERATE_PARAMS = (*_COMMON, "moderation")
# `style` is a dall-e-3 generation parameter: neither OpenAI's document nor the SDK names it for edits.
EDIT_PARAMS = (*(p for p in _COMMON if p != "style"), "input_fidelity", "image", "image[]", "mask", "markup")
IMAGE_MIME_TYPES = ("image/png", "image/jpeg", "image/webp")


@attrs.frozen
class ImageOptions:
    """Validated image parameters shared by the Images API and the Responses image tool."""

    model: str
    size: str
    quality: str
    output_format: str
    background: str
    compression: int | None

    def pixel_size(self, like: tuple[int, int] | None = None) -> tuple[int, int]:
        """The output size: as asked, or for "auto" the standard size nearest `like`'s shape (else square)."""
        if self.size == "auto":
            size = catalog.nearest_standard_size(*like) if like is not None else "1024x1024"
        else:
            size = self.size
        width, height = map(int, size.split("x"))
        return width, height

    @property
    def reported_quality(self) -> str:
        return "medium" if self.quality == "auto" else self.quality

    @property
    def reported_background(self) -> str:
        return "opaque" if self.background == "auto" else self.background


def image_model(name: str, param: str = "model") -> catalog.ImageModel:
    if name in catalog.RETIRED_IMAGE_MODELS:
        raise bad_value(
            param,
            f"The model '{name}' was retired on {catalog.RETIRED_IMAGE_MODELS[name]}. Use a GPT image model "
            f"such as {catalog.DEFAULT_IMAGE_MODEL}.",
        )
    try:
        return catalog.IMAGE_MODELS[name]
    except KeyError:
        raise invalid_value(param, name, tuple(catalog.IMAGE_MODELS)) from None


def image_options(params: Params, model: catalog.ImageModel) -> ImageOptions:
    """Validate size, quality, format, background and compression for `model`; raise the API's 400."""
    output_format = params.choice(
        "output_format", (*catalog.IMAGE_OUTPUT_FORMATS, *catalog.PREVIEW_OUTPUT_FORMATS), "png"
    )
    assert output_format is not None
    if output_format in catalog.PREVIEW_OUTPUT_FORMATS:
        raise bad_value(
            params.label("output_format"),
            f"output_format '{output_format}' requires access to the {output_format.upper()} preview for "
            f"'{model.name}', which this organization does not have.",
        )
    for gif_only in ("frame_count", "frame_duration_ms"):
        if params.given(gif_only):
            raise bad_value(params.label(gif_only), f"'{gif_only}' is only supported with output_format=gif.")
    if params.given("svg"):
        raise bad_value(params.label("svg"), "'svg' is only supported with output_format=svg.")
    background = params.choice("background", catalog.BACKGROUNDS, "auto")
    assert background is not None
    if background == "transparent" and output_format == "jpeg":
        raise bad_value(
            params.label("background"),
            "Transparent backgrounds are not supported for output_format 'jpeg'; use 'png' or 'webp'.",
        )
    compression = params.integer("output_compression", minimum=0, maximum=100)
    if compression is not None and output_format == "png":
        raise bad_value(
            params.label("output_compression"),
            "output_compression is only supported for the 'jpeg' and 'webp' output formats.",
        )
    quality = params.choice("quality", model.qualities, "auto")
    assert quality is not None
    params.choice("complexity", ("low", "medium", "high"))
    return ImageOptions(model.name, _size(params, model), quality, output_format, background, compression)


def _size(params: Params, model: catalog.ImageModel) -> str:
    size = params.string("size")
    if size is None or size == "auto":
        return "auto"
    if model.flexible_sizes:
        parsed = catalog.parse_size(size)
        problem = "use WIDTHxHEIGHT" if parsed is None else catalog.flexible_size_problem(*parsed)
        if problem is not None:
            raise bad_value(params.label("size"), f"Invalid size '{size}' for model '{model.name}': {problem}.")
        return size
    if size not in catalog.STANDARD_IMAGE_SIZES:
        raise invalid_value(params.label("size"), size, ("auto", *catalog.STANDARD_IMAGE_SIZES))
    return size


def _reject_legacy(params: Params) -> None:
    for legacy in ("response_format", "style"):
        if params.given(legacy):
            raise ApiError(400, f"Unknown parameter: '{legacy}'.", param=legacy, code="unknown_parameter")


def usage(prompt: str, images: Sequence[tuple[int, int]], quality: str, input_images: int = 0) -> dict[str, Any]:
    """Token usage in the Images API shape (GPT image models)."""
    text = catalog.text_tokens(prompt)
    image_in = sum(catalog.image_tokens(1024, 1024, "low") for _ in range(input_images))
    out = sum(catalog.image_tokens(w, h, quality) for w, h in images)
    return {
        "input_tokens": text + image_in,
        "input_tokens_details": {"image_tokens": image_in, "text_tokens": text},
        "output_tokens": out,
        "output_tokens_details": {"image_tokens": out, "text_tokens": 0},
        "total_tokens": text + image_in + out,
    }


def decode_image(upload: Upload, param: str) -> tuple[int, int]:
    """Check an uploaded image is PNG/JPEG/WebP and decodes; its pixel size."""
    mime = sniff(upload.data[:64])
    if mime not in IMAGE_MIME_TYPES:
        shown = mime or upload.content_type or "application/octet-stream"
        raise ApiError(
            400,
            f"Invalid file '{param}': unsupported mimetype ('{shown}'). Supported file formats are 'image/jpeg', "
            "'image/png', and 'image/webp'.",
            param=param,
            code="unsupported_file_format",
        )
    try:
        return media.image_size(upload.data)
    except (UnidentifiedImageError, OSError):
        raise ApiError(400, f"Invalid file '{param}': the image could not be decoded.", param=param) from None


class ImagesEndpoints:
    """The Images API of the OpenAI fake."""

    def __init__(self, fake: OpenAIFake) -> None:
        self.fake = fake

    async def generate(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        self.fake.state.requests.append(ReceivedRequest(request.method, request.path, body))
        params = Params(body)
        params.reject_unknown(GENERATE_PARAMS)
        prompt = params.string("prompt", required=True, max_length=catalog.MAX_PROMPT_CHARS)
        assert prompt is not None
        model = image_model(params.string("model") or catalog.DEFAULT_IMAGE_MODEL)
        _reject_legacy(params)
        options = image_options(params, model)
        n = params.integer("n", minimum=1, maximum=10)
        params.choice("moderation", catalog.MODERATION_LEVELS)
        stream = params.boolean("stream", False)
        partial_images = params.integer("partial_images", minimum=0, maximum=3)
        width, height = options.pixel_size()
        count = 1 if n is None else n
        images = await asyncio.gather(
            *(
                asyncio.to_thread(
                    media.image,
                    width,
                    height,
                    options.output_format,
                    prompt=prompt,
                    seed=i,
                    transparent=options.background == "transparent",
                    compression=options.compression,
                )
                for i in range(count)
            )
        )
        generated = [GeneratedImage(data, width, height, options.output_format) for data in images]
        self.fake.state.images.extend(generated)
        used = usage(prompt, [(width, height)] * count, options.reported_quality)
        if stream:
            return await self._stream("image_generation", request, generated, options, used, partial_images or 0)
        return web.json_response(self._body(generated, options, used))

    async def edit(self, request: web.Request) -> web.StreamResponse:
        form = await form_body(request)
        uploads = tuple(f for files in form.files.values() for f in files)
        self.fake.state.requests.append(ReceivedRequest(request.method, request.path, form.scalars(), uploads))
        for name in form.files:
            if name not in EDIT_PARAMS:
                raise ApiError(400, f"Unknown parameter: '{name}'.", param=name, code="unknown_parameter")
        params = Params(form.scalars(), textual=True)
        params.reject_unknown(EDIT_PARAMS)
        for file_field in ("image", "image[]", "mask", "markup"):
            if params.given(file_field):
                raise bad_value(file_field, f"Expected a file for '{file_field}', got text.", "invalid_type")
        images = [*form.files.get("image", []), *form.files.get("image[]", [])]
        if not images:
            raise missing("image")
        if len(images) > catalog.MAX_EDIT_IMAGES:
            raise bad_value("image", f"Too many images: at most {catalog.MAX_EDIT_IMAGES} can be edited together.")
        prompt = params.string("prompt", required=True, max_length=catalog.MAX_PROMPT_CHARS)
        assert prompt is not None
        model = image_model(params.string("model") or catalog.DEFAULT_IMAGE_MODEL)
        _reject_legacy(params)
        options = image_options(params, model)
        n = params.integer("n", minimum=1, maximum=10)
        params.choice("input_fidelity", catalog.INPUT_FIDELITIES)
        stream = params.boolean("stream", False)
        partial_images = params.integer("partial_images", minimum=0, maximum=3)
        sizes = []
        for upload in images:
            if len(upload.data) > catalog.MAX_IMAGE_BYTES:
                raise bad_value("image", "Each image must be smaller than 50 MB.")
            sizes.append(decode_image(upload, "image"))
        mask = self._mask(form.files.get("mask", []), sizes[0])
        markup = form.files.get("markup", [])
        if markup and mask is not None:
            raise bad_value("markup", "'markup' cannot be combined with 'mask'.")
        if markup and not model.name.startswith("gpt-image-2.5"):
            raise bad_value("markup", f"'markup' is not supported by model '{model.name}'; use GPT Image 2.5.")
        width, height = options.pixel_size(like=sizes[0])
        count = 1 if n is None else n
        sources = [u.data for u in images]
        mask_data = mask.data if mask is not None else None
        outputs = await asyncio.gather(
            *(
                asyncio.to_thread(
                    media.derive,
                    sources,
                    width,
                    height,
                    options.output_format,
                    prompt=f"{prompt}\0{i}",
                    mask=mask_data,
                    transparent=options.background == "transparent",
                    compression=options.compression,
                )
                for i in range(count)
            )
        )
        lineage = tuple(u.sha256 for u in images) + ((mask.sha256,) if mask is not None else ())
        generated = [GeneratedImage(data, width, height, options.output_format, lineage) for data in outputs]
        self.fake.state.images.extend(generated)
        used = usage(prompt, [(width, height)] * count, options.reported_quality, input_images=len(images))
        if stream:
            return await self._stream("image_edit", request, generated, options, used, partial_images or 0)
        return web.json_response(self._body(generated, options, used))

    def _mask(self, masks: list[Upload], image_size: tuple[int, int]) -> Upload | None:
        if not masks:
            return None
        if len(masks) > 1:
            raise bad_value("mask", "Only one mask can be given.")
        mask = masks[0]
        if len(mask.data) > catalog.MAX_MASK_BYTES:
            raise bad_value("mask", "The mask must be smaller than 4 MB.")
        if sniff(mask.data[:64]) != "image/png":
            raise bad_value("mask", "Invalid mask image: the mask must be a PNG file.", "invalid_image_format")
        try:
            img = media.open_image(mask.data)
        except (UnidentifiedImageError, OSError):
            raise bad_value("mask", "Invalid mask image: the PNG could not be decoded.") from None
        if img.size != image_size:
            raise bad_value(
                "mask",
                f"Invalid mask image: the mask ({img.width}x{img.height}) must have the same dimensions as the "
                f"image ({image_size[0]}x{image_size[1]}).",
                "invalid_image_dimensions",
            )
        if "A" not in img.getbands() and "transparency" not in img.info:
            raise bad_value(
                "mask",
                "Invalid mask image: the mask must have an alpha channel; fully transparent pixels mark where to edit.",
                "invalid_image_format",
            )
        return mask

    def _body(self, images: list[GeneratedImage], options: ImageOptions, used: dict[str, Any]) -> dict[str, Any]:
        first = images[0]
        return {
            "created": self.fake.context.now(),
            "background": options.reported_background,
            "data": [{"b64_json": base64.b64encode(img.data).decode()} for img in images],
            "output_format": options.output_format,
            "quality": options.reported_quality,
            "size": f"{first.width}x{first.height}",
            "usage": used,
        }

    async def _stream(
        self,
        prefix: str,
        request: web.Request,
        images: list[GeneratedImage],
        options: ImageOptions,
        used: dict[str, Any],
        partial_images: int,
    ) -> web.StreamResponse:
        """Server-sent events: `partial_images` previews of each image, then one completed event each."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        common = {
            "background": options.reported_background,
            "created_at": self.fake.context.now(),
            "output_format": options.output_format,
            "quality": options.reported_quality,
        }
        for img in images:
            common["size"] = f"{img.width}x{img.height}"
            b64 = base64.b64encode(img.data).decode()
            for index in range(partial_images):
                event = {"type": f"{prefix}.partial_image", "b64_json": b64, "partial_image_index": index, **common}
                await response.write(_sse(event))
            # A completed event's usage has no output_tokens_details (ImageGenCompletedEvent), unlike ImagesResponse's.
            event_usage = {key: value for key, value in used.items() if key != "output_tokens_details"}
            await response.write(_sse({"type": f"{prefix}.completed", "b64_json": b64, "usage": event_usage, **common}))
        await response.write_eof()
        return response


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
