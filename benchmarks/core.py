"""Core benchmarks: each figure is measured side by side with its baseline in one run, then printed.

    .venv/bin/python benchmarks/core.py [--quick]

1. service overhead per call: MediaService.generate vs `await generator.generate(...)` + collecting the bytes,
   with the same zero-latency FakeGenerator, interleaved rounds          goal < 200 us (mean)
2. batch of 64 x 250 ms fake calls at concurrency 16: ideal / measured   goal >= 0.95
3. `import mediagen` added time over a bare interpreter, fresh processes   goal < 100 ms
4. `mediagen --help` wall time, the venv's console script, fresh processes goal < 300 ms
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder heads sys.path, and its openai.py would shadow the OpenAI SDK.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Awaitable, Callable, Sequence  # noqa: E402

from mediagen.adapters.stores.memory import MemoryStore  # noqa: E402
from mediagen.application.registry import BackendRegistry  # noqa: E402
from mediagen.application.selector import BackendSelector  # noqa: E402
from mediagen.application.service import MediaService  # noqa: E402
from mediagen.application.settings import Settings  # noqa: E402
from mediagen.domain.media import MediaType  # noqa: E402
from mediagen.domain.request import MediaRequest  # noqa: E402
from mediagen.domain.secret import Secret  # noqa: E402
from mediagen.ports.generator import GenerationContext  # noqa: E402
from mediagen.testing import FakeGenerator, MemorySink, StaticCredentials, fake_plugin, fake_spec  # noqa: E402

BIN = Path(sys.executable).parent
#: Packages `import mediagen` and `mediagen --help` must not load (vendor SDKs and what only a generation needs).
HEAVY = (
    "openai",
    "google.genai",
    "xai_sdk",
    "elevenlabs",
    "grpc",
    "aiohttp",
    "httpx",
    "httpx2",
    "dependency_injector",
    "cattrs",
    "PIL",
    "aiosqlite",
    "aiofiles",
    "redis",
    "stamina",
)


def service_for(generator: FakeGenerator) -> tuple[MediaService, MemorySink]:
    """The real MediaService around the fake: registry, selector, memory store, memory sink, default settings."""
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


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(samples: Sequence[float]) -> tuple[float, float, float]:
    """Mean, p50 and p95 of per-call times."""
    return statistics.fmean(samples), percentile(samples, 0.5), percentile(samples, 0.95)


async def timed_calls(call: Callable[[], Awaitable[None]], count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return times


async def overhead(calls: int, rounds: int = 10) -> tuple[list[float], list[float]]:
    """Per-call seconds of the bare generator (plus collecting its bytes) and of MediaService.generate."""
    spec = fake_spec("bench")
    generator = FakeGenerator(spec, continuation=False)
    service, sink = service_for(generator)
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", size="64x64")
    ctx = GenerationContext(credentials=Secret("k"), model="bench-image", timeout=60.0)

    async def bare() -> None:
        media = await generator.generate(request, ctx)
        b"".join([chunk async for chunk in media.stream])

    async def through_service() -> None:
        await service.generate(request)

    for _ in range(300):  # warm caches and the allocator on both paths
        await bare()
        await through_service()
    raw: list[float] = []
    ours: list[float] = []
    per_round = max(1, calls // rounds)
    for _ in range(rounds):  # interleaved, so drift (frequency scaling, other load) hits both sides alike
        generator.calls.clear()
        sink.written.clear()
        sink.artifacts.clear()
        gc.collect()
        raw += await timed_calls(bare, per_round)
        ours += await timed_calls(through_service, per_round)
    return raw, ours


async def batch(n: int = 64, latency: float = 0.25, concurrency: int = 16) -> tuple[float, float]:
    """Ideal and measured seconds for `n` fake calls of `latency` seconds each through generate_batch."""
    generator = FakeGenerator(fake_spec("bench"), latency=latency)
    service, _ = service_for(generator)
    requests = [MediaRequest(media_type=MediaType.IMAGE, prompt=f"fox {i}", size="64x64") for i in range(n)]
    start = time.perf_counter()
    result = await service.generate_batch(requests, max_concurrent=concurrency)
    measured = time.perf_counter() - start
    if result.succeeded != n:
        raise RuntimeError(f"the batch lost items: {result.failed} of {n} failed")
    ideal = -(-n // concurrency) * latency
    return ideal, measured


def wall(cmd: list[str], runs: int) -> list[float]:
    """Wall seconds of `runs` fresh processes running `cmd` (after one warm-up run that fills the bytecode cache)."""
    subprocess.run(cmd, check=True, capture_output=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def imported_modules(cmd: list[str]) -> list[tuple[str, int]]:
    """(module, cumulative microseconds) for every module `cmd` imports, from a `-X importtime` run."""
    done = subprocess.run([sys.executable, "-X", "importtime", *cmd], check=True, capture_output=True, text=True)
    found = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        found.append((name.strip(), int(cumulative)))
    return found


def heavy_loaded(modules: list[tuple[str, int]]) -> list[str]:
    names = {name for name, _ in modules}
    return [h for h in HEAVY if h in names]


def top_level(modules: list[tuple[str, int]], count: int = 5) -> str:
    """The costliest top-level imports (cumulative, as -X importtime reports them; it inflates all times)."""
    tops = sorted((m for m in modules if "." not in m[0]), key=lambda m: -m[1])[:count]
    return ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in tops)


def verdict(met: bool) -> str:
    return "goal met" if met else "goal MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and runs (a smoke test, noisier)")
    args = parser.parse_args()
    calls, runs, batches = (1000, 5, 1) if args.quick else (5000, 11, 3)
    results: list[tuple[str, bool]] = []

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {'quick' if args.quick else 'full'} run\n")

    raw, ours = asyncio.run(overhead(calls))
    (r_mean, r_p50, r_p95), (o_mean, o_p50, o_p95) = summary(raw), summary(ours)
    added = o_mean - r_mean
    print(f"1. service overhead per call, zero-latency fake, {len(raw)} calls per side, interleaved")
    print(f"   {'path':<44} {'mean':>8} {'p50':>8} {'p95':>8}")
    print(f"   {'bare generator.generate + collect bytes':<44} {r_mean * 1e6:>6.0f}us {r_p50 * 1e6:>6.0f}us "
          f"{r_p95 * 1e6:>6.0f}us")  # fmt: skip
    print(f"   {'MediaService.generate (MemorySink)':<44} {o_mean * 1e6:>6.0f}us {o_p50 * 1e6:>6.0f}us "
          f"{o_p95 * 1e6:>6.0f}us")  # fmt: skip
    print(f"   {'added by the service':<44} {added * 1e6:>6.0f}us {(o_p50 - r_p50) * 1e6:>6.0f}us "
          f"{(o_p95 - r_p95) * 1e6:>6.0f}us")  # fmt: skip
    results.append((f"service overhead {added * 1e6:.0f} us per call (mean; goal < 200 us)", added < 200e-6))

    print(f"\n2. batch of 64 fake calls of 250 ms at concurrency 16 (ideal: ceil(64 / 16) x 0.25 s), {batches} run(s)")
    ratios = []
    for _ in range(batches):
        ideal, measured = asyncio.run(batch())
        ratios.append(ideal / measured)
        print(f"   ideal {ideal:.3f} s, measured {measured:.3f} s, ideal/measured {ideal / measured:.3f}")
    ratio = statistics.median(ratios)
    results.append((f"batch ideal/measured {ratio:.3f} (median of {batches}; goal >= 0.95)", ratio >= 0.95))

    bare = wall([sys.executable, "-c", "pass"], runs)
    imported = wall([sys.executable, "-c", "import mediagen"], runs)
    import_added = statistics.median(imported) - statistics.median(bare)
    modules = imported_modules(["-c", "import mediagen"])
    leaked = heavy_loaded(modules)
    print(f"\n3. import mediagen, median of {runs} fresh processes")
    print(f"   python -c pass              {statistics.median(bare) * 1e3:6.1f} ms")
    print(f"   python -c 'import mediagen' {statistics.median(imported) * 1e3:6.1f} ms")
    print(f"   added                       {import_added * 1e3:6.1f} ms")
    print(f"   costliest top-level imports (-X importtime): {top_level(modules)}")
    print(f"   heavy packages loaded: {', '.join(leaked) or 'none'}")
    results.append((f"import mediagen adds {import_added * 1e3:.0f} ms (goal < 100 ms)", import_added < 0.1))
    results.append((f"import mediagen loads no heavy package ({', '.join(leaked) or 'none'})", not leaked))

    script = str(BIN / "mediagen")
    helped = statistics.median(wall([script, "--help"], runs))
    modules = imported_modules([script, "--help"])
    leaked = heavy_loaded(modules)
    print(f"\n4. mediagen --help ({script}), median of {runs} fresh processes: {helped * 1e3:.0f} ms")
    print(f"   costliest top-level imports (-X importtime): {top_level(modules)}")
    print(f"   heavy packages loaded: {', '.join(leaked) or 'none'}")
    results.append((f"mediagen --help takes {helped * 1e3:.0f} ms (goal < 300 ms)", helped < 0.3))
    results.append((f"mediagen --help loads no heavy package ({', '.join(leaked) or 'none'})", not leaked))

    print()
    for text, met in results:
        print(f"{verdict(met)}: {text}")


if __name__ == "__main__":
    main()
