"""Batches on Ray: sandbox images through `generate_batch(engine=RayEngine(...))` with 1, 2 and 4 workers.

    .venv/bin/python benchmarks/ray_batch.py [--quick]

The sandbox's OpenAI fake runs in this process with 250 ms of latency per answer; for each worker count a
local Ray cluster of that many CPUs is started (one item per CPU at a time) and stopped. Each worker process
builds its service once, on its first item. (Named ray_batch.py: run as a script, a benchmarks/ray.py would
shadow the ray package.)

1. throughput against ideal: ideal = ceil(images / workers) x 0.25 s; the figure is ideal / measured, the
   cluster's start left out (each worker's first item, which builds its service, is in)      goal >= 0.8
2. what the CLI's way costs, with 2 workers, in alternating runs: a progress listener (every worker's events
   relayed to this process by an actor) and the SQLite store (each item looks up its batch job record there
   first), against no listener and the memory store; the figure is with / without            goal <= 1.1

256 images (--quick: 32). On a machine with fewer cores than workers, the workers share them: read the
figures of 4 workers against the core count.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder heads sys.path, which Ray hands to its workers: benchmarks/openai.py would shadow
# the OpenAI SDK there.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

from dependency_injector import providers  # noqa: E402

from mediagen import Container, MediaRequest, MediaType  # noqa: E402
from mediagen.application.settings import load_settings  # noqa: E402
from mediagen.entrypoints.ray_engine import RayEngine  # noqa: E402
from mediagen.ports.progress import ProgressEvent, ignore_progress  # noqa: E402
from mediagen.sandbox import SandboxSettings, SandboxThread  # noqa: E402

LATENCY = 0.25


async def one_run(base_url: str, workers: int, images: int, *, as_the_cli: bool = False) -> tuple[float, int]:
    """One batch on a fresh local cluster of `workers` CPUs: its seconds and the images written. `as_the_cli`: with
    a progress listener and the SQLite store, as `mediagen batch --engine ray` in a terminal runs."""
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as data:
        store = {"kind": "sqlite", "path": f"{data}/jobs.sqlite3"} if as_the_cli else {"kind": "memory"}
        settings = load_settings(
            overrides={"output_dir": out, "store": store, "backends": {"openai": {"base_url": base_url}}}
        )
        events: list[ProgressEvent] = []
        box: Any = Container()
        box.settings.override(providers.Object(settings))
        engine = RayEngine(local_cpus=workers)
        requests = [
            MediaRequest(media_type=MediaType.IMAGE, prompt=f"fox {n}", backend="openai") for n in range(images)
        ]
        try:
            async with box.service() as service:
                await engine._connect()  # the cluster's start is not the batch's time
                started = time.perf_counter()
                listener = events.append if as_the_cli else ignore_progress
                batch = await service.generate_batch(requests, progress=listener, engine=engine)
                seconds = time.perf_counter() - started
        finally:
            await engine.aclose()
        written = len(os.listdir(Path(out)))
        for item in batch.items[:1]:
            if item.error is not None:
                print("   first error:", item.error.code, item.error.message)
    return seconds, min(batch.succeeded, written)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="32 images instead of 256")
    args = parser.parse_args()
    images = 32 if args.quick else 256
    os.environ["OPENAI_API_KEY"] = "sandbox-key"  # the workers read it from the environment they inherit
    print(f"{images} sandbox images at {LATENCY * 1e3:.0f} ms latency, {os.cpu_count()} cores")
    print(f"{'workers':>8}{'ideal (s)':>11}{'measured (s)':>14}{'ideal/measured':>16}{'images':>8}")
    results = []
    with SandboxThread(settings=SandboxSettings(latency=LATENCY)) as sandbox:
        for workers in (1, 2, 4):
            seconds, done = asyncio.run(one_run(sandbox.base_url("openai"), workers, images))
            ideal = math.ceil(images / workers) * LATENCY
            results.append((workers, ideal / seconds, done))
            print(f"{workers:>8}{ideal:>11.2f}{seconds:>14.2f}{ideal / seconds:>16.3f}{done:>8}")
        print(f"\n2 workers, {images} images: as the CLI runs (progress relayed, SQLite store) against without")
        print(f"{'round':>8}{'without (s)':>13}{'with (s)':>10}{'with/without':>14}")
        pairs, written = [], images
        for round_ in (1, 2):  # alternating which goes first
            order = (False, True) if round_ == 1 else (True, False)
            timed = {cli: asyncio.run(one_run(sandbox.base_url("openai"), 2, images, as_the_cli=cli)) for cli in order}
            without, with_ = timed[False][0], timed[True][0]
            pairs.append(with_ / without)
            print(f"{round_:>8}{without:>13.2f}{with_:>10.2f}{with_ / without:>14.3f}")
            written = min(written, timed[True][1], timed[False][1])
    for workers, ratio, done in results:
        met = ratio >= 0.8 and done == images
        print(f"goal {'met' if met else 'MISSED'}: {workers} workers, ideal / measured = {ratio:.3f} (>= 0.8)")
    overhead = sum(pairs) / len(pairs)
    met = overhead <= 1.1 and written == images
    print(f"goal {'met' if met else 'MISSED'}: as the CLI runs / without = {overhead:.3f} (<= 1.1)")


if __name__ == "__main__":
    main()
