"""The CLI refuses odd input and unusable settings with exit 2 and the field named, and closes what it opened."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from mediagen.adapters.stores.sqlite import SqliteStore
from mediagen.domain.errors import ConfigurationError
from mediagen.entrypoints.cli import EXIT_USAGE
from tests.unit.test_cli import Invoke, mediagen, only_json

__all__ = ["mediagen"]  # the fixture, used by name


def unusable_store_paths(tmp_path: Path) -> dict[str, Path]:
    directory = tmp_path / "a-directory"
    directory.mkdir()
    garbage = tmp_path / "notes.sqlite3"
    garbage.write_bytes(b"these are notes, not a database " * 200)
    return {
        "directory": directory,
        "missing-parent": tmp_path / "no" / "such" / "dir" / "store.sqlite3",
        "not-a-database": garbage,
    }


@pytest.mark.parametrize("case", ["directory", "missing-parent", "not-a-database"])
def test_an_unusable_store_path_is_a_configuration_error_naming_it(mediagen: Invoke, tmp_path: Path, case: str) -> None:
    path = unusable_store_paths(tmp_path)[case]
    result = mediagen("jobs", "list", "--json", MEDIAGEN_STORE__PATH=str(path))
    data = only_json(result)
    assert result.exit_code == EXIT_USAGE, data
    assert (data["error_code"], data["key"]) == ("configuration_error", "store.path"), data
    assert "store.path" in data["error"] and str(path) in data["error"]


@pytest.mark.parametrize("case", ["directory", "missing-parent", "not-a-database"])
async def test_the_sqlite_store_names_store_path_when_its_file_is_unusable(tmp_path: Path, case: str) -> None:
    store = SqliteStore(unusable_store_paths(tmp_path)[case], create_parent=False)
    with pytest.raises(ConfigurationError) as caught:
        await store.load("x")
    assert caught.value.key == "store.path"
    await store.aclose()


def test_a_cancel_while_the_store_opens_leaves_no_thread_to_call_into_a_closed_loop(tmp_path: Path) -> None:
    """Ctrl-C ends `asyncio.run` by cancelling what runs, then closes the loop. A store opening just then must finish
    and close its connection first: otherwise aiosqlite's thread, done connecting, calls back into the closed loop
    ("Event loop is closed", an unhandled thread exception that fails this suite)."""
    before = set(threading.enumerate())

    async def interrupted() -> None:
        store = SqliteStore(tmp_path / "s.sqlite3")
        opening = asyncio.ensure_future(store.load("x"))
        await asyncio.sleep(0)  # one turn: the connection's thread is connecting
        opening.cancel()  # as asyncio.run does to every task on Ctrl-C, then it closes the loop

    asyncio.run(interrupted())
    for thread in set(threading.enumerate()) - before:
        if "_connection_worker_thread" in thread.name:  # aiosqlite's, not the loop's executor
            thread.join(timeout=10)
            assert not thread.is_alive(), "a connection thread outlives the loop"


@pytest.mark.parametrize("prompt", ["a fox \udcff", "\ud800"])
def test_a_prompt_of_undecodable_bytes_is_refused_naming_prompt(mediagen: Invoke, prompt: str) -> None:
    result = mediagen("image", prompt, "--sandbox", "--json")
    data = only_json(result)
    assert result.exit_code == EXIT_USAGE
    assert (data["error_code"], data["field"]) == ("invalid_request", "prompt")


# -- batch: every entry checked before the first is sent ----------------------------------------------------------


def batch_file(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(entries) + "\n")
    return path


@pytest.mark.parametrize(
    ("bad", "code", "words"),
    [
        ('{"prompt": "a cat", "media_type": "image", "backend": "nosuch"}', "invalid_request", "nosuch"),
        ('{"prompt": "a cat", "media_type": "image", "model": "no-such-model"}', "no_backend_available", "no-such"),
        ('{"prompt": "a cat", "media_type": "image", "input_images": ["cut.png"]}', "invalid_request", "decoded"),
        ('{"prompt": "a cat", "media_type": "image", "filename": "taken"}', "file_exists", "taken.png"),
        ('{"prompt": "a cat", "media_type": "image", "filename": "first"}', "invalid_request", "item 1"),
        ('{"prompt": "a cat", "media_type": "image", "continue_from": "x_image_0"}', "continuation_not_found", "x_"),
    ],
    ids=["backend", "model", "damaged-image", "taken-file", "same-file-twice", "unknown-continuation"],
)
def test_a_batch_with_one_bad_entry_sends_nothing(
    mediagen: Invoke, tmp_path: Path, bad: str, code: str, words: str
) -> None:
    from mediagen.testing.media import png

    (tmp_path / "cut.png").write_bytes(png(32, 32)[:100])
    (tmp_path / "taken.png").write_bytes(png(8, 8))
    path = batch_file(tmp_path, '{"prompt": "a fox", "media_type": "image", "filename": "first"}', bad)
    result = mediagen("batch", str(path), "--sandbox", "--json")
    data = only_json(result)
    assert result.exit_code == EXIT_USAGE, data
    assert data["error_code"] == code and words in data["error"], data
    assert "jobs.jsonl line 2" in data["error"]
    assert not (tmp_path / "first.png").exists(), "the good entry was sent before the bad one was found"


def test_a_batch_needs_no_type_when_every_entry_names_its_media_type(mediagen: Invoke, tmp_path: Path) -> None:
    path = batch_file(
        tmp_path, '{"prompt": "a fox", "media_type": "image"}', '{"prompt": "hello", "media_type": "audio"}'
    )
    result = mediagen("batch", str(path), "--sandbox", "--json")
    data = only_json(result)
    assert result.exit_code == 0, data
    assert [item["operation"] for item in data["results"]] == ["image", "audio"]


def test_a_batch_entry_without_a_media_type_and_no_type_names_both_fixes(mediagen: Invoke, tmp_path: Path) -> None:
    result = mediagen("batch", str(batch_file(tmp_path, "a fox")), "--sandbox", "--json")
    data = only_json(result)
    assert result.exit_code == EXIT_USAGE
    assert "media_type" in data["error"] and "--type" in data["error"]


# -- jobs ---------------------------------------------------------------------------------------------------------


def a_running_job(mediagen: Invoke, backend: str) -> str:
    """Start a video the sandbox keeps rendering past the timeout; return the recorded job id."""
    polls = {"MEDIAGEN_SANDBOX_OPTIONS__JOB_POLLS": "100000"}
    result = mediagen("video", "waves", "-b", backend, "--timeout", "6", "--sandbox", "--json", **polls)
    data = only_json(result)
    assert data["error_code"] == "generation_timeout", data
    job_id = data.get("job_id")
    assert isinstance(job_id, str), data
    return job_id


def test_jobs_cancel_deletes_a_sora_job_and_forgets_it(mediagen: Invoke) -> None:
    job_id = a_running_job(mediagen, "openai")
    result = mediagen("jobs", "cancel", job_id, "--sandbox", "--json")
    data = only_json(result)
    assert result.exit_code == 0, data
    assert data["job"]["backend"] == "openai" and data["job"]["vendor_job_id"].startswith("video_")
    assert only_json(mediagen("jobs", "list", "--sandbox", "--json"))["jobs"] == []


def test_jobs_cancel_of_a_veo_job_says_google_offers_none_and_forget_drops_it(mediagen: Invoke) -> None:
    job_id = a_running_job(mediagen, "google")
    result = mediagen("jobs", "cancel", job_id, "--sandbox", "--json")
    data = only_json(result)
    assert result.exit_code == EXIT_USAGE and "google offers no way to cancel" in data["error"], data
    assert [job["job_id"] for job in only_json(mediagen("jobs", "list", "--sandbox", "--json"))["jobs"]] == [job_id]
    assert only_json(mediagen("jobs", "forget", job_id, "--sandbox", "--json"))["success"] is True
    assert only_json(mediagen("jobs", "list", "--sandbox", "--json"))["jobs"] == []
    assert mediagen("jobs", "forget", job_id, "--sandbox").exit_code == EXIT_USAGE


def test_jobs_list_reclaims_partial_downloads_of_killed_runs_and_says_how_much(
    mediagen: Invoke, tmp_path: Path
) -> None:
    from mediagen.adapters.sinks.files import temp_name
    from tests.unit.test_sink_hardening import dead_pid

    (tmp_path / temp_name("clip.mp4", pid=dead_pid())).write_bytes(b"\x00" * 1_500_000)
    result = mediagen("jobs", "list")
    assert result.exit_code == 0
    assert "reclaimed 1.5 MB from 1 partial download" in result.stdout
    assert only_json(mediagen("jobs", "list", "--json"))["reclaimed"] == {"files": 0, "bytes": 0}
    assert sorted(p.name for p in tmp_path.iterdir() if ".part-" in p.name) == []
