"""One sink for every place an output can go: s3:// places to the object-store sink, the rest to the filesystem."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import TypeVar

import attrs

from mediagen.adapters.sinks.filesystem import FilesystemSink
from mediagen.adapters.sinks.s3 import S3Sink, object_place
from mediagen.domain.media import MediaType
from mediagen.domain.result import Artifact, ObjectUrl
from mediagen.ports.artifacts import ArtifactTarget, Reclaimed

T = TypeVar("T")


class PlaceSink:
    """Routes each write by its output dir (or the default place): `s3://bucket/prefix` to an `S3Sink`, built on
    first use (so a run that never names a bucket never loads the AWS client), anything else to the filesystem."""

    def __init__(
        self,
        filesystem: FilesystemSink,
        default_place: Path | None = None,
        objects: Callable[[], S3Sink] = S3Sink,
    ) -> None:
        self._filesystem = filesystem
        self._default = default_place if object_place(default_place) is not None else None
        self._make_objects = objects
        self._objects: S3Sink | None = None

    @property
    def filesystem(self) -> FilesystemSink:
        return self._filesystem

    async def prepare(
        self,
        output_dir: Path | None,
        *,
        media_type: MediaType | None = None,
        filename: str | None = None,
        overwrite: bool = False,
    ) -> None:
        place = output_dir if output_dir is not None else self._default
        if object_place(place) is not None:
            await self._s3().prepare(place, media_type=media_type, filename=filename, overwrite=overwrite)
        else:
            await self._filesystem.prepare(output_dir, media_type=media_type, filename=filename, overwrite=overwrite)

    async def reclaim(self, output_dir: Path | None) -> Reclaimed:
        """Stale temp files of the filesystem sink; an object store keeps none (an aborted upload leaves no part)."""
        place = output_dir if output_dir is not None else self._default
        if object_place(place) is not None:
            return Reclaimed()
        return await self._filesystem.reclaim(output_dir)

    async def write(
        self,
        stream: AsyncIterator[bytes],
        target: ArtifactTarget,
        *,
        mime_type: str,
        on_bytes: Callable[[int], None] | None = None,
    ) -> Artifact:
        place = target.output_dir if target.output_dir is not None else self._default
        if object_place(place) is not None:
            routed = attrs.evolve(target, output_dir=place)
            return await self._s3().write(stream, routed, mime_type=mime_type, on_bytes=on_bytes)
        return await self._filesystem.write(stream, target, mime_type=mime_type, on_bytes=on_bytes)

    async def write_and_keep(
        self,
        stream: AsyncIterator[bytes],
        target: ArtifactTarget,
        *,
        mime_type: str,
        on_bytes: Callable[[int], None] | None = None,
        keep: Callable[[], T],
    ) -> tuple[Artifact, T]:
        """`write`, calling the blocking `keep` before the output gets its name: on the filesystem in the job that
        places the file; for an object place in a worker thread before the upload starts (an upload's own hops
        dwarf one more). When `keep` raises, nothing is written."""
        place = target.output_dir if target.output_dir is not None else self._default
        if object_place(place) is not None:
            kept = await asyncio.to_thread(keep)
            return await self.write(stream, target, mime_type=mime_type, on_bytes=on_bytes), kept
        return await self._filesystem.write_and_keep(stream, target, mime_type=mime_type, on_bytes=on_bytes, keep=keep)

    async def warm_up(self, media_types: Iterable[MediaType]) -> None:
        """What the first file of these media types would load, loaded now (object places measure nothing)."""
        await self._filesystem.warm_up(media_types)

    async def discard(self, artifact: Artifact) -> None:
        """Take back a file (or object) just written: the sink that wrote it removes it."""
        if isinstance(artifact.path, ObjectUrl):
            await self._s3().discard(artifact)
        else:
            await self._filesystem.discard(artifact)

    async def aclose(self) -> None:
        if self._objects is not None:
            await self._objects.aclose()

    def _s3(self) -> S3Sink:
        if self._objects is None:
            self._objects = self._make_objects()
        return self._objects
