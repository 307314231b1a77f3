"""First-call benchmarks: what a fresh process pays for its first generation, each backend, against the sandbox.

    .venv/bin/python benchmarks/first_call.py [--quick] [--runs N] [--dir PATH]

Every figure comes from fresh processes (so no SDK is loaded yet); the sandbox serves from a process of its own,
as a vendor would, and the backends come from the registry (built-ins and `mediagen.backends` entry points that
the sandbox has a fake for), each with its first default media type. Each child's bytecode is cached (as an
installed package's is) and its home (store, files) is on /dev/shm when present; one unmeasured first call per side
and backend comes first, so neither side's first measured run pays for compiling or reading files from disk.

1. longest event-loop stall from `open_service()` to the first file written, per backend: the longest single
   callback on the loop (what asyncio's debug mode reports), and, for reference, how late a task that wakes every
   millisecond ran (that also counts worker threads holding the GIL and, on a busy machine, the OS
   scheduler)                                                                         goal <= 20 ms (callback)
2. first-call wall time, from the first import to the file written: mediagen (`open_service()` + `generate`)
   vs the raw SDK (import, client, the same call mediagen makes, write the file), fresh processes in alternation,
   per backend, with each side's garbage collection in it (time, and how many full collections each run
   made: where a side's allocations cross one more of the collector's thresholds)               goal <= 1.2x
3. cold batch, 20 calls of 250 ms sandbox latency at concurrency 4, in a fresh process: ideal / measured,
   with the backend warmed up at start as `mediagen batch` does (and, for reference, without it, and the
   same process's second batch: the warm figure on this machine); beside it, in alternation, the raw SDK's
   batch (semaphore + gather, its client built before the clock) and its second batch: what the SDK and the
   fake allow on this machine                                                                  goal >= 0.95
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # a child's clock starts before it imports anything it measures

import gc  # noqa: E402  (built in: loads nothing)

#: A child's garbage collections from T0 on: seconds spent, and how many were full (generation 2) collections.
GC = {"seconds": 0.0, "full": 0, "started": 0.0}


def _on_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        GC["started"] = time.perf_counter()
        return
    GC["seconds"] += time.perf_counter() - GC["started"]
    GC["full"] += info["generation"] == 2


gc.callbacks.append(_on_gc)

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

# Run as a script, this folder heads sys.path, and its openai.py would shadow the OpenAI SDK: it goes last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import base64  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

PROMPT = "a red fox in snow"

#: One raw-SDK call writing its file at the path given (the call sets the suffix).
Make = Callable[[Path], Awaitable[None]]
BATCH_SIZE, BATCH_CONCURRENCY, BATCH_LATENCY = 20, 4, 0.25


# --- the sandbox, in its own process ---------------------------------------------------------------------------


@contextlib.contextmanager
def sandbox_process(latency: float = 0.0) -> Iterator[dict[str, str]]:
    """Serve every fake from a child process (`mediagen sandbox`); yields the env lines that point apps at it."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-sandbox", str(latency)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        env: dict[str, str] = {}
        for line in proc.stdout:
            if line.startswith("Press Ctrl-C"):
                break
            name, sep, value = line.strip().partition("=")
            if sep and name.isupper():
                env[name] = value
        else:
            raise RuntimeError(f"the sandbox process exited ({proc.wait()}) before it was ready")
        yield env
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def serve_sandbox(latency: float) -> None:
    from mediagen.sandbox import SandboxSettings, serve_forever

    serve_forever(settings=SandboxSettings(latency=latency, job_polls=1))


def child(mode: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run this file as a fresh process in `mode` and return the JSON it prints."""
    with tempfile.TemporaryDirectory(prefix="mediagen-first-call-", dir=env.get("TMPDIR")) as home:
        full = {**env, "HOME": home, "XDG_DATA_HOME": f"{home}/data", "MEDIAGEN_OUTPUT_DIR": f"{home}/out"}
        # Each child runs in its own home, as an app runs in its project's folder: run from this repository, mediagen
        # would read the repository's own pyproject.toml (which names mediagen) for settings.
        done = subprocess.run(
            [sys.executable, str(HERE / Path(__file__).name), "--child", mode, *args],
            env=full,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=300,
        )
    if done.returncode != 0:
        raise RuntimeError(f"child {mode} {args} failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def base_environ(bytecode: Path, homes: Path | None) -> dict[str, str]:
    """This process's environment without keys, vendor URLs or mediagen settings (the sandbox's lines replace them);
    each child's home (its store and files) is made under `homes` (TMPDIR) when given.

    Every child reads and writes its bytecode under `bytecode`, as an installed package has its .pyc files from pip:
    with PYTHONDONTWRITEBYTECODE set (some shells set it), mediagen's modules, which live in the source tree, would
    be compiled from source in every child, while the SDKs' .pyc files came with their install.
    """
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_API_KEY", "_BASE_URL"))
        and not key.startswith(("MEDIAGEN_", "GOOGLE_", "GEMINI_", "OPENAI_", "XDG_", "PYTHONASYNCIODEBUG"))
        and key not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    }
    return {**kept, "PYTHONPYCACHEPREFIX": str(bytecode), **({"TMPDIR": str(homes)} if homes else {})}


def settle(env: dict[str, str], found: list[tuple[str, str]]) -> None:
    """One unmeasured first call per side and backend: writes each side's bytecode and reads its files into the OS
    page cache, so neither side's first measured run pays for that."""
    for name, media in found:
        if name in RAW:
            child("raw-first", [name], env)
        child("mediagen-first", [name, media], env)


# --- children: what each fresh process measures -----------------------------------------------------------------


class LoopWatch:
    """The loop's longest stall (lateness of a task waking every millisecond) and longest callback (main thread)."""

    def __init__(self) -> None:
        self.longest_gap = 0.0
        self.longest_callback = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        import asyncio.events

        original = asyncio.events.Handle._run
        main = threading.get_ident()
        watch = self

        def timed(handle: Any) -> None:
            if threading.get_ident() != main:
                return original(handle)  # type: ignore[no-any-return]
            started = time.perf_counter()
            try:
                return original(handle)  # type: ignore[no-any-return]
            finally:
                watch.longest_callback = max(watch.longest_callback, time.perf_counter() - started)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        self._task = asyncio.ensure_future(self._tick())

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            self.longest_gap = max(self.longest_gap, now - last - 0.001)
            last = now

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


async def child_stall(backend: str, media: str) -> dict[str, Any]:
    from mediagen import MediaRequest, MediaType, open_service

    watch = LoopWatch()
    watch.start()
    await asyncio.sleep(0.01)  # the watch's first ticks, so its baseline is the idle loop
    async with open_service() as service:
        await service.generate(MediaRequest(media_type=MediaType(media), prompt=PROMPT, backend=backend))
        watch.stop()
    return {"gap": watch.longest_gap, "callback": watch.longest_callback}


async def child_mediagen_first(backend: str, media: str) -> dict[str, Any]:
    from mediagen import MediaRequest, MediaType, open_service

    async with open_service() as service:
        await service.generate(MediaRequest(media_type=MediaType(media), prompt=PROMPT, backend=backend))
        return {"seconds": time.perf_counter() - T0, "gc_seconds": GC["seconds"], "gc_full": GC["full"]}


@contextlib.asynccontextmanager
async def raw_openai() -> AsyncIterator[Make]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key=os.environ["OPENAI_API_KEY"], base_url=os.environ["OPENAI_BASE_URL"], max_retries=0)

    async def make(path: Path) -> None:
        response = await client.responses.create(
            model="gpt-5.4",
            input=PROMPT,
            tools=[{"type": "image_generation"}],
            tool_choice={"type": "image_generation"},
        )
        image = next(item.result for item in response.output if item.type == "image_generation_call")
        await asyncio.to_thread(path.with_suffix(".png").write_bytes, base64.b64decode(image or ""))

    try:
        yield make
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def raw_google() -> AsyncIterator[Make]:
    from google import genai
    from google.genai import types

    client = genai.Client(
        api_key=os.environ["GOOGLE_API_KEY"],
        http_options=types.HttpOptions(base_url=os.environ["GOOGLE_GEMINI_BASE_URL"]),
    )

    async def make(path: Path) -> None:
        response = await client.aio.models.generate_content(
            model="gemini-3.1-flash-image-preview",
            contents=PROMPT,
            config=types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"]),
        )
        candidates = response.candidates
        parts = candidates[0].content.parts if candidates and candidates[0].content else []
        data = next(part.inline_data.data for part in parts or [] if part.inline_data is not None)
        await asyncio.to_thread(path.with_suffix(".png").write_bytes, data or b"")

    try:
        yield make
    finally:
        await client.aio.aclose()


@contextlib.asynccontextmanager
async def raw_xai() -> AsyncIterator[Make]:
    from xai_sdk import AsyncClient

    address = os.environ["MEDIAGEN_BACKENDS__XAI__BASE_URL"]  # host:port of the gRPC fake
    client = AsyncClient(api_key=os.environ["XAI_API_KEY"], api_host=address, use_insecure_channel=True)

    async def make(path: Path) -> None:
        response = await client.image.sample(prompt=PROMPT, model="grok-imagine-image", image_format="base64")
        data = await response.image  # the SDK splits the data URI and decodes the base64
        await asyncio.to_thread(path.with_suffix(".jpg").write_bytes, data)

    try:
        yield make
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def raw_openrouter() -> AsyncIterator[Make]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(
        api_key=os.environ["OPENROUTER_API_KEY"],
        base_url=os.environ["MEDIAGEN_BACKENDS__OPENROUTER__BASE_URL"],
        max_retries=0,
    )

    async def make(path: Path) -> None:
        completion = await client.chat.completions.create(
            model="google/gemini-3.1-flash-image-preview",
            messages=[{"role": "user", "content": [{"type": "text", "text": PROMPT}]}],
            modalities=["image", "text"],
        )
        url = (completion.choices[0].message.model_extra or {})["images"][0]["image_url"]["url"]
        await asyncio.to_thread(path.with_suffix(".png").write_bytes, base64.b64decode(url.partition(",")[2]))

    try:
        yield make
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def raw_elevenlabs() -> AsyncIterator[Make]:
    from elevenlabs.client import AsyncElevenLabs

    client = AsyncElevenLabs(
        api_key=os.environ["ELEVENLABS_API_KEY"], base_url=os.environ["MEDIAGEN_BACKENDS__ELEVENLABS__BASE_URL"]
    )

    async def make(path: Path) -> None:
        chunks = [
            chunk
            async for chunk in client.text_to_speech.convert(
                "JBFqnCBsd6RMkjVDRZzb",  # the default voice mediagen uses
                text=PROMPT,
                model_id="eleven_multilingual_v2",
                output_format="mp3_44100_128",
                request_options={"max_retries": 0, "chunk_size": 1 << 20},
            )
        ]
        await asyncio.to_thread(path.with_suffix(".mp3").write_bytes, b"".join(chunks))

    try:
        yield make
    finally:
        await client._client_wrapper.httpx_client.httpx_client.aclose()


#: Per backend, the raw SDK's client (imported and built on entry, closed on exit) and the call of the backend's first
#: default media type with the arguments mediagen sends for the same request, writing the file to the path given
#: (its suffix set by the call); a new backend adds its own.
RAW: dict[str, Callable[[], contextlib.AbstractAsyncContextManager[Make]]] = {
    "openai": raw_openai,
    "google": raw_google,
    "xai": raw_xai,
    "openrouter": raw_openrouter,
    "elevenlabs": raw_elevenlabs,
}


async def child_raw_first(backend: str) -> dict[str, Any]:
    out = Path(os.environ["MEDIAGEN_OUTPUT_DIR"])
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    async with RAW[backend]() as make:
        await make(out / "raw")
    return {"seconds": time.perf_counter() - T0, "gc_seconds": GC["seconds"], "gc_full": GC["full"]}


async def gathered(make: Make, paths: list[Path]) -> None:
    """One call per path, at most BATCH_CONCURRENCY at a time."""
    gate = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def one(path: Path) -> None:
        async with gate:
            await make(path)

    await asyncio.gather(*(one(path) for path in paths))


async def child_raw_batch(backend: str) -> dict[str, Any]:
    """The raw SDK's batch as an app writes one by hand (semaphore + gather), its client built before the clock
    starts as mediagen's warm-up builds its own; then the same process's second batch (warm)."""
    out = Path(os.environ["MEDIAGEN_OUTPUT_DIR"])
    await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    async with RAW[backend]() as make:
        times = []
        for round_ in range(2):
            started = time.perf_counter()
            await gathered(make, [out / f"raw-{round_}-{n}" for n in range(BATCH_SIZE)])
            times.append(time.perf_counter() - started)
    return {"seconds": times[0], "warm": times[1]}


async def child_batch(backend: str, media: str, warm: str) -> dict[str, Any]:
    from mediagen import MediaRequest, MediaType, open_service

    requests = [
        MediaRequest(media_type=MediaType(media), prompt=f"{PROMPT} #{n}", backend=backend) for n in range(BATCH_SIZE)
    ]
    async with open_service(warm_up=[backend] if warm == "warm" else False) as service:
        times = []
        for _ in range(2):  # the second batch is the warm reference: everything loaded, connections open
            started = time.perf_counter()
            result = await service.generate_batch(requests, max_concurrent=BATCH_CONCURRENCY)
            times.append(time.perf_counter() - started)
            if result.failed:
                raise RuntimeError(f"{result.failed} of {BATCH_SIZE} items failed: {result.items[0].error}")
    return {"seconds": times[0], "warm": times[1]}


def run_child(mode: str, args: list[str]) -> None:
    children: dict[str, Callable[..., Awaitable[dict[str, Any]]]] = {
        "stall": child_stall,
        "mediagen-first": child_mediagen_first,
        "raw-first": child_raw_first,
        "batch": child_batch,
        "raw-batch": child_raw_batch,
    }
    print(json.dumps(asyncio.run(children[mode](*args))))


# --- the parent: runs the children and prints the figures ------------------------------------------------------


def backends() -> list[tuple[str, str]]:
    """(backend, its first media type) for every installed backend the sandbox fakes."""
    from mediagen.adapters.plugins import discover_plugins
    from mediagen.sandbox import available_vendors

    fakes = set(available_vendors())
    return [
        (plugin.spec.name, next(iter(plugin.spec.default_models)).value)
        for plugin in discover_plugins()
        if plugin.spec.name in fakes and plugin.spec.default_models
    ]


def verdict(met: bool) -> str:
    return "goal met" if met else "goal MISSED"


def main() -> None:
    import measure  # the parent's helpers only: a child imports nothing it does not measure

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer fresh processes per figure (noisier)")
    parser.add_argument("--runs", type=int, default=None, help="fresh processes per figure and side (default 5)")
    parser.add_argument(
        "--dir", type=Path, default=measure.default_dir(), help="where each child's home (store, files) goes "
        "(default: /dev/shm if present, so fsync is nearly free and a busy disk's noise stays out of the figures)"
    )  # fmt: skip
    args = parser.parse_args()
    runs = args.runs if args.runs is not None else (2 if args.quick else 5)
    results: list[tuple[str, bool]] = []
    found = backends()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, {runs} runs")
    print(f"backends with a sandbox fake: {', '.join(name for name, _ in found)}; homes in {args.dir or 'TMPDIR'}\n")

    bytecode = Path(tempfile.mkdtemp(prefix="mediagen-first-call-bytecode-"))
    try:
        with sandbox_process() as lines:
            env = {**base_environ(bytecode, args.dir), **lines}
            settle(env, found)
            first_figures(env, found, runs, results)
        with sandbox_process(latency=BATCH_LATENCY) as lines:
            batch_figures({**base_environ(bytecode, args.dir), **lines}, found, runs, results)
    finally:
        shutil.rmtree(bytecode, ignore_errors=True)

    print()
    for text, met in results:
        print(f"{verdict(met)}: {text}")


def first_figures(
    env: dict[str, str], found: list[tuple[str, str]], runs: int, results: list[tuple[str, bool]]
) -> None:
    print("1. longest event-loop stall, open_service() to the first file written (median / worst of the runs)")
    print(f"   {'backend':<12} {'media':<6} {'longest callback':>18} {'ticker lateness':>17}")
    for name, media in found:
        measured = [child("stall", [name, media], env) for _ in range(runs)]
        gaps = [m["gap"] * 1e3 for m in measured]
        callbacks = [m["callback"] * 1e3 for m in measured]
        print(f"   {name:<12} {media:<6} {statistics.median(callbacks):8.1f} / {max(callbacks):5.1f} ms "
              f"{statistics.median(gaps):7.1f} / {max(gaps):5.1f} ms")  # fmt: skip
        stall = statistics.median(callbacks)
        results.append((f"{name}: longest callback {stall:.1f} ms (median; goal <= 20 ms)", stall <= 20))

    print("\n2. first call in a fresh process, first import to file written (median, alternating sides)")
    print("   (the ratio's range: each run's mediagen process against the raw process run beside it)")
    print(f"   {'backend':<12} {'media':<6} {'raw SDK':>9} {'mediagen':>9} {'ratio':>7} {'range':>9} "
          f"{'mediagen adds':>13}   garbage collection, raw -> mediagen (full collections)")  # fmt: skip
    for name, media in found:
        if name not in RAW:
            print(f"   {name:<12} {media:<6} no raw-SDK baseline in this benchmark yet")
            continue
        raw_runs: list[dict[str, Any]] = []
        our_runs: list[dict[str, Any]] = []
        for run in range(runs):
            sides = [("raw-first", [name], raw_runs), ("mediagen-first", [name, media], our_runs)]
            for mode, child_args, into in sides if run % 2 == 0 else sides[::-1]:
                into.append(child(mode, child_args, env))
        raw = [found["seconds"] for found in raw_runs]
        ours = [found["seconds"] for found in our_runs]
        ratio = statistics.median(ours) / statistics.median(raw)
        added = (statistics.median(ours) - statistics.median(raw)) * 1e3
        pairs = sorted(mine / theirs for mine, theirs in zip(ours, raw, strict=True))  # each run's two processes
        print(f"   {name:<12} {media:<6} {statistics.median(raw):8.3f}s {statistics.median(ours):8.3f}s {ratio:6.2f}x "
              f"{pairs[0]:5.2f}-{pairs[-1]:4.2f} {added:8.0f} ms   "
              f"{collected(raw_runs)} -> {collected(our_runs)}")  # fmt: skip
        results.append((f"{name}: first call {ratio:.2f}x the raw SDK's (median; goal <= 1.2x)", ratio <= 1.2))


def collected(runs: list[dict[str, Any]]) -> str:
    """A side's garbage collection in its first call: median milliseconds and the full collections of each run."""
    seconds = statistics.median(found["gc_seconds"] for found in runs)
    return f"{seconds * 1e3:.0f} ms ({','.join(str(found['gc_full']) for found in runs)})"


def batch_figures(
    env: dict[str, str], found: list[tuple[str, str]], runs: int, results: list[tuple[str, bool]]
) -> None:
    ideal = -(-BATCH_SIZE // BATCH_CONCURRENCY) * BATCH_LATENCY
    print(
        f"\n3. cold batch: {BATCH_SIZE} calls, {BATCH_LATENCY * 1e3:.0f} ms sandbox latency, concurrency "
        f"{BATCH_CONCURRENCY}, fresh process; ideal {ideal:.2f} s (median of the runs, each as ideal / measured)"
    )
    print(
        "   mediagen's generate_batch warmed up at start, without warm-up, and its process's 2nd batch (warm); the raw"
    )
    print("   SDK's semaphore + gather, its client built before the clock, and its 2nd batch: the same fake, one run")
    print(f"   {'backend':<10} {'media':<6} {'warmed up':>9} {'no warm-up':>10} {'warm':>6}   "
          f"{'raw SDK':>7} {'warm':>6}")  # fmt: skip
    for name, media in found:
        child("batch", [name, media, "warm"], env)  # unmeasured: the fake's own first answers are paid for here
        warmed: list[dict[str, Any]] = []
        raws: list[dict[str, Any]] = []
        for run in range(runs):  # the two sides alternate, so a slower minute of the machine falls on both
            sides = [("batch", [name, media, "warm"], warmed), ("raw-batch", [name], raws)]
            for mode, child_args, into in (sides if run % 2 == 0 else sides[::-1]) if name in RAW else sides[:1]:
                into.append(child(mode, child_args, env))
        unwarmed = [child("batch", [name, media, "cold"], env) for _ in range(runs)]
        warm = ideal / statistics.median(m["seconds"] for m in warmed)
        cold = ideal / statistics.median(m["seconds"] for m in unwarmed)
        again = ideal / statistics.median(m["warm"] for m in warmed + unwarmed)
        raw = f"{ideal / statistics.median(m['seconds'] for m in raws):7.3f} " if raws else f"{'-':>7} "
        raw += f"{ideal / statistics.median(m['warm'] for m in raws):6.3f}" if raws else f"{'-':>6}"
        print(f"   {name:<10} {media:<6} {warm:9.3f} {cold:10.3f} {again:6.3f}   {raw}")
        results.append((f"{name}: cold batch, warmed up at start, {warm:.3f} of ideal (goal >= 0.95)", warm >= 0.95))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-sandbox":
        serve_sandbox(float(sys.argv[2]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "--child":
        run_child(sys.argv[2], sys.argv[3:])
    else:
        main()
