"""In-process continuation store: a true LRU with a TTL, for scripts, tests and single-process hosts."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import attrs

from mediagen.adapters.stores.codec import decode_data, encode_data
from mediagen.adapters.stores.ids import new_continuation_id
from mediagen.ports.continuation import ContinuationRecord, ContinuationState

_SEVEN_DAYS = 7 * 24 * 3600.0


@attrs.frozen
class _Entry:
    record: ContinuationRecord
    #: Save order, so records saved within one clock tick still list newest first.
    sequence: int


class MemoryStore:
    """Keeps at most `max_items` records; a load counts as a use, saving past the limit drops the least recent.

    Records expire `ttl_seconds` after they were saved (None: never). Data is kept as a JSON snapshot, so later
    changes to the caller's objects never leak in and what loads equals what the persistent stores return.
    """

    def __init__(
        self,
        max_items: int = 50,
        ttl_seconds: float | None = _SEVEN_DAYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1:
            raise ValueError(f"max_items must be a whole number >= 1, got {max_items!r}")
        if ttl_seconds is not None and (isinstance(ttl_seconds, bool) or not ttl_seconds > 0):
            raise ValueError(f"ttl_seconds must be a number > 0 or None (never expire), got {ttl_seconds!r}")
        self._max_items = max_items
        self._ttl = None if ttl_seconds is None else float(ttl_seconds)
        self._clock = clock
        # Least recently used first. No method awaits while holding the lock, so it also guards threads.
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        # The same ids in save order, which is expiry order, so dropping expired records costs no scan.
        self._by_age: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._sequence = 0

    @property
    def max_items(self) -> int:
        return self._max_items

    @property
    def ttl_seconds(self) -> float | None:
        return self._ttl

    def __len__(self) -> int:
        """Records held right now, including expired ones not dropped yet; never more than `max_items`."""
        return len(self._entries)

    async def save(self, backend: str, state: ContinuationState) -> str:
        data = decode_data(encode_data(state.data))
        snapshot = ContinuationState(kind=state.kind, data=data, blob=None if state.blob is None else bytes(state.blob))
        with self._lock:
            now = self._clock()
            self._drop_expired(now)
            continuation_id = new_continuation_id(backend, state.kind)
            while continuation_id in self._entries:  # pragma: no cover - 48 random bits
                continuation_id = new_continuation_id(backend, state.kind)
            expires_at = None if self._ttl is None else now + self._ttl
            record = ContinuationRecord(continuation_id, backend, snapshot, created_at=now, expires_at=expires_at)
            self._sequence += 1
            self._entries[continuation_id] = _Entry(record, self._sequence)
            self._by_age[continuation_id] = None
            while len(self._entries) > self._max_items:
                evicted, _ = self._entries.popitem(last=False)
                del self._by_age[evicted]
        return continuation_id

    async def load(self, continuation_id: str) -> ContinuationRecord | None:
        with self._lock:
            entry = self._entries.get(continuation_id)
            if entry is None:
                return None
            if _expired(entry.record, self._clock()):
                self._forget(continuation_id)
                return None
            self._entries.move_to_end(continuation_id)
            return entry.record

    async def delete(self, continuation_id: str) -> None:
        with self._lock:
            self._forget(continuation_id)

    async def records(self, kind: str | None = None) -> list[ContinuationRecord]:
        """Live records, newest first; listing neither counts as a use nor changes what is held."""
        with self._lock:
            now = self._clock()
            entries = [
                e
                for e in self._entries.values()
                if (kind is None or e.record.state.kind == kind) and not _expired(e.record, now)
            ]
        entries.sort(key=lambda e: (e.record.created_at, e.sequence), reverse=True)
        return [e.record for e in entries]

    async def aclose(self) -> None:
        """Nothing to release; the records stay usable until the store is garbage collected."""

    def _forget(self, continuation_id: str) -> None:
        if self._entries.pop(continuation_id, None) is not None:
            del self._by_age[continuation_id]

    def _drop_expired(self, now: float) -> None:
        """Forget the oldest records while they are expired (a clock stepping back only delays this)."""
        while self._by_age:
            oldest = next(iter(self._by_age))
            if not _expired(self._entries[oldest].record, now):
                return
            self._forget(oldest)


def _expired(record: ContinuationRecord, now: float) -> bool:
    return record.expires_at is not None and now >= record.expires_at
