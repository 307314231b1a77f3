"""Typed progress events and the listener that receives them."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import attrs

from mediagen.domain.result import ObjectUrl


@attrs.frozen(kw_only=True)
class _Event:
    backend: str = ""
    #: Position of the request in a batch; None for a single generation.
    item: int | None = None


@attrs.frozen(kw_only=True)
class Selected(_Event):
    model: str
    explicit: bool


@attrs.frozen(kw_only=True)
class Submitted(_Event):
    """A vendor job exists; `job_id` resumes it (`mediagen jobs resume`)."""

    job_id: str


@attrs.frozen(kw_only=True)
class Polling(_Event):
    """A vendor job was polled: its status, its percent when the vendor reports one, and always how many polls and
    seconds the wait has taken so far (what there is to show when the vendor reports no progress, as Veo)."""

    status: str
    percent: float | None = None
    polls: int | None = None
    elapsed_seconds: float | None = None


@attrs.frozen(kw_only=True)
class Downloading(_Event):
    received: int
    total: int | None = None


@attrs.frozen(kw_only=True)
class Written(_Event):
    path: Path | ObjectUrl
    size_bytes: int


@attrs.frozen(kw_only=True)
class Retried(_Event):
    attempt: int
    wait_seconds: float
    error_code: str
    message: str


@attrs.frozen(kw_only=True)
class Throttled(_Event):
    """The backend's `requests_per_minute` setting holds this call back for about `wait_seconds`."""

    wait_seconds: float


@attrs.frozen(kw_only=True)
class FellBack(_Event):
    """`backend` failed with `error_code`; the service moves on to `to_backend`."""

    to_backend: str
    error_code: str
    message: str


@attrs.frozen(kw_only=True)
class Failed(_Event):
    error_code: str
    message: str


ProgressEvent = Selected | Submitted | Polling | Downloading | Written | Retried | Throttled | FellBack | Failed


class ProgressListener(Protocol):
    """Called synchronously on the event loop: keep it quick and never raise."""

    def __call__(self, event: ProgressEvent, /) -> None: ...


def ignore_progress(event: ProgressEvent, /) -> None:
    """The listener used when nobody listens."""
