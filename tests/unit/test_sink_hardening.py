"""The filesystem sink against a hostile or untidy directory: a taken name found before any vendor call, a directory
swapped for a symlink mid-write, stale temp files of killed writers, names no filesystem can hold."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from mediagen.adapters.sinks.files import temp_name
from mediagen.adapters.sinks.filesystem import FilesystemSink
from mediagen.domain.errors import FileExists, InvalidRequest, MediaGenError, PathNotAllowed
from mediagen.domain.media import MediaType
from mediagen.ports.artifacts import ArtifactTarget

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
FROZEN = datetime(2025, 6, 1, 12, 30, 45)


async def chunks(data: bytes, size: int = 100) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def image(**kwargs: object) -> ArtifactTarget:
    return ArtifactTarget(media_type=MediaType.IMAGE, backend="openai", prompt="a fox", **kwargs)  # type: ignore[arg-type]


def everything_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if not p.is_dir())


def names_in(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """tmp_path with symlinks resolved, as the sink reports paths."""
    return tmp_path.resolve()


# -- a taken file name, before any vendor call -------------------------------------------------------------------


@pytest.mark.parametrize("existing", ["fox.png", "fox.jpg", "fox.webp", "fox.gif"])
async def test_prepare_refuses_a_filename_whose_stem_is_taken_by_any_image_extension(root: Path, existing: str) -> None:
    tmp_path = root
    (tmp_path / existing).write_bytes(b"precious")
    sink = FilesystemSink(allowed_roots=[tmp_path], default_dir=tmp_path)
    with pytest.raises(FileExists) as caught:
        await sink.prepare(None, media_type=MediaType.IMAGE, filename="fox.png")
    error = caught.value
    assert error.code == "file_exists" and isinstance(error, PathNotAllowed)
    assert error.path == str(tmp_path / existing)
    assert "--overwrite" in error.message
    await sink.prepare(None, media_type=MediaType.IMAGE, filename="fox.png", overwrite=True)
    await sink.prepare(None, media_type=MediaType.VIDEO, filename="fox")  # no video extension is taken
    assert (tmp_path / existing).read_bytes() == b"precious"


async def test_a_name_taken_between_prepare_and_write_is_file_exists_too(tmp_path: Path) -> None:
    sink = FilesystemSink(allowed_roots=[tmp_path], default_dir=tmp_path)
    await sink.prepare(None, media_type=MediaType.IMAGE, filename="fox")
    (tmp_path / "fox.png").write_bytes(b"precious")
    with pytest.raises(FileExists):
        await sink.write(chunks(PNG), image(filename="fox"), mime_type="image/png")
    assert (tmp_path / "fox.png").read_bytes() == b"precious"


# -- a directory swapped for a symlink --------------------------------------------------------------------------


async def test_a_concurrent_swap_of_the_output_dir_for_a_symlink_never_redirects_a_write(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"  # tmp_path has no symlink in it on Linux
    out, aside = root / "out", root / "aside"
    root.mkdir()
    outside.mkdir()
    out.mkdir()
    stop = threading.Event()
    swaps = 0

    def swapper() -> None:
        nonlocal swaps
        while not stop.is_set():
            for step in (
                lambda: os.rename(out, aside),
                lambda: os.symlink(outside, out),
                lambda: os.unlink(out),
                lambda: os.rename(aside, out),
            ):
                with contextlib.suppress(OSError):
                    step()
            swaps += 1
            stop.wait(0.0002 * (swaps % 2))  # every other cycle, a moment with the directory in place

    sink = FilesystemSink(allowed_roots=[root], default_dir=root)
    thread = threading.Thread(target=swapper)
    thread.start()
    written: list[Path] = []
    failures: list[MediaGenError] = []
    try:
        index = 0
        while index < 150 or (not written and index < 3000):  # a slow machine may lose every race for a while
            index += 1
            data = PNG * (1 + index % 3) if index % 2 else PNG * 2000  # whole, and streamed in batches
            try:
                artifact = await sink.write(chunks(data, 64 * 1024), image(output_dir=out), mime_type="image/png")
            except MediaGenError as error:  # anything else (a raw OSError) fails the test
                failures.append(error)
            else:
                written.append(artifact.path)
    finally:
        stop.set()
        thread.join()
    assert all(isinstance(error, PathNotAllowed) for error in failures), failures
    assert all(path.parent == out for path in written)
    assert everything_under(outside) == [], "a write landed outside the allowed root"
    assert written and swaps > 0
    assert not [p for p in everything_under(root) if ".part-" in p.name], "a temp file was left behind"


# -- stale temp files ---------------------------------------------------------------------------------------------


def dead_pid() -> int:
    """The id of a process that has exited."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    return int(done.stdout)


async def test_stale_temp_files_of_gone_writers_or_too_old_are_removed_on_the_next_write(root: Path) -> None:
    killed = root / temp_name("fox.png", pid=dead_pid())
    killed.write_bytes(b"x" * 1000)
    running = root / temp_name("cat.png", pid=os.getpid())
    running.write_bytes(b"y" * 10)
    ancient = root / temp_name("old.png", pid=os.getpid())
    ancient.write_bytes(b"z" * 100)
    hours_ago = time.time() - 7200
    os.utime(ancient, (hours_ago, hours_ago))
    legacy = root / ".owl.png.part-0123456789abcdef"  # the naming before the writer's pid was in it
    legacy.write_bytes(b"w" * 10)
    os.utime(legacy, (hours_ago, hours_ago))
    mine = root / ".notes.part-1"  # not of the sink's own naming
    mine.write_bytes(b"keep")
    sink = FilesystemSink(allowed_roots=[root], default_dir=root, stale_after=3600)
    artifact = await sink.write(chunks(PNG), image(), mime_type="image/png")
    assert names_in(root) == {artifact.path.name, running.name, mine.name}
    assert (sink.reclaimed.files, sink.reclaimed.bytes) == (3, 1110)


async def test_reclaim_sweeps_a_dir_without_writing_and_reports_what_it_freed(root: Path) -> None:
    (root / temp_name("fox.mp4", pid=dead_pid())).write_bytes(b"x" * 4096)
    sink = FilesystemSink(allowed_roots=[root], default_dir=root)
    freed = await sink.reclaim(None)
    assert (freed.files, freed.bytes) == (1, 4096)
    assert names_in(root) == set()
    again = await sink.reclaim(root / "never-made")
    assert (again.files, again.bytes) == (0, 0) and not (root / "never-made").exists()


# -- names no filesystem can hold ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a\x00b", "x" * 300], ids=["nul", "too-long"])
async def test_an_output_dir_no_filesystem_can_hold_is_an_invalid_request(tmp_path: Path, name: str) -> None:
    sink = FilesystemSink(allowed_roots=[tmp_path], default_dir=tmp_path)
    with pytest.raises(InvalidRequest) as caught:
        await sink.prepare(tmp_path / name)
    assert caught.value.field == "output_dir"
    with pytest.raises(InvalidRequest):
        await sink.write(chunks(PNG), image(output_dir=tmp_path / name), mime_type="image/png")
    assert names_in(tmp_path) == set()


async def test_concurrent_writes_into_one_new_dir_all_land(tmp_path: Path) -> None:
    sink = FilesystemSink(allowed_roots=[tmp_path], default_dir=tmp_path)
    target = image(output_dir=tmp_path / "a" / "b" / "c")
    artifacts = await asyncio.gather(*(sink.write(chunks(PNG), target, mime_type="image/png") for _ in range(8)))
    assert len({a.path for a in artifacts}) == 8
    assert all(a.path.read_bytes() == PNG for a in artifacts)


async def test_a_dir_written_before_is_found_again_after_its_symlink_is_re_pointed_or_swapped(root: Path) -> None:
    """Each write reaches the directory the output dir names at that moment, inside the roots, however it was
    found the time before."""
    sink = FilesystemSink(allowed_roots=[root / "inside"], default_dir=root / "inside")
    (root / "inside" / "a").mkdir(parents=True)
    (root / "inside" / "b").mkdir()
    (root / "outside").mkdir()
    link = root / "inside" / "current"
    link.symlink_to(root / "inside" / "a")
    first = await sink.write(chunks(PNG), image(output_dir=link), mime_type="image/png")
    assert first.path.parent == root / "inside" / "a"
    link.unlink()
    link.symlink_to(root / "inside" / "b")
    second = await sink.write(chunks(PNG), image(output_dir=link), mime_type="image/png")
    assert second.path.parent == root / "inside" / "b"
    link.unlink()
    link.symlink_to(root / "outside")
    with pytest.raises(PathNotAllowed, match="outside the allowed roots"):
        await sink.write(chunks(PNG), image(output_dir=link), mime_type="image/png")
    direct = await sink.write(chunks(PNG), image(output_dir=root / "inside" / "b"), mime_type="image/png")
    (root / "inside" / "b").rename(root / "inside" / "b-old")
    (root / "inside" / "b").symlink_to(root / "outside")
    with pytest.raises(PathNotAllowed):
        await sink.write(chunks(PNG), image(output_dir=root / "inside" / "b"), mime_type="image/png")
    assert everything_under(root / "outside") == []
    assert names_in(root / "inside" / "a") == {first.path.name}
    assert names_in(root / "inside" / "b-old") == {second.path.name, direct.path.name}


async def test_a_dir_removed_after_a_write_is_made_again_on_the_next(root: Path) -> None:
    sink = FilesystemSink(allowed_roots=[root], default_dir=root)
    target = image(output_dir=root / "x" / "y")
    await sink.write(chunks(PNG), target, mime_type="image/png")
    for leftover in (root / "x" / "y").iterdir():
        leftover.unlink()
    (root / "x" / "y").rmdir()
    again = await sink.write(chunks(PNG), target, mime_type="image/png")
    assert again.path.parent == root / "x" / "y" and again.path.read_bytes() == PNG


# -- through the service ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sink_kind", ["filesystem", "memory"])
async def test_a_taken_filename_fails_before_any_vendor_call_and_overwrite_still_replaces(
    root: Path, sink_kind: str
) -> None:
    from mediagen.domain.request import MediaRequest
    from tests.unit.test_service import build, plugin

    alpha, generator = plugin("alpha")
    sink = FilesystemSink(allowed_roots=[root], default_dir=root) if sink_kind == "filesystem" else None
    service, _ = build([alpha], sink=sink)
    first = await service.generate(MediaRequest(media_type="image", prompt="a fox", filename="fox", output_dir=root))
    assert len(generator.calls) == 1
    with pytest.raises(FileExists) as caught:
        await service.generate(MediaRequest(media_type="image", prompt="a cat", filename="fox.jpg", output_dir=root))
    assert caught.value.path == str(first.artifact.path) and len(generator.calls) == 1
    again = MediaRequest(media_type="image", prompt="a cat", filename="fox", output_dir=root, overwrite=True)
    assert (await service.generate(again)).artifact.path == first.artifact.path
    assert len(generator.calls) == 2
