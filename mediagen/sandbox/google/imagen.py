"""Vertex predict: Imagen makes images from text and edits them (raw and mask reference images)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from PIL import Image

from mediagen.sandbox import media
from mediagen.sandbox.google.catalog import (
    BLOCK_OUTPUT,
    BLOCK_PROMPT,
    EDIT_MODES,
    IMAGEN_INSTANCE_FIELDS,
    IMAGEN_PARAMETERS,
    IMAGEN_SIZES,
    MASK_MODES,
)
from mediagen.sandbox.google.schema import refuse_unknown
from mediagen.sandbox.google.wire import as_list, as_object, check_image, decode, encode, invalid, single_instance

if TYPE_CHECKING:
    from mediagen.sandbox.google.fake import GoogleFake


class PredictEndpoint:
    """Imagen on `:predict`: generate from text, or edit with reference images."""

    def __init__(self, fake: GoogleFake) -> None:
        self.fake = fake

    async def predict(self, request: web.Request, model: str, body: dict[str, Any]) -> dict[str, Any]:
        instance = single_instance(body)
        params = as_object(body.get("parameters", {}), "parameters")
        refuse_unknown(instance, IMAGEN_INSTANCE_FIELDS, "instances[0]")
        refuse_unknown(params, IMAGEN_PARAMETERS, "parameters")
        prompt = instance.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise invalid("instances[0].prompt is required and must not be empty")
        count = params.get("sampleCount", 4)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 4:
            raise invalid(f"parameters.sampleCount must be 1 to 4, not {count!r}")
        seed = params.get("seed")
        if seed is not None:
            if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
                raise invalid(f"parameters.seed must be an unsigned 32-bit integer, not {seed!r}")
            if params.get("addWatermark", True):
                raise invalid("Seed is not supported when add_watermark is enabled; set addWatermark to false")
        for name in ("negativePrompt", "personGeneration"):
            if name in params and not isinstance(params[name], str):
                raise invalid(f"parameters.{name} must be a string")
        options = as_object(params.get("outputOptions", {}), "parameters.output_options")
        mime = options.get("mimeType", "image/png")
        if mime not in ("image/png", "image/jpeg"):
            raise invalid(f"parameters.outputOptions.mimeType must be image/png or image/jpeg, not {mime!r}")
        fmt = "jpeg" if mime == "image/jpeg" else "png"
        if BLOCK_PROMPT in prompt or BLOCK_OUTPUT in prompt:
            if params.get("includeRaiReason"):
                reason = "The output was filtered by the sandbox's Responsible AI check (sandbox marker)."
                return {"predictions": [{"raiFilteredReason": reason}]}
            return {}
        if "referenceImages" in instance:
            images = [await self._edit(model, instance, params, prompt, fmt, index) for index in range(count)]
        else:
            # Without a seed, every call draws anew, as Imagen does: the calls before this one shift the samples (the
            # first call's first sample is the prompt's own picture).
            earlier = len(self.fake.state.requests_to("predict")) - 1
            first = 0 if seed is not None else earlier * 4
            images = [
                await self._imagen_generate(model, params, prompt, fmt, seed, first + index) for index in range(count)
            ]
        return {"predictions": [{"bytesBase64Encoded": encode(data), "mimeType": mime} for data in images]}

    async def _imagen_generate(
        self, model: str, params: Mapping[str, Any], prompt: str, fmt: str, seed: int | None, index: int
    ) -> bytes:
        if not model.startswith("imagen-") or "capability" in model:
            raise invalid(f"{model} does not generate images from text on this endpoint")
        aspect = params.get("aspectRatio", "1:1")
        if aspect not in IMAGEN_SIZES:
            raise invalid(f"Unsupported aspect ratio {aspect!r}; use one of {', '.join(IMAGEN_SIZES)}")
        tier = params.get("sampleImageSize", "1K")
        if tier not in ("1K", "2K"):
            raise invalid(f"parameters.sampleImageSize must be 1K or 2K, not {tier!r}")
        width, height = IMAGEN_SIZES[aspect]
        scale = 2 if tier == "2K" else 1
        # Each of a call's samples is its own picture; with a seed, the same seed gives the same samples again.
        seed_used = (None if index == 0 else index) if seed is None else seed + index  # index: the sample's place
        return await asyncio.to_thread(media.image, width * scale, height * scale, fmt, prompt=prompt, seed=seed_used)

    async def _edit(
        self, model: str, instance: Mapping[str, Any], params: Mapping[str, Any], prompt: str, fmt: str, index: int
    ) -> bytes:
        if "capability" not in model:
            raise invalid(f"{model} does not support image editing; use imagen-3.0-capability-001")
        references = as_list(instance["referenceImages"], "instances[0].reference_images")
        raw: bytes | None = None
        mask: bytes | None = None
        for position, item in enumerate(references):
            reference = as_object(item, f"reference_images[{position}]")
            kind = reference.get("referenceType")
            if not isinstance(reference.get("referenceId"), int):
                raise invalid(f"reference_images[{position}].reference_id must be an integer")
            image = as_object(reference.get("referenceImage", {}), f"reference_images[{position}].reference_image")
            if kind == "REFERENCE_TYPE_RAW":
                if raw is not None:
                    raise invalid("Only one raw reference image is allowed")
                raw = check_image(decode(image.get("bytesBase64Encoded")), f"reference_images[{position}]")
            elif kind == "REFERENCE_TYPE_MASK":
                mask_config = as_object(reference.get("maskImageConfig", {}), "mask_image_config")
                mode = mask_config.get("maskMode", "MASK_MODE_DEFAULT")
                if mode not in MASK_MODES:
                    raise invalid(f"mask_image_config.mask_mode {mode!r} is not one of {', '.join(MASK_MODES)}")
                dilation = mask_config.get("dilation")
                if dilation is not None and (not isinstance(dilation, (int, float)) or not 0 <= dilation <= 1):
                    raise invalid("mask_image_config.dilation must be between 0 and 1")
                if mode == "MASK_MODE_USER_PROVIDED":
                    mask = check_image(decode(image.get("bytesBase64Encoded")), f"reference_images[{position}]")
            else:
                raise invalid(f"reference_images[{position}].reference_type {kind!r} is not supported here")
        if raw is None:
            raise invalid("An edit needs one REFERENCE_TYPE_RAW reference image")
        mode = params.get("editMode", "EDIT_MODE_DEFAULT")
        if mode not in EDIT_MODES:
            raise invalid(f"parameters.editMode {mode!r} is not one of {', '.join(EDIT_MODES)}")
        if mode in ("EDIT_MODE_INPAINT_INSERTION", "EDIT_MODE_INPAINT_REMOVAL", "EDIT_MODE_OUTPAINT") and not any(
            as_object(r, "ref").get("referenceType") == "REFERENCE_TYPE_MASK" for r in references
        ):
            raise invalid(f"{mode} needs a REFERENCE_TYPE_MASK reference image")
        width, height = media.image_size(raw)
        alpha_mask = None if mask is None else white_to_transparent(mask)
        varied = prompt if index == 0 else f"{prompt}\0{index}"  # each sample of a call its own edit
        return await asyncio.to_thread(media.derive, [raw], width, height, fmt, prompt=varied, mask=alpha_mask)


def white_to_transparent(mask: bytes) -> bytes:
    """Imagen masks mark the area to change in white; media.derive paints where a mask is transparent."""
    grey = media.open_image(mask).convert("L")
    alpha = grey.point(lambda value: 0 if value >= 128 else 255)
    rgba = Image.new("RGBA", grey.size, (0, 0, 0, 255))
    rgba.putalpha(alpha)
    out = io.BytesIO()
    rgba.save(out, "PNG")
    return out.getvalue()
