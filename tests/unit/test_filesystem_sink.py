"""The filesystem sink: whole files or none, inside the allowed roots, never over another file."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import itertools
import os
import re
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediagen.adapters.sinks.files import WRITE_BATCH, is_pcm
from mediagen.adapters.sinks.filesystem import FilesystemSink
from mediagen.domain.errors import BackendError, PathNotAllowed
from mediagen.domain.media import MediaType
from mediagen.ports.artifacts import ArtifactSink, ArtifactTarget

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + b"\x10JFIF" + bytes(200)
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(200)
MP4 = b"\x00\x00\x00\x18ftypisom" + bytes(200)
FROZEN = datetime(2025, 6, 1, 12, 30, 45)
NAME = re.compile(r"^20250601-123045_[a-z0-9-]+_[a-z0-9-]+_[0-9a-f]{6,}\.[a-z0-9]+$")


async def chunks(data: bytes, size: int = 100) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def from_parts(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def image(prompt: str = "a red fox", **kwargs: object) -> ArtifactTarget:
    return ArtifactTarget(media_type=MediaType.IMAGE, backend="openai", prompt=prompt, **kwargs)  # type: ignore[arg-type]


def audio(**kwargs: object) -> ArtifactTarget:
    return ArtifactTarget(media_type=MediaType.AUDIO, backend="google", prompt="hello", **kwargs)  # type: ignore[arg-type]


def sink_in(root: Path, **kwargs: object) -> FilesystemSink:
    return FilesystemSink(allowed_roots=[root], default_dir=root, clock=lambda: FROZEN, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """tmp_path with symlinks resolved (macOS /tmp is one), as the sink reports paths."""
    return tmp_path.resolve()


def files_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if not p.is_dir())


# -- writing -----------------------------------------------------------------------------------------------------


def test_the_filesystem_sink_satisfies_the_port(tmp_path: Path) -> None:
    sink: ArtifactSink = sink_in(tmp_path)
    assert sink is not None


async def test_a_write_returns_the_path_mime_size_and_sha256_of_what_was_streamed(root: Path) -> None:
    artifact = await sink_in(root).write(chunks(PNG), image(), mime_type="image/png")
    assert artifact.path.parent == root
    assert artifact.path.is_absolute()
    assert artifact.path.read_bytes() == PNG
    assert artifact.size_bytes == len(PNG)
    assert artifact.sha256 == hashlib.sha256(PNG).hexdigest()
    assert artifact.mime_type == "image/png"
    assert NAME.match(artifact.path.name)
    assert artifact.path.name.startswith("20250601-123045_openai_a-red-fox_")
    assert files_in(root) == [artifact.path.name]


async def test_the_extension_and_mime_come_from_the_content_not_the_claim(tmp_path: Path) -> None:
    artifact = await sink_in(tmp_path).write(chunks(JPEG), image(), mime_type="image/png")
    assert artifact.mime_type == "image/jpeg"
    assert artifact.path.suffix == ".jpg"


async def test_a_caller_filename_keeps_its_stem_but_never_its_extension(root: Path) -> None:
    artifact = await sink_in(root).write(chunks(PNG), image(filename="photo.exe"), mime_type="image/png")
    assert artifact.path == root / "photo.png"


async def test_progress_reports_the_running_total_per_chunk(tmp_path: Path) -> None:
    seen: list[int] = []
    artifact = await sink_in(tmp_path).write(chunks(PNG, 300), image(), mime_type="image/png", on_bytes=seen.append)
    assert seen == [300, 600, 900, len(PNG)]
    assert seen[-1] == artifact.size_bytes


async def test_tiny_and_empty_chunks_are_gathered_before_sniffing(tmp_path: Path) -> None:
    parts = [b"", *(PNG[i : i + 1] for i in range(40)), b"", PNG[40:]]
    artifact = await sink_in(tmp_path).write(from_parts(parts), image(), mime_type="image/png")
    assert artifact.path.read_bytes() == PNG
    assert artifact.mime_type == "image/png"


async def test_the_default_dir_is_created_inside_the_root_when_missing(tmp_path: Path) -> None:
    out = tmp_path / "out" / "images"
    sink = FilesystemSink(allowed_roots=[tmp_path], default_dir=out, clock=lambda: FROZEN)
    artifact = await sink.write(chunks(PNG), image(), mime_type="image/png")
    assert artifact.path.parent == out.resolve()


async def test_an_explicit_output_dir_inside_a_root_wins_over_the_default(tmp_path: Path) -> None:
    other = tmp_path / "other"
    artifact = await sink_in(tmp_path).write(chunks(PNG), image(output_dir=other), mime_type="image/png")
    assert artifact.path.parent == other.resolve()


async def test_a_video_and_an_audio_file_are_accepted_for_their_media_types(tmp_path: Path) -> None:
    sink = sink_in(tmp_path)
    video = ArtifactTarget(media_type=MediaType.VIDEO, backend="xai", prompt="waves")
    assert (await sink.write(chunks(MP4), video, mime_type="video/mp4")).path.suffix == ".mp4"
    assert (await sink.write(chunks(WAV), audio(), mime_type="audio/wav")).path.suffix == ".wav"


# -- names never collide, paths never escape -------------------------------------------------------------------

PROMPTS = st.text(max_size=60)
BACKENDS = st.text(max_size=20) | st.sampled_from(["openai", "google", "xai", "openrouter", "elevenlabs"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(jobs=st.lists(st.tuples(BACKENDS, PROMPTS), min_size=1, max_size=12))
async def test_writes_in_the_same_second_never_collide_and_stay_under_the_root(
    root: Path, jobs: list[tuple[str, str]]
) -> None:
    sink = sink_in(root)
    before = set(files_in(root))
    targets = [ArtifactTarget(media_type=MediaType.IMAGE, backend=b, prompt=p) for b, p in jobs]
    payloads = [PNG + str(i).encode() for i in range(len(jobs))]
    artifacts = await asyncio.gather(
        *(sink.write(chunks(data), t, mime_type="image/png") for data, t in zip(payloads, targets, strict=True))
    )
    paths = [a.path for a in artifacts]
    assert len(set(paths)) == len(paths)
    assert not before & {p.name for p in paths}
    for artifact, data in zip(artifacts, payloads, strict=True):
        assert artifact.path.parent == root
        assert re.fullmatch(r"[A-Za-z0-9._-]+", artifact.path.name)
        assert artifact.path.read_bytes() == data
    assert not [name for name in files_in(root) if ".part-" in name]


async def test_a_taken_generated_name_gets_a_fresh_short_id(tmp_path: Path) -> None:
    ids = itertools.chain(["aaaaaa", "aaaaaa", "bbbbbb"])
    sink = sink_in(tmp_path, short_id=lambda: next(ids))
    first = await sink.write(chunks(PNG), image(), mime_type="image/png")
    second = await sink.write(chunks(JPEG), image(), mime_type="image/jpeg")
    third = await sink.write(chunks(PNG + b"x"), image(), mime_type="image/png")
    assert first.path.name.endswith("_aaaaaa.png")
    assert second.path.name.endswith("_aaaaaa.jpg")  # another extension is another name
    assert third.path.name.endswith("_bbbbbb.png")
    assert first.path.read_bytes() == PNG
    assert third.path.read_bytes() == PNG + b"x"


async def test_concurrent_writes_with_repeating_ids_all_land_and_none_is_overwritten(tmp_path: Path) -> None:
    counter = itertools.count()
    sink = sink_in(tmp_path, short_id=lambda: f"{next(counter) // 3:06x}")  # every id is handed out three times
    payloads = [PNG + bytes([i]) for i in range(12)]
    artifacts = await asyncio.gather(*(sink.write(chunks(p), image(), mime_type="image/png") for p in payloads))
    assert len({a.path for a in artifacts}) == 12
    for artifact, payload in zip(artifacts, payloads, strict=True):
        assert artifact.path.read_bytes() == payload


@pytest.mark.parametrize("escape", ["../outside", "inside/../../outside", "/"])
async def test_a_dot_dot_or_absolute_escape_is_refused_before_anything_is_created(tmp_path: Path, escape: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    sink = sink_in(root)
    with pytest.raises(PathNotAllowed) as caught:
        await sink.write(chunks(PNG), image(output_dir=root / escape), mime_type="image/png")
    message = str(caught.value)
    assert "outside the allowed roots" in message
    assert str(root.resolve()) in message
    assert "allowed_roots" in message and "output dir" in message
    assert not (tmp_path / "outside").exists()
    assert files_in(tmp_path) == []


async def test_a_symlink_leading_outside_the_root_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathNotAllowed, match="resolves to"):
        await sink_in(root).write(chunks(PNG), image(output_dir=root / "link" / "deeper"), mime_type="image/png")
    assert list(outside.iterdir()) == []


async def test_a_symlinked_root_is_compared_after_resolving_it(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    sink = sink_in(tmp_path / "alias")
    artifact = await sink.write(chunks(PNG), image(output_dir=real / "sub"), mime_type="image/png")
    assert artifact.path.parent == (real / "sub").resolve()


async def test_a_symlink_staying_inside_the_root_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target", target_is_directory=True)
    artifact = await sink_in(tmp_path).write(chunks(PNG), image(output_dir=tmp_path / "link"), mime_type="image/png")
    assert artifact.path.parent == (tmp_path / "target").resolve()


async def test_an_output_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(PathNotAllowed, match="not a directory"):
        await sink_in(tmp_path).write(chunks(PNG), image(output_dir=tmp_path / "file"), mime_type="image/png")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only dirs")
async def test_a_read_only_output_dir_is_refused_with_a_hint(root: Path) -> None:
    locked = root / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(PathNotAllowed, match="permission denied; choose a writable output dir"):
            await sink_in(root).write(chunks(PNG), image(output_dir=locked), mime_type="image/png")
    finally:
        locked.chmod(0o700)
    assert files_in(root) == []


def test_a_sink_without_roots_or_with_a_zero_cap_cannot_be_built(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="allowed root"):
        FilesystemSink(allowed_roots=[], default_dir=tmp_path)
    with pytest.raises(ValueError, match="max_bytes"):
        FilesystemSink(allowed_roots=[tmp_path], default_dir=tmp_path, max_bytes=0)


# -- never overwrite unless asked -----------------------------------------------------------------------------


async def test_an_existing_filename_is_never_overwritten_without_overwrite(tmp_path: Path) -> None:
    existing = tmp_path / "photo.png"
    existing.write_bytes(b"precious")
    with pytest.raises(PathNotAllowed, match="overwrite") as caught:
        await sink_in(tmp_path).write(chunks(PNG), image(filename="photo.png"), mime_type="image/png")
    assert caught.value.path == str(existing.resolve())
    assert existing.read_bytes() == b"precious"
    assert files_in(tmp_path) == ["photo.png"]


async def test_overwrite_replaces_an_existing_filename(tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(b"old")
    artifact = await sink_in(tmp_path).write(
        chunks(PNG), image(filename="photo.png", overwrite=True), mime_type="image/png"
    )
    assert artifact.path.read_bytes() == PNG
    assert files_in(tmp_path) == ["photo.png"]


async def test_overwrite_replaces_a_symlink_itself_never_the_file_it_points_to(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside.png"
    root.mkdir()
    outside.write_bytes(b"not yours")
    (root / "photo.png").symlink_to(outside)
    artifact = await sink_in(root).write(
        chunks(PNG), image(filename="photo.png", overwrite=True), mime_type="image/png"
    )
    assert not artifact.path.is_symlink()
    assert artifact.path.read_bytes() == PNG
    assert outside.read_bytes() == b"not yours"


async def test_an_existing_symlink_at_the_filename_counts_as_taken(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside.png"
    root.mkdir()
    outside.write_bytes(b"not yours")
    (root / "photo.png").symlink_to(outside)
    with pytest.raises(PathNotAllowed, match="already exists"):
        await sink_in(root).write(chunks(PNG), image(filename="photo.png"), mime_type="image/png")
    assert outside.read_bytes() == b"not yours"


@pytest.mark.parametrize("renameat2", [True, False], ids=["rename-noreplace", "claim-then-rename"])
async def test_without_hard_links_the_name_is_still_claimed_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, renameat2: bool
) -> None:
    from mediagen.adapters.sinks import filesystem

    def no_links(src: object, dst: object, **at: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    if not renameat2:  # a system without renameat2 (not Linux, or an old C library)
        monkeypatch.setattr(filesystem, "_rename_noreplace", lambda directory, temp, final: None)
    (tmp_path / "photo.png").write_bytes(b"precious")
    sink = sink_in(tmp_path)
    with pytest.raises(PathNotAllowed, match="already exists"):
        await sink.write(chunks(PNG), image(filename="photo.png"), mime_type="image/png")
    assert (tmp_path / "photo.png").read_bytes() == b"precious"
    artifact = await sink.write(chunks(PNG), image(), mime_type="image/png")
    assert artifact.path.read_bytes() == PNG
    assert len(files_in(tmp_path)) == 2


# -- whole file or nothing ---------------------------------------------------------------------------------------


async def test_a_stream_failing_midway_leaves_no_file_at_all(tmp_path: Path) -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield PNG[:500]
        yield PNG[500:800]
        raise ConnectionResetError("connection lost")

    with pytest.raises(ConnectionResetError):
        await sink_in(tmp_path).write(failing(), image(), mime_type="image/png")
    assert files_in(tmp_path) == []


async def test_a_cancel_midway_leaves_no_file_at_all(tmp_path: Path) -> None:
    reached, never = asyncio.Event(), asyncio.Event()

    async def stalling() -> AsyncIterator[bytes]:
        yield PNG[:500]
        yield PNG[500:800]
        reached.set()
        await never.wait()
        yield PNG[800:]

    task = asyncio.ensure_future(sink_in(tmp_path).write(stalling(), image(), mime_type="image/png"))
    await reached.wait()
    assert [n for n in files_in(tmp_path) if ".part-" in n]  # the temp file really exists at this point
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_cancels_repeated_while_a_worker_thread_writes_leave_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    """A second Ctrl-C, or anyio re-cancelling: the sink still waits for the thread, then removes its file."""
    import threading

    from mediagen.adapters.sinks import filesystem

    inside, release = threading.Event(), threading.Event()
    create = filesystem._TempFile.create

    def held(directory: Path, path: Path) -> filesystem._TempFile:
        made = create(directory, path)
        inside.set()
        release.wait(10)
        return made

    monkeypatch.setattr(filesystem._TempFile, "create", staticmethod(held))

    async def parts() -> AsyncIterator[bytes]:
        yield PNG
        if streamed:  # more than one batch: the sink opens the temp file before the stream ends
            yield b"\0" * (WRITE_BATCH + 1)
            await asyncio.Event().wait()

    task = asyncio.ensure_future(sink_in(tmp_path).write(parts(), image(), mime_type="image/png"))
    await asyncio.to_thread(inside.wait, 10)
    for _ in range(3):
        task.cancel()
        await asyncio.sleep(0.01)
    assert not task.done()  # still waiting for the thread, whatever the cancels
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert files_in(tmp_path) == []


async def test_a_cancel_before_any_bytes_leaves_no_file(tmp_path: Path) -> None:
    reached, never = asyncio.Event(), asyncio.Event()

    async def silent() -> AsyncIterator[bytes]:
        reached.set()
        await never.wait()
        yield PNG

    task = asyncio.ensure_future(sink_in(tmp_path).write(silent(), image(), mime_type="image/png"))
    await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert files_in(tmp_path) == []


async def test_output_over_the_size_cap_is_refused_and_discarded(tmp_path: Path) -> None:
    sink = sink_in(tmp_path, max_bytes=1000)
    with pytest.raises(BackendError, match="max_artifact_bytes") as caught:
        await sink.write(chunks(PNG), image(), mime_type="image/png")
    assert "1000 bytes" in str(caught.value)
    assert caught.value.backend == "openai"
    assert files_in(tmp_path) == []


async def test_output_exactly_at_the_size_cap_is_written(tmp_path: Path) -> None:
    artifact = await sink_in(tmp_path, max_bytes=len(PNG)).write(chunks(PNG), image(), mime_type="image/png")
    assert artifact.size_bytes == len(PNG)


async def test_a_cap_smaller_than_the_sniffed_head_is_still_enforced(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="exceeded"):
        await sink_in(tmp_path, max_bytes=10).write(chunks(PNG, 4), image(), mime_type="image/png")
    assert files_in(tmp_path) == []


# -- the content must match the media type ---------------------------------------------------------------------


async def test_content_of_another_media_type_is_a_backend_error(tmp_path: Path) -> None:
    video = ArtifactTarget(media_type=MediaType.VIDEO, backend="xai", prompt="waves")
    with pytest.raises(BackendError, match="xai returned image/png where a video was expected"):
        await sink_in(tmp_path).write(chunks(PNG), video, mime_type="video/mp4")
    assert files_in(tmp_path) == []


async def test_unrecognised_content_is_a_backend_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="openai returned unrecognised data where an image was expected"):
        await sink_in(tmp_path).write(chunks(b"<html>error page</html>" * 10), image(), mime_type="image/png")
    assert files_in(tmp_path) == []


async def test_an_empty_stream_is_a_backend_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="returned no data where an image was expected"):
        await sink_in(tmp_path).write(from_parts([b"", b""]), image(), mime_type="image/png")
    assert files_in(tmp_path) == []


# -- raw PCM -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("claimed", ["audio/pcm", "audio/L16", "audio/L16;codec=pcm;rate=24000", "AUDIO/PCM"])
async def test_unsniffable_audio_claimed_as_pcm_is_written_as_pcm(tmp_path: Path, claimed: str) -> None:
    samples = bytes(range(1, 200))
    artifact = await sink_in(tmp_path).write(chunks(samples), audio(), mime_type=claimed)
    assert artifact.mime_type == "audio/pcm"
    assert artifact.path.suffix == ".pcm"
    assert artifact.path.read_bytes() == samples


async def test_pcm_starting_like_an_mpeg_frame_sync_is_still_pcm(tmp_path: Path) -> None:
    samples = b"\xff\xff\xfe\xff" + bytes(100)  # samples -1, -2, then silence
    artifact = await sink_in(tmp_path).write(chunks(samples), audio(), mime_type="audio/L16;rate=24000")
    assert artifact.path.suffix == ".pcm"


async def test_a_real_container_claimed_as_pcm_keeps_its_own_type(tmp_path: Path) -> None:
    artifact = await sink_in(tmp_path).write(chunks(WAV), audio(), mime_type="audio/pcm")
    assert artifact.mime_type == "audio/wav"


async def test_unsniffable_audio_not_claimed_as_pcm_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="unrecognised data where audio was expected"):
        await sink_in(tmp_path).write(chunks(bytes(100)), audio(), mime_type="audio/mpeg")


async def test_a_pcm_claim_does_not_make_an_image_out_of_noise(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="unrecognised data"):
        await sink_in(tmp_path).write(chunks(bytes(100)), image(), mime_type="audio/pcm")


@pytest.mark.parametrize(
    ("mime", "expected"),
    [("audio/pcm", True), ("audio/L16; rate=16000", True), ("audio/wav", False), ("image/png", False)],
)
def test_pcm_claims_are_recognised_by_their_base_type(mime: str, expected: bool) -> None:
    assert is_pcm(mime) is expected


# -- worker-thread hops ------------------------------------------------------------------------------------------


class CountingExecutor(ThreadPoolExecutor):
    """A real thread pool that counts the blocking jobs handed to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.jobs = 0

    def submit(self, fn: Callable[..., object], /, *args: object, **kwargs: object) -> Future[object]:
        self.jobs += 1
        return super().submit(fn, *args, **kwargs)


async def test_an_artifact_handed_over_in_one_piece_costs_one_worker_thread_job(tmp_path: Path) -> None:
    executor = CountingExecutor()
    asyncio.get_running_loop().set_default_executor(executor)
    artifact = await sink_in(tmp_path).write(from_parts([PNG]), image(), mime_type="image/png")
    assert artifact.path.read_bytes() == PNG
    assert executor.jobs == 1  # check the directory, write, fsync and place, all at once


async def test_a_long_stream_is_written_in_batches_byte_for_byte(tmp_path: Path) -> None:
    executor = CountingExecutor()
    asyncio.get_running_loop().set_default_executor(executor)
    data = PNG + bytes(range(256)) * (3 * WRITE_BATCH // 256)
    seen: list[int] = []
    artifact = await sink_in(tmp_path).write(
        chunks(data, 64 * 1024), image(), mime_type="image/png", on_bytes=seen.append
    )
    assert artifact.path.read_bytes() == data
    assert artifact.size_bytes == len(data)
    assert artifact.sha256 == hashlib.sha256(data).hexdigest()
    assert seen[-1] == len(data) and len(seen) == -(-len(data) // (64 * 1024))  # progress still per chunk
    assert executor.jobs <= 2 + -(-len(data) // WRITE_BATCH)  # open, one write per batch, seal and place
    assert [n for n in files_in(tmp_path) if ".part-" in n] == []


# -- write_and_keep: something kept in the job that places the file -----------------------------------------------


@pytest.mark.parametrize("size", [len(PNG), 2 * WRITE_BATCH + 7], ids=["whole", "streamed"])
async def test_keep_runs_in_the_placing_job_after_the_bytes_are_durable_and_before_the_name_exists(
    root: Path, size: int
) -> None:
    data = (PNG * (size // len(PNG) + 1))[:size]
    seen: list[tuple[list[str], int, bool]] = []

    def keep() -> str:
        temps = [name for name in files_in(root) if ".part-" in name]
        held = sum((root / name).stat().st_size for name in temps)
        on_loop = True
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            on_loop = False
        seen.append(([name for name in files_in(root) if ".part-" not in name], held, on_loop))
        return "kept-1"

    artifact, kept = await sink_in(root).write_and_keep(
        chunks(data, 64 * 1024), image(), mime_type="image/png", keep=keep
    )
    assert kept == "kept-1"
    assert seen == [([], size, False)]  # no final name yet, all bytes in the temp file, off the event loop
    assert artifact.path.read_bytes() == data and files_in(root) == [artifact.path.name]


@pytest.mark.parametrize("size", [len(PNG), 2 * WRITE_BATCH + 7], ids=["whole", "streamed"])
async def test_a_failing_keep_leaves_no_file_and_no_temp_file(root: Path, size: int) -> None:
    data = (PNG * (size // len(PNG) + 1))[:size]

    def keep() -> str:
        raise RuntimeError("the database is gone")

    with pytest.raises(RuntimeError, match="database is gone"):
        await sink_in(root).write_and_keep(chunks(data, 64 * 1024), image(), mime_type="image/png", keep=keep)
    assert files_in(root) == []


async def test_a_failing_keep_never_replaces_the_file_that_was_there(root: Path) -> None:
    (root / "fox.png").write_bytes(b"the old one")

    def keep() -> str:
        raise RuntimeError("the database is gone")

    with pytest.raises(RuntimeError):
        await sink_in(root).write_and_keep(
            chunks(PNG), image(filename="fox.png", overwrite=True), mime_type="image/png", keep=keep
        )
    assert files_in(root) == ["fox.png"] and (root / "fox.png").read_bytes() == b"the old one"
