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

# Run as a script, this folder heads sys.path and benchmarks/openai.py would shadow the OpenAI SDK: it goes last.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import asyncio  # noqa: E402
import base64  # noqa: E402
from typing import Any  # noqa: E402

import measure  # noqa: E402
from measure import KEY, Vendor, write_atomic  # noqa: E402

PROMPT = "a red fox in snow"


def image_request() -> Any:
    return measure.media_request(media_type="image", prompt=PROMPT, backend="openrouter")


def raw_body(request: Any) -> dict[str, Any]:
    """The exact body mediagen sends for `request` (computed once, outside any timing)."""
    from mediagen.adapters.openrouter.mapping import map_image, turn_messages
    from mediagen.adapters.openrouter.spec import SPEC

    model = SPEC.default_models[request.media_type]
    plan = map_image(request, model, SPEC.model(model))
    return plan.body(turn_messages(None, plan.prompt, []))


class RawClient:
    """The baseline: one AsyncOpenAI, the same chat call, the data URL decoded and written like mediagen does."""

    def __init__(self, base_url: str, directory: Path) -> None:
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0)
        self.directory = directory
        self.body = raw_body(image_request())
        self.count = 0
        directory.mkdir(parents=True, exist_ok=True)

    async def generate(self) -> Path:
        completion = await self.client.chat.completions.create(
            model=self.body["model"], messages=self.body["messages"], modalities=self.body["modalities"]
        )
        url = completion.choices[0].message.model_extra["images"][0]["image_url"]["url"]  # type: ignore[index]
        data = base64.b64decode(url.partition(",")[2], validate=True)
        self.count += 1
        return await asyncio.to_thread(write_atomic, self.directory, f"raw_{self.count:05d}.png", data)

    async def aclose(self) -> None:
        await self.client.close()


OPENROUTER = Vendor("openrouter", __file__, "MEDIAGEN_BACKENDS__OPENROUTER__BASE_URL", RawClient, image_request)


def main() -> None:
    args = measure.parse_args(__doc__, "fewer calls (a smoke test)")
    rounds, per_round = (30, 5) if args.quick else (120, 5)
    with measure.workspace(args) as workdir:
        _, goal = measure.per_call_section(
            OPENROUTER,
            workdir,
            "1. one image per call (chat completions, google/gemini-3.1-flash-image-preview, data URL answer)",
            ["raw AsyncOpenAI + decode + atomic write", "mediagen service.generate (Container)"],
            rounds,
            per_round,
            warmups=20,
        )
    measure.report_goals([goal])


if __name__ == "__main__":
    measure.run_script(OPENROUTER, main)
