"""xAI benchmarks against the sandbox: mediagen and the raw xai-sdk side by side in one run, then printed.

    .venv/bin/python benchmarks/xai.py [--quick]

The sandbox's xAI fake (gRPC) runs in its own process, so its CPU and memory are not counted for the client
measured. mediagen is the real composition root (`Container`) with backend="xai", pointed at the fake through
the `backends.xai.base_url` setting (host:port). Files go to a tmpfs (/dev/shm) when there is one; `--dir`
picks another place.

1. per-call time of one image (GenerateImage, base64): mediagen vs raw xai_sdk.AsyncClient doing the same request
   and writing the file the same way (b64 decode, temp file, fsync, rename, fsync the directory);
   interleaved rounds                                                               goal ratio <= 1.05
2. 64 images, 250 ms sandbox latency, concurrency 16: ideal / measured             goal >= 0.95
3. peak RSS of a process downloading a 512 MiB sandbox video through mediagen      goal <= +64 MiB over idle
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder heads sys.path and this very file would shadow a package named xai.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence  # noqa: E402
from typing import Any  # noqa: E402

KEY = "sandbox-key"
PROMPT = "a red fox in snow"
MIB = 1024 * 1024
URL_LINE = "MEDIAGEN_BACKENDS__XAI__BASE_URL="


# --- the sandbox, in its own process --------------------------------------------------------------------------


def serve_sandbox(options: dict[str, Any]) -> None:
    """Child process: serve the xAI fake with these SandboxSettings until SIGTERM."""
    from mediagen.sandbox import SandboxSettings, serve_forever

    serve_forever(("xai",), settings=SandboxSettings(**options))


class SandboxProcess:
    """The xAI fake's host:port and the child process serving it."""

    def __init__(self, url: str, pid: int) -> None:
        self.url = url
        self.pid = pid

    def cpu_seconds(self) -> float | None:
        """CPU time the sandbox process has used so far (Linux /proc; None elsewhere)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@contextlib.contextmanager
def sandbox_process(**options: Any) -> Iterator[SandboxProcess]:
    """Start the xAI fake in a child process; yields its host:port and pid, stops it on exit."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-sandbox", json.dumps(options)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        address = None
        for line in proc.stdout:
            if line.startswith(URL_LINE):
                address = line.strip().partition("=")[2]
                break
        if address is None:
            raise RuntimeError(f"the sandbox process exited ({proc.wait()}) without printing its address")
        yield SandboxProcess(address, proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


# --- the two clients ------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def mediagen_service(address: str, workdir: Path, *, store: str = "sqlite") -> AsyncIterator[Any]:
    """mediagen's MediaService from the real Container (default SQLite store, filesystem sink, xAI adapter)."""
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
            "backends": {"xai": {"base_url": address, "extra": {"poll_interval": 0.05}}},
            "output_dir": str(workdir / "mediagen"),
            "store": {"kind": store, "path": str(workdir / "state" / "continuations.sqlite3")},
        },
    )
    container = Container(settings=providers.Object(settings))
    container.credentials.override(providers.Object(StaticCredentialSource({"xai": KEY})))
    service = container.service()
    try:
        yield service
    finally:
        await service.aclose()
        container.shutdown_resources()


def image_request(prompt: str = PROMPT) -> Any:
    from mediagen.domain.media import MediaType
    from mediagen.domain.request import MediaRequest

    return MediaRequest(media_type=MediaType.IMAGE, prompt=prompt, backend="xai")


def raw_kwargs(request: Any) -> dict[str, Any]:
    """The exact image.sample kwargs mediagen sends for `request` (computed once, outside any timing)."""
    from mediagen.adapters.xai.mapping import map_image
    from mediagen.adapters.xai.spec import SPEC

    model = SPEC.default_models[request.media_type]
    plan = map_image(request, model, SPEC.model(model))
    return {"prompt": plan.prompt, "model": plan.model, **plan.kwargs}


def write_atomic(directory: Path, name: str, data: bytes) -> Path:
    """What a careful app does with the bytes: temp file beside the target, fsync, rename, fsync the directory."""
    temp = directory / f".{name}.part-{secrets.token_hex(8)}"
    with open(temp, "xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    final = directory / name
    os.rename(temp, final)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return final


class RawClient:
    """The baseline: one xai_sdk.AsyncClient, the same request, the image decoded and written like mediagen does."""

    def __init__(self, address: str, directory: Path, kwargs: dict[str, Any]) -> None:
        from xai_sdk import AsyncClient

        self.client = AsyncClient(api_key=KEY, api_host=address, use_insecure_channel=True)
        self.directory = directory
        self.kwargs = kwargs
        self.count = 0
        directory.mkdir(parents=True, exist_ok=True)

    async def generate(self) -> Path:
        response = await self.client.image.sample(**self.kwargs)
        data = await response.image  # the SDK splits the data URI and decodes the base64
        self.count += 1
        return await asyncio.to_thread(write_atomic, self.directory, f"raw_{self.count:05d}.jpg", data)

    async def aclose(self) -> None:
        await self.client.close()


# --- measurements ---------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Timings:
    """Per-call wall seconds, and the CPU seconds the event loop's thread spent on each call."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    async def run(self, call: Callable[[], Awaitable[Any]], count: int) -> None:
        for _ in range(count):
            cpu, start = time.thread_time(), time.perf_counter()
            await call()
            self.wall.append(time.perf_counter() - start)
            self.cpu.append(time.thread_time() - cpu)


async def per_call(base_url: str, workdir: Path, rounds: int, per_round: int) -> tuple[Timings, Timings, Timings]:
    """Raw and mediagen timings (with its default SQLite store, and with the memory store), in short rounds rotating
    which side goes first (drift hits all alike).

    Every Grok image result keeps the image's bytes as its continuation (so `--continue-from` edits it from another
    process); the memory-store line shows what that SQLite write costs, which the raw SDK does not do.
    """
    request = image_request()
    raw = RawClient(base_url, workdir / "raw", raw_kwargs(request))
    raw_times, ours_times, memory_times = Timings(), Timings(), Timings()
    async with (
        mediagen_service(base_url, workdir) as service,
        mediagen_service(base_url, workdir / "memory", store="memory") as in_memory,
    ):

        async def ours() -> None:
            await service.generate(request)

        async def ours_in_memory() -> None:
            await in_memory.generate(request)

        try:
            for _ in range(30):  # warm all: connections, SDK code paths, the sandbox's image cache
                await raw.generate()
                await ours()
                await ours_in_memory()
            gc.collect()
            sides = [(raw.generate, raw_times), (ours, ours_times), (ours_in_memory, memory_times)]
            for round_no in range(rounds):
                turn = round_no % len(sides)
                for call, into in sides[turn:] + sides[:turn]:
                    await into.run(call, per_round)
        finally:
            await raw.aclose()
    return raw_times, ours_times, memory_times


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


def _status(field: str) -> int:
    """A /proc/self/status memory figure, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs); False where that is refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure_video(base_url: str, workdir: str) -> None:
    """Child process: after a warm-up image, download one sandbox video through mediagen; print memory as JSON."""
    import resource

    from mediagen.domain.media import MediaType
    from mediagen.domain.request import MediaRequest

    async def run() -> dict[str, Any]:
        async with mediagen_service(base_url, Path(workdir)) as service:
            await service.generate(image_request())  # loads the SDK, the client, the sink and the store
            gc.collect()
            reset = _reset_peak()
            idle = _status("VmRSS")
            idle_peak = _status("VmHWM")
            start = time.perf_counter()
            result = await service.generate(
                MediaRequest(media_type=MediaType.VIDEO, prompt="a slow pan over snow", backend="xai")
            )
            seconds = time.perf_counter() - start
            return {
                "reset": reset,
                "idle": idle,
                "idle_peak": idle_peak,
                "peak": _status("VmHWM"),
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


def verdict(met: bool) -> str:
    return "goal met" if met else "goal MISSED"


def row(name: str, timings: Timings) -> str:
    samples = timings.wall
    mean, p50, p95 = statistics.fmean(samples), percentile(samples, 0.5), percentile(samples, 0.95)
    cpu = statistics.fmean(timings.cpu)
    return f"   {name:<44} {mean * 1e3:7.2f}ms {p50 * 1e3:7.2f}ms {p95 * 1e3:7.2f}ms {cpu * 1e3:7.2f}ms"


def default_dir() -> Path | None:
    """A tmpfs when there is one: fsync is then nearly free, so the figures show CPU overhead, not disk noise."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


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

        with sandbox_process() as sandbox:
            raw, ours, in_memory = asyncio.run(per_call(sandbox.url, workdir / "calls", rounds, per_round))
        ratio = statistics.fmean(ours.wall) / statistics.fmean(raw.wall)
        p50_ratio = percentile(ours.wall, 0.5) / percentile(raw.wall, 0.5)
        cpu_ratio = statistics.fmean(ours.cpu) / statistics.fmean(raw.cpu)
        print(f"1. one image per call (GenerateImage in base64, grok-imagine-image), {len(raw.wall)} calls per side, "
              f"{rounds} interleaved rounds of {per_round}")  # fmt: skip
        print(f"   {'path':<44} {'mean':>9} {'p50':>9} {'p95':>9} {'loop CPU':>9}")
        print(row("raw xai_sdk.AsyncClient + decode + atomic write", raw))
        print(row("mediagen service.generate (Container)", ours))
        print(row("mediagen, memory store (no SQLite write)", in_memory))
        added = statistics.fmean(ours.wall) - statistics.fmean(raw.wall)
        print(f"   mediagen / raw: mean {ratio:.3f}, p50 {p50_ratio:.3f}, loop CPU {cpu_ratio:.3f}; "
              f"mediagen adds {added * 1e3:.2f} ms per call (mean)")  # fmt: skip
        memory_ratio = statistics.fmean(in_memory.wall) / statistics.fmean(raw.wall)
        kept = statistics.fmean(ours.wall) - statistics.fmean(in_memory.wall)
        print(f"   with the memory store: mean {memory_ratio:.3f}; keeping each image in SQLite for --continue-from "
              f"costs {kept * 1e3:.2f} ms per call")  # fmt: skip
        results.append((f"mediagen / raw per call {ratio:.3f} (mean; goal <= 1.05)", ratio <= 1.05))

        n, concurrency, latency = 64, 16, 0.25
        ideal = -(-n // concurrency) * latency
        print(f"\n2. {n} images, {latency * 1e3:.0f} ms sandbox latency, concurrency {concurrency}: "
              f"ideal {ideal:.2f} s, {batches} run(s)")  # fmt: skip
        ratios = []
        with sandbox_process(latency=latency) as sandbox:
            for run_no in range(batches):
                raw_run, ours_run = asyncio.run(
                    batch(sandbox, workdir / f"batch{run_no}", n, concurrency, raw_first=run_no % 2 == 0)
                )
                ratios.append(ideal / ours_run.wall)
                print(f"   raw xai_sdk.AsyncClient  {raw_run.describe(ideal, n)}")
                print(f"   mediagen generate_batch  {ours_run.describe(ideal, n)}")
        batch_ratio = statistics.median(ratios)
        results.append((f"mediagen batch ideal/measured {batch_ratio:.3f} (median; goal >= 0.95)", batch_ratio >= 0.95))

        with sandbox_process(video_min_bytes=video_mib * MIB) as sandbox:
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
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-sandbox":
        serve_sandbox(json.loads(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "--measure-video":
        measure_video(sys.argv[2], sys.argv[3])
    else:
        main()
