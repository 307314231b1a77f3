"""Input files for upload: checked (size cap, audio signature) and opened in a worker thread, then streamed from
disk by the SDK's multipart body in chunks, never read whole into memory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import BinaryIO

from mediagen.domain.errors import InvalidRequest
from mediagen.domain.request import InputAudio
from mediagen.domain.sniff import SNIFF_BYTES, sniff

Upload = tuple[str, BinaryIO, str]


def _open(audio: InputAudio, cap: int, field: str, *, video: bool) -> Upload:
    """(file name, open handle, MIME type) for the SDK's `core.File`; blocking."""
    path = audio.path
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except OSError as exc:
        raise InvalidRequest(f"{str(path)!r} cannot be read: {exc.strerror}", field=field) from None
    try:
        if size > cap:
            raise InvalidRequest(
                f"{str(path)!r} is {size / 2**20:.1f} MiB; mediagen sends at most {cap / 2**20:.0f} MiB", field=field
            )
        if size == 0:
            raise InvalidRequest(f"{str(path)!r} is empty", field=field)
        mime = sniff(handle.read(SNIFF_BYTES))
        prefixes = ("audio/", "video/") if video else ("audio/",)
        if mime is None or not mime.startswith(prefixes):
            what = "an audio or video file" if video else "an audio file"
            raise InvalidRequest(f"{str(path)!r} is not {what} (checked its first bytes)", field=field)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return (path.name, handle, mime)


@contextlib.asynccontextmanager
async def opened(
    files: Sequence[InputAudio], *, cap: int, field: str = "input_audio", video: bool = False
) -> AsyncIterator[list[Upload]]:
    """The files checked and opened off the event loop; closed again when the call is done."""
    uploads: list[Upload] = []
    try:
        for audio in files:
            uploads.append(await asyncio.to_thread(_open, audio, cap, field, video=video))
        yield uploads
    finally:
        for _, handle, _ in uploads:
            handle.close()
