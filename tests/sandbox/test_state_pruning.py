"""A sandbox starting on a state_dir removes the records last written longer ago than state_ttl_seconds, so the
directory `--sandbox` runs share does not grow forever; whatever else is in the directory is left alone."""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI

from mediagen.sandbox import Sandbox, SandboxSettings
from mediagen.sandbox.records import RecordStore

HOUR = 3600.0
TOOL: list[Any] = [{"type": "image_generation", "size": "1024x1024", "quality": "low"}]


def settings(state_dir: Path, ttl: float | None = HOUR) -> SandboxSettings:
    return SandboxSettings(state_dir=state_dir, state_ttl_seconds=ttl, poll_after_ms=1, job_polls=1, video_fps=4)


def age(path: Path, seconds: float) -> None:
    """Make `path` (itself, not what a symlink points to) look last written `seconds` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


async def test_records_older_than_the_ttl_are_gone_on_the_next_sandbox_and_fresh_ones_continue(
    state_dir: Path,
) -> None:
    async with (
        Sandbox(vendors=("openai",), settings=settings(state_dir)) as one,
        AsyncOpenAI(base_url=one.base_url("openai"), api_key="k", max_retries=0) as client,
    ):
        old = await client.responses.create(model="gpt-5", input="a fox", tools=TOOL)
        fresh = await client.responses.create(model="gpt-5", input="a hare", tools=TOOL)
    responses = state_dir / "openai" / "responses"
    for path in responses.glob(f"{old.id}.*"):
        age(path, 2 * HOUR)
    async with (
        Sandbox(vendors=("openai",), settings=settings(state_dir)) as two,
        AsyncOpenAI(base_url=two.base_url("openai"), api_key="k", max_retries=0) as client,
    ):
        with pytest.raises(openai.NotFoundError):
            await client.responses.retrieve(old.id)
        assert (await client.responses.retrieve(fresh.id)).id == fresh.id
    assert not list(responses.glob(f"{old.id}.*"))
    assert {p.name for p in responses.glob(f"{fresh.id}.*")} == {f"{fresh.id}.json", f"{fresh.id}.bin"}


async def test_every_vendors_records_are_pruned_google_operations_and_files_included(state_dir: Path) -> None:
    for vendor, kind in (
        ("openai", "videos"),
        ("openai", "image_calls"),
        ("google", "operations"),
        ("google", "files"),
    ):
        store = RecordStore(state_dir / vendor)
        store.save(kind, "old_one", {"id": "old_one"})
        store.save(kind, "new_one", {"id": "new_one"})
        age(state_dir / vendor / kind / "old_one.json", 8 * 24 * HOUR)
    async with Sandbox(vendors=("openai", "google"), settings=SandboxSettings(state_dir=state_dir)):  # 7 days
        pass
    assert files_under(state_dir) == {
        "openai/videos/new_one.json",
        "openai/image_calls/new_one.json",
        "google/operations/new_one.json",
        "google/files/new_one.json",
    }


async def test_a_ttl_of_none_keeps_every_record(state_dir: Path) -> None:
    store = RecordStore(state_dir / "openai")
    store.save("responses", "resp_old", {"id": "resp_old"}, blob=b"image")
    for path in (state_dir / "openai" / "responses").iterdir():
        age(path, 365 * 24 * HOUR)
    async with Sandbox(vendors=("openai",), settings=settings(state_dir, ttl=None)):
        pass
    assert store.load("responses", "resp_old") is not None


async def test_without_a_state_dir_nothing_is_pruned(tmp_path: Path) -> None:
    kept = tmp_path / "openai" / "videos" / "video_1.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("{}")
    age(kept, 30 * 24 * HOUR)
    async with Sandbox(vendors=("openai",), settings=SandboxSettings(state_ttl_seconds=1.0)):
        pass
    assert kept.exists()


@pytest.mark.parametrize("bad", [0, -1.0, math.nan])
def test_a_ttl_that_is_not_positive_is_an_error_naming_the_setting(bad: float) -> None:
    with pytest.raises(ValueError, match="state_ttl_seconds must be > 0"):
        SandboxSettings(state_ttl_seconds=bad)
    with pytest.raises(ValueError, match=r"state_ttl_seconds=.* from MEDIAGEN_SANDBOX_OPTIONS is not valid"):
        SandboxSettings.from_strings({"state_ttl_seconds": str(bad)}, source="MEDIAGEN_SANDBOX_OPTIONS")


def test_the_ttl_is_read_from_text_none_included() -> None:
    assert SandboxSettings().state_ttl_seconds == 7 * 24 * HOUR
    assert SandboxSettings.from_strings({"state_ttl_seconds": "90"}).state_ttl_seconds == 90.0
    assert SandboxSettings.from_strings({"state_ttl_seconds": "None"}).state_ttl_seconds is None
    with pytest.raises(ValueError, match=r"state_ttl_seconds='a week'"):
        SandboxSettings.from_strings({"state_ttl_seconds": "a week"})


def test_files_a_store_does_not_write_and_symlinks_are_left_alone(state_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "kind").mkdir(parents=True)
    (outside / "victim.json").write_text("{}")
    (outside / "kind" / "rec_1.json").write_text("{}")
    videos = state_dir / "openai" / "videos"
    videos.mkdir(parents=True)
    (state_dir / "continuations.sqlite3").write_bytes(b"store")
    (state_dir / "openai" / "notes.json").write_text("not in a kind's directory")
    (state_dir / "openai" / "kind.with.dots").mkdir()
    (state_dir / "openai" / "kind.with.dots" / "rec_1.json").write_text("{}")
    for name in ("README", "video_1.json.orig", "video 2.json", ".video_3.json", ".video_4.json.tmp", "v.txt"):
        (videos / name).write_text("not a record")
    (videos / "dir_1.json").mkdir()
    (videos / "video_5.json").symlink_to(outside / "victim.json")
    (state_dir / "openai" / "linked").symlink_to(outside / "kind", target_is_directory=True)
    everything = [p for root in (state_dir, outside) for p in root.rglob("*")] + [videos / "video_5.json"]
    for path in everything:
        age(path, 30 * 24 * HOUR)
    before = files_under(state_dir) | files_under(outside)

    assert RecordStore(state_dir / "openai").prune(HOUR) == 0

    assert files_under(state_dir) | files_under(outside) == before
    assert (videos / "dir_1.json").is_dir() and (videos / "video_5.json").is_symlink()


def test_temporary_files_go_only_once_they_are_as_old_as_the_ttl(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    writing = videos / ".video_1.json.k2j_x9ab.tmp"  # another process is writing this record now
    abandoned = videos / ".video_2.bin.q8w3e_z1.tmp"  # a writer that died mid-write, long ago
    writing.write_bytes(b"{")
    abandoned.write_bytes(b"\0")
    age(abandoned, 2 * HOUR)
    assert RecordStore(tmp_path).prune(HOUR) == 1
    assert writing.exists() and not abandoned.exists()


def test_an_attachment_goes_with_its_record_or_alone_when_old_and_without_one(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    responses = tmp_path / "responses"
    store.save("responses", "resp_fresh", {"id": "resp_fresh"}, blob=b"image")
    age(responses / "resp_fresh.bin", 2 * HOUR)  # whatever its own age, the record that names it is fresh
    (responses / "resp_writing.bin").write_bytes(b"saved before its JSON")
    (responses / "resp_orphan.bin").write_bytes(b"its JSON was removed long ago")
    age(responses / "resp_orphan.bin", 2 * HOUR)
    store.save("responses", "resp_old", {"id": "resp_old"}, blob=b"image")
    for suffix in (".json", ".bin"):
        age(responses / f"resp_old{suffix}", 2 * HOUR)

    assert store.prune(HOUR) == 3

    assert {p.name for p in responses.iterdir()} == {"resp_fresh.json", "resp_fresh.bin", "resp_writing.bin"}
    assert store.load("responses", "resp_fresh") is not None


def test_age_counts_from_the_last_write(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    store.save("videos", "video_1", {"status": "queued"})
    now = time.time()
    assert store.prune(HOUR, now=now + HOUR / 2) == 0
    assert store.prune(HOUR, now=now + 2 * HOUR) == 1
    assert store.load("videos", "video_1") is None


def test_a_file_removed_by_another_process_meanwhile_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RecordStore(tmp_path)
    for record_id in ("video_1", "video_2"):
        store.save("videos", record_id, {"status": "completed"})
    unlink = Path.unlink

    def racing_unlink(self: Path, missing_ok: bool = False) -> None:
        """Another process prunes both records between this one listing and removing them."""
        for other in (tmp_path / "videos").glob("*.json"):
            unlink(other, missing_ok=True)
        unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", racing_unlink)
    assert store.prune(HOUR, now=time.time() + 2 * HOUR) == 0
    assert not list((tmp_path / "videos").iterdir())


def test_a_record_rewritten_after_it_was_listed_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = RecordStore(tmp_path)
    store.save("videos", "video_1", {"status": "queued"})
    age(tmp_path / "videos" / "video_1.json", 2 * HOUR)
    stat = Path.stat
    polled: list[Path] = []

    def stat_after_a_poll(self: Path, *, follow_symlinks: bool = True) -> os.stat_result:
        """Another process polls the job (rewriting its record) just before this one removes it."""
        if not polled:
            polled.append(self)
            store.save("videos", "video_1", {"status": "completed"})
        return stat(self, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(Path, "stat", stat_after_a_poll)
    assert store.prune(HOUR) == 0
    monkeypatch.undo()
    assert polled == [tmp_path / "videos" / "video_1.json"]
    found = store.load("videos", "video_1")
    assert found is not None and found.data == {"status": "completed"}


async def test_how_many_files_were_removed_is_logged_at_debug(
    state_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    RecordStore(state_dir / "openai").save("videos", "video_1", {})
    age(state_dir / "openai" / "videos" / "video_1.json", 2 * HOUR)
    with caplog.at_level(logging.DEBUG, logger="mediagen.sandbox"):
        async with Sandbox(vendors=("openai",), settings=settings(state_dir)):
            pass
    assert f"sandbox state {state_dir / 'openai'}: removed 1 files older than 3600 seconds" in caplog.messages
