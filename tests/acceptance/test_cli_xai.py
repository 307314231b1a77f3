"""xAI through the `mediagen` command: Grok images, edits and continuations (each turn its own process), video from
text and from an image, a killed video run resumed with `mediagen jobs resume`, and the choice of xAI for video."""

from __future__ import annotations

import os
import pty
import selectors
import subprocess
import time
from pathlib import Path

import attrs

from mediagen.sandbox import SandboxSettings, SandboxThread
from mediagen.sandbox.xai import XaiState
from tests.acceptance.conftest import COMMAND_TIMEOUT, MEDIAGEN, Run, Workspace, scenario
from tests.acceptance.media import image_size, make_image, mp4_facts
from tests.acceptance.test_cli_sandbox import only_file, succeeded

FAST_XAI_POLLS = {"MEDIAGEN_BACKENDS__XAI__EXTRA__POLL_INTERVAL": "0.05"}


def two_inputs(ws: Workspace) -> tuple[Path, Path]:
    return (
        make_image(ws.inputs / "green.png", (512, 512), (20, 160, 40)),
        make_image(ws.inputs / "blue.jpg", (640, 480), (30, 60, 200)),
    )


# -- images ----------------------------------------------------------------------------------------------------


def xai_image(ws: Workspace) -> Run:
    return ws.mediagen("image", "a red fox in snow", "-b", "xai", "-a", "16:9", "--sandbox", "--json")


@scenario(xai_image)
def test_an_xai_image_is_a_jpeg_of_the_asked_ratio(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["backend"], result["model"], result["mode"]) == ("xai", "grok-imagine-image", "text_to_image")
    assert result["continuation_id"].startswith("xai_")
    path = only_file(outcome, result)
    assert path.suffix == ".jpg"
    width, height = image_size(path)
    assert abs(width / height - 16 / 9) < 0.02


def xai_two_turns(ws: Workspace) -> tuple[Run, Run]:
    first = ws.mediagen("image", "a cabin in a forest", "-b", "xai", "--sandbox", "--json")
    turn = first.json().get("continuation_id") or "missing"
    return first, ws.mediagen("image", "add snow on the roof", "--continue-from", turn, "--sandbox", "--json")


@scenario(xai_two_turns, cost=2)
def test_an_xai_two_turn_edit_with_each_turn_its_own_process(outcome: tuple[Run, Run]) -> None:
    one, two = (succeeded(run) for run in outcome)
    assert one["backend"] == two["backend"] == "xai"
    assert two["mode"] == "continuation" and two["metadata"]["input_images"] == 1  # the first turn's image
    assert two["continuation_id"].startswith("xai_") and two["continuation_id"] != one["continuation_id"]
    assert one["sha256"] != two["sha256"]


def xai_edit_two_images(ws: Workspace) -> Run:
    first, second = two_inputs(ws)
    return ws.mediagen(
        "image", "the two colours blended", "-i", str(first), "-i", str(second), "-b", "xai", "--sandbox", "--json"
    )


@scenario(xai_edit_two_images)
def test_an_xai_edit_sends_both_input_images(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["backend"], result["mode"]) == ("xai", "edit")
    assert result["metadata"]["input_images"] == 2
    assert result["applied"]["input_images"] == 2


# -- video -----------------------------------------------------------------------------------------------------


def video_with_every_key(ws: Workspace) -> tuple[Run, Run]:
    """A user with every vendor's key (each pointed at a running sandbox): video goes to xAI first."""
    with SandboxThread(settings=SandboxSettings(job_polls=1)) as sandbox:
        ws.env.update(sandbox.env())
        ws.env.update(FAST_XAI_POLLS)
        return ws.mediagen("video", "waves at dusk", "--json"), ws.mediagen("backends", "--explain", "video", "--json")


@scenario(video_with_every_key, cost=2)
def test_with_every_key_set_video_picks_xai_and_explain_says_so(outcome: tuple[Run, Run]) -> None:
    video, explain = outcome
    result = succeeded(video)
    assert (result["backend"], result["model"], result["mode"]) == ("xai", "grok-imagine-video", "text_to_video")
    facts = mp4_facts(only_file(video, result))
    assert (facts.width, facts.height, facts.seconds) == (854, 480, 8.0)  # the SDK's defaults: 16:9, 480p, 8 s
    rows = {row["backend"]: row for row in explain.json()["backends"]}
    assert rows["xai"]["chosen"] is True and rows["xai"]["model"] == "grok-imagine-video"
    assert rows["google"]["chosen"] is False


def xai_image_to_video(ws: Workspace) -> Run:
    first, _ = two_inputs(ws)
    return ws.mediagen("video", "the field sways", "-i", str(first), "-d", "3", "-a", "1:1", "--sandbox", "--json")


@scenario(xai_image_to_video)
def test_an_xai_video_from_an_image_has_the_asked_shape_and_length(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["backend"], result["mode"]) == ("xai", "image_to_video")
    facts = mp4_facts(only_file(outcome, result))
    assert (facts.width, facts.height, facts.seconds) == (480, 480, 3.0)


@attrs.frozen
class KilledAndResumed:
    killed_code: int
    listed: Run
    resumed: Run
    generate_calls: int


def _start_until(ws: Workspace, marker: str, *args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`mediagen ARGS` with stderr on a terminal (so progress shows), returned once `marker` was printed."""
    assert MEDIAGEN is not None
    master, slave = pty.openpty()
    proc = subprocess.Popen([MEDIAGEN, *args], cwd=ws.work, env=ws.environ(env), stdout=subprocess.DEVNULL,
                            stderr=slave, stdin=subprocess.DEVNULL)  # fmt: skip
    os.close(slave)
    selector = selectors.DefaultSelector()
    selector.register(master, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + COMMAND_TIMEOUT
    try:
        while marker.encode() not in seen:
            remaining = deadline - time.monotonic()
            assert remaining > 0 and proc.poll() is None, f"no {marker!r} in time; got {seen[-500:]!r}"
            if selector.select(remaining):
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    chunk = b""
                assert chunk, f"the terminal closed before {marker!r}; got {seen[-500:]!r}"
                seen += chunk
    finally:
        selector.close()
        os.close(master)
    return proc


def killed_video_resumed(ws: Workspace) -> KilledAndResumed:
    with SandboxThread(("xai",), settings=SandboxSettings(job_polls=2)) as sandbox:
        ws.env.update(sandbox.env("xai"))
        slow = {"MEDIAGEN_BACKENDS__XAI__EXTRA__POLL_INTERVAL": "60"}  # the run waits; it is killed meanwhile
        proc = _start_until(ws, "xai pending", "video", "a storm over the sea", env=slow)
        proc.kill()
        code = proc.wait(timeout=10)
        listed = ws.mediagen("jobs", "list", "--json", env=FAST_XAI_POLLS)
        jobs = listed.json().get("jobs") or [{"id": "missing"}]
        resumed = ws.mediagen("jobs", "resume", jobs[0]["job_id"], "--json", env=FAST_XAI_POLLS)
        state = sandbox.state("xai")
        assert isinstance(state, XaiState)
        return KilledAndResumed(code, listed, resumed, len(state.received("GenerateVideo")))


@scenario(killed_video_resumed, cost=3)
def test_a_killed_video_run_resumes_with_jobs_resume_without_a_second_generate_video(
    outcome: KilledAndResumed,
) -> None:
    assert outcome.killed_code != 0
    [job] = outcome.listed.json()["jobs"]
    assert job["backend"] == "xai" and job["prompt"] == "a storm over the sea"
    result = succeeded(outcome.resumed)
    assert result["backend"] == "xai" and result["metadata"]["request_id"] == job["vendor_job_id"]
    assert mp4_facts(Path(result["file_path"])).seconds == 8.0
    assert outcome.generate_calls == 1


# -- only an xAI key -------------------------------------------------------------------------------------------


def only_an_xai_key(ws: Workspace) -> tuple[Run, Run, Run]:
    with SandboxThread(("xai",), settings=SandboxSettings(job_polls=1)) as sandbox:
        ws.env.update(sandbox.env("xai"))
        ws.env.update(FAST_XAI_POLLS)
        return (
            ws.mediagen("image", "a red fox", "--json"),
            ws.mediagen("video", "waves", "--json"),
            ws.mediagen("audio", "Hello there.", "--json"),
        )


@scenario(only_an_xai_key, cost=2)
def test_with_only_an_xai_key_image_and_video_work_and_audio_says_no_backend_offers_it(
    outcome: tuple[Run, Run, Run],
) -> None:
    image, video, audio = outcome
    assert succeeded(image)["backend"] == "xai"
    assert succeeded(video)["backend"] == "xai"
    assert audio.returncode != 0
    error = audio.json()
    assert error["success"] is False and error["error_code"] == "no_backend_available"
    assert "any backend that generates audio" in error["error"]
    assert "xai" not in error["error"]  # xAI makes no audio: its key is not suggested
    assert audio.ws.outputs() == [Path(image.json()["file_path"]), Path(video.json()["file_path"])]
