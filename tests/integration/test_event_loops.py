"""One container used from one event loop after another, as `generate_sync(..., container=...)` uses it: every
backend the sandbox fakes works on each loop (their real SDK clients are bound to the loop they were made on),
and nothing is reported left open on a loop that is gone."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from dependency_injector import providers

import mediagen
from mediagen.application.settings import BackendSettings, Settings, StoreSettings
from mediagen.container import Container
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest

BACKENDS = [
    ("openai", MediaType.IMAGE),
    ("google", MediaType.IMAGE),
    ("xai", MediaType.IMAGE),
    ("openrouter", MediaType.IMAGE),
    ("elevenlabs", MediaType.AUDIO),
]


def sandboxed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[Container]:
    for name in list(os.environ):
        if name.startswith("MEDIAGEN_") or name.endswith(("_API_KEY", "_BASE_URL")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    made = Container(settings=providers.Object(settings))
    yield made
    made.shutdown_resources()


@pytest.fixture
def container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Container]:
    settings = Settings(sandbox=True, output_dir=tmp_path / "out", store=StoreSettings(kind="memory"))
    yield from sandboxed(tmp_path, monkeypatch, settings)


@pytest.mark.parametrize(("backend", "media_type"), BACKENDS, ids=[name for name, _ in BACKENDS])
def test_generate_sync_with_one_container_works_on_every_call_and_leaves_nothing_open(
    container: Container, backend: str, media_type: MediaType, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        for n in range(3):
            request = MediaRequest(media_type=media_type, prompt=f"a red fox, take {n}", backend=backend)
            result = mediagen.generate_sync(request, container=container)
            assert isinstance(result.path, Path) and result.path.stat().st_size > 0
        gc.collect()
    left = [record.getMessage() for record in caplog.records if record.name in ("asyncio", "aiohttp.client")]
    assert left == []


@pytest.fixture
def on_redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_server_url: str) -> Iterator[Container]:
    """The Redis store, and call limits shared through Redis (a rate and a concurrency cap on xAI)."""
    settings = Settings(
        sandbox=True,
        output_dir=tmp_path / "out",
        store=StoreSettings(kind="redis", url=redis_server_url),
        backends={"xai": BackendSettings(requests_per_minute=600, max_concurrent=2)},
    )
    yield from sandboxed(tmp_path, monkeypatch, settings)


def test_generate_sync_with_one_container_on_redis_keeps_and_continues_across_loops(
    on_redis: Container, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis clients belong to their loop too: the store and the shared limits build theirs again on each."""
    with caplog.at_level(logging.WARNING):
        for n in range(3):
            first = MediaRequest(media_type=MediaType.IMAGE, prompt=f"a red fox, take {n}", backend="xai")
            made = mediagen.generate_sync(first, container=on_redis)
            assert made.continuation_id is not None
            again = MediaRequest(media_type=MediaType.IMAGE, prompt="at night", continue_from=made.continuation_id)
            continued = mediagen.generate_sync(again, container=on_redis)
            assert continued.backend == "xai"
        gc.collect()
    assert [record.getMessage() for record in caplog.records if record.name.startswith(("asyncio", "redis"))] == []
