"""The shipped store contract run against every built-in store: memory, SQLite, Redis (fake and, if present, real)."""

from __future__ import annotations

from collections.abc import AsyncIterator
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


class TestRedisStoreOnRealRedis(ContinuationStoreContract):
    @pytest.fixture
    async def store(self, clock: FakeClock, redis_server_url: str) -> AsyncIterator[RedisStore]:
        admin = redis.asyncio.from_url(redis_server_url)
        await admin.flushdb()
        await admin.aclose()
        store = RedisStore(redis_server_url, ttl_seconds=HOUR, clock=clock)
        yield store
        await store.aclose()
