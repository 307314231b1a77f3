"""Shared continuation store for several workers: records as Redis keys with TTLs, listed via sorted sets."""

from __future__ import annotations

import asyncio
import functools
import json
import math
import time
from collections.abc import AsyncGenerator, Callable, Coroutine
from types import ModuleType
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from mediagen.adapters.stores.codec import encode_data
from mediagen.adapters.stores.ids import new_continuation_id
from mediagen.application.shutdown import close_at_shutdown, left_behind
from mediagen.domain.errors import ConfigurationError
from mediagen.ports.continuation import ContinuationRecord, ContinuationState

if TYPE_CHECKING:
    from redis.asyncio import Redis

_THIRTY_DAYS = 30 * 24 * 3600.0
#: Separates a record's JSON header from its blob; JSON text never holds a raw NUL byte.
_SEPARATOR = b"\x00"


def _redis_asyncio() -> ModuleType:
    """`redis.asyncio`, imported only when a Redis store is built: redis is the optional `redis` extra."""
    try:
        import redis.asyncio
    except ImportError as exc:
        raise ConfigurationError(
            "the redis store needs the redis package: pip install 'mediagen[redis]' "
            "(or choose store.kind = 'sqlite' or 'memory')",
            key="store.kind",
        ) from exc
    return redis.asyncio


P = ParamSpec("P")
T = TypeVar("T")


def unreachable(error: Exception, what: str) -> ConfigurationError:
    """The typed error for a Redis that cannot be reached or refuses (its text may hold the URL's password, so
    only the exception's type is named)."""
    return ConfigurationError(
        f"cannot reach the Redis of store.url for {what} ({type(error).__name__}); check that it runs and that "
        "store.url points at it",
        key="store.url",
    )


class RedisClient:
    """The client a store or limits use: one passed in (the caller's, used as is), or one built from a URL on first
    use, on the running event loop, and built again on a new loop once the one it was built on has stopped (its
    connections belong to that loop: `generate_sync` with one container runs a loop per call). A built client is
    closed by `aclose`, or at its loop's shutdown (`loop.shutdown_asyncgens`, which asyncio.run calls)."""

    def __init__(self, module: ModuleType, client_or_url: str | Redis) -> None:
        self._module = module
        self._url = client_or_url if isinstance(client_or_url, str) else None
        self._client: Redis | None = None if isinstance(client_or_url, str) else client_or_url
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: AsyncGenerator[None, None] | None = None

    async def get(self) -> Redis:
        client = self._client
        if client is not None and (self._url is None or not left_behind(self._loop)):
            return client
        # First use, after aclose, or the loop it was built on has stopped (its connections went with it).
        assert self._url is not None
        loop = asyncio.get_running_loop()
        built: Redis = self._module.from_url(self._url, decode_responses=False)
        self._client, self._loop = built, loop
        self._closer = await close_at_shutdown(functools.partial(self._close_on, loop))
        return built

    async def _close_on(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the client built from the URL; one passed in is left to its owner."""
        if self._url is not None and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


def _reaching_redis(
    method: Callable[Concatenate[RedisStore, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[RedisStore, P], Coroutine[Any, Any, T]]:
    """A store method whose Redis errors become `unreachable`'s ConfigurationError."""

    async def reaching(self: RedisStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(self, *args, **kwargs)
        except self._module.RedisError as error:
            raise unreachable(error, "the continuation store") from None

    functools.update_wrapper(reaching, method)
    return reaching


class RedisStore:
    """Continuation records shared by every worker that points at the same Redis and `prefix`.

    Each record is one key `{prefix}c:{id}` that Redis expires after `ttl_seconds` (None: never); the store's
    clock also hides records past their expiry. `records()` reads sorted-set indexes scored by creation time.
    A client passed in stays the caller's to close; one built from a URL is closed by `aclose()`.
    """

    def __init__(
        self,
        client_or_url: str | Redis | None,
        ttl_seconds: float | None = _THIRTY_DAYS,
        prefix: str = "mediagen:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        module = _redis_asyncio()
        if ttl_seconds is not None and (isinstance(ttl_seconds, bool) or not ttl_seconds > 0):
            raise ValueError(f"ttl_seconds must be a number > 0 or None (never expire), got {ttl_seconds!r}")
        if client_or_url is None or (isinstance(client_or_url, str) and not client_or_url.strip()):
            raise ConfigurationError(
                "the redis store needs a URL such as redis://127.0.0.1:6379/0: set store.url", key="store.url"
            )
        if not isinstance(client_or_url, str) and client_or_url.connection_pool.connection_kwargs.get(
            "decode_responses"
        ):
            raise ConfigurationError(
                "the redis store keeps bytes: build its client with decode_responses=False", key="store.url"
            )
        self._client = RedisClient(module, client_or_url)
        self._module = module
        self._ttl = None if ttl_seconds is None else float(ttl_seconds)
        self._prefix = prefix
        self._clock = clock

    @property
    def ttl_seconds(self) -> float | None:
        return self._ttl

    @_reaching_redis
    async def save(self, backend: str, state: ContinuationState) -> str:
        data = encode_data(state.data)
        client = await self._client.get()
        now = self._clock()
        expires_at = None if self._ttl is None else now + self._ttl
        sequence = int(await client.incr(self._key("sequence")))
        header = {
            "backend": backend,
            "kind": state.kind,
            "created_at": now,
            "expires_at": expires_at,
            "sequence": sequence,
            "has_blob": state.blob is not None,
        }
        # `data` is JSON text already; splice it in rather than decoding and encoding it again.
        head = json.dumps(header, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"data":' + data + "}"
        value = head.encode() + _SEPARATOR + (state.blob or b"")
        ttl_ms = None if self._ttl is None else max(1, math.ceil(self._ttl * 1000))
        while True:
            continuation_id = new_continuation_id(backend, state.kind)
            if await client.set(self._record_key(continuation_id), value, nx=True, px=ttl_ms):
                break
        async with client.pipeline(transaction=True) as pipe:
            pipe.zadd(self._index_key(None), {continuation_id: now})
            pipe.zadd(self._index_key(state.kind), {continuation_id: now})
            await pipe.execute()
        return continuation_id

    @_reaching_redis
    async def load(self, continuation_id: str) -> ContinuationRecord | None:
        client = await self._client.get()
        raw = await client.get(self._record_key(continuation_id))
        if raw is None:
            return None
        record, _ = _decode(continuation_id, raw)
        if _expired(record, self._clock()):
            await self._forget(continuation_id, record.state.kind)
            return None
        return record

    @_reaching_redis
    async def delete(self, continuation_id: str) -> None:
        client = await self._client.get()
        raw = await client.get(self._record_key(continuation_id))
        kind = None if raw is None else _decode(continuation_id, raw)[0].state.kind
        await self._forget(continuation_id, kind)

    @_reaching_redis
    async def records(self, kind: str | None = None) -> list[ContinuationRecord]:
        client = await self._client.get()
        index = self._index_key(kind)
        now = self._clock()
        if self._ttl is not None:
            # Scores are creation times: anything created `ttl` ago or earlier has expired.
            await client.zremrangebyscore(index, "-inf", now - self._ttl)
        ids = [_text(member) for member in await client.zrevrange(index, 0, -1)]
        if not ids:
            return []
        values = await client.mget([self._record_key(i) for i in ids])
        found: list[tuple[ContinuationRecord, int]] = []
        gone: list[str] = []
        for continuation_id, raw in zip(ids, values, strict=True):
            if raw is None:
                gone.append(continuation_id)
                continue
            record, sequence = _decode(continuation_id, raw)
            if _expired(record, now):
                gone.append(continuation_id)
            else:
                found.append((record, sequence))
        if gone:
            await client.zrem(index, *gone)
        found.sort(key=lambda item: (item[0].created_at, item[1]), reverse=True)
        return [record for record, _ in found]

    @_reaching_redis
    async def open(self) -> None:
        """Reach Redis now (a PING), so a store that cannot be reached fails before a vendor is called and paid."""
        client = await self._client.get()
        await client.ping()

    async def aclose(self) -> None:
        """Close the client this store built from its URL; a client passed in is left to its owner."""
        await self._client.aclose()

    async def _forget(self, continuation_id: str, kind: str | None) -> None:
        client = await self._client.get()
        async with client.pipeline(transaction=True) as pipe:
            pipe.delete(self._record_key(continuation_id))
            pipe.zrem(self._index_key(None), continuation_id)
            if kind is not None:
                pipe.zrem(self._index_key(kind), continuation_id)
            await pipe.execute()

    def _key(self, name: str) -> str:
        return f"{self._prefix}{name}"

    def _record_key(self, continuation_id: str) -> str:
        return f"{self._prefix}c:{continuation_id}"

    def _index_key(self, kind: str | None) -> str:
        return f"{self._prefix}index" if kind is None else f"{self._prefix}index:{kind}"


def _text(member: object) -> str:
    if isinstance(member, bytes):
        return member.decode()
    if isinstance(member, str):
        return member
    raise TypeError(f"unexpected index member from redis: {member!r}")


def _decode(continuation_id: str, raw: bytes | str) -> tuple[ContinuationRecord, int]:
    if isinstance(raw, str):  # pragma: no cover - the store refuses clients that decode responses
        raise TypeError("the redis store needs raw bytes from its client (decode_responses=False)")
    head, _, blob = raw.partition(_SEPARATOR)
    header: dict[str, Any] = json.loads(head)
    data = header["data"]
    if not isinstance(data, dict):
        raise TypeError(f"stored continuation data is a {type(data).__name__}, not a JSON object")
    state = ContinuationState(kind=header["kind"], data=data, blob=blob if header["has_blob"] else None)
    expires_at = header["expires_at"]
    record = ContinuationRecord(
        id=continuation_id,
        backend=header["backend"],
        state=state,
        created_at=float(header["created_at"]),
        expires_at=None if expires_at is None else float(expires_at),
    )
    return record, int(header["sequence"])


def _expired(record: ContinuationRecord, now: float) -> bool:
    return record.expires_at is not None and now >= record.expires_at
