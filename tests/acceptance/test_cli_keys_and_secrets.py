"""Keys through the `mediagen` command: only a Google key, no key at all, a rejected or accepted key that must never
show in any output or file; and `mediagen sandbox` serving other programs until Ctrl-C."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import selectors
import signal
import subprocess
import time
from pathlib import Path

import attrs
import pytest
from openai import AsyncOpenAI
from PIL import Image

from mediagen.sandbox import SandboxSettings, SandboxThread
from tests.acceptance.conftest import MEDIAGEN, Run, Workspace, scenario
from tests.acceptance.media import image_size, mp4_facts, wav_facts

SECRET = "sk-SECRET-abc123XYZ"
#: Pieces of the key a careless redaction could still print.
SECRET_PIECES = (SECRET, "SECRET-abc", "abc123XYZ", base64.b64encode(SECRET.encode()).decode()[:16])


def assert_no_secret(run: Run) -> None:
    """Neither stdout, stderr nor any file under the workspace (outputs, store, sandbox state) holds the key."""
    for name, text in (("stdout", run.stdout), ("stderr", run.stderr)):
        for piece in SECRET_PIECES:
            assert piece not in text, f"{piece!r} in {name} of {run.args}"
    for path in run.ws.all_files():
        data = path.read_bytes()
        for piece in SECRET_PIECES:
            assert piece.encode() not in data, f"{piece!r} in {path}"


def google_only(ws: Workspace, sandbox: SandboxThread) -> None:
    """The environment of a user with only a Google key, whose Google endpoint is the running sandbox."""
    ws.env.update(
        {
            "GOOGLE_API_KEY": "a-google-key",
            "GOOGLE_GEMINI_BASE_URL": sandbox.base_url("google"),
            "MEDIAGEN_BACKENDS__GOOGLE__EXTRA__POLL_INTERVAL": "0.05",
        }
    )


def row_of(run: Run, backend: str) -> str:
    """The one line of a `mediagen backends` table about `backend`: whole, as a pipe into grep sees it."""
    (line,) = [line for line in run.stdout.splitlines() if f"│ {backend} " in line]
    assert "…" not in line, f"a cell was cut: {line}"
    return line


# -- only a Google key -----------------------------------------------------------------------------------------


@attrs.frozen
class GoogleOnlyRuns:
    image: Run
    video: Run
    speech: Run
    explain: Run
    explain_json: Run


def only_a_google_key(ws: Workspace) -> GoogleOnlyRuns:
    with SandboxThread(("google",), settings=SandboxSettings(job_polls=1, api_key="a-google-key")) as sandbox:
        google_only(ws, sandbox)
        return GoogleOnlyRuns(
            image=ws.mediagen("image", "a red fox in snow", "--json"),
            video=ws.mediagen("video", "waves at dusk", "--json"),
            speech=ws.mediagen("audio", "Hello there.", "--json"),
            explain=ws.mediagen("backends", "--explain", "video"),
            explain_json=ws.mediagen("backends", "--explain", "video", "--json"),
        )


@scenario(only_a_google_key, cost=3)
def test_with_only_a_google_key_image_video_and_speech_all_come_from_google(outcome: GoogleOnlyRuns) -> None:
    results = {}
    for kind in ("image", "video", "speech"):
        run: Run = getattr(outcome, kind)
        assert run.returncode == 0, str(run)
        results[kind] = run.json()
        assert results[kind]["backend"] == "google" and results[kind]["fallbacks"] == []
    assert image_size(Path(results["image"]["file_path"]))[0] > 0
    assert mp4_facts(Path(results["video"]["file_path"])).seconds > 0
    assert wav_facts(Path(results["speech"]["file_path"])).frames > 0


@scenario(only_a_google_key, cost=3)
def test_with_only_a_google_key_explain_video_says_why_openai_is_skipped(outcome: GoogleOnlyRuns) -> None:
    table, as_json = outcome.explain, outcome.explain_json
    assert table.returncode == as_json.returncode == 0, str(table)
    # Sora is past OpenAI's announced shutdown (2026-09-24): auto-selection passes it over, key or not.
    assert "retired on 2026-09-24; --backend openai tries anyway" in row_of(table, "openai")
    assert "veo-3.1-generate-preview" in row_of(table, "google")
    rows = {row["backend"]: row for row in as_json.json()["backends"]}
    assert rows["google"]["chosen"] is True and rows["google"]["model"].startswith("veo-")
    assert rows["openai"]["chosen"] is False and "retired" in rows["openai"]["reason"]


def sandbox_with_openai_disabled(ws: Workspace) -> tuple[Run, ...]:
    ws.env["MEDIAGEN_BACKENDS__OPENAI__ENABLED"] = "false"
    ws.env["MEDIAGEN_BACKENDS__XAI__ENABLED"] = "false"  # else video would go to xAI, first for video
    ws.env["MEDIAGEN_BACKENDS__ELEVENLABS__ENABLED"] = "false"  # speech would go to ElevenLabs first
    return (
        ws.mediagen("image", "a red fox in snow", "--sandbox", "--json"),
        ws.mediagen("video", "waves at dusk", "--sandbox", "--json"),
        ws.mediagen("audio", "Hello there.", "--sandbox", "--json"),
        ws.mediagen("backends", "--explain", "video", "--sandbox"),
        ws.mediagen("backends", "--explain", "video", "--sandbox", "--json"),
    )


@scenario(sandbox_with_openai_disabled, cost=3)
def test_sandbox_with_openai_disabled_serves_everything_from_google_and_says_why(outcome: tuple[Run, ...]) -> None:
    *generations, table, as_json = outcome
    for run in generations:
        assert run.returncode == 0, str(run)
        assert run.json()["backend"] == "google"
    assert table.returncode == as_json.returncode == 0
    assert "disabled in settings (backends.<name>.enabled = false)" in row_of(table, "openai")
    rows = {row["backend"]: row for row in as_json.json()["backends"]}
    assert rows["google"]["chosen"] is True
    assert rows["openai"]["chosen"] is False and "disabled" in rows["openai"]["reason"]
    assert rows["xai"]["chosen"] is False and "disabled" in rows["xai"]["reason"]


# -- no key at all ---------------------------------------------------------------------------------------------


def no_key_at_all(ws: Workspace) -> tuple[Run, Run]:
    return ws.mediagen("image", "x"), ws.mediagen("backends", "--explain", "video")


@scenario(no_key_at_all)
def test_without_any_key_image_is_a_usage_error_naming_the_env_vars(outcome: tuple[Run, Run]) -> None:
    image, _ = outcome
    assert image.returncode == 2, str(image)
    assert "GOOGLE_API_KEY" in image.stderr and "OPENAI_API_KEY" in image.stderr
    assert "Traceback" not in image.stderr
    assert image.ws.outputs() == []


@scenario(no_key_at_all)
def test_without_any_key_explain_video_lists_the_env_vars(outcome: tuple[Run, Run]) -> None:
    _, explain = outcome
    assert explain.returncode == 0, str(explain)
    assert "set GOOGLE_API_KEY or GEMINI_API_KEY" in row_of(explain, "google")
    assert "retired on 2026-09-24" in row_of(explain, "openai")
    assert "No backend can generate video now" in explain.stdout


# -- secrets never shown -----------------------------------------------------------------------------------------

REJECTED = {
    "openai-image": ("image", "a fox", "-b", "openai"),
    "openai-speech": ("audio", "Hello there.", "-b", "openai"),
    "google-image": ("image", "a fox"),
    "google-video": ("video", "waves", "-b", "google"),
}
OUTPUT_MODES = {"text": (), "json": ("--json",), "debug": ("--debug",)}


def rejected_key(ws: Workspace, command: str, mode: str) -> Run:
    """A key the vendor (the sandbox, accepting only another key) refuses, sent from the user's environment."""
    with SandboxThread(settings=SandboxSettings(api_key="another-key", job_polls=1)) as sandbox:
        ws.env.update(
            {
                "OPENAI_API_KEY": SECRET,
                "GOOGLE_API_KEY": SECRET,
                "OPENAI_BASE_URL": sandbox.base_url("openai"),
                "GOOGLE_GEMINI_BASE_URL": sandbox.base_url("google"),
            }
        )
        run = ws.mediagen(*REJECTED[command], *OUTPUT_MODES[mode])
        vendor = "google" if command.startswith("google") else "openai"
        assert sandbox.calls(vendor), "the command never reached the sandbox"
        assert all(call.status in (400, 401) for call in sandbox.calls(vendor))
    return run


@pytest.mark.parametrize("mode", OUTPUT_MODES)
@pytest.mark.parametrize("command", REJECTED)
@scenario(rejected_key)
def test_a_rejected_key_is_authentication_failed_and_never_shown(outcome: Run, command: str, mode: str) -> None:
    assert outcome.returncode == 1, str(outcome)
    if mode == "json":
        error = outcome.json()
        assert (error["success"], error["error_code"]) == (False, "authentication_failed")
    else:
        assert "authentication_failed" in outcome.stderr
    if mode == "debug":
        assert "Traceback" in outcome.stderr  # --debug shows where it failed, still without the key
    assert outcome.ws.outputs() == []
    assert_no_secret(outcome)


def sandbox_mode_rejects(ws: Workspace) -> Run:
    ws.env.update({"OPENAI_API_KEY": SECRET, "GOOGLE_API_KEY": SECRET, "MEDIAGEN_SANDBOX_OPTIONS__API_KEY": "other"})
    return ws.mediagen("image", "a fox", "-b", "openai", "--sandbox", "--debug")


@scenario(sandbox_mode_rejects)
def test_sandbox_mode_never_sends_or_shows_the_real_key(outcome: Run) -> None:
    assert outcome.returncode == 1, str(outcome)
    assert "authentication_failed" in outcome.stderr  # the sandbox got its dummy key, not the real one
    assert_no_secret(outcome)


@attrs.frozen
class AcceptedKeyRuns:
    runs: tuple[Run, ...]
    vendors_called: tuple[str, ...]


def accepted_key(ws: Workspace) -> AcceptedKeyRuns:
    """Successful work with the key: continuation state goes to the SQLite store, files to disk; none holds it."""
    with SandboxThread(settings=SandboxSettings(api_key=SECRET, job_polls=1)) as sandbox:
        google_only(ws, sandbox)
        ws.env.update(
            {"GOOGLE_API_KEY": SECRET, "OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": sandbox.base_url("openai")}
        )
        first = ws.mediagen("image", "a fox", "--json")
        runs = (
            first,
            ws.mediagen("image", "at night", "--continue-from", first.json().get("continuation_id") or "x", "--json"),
            ws.mediagen("image", "a fox", "-b", "openai", "--json", "--debug"),
            ws.mediagen("video", "waves", "-b", "google", "--json"),
            ws.mediagen("audio", "Hello there.", "-b", "openai"),
        )
        called = tuple(vendor for vendor in ("google", "openai") if sandbox.calls(vendor))
    return AcceptedKeyRuns(runs, called)


@scenario(accepted_key, cost=4)
def test_an_accepted_key_never_lands_in_output_files_or_the_store(outcome: AcceptedKeyRuns) -> None:
    assert outcome.vendors_called == ("google", "openai")
    for run in outcome.runs:
        assert run.returncode == 0, str(run)
        assert_no_secret(run)
    store = list(outcome.runs[0].ws.home.rglob("*.sqlite3"))
    assert store, "the continuation store was not written, so it was not checked"


# -- mediagen sandbox ---------------------------------------------------------------------------------------------


@attrs.frozen
class ServedSandbox:
    lines: list[str]
    image_size: tuple[int, int]
    returncode: int
    stop_seconds: float
    rest: str


def _read_until(proc: subprocess.Popen[bytes], marker: str, timeout: float) -> list[str]:
    """Lines of stdout up to the one containing `marker`, without blocking past `timeout`."""
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    buffer = b""
    deadline = time.monotonic() + timeout
    while marker.encode() not in buffer:
        remaining = deadline - time.monotonic()
        assert remaining > 0 and proc.poll() is None, f"no {marker!r} in time; got {buffer!r}"
        if selector.select(remaining):
            chunk = os.read(proc.stdout.fileno(), 65536)
            assert chunk, f"stdout closed before {marker!r}; got {buffer!r}"
            buffer += chunk
    selector.close()
    return buffer.decode().splitlines()


async def _generate_through(env: dict[str, str]) -> tuple[int, int]:
    async with AsyncOpenAI(base_url=env["OPENAI_BASE_URL"], api_key=env["OPENAI_API_KEY"], max_retries=0) as client:
        answer = await client.images.generate(model="gpt-image-1", prompt="a red fox", size="1536x1024")
    assert answer.data and answer.data[0].b64_json
    with Image.open(io.BytesIO(base64.b64decode(answer.data[0].b64_json))) as img:
        width, height = img.size
        return int(width), int(height)


def served_sandbox(ws: Workspace) -> ServedSandbox:
    assert MEDIAGEN is not None
    proc = subprocess.Popen(
        [MEDIAGEN, "sandbox"], cwd=ws.work, env=ws.environ(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        lines = _read_until(proc, "Ctrl-C", timeout=30)
        env = dict(line.split("=", 1) for line in lines if "=" in line and line.split("=", 1)[0].isupper())
        size = asyncio.run(_generate_through(env))
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        returncode = proc.wait(timeout=10)
        stopped = time.monotonic() - started
        rest = proc.stdout.read().decode() if proc.stdout else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
    return ServedSandbox(lines, size, returncode, stopped, rest)


@scenario(served_sandbox)
def test_mediagen_sandbox_prints_env_lines_an_sdk_can_use_and_stops_on_ctrl_c(outcome: ServedSandbox) -> None:
    text = "\n".join(outcome.lines)
    assert "openai" in text and "google" in text
    assert any(line.startswith("OPENAI_BASE_URL=http://127.0.0.1:") for line in outcome.lines)
    assert any(line.startswith("GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:") for line in outcome.lines)
    assert outcome.image_size == (1536, 1024)
    assert outcome.returncode in (0, 130)
    assert outcome.stop_seconds < 5
    assert "Traceback" not in outcome.rest
