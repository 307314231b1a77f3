"""OpenAI benchmarks against the sandbox: mediagen and the raw SDK side by side in one run, then printed.

    .venv/bin/python benchmarks/openai.py [--quick]

The sandbox's OpenAI fake runs in its own process, so its CPU and memory are not counted for the client
measured. mediagen is the real composition root (`Container`) with backend="openai", pointed at the fake
through the `backends.openai.base_url` setting (as an app uses `mediagen sandbox` from another process).
Files go to a tmpfs (/dev/shm) when there is one, so disk noise does not drown the overhead; `--dir` picks
another place.

1. per-call time of one image (Responses API image tool): mediagen vs raw AsyncOpenAI doing the same request
   and writing the file the same way (b64 decode, temp file, fsync, rename, fsync the directory);
   interleaved rounds                                                               goal ratio <= 1.05
2. 64 images, 250 ms sandbox latency, concurrency 16: ideal / measured             goal >= 0.95
3. peak RSS of a process downloading a 512 MiB sandbox video through mediagen      goal <= +64 MiB over idle
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder heads sys.path and this very file would shadow the OpenAI SDK: it goes last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import base64  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import AsyncIterator, Awaitable  # noqa: E402
from typing import Any  # noqa: E402

from measure import (  # noqa: E402
    MIB,
    SandboxProcess,
    Timings,
    default_dir,
    percentile,
    reset_peak,
    row,
    sandbox_process,
    serve_sandbox,
    status,
    verdict,
    write_atomic,
)

KEY = "sandbox-key"
PROMPT = "a red fox in snow"


# --- the sandbox, in its own process --------------------------------------------------------------------------


# --- the two clients ------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def mediagen_service(base_url: str, workdir: Path) -> AsyncIterator[Any]:
    """mediagen's MediaService from the real Container (default SQLite store, filesystem sink, OpenAI adapter)."""
    from dependency_injector import providers

    from mediagen.adapters.credentials.env import StaticCredentialSource
    from mediagen.application.settings import load_settings
    from mediagen.container import Container

    (workdir / "state").mkdir(parents=True, exist_ok=True)  # a store.path set in the settings needs its directory
    settings = load_settings(
        env={},  # neither the user's MEDIAGEN_* variables nor their config files shape the benchmark
        cwd=workdir,
        config_dir=workdir / "config",
        overrides={
            "backends": {"openai": {"base_url": base_url}},
            "output_dir": str(workdir / "mediagen"),
            "store": {"path": str(workdir / "state" / "continuations.sqlite3")},
        },
    )
    container = Container(settings=providers.Object(settings))
    container.credentials.override(providers.Object(StaticCredentialSource({"openai": KEY})))
    service = container.service()
    try:
        yield service
    finally:
        await service.aclose()
        container.shutdown_resources()


def image_request(prompt: str = PROMPT) -> Any:
    from mediagen.domain.media import MediaType
    from mediagen.domain.request import MediaRequest

    return MediaRequest(media_type=MediaType.IMAGE, prompt=prompt, backend="openai")


def raw_kwargs(request: Any) -> dict[str, Any]:
    """The exact responses.create kwargs mediagen sends for `request` (computed once, outside any timing)."""
    from mediagen.adapters.openai.mapping import map_responses_image
    from mediagen.adapters.openai.spec import SPEC

    model = SPEC.default_models[request.media_type]
    plan = map_responses_image(request, model, SPEC.model(model))
    return plan.kwargs(plan.prompt)


class RawClient:
    """The baseline: one AsyncOpenAI, the same request, the image decoded and written like mediagen writes it."""

    def __init__(self, base_url: str, directory: Path, kwargs: dict[str, Any]) -> None:
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0)
        self.directory = directory
        self.kwargs = kwargs
        self.count = 0
        directory.mkdir(parents=True, exist_ok=True)

    async def generate(self) -> Path:
        response = await self.client.responses.create(**self.kwargs)
        call = next(item for item in response.output if item.type == "image_generation_call")
        data = base64.b64decode(call.result, validate=True)
        self.count += 1
        return await asyncio.to_thread(write_atomic, self.directory, f"raw_{self.count:05d}.png", data)

    async def aclose(self) -> None:
        await self.client.close()


# --- measurements ---------------------------------------------------------------------------------------------


async def per_call(base_url: str, workdir: Path, rounds: int, per_round: int) -> tuple[Timings, Timings]:
    """Raw and mediagen timings, in short rounds alternating which side goes first (drift hits both alike)."""
    request = image_request()
    raw = RawClient(base_url, workdir / "raw", raw_kwargs(request))
    raw_times, ours_times = Timings(), Timings()
    async with mediagen_service(base_url, workdir) as service:

        async def ours() -> None:
            await service.generate(request)

        try:
            for _ in range(30):  # warm both: connections, SDK code paths, the sandbox's image cache
                await raw.generate()
                await ours()
            gc.collect()
            for round_no in range(rounds):
                sides = [(raw.generate, raw_times), (ours, ours_times)]
                for call, into in sides if round_no % 2 == 0 else reversed(sides):
                    await into.run(call, per_round)
        finally:
            await raw.aclose()
    return raw_times, ours_times


class BatchRun:
    """Wall seconds of one batch, and the CPU seconds the client and the sandbox spent on it."""

    def __init__(self, wall: float, client_cpu: float, sandbox_cpu: float | None) -> None:
        self.wall = wall
        self.client_cpu = client_cpu
        self.sandbox_cpu = sandbox_cpu

    def describe(self, ideal: float, n: int) -> str:
        sandbox = f"{self.sandbox_cpu / n * 1e3:.1f} ms" if self.sandbox_cpu is not None else "?"
        return (
            f"{self.wall:.3f} s, ideal/measured {ideal / self.wall:.3f}; CPU per image: client "
            f"{self.client_cpu / n * 1e3:.1f} ms, sandbox {sandbox}"
        )


async def _timed(sandbox: SandboxProcess, work: Awaitable[Any]) -> BatchRun:
    sandbox_cpu, cpu, start = sandbox.cpu_seconds(), time.process_time(), time.perf_counter()
    await work
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    after = sandbox.cpu_seconds()
    return BatchRun(wall, used, None if after is None or sandbox_cpu is None else after - sandbox_cpu)


async def batch(
    sandbox: SandboxProcess, workdir: Path, n: int, concurrency: int, *, raw_first: bool
) -> tuple[BatchRun, BatchRun]:
    """`n` images at `concurrency`: raw (semaphore + gather) and mediagen's generate_batch, one after the other."""
    request = image_request()
    raw = RawClient(sandbox.url, workdir / "raw-batch", raw_kwargs(request))
    async with mediagen_service(sandbox.url, workdir) as service:
        try:
            await asyncio.gather(raw.generate(), service.generate(request))  # connect and warm both
            gate = asyncio.Semaphore(concurrency)

            async def one() -> None:
                async with gate:
                    await raw.generate()

            async def raw_batch() -> None:
                await asyncio.gather(*(one() for _ in range(n)))

            async def ours_batch() -> None:
                result = await service.generate_batch([request] * n, max_concurrent=concurrency)
                if result.succeeded != n:
                    raise RuntimeError(f"mediagen's batch failed {result.failed} of {n} items: {result.items[0]}")

            if raw_first:
                raw_run = await _timed(sandbox, raw_batch())
                ours_run = await _timed(sandbox, ours_batch())
            else:
                ours_run = await _timed(sandbox, ours_batch())
                raw_run = await _timed(sandbox, raw_batch())
        finally:
            await raw.aclose()
    return raw_run, ours_run


async def bare_http_batch(sandbox: SandboxProcess, n: int, concurrency: int) -> BatchRun:
    """The floor: the same POSTs through a bare HTTP client (no SDK models, no file written), bodies read whole."""
    import httpx2  # the HTTP client the openai SDK itself uses

    request = image_request()
    body = raw_kwargs(request)
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx2.AsyncClient(base_url=sandbox.url, headers=headers, timeout=60) as client:
        (await client.post("/responses", json=body)).raise_forstatus()  # connect and warm
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                (await client.post("/responses", json=body)).raise_forstatus()

        async def run() -> None:
            await asyncio.gather(*(one() for _ in range(n)))

        return await _timed(sandbox, run())


def measure_video(base_url: str, workdir: str) -> None:
    """Child process: after a warm-up image, download one sandbox video through mediagen; print memory as JSON."""
    import resource

    from mediagen.domain.media import MediaType
    from mediagen.domain.request import MediaRequest

    async def run() -> dict[str, Any]:
        async with mediagen_service(base_url, Path(workdir)) as service:
            await service.generate(image_request())  # loads the SDK, the client, the sink and the store
            gc.collect()
            reset = reset_peak()
            idle = status("VmRSS")
            idle_peak = status("VmHWM")
            start = time.perf_counter()
            result = await service.generate(
                MediaRequest(media_type=MediaType.VIDEO, prompt="a slow pan over snow", backend="openai")
            )
            seconds = time.perf_counter() - start
            return {
                "reset": reset,
                "idle": idle,
                "idle_peak": idle_peak,
                "peak": status("VmHWM"),
                "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "bytes": result.artifact.size_bytes,
                "seconds": seconds,
                "path": str(result.artifact.path),
            }

    print(json.dumps(asyncio.run(run())))


def video_memory(base_url: str, workdir: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure-video", base_url, str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


# --- the report -----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and a 128 MiB video (a smoke test)")
    parser.add_argument(
        "--dir", type=Path, default=default_dir(), help="where files are written (default: /dev/shm if present)"
    )
    args = parser.parse_args()
    rounds, per_round, batches, video_mib = (40, 5, 1, 128) if args.quick else (200, 5, 3, 512)
    results: list[tuple[str, bool]] = []

    with tempfile.TemporaryDirectory(prefix="mediagen-bench-", dir=args.dir) as tmp:
        workdir = Path(tmp)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {'quick' if args.quick else 'full'} run; "
              f"the sandbox runs in its own process; files go to {workdir}\n")  # fmt: skip
        os.environ["XDG_DATA_HOME"] = str(workdir / "xdg")  # any state mediagen keeps goes here, not the user's

        with sandbox_process(__file__, "openai", "OPENAI_BASE_URL") as sandbox:
            raw, ours = asyncio.run(per_call(sandbox.url, workdir / "calls", rounds, per_round))
        ratio = statistics.fmean(ours.wall) / statistics.fmean(raw.wall)
        p50_ratio = percentile(ours.wall, 0.5) / percentile(raw.wall, 0.5)
        cpu_ratio = statistics.fmean(ours.cpu) / statistics.fmean(raw.cpu)
        print(f"1. one image per call (Responses API image tool, gpt-5.4), {len(raw.wall)} calls per side, "
              f"{rounds} interleaved rounds of {per_round}")  # fmt: skip
        print(f"   {'path':<44} {'mean':>9} {'p50':>9} {'p95':>9} {'loop CPU':>9}")
        print(row("raw AsyncOpenAI + b64 decode + atomic write", raw))
        print(row("mediagen service.generate (Container)", ours))
        added = statistics.fmean(ours.wall) - statistics.fmean(raw.wall)
        print(f"   mediagen / raw: mean {ratio:.3f}, p50 {p50_ratio:.3f}, loop CPU {cpu_ratio:.3f}; "
              f"mediagen adds {added * 1e3:.2f} ms per call (mean)")  # fmt: skip
        results.append((f"mediagen / raw per call {ratio:.3f} (mean; goal <= 1.05)", ratio <= 1.05))

        n, concurrency, latency = 64, 16, 0.25
        ideal = -(-n // concurrency) * latency
        print(f"\n2. {n} images, {latency * 1e3:.0f} ms sandbox latency, concurrency {concurrency}: "
              f"ideal {ideal:.2f} s, {batches} run(s)")  # fmt: skip
        ratios = []
        with sandbox_process(__file__, "openai", "OPENAI_BASE_URL", latency=latency) as sandbox:
            for run_no in range(batches):
                raw_run, ours_run = asyncio.run(
                    batch(sandbox, workdir / f"batch{run_no}", n, concurrency, raw_first=run_no % 2 == 0)
                )
                ratios.append(ideal / ours_run.wall)
                floor = asyncio.run(bare_http_batch(sandbox, n, concurrency))
                print(f"   bare HTTP (floor)        {floor.describe(ideal, n)}")
                print(f"   raw AsyncOpenAI          {raw_run.describe(ideal, n)}")
                print(f"   mediagen generate_batch  {ours_run.describe(ideal, n)}")
        batch_ratio = statistics.median(ratios)
        results.append((f"mediagen batch ideal/measured {batch_ratio:.3f} (median; goal >= 0.95)", batch_ratio >= 0.95))

        with sandbox_process(__file__, "openai", "OPENAI_BASE_URL", video_min_bytes=video_mib * MIB) as sandbox:
            found = video_memory(sandbox.url, workdir / "video")
        added = (found["peak"] - found["idle"]) / MIB
        print(f"\n3. a {found['bytes'] / MIB:.0f} MiB sandbox video downloaded by mediagen in a child process "
              f"({found['seconds']:.1f} s, {found['bytes'] / MIB / found['seconds']:.0f} MiB/s)")  # fmt: skip
        method = "peak reset after warm-up" if found["reset"] else "peak not resettable; idle peak shown"
        print(f"   RSS idle {found['idle'] / MIB:.1f} MiB, peak {found['peak'] / MIB:.1f} MiB ({method})")
        print(f"   VmHWM just before the download {found['idle_peak'] / MIB:.1f} MiB; "
              f"ru_maxrss (whole life, start-up included) {found['maxrss'] / MIB:.1f} MiB")  # fmt: skip
        print(f"   added while downloading: {added:+.1f} MiB")
        results.append((f"video download adds {added:+.1f} MiB of RSS (goal <= +64 MiB)", added <= 64))

    print()
    for text, met in results:
        print(f"{verdict(met)}: {text}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-sandbox":
        serve_sandbox(sys.argv[2], json.loads(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "--measure-video":
        measure_video(sys.argv[2], sys.argv[3])
    else:
        main()
