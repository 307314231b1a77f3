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
4. 8 images of one request on the Images API (gpt-image-1.5), 250 ms sandbox latency, at most 2 calls at a time:
   one call with n=8 vs 8 calls of one image; wall time, vendor calls and CPU per image   goal one call <= 1/2
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder heads sys.path and this very file would shadow the OpenAI SDK: it goes last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import asyncio  # noqa: E402
import base64  # noqa: E402
import statistics  # noqa: E402
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


N_IMAGES, N_CONCURRENCY, N_LATENCY = 8, 2, 0.25


async def n_images(sandbox: SandboxProcess, workdir: Path, one_first: bool) -> dict[str, tuple[BatchRun, int]]:
    """8 images through generate_batch: one request with n=8 (one Images API call) and 8 requests of one (8
    calls, 2 at a time), one after the other; each side's run and the vendor calls it made (Selected events)."""
    import attrs

    from mediagen.ports.progress import Selected

    single = measure.media_request(media_type="image", prompt=PROMPT, backend="openai", model="gpt-image-1.5")
    async with measure.mediagen_service(OPENAI, sandbox.url, workdir) as service:
        await service.generate(single)  # connect and warm
        sides = {
            "one call, n=8": [attrs.evolve(single, n=N_IMAGES)],
            "8 calls of one": [single] * N_IMAGES,
        }
        order = list(sides) if one_first else list(reversed(sides))
        found: dict[str, tuple[BatchRun, int]] = {}
        for name in order:
            calls = 0

            def count(event: Any) -> None:
                nonlocal calls
                calls += isinstance(event, Selected)

            async def run(requests: list[Any] = sides[name], listener: Any = count) -> None:
                result = await service.generate_batch(requests, max_concurrent=N_CONCURRENCY, progress=listener)
                if result.succeeded != N_IMAGES:
                    raise RuntimeError(f"{result.failed} of {N_IMAGES} images failed: {result.items[0]}")

            found[name] = (await measure.timed(sandbox, run()), calls)
    return found


def n_images_section(workdir: Path, runs: int) -> tuple[str, bool]:
    """Section 4: what one call of n saves over n calls, measured side by side."""
    ideal = {"one call, n=8": N_LATENCY, "8 calls of one": -(-N_IMAGES // N_CONCURRENCY) * N_LATENCY}
    print(f"\n4. {N_IMAGES} images of one request (gpt-image-1.5), {N_LATENCY * 1e3:.0f} ms sandbox latency, "
          f"at most {N_CONCURRENCY} calls at a time, {runs} run(s)")  # fmt: skip
    ratios = []
    with OPENAI.sandbox(latency=N_LATENCY) as sandbox:
        for run_no in range(runs):
            found = asyncio.run(n_images(sandbox, workdir / f"run{run_no}", one_first=run_no % 2 == 0))
            for name, (run, calls) in found.items():
                print(f"   {name:<16} {calls} vendor call(s), {run.describe(ideal[name], N_IMAGES)}")
            ratios.append(found["one call, n=8"][0].wall / found["8 calls of one"][0].wall)
    ratio = statistics.median(ratios)
    return f"one call of n=8 takes {ratio:.2f} of the time of 8 calls (median; goal <= 0.5)", ratio <= 0.5


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
        results.append(n_images_section(workdir / "n", batches))

    measure.report_goals(results)


if __name__ == "__main__":
    measure.run_script(OPENAI, main)
