"""Input images and masks are decoded (header, size, data) before any vendor call: a file that only starts like an
image is an invalid_request naming `input_images` or `mask`, and nothing is sent."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from mediagen.adapters.pictures import MAX_PIXELS
from mediagen.container import inspect_inputs as check_pictures
from mediagen.domain.errors import InvalidRequest
from mediagen.domain.request import MediaRequest
from mediagen.testing.media import png


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb() -> bytes:
    """A PNG of 100000 x 100000 pixels (ten gigapixels) in a few hundred bytes: one zero row, compressed, repeated."""
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0))
    packer = zlib.compressobj(9)
    row = bytes(100_001)
    data = b"".join(packer.compress(row) for _ in range(50)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", data) + chunk(b"IEND", b"")


@pytest.fixture
def fox(tmp_path: Path) -> Path:
    path = tmp_path / "fox.png"
    path.write_bytes(png(64, 48))
    return path


def request_with(tmp_path: Path, fox: Path, *, image: bytes | None = None, mask: bytes | None = None) -> MediaRequest:
    images = [fox]
    if image is not None:
        (tmp_path / "odd.png").write_bytes(image)
        images.append(tmp_path / "odd.png")
    mask_path = None
    if mask is not None:
        mask_path = tmp_path / "mask.png"
        mask_path.write_bytes(mask)
    return MediaRequest(media_type="image", prompt="a fox", input_images=images, mask=mask_path)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (bomb(), "pixels"),
        (b"\x89PNG\r\n\x1a\n", "could not be decoded"),
        (png(64, 48)[:300], "could not be decoded"),
    ],
    ids=["decompression-bomb", "8-byte-png", "truncated"],
)
async def test_an_input_image_that_does_not_decode_is_refused_naming_input_images(
    tmp_path: Path, fox: Path, content: bytes, words: str
) -> None:
    with pytest.raises(InvalidRequest, match=words) as caught:
        await check_pictures(request_with(tmp_path, fox, image=content))
    assert caught.value.field == "input_images"


@pytest.mark.parametrize("content", [bomb(), b"\x89PNG\r\n\x1a\n", png(64, 48)[:300]], ids=["bomb", "8-byte", "cut"])
async def test_a_mask_that_does_not_decode_is_refused_naming_mask(tmp_path: Path, fox: Path, content: bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await check_pictures(request_with(tmp_path, fox, mask=content))
    assert caught.value.field == "mask"


async def test_good_pictures_pass(tmp_path: Path, fox: Path) -> None:
    await check_pictures(request_with(tmp_path, fox, mask=png(64, 48, seed=2)))
    assert MAX_PIXELS > 64 * 48


async def test_a_bad_input_image_fails_before_any_vendor_call(tmp_path: Path, fox: Path) -> None:
    from tests.unit.test_service import build, plugin

    alpha, generator = plugin("alpha")
    service, _ = build([alpha], inspect_inputs=check_pictures)
    with pytest.raises(InvalidRequest) as caught:
        await service.generate(request_with(tmp_path, fox, image=png(64, 48)[:300]))
    assert caught.value.field == "input_images" and generator.calls == []
