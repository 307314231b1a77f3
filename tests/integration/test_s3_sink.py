"""Outputs to s3:// places, against moto's S3 API in server mode on loopback (started by the tests)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from mediagen import Container, MediaRequest, MediaType
from mediagen.adapters.sinks.places import PlaceSink
from mediagen.adapters.sinks.s3 import S3Sink, object_place
from mediagen.application.settings import load_settings
from mediagen.domain.errors import FileExists, PathNotAllowed
from mediagen.domain.result import ObjectUrl
from mediagen.ports.artifacts import ArtifactTarget
from mediagen.sandbox.media import image, mp4_stream

pytest.importorskip("aiobotocore")
from aiobotocore.session import get_session

FROZEN = datetime(2026, 1, 2, 3, 4, 5)
MIB = 1024 * 1024


@pytest.fixture
async def bucket(aws_environ: dict[str, str], request: pytest.FixtureRequest) -> AsyncIterator[str]:
    name = "mediagen-" + hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    async with _client() as client:
        await client.create_bucket(Bucket=name)
    return name


def _client() -> Any:
    return get_session().create_client("s3", region_name=os.environ["AWS_REGION"])


async def _objects(bucket: str) -> dict[str, bytes]:
    async with _client() as client:
        listed = await client.list_objects_v2(Bucket=bucket)
        found = {}
        for entry in listed.get("Contents", []):
            got = await client.get_object(Bucket=bucket, Key=entry["Key"])
            async with got["Body"] as body:
                found[entry["Key"]] = await body.read()
        return found


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _target(place: str, **kwargs: Any) -> ArtifactTarget:
    defaults: dict[str, Any] = {"media_type": MediaType.IMAGE, "backend": "openai", "prompt": "a red fox"}
    return ArtifactTarget(output_dir=Path(place), **{**defaults, **kwargs})


def _ids(*values: str) -> Iterator[str]:
    yield from values


def test_s3_places_are_recognised_and_local_paths_are_not() -> None:
    assert object_place(Path("s3://bucket/renders/today")) == ("bucket", "renders/today")
    assert object_place("s3://bucket") == ("bucket", "")
    assert object_place(Path("renders")) is None and object_place(None) is None
    assert str(ObjectUrl("s3://bucket/a/b.png")) == "s3://bucket/a/b.png" and ObjectUrl("s3://b/a.png").name == "a.png"


async def test_an_image_through_the_service_lands_as_an_object_with_its_url_sha256_and_mime(
    bucket: str, tmp_path: Path
) -> None:
    box: Any = Container()
    settings = load_settings(
        overrides={"sandbox": True, "output_dir": f"s3://{bucket}/renders", "store": {"kind": "memory"}}
    )
    box.settings.override(providers.Object(settings))
    try:
        async with box.service() as service:
            result = await service.generate(
                MediaRequest(media_type=MediaType.IMAGE, prompt="a red fox", backend="openai")
            )
    finally:
        box.shutdown_resources()
    assert isinstance(result.artifact.path, ObjectUrl)
    url = str(result.artifact.path)
    assert url.startswith(f"s3://{bucket}/renders/") and url.endswith(".png")
    [(key, data)] = (await _objects(bucket)).items()
    assert url == f"s3://{bucket}/{key}"
    assert result.artifact.sha256 == hashlib.sha256(data).hexdigest() and result.artifact.size_bytes == len(data)
    assert result.artifact.mime_type == "image/png"
    async with _client() as client:
        head = await client.head_object(Bucket=bucket, Key=key)
    assert head["ContentType"] == "image/png"


async def test_a_video_larger_than_a_part_is_uploaded_in_parts_and_read_back_whole(bucket: str) -> None:
    sink = S3Sink(part_bytes=5 * MIB)
    stream = mp4_stream(1, 64, 64, min_bytes=12 * MIB)
    digest = hashlib.sha256()
    seen: list[int] = []

    async def teed() -> AsyncIterator[bytes]:
        async for chunk in stream:
            digest.update(chunk)
            yield bytes(chunk)

    try:
        artifact = await sink.write(
            teed(),
            _target(f"s3://{bucket}/clips", media_type=MediaType.VIDEO),
            mime_type="video/mp4",
            on_bytes=seen.append,
        )
    finally:
        await sink.aclose()
    [(key, data)] = (await _objects(bucket)).items()
    assert str(artifact.path) == f"s3://{bucket}/{key}" and key.startswith("clips/") and key.endswith(".mp4")
    assert artifact.sha256 == digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert artifact.size_bytes == len(data) >= 12 * MIB and seen[-1] == len(data)
    async with _client() as client:
        assert "Uploads" not in await client.list_multipart_uploads(Bucket=bucket)


@pytest.mark.parametrize("size", [0, 12 * MIB], ids=["one put", "multipart"])
async def test_two_workers_writing_the_same_name_both_keep_their_object(bucket: str, size: int) -> None:
    # Both draw the same id in the same second: the conditional write refuses the second, which takes a new id.
    first = S3Sink(part_bytes=5 * MIB, clock=lambda: FROZEN, short_id=_ids("0000aaaa").__next__)
    second = S3Sink(part_bytes=5 * MIB, clock=lambda: FROZEN, short_id=_ids("0000aaaa", "1111bbbb").__next__)
    picture = image(64, 64, "png", prompt="a red fox")
    payloads = [picture + bytes([n]) * size for n in (1, 2)]
    try:
        written = []
        # One after the other: the second finds the name taken.
        for sink, payload in zip((first, second), payloads, strict=True):
            written.append(await sink.write(_chunks(payload), _target(f"s3://{bucket}/out"), mime_type="image/png"))
    finally:
        await first.aclose()
        await second.aclose()
    stored = await _objects(bucket)
    assert sorted(stored) == sorted(str(a.path).removeprefix(f"s3://{bucket}/") for a in written)
    assert len(stored) == 2 and sorted(stored.values()) == sorted(payloads)
    assert [a.path.name for a in written] == [
        "20260102-030405_openai_a-red-fox_0000aaaa.png",
        "20260102-030405_openai_a-red-fox_1111bbbb.png",
    ]


async def test_two_writers_racing_for_one_name_never_overwrite(bucket: str) -> None:
    sinks = [S3Sink(clock=lambda: FROZEN, short_id=_ids("0000aaaa", f"{n}{n}{n}{n}bbbb").__next__) for n in (1, 2)]
    picture = image(64, 64, "png", prompt="a red fox")
    payloads = [picture + b"first", picture + b"second"]
    try:
        written = await asyncio.gather(
            *(
                s.write(_chunks(p), _target(f"s3://{bucket}/out"), mime_type="image/png")
                for s, p in zip(sinks, payloads, strict=True)
            )
        )
    finally:
        for sink in sinks:
            await sink.aclose()
    stored = await _objects(bucket)
    assert len({str(a.path) for a in written}) == 2 and sorted(stored.values()) == sorted(payloads)


async def test_a_chosen_name_that_exists_is_refused_unless_overwrite_is_asked(bucket: str) -> None:
    sink = S3Sink()
    picture = image(64, 64, "png", prompt="a red fox")
    try:
        await sink.write(_chunks(picture + b"1"), _target(f"s3://{bucket}", filename="fox.png"), mime_type="image/png")
        with pytest.raises(PathNotAllowed, match=r"already exists.*--overwrite"):
            await sink.write(
                _chunks(picture + b"2"), _target(f"s3://{bucket}", filename="fox.png"), mime_type="image/png"
            )
        assert await _objects(bucket) == {"fox.png": picture + b"1"}
        target = _target(f"s3://{bucket}", filename="fox.png", overwrite=True)
        await sink.write(_chunks(picture + b"3"), target, mime_type="image/png")
        assert await _objects(bucket) == {"fox.png": picture + b"3"}
    finally:
        await sink.aclose()


async def test_a_taken_name_is_found_by_prepare_before_any_vendor_call_whatever_its_extension(
    bucket: str, tmp_path: Path
) -> None:
    sink = PlaceSink(filesystem=_unused_filesystem(tmp_path))
    try:
        picture = image(8, 8, "jpeg", prompt="fox")
        await sink.write(_chunks(picture), _target(f"s3://{bucket}", filename="fox"), mime_type="image/jpeg")
        place = Path(f"s3://{bucket}")
        with pytest.raises(FileExists, match=r"fox\.jpg already exists.*--overwrite") as caught:
            await sink.prepare(place, media_type=MediaType.IMAGE, filename="fox.png")
        assert caught.value.code == "file_exists"
        await sink.prepare(place, media_type=MediaType.IMAGE, filename="fox.png", overwrite=True)
        await sink.prepare(place, media_type=MediaType.IMAGE, filename="wolf.png")
        assert (await sink.reclaim(place)).files == 0
    finally:
        await sink.aclose()


async def test_an_object_written_then_discarded_is_gone(bucket: str, tmp_path: Path) -> None:
    """What the service does when the continuation of a written object cannot be saved: nothing stays."""
    sink = PlaceSink(filesystem=_unused_filesystem(tmp_path))
    try:
        picture = image(8, 8, "png", prompt="fox")
        written = await sink.write(_chunks(picture), _target(f"s3://{bucket}"), mime_type="image/png")
        assert list(await _objects(bucket)) == [written.path.name]
        await sink.discard(written)
        assert await _objects(bucket) == {}
    finally:
        await sink.aclose()


async def test_a_stream_that_fails_midway_leaves_no_object_and_no_open_upload(bucket: str) -> None:
    sink = S3Sink(part_bytes=5 * MIB)

    async def broken() -> AsyncIterator[bytes]:
        async for chunk in mp4_stream(1, 64, 64, min_bytes=12 * MIB):
            yield bytes(chunk)
        raise ConnectionResetError("the vendor went away")

    try:
        with pytest.raises(ConnectionResetError):
            await sink.write(broken(), _target(f"s3://{bucket}", media_type=MediaType.VIDEO), mime_type="video/mp4")
    finally:
        await sink.aclose()
    assert await _objects(bucket) == {}
    async with _client() as client:
        assert "Uploads" not in await client.list_multipart_uploads(Bucket=bucket)


async def test_a_missing_bucket_fails_before_any_vendor_call_and_no_credential_is_shown(
    aws_environ: dict[str, str], tmp_path: Path
) -> None:
    sink = PlaceSink(filesystem=_unused_filesystem(tmp_path))
    try:
        with pytest.raises(PathNotAllowed, match="does not exist") as caught:
            await sink.prepare(Path("s3://no-such-bucket/renders"))
    finally:
        await sink.aclose()
    shown = f"{caught.value} {caught.value.details()}"
    assert aws_environ["AWS_SECRET_ACCESS_KEY"] not in shown and aws_environ["AWS_ACCESS_KEY_ID"] not in shown


def _unused_filesystem(root: Path) -> Any:
    from mediagen.adapters.sinks.filesystem import FilesystemSink

    return FilesystemSink(allowed_roots=[root], default_dir=root)


def test_the_cli_writes_to_an_s3_place_and_prints_the_object_url(
    bucket: str, aws_environ: dict[str, str], tmp_path: Path
) -> None:
    mediagen = Path(sys.executable).parent / "mediagen"
    environ = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run(
        [str(mediagen), "image", "a red fox", "--sandbox", "--backend", "openai", "-o", f"s3://{bucket}/cli", "--json"],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert aws_environ["AWS_SECRET_ACCESS_KEY"] not in done.stdout + done.stderr
    assert json.dumps(printed).count(f"s3://{bucket}/cli/") >= 1
    assert not [p for p in tmp_path.iterdir() if p.name not in ("data", ".cache", ".config", ".local")]
