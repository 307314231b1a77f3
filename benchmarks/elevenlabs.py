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

import asyncio  # noqa: E402
from typing import Any  # noqa: E402

import measure  # noqa: E402
from measure import KEY, MIB, Vendor, write_atomic  # noqa: E402

TEXT = "The first move is what sets everything in motion."


def speech_request() -> Any:
    return measure.media_request(media_type="audio", prompt=TEXT, backend="elevenlabs")


def dub_request(workdir: Path) -> Any:
    """Dub a short video (the fake pads the dubbed MP4 to video_min_bytes)."""
    from mediagen.sandbox import media

    film = workdir / "talk.mp4"
    film.parent.mkdir(parents=True, exist_ok=True)
    film.write_bytes(media.mp4(2.0, 64, 48, prompt="a talk"))
    return measure.media_request(
        media_type="audio", audio_kind="dubbing", input_audio=film, language="es", backend="elevenlabs"
    )


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


ELEVENLABS = Vendor(
    "elevenlabs",
    __file__,
    "MEDIAGEN_BACKENDS__ELEVENLABS__BASE_URL",
    RawClient,
    speech_request,
    backend_options={"extra": {"poll_interval": 0.02}},
    memory_request=dub_request,
)


def main() -> None:
    args = measure.parse_args(__doc__, "fewer calls and a 64 MiB dub (a smoke test)")
    rounds, per_round, dub_mib = (40, 5, 64) if args.quick else (200, 5, 200)
    results: list[tuple[str, bool]] = []

    with measure.workspace(args) as workdir:
        (raw, ours, in_memory, alone, with_sink), goal = measure.per_call_section(
            ELEVENLABS,
            workdir,
            "1. one speech clip per call (eleven_multilingual_v2, mp3_44100_128)",
            [
                "raw AsyncElevenLabs stream + atomic write",
                "mediagen service.generate (Container)",
                "mediagen, memory store",
                "mediagen's adapter alone (no file)",
                "mediagen's adapter + sink (no service)",
            ],
            rounds,
            per_round,
            stores=["memory"],
            parts=True,
        )
        measure.report_parts(raw, ours, in_memory, alone, with_sink)
        results.append(goal)
        results.append(
            measure.memory_section(
                ELEVENLABS,
                workdir / "dub",
                "2. a {mib:.0f} MiB dubbed video ({mime}) streamed by mediagen",
                "the dub",
                "dubbing",
                "dubbed video",
                video_min_bytes=dub_mib * MIB,
                job_polls=1,
            )
        )

    measure.report_goals(results)


if __name__ == "__main__":
    measure.run_script(ELEVENLABS, main)
