"""Checks that a written file is the media it claims, read the way a player or viewer would read it."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import attrs
from PIL import Image

from mediagen.domain.sniff import SNIFF_BYTES, extension_for, sniff


def sniffed(path: Path) -> str | None:
    """The MIME type the file's first bytes prove (mediagen's own sniffer)."""
    with path.open("rb") as handle:
        return sniff(handle.read(SNIFF_BYTES))


def assert_extension_matches_content(path: Path) -> str:
    """The file's extension is the one its bytes call for; returns the sniffed MIME type."""
    mime = sniffed(path)
    assert mime is not None, f"{path.name}: first bytes {path.read_bytes()[:16]!r} prove no known media type"
    assert path.suffix == "." + extension_for(mime), f"{path.name} holds {mime}"
    return mime


def image_size(path: Path) -> tuple[int, int]:
    """Pixel size of an image that Pillow fully decodes."""
    with Image.open(path) as img:
        img.load()
        width, height = img.size
        return int(width), int(height)


def make_image(path: Path, size: tuple[int, int], color: tuple[int, int, int]) -> Path:
    Image.new("RGB", size, color).save(path)
    return path


def make_mask(path: Path, size: tuple[int, int]) -> Path:
    """A PNG mask with alpha: opaque everywhere but a transparent square (the area to edit)."""
    mask = Image.new("RGBA", size, (0, 0, 0, 255))
    w, h = size
    mask.paste((0, 0, 0, 0), (w // 4, h // 4, 3 * w // 4, 3 * h // 4))
    mask.save(path)
    return path


@attrs.frozen
class Mp4Facts:
    brand: str
    seconds: float
    width: int
    height: int


def _boxes(data: bytes, start: int, end: int) -> dict[str, tuple[int, int]]:
    """The top-level boxes in data[start:end] by type, as (payload start, box end)."""
    found: dict[str, tuple[int, int]] = {}
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        assert size >= header, f"bad MP4 box size {size} at {pos}"
        found.setdefault(kind.decode("latin-1"), (pos + header, pos + size))
        pos += size
    assert pos == end, f"MP4 boxes overrun their parent ({pos} != {end})"
    return found


def mp4_facts(path: Path) -> Mp4Facts:
    """Brand (ftyp), duration (mvhd) and the video track's pixel size (tkhd) of an MP4 file."""
    data = path.read_bytes()
    top = _boxes(data, 0, len(data))
    assert "ftyp" in top and data[4:8] == b"ftyp", f"{path.name} does not start with an ftyp box"
    assert "moov" in top and "mdat" in top, f"{path.name} lacks moov or mdat: {sorted(top)}"
    brand = data[top["ftyp"][0] : top["ftyp"][0] + 4].decode("latin-1")
    moov = _boxes(data, *top["moov"])
    mvhd = moov["mvhd"][0]
    if data[mvhd] == 1:
        timescale, duration = struct.unpack(">IQ", data[mvhd + 20 : mvhd + 32])
    else:
        timescale, duration = struct.unpack(">II", data[mvhd + 12 : mvhd + 20])
    width = height = 0
    trak_start, moov_end = top["moov"]
    pos = trak_start
    while pos + 8 <= moov_end:  # every trak: the one with a pixel size is the video track
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"trak":
            tkhd = _boxes(data, pos + 8, pos + size)["tkhd"][0]
            offset = tkhd + (88 if data[tkhd] == 1 else 76)
            w, h = struct.unpack(">II", data[offset : offset + 8])
            if w and h:
                width, height = w >> 16, h >> 16
        pos += size
    return Mp4Facts(brand=brand, seconds=duration / timescale, width=width, height=height)


@attrs.frozen
class WavFacts:
    sample_rate: int
    channels: int
    sample_width: int
    frames: int
    data_bytes: int


def wav_facts(path: Path) -> WavFacts:
    """A WAV read with the standard library's reader, its header checked against the file's real length."""
    raw = path.read_bytes()
    assert raw[:4] == b"RIFF" and raw[8:12] == b"WAVE", f"{path.name} has no RIFF/WAVE header"
    (riff_size,) = struct.unpack("<I", raw[4:8])
    assert riff_size == len(raw) - 8, f"RIFF size {riff_size} but the file has {len(raw) - 8} bytes after it"
    data_at = raw.find(b"data", 12)
    assert data_at > 0, "no data chunk"
    (data_bytes,) = struct.unpack("<I", raw[data_at + 4 : data_at + 8])
    assert data_at + 8 + data_bytes == len(raw), "the data chunk's size does not reach the end of the file"
    with wave.open(str(path), "rb") as reader:
        return WavFacts(
            sample_rate=reader.getframerate(),
            channels=reader.getnchannels(),
            sample_width=reader.getsampwidth(),
            frames=reader.getnframes(),
            data_bytes=data_bytes,
        )
