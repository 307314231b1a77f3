"""How long a written video or audio file plays, read from its own headers with mutagen (MP4/MOV mvhd, WAV,
MP3 with its Xing/VBRI header or frame bitrate, FLAC STREAMINFO, Ogg Opus granule positions, ADTS AAC).

Blocking: call it off the event loop. None when the file says nothing (raw PCM has no header) or cannot be read.
"""

from __future__ import annotations

import importlib
import io
import math
from pathlib import Path
from typing import Any, BinaryIO

#: mutagen's reader for each MIME type the sniffer names, so a file loads only its own format's module; a type not
#: here (Ogg, whose codec the type does not name) goes to `mutagen.File`, which loads every reader (~50 ms the first
#: time) to score the bytes, as does a file its reader refuses. MP3 has its own path (`_mpeg_length`).
READERS = {
    "audio/wav": ("mutagen.wave", "WAVE"),
    "audio/opus": ("mutagen.oggopus", "OggOpus"),
    "audio/flac": ("mutagen.flac", "FLAC"),
    "audio/aac": ("mutagen.aac", "AAC"),
    "audio/mp4": ("mutagen.mp4", "MP4"),
    "video/mp4": ("mutagen.mp4", "MP4"),
    "video/quicktime": ("mutagen.mp4", "MP4"),
}


def load_reader() -> None:
    """Import mutagen and the format modules `mutagen.File` imports on its first use (~50 ms), so the first audio or
    video written does not wait for them. Blocking: call it off the event loop."""
    import mutagen

    mutagen.File(io.BytesIO(b""))  # nothing to read: it only loads every format's reader to score the bytes


def media_length(source: Path | bytes | bytearray, mime_type: str) -> float | None:
    """Seconds the file (or its bytes, when still in hand: no reopening) plays, rounded to milliseconds, or None
    when its headers do not tell."""
    if not mime_type.startswith(("audio/", "video/")) or mime_type == "audio/pcm":
        return None
    try:
        with open(source, "rb") if isinstance(source, Path) else io.BytesIO(source) as data:
            seconds = _length(data, mime_type)
    except OSError:
        return None
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds <= 0:
        return None
    return round(float(seconds), 3)


def _length(data: BinaryIO, mime_type: str) -> object:
    """What the format's reader (else mutagen's scoring of every reader) says the stream's length is."""
    if mime_type == "audio/mpeg":
        return _mpeg_length(data)
    import mutagen  # pure Python, imported on first use (off the loop, where this runs)

    found: Any = None
    reader = READERS.get(mime_type)
    if reader is not None:
        module, name = reader
        try:
            found = getattr(importlib.import_module(module), name)(data)
        except (mutagen.MutagenError, OSError, ValueError, EOFError):
            found = None
    if found is None:
        try:
            data.seek(0)
            found = mutagen.File(data)
        except (mutagen.MutagenError, OSError, ValueError, EOFError):
            return None
    return getattr(getattr(found, "info", found), "length", None)  # a file type's info, or a stream info itself


def _mpeg_length(data: BinaryIO) -> object:
    """An MP3's length from its first two frames when the bytes start with a frame, as a vendor's MP3 does: the
    first frame's Xing or VBRI header when it has one, else the size over the bitrate (constant bitrate). That is
    what mutagen's `MPEGInfo` computes from the first of the frames it checks; it checks four and looks for ID3 tags
    first, which costs several times more. Anything else (ID3 tags first, no frame at the start, a second frame
    that does not follow) goes to `MPEGInfo`'s own search. `MP3` would add parsing the tags, for nothing read here.
    """
    import mutagen

    mp3: Any = importlib.import_module("mutagen.mp3")  # untyped
    try:
        first = mp3.MPEGFrame(data)  # leaves the position at the next frame
        mp3.MPEGFrame(data)
    except (mutagen.MutagenError, OSError, ValueError, EOFError):
        data.seek(0)
        try:
            return mp3.MPEGInfo(data).length
        except (mutagen.MutagenError, OSError, ValueError, EOFError):
            return None
    length = getattr(first, "length", None)  # what a Xing or VBRI header says
    if length is not None:
        return length
    return 8 * (data.seek(0, 2) - first.frame_offset) / first.bitrate
