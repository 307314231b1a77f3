"""Batches on Ray: sandbox images through `generate_batch(engine=RayEngine(...))` with 1, 2 and 4 workers.

    .venv/bin/python benchmarks/ray_batch.py [--quick]

The sandbox's OpenAI fake runs in this process with 250 ms of latency per answer; for each worker count a
local Ray cluster of that many CPUs is started (one item per CPU at a time) and stopped. Each worker process
builds its service once, on its first item. (Named ray_batch.py: run as a script, a benchmarks/ray.py would
shadow the ray package.)

1. throughput against ideal: ideal = ceil(images / workers) x 0.25 s; the figure is ideal / measured, the
   cluster's start left out (each worker's first item, which builds its service, is in)      goal >= 0.8

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
from mediagen.ports.progress import ignore_progress  # noqa: E402
from mediagen.sandbox import SandboxSettings, SandboxThread  # noqa: E402

LATENCY = 0.25


async def one_run(base_url: str, workers: int, images: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as out:
        settings = load_settings(
            overrides={
                "output_dir": out,
                "store": {"kind": "memory"},
                "backends": {"openai": {"base_url": base_url}},
            }
        )
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
                batch = await service.generate_batch(requests, progress=ignore_progress, engine=engine)
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
    for workers, ratio, done in results:
        met = ratio >= 0.8 and done == images
        print(f"goal {'met' if met else 'MISSED'}: {workers} workers, ideal / measured = {ratio:.3f} (>= 0.8)")


if __name__ == "__main__":
    main()
