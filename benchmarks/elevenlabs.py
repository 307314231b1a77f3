"""ElevenLabs benchmarks against the sandbox: mediagen and the raw SDK side by side in one run, then printed.

    .venv/bin/python benchmarks/elevenlabs.py [--quick]

The sandbox's ElevenLabs fake runs in its own process, so its CPU and memory are not counted for the client
measured. mediagen is the real composition root (`Container`) with backend="elevenlabs", pointed at the fake
through the `backends.elevenlabs.base_url` setting. Files go to a tmpfs (/dev/shm) when there is one.

1. per-call time of one speech clip (text to speech, eleven_multilingual_v2, mp3_44100_128): mediagen vs raw
   AsyncElevenLabs streaming the same request and writing the file the same way (temp file, fsync, rename,
   fsync the directory); interleaved rounds                                          goal ratio <= 1.05
2. peak RSS of a process dubbing a video through mediagen, the 200 MiB dubbed MP4 streamed to disk
                                                                                      goal <= +64 MiB over idle
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder heads sys.path and this very file would shadow the elevenlabs SDK: it goes last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402
from typing import Any  # noqa: E402

from measure import (  # noqa: E402
    MIB,
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
TEXT = "The first move is what sets everything in motion."
URL_VARIABLE = "MEDIAGEN_BACKENDS__ELEVENLABS__BASE_URL"


@contextlib.asynccontextmanager
async def mediagen_service(base_url: str, workdir: Path) -> AsyncIterator[Any]:
    """mediagen's MediaService from the real Container (SQLite store, filesystem sink, ElevenLabs adapter)."""
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
            "backends": {"elevenlabs": {"base_url": base_url, "extra": {"poll_interval": 0.02}}},
            "output_dir": str(workdir / "mediagen"),
            "store": {"path": str(workdir / "state" / "continuations.sqlite3")},
        },
    )
    container = Container(settings=providers.Object(settings))
    container.credentials.override(providers.Object(StaticCredentialSource({"elevenlabs": KEY})))
    service = container.service()
    try:
        yield service
    finally:
        await service.aclose()
        container.shutdown_resources()


def speech_request() -> Any:
    from mediagen.domain.media import MediaType
    from mediagen.domain.request import MediaRequest

    return MediaRequest(media_type=MediaType.AUDIO, prompt=TEXT, backend="elevenlabs")


class RawClient:
    """The baseline: one AsyncElevenLabs, the same request streamed, the clip written like mediagen writes it."""

    def __init__(self, base_url: str, directory: Path) -> None:
        from elevenlabs.client import AsyncElevenLabs

        from mediagen.adapters.elevenlabs.client import CHUNK_BYTES
        from mediagen.adapters.elevenlabs.mapping import map_speech
        from mediagen.adapters.elevenlabs.spec import DEFAULT_VOICE_ID, SPEC

        model = SPEC.default_models[speech_request().media_type]
        plan = map_speech(speech_request(), model, SPEC.model(model))  # the exact call mediagen makes
        self.kwargs = {**plan.kwargs, "output_format": plan.out.name}
        self.voice_id = DEFAULT_VOICE_ID
        self.client = AsyncElevenLabs(api_key=KEY, base_url=base_url)
        self.options: Any = {"max_retries": 0, "chunk_size": CHUNK_BYTES}  # as mediagen asks
        self.directory = directory
        self.count = 0
        directory.mkdir(parents=True, exist_ok=True)

    async def generate(self) -> Path:
        chunks = [
            chunk
            async for chunk in self.client.text_to_speech.convert(
                self.voice_id, **self.kwargs, request_options=self.options
            )
        ]
        self.count += 1
        return await asyncio.to_thread(write_atomic, self.directory, f"raw_{self.count:05d}.mp3", chunks)

    async def aclose(self) -> None:
        await self.client._client_wrapper.httpx_client.httpx_client.aclose()


async def per_call(base_url: str, workdir: Path, rounds: int, per_round: int) -> tuple[Timings, Timings]:
    """Raw and mediagen timings, in short rounds alternating which side goes first (drift hits both alike)."""
    request = speech_request()
    raw = RawClient(base_url, workdir / "raw")
    raw_times, ours_times = Timings(), Timings()
    async with mediagen_service(base_url, workdir) as service:

        async def ours() -> None:
            await service.generate(request)

        try:
            for _ in range(30):  # warm both: connections, SDK code paths, the sandbox's audio cache
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


def measure_dub(base_url: str, workdir: str) -> None:
    """Child process: after a warm-up clip, dub a short video through mediagen (the fake pads the dubbed MP4 to
    video_min_bytes); print memory as JSON."""
    import resource

    from mediagen.domain.media import AudioKind, MediaType
    from mediagen.domain.request import MediaRequest
    from mediagen.sandbox import media

    film = Path(workdir) / "talk.mp4"
    film.parent.mkdir(parents=True, exist_ok=True)
    film.write_bytes(media.mp4(2.0, 64, 48, prompt="a talk"))

    async def run() -> dict[str, Any]:
        async with mediagen_service(base_url, Path(workdir)) as service:
            await service.generate(speech_request())  # loads the SDK, the client, the sink and the store
            gc.collect()
            reset = reset_peak()
            idle = status("VmRSS")
            idle_peak = status("VmHWM")
            start = time.perf_counter()
            result = await service.generate(
                MediaRequest(
                    media_type=MediaType.AUDIO,
                    audio_kind=AudioKind.DUBBING,
                    input_audio=film,
                    language="es",
                    backend="elevenlabs",
                )
            )
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
            }

    print(json.dumps(asyncio.run(run())))


def dub_memory(base_url: str, workdir: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure-dub", base_url, str(workdir)], check=True, capture_output=True, text=True
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and a 64 MiB dub (a smoke test)")
    parser.add_argument(
        "--dir", type=Path, default=default_dir(), help="where files are written (default: /dev/shm if present)"
    )
    args = parser.parse_args()
    rounds, per_round, dub_mib = (40, 5, 64) if args.quick else (200, 5, 200)
    results: list[tuple[str, bool]] = []

    with tempfile.TemporaryDirectory(prefix="mediagen-bench-", dir=args.dir) as tmp:
        workdir = Path(tmp)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {'quick' if args.quick else 'full'} run; "
              f"the sandbox runs in its own process; files go to {workdir}\n")  # fmt: skip
        os.environ["XDG_DATA_HOME"] = str(workdir / "xdg")  # any state mediagen keeps goes here, not the user's

        with sandbox_process(__file__, "elevenlabs", URL_VARIABLE) as sandbox:
            raw, ours = asyncio.run(per_call(sandbox.url, workdir / "calls", rounds, per_round))
        ratio = statistics.fmean(ours.wall) / statistics.fmean(raw.wall)
        p50_ratio = percentile(ours.wall, 0.5) / percentile(raw.wall, 0.5)
        cpu_ratio = statistics.fmean(ours.cpu) / statistics.fmean(raw.cpu)
        print(f"1. one speech clip per call (eleven_multilingual_v2, mp3_44100_128), {len(raw.wall)} calls per side, "
              f"{rounds} interleaved rounds of {per_round}")  # fmt: skip
        print(f"   {'path':<44} {'mean':>9} {'p50':>9} {'p95':>9} {'loop CPU':>9}")
        print(row("raw AsyncElevenLabs stream + atomic write", raw))
        print(row("mediagen service.generate (Container)", ours))
        added = statistics.fmean(ours.wall) - statistics.fmean(raw.wall)
        print(f"   mediagen / raw: mean {ratio:.3f}, p50 {p50_ratio:.3f}, loop CPU {cpu_ratio:.3f}; "
              f"mediagen adds {added * 1e3:.2f} ms per call (mean)")  # fmt: skip
        results.append((f"mediagen / raw per call {ratio:.3f} (mean; goal <= 1.05)", ratio <= 1.05))

        with sandbox_process(
            __file__, "elevenlabs", URL_VARIABLE, video_min_bytes=dub_mib * MIB, job_polls=1
        ) as sandbox:
            found = dub_memory(sandbox.url, workdir / "dub")
        added = (found["peak"] - found["idle"]) / MIB
        print(f"\n2. a {found['bytes'] / MIB:.0f} MiB dubbed video ({found['mime']}) streamed by mediagen in a child "
              f"process ({found['seconds']:.1f} s, {found['bytes'] / MIB / found['seconds']:.0f} MiB/s)")  # fmt: skip
        method = "peak reset after warm-up" if found["reset"] else "peak not resettable; idle peak shown"
        print(f"   RSS idle {found['idle'] / MIB:.1f} MiB, peak {found['peak'] / MIB:.1f} MiB ({method})")
        print(f"   VmHWM just before the dub {found['idle_peak'] / MIB:.1f} MiB; "
              f"ru_maxrss (whole life, start-up included) {found['maxrss'] / MIB:.1f} MiB")  # fmt: skip
        print(f"   added while dubbing: {added:+.1f} MiB")
        results.append((f"dubbed video adds {added:+.1f} MiB of RSS (goal <= +64 MiB)", added <= 64))

    print()
    for text, met in results:
        print(f"{verdict(met)}: {text}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-sandbox":
        serve_sandbox(sys.argv[2], json.loads(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "--measure-dub":
        measure_dub(sys.argv[2], sys.argv[3])
    else:
        main()
