"""The shipped store contract run against every built-in store: memory, SQLite, Redis (fake and, if present, real)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import fakeredis
import pytest
import redis.asyncio

from mediagen.adapters.stores.memory import MemoryStore
from mediagen.adapters.stores.redis import RedisStore
from mediagen.adapters.stores.sqlite import SqliteStore
from mediagen.testing.store_contract import ContinuationStoreContract, FakeClock

HOUR = 3600.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class TestMemoryStore(ContinuationStoreContract):
    @pytest.fixture
    async def store(self, clock: FakeClock) -> AsyncIterator[MemoryStore]:
        store = MemoryStore(max_items=100, ttl_seconds=HOUR, clock=clock)
        yield store
        await store.aclose()


class TestSqliteStore(ContinuationStoreContract):
    @pytest.fixture
    async def store(self, clock: FakeClock, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        store = SqliteStore(tmp_path / "nested" / "continuations.sqlite3", ttl_seconds=HOUR, clock=clock)
        yield store
        await store.aclose()


class TestRedisStoreOnFakeRedis(ContinuationStoreContract):
    @pytest.fixture
    async def store(self, clock: FakeClock) -> AsyncIterator[RedisStore]:
        client = fakeredis.FakeAsyncRedis()
        store = RedisStore(client, ttl_seconds=HOUR, clock=clock)
        yield store
        await store.aclose()
        await client.aclose()


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def redis_server_url() -> Iterator[str]:
    """A throwaway redis-server on a loopback ephemeral port, without persistence; skipped when not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not on PATH")
    port = _free_loopback_port()
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:  # the server says when it accepts connections
            seen.append(line)
            if "Ready to accept connections" in line:
                break
        else:
            pytest.fail("redis-server exited before it was ready:\n" + "".join(seen))
        # Keep draining its log so a full pipe never blocks the server.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


class TestRedisStoreOnRealRedis(ContinuationStoreContract):
    @pytest.fixture
    async def store(self, clock: FakeClock, redis_server_url: str) -> AsyncIterator[RedisStore]:
        admin = redis.asyncio.from_url(redis_server_url)
        await admin.flushdb()
        await admin.aclose()
        store = RedisStore(redis_server_url, ttl_seconds=HOUR, clock=clock)
        yield store
        await store.aclose()
