"""How a Ray batch's progress reaches the driver, without Ray: what a worker sends, and the relay's order."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from mediagen.entrypoints.ray_engine import ProgressRelay, _forwarder
from mediagen.ports.progress import Downloading, Failed, Polling, ProgressEvent, Selected, Submitted, Written


class _RelayHandle:
    """Stands for the relay's actor handle: `handle.push.remote(event)` is how a worker sends an event."""

    def __init__(self) -> None:
        self.sent: list[ProgressEvent] = []
        self.push = SimpleNamespace(remote=self.sent.append)


def test_a_worker_sends_its_items_events_but_not_the_outcome_which_the_driver_reports_itself() -> None:
    handle = _RelayHandle()
    forward = _forwarder(handle)
    events: list[ProgressEvent] = [
        Selected(item=2, backend="openai", model="sora-2", explicit=True),
        Submitted(item=2, backend="openai", job_id="openai_job_1"),
        Polling(item=2, backend="openai", status="in_progress", percent=40.0),
        Written(item=2, backend="openai", path=Path("/out/a.mp4"), size_bytes=9),
        Failed(item=2, backend="openai", error_code="x", message="y"),
    ]
    for event in events:
        forward(event)
    assert handle.sent == events[:3]


def test_byte_counts_are_sent_at_most_every_quarter_second_so_a_long_download_is_not_one_call_per_chunk() -> None:
    handle = _RelayHandle()
    forward = _forwarder(handle)
    for received in range(0, 1000, 10):  # a hundred chunks in far less than 0.25 s
        forward(Downloading(item=0, backend="openai", received=received, total=1000))
    assert [e.received for e in handle.sent if isinstance(e, Downloading)] == [0]


def test_a_relay_that_is_gone_does_not_fail_the_item() -> None:
    def gone(event: ProgressEvent) -> None:
        raise RuntimeError("the actor died")

    forward = _forwarder(SimpleNamespace(push=SimpleNamespace(remote=gone)))
    forward(Selected(item=0, backend="openai", model="sora-2", explicit=True))  # no error


async def test_the_relay_hands_out_events_in_the_order_they_came_and_waits_when_there_are_none() -> None:
    relay = ProgressRelay()
    first, second = (Polling(item=n, backend="openai", status="queued") for n in (0, 1))
    await relay.push(first)
    await relay.push(second)
    assert await relay.pull() == [first, second]
    waiting = asyncio.ensure_future(relay.pull())
    await asyncio.sleep(0)
    assert not waiting.done()
    await relay.push(first)
    assert await waiting == [first]
