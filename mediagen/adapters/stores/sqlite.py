"""Embedded continuation store: one SQLite file in WAL mode, shared safely by several processes."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from mediagen.adapters.stores.codec import decode_data, encode_data
from mediagen.adapters.stores.ids import new_continuation_id
from mediagen.application.cancels import settled
from mediagen.domain.errors import ConfigurationError
from mediagen.ports.continuation import ContinuationRecord, ContinuationState

if TYPE_CHECKING:
    import aiosqlite

_THIRTY_DAYS = 30 * 24 * 3600.0
#: How long a writer waits for another process's write lock before giving up.
_BUSY_TIMEOUT_SECONDS = 30.0
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS continuations (
    id TEXT PRIMARY KEY NOT NULL,
    backend TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    blob BLOB,
    created_at REAL NOT NULL,
    expires_at REAL
);
CREATE INDEX IF NOT EXISTS continuations_by_kind ON continuations (kind, created_at);
CREATE INDEX IF NOT EXISTS continuations_by_expiry ON continuations (expires_at) WHERE expires_at IS NOT NULL;
CREATE TRIGGER IF NOT EXISTS continuations_purge_on_save AFTER INSERT ON continuations
BEGIN
    DELETE FROM continuations WHERE expires_at IS NOT NULL AND expires_at <= NEW.created_at;
END;
"""
#: Each connection's first statements: WAL (the file's mode, set once) and synchronous=NORMAL (per connection).
_SETUP = ("PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL")
_COLUMNS = "id, backend, kind, data, blob, created_at, expires_at"
_INSERT = f"INSERT INTO continuations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
#: Delete expired rows, including those another process saved with its own TTL.
_PURGE = "DELETE FROM continuations WHERE expires_at IS NOT NULL AND expires_at <= ?"


def default_sqlite_path() -> Path:
    """The CLI's store file, under the platform's per-user data directory, so continuations survive restarts."""
    return platformdirs.user_data_path("mediagen") / "continuations.sqlite3"


class SqliteStore:
    """Continuation records in one SQLite file; the connections open on first use and are reused.

    WAL journaling plus a busy timeout let two processes write at once; each statement commits on its own.
    Records expire `ttl_seconds` after they were saved (None: never) and expired rows are purged on open and save:
    on save by a trigger of the INSERT itself, so a save is one statement and one hop to the connection's thread.

    `save_blocking` saves from a worker thread another job already runs in (the filesystem sink's, which writes the
    generation's file): it uses a connection of its own (sqlite3's, which also makes the file ready: WAL, schema,
    purge), opened in that thread on first use, so a file and its continuation cost one thread hop together. The
    async methods share an aiosqlite connection, which (with its thread) opens when one of them is first used;
    its module loads at `open`.
    A file that cannot hold the store (a directory, a file that is no SQLite database, a missing directory when
    `create_parent` is False) is a ConfigurationError naming `store.path`.
    """

    def __init__(
        self,
        path: Path,
        ttl_seconds: float | None = _THIRTY_DAYS,
        clock: Callable[[], float] = time.time,
        *,
        create_parent: bool = True,
    ) -> None:
        if ttl_seconds is not None and (isinstance(ttl_seconds, bool) or not ttl_seconds > 0):
            raise ValueError(f"ttl_seconds must be a number > 0 or None (never expire), got {ttl_seconds!r}")
        self._path = Path(path)
        self._ttl = None if ttl_seconds is None else float(ttl_seconds)
        self._clock = clock
        self._create_parent = create_parent
        self._connection: aiosqlite.Connection | None = None
        self._opening = asyncio.Lock()
        # save_blocking's own connection, used by one worker thread at a time (the lock), closed by aclose.
        self._blocking: sqlite3.Connection | None = None
        self._blocking_lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._path

    @property
    def ttl_seconds(self) -> float | None:
        return self._ttl

    async def save(self, backend: str, state: ContinuationState) -> str:
        db = await self._db()
        while True:
            continuation_id, row = self._row(backend, state)
            try:
                await db.execute(_INSERT, row)
            except sqlite3.IntegrityError:  # pragma: no cover - 48 random bits collided
                continue
            return continuation_id

    def save_blocking(self, backend: str, state: ContinuationState) -> str:
        """`save`, blocking: call it from a worker thread, never on the event loop."""
        with self._blocking_lock:
            connection = self._prepared_connection()
            while True:
                continuation_id, row = self._row(backend, state)
                try:
                    connection.execute(_INSERT, row)
                except sqlite3.IntegrityError:  # pragma: no cover - 48 random bits collided
                    continue
                return continuation_id

    def _row(self, backend: str, state: ContinuationState) -> tuple[str, tuple[object, ...]]:
        """A new id and the row that saves `state` under it now. The schema's trigger deletes the rows expired by
        then (other processes' included) in the INSERT's own statement."""
        now = self._clock()
        expires_at = None if self._ttl is None else now + self._ttl
        continuation_id = new_continuation_id(backend, state.kind)
        blob = None if state.blob is None else bytes(state.blob)
        return continuation_id, (continuation_id, backend, state.kind, encode_data(state.data), blob, now, expires_at)

    def _prepared_connection(self) -> sqlite3.Connection:
        """save_blocking's connection (the caller holds `_blocking_lock`), opened on first use: it is the one that
        prepares the file, see `_connect_blocking`."""
        if self._blocking is None:
            self._blocking = self._connect_blocking()
        return self._blocking

    def _connect_blocking(self) -> sqlite3.Connection:
        """A connection alike to the async one (autocommit, the busy timeout, synchronous=NORMAL, a per-connection
        setting) to the file made ready: its place checked, WAL on, the schema made, the expired rows purged."""
        self._check_place()
        try:
            connection = sqlite3.connect(
                self._path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as error:
            raise self._unusable(str(error)) from None
        try:
            _prepare(connection)
            connection.execute(_PURGE, (self._clock(),))
        except BaseException as error:
            connection.close()
            if isinstance(error, sqlite3.DatabaseError) and not _is_contention(error):
                raise self._unusable(str(error)) from None  # e.g. "file is not a database"
            raise
        return connection

    async def load(self, continuation_id: str) -> ContinuationRecord | None:
        db = await self._db()
        query = f"SELECT {_COLUMNS} FROM continuations WHERE id = ? AND {_LIVE}"
        async with db.execute(query, (continuation_id, self._clock())) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _record(row)

    async def delete(self, continuation_id: str) -> None:
        db = await self._db()
        await db.execute("DELETE FROM continuations WHERE id = ?", (continuation_id,))

    async def records(self, kind: str | None = None) -> list[ContinuationRecord]:
        db = await self._db()
        # rowid breaks ties: records saved within one clock tick still list newest first.
        if kind is None:
            query = f"SELECT {_COLUMNS} FROM continuations WHERE {_LIVE} ORDER BY created_at DESC, rowid DESC"
            parameters: tuple[object, ...] = (self._clock(),)
        else:
            query = (
                f"SELECT {_COLUMNS} FROM continuations WHERE kind = ? AND {_LIVE} ORDER BY created_at DESC, rowid DESC"
            )
            parameters = (kind, self._clock())
        async with db.execute(query, parameters) as cursor:
            rows = await cursor.fetchall()
        return [_record(row) for row in rows]

    async def open(self) -> None:
        """Make the file ready now (its place, WAL, the schema, the purge of expired rows) rather than on the first
        use, through save_blocking's connection, in a worker thread. aiosqlite's module and connection (with its
        thread) wait for a first load, save, delete or listing, which loads them in a worker thread too: a
        generation whose file job keeps its continuation (`save_blocking`) needs neither, and its first call does
        not pay for them (about 2,000 long-lived objects, which count towards the host's garbage collections)."""
        await asyncio.to_thread(self._ready_blocking)

    async def warm_up(self) -> None:
        """Open the async connection now too (and its thread), as `MediaService.warm_up` asks: a host that warms up
        pays for it at start, not at its first load or listing."""
        await self._db()

    def _ready_blocking(self) -> None:
        """Blocking: the file made ready, once, whichever connection comes first."""
        with self._blocking_lock:
            self._prepared_connection()

    def _ready_for_async(self) -> None:
        """Blocking: the file made ready and aiosqlite's module loaded."""
        self._ready_blocking()
        import aiosqlite  # noqa: F401

    async def aclose(self) -> None:
        """Close the connection, after an open in progress has finished; a later call opens a new one."""
        async with self._opening:
            connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
        if self._blocking is not None:
            await asyncio.to_thread(self._close_blocking)

    def _close_blocking(self) -> None:
        with self._blocking_lock:
            blocking, self._blocking = self._blocking, None
        if blocking is not None:
            blocking.close()

    async def _db(self) -> aiosqlite.Connection:
        if self._connection is not None:
            return self._connection
        async with self._opening:
            if self._connection is None:
                opening = asyncio.ensure_future(self._open())
                try:
                    self._connection = await asyncio.shield(opening)
                except asyncio.CancelledError:
                    await _close_once_opened(opening)
                    raise
            return self._connection

    async def _open(self) -> aiosqlite.Connection:
        await asyncio.to_thread(self._ready_for_async)
        import aiosqlite  # loaded by now

        # isolation_level=None: autocommit, so concurrent coroutines on the shared connection never
        # interleave inside one transaction, and each write holds the file lock only for itself.
        pending = aiosqlite.connect(self._path, timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None)
        # aiosqlite (0.22) runs each connection on a non-daemon thread, so a store nobody closed would keep the
        # process alive at exit; every write is awaited and committed by then, so a daemon thread loses nothing.
        worker = getattr(pending, "_thread", None)
        if isinstance(worker, threading.Thread) and not worker.is_alive():
            worker.daemon = True
        try:
            db = await pending
        except sqlite3.Error as error:
            raise self._unusable(str(error)) from None
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_SECONDS * 1000)}")
            await db.execute(_SETUP[1])  # synchronous = NORMAL is the connection's own; WAL is the file's, set
        except BaseException:
            await db.close()
            raise
        return db

    def _check_place(self) -> None:
        """Blocking: the file's place must be usable before SQLite is asked to open it."""
        if self._path.is_dir():
            raise self._unusable("it is a directory")
        parent = self._path.parent
        if parent.is_dir():
            return
        if parent.exists():
            raise self._unusable(f"{parent} is not a directory")
        if not self._create_parent:
            raise self._unusable(f"its directory {parent} does not exist; create it first")
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise self._unusable(f"cannot create {parent}: {error.strerror or type(error).__name__}") from None

    def _unusable(self, reason: str) -> ConfigurationError:
        return ConfigurationError(
            f"store.path: {self._path} cannot hold the SQLite store ({reason}); set store.path "
            "(MEDIAGEN_STORE__PATH) to a new or an existing SQLite file in an existing directory",
            key="store.path",
        )


def _prepare(connection: sqlite3.Connection) -> None:
    """Switch to WAL and create the schema, waiting out another process doing the same.

    Switching the journal mode needs the file to itself, and SQLite answers SQLITE_BUSY at once, without calling the
    busy handler, when another process is opening the same new file; so "locked" here is retried until the timeout.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_SECONDS
    delay = 0.005
    while True:
        try:
            for statement in _SETUP:
                connection.execute(statement)
            connection.executescript(_SCHEMA)
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            if version == 0:
                connection.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            return
        except sqlite3.OperationalError as error:
            if not _is_contention(error) or time.monotonic() > deadline:
                raise
            time.sleep(delay)  # a worker thread's wait, never the event loop's
            delay = min(delay * 2, 0.25)


async def _close_once_opened(opening: asyncio.Future[aiosqlite.Connection]) -> None:
    """A cancelled open still runs on aiosqlite's thread: wait it out (through repeated cancels) and close what it
    opened, so that no worker thread is left to call back into a loop that has gone ("Event loop is closed")."""
    await settled(opening)
    if not opening.cancelled() and opening.exception() is None:
        await opening.result().close()


def _is_contention(error: sqlite3.DatabaseError) -> bool:
    """Another process holding the file, which waiting cures, not a file that cannot hold the store."""
    return "locked" in str(error) or "busy" in str(error)


def _record(row: Iterable[Any]) -> ContinuationRecord:
    continuation_id, backend, kind, data, blob, created_at, expires_at = row
    return ContinuationRecord(
        id=continuation_id,
        backend=backend,
        state=ContinuationState(kind=kind, data=decode_data(data), blob=None if blob is None else bytes(blob)),
        created_at=float(created_at),
        expires_at=None if expires_at is None else float(expires_at),
    )
