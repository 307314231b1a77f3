"""Small, real media made with the standard library alone, for fakes and tests: PNG, WAV and an MP4 container stub."""

from __future__ import annotations

import io
import math
import struct
import sys
import wave
import zlib
from array import array
from typing import Final

__all__ = ["mp4_stub", "png", "wav"]

#: Largest side `png` draws; a larger request is a mistake in a test, not a wish for a 100-megapixel image.
MAX_PNG_SIDE: Final = 8192
# Rows handed to zlib at once: bounds memory for big images without a Python loop per row.
_ROWS_PER_FEED: Final = 256


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int, height: int, seed: int = 0) -> bytes:
    """A decodable 8-bit RGB PNG of exactly `width` x `height`: a diagonal gradient whose colours follow `seed`."""
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PNG_SIDE:
            raise ValueError(f"{name} must be an integer from 1 to {MAX_PNG_SIDE}, got {value!r}")
    base = [(seed * 37) % 256, (seed * 91 + 64) % 256, (seed * 53 + 128) % 256]
    span = max(width - 1, 1)
    first = bytearray(b"\x00")  # filter 0 (None): the first row is given as it is
    for x in range(width):
        shade = (x * 255) // span
        first += bytes(((base[0] + shade) % 256, (base[1] + shade // 2) % 256, (base[2] - shade) % 256))
    # Filter 2 (Up) adds each byte to the one above, so one repeated row of steps draws the vertical gradient.
    step = bytes((1 + seed % 3, 2, 3 - seed % 2)) * width
    up_row = b"\x02" + step
    packer = zlib.compressobj(6)
    idat = [packer.compress(bytes(first))]
    remaining = height - 1
    while remaining > 0:
        rows = min(remaining, _ROWS_PER_FEED)
        idat.append(packer.compress(up_row * rows))
        remaining -= rows
    idat.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit, truecolour, deflate, no interlace
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(idat)) + _chunk(b"IEND", b"")


def wav(seconds: float = 0.5, rate: int = 24000, channels: int = 1) -> bytes:
    """A 16-bit PCM WAV of a 440 Hz sine tone, written with the stdlib `wave` module."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 3600:
        raise ValueError(f"seconds must be a number above 0 and at most 3600, got {seconds!r}")
    if isinstance(rate, bool) or not isinstance(rate, int) or not 1000 <= rate <= 384_000:
        raise ValueError(f"rate must be an integer from 1000 to 384000 Hz, got {rate!r}")
    if isinstance(channels, bool) or not isinstance(channels, int) or not 1 <= channels <= 8:
        raise ValueError(f"channels must be an integer from 1 to 8, got {channels!r}")
    frames = max(1, round(seconds * rate))
    # One period of the tone at this rate, repeated: the samples are computed once, not once per frame.
    period = max(1, round(rate / 440))
    cycle = array("h", (round(9830 * math.sin(2 * math.pi * i / period)) for i in range(period)))
    if channels > 1:
        cycle = array("h", (sample for sample in cycle for _ in range(channels)))
    whole, part = divmod(frames, period)
    samples = cycle * whole + cycle[: part * channels]
    if sys.byteorder == "big":
        samples.byteswap()  # WAV is little-endian
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_stub() -> bytes:
    """A minimal ISO-BMFF file (ftyp isom, a moov with an mvhd, an empty mdat) that sniffs as video/mp4.

    A container stub for fakes, not a playable video: it has no tracks. The sandbox makes real H.264 files.
    """
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, 1000, 0)  # version 0, no flags, created, modified, timescale, duration
        + struct.pack(">IH10x", 0x00010000, 0x0100)  # rate 1.0, volume 1.0, reserved
        + matrix
        + bytes(24)  # pre_defined
        + struct.pack(">I", 1),  # next_track_ID
    )
    return ftyp + _box(b"moov", mvhd) + _box(b"mdat", b"")
