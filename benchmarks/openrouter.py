"""OpenRouter benchmark against the sandbox: mediagen and the raw SDK side by side in one run, then printed.

    .venv/bin/python benchmarks/openrouter.py [--quick]

The sandbox's OpenRouter fake runs in its own process. mediagen is the real composition root (`Container`) with
backend="openrouter", pointed at the fake through `backends.openrouter.base_url`.

1. per-call time of one image (chat completions with image output, the default Gemini model, a data URL
   answer): mediagen vs raw AsyncOpenAI doing the same request and writing the file the same way (data URL
   decode, temp file, fsync, rename, fsync the directory); interleaved rounds               goal ratio <= 1.05
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder heads sys.path and benchmarks/openai.py would shadow the OpenAI SDK.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import base64  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import AsyncIterator, Iterator  # noqa: E402
from typing import Any  # noqa: E402


def _openai_bench() -> Any:
    """benchmarks/openai.py, for its shared helpers (atomic write, timings, rows), under a name that does not
    shadow the SDK."""
    spec = importlib.util.spec_from_file_location("mediagen_bench_openai", HERE / "openai.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shared = _openai_bench()
KEY = "sandbox-key"
PROMPT = "a red fox in snow"
URL_LINE = "MEDIAGEN_BACKENDS__OPENROUTER__BASE_URL="


@contextlib.contextmanager
def sandbox_process() -> Iterator[str]:
    """The OpenRouter fake in a child process (`mediagen.sandbox.serve_forever`); yields its base URL."""
    code = "from mediagen.sandbox import serve_forever; serve_forever(('openrouter',))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = next((line.strip()[len(URL_LINE) :] for line in proc.stdout if line.startswith(URL_LINE)), None)
        if url is None:
            raise RuntimeError(f"the sandbox process exited ({proc.wait()}) without printing its URL")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@contextlib.asynccontextmanager
async def mediagen_service(base_url: str, workdir: Path) -> AsyncIterator[Any]:
    from dependency_injector import providers

    from mediagen.adapters.credentials.env import StaticCredentialSource
    from mediagen.application.settings import load_settings
    from mediagen.container import Container

    (workdir / "state").mkdir(parents=True, exist_ok=True)  # a store.path set in the settings needs its directory
    settings = load_settings(
        env={},
        cwd=workdir,
        config_dir=workdir / "config",
        overrides={
            "backends": {"openrouter": {"base_url": base_url}},
            "output_dir": str(workdir / "mediagen"),
            "store": {"path": str(workdir / "state" / "continuations.sqlite3")},
        },
    )
    container = Container(settings=providers.Object(settings))
    container.credentials.override(providers.Object(StaticCredentialSource({"openrouter": KEY})))
    service = container.service()
    try:
        yield service
    finally:
        await service.aclose()
        container.shutdown_resources()


def image_request() -> Any:
    from mediagen.domain.request import MediaRequest

    return MediaRequest(media_type="image", prompt=PROMPT, backend="openrouter")


def raw_body(request: Any) -> dict[str, Any]:
    """The exact body mediagen sends for `request` (computed once, outside any timing)."""
    from mediagen.adapters.openrouter.mapping import map_image, turn_messages
    from mediagen.adapters.openrouter.spec import SPEC

    model = SPEC.default_models[request.media_type]
    plan = map_image(request, model, SPEC.model(model))
    return plan.body(turn_messages(None, plan.prompt, []))


class RawClient:
    """The baseline: one AsyncOpenAI, the same chat call, the data URL decoded and written like mediagen does."""

    def __init__(self, base_url: str, directory: Path, body: dict[str, Any]) -> None:
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0)
        self.directory = directory
        self.body = body
        self.count = 0
        directory.mkdir(parents=True, exist_ok=True)

    async def generate(self) -> Path:
        completion = await self.client.chat.completions.create(
            model=self.body["model"], messages=self.body["messages"], modalities=self.body["modalities"]
        )
        url = completion.choices[0].message.model_extra["images"][0]["image_url"]["url"]  # type: ignore[index]
        data = base64.b64decode(url.partition(",")[2], validate=True)
        self.count += 1
        return await asyncio.to_thread(shared.write_atomic, self.directory, f"raw_{self.count:05d}.png", data)

    async def aclose(self) -> None:
        await self.client.close()


async def per_call(base_url: str, workdir: Path, rounds: int, per_round: int) -> tuple[Any, Any]:
    request = image_request()
    raw = RawClient(base_url, workdir / "raw", raw_body(request))
    raw_times, ours_times = shared.Timings(), shared.Timings()
    async with mediagen_service(base_url, workdir) as service:

        async def ours() -> None:
            await service.generate(request)

        try:
            for _ in range(20):  # warm both: connections, SDK code paths, the sandbox's image cache
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls (a smoke test)")
    parser.add_argument("--dir", type=Path, default=shared.default_dir(), help="where files are written")
    args = parser.parse_args()
    rounds, per_round = (30, 5) if args.quick else (120, 5)
    with tempfile.TemporaryDirectory(prefix="mediagen-bench-", dir=args.dir) as tmp:
        workdir = Path(tmp)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {'quick' if args.quick else 'full'} run; "
              f"the sandbox runs in its own process; files go to {workdir}\n")  # fmt: skip
        os.environ["XDG_DATA_HOME"] = str(workdir / "xdg")
        with sandbox_process() as url:
            raw, ours = asyncio.run(per_call(url, workdir / "calls", rounds, per_round))
    ratio = statistics.fmean(ours.wall) / statistics.fmean(raw.wall)
    p50_ratio = shared.percentile(ours.wall, 0.5) / shared.percentile(raw.wall, 0.5)
    cpu_ratio = statistics.fmean(ours.cpu) / statistics.fmean(raw.cpu)
    print(f"1. one image per call (chat completions, google/gemini-3.1-flash-image-preview, data URL answer), "
          f"{len(raw.wall)} calls per side, {rounds} interleaved rounds of {per_round}")  # fmt: skip
    print(f"   {'path':<44} {'mean':>9} {'p50':>9} {'p95':>9} {'loop CPU':>9}")
    print(shared.row("raw AsyncOpenAI + decode + atomic write", raw))
    print(shared.row("mediagen service.generate (Container)", ours))
    added = statistics.fmean(ours.wall) - statistics.fmean(raw.wall)
    print(f"   mediagen / raw: mean {ratio:.3f}, p50 {p50_ratio:.3f}, loop CPU {cpu_ratio:.3f}; "
          f"mediagen adds {added * 1e3:.2f} ms per call (mean)\n")  # fmt: skip
    print(f"{shared.verdict(ratio <= 1.05)}: mediagen / raw per call {ratio:.3f} (mean; goal <= 1.05)")


if __name__ == "__main__":
    main()
