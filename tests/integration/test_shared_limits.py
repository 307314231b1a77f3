"""Call limits shared through a real redis-server: four worker processes, one vendor account, one budget.

The minute is modelled by a shorter `period` (RedisLimits' scale-model knob) so the test takes seconds;
benchmarks/scale.py runs the same at full scale (4 x 50 requests at 60 a minute).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio

from mediagen.adapters.stores.redis_limits import RedisLimits, window
from mediagen.domain.errors import ConfigurationError
from mediagen.ports.limits import CallLimit
from mediagen.sandbox import SandboxThread
from tests.conftest import _free_loopback_port

ROOT = Path(__file__).resolve().parents[2]

# One worker: a service on the shared Redis (store and limits), the sandbox's OpenAI fake, one shared key.
WORKER = """
import asyncio, json, sys
from pathlib import Path
from dependency_injector import providers
from mediagen import Container, MediaRequest, MediaType
from mediagen.adapters.credentials.env import StaticCredentialSource
from mediagen.adapters.stores.redis_limits import RedisLimits
from mediagen.application.settings import load_settings

base_url, redis_url, out, count, per_period, period, concurrent = sys.argv[1:8]

async def main():
    box = Container()
    settings = {
        "output_dir": out,
        "store": {"kind": "redis", "url": redis_url},
        "backends": {"openai": {"base_url": base_url, "requests_per_minute": float(per_period)}},
        "retry": {"attempts": 1},
    }
    if concurrent != "-":
        settings["backends"]["openai"]["max_concurrent"] = int(concurrent)
    box.settings.override(providers.Object(load_settings(overrides=settings)))
    box.credentials.override(providers.Object(StaticCredentialSource({"openai": "sk-one-account"})))
    box.limits.override(providers.Object(RedisLimits(redis_url, period=float(period))))
    image = MediaType.IMAGE
    requests = [MediaRequest(media_type=image, prompt=f"item {n}", backend="openai") for n in range(int(count))]
    async with box.service() as service:
        print("ready", flush=True)
        sys.stdin.readline()
        batch = await service.generate_batch(requests, max_concurrent=int(count))
    print(json.dumps([item.error.code if item.error else "ok" for item in batch.items]), flush=True)

asyncio.run(main())
"""


def _workers(n: int, *args: str) -> list[subprocess.Popen[str]]:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(n)
    ]
    for process in processes:  # all have their service built before any starts, so they all compete at once
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            process.kill()
            pytest.fail(f"a worker failed to start: {process.communicate()[1]}")
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    return processes


def _outcomes(process: subprocess.Popen[str]) -> list[str]:
    try:
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    outcome: list[str] = json.loads(out.strip().splitlines()[-1])
    return outcome


def _most_in_any_window(times: list[float], seconds: float) -> int:
    ordered = sorted(times)
    return max(sum(1 for t in ordered[i:] if t < start + seconds) for i, start in enumerate(ordered))


@pytest.fixture
async def redis_url(redis_server_url: str) -> str:
    admin = redis.asyncio.from_url(redis_server_url)
    await admin.flushdb()
    await admin.aclose()
    return redis_server_url


def test_four_processes_with_one_key_never_exceed_the_shared_rate_at_the_vendor(redis_url: str, tmp_path: Path) -> None:
    per_period, period, each = 3, 2.0, 3  # 3 calls in any 2 s; 4 workers x 3 images: 4 windows' worth
    with SandboxThread() as sandbox:
        processes = _workers(4, sandbox.base_url("openai"), redis_url, str(tmp_path), str(each), str(per_period),
                             str(period), "-")  # fmt: skip
        outcomes = [_outcomes(p) for p in processes]
        calls = [c for c in sandbox.calls("openai") if c.method == "POST"]
    assert outcomes == [["ok"] * each] * 4
    assert len(calls) == 4 * each and all(call.status == 200 for call in calls)
    # A call counts until a period after it ends, so the fake never sees more than the limit in a period; the
    # slack only covers the two clocks (Redis' and the sandbox's). A per-process limit would let all 12 through.
    slack = 0.05
    assert _most_in_any_window([c.received for c in calls], period - slack) <= per_period
    spread = max(c.received for c in calls) - min(c.received for c in calls)
    assert spread >= (4 * each / per_period - 1) * period - slack
    assert len(list(tmp_path.iterdir())) == 4 * each


async def test_max_concurrent_is_one_budget_for_every_limiter_on_the_redis(redis_url: str) -> None:
    limiters = [RedisLimits(redis_url), RedisLimits(redis_url)]  # two clients, as two workers would have
    running = peak = 0
    gate = asyncio.Event()

    async def call(limits: RedisLimits, account: str) -> None:
        nonlocal running, peak
        await gate.wait()
        async with limits.hold("openai", account, CallLimit(max_concurrent=2), lease_seconds=30, on_wait=print):
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.02)  # a call's work, so overlapping calls overlap
            running -= 1

    try:
        tasks = [asyncio.ensure_future(call(limiters[n % 2], "acct-a")) for n in range(8)]
        gate.set()
        await asyncio.gather(*tasks)
        assert peak == 2
        # Another account has its own budget: its call runs while acct-a's slots are both held.
        two = CallLimit(max_concurrent=2)
        async with (
            limiters[0].hold("openai", "acct-a", two, lease_seconds=30, on_wait=print),
            limiters[1].hold("openai", "acct-a", two, lease_seconds=30, on_wait=print),
        ):
            await asyncio.wait_for(_one_call(limiters[0], "acct-b"), timeout=5)
    finally:
        for limits in limiters:
            await limits.aclose()


async def _one_call(limits: RedisLimits, account: str) -> None:
    async with limits.hold("openai", account, CallLimit(max_concurrent=2), lease_seconds=30, on_wait=print):
        pass


# Takes the one slot with a 1 s lease and dies holding it.
DIES_HOLDING = """
import asyncio, os, sys
from mediagen.adapters.stores.redis_limits import RedisLimits
from mediagen.ports.limits import CallLimit

async def main():
    limits = RedisLimits(sys.argv[1])
    async with limits.hold("openai", "acct", CallLimit(max_concurrent=1), lease_seconds=1.0, on_wait=print):
        print("holding", flush=True)
        os._exit(0)

asyncio.run(main())
"""


async def test_a_slot_whose_holder_died_is_free_again_when_its_lease_ends(redis_url: str) -> None:
    died = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", DIES_HOLDING, redis_url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert died.stdout.strip() == "holding", died.stderr
    admin = redis.asyncio.from_url(redis_url)
    held = await admin.zcard("mediagen:busy:openai:acct")
    await admin.aclose()
    assert held == 1  # still held by the dead worker: the call below waits for its lease to end
    alive = RedisLimits(redis_url)
    try:
        await asyncio.wait_for(_one_call_of_one(alive), timeout=10)
    finally:
        await alive.aclose()


async def _one_call_of_one(limits: RedisLimits) -> None:
    async with limits.hold("openai", "acct", CallLimit(max_concurrent=1), lease_seconds=30, on_wait=print):
        pass


async def test_the_rate_waits_are_reported_once_per_call(redis_url: str) -> None:
    limits = RedisLimits(redis_url, period=0.5)
    waits: list[float] = []
    try:
        for _ in range(3):
            async with limits.hold("openai", "acct", CallLimit(requests_per_minute=2), lease_seconds=30,
                                   on_wait=waits.append):  # fmt: skip
                pass
    finally:
        await limits.aclose()
    assert len(waits) == 1 and 0 < waits[0] <= 0.5 + 0.01  # at most the period (the scripts round up 1 ms)


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(60, (60, 60.0)), (1.5, (1, 40.0)), (0.5, (1, 120.0)), (1, (1, 60.0)), (90.5, (90, 60 * 90 / 90.5))],
)
def test_a_rate_becomes_whole_calls_in_a_window_of_the_same_average(rate: float, expected: tuple[int, float]) -> None:
    assert window(rate) == pytest.approx(expected)


async def test_a_redis_that_cannot_be_reached_fails_the_call_before_the_vendor_with_a_typed_error() -> None:
    limits = RedisLimits(f"redis://127.0.0.1:{_free_loopback_port()}/0")  # nothing listens there
    reached = False
    try:
        with pytest.raises(ConfigurationError, match=r"cannot reach the Redis") as caught:
            async with limits.hold(
                "openai", "acct", CallLimit(requests_per_minute=60), lease_seconds=30, on_wait=print
            ):
                reached = True
    finally:
        await limits.aclose()
    assert not reached and caught.value.details() == {"key": "store.url"}
