"""What each built-in store adds beyond the shared contract: ids, LRU order, SQLite files, Redis keys."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import fakeredis
import platformdirs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediagen.adapters.stores.ids import new_continuation_id
from mediagen.adapters.stores.memory import MemoryStore
from mediagen.adapters.stores.redis import RedisStore
from mediagen.adapters.stores.sqlite import SqliteStore, default_sqlite_path
from mediagen.application.registry import BackendRegistry
from mediagen.application.selector import BackendSelector
from mediagen.application.service import MediaService
from mediagen.application.settings import Settings
from mediagen.domain.errors import ConfigurationError
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.ports.continuation import JOB_KIND, ContinuationState
from mediagen.testing import FakeGenerator, MemorySink, StaticCredentials, fake_plugin, fake_spec
from mediagen.testing.store_contract import FakeClock

TTL = 100.0
CHAT = ContinuationState(kind="chat", data={"turns": 1})

# -- ids -------------------------------------------------------------------------------------------------------


@given(backend=st.text(), kind=st.text())
def test_an_id_is_made_of_safe_backend_and_kind_parts_and_twelve_hex_digits(backend: str, kind: str) -> None:
    continuation_id = new_continuation_id(backend, kind)
    assert re.fullmatch(r"[a-z0-9-]+_[a-z0-9-]+_[0-9a-f]{12}", continuation_id)
    assert ":" not in continuation_id


def test_an_id_keeps_plain_backend_and_kind_names_as_they_are() -> None:
    assert re.fullmatch(r"openai_job_[0-9a-f]{12}", new_continuation_id("openai", JOB_KIND))
    assert re.fullmatch(r"google_image-chat_[0-9a-f]{12}", new_continuation_id("google", "image-chat"))
    assert new_continuation_id("My Vendor", "Chat:History").startswith("my-vendor_chat-history_")


# -- memory ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_items", [0, -1, True, 1.5, "3"])
def test_memory_store_refuses_a_capacity_below_one_naming_max_items(max_items: object) -> None:
    with pytest.raises(ValueError, match="max_items"):
        MemoryStore(max_items=max_items)  # type: ignore[arg-type]


@pytest.mark.parametrize("ttl", [0, -5.0, float("nan"), True])
def test_every_store_refuses_a_ttl_that_is_not_positive_naming_ttl_seconds(ttl: float, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        MemoryStore(ttl_seconds=ttl)
    with pytest.raises(ValueError, match="ttl_seconds"):
        SqliteStore(tmp_path / "s.sqlite3", ttl_seconds=ttl)
    with pytest.raises(ValueError, match="ttl_seconds"):
        RedisStore(fakeredis.FakeAsyncRedis(), ttl_seconds=ttl)


def test_memory_store_defaults_to_fifty_items_for_seven_days() -> None:
    store = MemoryStore()
    assert store.max_items == 50
    assert store.ttl_seconds == 7 * 24 * 3600


async def test_saving_past_capacity_evicts_the_least_recently_used_record() -> None:
    store = MemoryStore(max_items=2)
    first = await store.save("alpha", CHAT)
    second = await store.save("alpha", CHAT)
    assert await store.load(first) is not None  # now `second` is the least recently used
    third = await store.save("alpha", CHAT)
    assert await store.load(second) is None
    assert await store.load(first) is not None
    assert await store.load(third) is not None
    assert len(store) == 2


async def test_listing_records_does_not_count_as_a_use() -> None:
    store = MemoryStore(max_items=2)
    first = await store.save("alpha", CHAT)
    second = await store.save("alpha", CHAT)
    await store.records()
    await store.save("alpha", CHAT)
    assert await store.load(first) is None
    assert await store.load(second) is not None


async def test_a_full_memory_store_drops_expired_records_before_evicting_a_live_one() -> None:
    clock = FakeClock()
    store = MemoryStore(max_items=2, ttl_seconds=10, clock=clock)
    older = await store.save("alpha", CHAT)
    clock.advance(5)
    newer = await store.save("alpha", CHAT)
    assert await store.load(older) is not None  # `older` is now the most recently used...
    clock.advance(6)  # ...but it has expired, while `newer` has 4 s left
    latest = await store.save("alpha", CHAT)
    assert await store.load(newer) is not None
    assert await store.load(latest) is not None
    assert await store.load(older) is None


async def test_a_record_expires_exactly_ttl_seconds_after_its_save_and_a_load_does_not_extend_it() -> None:
    clock = FakeClock()
    store = MemoryStore(ttl_seconds=10, clock=clock)
    continuation_id = await store.save("alpha", CHAT)
    clock.advance(9.999)
    record = await store.load(continuation_id)
    assert record is not None
    assert record.expires_at == record.created_at + 10
    clock.advance(0.001)
    assert await store.load(continuation_id) is None
    assert len(store) == 0


async def test_without_a_ttl_memory_records_never_expire() -> None:
    clock = FakeClock()
    store = MemoryStore(ttl_seconds=None, clock=clock)
    continuation_id = await store.save("alpha", CHAT)
    clock.advance(100 * 365 * 24 * 3600)
    record = await store.load(continuation_id)
    assert record is not None
    assert record.expires_at is None


# -- sqlite ----------------------------------------------------------------------------------------------------


def _rows(path: Path) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT id, data, typeof(data), typeof(blob) FROM continuations").fetchall()


def test_the_default_sqlite_file_lives_in_the_user_data_dir() -> None:
    assert default_sqlite_path() == platformdirs.user_data_path("mediagen") / "continuations.sqlite3"


async def test_sqlite_store_creates_its_directory_and_a_wal_database_on_first_use(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.sqlite3"
    store = SqliteStore(path)
    assert not path.parent.exists(), "nothing is touched before the first use"
    continuation_id = await store.save("alpha", ContinuationState(kind="chat", data={"ü": [1, 2]}, blob=b"\x00\xff"))
    await store.aclose()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    [(stored_id, data, data_type, blob_type)] = _rows(path)
    assert stored_id == continuation_id
    assert (data_type, blob_type) == ("text", "blob")
    assert json.loads(str(data)) == {"ü": [1, 2]}


async def test_opening_the_sqlite_store_readies_its_file_and_the_async_connection_waits_for_its_first_use(
    tmp_path: Path,
) -> None:
    """`open` (the first generation's) makes the file ready through save_blocking's connection; aiosqlite's
    connection and thread wait for a load, a listing or `warm_up`, which a generation keeping its continuation in
    its file's job never needs."""
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path)
    await store.open()
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA user_version").fetchone() == (1,)
    kept = await asyncio.to_thread(store.save_blocking, "alpha", CHAT)
    assert store._connection is None  # no aiosqlite connection, so no thread of its own
    await store.warm_up()
    assert store._connection is not None
    found = await store.load(kept)
    assert found is not None and found.state == CHAT
    await store.aclose()


async def test_sqlite_store_reopens_after_aclose(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    first = await store.save("alpha", CHAT)
    await store.aclose()
    await store.aclose()
    second = await store.save("alpha", CHAT)
    assert {r.id for r in await store.records()} == {first, second}
    await store.aclose()


async def test_sqlite_store_purges_expired_rows_when_saving(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path, ttl_seconds=TTL, clock=clock)
    await store.save("alpha", CHAT)
    clock.advance(TTL)
    fresh = await store.save("alpha", CHAT)
    assert [row[0] for row in _rows(path)] == [fresh]
    await store.aclose()


async def test_sqlite_store_purges_expired_rows_when_opening(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "s.sqlite3"
    writer = SqliteStore(path, ttl_seconds=TTL, clock=clock)
    await writer.save("alpha", CHAT)
    await writer.aclose()
    clock.advance(TTL + 1)
    reader = SqliteStore(path, ttl_seconds=TTL, clock=clock)
    assert await reader.load("anything") is None
    assert _rows(path) == []
    await reader.aclose()


async def test_sqlite_records_of_another_store_keep_the_ttl_they_were_saved_with(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "s.sqlite3"
    short = SqliteStore(path, ttl_seconds=10, clock=clock)
    forever = SqliteStore(path, ttl_seconds=None, clock=clock)
    brief = await short.save("alpha", CHAT)
    lasting = await forever.save("alpha", CHAT)
    clock.advance(10)
    assert await forever.load(brief) is None
    assert await short.load(lasting) is not None
    await short.aclose()
    await forever.aclose()


# -- redis -----------------------------------------------------------------------------------------------------


async def test_redis_records_are_keys_that_redis_itself_expires() -> None:
    client = fakeredis.FakeAsyncRedis()
    store = RedisStore(client, ttl_seconds=TTL, prefix="t:")
    continuation_id = await store.save("alpha", CHAT)
    assert 0 < await client.pttl(f"t:c:{continuation_id}") <= TTL * 1000
    forever = RedisStore(client, ttl_seconds=None, prefix="f:")
    kept = await forever.save("alpha", CHAT)
    assert await client.pttl(f"f:c:{kept}") == -1
    await client.aclose()


async def test_redis_listing_prunes_index_entries_whose_records_redis_expired() -> None:
    client = fakeredis.FakeAsyncRedis()
    store = RedisStore(client, prefix="t:")
    gone = await store.save("alpha", ContinuationState(kind=JOB_KIND, data={"vendor_job_id": "v"}))
    kept = await store.save("alpha", ContinuationState(kind=JOB_KIND, data={"vendor_job_id": "w"}))
    await client.delete(f"t:c:{gone}")  # what Redis does when the key's TTL runs out
    assert [r.id for r in await store.records(JOB_KIND)] == [kept]
    assert [r.id for r in await store.records()] == [kept]
    assert await client.zrange("t:index", 0, -1) == [kept.encode()]
    assert await client.zrange(f"t:index:{JOB_KIND}", 0, -1) == [kept.encode()]
    await client.aclose()


async def test_redis_stores_sharing_a_prefix_share_records_and_other_prefixes_are_apart() -> None:
    client = fakeredis.FakeAsyncRedis()
    worker_a, worker_b = RedisStore(client), RedisStore(client)
    other_app = RedisStore(client, prefix="other:")
    continuation_id = await worker_a.save("alpha", CHAT)
    record = await worker_b.load(continuation_id)
    assert record is not None
    assert record.state.data == {"turns": 1}
    assert await other_app.load(continuation_id) is None
    assert await other_app.records() == []
    await worker_a.aclose()  # a client passed in stays open for its owner
    assert await client.ping()
    await client.aclose()


def test_redis_store_refuses_a_client_that_decodes_responses() -> None:
    with pytest.raises(ConfigurationError, match="decode_responses=False"):
        RedisStore(fakeredis.FakeAsyncRedis(decode_responses=True))


@pytest.mark.parametrize("url", [None, "", "  "])
def test_redis_store_without_a_url_says_to_set_store_url(url: str | None) -> None:
    with pytest.raises(ConfigurationError, match=r"store\.url") as raised:
        RedisStore(url)
    assert raised.value.key == "store.url"


def test_redis_store_without_the_redis_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n == "redis" or n.startswith("redis.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "redis", None)  # what `import redis` sees when it is not installed
    with pytest.raises(ConfigurationError, match=re.escape("pip install 'mediagen[redis]'")):
        RedisStore("redis://127.0.0.1:6379/0")


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_redis_that_cannot_be_reached_is_a_configuration_error_naming_store_url_not_its_password() -> None:
    store = RedisStore(f"redis://:s3cret-pass@127.0.0.1:{_closed_port()}/0")
    for step in (store.open(), store.save("alpha", CHAT), store.load("alpha_chat_x"), store.records()):
        with pytest.raises(ConfigurationError) as caught:
            await step
        assert caught.value.key == "store.url"
        assert "cannot reach the Redis of store.url" in str(caught.value)
        assert "s3cret-pass" not in str(caught.value) and caught.value.__cause__ is None
    await store.aclose()


async def test_the_service_reaches_its_store_before_any_vendor_is_called() -> None:
    spec = fake_spec("alpha")
    generator = FakeGenerator(spec)
    store = RedisStore(f"redis://127.0.0.1:{_closed_port()}/0")
    service = MediaService(
        registry=BackendRegistry([fake_plugin(spec, generator)]),
        selector=BackendSelector([spec], StaticCredentials({"alpha": "key-alpha"})),
        store=store,
        sink=MemorySink(),
        settings=Settings(),
    )
    with pytest.raises(ConfigurationError, match=r"store\.url"):
        await service.generate(MediaRequest(media_type=MediaType.IMAGE, prompt="a fox"))
    assert generator.calls == []  # nothing paid for
    await service.aclose()


async def test_a_blocking_save_on_a_store_never_opened_makes_its_file_and_a_closed_one_opens_again(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "nested" / "s.sqlite3")
    first = await asyncio.to_thread(store.save_blocking, "alpha", ContinuationState(kind="image", blob=b"png"))
    await store.aclose()
    second = await asyncio.to_thread(store.save_blocking, "alpha", ContinuationState(kind="image", blob=b"jpg"))
    await store.aclose()
    reopened = SqliteStore(tmp_path / "nested" / "s.sqlite3")  # another process, later: both are in the file
    records = {r.id: r.state.blob for r in await reopened.records()}
    await reopened.aclose()
    assert records == {first: b"png", second: b"jpg"}


async def test_a_blocking_save_into_a_file_that_is_no_database_names_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are my notes, not a database" * 100)
    store = SqliteStore(path)
    with pytest.raises(ConfigurationError, match=r"store\.path") as caught:
        await asyncio.to_thread(store.save_blocking, "alpha", ContinuationState(kind="image"))
    assert caught.value.key == "store.path"
    assert path.read_bytes() == b"these are my notes, not a database" * 100
