"""Core benchmarks, printed side by side from one run.

    .venv/bin/python benchmarks/core.py

1. service overhead per call: MediaService.generate vs calling the same zero-latency fake generator
   directly (both consume the stream into memory)      goal < 200 us
2. batch of 64 x 250 ms fake calls at concurrency 16: ideal / measured   goal >= 0.95
3. `import mediagen` added time over a bare interpreter           goal < 100 ms
4. `mediagen --help` wall time                                    goal < 300 ms
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from mediagen.adapters.stores.memory import MemoryStore
from mediagen.application.registry import BackendRegistry
from mediagen.application.selector import BackendSelector
from mediagen.application.service import MediaService
from mediagen.application.settings import Settings
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.ports.generator import GenerationContext
from mediagen.testing import FakeGenerator, MemorySink, StaticCredentials, fake_plugin, fake_spec

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def service_for(generator: FakeGenerator) -> tuple[MediaService, MemorySink]:
    spec = generator.spec
    sink = MemorySink()
    service = MediaService(
        registry=BackendRegistry([fake_plugin(spec, generator)]),
        selector=BackendSelector([spec], StaticCredentials({spec.name: "k"})),
        store=MemoryStore(max_items=10_000),
        sink=sink,
        settings=Settings(),
    )
    return service, sink


async def overhead(calls: int = 3000) -> tuple[float, float]:
    spec = fake_spec("bench")
    generator = FakeGenerator(spec, continuation=False)
    service, sink = service_for(generator)
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", size="64x64")
    ctx = GenerationContext(credentials=StaticCredentials({"bench": "k"}).get(spec), model="bench-image", timeout=60)  # type: ignore[arg-type]

    async def direct() -> None:
        media = await generator.generate(request, ctx)
        async for _ in media.stream:
            pass

    async def through_service() -> None:
        await service.generate(request)
        sink.written.clear()

    for _ in range(200):
        await direct()
        await through_service()
    raw, ours = [], []
    for _ in range(5):  # interleaved rounds so drift hits both sides alike
        start = time.perf_counter()
        for _ in range(calls // 5):
            await direct()
        raw.append((time.perf_counter() - start) / (calls // 5))
        start = time.perf_counter()
        for _ in range(calls // 5):
            await through_service()
        ours.append((time.perf_counter() - start) / (calls // 5))
    return statistics.median(raw), statistics.median(ours)


async def batch(n: int = 64, latency: float = 0.25, concurrency: int = 16) -> tuple[float, float]:
    generator = FakeGenerator(fake_spec("bench"), latency=latency)
    service, _ = service_for(generator)
    requests = [MediaRequest(media_type=MediaType.IMAGE, prompt=f"fox {i}", size="64x64") for i in range(n)]
    start = time.perf_counter()
    result = await service.generate_batch(requests, max_concurrent=concurrency)
    measured = time.perf_counter() - start
    assert result.succeeded == n
    ideal = -(-n // concurrency) * latency
    return ideal, measured


def wall(cmd: list[str], runs: int = 9) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    subprocess.run(cmd, check=True, capture_output=True, env=env)  # warm the bytecode cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    raw, ours = asyncio.run(overhead())
    print(f"1. overhead per call: raw generator {raw * 1e6:.0f} us, through MediaService {ours * 1e6:.0f} us")
    print(f"   service overhead {(ours - raw) * 1e6:.0f} us per call (goal < 200 us); ratio {ours / raw:.2f}x")
    ideal, measured = asyncio.run(batch())
    print(f"2. batch 64 x 250 ms at concurrency 16: ideal {ideal:.3f} s, measured {measured:.3f} s, "
          f"ideal/measured {ideal / measured:.3f} (goal >= 0.95)")  # fmt: skip
    bare = wall([sys.executable, "-c", "pass"])
    imported = wall([sys.executable, "-c", "import mediagen"])
    print(f"3. import mediagen: {imported * 1e3:.0f} ms vs bare interpreter {bare * 1e3:.0f} ms, "
          f"added {(imported - bare) * 1e3:.0f} ms (goal < 100 ms)")  # fmt: skip
    helped = wall([str(BIN / "mediagen"), "--help"])
    print(f"4. mediagen --help: {helped * 1e3:.0f} ms (goal < 300 ms)")


if __name__ == "__main__":
    main()
