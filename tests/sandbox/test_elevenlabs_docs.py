"""docs/sandbox.md's ElevenLabs example runs as written, and its endpoint table names every route the fake serves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from mediagen.sandbox import FaultScript, SandboxSettings
from mediagen.sandbox.vendor import FakeContext

DOCS = Path(__file__).parents[2] / "docs" / "sandbox.md"


def section() -> str:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("## What the ElevenLabs fake serves")
    return text[start : text.index("\n## ", start + 1)]


def test_the_example_runs_as_written(tmp_path: Path) -> None:
    found = re.search(r"```python\n(.*?)```", section(), re.S)
    assert found is not None
    script = tmp_path / "example.py"
    script.write_text(found.group(1), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", str(script)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr


def test_every_route_is_in_the_table() -> None:
    from mediagen.sandbox.elevenlabs import ElevenLabsFake

    fake = ElevenLabsFake(FakeContext("elevenlabs", SandboxSettings(), FaultScript()))
    table = section()
    for route in fake.routes():
        documented = route.path.removeprefix("/v1").removeprefix("/v2").removesuffix("/stream").split("/{")[0]
        assert documented in table, route.path


async def test_mediagen_sandbox_prints_the_base_url_and_key_lines() -> None:
    from mediagen.sandbox import Sandbox, describe

    async with Sandbox(vendors=("elevenlabs",)) as sb:
        lines = describe(sb)
        origin = sb.origin("elevenlabs")
    assert f"  elevenlabs {origin}" in lines
    assert f"MEDIAGEN_BACKENDS__ELEVENLABS__BASE_URL={origin}" in lines  # no /v1: the SDK's paths carry it
    assert "ELEVENLABS_API_KEY=sandbox-elevenlabs-key" in lines
