"""MemoryStore's LRU + TTL behaviour checked step by step against a plain model."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

from mediagen.adapters.stores.memory import MemoryStore
from mediagen.ports.continuation import JOB_KIND, ContinuationState
from mediagen.testing.store_contract import FakeClock

T = TypeVar("T")
TTL = 10.0


class MemoryStoreMachine(RuleBasedStateMachine):
    """The model: ids in least-recently-used-first order, each with its expiry time."""

    ids = Bundle("ids")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.model: OrderedDict[str, float] = OrderedDict()
        self.data: dict[str, dict[str, int]] = {}
        self.max_items = 1
        self.store = MemoryStore(max_items=1, ttl_seconds=TTL, clock=self.clock)
        self.saves = 0

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(self.store.aclose())
        self.loop.close()

    def live(self, continuation_id: str) -> bool:
        return continuation_id in self.model and self.clock() < self.model[continuation_id]

    @initialize(max_items=st.integers(min_value=1, max_value=3))
    def build(self, max_items: int) -> None:
        self.max_items = max_items
        self.store = MemoryStore(max_items=max_items, ttl_seconds=TTL, clock=self.clock)

    @rule(target=ids, kind=st.sampled_from(["chat", JOB_KIND]))
    def save(self, kind: str) -> str:
        self.saves += 1
        data = {"n": self.saves}
        continuation_id = self.run(self.store.save("alpha", ContinuationState(kind=kind, data=data)))
        assert continuation_id not in self.data
        for expired in [i for i in self.model if not self.live(i)]:
            del self.model[expired]
        self.model[continuation_id] = self.clock() + TTL
        while len(self.model) > self.max_items:
            self.model.popitem(last=False)
        self.data[continuation_id] = data
        return continuation_id

    @rule(continuation_id=ids)
    def load(self, continuation_id: str) -> None:
        self.check_load(continuation_id)

    @precondition(lambda self: bool(self.model))
    @rule()
    def load_the_least_recently_used(self) -> None:
        # Using the oldest record makes the LRU order differ from the save (and so expiry) order.
        self.check_load(next(iter(self.model)))

    @rule(data=st.data())
    def load_every_id_ever_saved(self, data: st.DataObject) -> None:
        for continuation_id in data.draw(st.permutations(list(self.data)), label="load order"):
            self.check_load(continuation_id)

    @rule(continuation_id=consumes(ids))
    def delete(self, continuation_id: str) -> None:
        self.run(self.store.delete(continuation_id))
        self.model.pop(continuation_id, None)
        assert self.run(self.store.load(continuation_id)) is None

    # Steps around half and all of the TTL reach the expiry boundary within a few rules.
    @rule(seconds=st.sampled_from([0.0, 3.0, 4.0, 6.0, 7.0, TTL]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def check_load(self, continuation_id: str) -> None:
        record = self.run(self.store.load(continuation_id))
        if self.live(continuation_id):
            assert record is not None, f"{continuation_id} is live in the model but did not load"
            assert record.state.data == self.data[continuation_id]
            self.model.move_to_end(continuation_id)
        else:
            assert record is None, f"{continuation_id} is evicted, expired or deleted in the model but loaded"
            self.model.pop(continuation_id, None)

    @invariant()
    def never_holds_more_than_max_items(self) -> None:
        assert len(self.store) <= self.max_items

    @invariant()
    def lists_exactly_the_live_ids_newest_first(self) -> None:
        # Listing changes neither recency nor what is held, so this check cannot hide a wrong eviction.
        listed = [r.id for r in self.run(self.store.records())]
        # The clock never goes back, so save order is creation order.
        newest_first = sorted((i for i in self.model if self.live(i)), key=lambda i: self.data[i]["n"], reverse=True)
        assert listed == newest_first


MemoryStoreMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=200, deadline=None)
test_memory_store_matches_the_lru_ttl_model = MemoryStoreMachine.TestCase
