"""pytest fixtures that run the sandbox for your own tests (entry point `pytest11`: mediagen.sandbox).

- `mediagen_sandbox`: an async `Sandbox` with every available fake, in the test's event loop
  (needs pytest-asyncio).
- `mediagen_sandbox_thread`: the same served from a background thread, for sync tests and any loop.
- `mediagen_sandbox_env`: `mediagen_sandbox_thread` with the env vars (OPENAI_BASE_URL, dummy keys, ...)
  set for the test, so code that builds its SDK clients from the environment talks to the fakes.

Importing this module starts nothing; each fixture starts its servers and stops them after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from mediagen.sandbox.server import Sandbox, SandboxThread

try:
    from pytest_asyncio import fixture as async_fixture
except ImportError:  # pragma: no cover - without pytest-asyncio, pytest itself says async fixtures need a plugin
    async_fixture = pytest.fixture  # type: ignore[assignment]


@async_fixture
async def mediagen_sandbox() -> AsyncIterator[Sandbox]:
    """Every available fake vendor on 127.0.0.1, started for this test and stopped after it (pytest-asyncio)."""
    async with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def mediagen_sandbox_thread() -> Iterator[SandboxThread]:
    """Every available fake vendor served from a background thread for this test."""
    with SandboxThread() as sandbox:
        yield sandbox


@pytest.fixture
def mediagen_sandbox_env(mediagen_sandbox_thread: SandboxThread, monkeypatch: pytest.MonkeyPatch) -> SandboxThread:
    """The threaded sandbox, with its env lines set for the duration of the test."""
    for key, value in mediagen_sandbox_thread.env().items():
        monkeypatch.setenv(key, value)
    return mediagen_sandbox_thread
