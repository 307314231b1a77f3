"""Masks: both forms a user may bring mean the same area, converted to each vendor's form."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from mediagen.adapters.masks import change_area, transparent_where_changed, white_where_changed
from mediagen.adapters.pictures import upright_size
from mediagen.domain.request import Size

BOX = (10, 5, 30, 15)  # the area to change, in a 40x20 mask


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def transparent_hole(mode: str = "RGBA") -> bytes:
    image = Image.new("RGBA", (40, 20), (200, 30, 30, 255))
    image.paste((0, 0, 0, 0), BOX)
    if mode == "P":  # a palette PNG with a transparent entry
        return encoded(image.quantize(colors=4, method=Image.Quantize.FASTOCTREE))
    return encoded(image.convert(mode) if mode != "RGBA" else image)


def white_box(fmt: str = "PNG") -> bytes:
    image = Image.new("L", (40, 20), 0)
    image.paste(255, BOX)
    return encoded(image if fmt == "PNG" else image.convert("RGB"), fmt)


def inside_and_outside(area: Image.Image) -> tuple[int, int]:
    return area.getpixel((20, 10)), area.getpixel((2, 2))  # type: ignore[return-value]


@pytest.mark.parametrize(
    "mask",
    [transparent_hole(), transparent_hole("LA"), transparent_hole("P"), white_box(), white_box("JPEG")],
    ids=["rgba-hole", "la-hole", "palette-hole", "white-box", "white-box-jpeg"],
)
def test_every_form_marks_the_same_area(mask: bytes) -> None:
    assert inside_and_outside(change_area(mask)) == (255, 0)


def test_an_opaque_colour_mask_is_read_by_its_lightness_not_as_all_kept() -> None:
    opaque_rgba = Image.new("RGBA", (40, 20), (0, 0, 0, 255))
    opaque_rgba.paste((255, 255, 255, 255), BOX)
    assert inside_and_outside(change_area(encoded(opaque_rgba))) == (255, 0)


@pytest.mark.parametrize("mask", [transparent_hole(), white_box()], ids=["hole", "white-box"])
def test_openai_gets_alpha_and_imagen_gets_white_at_the_picture_s_size(mask: bytes) -> None:
    for_openai = Image.open(io.BytesIO(transparent_where_changed(mask, Size(80, 40))))
    assert (for_openai.format, for_openai.mode, for_openai.size) == ("PNG", "RGBA", (80, 40))
    assert for_openai.getchannel("A").getpixel((40, 20)) == 0 and for_openai.getchannel("A").getpixel((4, 4)) == 255
    for_imagen = Image.open(io.BytesIO(white_where_changed(mask)))
    assert (for_imagen.format, for_imagen.mode, for_imagen.size) == ("PNG", "L", (40, 20))
    assert inside_and_outside(for_imagen) == (255, 0)


def test_upright_size_reads_the_size_as_shown_turning_for_exif_orientation() -> None:
    assert upright_size(white_box()) == Size(40, 20)
    turned = Image.new("RGB", (40, 20))
    exif = turned.getexif()
    exif[0x0112] = 6  # shown rotated by 90 degrees
    out = io.BytesIO()
    turned.save(out, format="JPEG", exif=exif)
    assert upright_size(out.getvalue()) == Size(20, 40)
