"""The filesystem sink: stream to a temp file beside the target, fsync, then link it into place without overwriting.

Blocking file work runs in worker threads, batched so that a small artifact (an image, a short clip) costs one
thread hop in all and a long stream one hop per WRITE_BATCH bytes: each hop costs a thread wake-up, which would
otherwise dominate the time of a fast generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import hashlib
import os
import secrets
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from mediagen.adapters.media_length import media_length
from mediagen.adapters.sinks.naming import artifact_name, safe_filename
from mediagen.domain.errors import BackendError, PathNotAllowed
from mediagen.domain.media import MediaType
from mediagen.domain.result import Artifact
from mediagen.domain.sniff import SNIFF_BYTES, extension_for, media_type_of, sniff
from mediagen.ports.artifacts import ArtifactTarget

TWO_GIB: Final = 2 * 1024**3
#: Raw PCM has no header to sniff; these claimed types (parameters such as ";rate=24000" aside) mean PCM.
PCM_MIME_TYPES: Final = frozenset({"audio/pcm", "audio/l16", "audio/l24", "audio/x-pcm", "audio/raw"})
PCM_MIME: Final = "audio/pcm"
# Fresh short ids tried before giving up on a generated name; 8 hex digits make even a second try unlikely.
_NAME_ATTEMPTS: Final = 16
# Filesystems that cannot fsync a directory say so with these; the rename itself has still happened.
_NO_DIR_FSYNC: Final = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EISDIR, errno.EACCES})
# Filesystems without hard links (FAT, exFAT, some network shares) refuse os.link with these.
_NO_HARD_LINKS: Final = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK})
#: Bytes gathered from the stream before one write in a worker thread: few hops, memory still bounded.
WRITE_BATCH: Final = 1024 * 1024

T = TypeVar("T")


def new_short_id() -> str:
    """Eight random hex digits: what keeps two results of the same second apart."""
    return secrets.token_hex(4)


def is_pcm(mime_type: str) -> bool:
    """Whether a claimed MIME type means raw PCM samples, e.g. "audio/pcm" or "audio/L16;rate=24000"."""
    return mime_type.split(";", 1)[0].strip().lower() in PCM_MIME_TYPES


@attrs.frozen
class _Placed:
    path: Path
    replaced: bool


class _Tally:
    """Counts and hashes bytes as they arrive, reports progress, and enforces the size cap."""

    def __init__(self, max_bytes: int, backend: str, on_bytes: Callable[[int], None] | None) -> None:
        self.size = 0
        self.sha256 = hashlib.sha256()
        self._max_bytes = max_bytes
        self._backend = backend
        self._on_bytes = on_bytes

    def add(self, chunk: bytes) -> None:
        if self.size + len(chunk) > self._max_bytes:
            raise BackendError(
                f"the output of {self._backend} exceeded the cap of {self._max_bytes} bytes and was discarded; "
                "raise the max_artifact_bytes setting (MEDIAGEN_MAX_ARTIFACT_BYTES) if such sizes are expected",
                backend=self._backend,
            )
        self.size += len(chunk)
        self.sha256.update(chunk)
        if self._on_bytes is not None:
            self._on_bytes(self.size)


class FilesystemSink:
    """Writes each artifact completely or not at all, inside the allowed roots, never over an existing file."""

    def __init__(
        self,
        allowed_roots: Sequence[Path],
        default_dir: Path,
        max_bytes: int = TWO_GIB,
        clock: Callable[[], datetime] = datetime.now,
        short_id: Callable[[], str] = new_short_id,
    ) -> None:
        if not allowed_roots:
            raise ValueError("FilesystemSink needs at least one allowed root")
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, got {max_bytes}")
        # Absolute now, so a later chdir cannot move them; symlinks are resolved at each write.
        self._roots = tuple(Path(root).expanduser().absolute() for root in allowed_roots)
        self._default_dir = Path(default_dir).expanduser().absolute()
        self._max_bytes = max_bytes
        self._clock = clock
        self._short_id = short_id
        self._prepared: set[Path | None] = set()

    @property
    def allowed_roots(self) -> tuple[Path, ...]:
        return self._roots

    async def write(
        self,
        stream: AsyncIterator[bytes],
        target: ArtifactTarget,
        *,
        mime_type: str,
        on_bytes: Callable[[int], None] | None = None,
    ) -> Artifact:
        """Write the whole stream or nothing: no partial file survives an error or a cancel."""
        tally = _Tally(self._max_bytes, target.backend, on_bytes)
        head = await _read_head(stream, tally)
        mime = _accept(head, target, mime_type)
        ext = extension_for(mime)
        name = self._first_name(target, ext)
        pending = bytearray(head)
        ended = await _gather(stream, tally, pending, limit=len(pending) + 1)  # one more chunk: was that all?
        if ended:  # the whole artifact is in hand: one hop creates, fsyncs and places it
            placed = await _to_the_end(self._write_whole, target, name, ext, pending, undo=_unplace)
        else:
            temp = await _to_the_end(self._open_temp, target, name, pending, undo=_TempFile.discard)
            try:
                while not ended:
                    pending = bytearray()
                    ended = await _gather(stream, tally, pending, limit=WRITE_BATCH)
                    if pending:
                        await _to_the_end(temp.write, pending)
                placed = await _to_the_end(self._seal_and_place, temp, name, target, ext, undo=_unplace)
            except BaseException:
                temp.discard()
                raise
        length = (
            None if media_type_of(mime) is MediaType.IMAGE else await asyncio.to_thread(media_length, placed.path, mime)
        )
        return Artifact(
            path=placed.path,
            mime_type=mime,
            size_bytes=tally.size,
            sha256=tally.sha256.hexdigest(),
            media_duration_seconds=length,
        )

    def _write_whole(self, target: ArtifactTarget, name: str, ext: str, data: bytes | bytearray) -> _Placed:
        """Blocking: check the directory, write `data` to a temp file, fsync it and link it into place."""
        temp = self._open_temp(target, name, data)
        try:
            return self._seal_and_place(temp, name, target, ext)
        except BaseException:
            temp.discard()
            raise

    def _open_temp(self, target: ArtifactTarget, name: str, data: bytes | bytearray) -> _TempFile:
        """Blocking: check (and create) the output directory, then create a temp file there holding `data`."""
        directory = self._prepare_directory(target.output_dir)
        temp = _TempFile.create(directory, directory / f".{name}.part-{secrets.token_hex(8)}")
        try:
            temp.write(data)
        except BaseException:
            temp.discard()
            raise
        return temp

    def _seal_and_place(self, temp: _TempFile, name: str, target: ArtifactTarget, ext: str) -> _Placed:
        """Blocking: fsync and close the temp file, then give it its final name (see `_place`)."""
        temp.seal()
        return self._place(temp.path, temp.directory, name, target, ext)

    async def prepare(self, output_dir: Path | None) -> None:
        """Check (creating it if needed) the output dir before a vendor is called and paid, so a bad one fails first,
        not after the generation; a dir that passed once is not checked again (each write checks it anyway)."""
        if output_dir in self._prepared:
            return
        directory = await asyncio.to_thread(self._prepare_directory, output_dir)
        if not os.access(directory, os.W_OK):
            raise PathNotAllowed(
                f"output directory {directory} is not writable; choose a writable output dir", path=str(directory)
            )
        self._prepared.add(output_dir)

    def _prepare_directory(self, output_dir: Path | None) -> Path:
        """The resolved output dir, checked against the resolved roots before anything is created."""
        requested = (output_dir if output_dir is not None else self._default_dir).expanduser()
        resolved = requested.resolve()
        self._check_allowed(requested, resolved, resolved)
        if resolved.is_dir():  # the usual case: nothing to create, so nothing to look at twice
            return resolved
        try:
            resolved.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise PathNotAllowed(
                f"output directory {resolved} is not a directory; choose another output dir", path=str(resolved)
            ) from None
        except PermissionError:
            raise PathNotAllowed(
                f"cannot create output directory {resolved}: permission denied; choose a writable output dir",
                path=str(resolved),
            ) from None
        except OSError as error:  # e.g. under /proc, on a read-only or full filesystem
            raise PathNotAllowed(
                f"cannot create output directory {resolved}: {error.strerror or type(error).__name__}; "
                "choose another output dir",
                path=str(resolved),
            ) from None
        # A symlink swapped in while the directory was being created must not lead outside either.
        self._check_allowed(requested, resolved.resolve(), resolved)
        return resolved

    def _check_allowed(self, requested: Path, resolved: Path, requested_resolved: Path) -> None:
        """`resolved` must be a root or inside one. A root spelled like `requested` resolves to
        `requested_resolved`, known already; the other roots are resolved now, and only until one matches."""
        if resolved == requested_resolved and requested in self._roots:  # the usual case: the dir is a root
            return
        roots = (requested_resolved if root == requested else root.resolve() for root in self._roots)
        if any(resolved == root or resolved.is_relative_to(root) for root in roots):
            return
        shown = str(requested) if requested == resolved else f"{requested} (which resolves to {resolved})"
        listed = ", ".join(str(requested_resolved if root == requested else root.resolve()) for root in self._roots)
        raise PathNotAllowed(
            f"output directory {shown} is outside the allowed roots ({listed}); "
            "pass it as the output dir (--output-dir / the output_dir setting) or add it to the allowed_roots "
            "setting (MEDIAGEN_ALLOWED_ROOTS)",
            path=str(resolved),
        )

    def _first_name(self, target: ArtifactTarget, ext: str) -> str:
        if target.filename is not None:
            return safe_filename(target.filename, ext)
        return artifact_name(self._clock(), target.backend, target.prompt, self._short_id(), ext)

    def _place(self, temp: Path, directory: Path, name: str, target: ArtifactTarget, ext: str) -> _Placed:
        placed = self._link_into_place(temp, directory, name, target, ext)
        try:
            _fsync_directory(directory)
        except BaseException:
            if not placed.replaced:
                _discard(placed.path)
            raise
        return placed

    def _link_into_place(self, temp: Path, directory: Path, name: str, target: ArtifactTarget, ext: str) -> _Placed:
        if target.filename is not None:
            final = directory / name
            if target.overwrite:
                try:
                    os.replace(temp, final)
                except IsADirectoryError:
                    raise PathNotAllowed(f"{final} is a directory; choose another filename", path=str(final)) from None
                return _Placed(final, replaced=True)
            if not _link_exclusive(temp, final):
                raise PathNotAllowed(
                    f"{final} already exists; pass overwrite=True (--overwrite) to replace it or choose another "
                    "filename",
                    path=str(final),
                )
            return _Placed(final, replaced=False)
        for _ in range(_NAME_ATTEMPTS):
            final = directory / name
            if _link_exclusive(temp, final):
                return _Placed(final, replaced=False)
            name = artifact_name(self._clock(), target.backend, target.prompt, self._short_id(), ext)
        raise PathNotAllowed(
            f"no free file name found in {directory} after {_NAME_ATTEMPTS} attempts; choose another output dir",
            path=str(directory),
        )


class _TempFile:
    """A temp file written with plain descriptors; every method blocks, so callers run them in a worker thread."""

    def __init__(self, directory: Path, path: Path, fd: int) -> None:
        self.directory = directory
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def create(cls, directory: Path, path: Path) -> _TempFile:
        """Create `path` exclusively (never an existing file)."""
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except PermissionError:
            raise PathNotAllowed(
                f"cannot write into {directory}: permission denied; choose a writable output dir",
                path=str(directory),
            ) from None
        return cls(directory, path, fd)

    def write(self, data: bytes | bytearray) -> None:
        if self._fd is None:
            raise ValueError(f"{self.path} is already closed")
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def seal(self) -> None:
        """fsync and close: the bytes are on disk before the file gets its name."""
        if self._fd is None:
            raise ValueError(f"{self.path} is already closed")
        try:
            os.fsync(self._fd)
        finally:
            self.close()

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def discard(self) -> None:
        """Close (if open) and delete the temp file; idempotent."""
        try:
            self.close()
        finally:
            _discard(self.path)


async def _to_the_end(work: Callable[..., T], *args: Any, undo: Callable[[T], None] | None = None) -> T:
    """Run blocking `work` in a worker thread. A cancel meanwhile waits for the thread to finish (so no file is
    closed or deleted under it), undoes what it did, and then propagates."""
    # The executor's future is shielded as it is: wrapping it in a task would cost the loop extra turns per call.
    future = asyncio.get_running_loop().run_in_executor(None, functools.partial(work, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        # Wait out the thread even if cancelled again meanwhile (a second Ctrl-C, anyio's repeated cancels):
        # until it returns, the file it works on must be neither closed, deleted nor left behind.
        while not future.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({future})
        if undo is not None and not future.cancelled() and future.exception() is None:
            with contextlib.suppress(Exception):
                undo(future.result())
        raise


def _unplace(placed: _Placed) -> None:
    if not placed.replaced:
        _discard(placed.path)


async def _gather(stream: AsyncIterator[bytes], tally: _Tally, into: bytearray, *, limit: int) -> bool:
    """Append chunks to `into` until it holds `limit` bytes (False) or the stream ends (True)."""
    while len(into) < limit:
        try:
            chunk = await stream.__anext__()
        except StopAsyncIteration:
            return True
        if chunk:
            tally.add(chunk)
            into += chunk
    return False


async def _read_head(stream: AsyncIterator[bytes], tally: _Tally) -> bytes:
    """At least SNIFF_BYTES leading bytes (fewer only if the stream is that short), for sniffing."""
    head = bytearray()
    while len(head) < SNIFF_BYTES:
        try:
            chunk = await stream.__anext__()
        except StopAsyncIteration:
            break
        if chunk:
            tally.add(chunk)
            head += chunk
    return bytes(head)


def _accept(head: bytes, target: ArtifactTarget, claimed: str) -> str:
    """The MIME type the bytes prove, checked against the media type the request asked for."""
    expected = target.media_type
    if not head:
        raise BackendError(
            f"{target.backend} returned no data where {_article(expected)} was expected", backend=target.backend
        )
    found = sniff(head)
    if is_pcm(claimed) and expected is MediaType.AUDIO and (found is None or _weak_audio_match(head, found)):
        return PCM_MIME
    if found is None or media_type_of(found) is not expected:
        raise BackendError(
            f"{target.backend} returned {found or 'unrecognised data'} where {_article(expected)} was expected",
            backend=target.backend,
        )
    return found


def _weak_audio_match(head: bytes, found: str) -> bool:
    """An MPEG/ADTS frame sync is two bytes that PCM samples (e.g. -1 = ff ff) often start with."""
    return found == "audio/aac" or (found == "audio/mpeg" and not head.startswith(b"ID3"))


def _article(media_type: MediaType) -> str:
    return {MediaType.IMAGE: "an image", MediaType.VIDEO: "a video", MediaType.AUDIO: "audio"}[media_type]


def _link_exclusive(temp: Path, final: Path) -> bool:
    """Give the temp file its final name unless that name exists; False when it does. Never overwrites."""
    try:
        os.link(temp, final)
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        renamed = _rename_noreplace(temp, final)
        return _reserve_and_replace(temp, final) if renamed is None else renamed
    os.unlink(temp)
    return True


def _rename_noreplace(temp: Path, final: Path) -> bool | None:
    """Linux's renameat2(RENAME_NOREPLACE): one atomic step, never over an existing name. True when renamed,
    False when `final` exists, None where the system or filesystem cannot (then the caller claims the name)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only on this rare path: filesystems without hard links

    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:  # C library older than glibc 2.28
        return None
    at_fdcwd, rename_noreplace = -100, 1
    if renameat2(at_fdcwd, os.fsencode(temp), at_fdcwd, os.fsencode(final), rename_noreplace) == 0:
        return True
    failure = ctypes.get_errno()
    if failure == errno.EEXIST:
        return False
    if failure in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return None
    raise OSError(failure, os.strerror(failure), str(final))


def _reserve_and_replace(temp: Path, final: Path) -> bool:
    """Without hard links or renameat2: claim the name with an exclusive create, then rename the content over the
    claim (an empty file holds the name for that moment)."""
    try:
        fd = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    os.close(fd)
    try:
        os.replace(temp, final)
    except BaseException:
        _discard(final)
        raise
    return True


def _fsync_directory(directory: Path) -> None:
    """Make the new directory entry durable (POSIX); elsewhere, and where the filesystem cannot, skip it."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError as error:
        if error.errno in _NO_DIR_FSYNC:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in _NO_DIR_FSYNC:
            raise
    finally:
        os.close(fd)


def _discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
