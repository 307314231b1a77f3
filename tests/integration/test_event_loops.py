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
from mediagen.application.settings import Settings, StoreSettings
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


@pytest.fixture
def container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Container]:
    for name in list(os.environ):
        if name.startswith("MEDIAGEN_") or name.endswith(("_API_KEY", "_BASE_URL")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    settings = Settings(sandbox=True, output_dir=tmp_path / "out", store=StoreSettings(kind="memory"))
    made = Container(settings=providers.Object(settings))
    yield made
    made.shutdown_resources()


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
