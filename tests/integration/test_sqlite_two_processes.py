"""Two OS processes share one SQLite store: concurrent writers lose nothing and records outlive their process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mediagen.adapters.stores.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]

# Opens the store, says "ready", waits for "go" on stdin, saves N records, prints their ids as JSON.
WRITER = """
import asyncio, json, sys
from pathlib import Path
from mediagen.adapters.stores.sqlite import SqliteStore
from mediagen.ports.continuation import ContinuationState

async def main(path, name, count):
    store = SqliteStore(Path(path))
    await store.records()
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        ids = []
        for n in range(count):
            state = ContinuationState(kind="chat", data={"writer": name, "n": n}, blob=n.to_bytes(2, "big"))
            ids.append(await store.save(name, state))
    finally:
        await store.aclose()
    print(json.dumps(ids), flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""

# Loads one id in a fresh process and prints the record as JSON.
READER = """
import asyncio, json, sys
from pathlib import Path
from mediagen.adapters.stores.sqlite import SqliteStore

async def main(path, continuation_id):
    store = SqliteStore(Path(path))
    record = await store.load(continuation_id)
    await store.aclose()
    print(json.dumps(None if record is None else {
        "backend": record.backend, "kind": record.state.kind, "data": dict(record.state.data),
        "blob": None if record.state.blob is None else record.state.blob.hex(),
    }))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def _python(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _finish(process: subprocess.Popen[str], stdin: str | None = None) -> str:
    try:
        out, err = process.communicate(stdin, timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    return out


async def test_two_processes_saving_at_the_same_time_into_one_file_lose_no_record(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "continuations.sqlite3"
    writers = {name: _python(WRITER, str(path), name, "200") for name in ("alpha", "beta")}
    for process in writers.values():  # both have the database open before either writes
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if line != "ready":
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"a writer failed to open the store: {err}")
    for process in writers.values():  # then both start writing at once
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = {name: _finish(process) for name, process in writers.items()}
    ids = {name: json.loads(out.strip().splitlines()[-1]) for name, out in outputs.items()}

    store = SqliteStore(path)
    try:
        for name, saved in ids.items():
            assert len(saved) == 200
            for n, continuation_id in enumerate(saved):
                record = await store.load(continuation_id)
                assert record is not None, f"{name}'s record {n} was lost"
                assert record.backend == name
                assert record.state.data == {"writer": name, "n": n}
                assert record.state.blob == n.to_bytes(2, "big")
        assert len(await store.records()) == 400
    finally:
        await store.aclose()


async def test_a_record_saved_by_one_process_loads_in_a_later_one(tmp_path: Path) -> None:
    path = tmp_path / "continuations.sqlite3"
    [continuation_id] = json.loads(_finish(_python(WRITER, str(path), "google", "1"), "go\n").splitlines()[-1])
    loaded = json.loads(_finish(_python(READER, str(path), continuation_id)))
    assert loaded == {"backend": "google", "kind": "chat", "data": {"writer": "google", "n": 0}, "blob": "0000"}
    assert json.loads(_finish(_python(READER, str(path), "google_chat_000000000000"))) is None


# Saves once and never closes the store.
FORGETFUL = """
import asyncio, sys
from pathlib import Path
from mediagen.adapters.stores.sqlite import SqliteStore
from mediagen.ports.continuation import ContinuationState

store = SqliteStore(Path(sys.argv[1]))
asyncio.run(store.save("alpha", ContinuationState(kind="chat")))
print("saved")
"""


def test_a_store_nobody_closed_does_not_keep_its_process_alive(tmp_path: Path) -> None:
    assert _finish(_python(FORGETFUL, str(tmp_path / "s.sqlite3"))).strip() == "saved"
