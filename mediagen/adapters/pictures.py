"""Facts about an input picture that adapters need before they send it; blocking (Pillow), run in a thread."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from mediagen.domain.errors import InvalidRequest
from mediagen.domain.request import InputImage, Size

_ORIENTATION = 0x0112  # the EXIF tag
_QUARTER_TURNS = frozenset({5, 6, 7, 8})  # orientations shown turned by 90 degrees: width and height swap


def upright_size(image: InputImage | bytes, *, field: str = "input_images") -> Size:
    """The pixel size as the picture is seen (after its EXIF rotation); only the header is read from a file."""
    source = io.BytesIO(image) if isinstance(image, bytes) else image.path
    try:
        with Image.open(source) as opened:  # lazy: the header alone gives the size and the EXIF orientation
            width, height = opened.size
            if opened.getexif().get(_ORIENTATION) in _QUARTER_TURNS:
                width, height = height, width
    except (OSError, UnidentifiedImageError) as exc:
        shown = "the image" if isinstance(image, bytes) else repr(str(image.path))
        raise InvalidRequest(f"{shown} could not be decoded: {exc}", field=field) from None
    return Size(width, height)
