"""Facts about an input picture that adapters need before they send it; blocking (Pillow), run in a thread."""

from __future__ import annotations

import io
import warnings
from typing import Final

from PIL import Image, UnidentifiedImageError

from mediagen.domain.errors import InvalidRequest
from mediagen.domain.request import InputImage, MediaRequest, Size

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


#: Most pixels an input picture may have: Pillow's own guard against decompression bombs (about 89 million).
MAX_PIXELS: Final = Image.MAX_IMAGE_PIXELS or 89_478_485


def check_picture(image: InputImage, *, field: str) -> None:
    """Decode `image` enough to prove it is whole: header, size (at most MAX_PIXELS) and data. Blocking."""
    shown = repr(str(image.path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(image.path) as opened:
                width, height = opened.size
                if width * height > MAX_PIXELS:
                    raise InvalidRequest(
                        f"{shown} is {width}x{height}, {width * height} pixels, more than the {MAX_PIXELS} "
                        "an input picture may have; scale it down",
                        field=field,
                    )
                if opened.format == "PNG":
                    opened.verify()  # every chunk's checksum, without decoding the pixels
                else:
                    if opened.format == "JPEG":
                        opened.draft("RGB", (max(width // 8, 1), max(height // 8, 1)))  # decode at 1/8 scale
                    opened.load()
    except InvalidRequest:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidRequest(
            f"{shown} has too many pixels to decode safely ({exc}); scale it down", field=field
        ) from None
    except Exception as exc:  # Pillow signals damaged data with many types (OSError, SyntaxError, struct.error, ...)
        raise InvalidRequest(
            f"{shown} could not be decoded ({type(exc).__name__}: {exc}); it is damaged or cut short", field=field
        ) from None


def check_request_pictures(request: MediaRequest) -> None:
    """Every input image and the mask, decoded (see `check_picture`). Blocking."""
    for image in request.input_images:
        check_picture(image, field="input_images")
    if request.mask is not None:
        check_picture(request.mask, field="mask")
