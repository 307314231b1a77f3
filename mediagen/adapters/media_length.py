"""How long a written video or audio file plays, read from its own headers with mutagen (MP4/MOV mvhd, WAV,
MP3 with its Xing/VBRI header or frame bitrate, FLAC STREAMINFO, Ogg Opus granule positions, ADTS AAC).

Blocking: call it off the event loop. None when the file says nothing (raw PCM has no header) or cannot be read.
"""

from __future__ import annotations

import contextlib
import importlib
import math
from pathlib import Path

#: The mutagen reader for each MIME type the sniffer names (module, class): the file is parsed by that reader
#: alone. mutagen.File, for a type not listed, scores every format mutagen knows first, which cost as much as
#: the parse itself for a short MP3.
_READERS = {
    "audio/mpeg": ("mutagen.mp3", "MP3"),
    "audio/wav": ("mutagen.wave", "WAVE"),
    "audio/ogg": ("mutagen.oggvorbis", "OggVorbis"),
    "audio/opus": ("mutagen.oggopus", "OggOpus"),
    "audio/flac": ("mutagen.flac", "FLAC"),
    "audio/aac": ("mutagen.aac", "AAC"),
    "audio/mp4": ("mutagen.mp4", "MP4"),
    "video/mp4": ("mutagen.mp4", "MP4"),
}


def media_length(path: Path, mime_type: str) -> float | None:
    """Seconds the file plays, rounded to milliseconds, or None when its headers do not tell."""
    if not mime_type.startswith(("audio/", "video/")) or mime_type == "audio/pcm":
        return None
    import mutagen  # pure Python, imported on first use (off the loop, where this runs)

    found = None
    reader = _READERS.get(mime_type)
    if reader is not None:
        module, name = reader
        with contextlib.suppress(mutagen.MutagenError, OSError, ValueError, EOFError):
            found = getattr(importlib.import_module(module), name)(path)
    if found is None:  # no reader for the type, or the file is another kind the type allows (Ogg FLAC, say)
        try:
            found = mutagen.File(path)
        except (mutagen.MutagenError, OSError, ValueError, EOFError):
            return None
    seconds = getattr(getattr(found, "info", None), "length", None)
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds <= 0:
        return None
    return round(float(seconds), 3)
