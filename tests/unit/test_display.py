"""The CLI's progress display: what each progress event shows on its line."""

from __future__ import annotations

from pathlib import Path

from mediagen.entrypoints.display import ProgressDisplay, age
from mediagen.ports.progress import Downloading, Polling, Selected, Submitted, Written


def line(display: ProgressDisplay, item: int | None = None) -> tuple[str, str]:
    task = display._progress.tasks[list(display._tasks).index(item)]
    return str(task.description), str(task.fields["amount"])


def test_a_job_shows_its_status_and_percent_then_the_bytes_downloaded() -> None:
    display = ProgressDisplay(enabled=True)
    display(Selected(backend="openai", model="sora-2", explicit=True))
    assert line(display) == ("openai · sora-2", "")
    display(Submitted(backend="openai", job_id="video_1"))
    assert line(display)[0] == "openai job video_1"
    display(Polling(backend="openai", status="queued"))
    assert line(display) == ("openai queued", "")  # no percent known yet: a pulsing bar, no figure
    assert display._progress.tasks[0].total is None
    display(Polling(backend="openai", status="in_progress", percent=33.0))
    assert line(display) == ("openai in_progress", "33%")
    assert display._progress.tasks[0].total == 100
    display(Downloading(backend="openai", received=3 * 1024 * 1024, total=8 * 1024 * 1024))
    assert line(display) == ("openai downloading", "3.0 MiB / 8.0 MiB")
    display(Downloading(backend="openai", received=512))
    assert line(display)[1] == "512 B"
    display(Written(backend="openai", path=Path("x.mp4"), size_bytes=512))
    assert not display._progress.tasks[0].visible


def test_a_job_without_a_percent_shows_its_polls_and_the_time_waited() -> None:
    display = ProgressDisplay(enabled=True)
    display(Polling(backend="google", status="running", polls=3, elapsed_seconds=42.4))
    assert line(display) == ("google running", "poll 3 · 42 s")
    assert display._progress.tasks[0].total is None


def test_batch_items_get_their_own_numbered_lines() -> None:
    display = ProgressDisplay(enabled=True, labels=["a fox", "a cat"])
    display(Selected(backend="google", model="m", explicit=True, item=1))
    display(Selected(backend="openai", model="n", explicit=True, item=0))
    assert line(display, 1)[0] == "[2] a cat google · m"
    assert line(display, 0)[0] == "[1] a fox openai · n"


def test_a_disabled_display_ignores_every_event() -> None:
    display = ProgressDisplay(enabled=False)
    display(Polling(backend="openai", status="queued", percent=10.0))
    assert display._progress.tasks == []


def test_a_job_s_age_reads_in_the_largest_whole_unit() -> None:
    assert [age(1000.0 - ago, now=1000.0) for ago in (5, 125, 7300, 3 * 86400 + 5)] == [
        "5 s ago",
        "2 min ago",
        "2 h ago",
        "3 d ago",
    ]
