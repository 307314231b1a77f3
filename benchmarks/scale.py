"""Shared call limits: worker processes with one key against one requests_per_minute, counted at the fake.

    .venv/bin/python benchmarks/scale.py [--quick]

Needs redis-server on PATH (it starts its own on a loopback port, without persistence). The sandbox's OpenAI
fake runs in this process and stamps every request it receives; 4 worker processes each build a `Container`
with the store and the call limits on that Redis, one shared key, `backends.openai.requests_per_minute` set,
and generate their images with `generate_batch` (every image at once: the limit alone paces them).

1. shared limit: the most requests the fake received in any window of a minute, against the limit    goal <= limit
   and the time taken against the ideal (the last window's start)                                  goal ratio >= 0.9
2. for reference, the same workers with per-process limits (no Redis): each holds its own budget, so the
   fake sees up to 4 x the limit in a minute — what the shared limit is for.

The full run is 4 x 50 images at 60 a minute (about 3 minutes); --quick models the minute as 6 s
(RedisLimits' `period`), 4 x 10 images at 12 per 6 s.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mediagen.sandbox import SandboxThread

WORKER = """
import asyncio, sys
from dependency_injector import providers
from mediagen import Container, MediaRequest, MediaType
from mediagen.adapters.credentials.env import StaticCredentialSource
from mediagen.adapters.stores.redis_limits import RedisLimits
from mediagen.application.settings import load_settings

base_url, redis_url, out, count, rate, period = sys.argv[1:7]

async def main():
    box = Container()
    store = {"kind": "redis", "url": redis_url} if redis_url != "-" else {"kind": "memory"}
    box.settings.override(providers.Object(load_settings(overrides={
        "output_dir": out, "store": store, "retry": {"attempts": 1}, "timeouts": {"image": 900},
        "backends": {"openai": {"base_url": base_url, "requests_per_minute": float(rate)}},
    })))
    box.credentials.override(providers.Object(StaticCredentialSource({"openai": "sk-one-account"})))
    if redis_url != "-":
        box.limits.override(providers.Object(RedisLimits(redis_url, period=float(period))))
    image = MediaType.IMAGE
    requests = [MediaRequest(media_type=image, prompt=f"item {n}", backend="openai") for n in range(int(count))]
    async with box.service() as service:
        print("ready", flush=True)
        sys.stdin.readline()
        batch = await service.generate_batch(requests, max_concurrent=int(count))
    print(sum(item.error is None for item in batch.items), flush=True)

asyncio.run(main())
"""


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not on PATH (apt-get install redis-server)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "Ready to accept connections" in line:
                break
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_workers(base_url: str, redis_url: str, out: Path, workers: int, each: int, rate: int, period: float) -> int:
    args = [base_url, redis_url, str(out), str(each), str(rate), str(period)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(workers)
    ]
    for process in processes:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            sys.exit("a worker failed to start")
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    done = 0
    for process in processes:
        out_text, _ = process.communicate()
        done += int(out_text.strip().splitlines()[-1])
    return done


def most_in_any_window(times: list[float], seconds: float) -> int:
    ordered = sorted(times)
    best, first = 0, 0
    for last, t in enumerate(ordered):
        while ordered[first] <= t - seconds:
            first += 1
        best = max(best, last - first + 1)
    return best


def measure(
    sandbox: SandboxThread, redis_url: str, workers: int, each: int, rate: int, period: float
) -> dict[str, float]:
    before = len(sandbox.calls("openai"))
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        done = run_workers(sandbox.base_url("openai"), redis_url, Path(out), workers, each, rate, period)
        seconds = time.monotonic() - started
    calls = [c for c in sandbox.calls("openai")[before:] if c.method == "POST"]
    times = [c.received for c in calls]
    return {
        "images": done,
        "requests": len(calls),
        "most_in_a_window": most_in_any_window(times, period),
        "first_to_last": max(times) - min(times),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="model the minute as 6 s: 4 x 10 images at 12 per 6 s")
    args = parser.parse_args()
    workers, each, rate, period = (4, 10, 12, 6.0) if args.quick else (4, 50, 60, 60.0)
    with redis_server() as redis_url, SandboxThread() as sandbox:
        shared = measure(sandbox, redis_url, workers, each, rate, period)
        local = measure(sandbox, "-", workers, each, rate, 60.0)
    # The last window can start once (calls / limit - 1) windows have passed since the first.
    ideal = (math.ceil(workers * each / rate) - 1) * period
    print(f"{workers} workers x {each} images, one key, requests_per_minute = {rate}, minute = {period:g} s")
    print(f"{'limits':<22}{'images':>8}{'requests':>10}{'most in a minute':>18}{'first..last (s)':>17}")
    for name, row in (("shared (Redis)", shared), ("per process (local)", local)):
        print(
            f"{name:<22}{row['images']:>8.0f}{row['requests']:>10.0f}{row['most_in_a_window']:>18.0f}"
            f"{row['first_to_last']:>17.2f}"
        )
    print(json.dumps({"shared": shared, "local": local, "ideal_first_to_last": ideal}))
    held = shared["most_in_a_window"] <= rate and shared["images"] == workers * each
    print(f"goal {'met' if held else 'MISSED'}: at most {rate} requests in any minute at the fake (shared limit)")
    ratio = ideal / shared["first_to_last"] if shared["first_to_last"] else 0.0
    print(f"goal {'met' if ratio >= 0.9 else 'MISSED'}: ideal / measured first..last = {ratio:.3f} (>= 0.9)")


if __name__ == "__main__":
    main()
