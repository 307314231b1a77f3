"""Human output for the CLI: a rich progress display on stderr and readable summaries."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from mediagen.domain.result import GenerationResult
from mediagen.ports.progress import (
    Downloading,
    Failed,
    FellBack,
    Polling,
    ProgressEvent,
    Retried,
    Selected,
    Submitted,
    Throttled,
    Written,
)

stderr = Console(stderr=True, highlight=False, soft_wrap=True)  # one line per message, even when piped to a log
stdout = Console(highlight=False, soft_wrap=True)


class ProgressDisplay:
    """One progress line per item on stderr while it is a terminal; silent otherwise."""

    def __init__(self, *, enabled: bool | None = None, labels: list[str] | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._labels = labels or []
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[amount]}"),  # a job's percent while it runs, then bytes while downloading
            TimeElapsedColumn(),
            console=stderr,
            transient=True,
        )
        self._tasks: dict[int | None, TaskID] = {}

    def __enter__(self) -> ProgressDisplay:
        if self.enabled:
            self._progress.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.enabled:
            self._progress.stop()

    def __call__(self, event: ProgressEvent) -> None:
        if not self.enabled:
            return
        task = self._task(event.item)
        label = self._labels[event.item] if event.item is not None and event.item < len(self._labels) else ""
        prefix = f"[{event.item + 1}] {label} " if event.item is not None else ""
        if isinstance(event, Selected):
            self._progress.update(task, description=f"{prefix}{event.backend} · {event.model}")
        elif isinstance(event, Submitted):
            self._progress.update(task, description=f"{prefix}{event.backend} job {event.job_id}")
        elif isinstance(event, Polling):
            description = f"{prefix}{event.backend} {event.status}"
            if event.percent is None:  # the bar keeps pulsing; what there is to show is how long the wait has been
                waited = "" if event.elapsed_seconds is None else f"{event.elapsed_seconds:.0f} s"
                polls = "" if event.polls is None else f"poll {event.polls}"
                self._progress.update(task, description=description, amount=" · ".join(filter(None, (polls, waited))))
            else:
                self._progress.update(
                    task, description=description, total=100, completed=event.percent, amount=f"{event.percent:.0f}%"
                )
        elif isinstance(event, Downloading):
            amount = _size(event.received) + (f" / {_size(event.total)}" if event.total is not None else "")
            self._progress.update(
                task,
                description=f"{prefix}{event.backend} downloading",
                total=event.total,
                completed=event.received,
                amount=amount,
            )
        elif isinstance(event, Retried):
            self._progress.console.print(
                f"{prefix}{event.backend}: {event.error_code}, retry {event.attempt} in {event.wait_seconds:.1f} s"
            )
        elif isinstance(event, Throttled):
            self._progress.update(
                task, description=f"{prefix}{event.backend} waiting for its requests_per_minute budget"
            )
        elif isinstance(event, FellBack):
            self._progress.console.print(
                f"{prefix}{event.backend} failed ({event.error_code}); trying {event.to_backend}"
            )
        elif isinstance(event, (Written, Failed)):
            self._progress.update(task, visible=False)

    def _task(self, item: int | None) -> TaskID:
        if item not in self._tasks:
            self._tasks[item] = self._progress.add_task("starting", total=None, amount="")
        return self._tasks[item]


def print_result(result: GenerationResult) -> None:
    stdout.print(f"[bold green]wrote[/] {result.artifact.path}")
    line = f"  {result.backend} · {result.model} · {_size(result.artifact.size_bytes)} · {result.elapsed_seconds:.1f} s"
    stdout.print(line)
    if result.continuation_id:
        stdout.print(f"  continue with: --continue-from {result.continuation_id}")
    for adapted in result.adapted:
        stdout.print(f"  adapted {adapted.name}: {adapted.requested} -> {adapted.used} {adapted.reason}".rstrip())
    for ignored in result.ignored:
        stdout.print(f"  [yellow]ignored[/] {ignored.name}: {ignored.reason}")
    for fallback in result.fallbacks:
        stdout.print(f"  fell back from {fallback.backend} ({fallback.error_code})")


def print_error(message: str, code: str | None = None) -> None:
    tag = f" [dim]({code})[/]" if code else ""
    stderr.print(f"[bold red]error:[/] {_escape(message)}{tag}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def local_time(timestamp: float) -> str:
    """A Unix time as people read it: the local date and time, with the zone ("2026-12-07 06:01:05 CET")."""
    import datetime

    return datetime.datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def iso_time(timestamp: float) -> str:
    """A Unix time as JSON carries it: ISO 8601 in UTC ("2026-12-07T05:01:05+00:00")."""
    import datetime

    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).isoformat(timespec="seconds")


def age(created_at: float, now: float | None = None) -> str:
    """How long ago a Unix time was, for people: "42 s ago", "5 min ago", "3 h ago", "2 d ago"."""
    import time

    seconds = max(0.0, (time.time() if now is None else now) - created_at)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def _size(n: int) -> str:
    value: float = n
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _cell(value: object) -> str:
    """A table cell: yes/no for a flag (JSON keeps true/false), blank for none, else the value's text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    from rich.measure import Measurement
    from rich.table import Table

    grid = Table(*columns, show_lines=False)
    for row in rows:
        grid.add_row(*(_cell(row.get(c, "")) for c in columns))
    if stdout.is_terminal:
        stdout.print(grid)
        return
    # Piped: as wide as the content, so no model name or env var is cut with "…" (useless to copy or grep).
    natural = Measurement.get(stdout, stdout.options.update(max_width=10_000), grid).maximum
    Console(highlight=False, width=max(natural, stdout.width)).print(grid)
