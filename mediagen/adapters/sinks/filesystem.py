"""The filesystem sink: stream to a temp file beside the target, fsync, then link it into place without overwriting.

Blocking file work runs in worker threads, batched so that a small artifact (an image, a short clip) costs one
thread hop in all and a long stream one hop per WRITE_BATCH bytes: each hop costs a thread wake-up, which would
otherwise dominate the time of a fast generation.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from mediagen.adapters.media_length import load_reader, media_length
from mediagen.adapters.sinks.files import (
    _NAME_ATTEMPTS,
    _NO_HARD_LINKS,
    STALE_AFTER,
    TWO_GIB,
    WRITE_BATCH,
    _accept,
    _check_name,
    _Directory,
    _file_exists,
    _gather,
    _joined,
    _Placed,
    _read_head,
    _Tally,
    _TempFile,
    _to_the_end,
    _unplace,
    _unusable,
    new_short_id,
    temp_name,
)
from mediagen.adapters.sinks.naming import artifact_name, names_for_stem, safe_filename
from mediagen.domain.errors import PathNotAllowed
from mediagen.domain.media import MediaType
from mediagen.domain.result import Artifact
from mediagen.domain.sniff import extension_for, media_type_of
from mediagen.ports.artifacts import ArtifactTarget, Reclaimed

if TYPE_CHECKING:
    from hashlib import _Hash as Hash

T = TypeVar("T")


class FilesystemSink:
    """Writes each artifact completely or not at all, inside the allowed roots, never over an existing file.

    The output directory is opened once per write, walking down from its allowed root without following a symlink
    on any component below it, and every file is created, linked and renamed relative to that open directory: a
    directory swapped for a symlink meanwhile can make a write fail, never land elsewhere.
    """

    def __init__(
        self,
        allowed_roots: Sequence[Path],
        default_dir: Path,
        max_bytes: int = TWO_GIB,
        clock: Callable[[], datetime] = datetime.now,
        short_id: Callable[[], str] = new_short_id,
        stale_after: float = STALE_AFTER,
    ) -> None:
        if not allowed_roots:
            raise ValueError("FilesystemSink needs at least one allowed root")
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, got {max_bytes}")
        if not stale_after > 0:
            raise ValueError(f"stale_after must be a number of seconds > 0, got {stale_after!r}")
        # Absolute now, so a later chdir cannot move them; symlinks are resolved at each write.
        self._roots = tuple(Path(root).expanduser().absolute() for root in allowed_roots)
        self._default_dir = Path(default_dir).expanduser().absolute()
        self._max_bytes = max_bytes
        self._clock = clock
        self._short_id = short_id
        self._stale_after = float(stale_after)
        self._prepared: set[Path | None] = set()
        # output_dir -> (the path asked for, its resolved path, the resolved root holding it), from an earlier open.
        self._places: dict[Path | None, tuple[Path, Path, Path]] = {}
        self._swept: set[tuple[int, int]] = set()
        self._sweeping = threading.Lock()
        self.reclaimed = Reclaimed()

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
        artifact, _ = await self._write(stream, target, mime_type, on_bytes, None)
        return artifact

    async def write_and_keep(
        self,
        stream: AsyncIterator[bytes],
        target: ArtifactTarget,
        *,
        mime_type: str,
        on_bytes: Callable[[int], None] | None = None,
        keep: Callable[[], T],
    ) -> tuple[Artifact, T]:
        """`write`, calling the blocking `keep` in the worker-thread job that places the file, after the bytes are
        fsynced and before the file gets its name: when `keep` raises, no file is placed and its error propagates.
        What `keep` returns comes with the artifact."""
        artifact, kept = await self._write(stream, target, mime_type, on_bytes, keep)
        return artifact, cast(T, kept)

    async def _write(
        self,
        stream: AsyncIterator[bytes],
        target: ArtifactTarget,
        mime_type: str,
        on_bytes: Callable[[int], None] | None,
        keep: Callable[[], object] | None,
    ) -> tuple[Artifact, object]:
        tally = _Tally(self._max_bytes, target.backend, on_bytes)
        # The chunks are kept as the stream gave them, never copied on the loop: the worker-thread job writes each.
        pending = await _read_head(stream, tally)
        mime = _accept(_joined(pending), target, mime_type)
        ext = extension_for(mime)
        name = self._first_name(target, ext)
        ended = await _gather(stream, tally, pending, limit=tally.size + 1)  # one more chunk: was that all?
        if ended:  # the whole artifact is in hand: one hop creates, fsyncs and places it
            placed = await _to_the_end(
                self._write_whole, target, name, ext, pending, tally.sha256, mime, keep, undo=_unplace
            )
        else:
            temp = await _to_the_end(self._open_temp, target, name, pending, tally.sha256, undo=_TempFile.discard)
            try:
                while not ended:
                    pending = []
                    ended = await _gather(stream, tally, pending, limit=WRITE_BATCH)
                    if pending:
                        await _to_the_end(temp.write, pending, tally.sha256)
                placed = await _to_the_end(self._seal_and_place, temp, name, target, ext, mime, keep, undo=_unplace)
            except BaseException:
                temp.discard()
                raise
        placed.directory.close()
        artifact = Artifact(
            path=placed.path,
            mime_type=mime,
            size_bytes=tally.size,
            sha256=tally.sha256.hexdigest(),
            media_duration_seconds=placed.length,
        )
        return artifact, placed.kept

    def _write_whole(
        self,
        target: ArtifactTarget,
        name: str,
        ext: str,
        chunks: Sequence[bytes],
        digest: Hash,
        mime: str,
        keep: Callable[[], object] | None,
    ) -> _Placed:
        """Blocking: open the directory, write the whole artifact's `chunks` to a temp file (hashing them into
        `digest`), fsync it, call `keep` and link the file into place."""
        temp = self._open_temp(target, name, chunks, digest)
        try:
            return self._seal_and_place(temp, name, target, ext, mime, keep, chunks)
        except BaseException:
            temp.discard()
            raise

    def _open_temp(self, target: ArtifactTarget, name: str, chunks: Sequence[bytes], digest: Hash) -> _TempFile:
        """Blocking: open (creating it if needed) the output directory, then create a temp file there holding
        `chunks` (hashed into `digest`); the temp file keeps the directory open until it is placed or discarded."""
        directory = self._open_directory(target.output_dir)
        try:
            self._sweep_once(directory)
            temp = _TempFile.create(directory, temp_name(name))
        except BaseException:
            directory.close()
            raise
        try:
            temp.write(chunks, digest)
        except BaseException:
            temp.discard()
            raise
        return temp

    def _seal_and_place(
        self,
        temp: _TempFile,
        name: str,
        target: ArtifactTarget,
        ext: str,
        mime: str,
        keep: Callable[[], object] | None,
        chunks: Sequence[bytes] = (),
    ) -> _Placed:
        """Blocking: fsync and close the temp file, call `keep` (when it raises, the temp file is the caller's to
        discard), then give the file its final name (see `_place`) and, for audio and video, read how long it plays
        (in this same worker-thread job: no second hop; from `chunks`, the whole file when still in hand, else from
        the file). The placement holds the directory open from here; closing it is the caller's."""
        temp.seal()
        kept = keep() if keep is not None else None
        directory, final, replaced = self._place(temp, name, target, ext)
        length = None
        if media_type_of(mime) is not MediaType.IMAGE:
            length = media_length(_joined(chunks) if chunks else directory.path / final, mime)
        return _Placed(directory, final, replaced, length=length, kept=kept)

    async def warm_up(self, media_types: Iterable[MediaType]) -> None:
        """Before the first file of these media types: what writing one loads on first use (the reader of how long
        audio and video play), off the event loop."""
        if any(media_type is not MediaType.IMAGE for media_type in media_types):
            await asyncio.to_thread(load_reader)

    async def prepare(
        self,
        output_dir: Path | None,
        *,
        media_type: MediaType | None = None,
        filename: str | None = None,
        overwrite: bool = False,
    ) -> None:
        """Check (creating it if needed) the output dir before a vendor is called and paid, so a bad one fails first,
        not after the generation; with a `filename`, refuse it (FileExists) when a file of its stem and any
        extension `media_type` can produce exists, unless `overwrite`. A dir that passed once is not checked
        again (each write checks it anyway)."""
        if output_dir not in self._prepared:
            await asyncio.to_thread(self._prepare_directory, output_dir)
            self._prepared.add(output_dir)
        if filename is not None and not overwrite:
            await asyncio.to_thread(self._check_free, output_dir, filename, media_type)

    def _prepare_directory(self, output_dir: Path | None) -> None:
        directory = self._open_directory(output_dir)
        try:
            if not os.access(directory.path, os.W_OK):
                raise PathNotAllowed(
                    f"output directory {directory.path} is not writable; choose a writable output dir",
                    path=str(directory.path),
                )
        finally:
            directory.close()

    def _check_free(self, output_dir: Path | None, filename: str, media_type: MediaType | None) -> None:
        """Blocking: FileExists when the stem of `filename` is taken with any extension the request can produce."""
        directory = self._open_directory(output_dir)
        try:
            for name in names_for_stem(filename, media_type):
                if directory.exists(name):
                    raise _file_exists(directory.path / name)
        finally:
            directory.close()

    async def discard(self, artifact: Artifact) -> None:
        """Take back a file this sink just wrote and nobody was told of (e.g. its continuation could not be saved):
        its directory is opened confined to the roots like for a write, and the name removed there."""
        if not isinstance(artifact.path, Path):  # an object URL belongs to the object-store sink
            raise PathNotAllowed(f"{artifact.path} was not written by this sink", path=str(artifact.path))
        await asyncio.to_thread(self._discard, artifact.path)

    def _discard(self, path: Path) -> None:
        directory = self._open_directory(path.parent)
        try:
            directory.discard(path.name)
        finally:
            directory.close()

    async def reclaim(self, output_dir: Path | None) -> Reclaimed:
        """Remove stale temp files of this sink's naming in `output_dir` (the default dir when None); a directory
        that does not exist is left uncreated. Returns what was freed."""
        return await asyncio.to_thread(self._reclaim, output_dir)

    def _reclaim(self, output_dir: Path | None) -> Reclaimed:
        requested = output_dir if output_dir is not None else self._default_dir
        if not requested.expanduser().is_dir():
            return Reclaimed()
        directory = self._open_directory(output_dir)
        try:
            return self._sweep(directory)
        finally:
            directory.close()

    def _sweep_once(self, directory: _Directory) -> None:
        """On the first write into a directory, remove the stale temp files of killed or crashed writers."""
        key = directory.identity()
        with self._sweeping:
            if key in self._swept:
                return
            self._swept.add(key)
        self._sweep(directory)

    def _sweep(self, directory: _Directory) -> Reclaimed:
        freed = directory.remove_stale(time.time() - self._stale_after)
        with self._sweeping:
            self.reclaimed += freed
        return freed

    def _open_directory(self, output_dir: Path | None) -> _Directory:
        """The output dir, open: its resolved path is checked against the resolved roots, then walked down from
        the root that holds it one name at a time, creating what is missing and following no symlink.

        A dir opened before is walked down again from the root found then, without resolving anything, and kept only
        if the path asked for still names the very directory the walk reached (one stat): a symlink swapped in on
        the way fails the walk, a path re-pointed elsewhere fails the comparison, and either falls back to the full
        resolve and check."""
        known = self._places.get(output_dir)
        if known is not None:
            directory = _Directory.reopen(*known)
            if directory is not None:
                return directory
            self._places.pop(output_dir, None)
        requested = (output_dir if output_dir is not None else self._default_dir).expanduser()
        _check_name(requested)
        try:
            resolved = requested.resolve()
        except OSError as error:  # e.g. a symlink loop
            raise PathNotAllowed(
                f"output directory {requested} cannot be resolved: {error.strerror or type(error).__name__}; "
                "choose another output dir",
                path=str(requested),
            ) from None
        root = self._check_allowed(requested, resolved, resolved)
        try:
            directory = _Directory.open_below(root, resolved)
        except PathNotAllowed:
            raise
        except OSError as error:
            raise _unusable(resolved, error) from None
        self._places[output_dir] = (requested, resolved, root)
        return directory

    def _check_allowed(self, requested: Path, resolved: Path, requested_resolved: Path) -> Path:
        """The resolved root holding `resolved` (the deepest, when roots nest); PathNotAllowed when none does.
        A root spelled like `requested` resolves to `requested_resolved`, known already; the other roots are
        resolved now."""
        if resolved == requested_resolved and requested in self._roots:  # the usual case: the dir is a root
            return resolved
        roots = [requested_resolved if root == requested else root.resolve() for root in self._roots]
        holding = [root for root in roots if resolved == root or resolved.is_relative_to(root)]
        if holding:
            return max(holding, key=lambda root: len(root.parts))
        shown = str(requested) if requested == resolved else f"{requested} (which resolves to {resolved})"
        listed = ", ".join(str(root) for root in roots)
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

    def _place(self, temp: _TempFile, name: str, target: ArtifactTarget, ext: str) -> tuple[_Directory, str, bool]:
        """The temp file linked into place (see `_link_into_place`) and the directory fsynced: the directory, the
        file's final name, and whether it replaced a file."""
        directory = temp.directory
        try:
            final, replaced = self._link_into_place(temp, name, target, ext)
        except OSError as error:
            raise _unusable(directory.path, error) from None
        try:
            directory.fsync()
            if not directory.still_at_its_path():
                # Placed in the directory that was opened, which no longer is where the caller would look.
                raise PathNotAllowed(
                    f"output directory {directory.path} was moved or replaced while the file was written; "
                    "nothing was kept, write again",
                    path=str(directory.path),
                )
        except BaseException:
            if not replaced:
                directory.discard(final)
            raise
        return directory, final, replaced

    def _link_into_place(self, temp: _TempFile, name: str, target: ArtifactTarget, ext: str) -> tuple[str, bool]:
        """The name the temp file got, and whether it replaced a file there (only an asked-for overwrite does)."""
        directory = temp.directory
        if target.filename is not None:
            if target.overwrite:
                try:
                    directory.replace(temp.name, name)
                except IsADirectoryError:
                    final = directory.path / name
                    raise PathNotAllowed(f"{final} is a directory; choose another filename", path=str(final)) from None
                return name, True
            if not _link_exclusive(directory, temp.name, name):
                raise _file_exists(directory.path / name)
            return name, False
        for _ in range(_NAME_ATTEMPTS):
            if _link_exclusive(directory, temp.name, name):
                return name, False
            name = artifact_name(self._clock(), target.backend, target.prompt, self._short_id(), ext)
        raise PathNotAllowed(
            f"no free file name found in {directory.path} after {_NAME_ATTEMPTS} attempts; choose another output dir",
            path=str(directory.path),
        )


def _link_exclusive(directory: _Directory, temp: str, final: str) -> bool:
    """Give the temp file its final name unless that name exists; False when it does. Never overwrites."""
    try:
        directory.link(temp, final)
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        renamed = _rename_noreplace(directory, temp, final)
        return _reserve_and_replace(directory, temp, final) if renamed is None else renamed
    directory.discard(temp)
    return True


def _rename_noreplace(directory: _Directory, temp: str, final: str) -> bool | None:
    """Linux's renameat2(RENAME_NOREPLACE): one atomic step, never over an existing name. True when renamed,
    False when `final` exists, None where the system or filesystem cannot (then the caller claims the name)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only on this rare path: filesystems without hard links

    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:  # C library older than glibc 2.28
        return None
    rename_noreplace = 1
    fd = directory.fd
    if renameat2(fd, os.fsencode(temp), fd, os.fsencode(final), rename_noreplace) == 0:
        return True
    failure = ctypes.get_errno()
    if failure == errno.EEXIST:
        return False
    if failure in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return None
    raise OSError(failure, os.strerror(failure), final)


def _reserve_and_replace(directory: _Directory, temp: str, final: str) -> bool:
    """Without hard links or renameat2: claim the name with an exclusive create, then rename the content over the
    claim (an empty file holds the name for that moment)."""
    try:
        fd = directory.create(final)
    except FileExistsError:
        return False
    os.close(fd)
    try:
        directory.replace(temp, final)
    except BaseException:
        directory.discard(final)
        raise
    return True
