"""Call limits shared by every worker on one Redis: a sliding-window rate and leased concurrency slots.

Both are Lua scripts Redis runs atomically, timed by the Redis server's clock (`TIME`), so workers on machines
whose clocks differ still share one window. Keys are `{prefix}rate:{backend}:{account}` and
`{prefix}busy:{backend}:{account}`, where `account` is a hash of the API key: two workers with the same key share
one budget, two keys have two.

The rate is a sliding-window log rather than a token bucket: a bucket of N refilled at N a minute lets up to 2N
calls start within one minute (a full bucket, then the refill), while the log holds every window of a minute to N.
A call counts from its start until a minute after it ends: the vendor receives it somewhere in between (a loaded
worker may send it a second after it was let through), so no minute at the vendor holds more than N either.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

from mediagen.adapters.stores.redis import RedisClient, _redis_asyncio, unreachable
from mediagen.domain.errors import ConfigurationError
from mediagen.ports.limits import CallLimit

if TYPE_CHECKING:
    from redis.asyncio import Redis

# KEYS[1]: sorted set of call starts (score: ms). ARGV: limit, period ms, member. Returns 0 when the call may start
# (and records it), else the ms until the oldest start in the window leaves it.
_RATE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) < limit then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], period)
    return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(tonumber(oldest[2]) + period - now + 1, 1)
"""

# KEYS[1]: sorted set of running calls (score: lease end, ms). ARGV: max, lease ms, member. Returns 1 when a slot
# was taken; leases past their end (a worker that died holding one) are dropped first.
_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
    if redis.call('PTTL', KEYS[1]) < lease then
        redis.call('PEXPIRE', KEYS[1], lease)
    end
    return 1
end
return 0
"""

# KEYS[1]: the call starts. ARGV: member, period ms. A finished call's start moves to its end: the vendor saw the
# request somewhere in between, so it leaves the window a full period after the vendor could have counted it.
_ENDED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now, ARGV[1]) == 1 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

T = TypeVar("T")

#: Seconds between tries for a busy concurrency slot: short at first, then at most this.
_SLOT_POLL_MAX = 0.25


def window(requests_per_minute: float, period: float = 60.0) -> tuple[int, float]:
    """(calls, seconds): at most `calls` starts in any `seconds`, the same average as `requests_per_minute`.

    60 a minute is 60 in any 60 s; 1.5 a minute is 1 in any 40 s; 0.5 a minute is 1 in any 120 s. `period` is the
    minute's length (shorter in scale-model tests and benchmarks).
    """
    calls = max(1, math.floor(requests_per_minute))
    return calls, period * calls / requests_per_minute


class RedisLimits:
    """`requests_per_minute` and `max_concurrent` held across processes and machines that share one Redis.

    A client passed in stays the caller's to close; one built from a URL is closed by `aclose()`. `period` is the
    length of a minute in seconds (shorter only to model a minute in tests and benchmarks).
    """

    def __init__(self, client_or_url: str | Redis | None, prefix: str = "mediagen:", period: float = 60.0) -> None:
        self._module = _redis_asyncio()
        if client_or_url is None or (isinstance(client_or_url, str) and not client_or_url.strip()):
            raise ConfigurationError(
                "shared call limits need a Redis URL such as redis://127.0.0.1:6379/0: set store.url",
                key="store.url",
            )
        if not period > 0:
            raise ValueError(f"period must be > 0 seconds, got {period!r}")
        self._client = RedisClient(self._module, client_or_url)
        self._prefix = prefix
        self._period = float(period)

    @asynccontextmanager
    async def hold(
        self,
        backend: str,
        account: str,
        limit: CallLimit,
        *,
        lease_seconds: float,
        on_wait: Callable[[float], None],
    ) -> AsyncIterator[None]:
        if limit.unlimited:
            yield
            return
        client = await self._client.get()
        member = uuid.uuid4().hex
        busy = f"{self._prefix}busy:{backend}:{account}"
        if limit.max_concurrent is not None:
            await self._reached(self._take_slot(client, busy, limit.max_concurrent, lease_seconds, member))
        rate = f"{self._prefix}rate:{backend}:{account}"
        started: str | None = None
        try:
            if limit.requests_per_minute is not None:
                started = await self._reached(self._start(client, rate, limit.requests_per_minute, on_wait))
            yield
        finally:
            # Shielded: a cancelled call still counts from its end and gives its slot back (else it is held until
            # its lease ends).
            if started is not None:
                _, seconds = window(limit.requests_per_minute or 1.0, self._period)
                await asyncio.shield(client.eval(_ENDED, 1, rate, started, int(seconds * 1000)))
            if limit.max_concurrent is not None:
                await asyncio.shield(client.zrem(busy, member))

    async def _reached(self, step: Awaitable[T]) -> T:
        """A step before the vendor call; a Redis that cannot be reached fails it with a typed error."""
        try:
            return await step
        except self._module.RedisError as error:
            raise unreachable(error, "the shared call limits") from None

    async def _start(self, client: Redis, key: str, rate: float, on_wait: Callable[[float], None]) -> str:
        """Wait for room in the window and take it; the entry's name, to move it to the call's end."""
        calls, seconds = window(rate, self._period)
        told = False
        while True:
            member = uuid.uuid4().hex
            wait_ms = int(await client.eval(_RATE, 1, key, calls, int(seconds * 1000), member))
            if wait_ms == 0:
                return member
            if not told:
                on_wait(wait_ms / 1000)
                told = True
            await asyncio.sleep(wait_ms / 1000)

    async def _take_slot(self, client: Redis, key: str, most: int, lease_seconds: float, member: str) -> None:
        lease_ms = max(int(lease_seconds * 1000), 1000)
        pause = 0.01
        while not int(await client.eval(_SLOT, 1, key, most, lease_ms, member)):
            await asyncio.sleep(pause)
            pause = min(pause * 2, _SLOT_POLL_MAX)

    async def aclose(self) -> None:
        """Close the client built from the URL; a client passed in is left to its owner."""
        await self._client.aclose()
