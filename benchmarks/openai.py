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

import asyncio  # noqa: E402
import base64  # noqa: E402
from typing import Any  # noqa: E402

import measure  # noqa: E402
from measure import KEY, BatchRun, SandboxProcess, Vendor, write_atomic  # noqa: E402

PROMPT = "a red fox in snow"


def image_request() -> Any:
    return measure.media_request(media_type="image", prompt=PROMPT, backend="openai")


def video_request(workdir: Path) -> Any:
    return measure.media_request(media_type="video", prompt="a slow pan over snow", backend="openai")


def raw_kwargs(request: Any) -> dict[str, Any]:
    """The exact responses.create kwargs mediagen sends for `request` (computed once, outside any timing)."""
    from mediagen.adapters.openai.mapping import map_responses_image
    from mediagen.adapters.openai.spec import SPEC

    model = SPEC.default_models[request.media_type]
    plan = map_responses_image(request, model, SPEC.model(model))
    return plan.kwargs(plan.prompt)


class RawClient:
    """The baseline: one AsyncOpenAI, the same request, the image decoded and written like mediagen writes it."""

    def __init__(self, base_url: str, directory: Path) -> None:
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0)
        self.directory = directory
        self.kwargs = raw_kwargs(image_request())
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


OPENAI = Vendor("openai", __file__, "OPENAI_BASE_URL", RawClient, image_request, memory_request=video_request)


async def bare_http_batch(sandbox: SandboxProcess, n: int, concurrency: int) -> BatchRun:
    """The floor: the same POSTs through a bare HTTP client (no SDK models, no file written), bodies read whole."""
    import httpx2  # the HTTP client the openai SDK itself uses

    body = raw_kwargs(image_request())
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx2.AsyncClient(base_url=sandbox.url, headers=headers, timeout=60) as client:

        async def post() -> None:
            (await client.post("/responses", json=body)).raise_for_status()

        await post()  # connect and warm
        return await measure.timed(sandbox, measure.gathered(post, n, concurrency))


def main() -> None:
    args = measure.parse_args(__doc__, "fewer calls and a 128 MiB video (a smoke test)")
    rounds, per_round, batches, video_mib = (40, 5, 1, 128) if args.quick else (200, 5, 3, 512)
    results: list[tuple[str, bool]] = []

    with measure.workspace(args) as workdir:
        _, goal = measure.per_call_section(
            OPENAI,
            workdir,
            "1. one image per call (Responses API image tool, gpt-5.4)",
            ["raw AsyncOpenAI + b64 decode + atomic write", "mediagen service.generate (Container)"],
            rounds,
            per_round,
        )
        results.append(goal)

        results.append(measure.batch_section(OPENAI, workdir, batches, "raw AsyncOpenAI", floor=bare_http_batch))
        results.append(measure.video_section(OPENAI, workdir / "video", video_mib))

    measure.report_goals(results)


if __name__ == "__main__":
    measure.run_script(OPENAI, main)
