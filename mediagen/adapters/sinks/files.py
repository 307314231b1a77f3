"""The filesystem sink's parts: temp names, the confined directory handle, temp files, and the checks on a stream
(size cap, sha256, content sniffing) that the object-store sink shares."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import hashlib
import os
import re
import secrets
import socket
import stat
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

import attrs

from mediagen.application.cancels import settled
from mediagen.domain.errors import BackendError, FileExists, InvalidRequest, MediaGenError, PathNotAllowed
from mediagen.domain.media import MediaType
from mediagen.domain.request import MAX_NAME_BYTES
from mediagen.domain.sniff import SNIFF_BYTES, media_type_of, sniff
from mediagen.ports.artifacts import ArtifactTarget, Reclaimed

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
#: Seconds after its last write that a temp file counts as abandoned, whoever wrote it (the container passes the
#: longest generation timeout; a temp file is written to at least once per WRITE_BATCH while its writer lives).
STALE_AFTER: Final = 24 * 3600.0
_DIR_FLAGS: Final = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
#: This host, in temp names: a process id only says something about writers on the same host.
_HOST: Final = f"{zlib.crc32(socket.gethostname().encode('utf-8', 'replace')):08x}"
_TEMP: Final = re.compile(r"^\..+\.part-(?P<pid>\d{1,10})-(?P<host>[0-9a-f]{8})-[0-9a-f]{16}$")
#: The temp names of earlier versions, without the writer: removed by age alone.
_OLD_TEMP: Final = re.compile(r"^\..+\.part-[0-9a-f]{16}$")

if TYPE_CHECKING:
    from hashlib import _Hash as Hash

T = TypeVar("T")


def new_short_id() -> str:
    """Eight random hex digits: what keeps two results of the same second apart."""
    return secrets.token_hex(4)


def is_pcm(mime_type: str) -> bool:
    """Whether a claimed MIME type means raw PCM samples, e.g. "audio/pcm" or "audio/L16;rate=24000"."""
    return mime_type.split(";", 1)[0].strip().lower() in PCM_MIME_TYPES


@attrs.frozen
class _Placed:
    directory: _Directory
    name: str
    replaced: bool
    #: Seconds an audio or video file plays (read in the same worker-thread job that placed it), else None.
    length: float | None = None
    #: What the write's `keep` returned (called in the same job, before the file got its name), else None.
    kept: object = None

    @property
    def path(self) -> Path:
        return self.directory.path / self.name


class _Tally:
    """Counts bytes as they arrive, reports progress, and enforces the size cap. The sha256 is updated by the
    worker-thread jobs that write the bytes, in order (hashlib lets go of the GIL), not on the event loop."""

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
        if self._on_bytes is not None:
            self._on_bytes(self.size)


def temp_name(name: str, *, pid: int | None = None) -> str:
    """The hidden temp name a file is written under before it gets `name`: the writer's host and process id are
    in it, so a later write can tell a temp file whose writer is gone."""
    return f".{name}.part-{os.getpid() if pid is None else pid}-{_HOST}-{secrets.token_hex(8)}"


def _file_exists(final: Path) -> FileExists:
    return FileExists(
        f"{final} already exists; pass overwrite=True (--overwrite) to replace it or choose another filename",
        path=str(final),
    )


def _check_name(path: Path) -> None:
    """A path no filesystem can hold is the caller's mistake, named as such, not an OSError."""
    text = str(path)
    if "\x00" in text:
        raise InvalidRequest(f"{text!r} contains a NUL byte, which no file name can hold", field="output_dir")
    for part in path.parts:
        if len(os.fsencode(part)) > MAX_NAME_BYTES:
            raise InvalidRequest(
                f"{part[:40]!r}... is longer than {MAX_NAME_BYTES} bytes, the longest name a filesystem takes",
                field="output_dir",
            )


def _unusable(directory: Path, error: OSError) -> MediaGenError:
    """The typed error for an OSError met while opening or writing into `directory`."""
    if error.errno == errno.ENAMETOOLONG:
        return InvalidRequest(
            f"{directory} is longer than the filesystem allows; use a shorter path", field="output_dir"
        )
    if isinstance(error, PermissionError):
        return PathNotAllowed(
            f"cannot write into {directory}: permission denied; choose a writable output dir", path=str(directory)
        )
    if error.errno in (errno.ENOTDIR, errno.EEXIST):
        return PathNotAllowed(
            f"output directory {directory} is not a directory; choose another output dir", path=str(directory)
        )
    if error.errno in (errno.ELOOP, errno.ENOENT):
        return PathNotAllowed(
            f"output directory {directory} was replaced (by a symlink, or removed) while it was opened; "
            "nothing was written, write again",
            path=str(directory),
        )
    return PathNotAllowed(
        f"cannot write into {directory}: {error.strerror or type(error).__name__}; choose another output dir",
        path=str(directory),
    )


class _Directory:
    """An output directory held open; names in it are created, linked and renamed relative to the descriptor, so
    what its path points at later does not matter. Blocking, like everything here that touches the disk."""

    def __init__(self, path: Path, fd: int, identity: tuple[int, int] | None = None) -> None:
        self.path = path
        self._fd: int | None = fd
        # What the descriptor is open on (device, inode): it cannot change while it is open, so it is read once.
        self._identity = identity

    @property
    def fd(self) -> int:
        if self._fd is None:
            raise ValueError(f"{self.path} is closed")
        return self._fd

    @classmethod
    def reopen(cls, requested: Path, target: Path, root: Path) -> _Directory | None:
        """`target` (resolved, inside the resolved `root`) opened by the walk of `open_below`, creating nothing,
        if `requested` names that same directory right now; None otherwise (something moved: resolve again)."""
        try:
            info = os.stat(requested)
            fd = os.open(root, _DIR_FLAGS)
        except OSError:
            return None
        try:
            for part in target.parts[len(root.parts) :]:
                below = os.open(part, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = below
            found = os.fstat(fd)
        except OSError:
            os.close(fd)
            return None
        if (found.st_dev, found.st_ino) != (info.st_dev, info.st_ino):
            os.close(fd)
            return None
        return cls(target, fd, (found.st_dev, found.st_ino))

    @classmethod
    def open_below(cls, root: Path, target: Path) -> _Directory:
        """Open `target` (resolved, inside the resolved `root`): the root as it is, then each name below it with
        O_NOFOLLOW, made when missing. A symlink met on the way (swapped in after resolving) fails the open."""
        try:
            fd = os.open(root, _DIR_FLAGS)
        except FileNotFoundError:
            os.makedirs(root, exist_ok=True)
            fd = os.open(root, _DIR_FLAGS)
        for part in target.relative_to(root).parts:
            try:
                below = _step(fd, part)
            finally:
                os.close(fd)
            fd = below
        return cls(target, fd)

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def identity(self) -> tuple[int, int]:
        if self._identity is None:
            info = os.fstat(self.fd)
            self._identity = (info.st_dev, info.st_ino)
        return self._identity

    def still_at_its_path(self) -> bool:
        """Whether the path still names this directory (nobody moved it or swapped a symlink in)."""
        try:
            info = os.stat(self.path)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self.identity()

    def close(self) -> None:
        """Idempotent: the descriptor is closed once, and never used after."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def exists(self, name: str) -> bool:
        try:
            os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True

    def create(self, name: str) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0) | _CLOEXEC
        return os.open(name, flags, 0o666, dir_fd=self.fd)

    def link(self, source: str, name: str) -> None:
        os.link(source, name, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)

    def replace(self, source: str, name: str) -> None:
        os.replace(source, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def discard(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=self.fd)

    def fsync(self) -> None:
        """Make the new directory entry durable where the filesystem can."""
        try:
            os.fsync(self.fd)
        except OSError as error:
            if error.errno not in _NO_DIR_FSYNC:
                raise

    def remove_stale(self, older_than: float) -> Reclaimed:
        """Remove temp files of the sink's naming whose writer is gone or that were last written before
        `older_than` (a time.time()); what cannot be removed is left for the next sweep."""
        freed = Reclaimed()
        with os.scandir(self.fd) as entries:
            names = [entry.name for entry in entries if entry.name.startswith(".") and ".part-" in entry.name]
        for name in names:
            match = _TEMP.match(name) or _OLD_TEMP.match(name)
            if match is None:
                continue
            try:
                info = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            gone = match.re is _TEMP and match["host"] == _HOST and not _alive(int(match["pid"]))
            if not gone and info.st_mtime >= older_than:
                continue
            try:
                os.unlink(name, dir_fd=self.fd)
            except OSError:
                continue
            freed += Reclaimed(1, info.st_size)
        return freed


def _step(parent: int, name: str) -> int:
    """Open directory `name` inside the open directory `parent`, creating it when missing; never a symlink."""
    try:
        return os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=parent)
    except FileNotFoundError:
        with contextlib.suppress(FileExistsError):  # made meanwhile by a concurrent write: use it
            os.mkdir(name, 0o777, dir_fd=parent)
        return os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=parent)


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (one we may not signal still runs)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _TempFile:
    """A temp file written with plain descriptors; every method blocks, so callers run them in a worker thread.
    It holds its directory open until placed or discarded."""

    def __init__(self, directory: _Directory, name: str, fd: int) -> None:
        self.directory = directory
        self.name = name
        self._fd: int | None = fd

    @classmethod
    def create(cls, directory: _Directory, name: str) -> _TempFile:
        """Create `name` exclusively (never an existing file, never through a symlink) in `directory`."""
        try:
            fd = directory.create(name)
        except OSError as error:
            raise _unusable(directory.path, error) from None
        return cls(directory, name, fd)

    def write(self, chunks: Sequence[bytes], digest: Hash | None = None) -> None:
        """Append the chunks, first hashing each into `digest` when given."""
        if self._fd is None:
            raise ValueError(f"{self.name} is already closed")
        try:
            for chunk in chunks:
                if digest is not None:
                    digest.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(self._fd, view) :]
        except OSError as error:  # a full disk, a quota
            raise _unusable(self.directory.path, error) from None

    def seal(self) -> None:
        """fsync and close: the bytes are on disk before the file gets its name."""
        if self._fd is None:
            raise ValueError(f"{self.name} is already closed")
        try:
            os.fsync(self._fd)
        except OSError as error:
            raise _unusable(self.directory.path, error) from None
        finally:
            self.close()

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def discard(self) -> None:
        """Close (if open) and delete the temp file, then close its directory; idempotent."""
        try:
            self.close()
            if self.directory.is_open:
                self.directory.discard(self.name)
        finally:
            self.directory.close()


async def _to_the_end(work: Callable[..., T], *args: Any, undo: Callable[[T], None] | None = None) -> T:
    """Run blocking `work` in a worker thread. A cancel meanwhile waits for the thread to finish (so no file is
    closed or deleted under it), undoes what it did, and then propagates."""
    # The executor's future is shielded as it is: wrapping it in a task would cost the loop extra turns per call.
    future = asyncio.get_running_loop().run_in_executor(None, functools.partial(work, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        # Wait out the thread even if cancelled again meanwhile: until it returns, the file it works on must be
        # neither closed, deleted nor left behind.
        await settled(future)
        if undo is not None and not future.cancelled() and future.exception() is None:
            with contextlib.suppress(Exception):
                undo(future.result())
        raise


def _unplace(placed: _Placed) -> None:
    """Undo a placement nobody will be told of (the write was cancelled meanwhile), and let go of the directory."""
    try:
        if not placed.replaced:
            placed.directory.discard(placed.name)
    finally:
        placed.directory.close()


async def _gather(stream: AsyncIterator[bytes], tally: _Tally, into: list[bytes], *, limit: int) -> bool:
    """Append chunks to `into`, as they came (never copied), until they hold `limit` bytes (False) or the stream
    ends (True)."""
    held = sum(len(chunk) for chunk in into)
    while held < limit:
        try:
            chunk = await stream.__anext__()
        except StopAsyncIteration:
            return True
        if chunk:
            tally.add(chunk)
            into.append(chunk)
            held += len(chunk)
    return False


async def _read_head(stream: AsyncIterator[bytes], tally: _Tally) -> list[bytes]:
    """The leading chunks, as they came, holding at least SNIFF_BYTES (fewer only if the stream is that short)."""
    head: list[bytes] = []
    await _gather(stream, tally, head, limit=SNIFF_BYTES)
    return head


def _joined(chunks: Sequence[bytes]) -> bytes:
    """The chunks as one bytes object: the chunk itself when there is one (the usual head), else a copy."""
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


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
