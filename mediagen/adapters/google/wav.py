"""Gemini speech comes as raw PCM described by its MIME type; this wraps it in a WAV header a player opens."""

from __future__ import annotations

import re
import struct

import attrs

_PCM_MIME = re.compile(r"^audio/(l(8|16|24)|pcm)\b", re.IGNORECASE)
_PARAM = re.compile(r";\s*([a-z_-]+)\s*=\s*([^;\s]+)", re.IGNORECASE)


@attrs.frozen
class PcmFormat:
    rate: int = 24000
    channels: int = 1
    bits: int = 16

    @property
    def mime(self) -> str:
        return f"audio/L{self.bits};codec=pcm;rate={self.rate}"


def parse_pcm_mime(mime: str) -> PcmFormat | None:
    """The PCM layout `mime` declares (e.g. audio/L16;codec=pcm;rate=24000), or None when it is not raw PCM.

    Defaults are Gemini TTS's: 24 kHz, mono, 16-bit.
    """
    match = _PCM_MIME.match(mime.strip())
    if match is None:
        return None
    bits = int(match[2]) if match[2] else 16
    params = {key.lower(): value for key, value in _PARAM.findall(mime)}
    rate = _positive(params.get("rate"), 24000)
    channels = _positive(params.get("channels"), 1)
    return PcmFormat(rate=rate, channels=channels, bits=bits)


def _positive(text: str | None, default: int) -> int:
    if text is None or not text.isdigit() or int(text) <= 0:
        return default
    return int(text)


def wav_header(data_size: int, fmt: PcmFormat) -> bytes:
    """A 44-byte RIFF/WAVE header for `data_size` bytes of little-endian PCM.

    Gemini labels its PCM audio/L16 (which RFC 2586 defines as big-endian) but sends little-endian samples,
    as its docs' wave-module example shows (seen with google-genai 3.6), so the samples go in unchanged.
    """
    block_align = fmt.channels * fmt.bits // 8
    return b"".join(
        (
            b"RIFF",
            struct.pack("<I", 36 + data_size),
            b"WAVE",
            b"fmt ",
            struct.pack("<IHHIIHH", 16, 1, fmt.channels, fmt.rate, fmt.rate * block_align, block_align, fmt.bits),
            b"data",
            struct.pack("<I", data_size),
        )
    )


def pcm_to_wav(pcm: bytes, fmt: PcmFormat) -> bytes:
    """A complete WAV file; an odd trailing byte of a cut-short sample is dropped so the frame count is whole."""
    frame = fmt.channels * fmt.bits // 8
    usable = len(pcm) - len(pcm) % frame
    return wav_header(usable, fmt) + pcm[:usable]
