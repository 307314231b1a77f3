"""Batches on a real local Ray cluster of two worker processes, against the sandbox's OpenAI fake."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dependency_injector import providers

from mediagen import Container, MediaRequest, MediaType
from mediagen.application.settings import load_settings
from mediagen.entrypoints.ray_engine import RayEngine
from mediagen.ports.progress import ProgressEvent, Written
from mediagen.sandbox import SandboxSettings, SandboxThread

pytest.importorskip("ray")


@pytest.fixture(scope="module")
def sandbox() -> AsyncIterator[SandboxThread]:
    with SandboxThread(settings=SandboxSettings(latency=1.0)) as running:
        yield running


def _busy_workers() -> list[int]:
    """Ray worker processes running an item now: Ray titles them after the task while it runs."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                title = cmdline.read().split(b"\0")[0]
        except OSError:
            continue
        if title.startswith(b"ray::run_item"):
            found.append(int(entry))
    return found


async def test_a_batch_on_two_ray_workers_survives_one_dying_mid_item_and_every_result_arrives_once(
    sandbox: SandboxThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-workers-environment")  # the workers inherit it; never shipped
    settings = load_settings(
        overrides={
            "output_dir": str(tmp_path),
            "store": {"kind": "memory"},
            "backends": {"openai": {"base_url": sandbox.base_url("openai")}},
        }
    )
    assert "sk-from" not in repr(settings)
    box: object = Container()
    box.settings.override(providers.Object(settings))  # type: ignore[attr-defined]
    engine = RayEngine(local_cpus=2)
    killed: list[int] = []
    events: list[ProgressEvent] = []

    def listen(event: ProgressEvent) -> None:
        events.append(event)
        if isinstance(event, Written) and not killed:  # the first item is in: kill a worker in the middle of one
            busy = _busy_workers()
            if busy:
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])

    requests = [MediaRequest(media_type=MediaType.IMAGE, prompt=f"fox {n}", backend="openai") for n in range(6)]
    try:
        async with box.service() as service:  # type: ignore[attr-defined]
            batch = await service.generate_batch(requests, progress=listen, engine=engine)
    finally:
        await engine.aclose()
    assert killed, "no worker was busy when the first item finished"
    assert [item.index for item in batch.items] == list(range(6))
    assert batch.succeeded == 6, [item.error for item in batch.items if item.error]
    written = os.listdir(tmp_path)
    assert len(written) == 6 == len({str(item.result.path) for item in batch.items if item.result})
    assert sorted(e.item for e in events if isinstance(e, Written)) == list(range(6))
    assert all(item.result and "fox" in item.result.path.name for item in batch.items)
