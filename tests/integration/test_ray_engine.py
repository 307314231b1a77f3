"""Batches on a real local Ray cluster of two worker processes, against the sandbox's OpenAI fake: workers killed
mid-item, a video job resumed rather than paid for twice, and the CLI showing items' progress as they run."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from mediagen import Container, MediaRequest, MediaType
from mediagen.adapters.stores.sqlite import SqliteStore
from mediagen.application.settings import Settings, load_settings
from mediagen.entrypoints.ray_engine import RayEngine
from mediagen.ports.continuation import JOB_KIND
from mediagen.ports.progress import ProgressEvent, Submitted, Written
from mediagen.sandbox import SandboxSettings, SandboxThread

ray = pytest.importorskip("ray")

#: The key the workers find in their environment; it is never shipped to them.
WORKER_KEY = "sk-from-the-workers-environment"
#: Ray names each item's task (and titles the worker process running it) after the item's index.
TITLE = b"ray::mediagen-item-"


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """One local Ray cluster of two CPUs for the module (its address), started with the key in the environment its
    worker processes inherit, as `ray start` in a shell with the key set would."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OPENAI_API_KEY", WORKER_KEY)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield ray.get_runtime_context().gcs_address
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxThread]:
    """Answers held back 0.4 s and Sora jobs of 5 polls, so a video item is still running when its worker dies."""
    with SandboxThread(("openai",), settings=SandboxSettings(latency=0.4, job_polls=5)) as running:
        yield running


def settings_for(sandbox: SandboxThread, tmp_path: Path) -> Settings:
    """Files under tmp_path/out, jobs recorded in one SQLite file every worker of this machine opens."""
    return load_settings(
        overrides={
            "output_dir": str(tmp_path / "out"),
            "store": {"kind": "sqlite", "path": str(tmp_path / "jobs.sqlite3")},
            "backends": {"openai": {"base_url": sandbox.base_url("openai")}},
        }
    )


async def run_batch(settings: Settings, requests: list[MediaRequest], listen: Any) -> Any:
    box: Any = Container()
    box.settings.override(providers.Object(settings))
    engine = RayEngine()  # joins the module's cluster, and leaves it running when closed
    try:
        async with box.service() as service:
            return await service.generate_batch(requests, progress=listen, engine=engine)
    finally:
        await engine.aclose()


def workers_running(item: int | None = None) -> list[int]:
    """Ray worker processes running an item now (`item`, or any): Ray titles them after the task while it runs."""
    wanted = TITLE + (b"" if item is None else str(item).encode())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                title = cmdline.read().split(b"\0")[0]
        except OSError:
            continue
        if title == wanted or (item is None and title.startswith(TITLE)):
            found.append(int(entry))
    return found


async def test_a_batch_on_two_ray_workers_survives_one_dying_mid_item_and_every_result_arrives_once(
    cluster: str, sandbox: SandboxThread, tmp_path: Path
) -> None:
    settings = settings_for(sandbox, tmp_path)
    assert WORKER_KEY not in repr(settings)
    killed: list[int] = []
    events: list[ProgressEvent] = []

    def listen(event: ProgressEvent) -> None:
        events.append(event)
        if isinstance(event, Written) and not killed:  # the first item is in: kill a worker in the middle of one
            busy = workers_running()
            if busy:
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])

    requests = [MediaRequest(media_type=MediaType.IMAGE, prompt=f"fox {n}", backend="openai") for n in range(6)]
    batch = await run_batch(settings, requests, listen)
    assert killed, "no worker was busy when the first item finished"
    assert [item.index for item in batch.items] == list(range(6))
    assert batch.succeeded == 6, [item.error for item in batch.items if item.error]
    paths = {item.result.path for item in batch.items if item.result}
    assert len(paths) == 6 and all(path.is_file() and "fox" in path.name for path in paths)
    assert sorted(e.item for e in events if isinstance(e, Written)) == list(range(6))


async def test_a_video_item_whose_worker_dies_after_its_job_was_recorded_resumes_that_job_without_a_second_create(
    cluster: str, sandbox: SandboxThread, tmp_path: Path
) -> None:
    settings = settings_for(sandbox, tmp_path)
    creates_before = len(sandbox.state("openai").requests_to("/v1/videos", "POST"))
    killed: dict[int, int] = {}

    def listen(event: ProgressEvent) -> None:
        # Submitted comes once the item's job is recorded in the store: its worker dies with the job running.
        if isinstance(event, Submitted) and event.item is not None and not killed:
            for pid in workers_running(event.item):
                os.kill(pid, signal.SIGKILL)
                killed[event.item] = pid

    requests = [MediaRequest(media_type=MediaType.VIDEO, prompt=f"waves {n}", backend="openai") for n in range(3)]
    batch = await run_batch(settings, requests, listen)
    assert killed, "no item's worker was found running while its job was recorded"
    assert [item.index for item in batch.items] == [0, 1, 2]
    assert batch.succeeded == 3, [item.error for item in batch.items if item.error]
    creates = sandbox.state("openai").requests_to("/v1/videos", "POST")[creates_before:]
    assert len(creates) == 3  # one Sora job per item: the killed item's next attempt waited for its job
    assert sorted(str(r.params["prompt"]) for r in creates) == ["waves 0", "waves 1", "waves 2"]
    job_ids = {item.result.job_id for item in batch.items if item.result}
    assert len(job_ids) == 3 and job_ids <= set(sandbox.state("openai").videos)
    assert all(item.result and item.result.path.is_file() for item in batch.items)
    store = SqliteStore(tmp_path / "jobs.sqlite3")
    assert await store.records(JOB_KIND) == []  # every job collected, so forgotten
    await store.aclose()


def test_the_batch_command_on_ray_shows_each_items_progress_while_it_runs(
    cluster: str, sandbox: SandboxThread, tmp_path: Path
) -> None:
    (tmp_path / "prompts.txt").write_text("waves 0\nwaves 1\n")
    env = {
        **os.environ,
        "OPENAI_API_KEY": WORKER_KEY,
        "MEDIAGEN_BACKENDS__OPENAI__BASE_URL": sandbox.base_url("openai"),
        "MEDIAGEN_STORE__KIND": "sqlite",
        "MEDIAGEN_STORE__PATH": str(tmp_path / "jobs.sqlite3"),
        "COLUMNS": "200",
    }
    argv = ["batch", "prompts.txt", "--type", "video", "--backend", "openai", "--engine", "ray", "--address", cluster]
    code, out, err = run_with_terminal_stderr([*argv, "-o", str(tmp_path / "out")], tmp_path, env)
    assert code == 0, f"{out}\n{err}"
    assert "2 of 2 succeeded" in out
    # Each item's line names its backend only from the events its worker sent while it ran (the driver's own
    # event for an item, when it finishes, just clears its line); the job's polls show its status.
    assert "[1] waves 0 openai" in err and "[2] waves 1 openai" in err, err
    assert re.search(r"\[\d\] waves \d openai (queued|in_progress)", err), err


def run_with_terminal_stderr(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """`mediagen ARGS` with stderr on a pseudo-terminal (so the progress display is on), ANSI sequences removed."""
    master, slave = pty.openpty()
    command = [sys.executable, "-m", "mediagen.entrypoints.cli", *args]
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # every holder of the terminal closed it
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        out, _ = proc.communicate(timeout=120)
    finally:
        reader.join(10)
        os.close(master)
    err = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", b"".join(chunks).decode("utf-8", "replace"))
    return proc.returncode, out.decode(), err
