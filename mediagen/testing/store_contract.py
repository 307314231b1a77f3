"""The contract every `ContinuationStore` must meet, shipped as a pytest class to subclass.

Subclass `ContinuationStoreContract` and supply two fixtures: `clock`, an object with `advance(seconds)` that
drives the store's notion of time (`FakeClock` below works for any store taking a `clock` callable), and
`store`, an async fixture yielding a fresh, empty store that reads that clock, has a TTL (the expiry test is
skipped without one) and holds at least 50 records::

    import pytest
    from mediagen.testing.store_contract import ContinuationStoreContract, FakeClock

    class TestMyStore(ContinuationStoreContract):
        @pytest.fixture
        def clock(self) -> FakeClock:
            return FakeClock()

        @pytest.fixture  # @pytest_asyncio.fixture when pytest-asyncio runs in strict mode
        async def store(self, clock, tmp_path):
            store = MyStore(tmp_path / "state.db", ttl_seconds=3600, clock=clock)
            yield store
            await store.aclose()

The tests are marked `pytest.mark.asyncio`, so they run under pytest-asyncio in strict or auto mode.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Protocol

import pytest

from mediagen.ports.continuation import JOB_KIND, ContinuationRecord, ContinuationState, ContinuationStore

__all__ = ["AdvanceableClock", "ContinuationStoreContract", "FakeClock"]

BACKEND = "alpha"
OTHER_BACKEND = "beta-2"
KIND = "image-chat"
ID_TAIL = re.compile(r"[0-9a-f]{12}")


class AdvanceableClock(Protocol):
    """What the `clock` fixture must offer: moving the store's time forward."""

    def advance(self, seconds: float) -> None: ...


class FakeClock:
    """A clock that stands still until told to move; pass it as a store's `clock` callable."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a fake clock only moves forward, got {seconds!r} seconds")
        self.now += seconds


def _chat_state() -> ContinuationState:
    data: dict[str, Any] = {
        "history": [
            {"role": "user", "parts": [{"text": "un renard roux, 赤い狐 🦊"}]},
            {"role": "model", "parts": [{"inline_data": {"mime_type": "image/png", "size": 3}}]},
        ],
        "settings": {"temperature": 0.5, "seed": 0, "strict": False, "style": None, "nested": {"deep": [1, [2, []]]}},
        "empty": {},
        'quote"and\\slash': "line\nbreak\ttab\u0000nul",
    }
    return ContinuationState(kind=KIND, data=data, blob=bytes(range(256)) * 4)


class ContinuationStoreContract:
    """Behaviour shared by every continuation store; subclass it and provide `store` and `clock` fixtures."""

    @pytest.mark.asyncio
    async def test_data_and_blob_load_back_unchanged(self, store: ContinuationStore) -> None:
        state = _chat_state()
        continuation_id = await store.save(BACKEND, state)
        record = await store.load(continuation_id)
        assert record is not None
        assert record.id == continuation_id
        assert record.backend == BACKEND
        assert record.state.kind == KIND
        assert dict(record.state.data) == dict(state.data)
        assert record.state.blob == state.blob
        again = await store.load(continuation_id)
        assert again is not None
        assert dict(again.state.data) == dict(state.data), "a load must not consume the record"

    @pytest.mark.asyncio
    async def test_an_empty_blob_stays_empty_bytes_and_no_blob_stays_none(self, store: ContinuationStore) -> None:
        empty_id = await store.save(BACKEND, ContinuationState(kind=KIND, data={"a": 1}, blob=b""))
        none_id = await store.save(BACKEND, ContinuationState(kind=KIND, data={}, blob=None))
        empty = await store.load(empty_id)
        none = await store.load(none_id)
        assert empty is not None
        assert none is not None
        assert empty.state.blob == b""
        assert isinstance(empty.state.blob, bytes)
        assert none.state.blob is None
        assert dict(none.state.data) == {}

    @pytest.mark.asyncio
    async def test_a_record_carries_its_save_time_and_an_expiry_after_it(
        self, store: ContinuationStore, clock: AdvanceableClock
    ) -> None:
        before = await store.save(BACKEND, ContinuationState(kind=KIND))
        clock.advance(100)
        after = await store.save(BACKEND, ContinuationState(kind=KIND))
        first, second = await store.load(before), await store.load(after)
        assert first is not None
        assert second is not None
        assert second.created_at - first.created_at == pytest.approx(100)
        for record in (first, second):
            assert record.expires_at is None or record.expires_at > record.created_at

    @pytest.mark.asyncio
    async def test_ids_are_unique_and_name_backend_and_kind(self, store: ContinuationStore) -> None:
        ids = [await store.save(BACKEND, ContinuationState(kind=KIND)) for _ in range(20)]
        ids.append(await store.save(OTHER_BACKEND, ContinuationState(kind=JOB_KIND)))
        assert len(set(ids)) == len(ids)
        for continuation_id in ids[:-1]:
            assert re.fullmatch(rf"{re.escape(BACKEND)}_{re.escape(KIND)}_{ID_TAIL.pattern}", continuation_id)
        assert re.fullmatch(rf"{re.escape(OTHER_BACKEND)}_{JOB_KIND}_{ID_TAIL.pattern}", ids[-1])

    @pytest.mark.asyncio
    async def test_an_unknown_id_loads_as_none(self, store: ContinuationStore) -> None:
        await store.save(BACKEND, ContinuationState(kind=KIND))
        for unknown in (f"{BACKEND}_{KIND}_000000000000", "openai:resp_123", "", "../../etc/passwd", "ü 🦊"):
            assert await store.load(unknown) is None

    @pytest.mark.asyncio
    async def test_a_deleted_record_neither_loads_nor_lists(self, store: ContinuationStore) -> None:
        kept = await store.save(BACKEND, ContinuationState(kind=KIND, data={"keep": True}))
        gone = await store.save(BACKEND, ContinuationState(kind=KIND, data={"keep": False}))
        await store.delete(gone)
        assert await store.load(gone) is None
        assert await store.load(kept) is not None
        assert [r.id for r in await store.records()] == [kept]
        assert [r.id for r in await store.records(KIND)] == [kept]

    @pytest.mark.asyncio
    async def test_deleting_an_unknown_or_already_deleted_id_is_fine(self, store: ContinuationStore) -> None:
        continuation_id = await store.save(BACKEND, ContinuationState(kind=KIND))
        await store.delete(continuation_id)
        await store.delete(continuation_id)
        await store.delete(f"{BACKEND}_{KIND}_ffffffffffff")
        await store.delete("never-saved")
        assert await store.records() == []

    @pytest.mark.asyncio
    async def test_records_list_newest_first(self, store: ContinuationStore, clock: AdvanceableClock) -> None:
        saved = []
        for n in range(5):
            saved.append(await store.save(BACKEND, ContinuationState(kind=KIND, data={"n": n})))
            clock.advance(1)
        records = await store.records()
        assert [r.id for r in records] == saved[::-1]
        assert [r.state.data["n"] for r in records] == [4, 3, 2, 1, 0]
        assert all(isinstance(r, ContinuationRecord) for r in records)

    @pytest.mark.asyncio
    async def test_records_saved_in_the_same_instant_list_the_last_saved_first(self, store: ContinuationStore) -> None:
        saved = [await store.save(BACKEND, ContinuationState(kind=KIND, data={"n": n})) for n in range(6)]
        assert [r.id for r in await store.records()] == saved[::-1]

    @pytest.mark.asyncio
    async def test_records_of_a_kind_leave_out_the_other_kinds(
        self, store: ContinuationStore, clock: AdvanceableClock
    ) -> None:
        job_old = await store.save(BACKEND, ContinuationState(kind=JOB_KIND, data={"vendor_job_id": "v1"}))
        clock.advance(1)
        chat = await store.save(BACKEND, ContinuationState(kind=KIND))
        clock.advance(1)
        job_new = await store.save(OTHER_BACKEND, ContinuationState(kind=JOB_KIND, data={"vendor_job_id": "v2"}))
        jobs = await store.records(JOB_KIND)
        assert [r.id for r in jobs] == [job_new, job_old]
        assert [r.backend for r in jobs] == [OTHER_BACKEND, BACKEND]
        assert [r.id for r in await store.records(KIND)] == [chat]
        assert [r.id for r in await store.records()] == [job_new, chat, job_old]
        assert await store.records("no-such-kind") == []

    @pytest.mark.asyncio
    async def test_an_expired_record_is_hidden_from_load_and_records(
        self, store: ContinuationStore, clock: AdvanceableClock
    ) -> None:
        continuation_id = await store.save(BACKEND, ContinuationState(kind=JOB_KIND, data={"vendor_job_id": "v"}))
        record = await store.load(continuation_id)
        assert record is not None
        if record.expires_at is None:
            pytest.skip("this store was built without a TTL, so nothing expires")
        lifetime = record.expires_at - record.created_at
        clock.advance(lifetime / 2)
        assert await store.load(continuation_id) is not None, "a record loads until it expires"
        assert [r.id for r in await store.records(JOB_KIND)] == [continuation_id]
        clock.advance(lifetime)
        assert await store.load(continuation_id) is None
        assert await store.records() == []
        assert await store.records(JOB_KIND) == []
        fresh = await store.save(BACKEND, ContinuationState(kind=JOB_KIND, data={"vendor_job_id": "w"}))
        assert await store.load(fresh) is not None, "expiry is per record, counted from its own save"
        assert await store.load(continuation_id) is None
        assert [r.id for r in await store.records()] == [fresh]

    @pytest.mark.asyncio
    async def test_fifty_concurrent_saves_lose_none(self, store: ContinuationStore) -> None:
        states = [ContinuationState(kind=KIND, data={"n": n}, blob=bytes([n]) * n) for n in range(50)]
        ids = await asyncio.gather(*(store.save(BACKEND, state) for state in states))
        assert len(set(ids)) == 50
        loaded = await asyncio.gather(*(store.load(i) for i in ids))
        for n, record in enumerate(loaded):
            assert record is not None
            assert record.state.data == {"n": n}
            assert record.state.blob == bytes([n]) * n
        assert sorted(r.id for r in await store.records()) == sorted(ids)

    @pytest.mark.asyncio
    async def test_data_that_is_not_plain_json_is_refused_at_save(self, store: ContinuationStore) -> None:
        for data in ({"when": object()}, {"tags": {"a", "b"}}, {"ratio": float("nan")}):
            with pytest.raises((TypeError, ValueError)):
                await store.save(BACKEND, ContinuationState(kind=KIND, data=data))
        assert await store.records() == []

    @pytest.mark.asyncio
    async def test_changing_the_saved_objects_afterwards_does_not_change_the_record(
        self, store: ContinuationStore
    ) -> None:
        history: list[Any] = [{"role": "user", "text": "first"}]
        continuation_id = await store.save(BACKEND, ContinuationState(kind=KIND, data={"history": history}))
        history.append({"role": "user", "text": "second"})
        history[0]["text"] = "changed"
        record = await store.load(continuation_id)
        assert record is not None
        assert record.state.data == {"history": [{"role": "user", "text": "first"}]}

    @pytest.mark.asyncio
    async def test_a_blocking_save_from_worker_threads_is_a_save_like_any(
        self, store: ContinuationStore, clock: AdvanceableClock
    ) -> None:
        """Only for a store offering `save_blocking` (see the port): records it saves from worker threads, several
        at once, load, list and expire like those `save` makes, and bad data is refused alike."""
        save_blocking = getattr(store, "save_blocking", None)
        if save_blocking is None:
            pytest.skip("this store offers no save_blocking")
        opening = getattr(store, "open", None)
        if opening is not None:
            await opening()
        state = _chat_state()
        first = await asyncio.to_thread(save_blocking, BACKEND, state)
        clock.advance(10)
        ids = await asyncio.gather(
            *(
                asyncio.to_thread(save_blocking, OTHER_BACKEND, ContinuationState(kind=KIND, data={"n": n}))
                for n in range(8)
            )
        )
        record = await store.load(first)
        assert record is not None and record.backend == BACKEND and record.id.startswith(f"{BACKEND}_")
        assert dict(record.state.data) == dict(state.data) and record.state.blob == state.blob
        listed = await store.records()
        assert len({*ids, first}) == 9 and {r.id for r in listed} == {*ids, first} and listed[-1].id == first
        with pytest.raises((TypeError, ValueError)):
            await asyncio.to_thread(save_blocking, BACKEND, ContinuationState(kind=KIND, data={"when": object()}))
        if record.expires_at is not None:
            clock.advance(record.expires_at - record.created_at)
            assert await store.load(first) is None
