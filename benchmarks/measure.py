"""What the vendor benchmarks share: a sandbox fake in a child process, mediagen's real Container pointed at it,
per-call timings in interleaved rounds, batches, Linux memory figures in a child process and the report lines.
Each vendor script holds only its raw SDK baseline and the requests (this folder is last on their sys.path, so
their own names never shadow the vendor SDKs)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

MIB = 1024 * 1024
KEY = "sandbox-key"


class RawClient(Protocol):
    """A vendor script's baseline: the raw SDK making the same call as mediagen and writing the file alike."""

    async def generate(self) -> Path: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Vendor:
    """What one vendor script brings: its backend name, the variable its fake prints the URL in, the raw baseline
    (built from base URL and directory), the request measured per call, and the request a memory run makes."""

    backend: str
    script: str
    url_variable: str
    raw: Callable[[str, Path], RawClient]
    request: Callable[[], Any]
    backend_options: dict[str, Any] = field(default_factory=dict)
    memory_request: Callable[[Path], Any] | None = None

    def sandbox(self, **options: Any) -> contextlib.AbstractContextManager[SandboxProcess]:
        """This vendor's fake in a child process, with these SandboxSettings."""
        return sandbox_process(self.script, self.backend, self.url_variable, **options)


def media_request(**fields: Any) -> Any:
    """A MediaRequest with these fields (mediagen imported only when a request is made)."""
    from mediagen.domain.request import MediaRequest

    return MediaRequest(**fields)


def serve_sandbox(vendor: str, options: dict[str, Any]) -> None:
    """Child process: serve one vendor's fake with these SandboxSettings until SIGTERM."""
    from mediagen.sandbox import SandboxSettings, serve_forever

    serve_forever((vendor,), settings=SandboxSettings(**options))


class SandboxProcess:
    """A fake's base URL and the child process serving it."""

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
def sandbox_process(script: str, vendor: str, url_variable: str, **options: Any) -> Iterator[SandboxProcess]:
    """Start `vendor`'s fake in a child process (`script --serve-sandbox VENDOR OPTIONS`); yields the URL it
    prints as `url_variable=...` and its pid, stops it on exit."""
    proc = subprocess.Popen(
        [sys.executable, script, "--serve-sandbox", vendor, json.dumps(options)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        base_url = None
        for line in proc.stdout:
            if line.startswith(f"{url_variable}="):
                base_url = line.strip().partition("=")[2]
                break
        if base_url is None:
            raise RuntimeError(f"the sandbox process exited ({proc.wait()}) without printing {url_variable}")
        yield SandboxProcess(base_url, proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def write_atomic(directory: Path, name: str, data: bytes | Sequence[bytes]) -> Path:
    """What a careful app does with the bytes: temp file beside the target, fsync, rename, fsync the directory."""
    temp = directory / f".{name}.part-{secrets.token_hex(8)}"
    with open(temp, "xb") as out:
        for chunk in [data] if isinstance(data, bytes) else data:
            out.write(chunk)
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


def status(field: str) -> int:
    """A /proc/self/status memory figure, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs); False where that is refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


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


# --- mediagen, the real composition root ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def mediagen_container(
    vendor: Vendor, base_url: str, workdir: Path, *, store: str | None = None
) -> AsyncIterator[Any]:
    """mediagen's real Container (SQLite store unless `store` names another kind, filesystem sink, the vendor's
    adapter) pointed at the fake through `backends.<vendor>.base_url`, warmed up for the vendor as a long-running
    host warms it (the MCP server, `mediagen batch`): every figure here is of a warm service (e.g. ElevenLabs' client
    on aiohttp's transport from the start, not after its first call); its service is closed on exit."""
    from dependency_injector import providers

    from mediagen.adapters.credentials.env import StaticCredentialSource
    from mediagen.application.settings import load_settings
    from mediagen.container import Container

    (workdir / "state").mkdir(parents=True, exist_ok=True)  # a store.path set in the settings needs its directory
    store_settings: dict[str, Any] = {"path": str(workdir / "state" / "continuations.sqlite3")}
    if store is not None:
        store_settings["kind"] = store
    settings = load_settings(
        env={},  # neither the user's MEDIAGEN_* variables nor their config files shape the benchmark
        cwd=workdir,
        config_dir=workdir / "config",
        overrides={
            "backends": {vendor.backend: {"base_url": base_url, **vendor.backend_options}},
            "output_dir": str(workdir / "mediagen"),
            "store": store_settings,
        },
    )
    container = Container(settings=providers.Object(settings))
    container.credentials.override(providers.Object(StaticCredentialSource({vendor.backend: KEY})))
    try:
        await container.service().warm_up([vendor.backend])
        yield container
    finally:
        await container.service().aclose()
        container.shutdown_resources()


@contextlib.asynccontextmanager
async def mediagen_service(
    vendor: Vendor, base_url: str, workdir: Path, *, store: str | None = None
) -> AsyncIterator[Any]:
    """The service of `mediagen_container`."""
    async with mediagen_container(vendor, base_url, workdir, store=store) as container:
        yield container.service()


async def mediagen_parts(
    vendor: Vendor, container: Any, request: Any
) -> tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]:
    """Two calls that take mediagen apart, from the container's own registry and sink: the adapter alone (its
    vendor call, the answer read to the end, no file) and the adapter with the sink writing the file (no service:
    no selection, limits, progress, continuation or result)."""
    from mediagen.domain.secret import Secret
    from mediagen.ports.artifacts import ArtifactTarget
    from mediagen.ports.generator import GenerationContext

    generator = await container.registry().ready(vendor.backend, Secret(KEY))
    sink = container.sink()
    ctx = GenerationContext(
        credentials=Secret(KEY), model=generator.spec.default_models[request.media_type], timeout=60.0
    )
    target = ArtifactTarget(
        media_type=request.media_type, backend=vendor.backend, prompt=request.prompt, output_dir=None
    )

    async def adapter_alone() -> None:
        media = await generator.generate(request, ctx)
        async for _ in media.stream:
            pass

    async def adapter_and_sink() -> None:
        media = await generator.generate(request, ctx)
        await sink.write(media.stream, target, mime_type=media.mime_type)

    return adapter_alone, adapter_and_sink


# --- measurements ---------------------------------------------------------------------------------------------


async def per_call(
    vendor: Vendor, base_url: str, workdir: Path, rounds: int, per_round: int, *, warmups: int = 30,
    stores: Sequence[str] = (), parts: bool = False, also: Sequence[Callable[[str, Path], RawClient]] = (),
) -> list[Timings]:  # fmt: skip
    """Raw, mediagen and (one per `stores` kind) mediagen-with-that-store timings, then with `parts` the two calls
    of `mediagen_parts` (on a memory-store container), then one per further raw baseline in `also`, in short rounds
    of a fresh random order each (drift hits all alike)."""
    request = vendor.request()
    raw = vendor.raw(base_url, workdir / "raw")
    others = [make(base_url, workdir / f"raw{n}") for n, make in enumerate(also, 1)]
    async with contextlib.AsyncExitStack() as stack:
        services = [await stack.enter_async_context(mediagen_service(vendor, base_url, workdir))]
        for kind in stores:
            services.append(
                await stack.enter_async_context(mediagen_service(vendor, base_url, workdir / kind, store=kind))
            )

        def call(service: Any) -> Callable[[], Awaitable[Any]]:
            return lambda: service.generate(request)

        calls = [raw.generate, *(call(service) for service in services)]
        if parts:
            container = await stack.enter_async_context(
                mediagen_container(vendor, base_url, workdir / "parts", store="memory")
            )
            calls += await mediagen_parts(vendor, container, request)
        calls += [other.generate for other in others]
        sides = [(side, Timings()) for side in calls]
        try:
            for _ in range(warmups):  # warm all: connections, SDK code paths, the sandbox's media cache
                for side in calls:
                    await side()
            gc.collect()
            # Each round in its own order: rotating a fixed list would have each side always follow the same one, and
            # pay what that one leaves behind (its garbage, its worker threads' wake-ups, the fake's state) every time.
            order = random.Random(1)
            for _ in range(rounds):
                for side, into in order.sample(sides, len(sides)):
                    await into.run(side, per_round)
        finally:
            for client in (raw, *others):
                await client.aclose()
    return [timings for _, timings in sides]


class BatchRun:
    """Wall seconds of one batch, the CPU seconds the client and the sandbox spent on it, and how long each call
    took from its turn under the concurrency limit to its file written (None when the side does not say)."""

    def __init__(
        self, wall: float, client_cpu: float, sandbox_cpu: float | None, calls: Sequence[float] | None = None
    ) -> None:
        self.wall = wall
        self.client_cpu = client_cpu
        self.sandbox_cpu = sandbox_cpu
        self.calls = calls

    def describe(self, ideal: float, n: int) -> str:
        sandbox = f"{self.sandbox_cpu / n * 1e3:.1f} ms" if self.sandbox_cpu is not None else "?"
        calls = ""
        if self.calls:
            calls = (f"; a call {statistics.median(self.calls) * 1e3:.0f} ms (median), slowest "
                     f"{max(self.calls) * 1e3:.0f} ms")  # fmt: skip
        return (
            f"{self.wall:.3f} s, ideal/measured {ideal / self.wall:.3f}; CPU per image: client "
            f"{self.client_cpu / n * 1e3:.1f} ms, sandbox {sandbox}{calls}"
        )


async def timed(sandbox: SandboxProcess, work: Awaitable[Sequence[float] | None]) -> BatchRun:
    """Time `work`, which may answer each call's seconds."""
    sandbox_cpu, cpu, start = sandbox.cpu_seconds(), time.process_time(), time.perf_counter()
    calls = await work
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    after = sandbox.cpu_seconds()
    return BatchRun(wall, used, None if after is None or sandbox_cpu is None else after - sandbox_cpu, calls)


async def gathered(call: Callable[[], Awaitable[Any]], n: int, concurrency: int) -> list[float]:
    """`n` calls at most `concurrency` at a time (semaphore + gather), as an app batches by hand; each call's
    seconds from its turn to its end."""
    gate = asyncio.Semaphore(concurrency)
    seconds: list[float] = []

    async def one() -> None:
        async with gate:
            start = time.perf_counter()
            await call()
            seconds.append(time.perf_counter() - start)

    await asyncio.gather(*(one() for _ in range(n)))
    return seconds


async def batch(
    vendor: Vendor, sandbox: SandboxProcess, workdir: Path, n: int, concurrency: int, *, raw_first: bool
) -> tuple[BatchRun, BatchRun]:
    """`n` requests at `concurrency`: raw (semaphore + gather) and mediagen's generate_batch, one after the other."""
    request = vendor.request()
    raw = vendor.raw(sandbox.url, workdir / "raw-batch")
    async with mediagen_service(vendor, sandbox.url, workdir) as service:
        try:
            await asyncio.gather(raw.generate(), service.generate(request))  # connect and warm both

            async def ours_batch() -> list[float]:
                result = await service.generate_batch([request] * n, max_concurrent=concurrency)
                if result.succeeded != n:
                    raise RuntimeError(f"mediagen's batch failed {result.failed} of {n} items: {result.items[0]}")
                return [item.result.elapsed_seconds for item in result.items if item.result is not None]

            if raw_first:
                raw_run = await timed(sandbox, gathered(raw.generate, n, concurrency))
                ours_run = await timed(sandbox, ours_batch())
            else:
                ours_run = await timed(sandbox, ours_batch())
                raw_run = await timed(sandbox, gathered(raw.generate, n, concurrency))
        finally:
            await raw.aclose()
    return raw_run, ours_run


async def _memory(vendor: Vendor, base_url: str, workdir: Path) -> dict[str, Any]:
    """After a warm-up call, make the vendor's memory request through mediagen; the memory figures around it."""
    import resource

    assert vendor.memory_request is not None
    request = vendor.memory_request(workdir)
    async with mediagen_service(vendor, base_url, workdir) as service:
        await service.generate(vendor.request())  # loads the SDK, the client, the sink and the store
        gc.collect()
        reset = reset_peak()
        idle = status("VmRSS")
        idle_peak = status("VmHWM")
        start = time.perf_counter()
        result = await service.generate(request)
        seconds = time.perf_counter() - start
        return {
            "reset": reset,
            "idle": idle,
            "idle_peak": idle_peak,
            "peak": status("VmHWM"),
            "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "bytes": result.artifact.size_bytes,
            "mime": result.artifact.mime_type,
            "seconds": seconds,
            "path": str(result.artifact.path),
        }


def memory_in_child(vendor: Vendor, base_url: str, workdir: Path) -> dict[str, Any]:
    """The memory run in a fresh child process (`script --measure-memory URL WORKDIR`), its figures."""
    done = subprocess.run(
        [sys.executable, vendor.script, "--measure-memory", base_url, str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


# --- the report -----------------------------------------------------------------------------------------------


def parse_args(doc: str, quick_help: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument(
        "--dir", type=Path, default=default_dir(), help="where files are written (default: /dev/shm if present)"
    )
    return parser.parse_args()


@contextlib.contextmanager
def workspace(args: argparse.Namespace) -> Iterator[Path]:
    """A temporary directory for the run's files (under --dir), announced with the machine; mediagen's own state
    goes there too, never to the user's."""
    with tempfile.TemporaryDirectory(prefix="mediagen-bench-", dir=args.dir) as tmp:
        workdir = Path(tmp)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {'quick' if args.quick else 'full'} run; "
              f"the sandbox runs in its own process; files go to {workdir}\n")  # fmt: skip
        os.environ["XDG_DATA_HOME"] = str(workdir / "xdg")
        yield workdir


def report_per_call(title: str, rounds: int, per_round: int, rows: Sequence[tuple[str, Timings]]) -> float:
    """The per-call table (raw first, mediagen second, any further rows after) and the ratio line; the mean ratio."""
    (_, raw), (_, ours) = rows[0], rows[1]
    ratio = statistics.fmean(ours.wall) / statistics.fmean(raw.wall)
    p50_ratio = percentile(ours.wall, 0.5) / percentile(raw.wall, 0.5)
    cpu_ratio = statistics.fmean(ours.cpu) / statistics.fmean(raw.cpu)
    print(f"{title}, {len(raw.wall)} calls per side, {rounds} interleaved rounds of {per_round}")
    print(f"   {'path':<44} {'mean':>9} {'p50':>9} {'p95':>9} {'loop CPU':>9}")
    for name, timings in rows:
        print(row(name, timings))
    added = statistics.fmean(ours.wall) - statistics.fmean(raw.wall)
    print(f"   mediagen / raw: mean {ratio:.3f}, p50 {p50_ratio:.3f}, loop CPU {cpu_ratio:.3f}; "
          f"mediagen adds {added * 1e3:.2f} ms per call (mean)")  # fmt: skip
    return ratio


def report_parts(raw: Timings, ours: Timings, in_memory: Timings, alone: Timings, with_sink: Timings) -> None:
    """Where mediagen's time per call goes (means, from the rows of one per-call table): the adapter's call, the
    sink's file, the service around them, the SQLite continuation, against the raw call."""

    def mean(timings: Timings) -> float:
        return statistics.fmean(timings.wall) * 1e3

    steps = [
        ("the adapter's call (the SDK call, the answer read; no file)", mean(alone)),
        ("+ the sink's file (sniff, sha256, confined no-overwrite write)", mean(with_sink) - mean(alone)),
        ("+ the service (selection, limits, progress, report, result)", mean(in_memory) - mean(with_sink)),
        ("+ the continuation kept in SQLite (memory store: 0)", mean(ours) - mean(in_memory)),
    ]
    print(f"   where mediagen's {mean(ours):.2f} ms go (the raw call with its file: {mean(raw):.2f} ms):")
    for label, value in steps:
        print(f"     {label:<66} {value:6.2f} ms")


def per_call_section(
    vendor: Vendor, workdir: Path, title: str, labels: Sequence[str], rounds: int, per_round: int, **options: Any
) -> tuple[list[Timings], tuple[str, bool]]:
    """Section 1 of a vendor's report: per-call timings (`options` as per_call takes them) against a fresh fake,
    their table (one row per label: raw, mediagen, then any further stores) and the per-call goal line."""
    with vendor.sandbox() as sandbox:
        timings = asyncio.run(per_call(vendor, sandbox.url, workdir / "calls", rounds, per_round, **options))
    ratio = report_per_call(title, rounds, per_round, list(zip(labels, timings, strict=True)))
    there, back = asyncio.run(thread_hop())
    print(f"   this machine now: a bare worker-thread hop takes {there:.0f} µs to start and {back:.0f} µs back to the "
          "loop (median of 1000); both sides make one a call, and a slow one stretches the ratio")  # fmt: skip
    return timings, per_call_goal(ratio)


async def thread_hop(count: int = 1000) -> tuple[float, float]:
    """Median microseconds from `asyncio.to_thread` to its function starting, and from its return to the loop
    resuming: the wake-ups every per-call figure here pays once, which vary with the machine's load."""
    there: list[float] = []
    back: list[float] = []
    for _ in range(count):
        asked = time.perf_counter()
        started = await asyncio.to_thread(time.perf_counter)
        resumed = time.perf_counter()
        there.append(started - asked)
        back.append(resumed - started)
    return statistics.median(there) * 1e6, statistics.median(back) * 1e6


def memory_section(
    vendor: Vendor, workdir: Path, headline: str, before: str, doing: str, what: str, **options: Any
) -> tuple[str, bool]:
    """A vendor's memory section: the memory run in a child process against a fake with these SandboxSettings,
    reported under `headline` (formatted with the file's `mib` and `mime`); its goal line."""
    with vendor.sandbox(**options) as sandbox:
        found = memory_in_child(vendor, sandbox.url, workdir)
    text = headline.format(mib=found["bytes"] / MIB, mime=found["mime"])
    return report_memory(text, found, before, doing, what)


def batch_section(
    vendor: Vendor,
    workdir: Path,
    batches: int,
    raw_label: str,
    floor: Callable[[SandboxProcess, int, int], Coroutine[Any, Any, BatchRun]] | None = None,
) -> tuple[str, bool]:
    """Section 2 of an image vendor's report: 64 images, 250 ms sandbox latency, concurrency 16, `batches` runs
    alternating which side goes first (a `floor` run, when given, after each); the lines and the batch goal."""
    n, concurrency, latency = 64, 16, 0.25
    ideal = -(-n // concurrency) * latency
    print(f"\n2. {n} images, {latency * 1e3:.0f} ms sandbox latency, concurrency {concurrency}: "
          f"ideal {ideal:.2f} s, {batches} run(s)")  # fmt: skip
    ratios = []
    with vendor.sandbox(latency=latency) as sandbox:
        for run_no in range(batches):
            raw_run, ours_run = asyncio.run(
                batch(vendor, sandbox, workdir / f"batch{run_no}", n, concurrency, raw_first=run_no % 2 == 0)
            )
            ratios.append(ideal / ours_run.wall)
            if floor is not None:
                floor_run = asyncio.run(floor(sandbox, n, concurrency))
                print(f"   {'bare HTTP (floor)':<24} {floor_run.describe(ideal, n)}")
            print(f"   {raw_label:<24} {raw_run.describe(ideal, n)}")
            print(f"   {'mediagen generate_batch':<24} {ours_run.describe(ideal, n)}")
    return batch_goal(ratios)


def video_section(vendor: Vendor, workdir: Path, video_mib: int) -> tuple[str, bool]:
    """Section 3 of an image vendor's report: the memory a video download adds (the fake pads it to video_mib)."""
    headline = "3. a {mib:.0f} MiB sandbox video downloaded by mediagen"
    return memory_section(
        vendor, workdir, headline, "the download", "downloading", "video download", video_min_bytes=video_mib * MIB
    )


def per_call_goal(ratio: float) -> tuple[str, bool]:
    return f"mediagen / raw per call {ratio:.3f} (mean; goal <= 1.05)", ratio <= 1.05


def batch_goal(ratios: Sequence[float]) -> tuple[str, bool]:
    ratio = statistics.median(ratios)
    return f"mediagen batch ideal/measured {ratio:.3f} (median; goal >= 0.95)", ratio >= 0.95


def report_memory(headline: str, found: dict[str, Any], before: str, doing: str, what: str) -> tuple[str, bool]:
    """The memory lines of a child's run (`headline` names what it did) and its goal line (`what` adds RSS)."""
    added = (found["peak"] - found["idle"]) / MIB
    print(f"\n{headline} in a child process "
          f"({found['seconds']:.1f} s, {found['bytes'] / MIB / found['seconds']:.0f} MiB/s)")  # fmt: skip
    method = "peak reset after warm-up" if found["reset"] else "peak not resettable; idle peak shown"
    print(f"   RSS idle {found['idle'] / MIB:.1f} MiB, peak {found['peak'] / MIB:.1f} MiB ({method})")
    print(f"   VmHWM just before {before} {found['idle_peak'] / MIB:.1f} MiB; "
          f"ru_maxrss (whole life, start-up included) {found['maxrss'] / MIB:.1f} MiB")  # fmt: skip
    print(f"   added while {doing}: {added:+.1f} MiB")
    return f"{what} adds {added:+.1f} MiB of RSS (goal <= +64 MiB)", added <= 64


def report_goals(results: Sequence[tuple[str, bool]]) -> None:
    print()
    for text, met in results:
        print(f"{verdict(met)}: {text}")


def run_script(vendor: Vendor, main: Callable[[], None]) -> None:
    """A vendor script's entry: the sandbox child (`--serve-sandbox`), the memory child (`--measure-memory`), or
    the benchmark itself."""
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-sandbox":
        serve_sandbox(sys.argv[2], json.loads(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "--measure-memory":
        print(json.dumps(asyncio.run(_memory(vendor, sys.argv[2], Path(sys.argv[3])))))
    else:
        main()
