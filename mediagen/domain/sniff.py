"""Recognise media from its first bytes, so file extensions never come from user text."""

from __future__ import annotations

from typing import Final

from mediagen.domain.media import MediaType

#: How many leading bytes `sniff` needs to decide (Ogg Opus names its codec at bytes 28-36 of the first page).
SNIFF_BYTES: Final = 64

EXTENSIONS: Final[dict[str, str]] = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/ogg": "ogg",
    "audio/opus": "opus",
    "audio/flac": "flac",
    "audio/aac": "aac",
    "audio/mp4": "m4a",
    "audio/pcm": "pcm",
}


def sniff(head: bytes) -> str | None:
    """The MIME type the leading bytes prove, or None when they prove nothing known."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"OggS"):
        return "audio/opus" if b"OpusHead" in head else "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "audio/aac"  # ADTS sync word, layer bits 00
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "audio/mpeg"  # MPEG audio frame sync
    return None


def media_type_of(mime: str) -> MediaType | None:
    major = mime.split("/", 1)[0]
    return {"image": MediaType.IMAGE, "video": MediaType.VIDEO, "audio": MediaType.AUDIO}.get(major)


def extension_for(mime: str) -> str:
    """The file extension for a MIME type mediagen writes; 'bin' for anything else."""
    return EXTENSIONS.get(mime, "bin")
