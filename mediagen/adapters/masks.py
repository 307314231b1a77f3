"""A mask in mediagen's convention, converted to a vendor's: which pixels the edit may change.

mediagen takes either convention a user may bring, and every adapter converts it, so one mask file means the same
on every backend:

- transparent pixels (alpha below half) mark the area to change — OpenAI's form;
- in a mask with no transparent pixel, white (light, above half grey) marks it — Imagen's form.

Blocking (Pillow decodes and encodes): adapters call these in a worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from PIL import Image, ImageOps

from mediagen.domain.request import Size


def change_area(data: bytes) -> Image.Image:
    """The mask as an "L" image: 255 where the edit may change the picture, 0 where it must keep it."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.load()
        image = opened.convert("RGBA") if _may_be_transparent(opened) else opened.convert("L")
    if image.mode == "RGBA":
        alpha = image.getchannel("A")
        low, _ = alpha.getextrema()
        if isinstance(low, (int, float)) and low < 128:
            return _two_valued(alpha, lambda a: 255 if a < 128 else 0)
        image = image.convert("L")
    return _two_valued(image, lambda v: 255 if v >= 128 else 0)


def _two_valued(channel: Image.Image, rule: Callable[[int], int]) -> Image.Image:
    mapped: Image.Image = channel.point(rule)
    return mapped


def transparent_where_changed(data: bytes, size: Size | None = None) -> bytes:
    """OpenAI's mask: a PNG with alpha, transparent where the edit may change the picture, of `size` if given."""
    area = _sized(change_area(data), size)
    mask = Image.new("RGBA", area.size, (0, 0, 0, 255))
    mask.putalpha(ImageOps.invert(area))
    return _png(mask)


def white_where_changed(data: bytes, size: Size | None = None) -> bytes:
    """Imagen's mask: a greyscale PNG, white where the edit may change the picture, black elsewhere."""
    return _png(_sized(change_area(data), size))


def _may_be_transparent(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _sized(area: Image.Image, size: Size | None) -> Image.Image:
    """The mask stretched to the picture's size (nearest neighbour keeps it two-valued), as vendors require."""
    wanted = None if size is None else (size.width, size.height)
    return area if wanted is None or area.size == wanted else area.resize(wanted, Image.Resampling.NEAREST)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
