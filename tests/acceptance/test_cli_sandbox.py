"""The `mediagen` command end to end against its built-in sandbox (`--sandbox`): images, edits, masks,
continuations across processes, video, speech and batches, checked on disk and in the --json output."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from mediagen.sandbox import SandboxSettings, SandboxThread
from tests.acceptance.conftest import MEDIAGEN, Run, Workspace, scenario
from tests.acceptance.media import (
    assert_extension_matches_content,
    image_size,
    make_image,
    make_mask,
    mp4_facts,
    sniffed,
    wav_facts,
)

#: Every field docs/tool.md promises in a success object.
SUCCESS_FIELDS = {
    "success", "operation", "mode", "file_path", "filename", "mime_type", "sha256", "file_size", "backend", "model",
    "elapsed_seconds", "media_duration_seconds", "continuation_id", "metadata", "applied", "adapted", "ignored",
    "fallbacks",
}  # fmt: skip


def succeeded(run: Run) -> dict[str, Any]:
    """The success JSON of a run that exited 0 and wrote exactly its one file, which the JSON describes."""
    assert run.returncode == 0, str(run)
    assert run.stderr == "", "a --json run that worked prints nothing else, not even on stderr"
    result = run.json()
    assert set(result) >= SUCCESS_FIELDS, f"missing {SUCCESS_FIELDS - set(result)}"
    assert result["success"] is True
    path = Path(result["file_path"])
    assert path.is_absolute() and path.parent == run.ws.work and path.name == result["filename"]
    assert path.stat().st_size == result["file_size"] > 0
    raw_pcm = result["mime_type"] == "audio/pcm"  # headerless samples: nothing for a sniffer to prove
    assert sniffed(path) == (None if raw_pcm else result["mime_type"])
    return result


def only_file(run: Run, result: dict[str, Any]) -> Path:
    """The one file in the working directory, which must be the result's (no temp or partial files)."""
    assert run.ws.outputs() == [Path(result["file_path"])]
    return Path(result["file_path"])


def inputs(ws: Workspace) -> tuple[Path, Path]:
    return (
        make_image(ws.inputs / "green.png", (512, 512), (20, 160, 40)),
        make_image(ws.inputs / "blue.jpg", (640, 480), (30, 60, 200)),
    )


# -- images --------------------------------------------------------------------------------------------------


def default_image(ws: Workspace) -> Run:
    return ws.mediagen("image", "a red fox in snow", "--sandbox", "--json")


@scenario(default_image)
def test_default_image_with_every_key_present_picks_google_and_writes_a_png(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["operation"], result["mode"]) == ("image", "text_to_image")
    assert result["backend"] == "google"
    assert result["model"].startswith("gemini-")
    assert result["continuation_id"].startswith("google_")
    assert result["fallbacks"] == []
    path = only_file(outcome, result)
    assert path.suffix == ".png" and "a-red-fox-in-snow" in path.name
    assert image_size(path) == (1024, 1024)


def readme_command(ws: Workspace) -> Run:
    return ws.mediagen("image", "a red fox in snow", "--sandbox")


@scenario(readme_command)
def test_readme_main_command_prints_where_the_file_is(outcome: Run) -> None:
    assert outcome.returncode == 0, str(outcome)
    (written,) = outcome.ws.outputs()
    lines = outcome.stdout.splitlines()
    assert lines[0] == f"wrote {written}"
    assert any(line.strip().startswith("continue with: --continue-from google_") for line in lines)
    assert image_size(written) == (1024, 1024)


def usage_errors(ws: Workspace) -> dict[str, Run]:
    return {
        "no prompt": ws.mediagen("image"),
        "unknown option": ws.mediagen("image", "a fox", "--colour", "red", "--sandbox"),
        "not a number": ws.mediagen("video", "waves", "-d", "long", "--sandbox"),
        "bad size": ws.mediagen("image", "a fox", "--size", "big", "--sandbox", "--json"),
        "unknown continuation": ws.mediagen(
            "image", "more", "--continue-from", "google_gemini-chat_000000000000", "--sandbox", "--json"
        ),
    }


@scenario(usage_errors)
def test_usage_errors_exit_2_without_a_traceback_or_a_file(outcome: dict[str, Run]) -> None:
    for what, run in outcome.items():
        assert run.returncode == 2, f"{what}: {run}"
        assert "Traceback" not in run.stderr + run.stdout, what
    assert outcome["bad size"].json()["field"] == "size"
    assert outcome["unknown continuation"].json()["error_code"] == "continuation_not_found"
    assert outcome["no prompt"].ws.outputs() == []


def openai_image(ws: Workspace) -> Run:
    return ws.mediagen("image", "a red fox in snow", "-b", "openai", "--size", "1536x1024", "--sandbox", "--json")


@scenario(openai_image)
def test_openai_image_has_the_requested_pixel_size(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["backend"], result["model"]) == ("openai", "gpt-5.4")
    assert result["continuation_id"].startswith("openai:resp_")
    assert image_size(only_file(outcome, result)) == (1536, 1024)


def edit_two_images(ws: Workspace) -> Run:
    first, second = inputs(ws)
    return ws.mediagen("image", "put both in one scene", "-i", str(first), "-i", str(second), "--sandbox", "--json")


@scenario(edit_two_images)
def test_edit_sends_both_input_images_to_google(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["mode"], result["backend"]) == ("edit", "google")
    assert result["applied"]["input_images"] == 2
    assert image_size(only_file(outcome, result))[0] > 0


def masked_edit_auto(ws: Workspace) -> Run:
    first, _ = inputs(ws)
    mask = make_mask(ws.inputs / "mask.png", (512, 512))
    return ws.mediagen("image", "a hat", "-i", str(first), "--mask", str(mask), "--sandbox", "--json")


@scenario(masked_edit_auto)
def test_mask_routed_to_google_goes_to_imagen_and_keeps_the_mask(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["mode"], result["backend"]) == ("masked_edit", "google")
    assert result["model"].startswith("imagen-") and "capability" in result["model"]
    assert result["applied"]["mask"].endswith("mask.png")
    assert image_size(only_file(outcome, result)) == (512, 512)


def masked_edit_openai(ws: Workspace) -> Run:
    first, _ = inputs(ws)
    mask = make_mask(ws.inputs / "mask.png", (512, 512))
    args = ("image", "a hat", "-i", str(first), "--mask", str(mask), "-b", "openai", "--sandbox", "--json")
    return ws.mediagen(*args)


@scenario(masked_edit_openai)
def test_mask_with_openai_goes_to_the_images_api_edit(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["mode"], result["backend"]) == ("masked_edit", "openai")
    assert result["model"].startswith("gpt-image-")
    assert (result["metadata"]["api"], result["metadata"]["operation"]) == ("images", "edit")
    assert result["applied"]["mask"].endswith("mask.png")
    only_file(outcome, result)


# -- continuations across processes --------------------------------------------------------------------------


def openai_two_turns_in_sandbox(ws: Workspace) -> tuple[Run, Run]:
    first = ws.mediagen("image", "a red fox in snow", "-b", "openai", "--sandbox", "--json")
    continuation = first.json().get("continuation_id") or "missing"
    second = ws.mediagen("image", "make it night", "--continue-from", continuation, "--sandbox", "--json")
    return first, second


@scenario(openai_two_turns_in_sandbox, cost=2)
def test_openai_continuation_works_in_a_second_sandbox_process(outcome: tuple[Run, Run]) -> None:
    first, second = outcome
    succeeded(first)
    result = succeeded(second)
    assert (result["mode"], result["backend"]) == ("continuation", "openai")
    assert result["continuation_id"] != first.json()["continuation_id"]


@attrs.frozen
class SharedSandboxRuns:
    image_turns: tuple[Run, Run]
    video: Run
    remix: Run


def openai_turns_on_a_running_sandbox(ws: Workspace) -> SharedSandboxRuns:
    """Two image turns and a video remix, each its own process, against one sandbox that outlives them
    (as `mediagen sandbox` serves it), with the real OPENAI_* env lines and the default SQLite store."""
    with SandboxThread(("openai",), settings=SandboxSettings(job_polls=1)) as sandbox:
        ws.env.update(sandbox.env("openai"))
        ws.env["MEDIAGEN_BACKENDS__OPENAI__EXTRA__POLL_INTERVAL"] = "0.05"
        first = ws.mediagen("image", "a red fox in snow", "--json")
        turn = first.json().get("continuation_id") or "missing"
        second = ws.mediagen("image", "make it night", "--continue-from", turn, "--json")
        video = ws.mediagen("video", "a fox runs", "-b", "openai", "--json")
        clip = video.json().get("continuation_id") or "missing"
        remix = ws.mediagen("video", "now at night", "--continue-from", clip, "--json")
        previous = {r.previous_response_id for r in sandbox.state("openai").responses.values()}
        assert turn.split(":", 1)[1] in previous, "the second turn did not build on the first response"
    return SharedSandboxRuns((first, second), video, remix)


@scenario(openai_turns_on_a_running_sandbox, cost=4)
def test_openai_two_turn_continuation_across_processes_on_a_running_sandbox(outcome: SharedSandboxRuns) -> None:
    first, second = outcome.image_turns
    one, two = succeeded(first), succeeded(second)
    assert one["backend"] == two["backend"] == "openai"
    assert two["mode"] == "continuation"
    assert two["continuation_id"].startswith("openai:resp_") and two["continuation_id"] != one["continuation_id"]
    assert Path(one["file_path"]).exists() and Path(two["file_path"]).exists()
    assert one["sha256"] != two["sha256"]


@scenario(openai_turns_on_a_running_sandbox, cost=4)
def test_sora_remix_continues_from_an_earlier_video_in_another_process(outcome: SharedSandboxRuns) -> None:
    original, remix = succeeded(outcome.video), succeeded(outcome.remix)
    assert original["backend"] == remix["backend"] == "openai"
    assert remix["mode"] == "remix"
    assert remix["metadata"]["remixed_from_video_id"] == original["continuation_id"].split(":", 1)[1]
    assert mp4_facts(Path(remix["file_path"])).seconds == mp4_facts(Path(original["file_path"])).seconds


def google_three_turns(ws: Workspace) -> list[Run]:
    runs = [ws.mediagen("image", "a red fox in snow", "--sandbox", "--json")]
    for prompt in ("give it a blue scarf", "make it night"):
        previous = runs[-1].json().get("continuation_id") or "missing"
        runs.append(ws.mediagen("image", prompt, "--continue-from", previous, "--sandbox", "--json"))
    return runs


@scenario(google_three_turns, cost=3)
def test_google_three_turn_edit_with_each_turn_its_own_process(outcome: list[Run]) -> None:
    results = [succeeded(run) for run in outcome]
    assert [r["backend"] for r in results] == ["google"] * 3
    assert [r["mode"] for r in results] == ["text_to_image", "continuation", "continuation"]
    assert [r["metadata"]["history"]["turns"] for r in results] == [1, 2, 3]
    assert len({r["continuation_id"] for r in results}) == 3
    assert len({r["sha256"] for r in results}) == 3
    assert outcome[0].ws.outputs() == sorted(Path(r["file_path"]) for r in results)


def openai_remix_in_sandbox(ws: Workspace) -> tuple[Run, Run]:
    first = ws.mediagen("video", "a fox runs", "-b", "openai", "--sandbox", "--json")
    clip = first.json().get("continuation_id") or "missing"
    return first, ws.mediagen("video", "now at night", "--continue-from", clip, "--sandbox", "--json")


@scenario(openai_remix_in_sandbox, cost=2)
def test_sora_remix_works_in_a_second_sandbox_process(outcome: tuple[Run, Run]) -> None:
    succeeded(outcome[0])
    assert succeeded(outcome[1])["mode"] == "remix"


@contextlib.contextmanager
def served(ws: Workspace, *args: str) -> Iterator[dict[str, str]]:
    """`mediagen sandbox ARGS` in the background: its env lines while it runs, then Ctrl-C."""
    assert MEDIAGEN is not None
    proc = subprocess.Popen(
        [MEDIAGEN, "sandbox", *args], cwd=ws.work, env=ws.environ(), stdout=subprocess.PIPE, text=True
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("Press Ctrl-C"):
                break
        yield dict(line.split("=", 1) for line in lines if line.split("=", 1)[0].isupper())
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@attrs.frozen
class ServedTwice:
    video: Run
    remix: Run
    state_files: list[str]


def sora_remix_on_the_next_served_sandbox(ws: Workspace) -> ServedTwice:
    """A Sora video made through one `mediagen sandbox --state-dir D`, stopped, then remixed through the next."""
    state = ws.root / "vendor-state"
    poll = {"MEDIAGEN_BACKENDS__OPENAI__EXTRA__POLL_INTERVAL": "0.05"}
    with served(ws, "--vendor", "openai", "--state-dir", str(state)) as env:
        video = ws.mediagen("video", "a fox runs", "-b", "openai", "--json", env={**env, **poll})
    clip = video.json().get("continuation_id") or "missing"
    with served(ws, "--vendor", "openai", "--state-dir", str(state), "--state-ttl", "3600") as env:
        remix = ws.mediagen("video", "now at night", "--continue-from", clip, "--json", env={**env, **poll})
    return ServedTwice(video, remix, sorted(str(p.relative_to(state)) for p in state.rglob("*.json")))


@scenario(sora_remix_on_the_next_served_sandbox, cost=3)
def test_mediagen_sandbox_with_a_state_dir_continues_the_last_runs_video(outcome: ServedTwice) -> None:
    original, remix = succeeded(outcome.video), succeeded(outcome.remix)
    assert remix["mode"] == "remix" and remix["backend"] == "openai"
    video_id = original["continuation_id"].split(":", 1)[1]
    assert remix["metadata"]["remixed_from_video_id"] == video_id
    assert f"openai/videos/{video_id}.json" in outcome.state_files


# -- video ---------------------------------------------------------------------------------------------------


def veo_text_to_video(ws: Workspace) -> Run:
    return ws.mediagen("video", "waves at dusk", "-b", "google", "--sandbox", "--json")


@scenario(veo_text_to_video)
def test_veo_text_to_video_writes_an_mp4_a_player_reads(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["backend"], result["mode"]) == ("google", "text_to_video")
    assert result["model"].startswith("veo-")
    facts = mp4_facts(only_file(outcome, result))
    assert (facts.width, facts.height, facts.seconds) == (1280, 720, 8.0)
    assert result["media_duration_seconds"] == 8.0 and result["elapsed_seconds"] < 8.0


def veo_image_to_video(ws: Workspace) -> Run:
    first, _ = inputs(ws)
    return ws.mediagen(
        "video", "the field sways", "-i", str(first), "-a", "9:16", "-b", "google", "--sandbox", "--json"
    )


@scenario(veo_image_to_video)
def test_veo_image_to_video_writes_the_asked_aspect_ratio(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["backend"], result["mode"]) == ("google", "image_to_video")
    facts = mp4_facts(only_file(outcome, result))
    assert facts.height > facts.width


def sora_text_to_video(ws: Workspace) -> Run:
    return ws.mediagen("video", "waves at dusk", "-b", "openai", "-d", "5", "--sandbox", "--json")


@scenario(sora_text_to_video)
def test_sora_text_to_video_writes_an_mp4_a_player_reads(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["backend"], result["model"], result["mode"]) == ("openai", "sora-2", "text_to_video")
    assert result["continuation_id"].startswith("openai:video_")
    facts = mp4_facts(only_file(outcome, result))
    assert facts.brand and facts.width * facts.height > 0


@scenario(sora_text_to_video)
def test_sora_duration_5_is_reported_adapted_to_4(outcome: Run) -> None:
    result = succeeded(outcome)
    (duration,) = [a for a in result["adapted"] if a["name"] == "duration"]
    assert (duration["requested"], duration["used"]) == (5, 4)
    assert duration["reason"]
    assert mp4_facts(Path(result["file_path"])).seconds == 4.0 == result["media_duration_seconds"]


def sora_image_to_video(ws: Workspace) -> Run:
    first, _ = inputs(ws)
    args = ("video", "the field sways", "-b", "openai", "-i", str(first), "-a", "16:9", "--sandbox", "--json")
    return ws.mediagen(*args)


@scenario(sora_image_to_video)
def test_sora_image_to_video_resizes_the_input_to_the_asked_shape(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["backend"], result["mode"]) == ("openai", "image_to_video")
    facts = mp4_facts(only_file(outcome, result))
    assert (facts.width, facts.height) == (1280, 720)


def zero_duration(ws: Workspace) -> tuple[Run, Run]:
    return (
        ws.mediagen("video", "waves", "-d", "0", "--sandbox", "--json"),
        ws.mediagen("video", "waves", "-d", "0", "--sandbox"),
    )


@scenario(zero_duration)
def test_duration_zero_is_a_usage_error_naming_the_field(outcome: tuple[Run, Run]) -> None:
    as_json, as_text = outcome
    assert as_json.returncode == as_text.returncode == 2
    error = as_json.json()
    assert (error["success"], error["error_code"], error["field"]) == (False, "invalid_request", "duration")
    assert "duration" in as_text.stderr and "Traceback" not in as_text.stderr
    assert as_text.stdout == ""
    assert as_json.ws.outputs() == []


# -- speech --------------------------------------------------------------------------------------------------


def gemini_speech(ws: Workspace) -> Run:
    return ws.mediagen("audio", "Hello there, welcome to the sandbox.", "-b", "google", "--sandbox", "--json")


@scenario(gemini_speech)
def test_gemini_speech_is_a_wav_a_player_opens(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["backend"], result["mode"], result["mime_type"]) == ("google", "speech", "audio/wav")
    path = only_file(outcome, result)
    assert path.suffix == ".wav"
    facts = wav_facts(path)
    assert (facts.sample_rate, facts.channels, facts.sample_width) == (
        result["metadata"]["sample_rate"],
        result["metadata"]["channels"],
        2,
    )
    assert facts.data_bytes == facts.frames * facts.channels * facts.sample_width > 0
    assert facts.frames / facts.sample_rate > 0.5  # a spoken sentence, not a click
    assert result["media_duration_seconds"] == round(facts.frames / facts.sample_rate, 3)


SPEECH_FORMATS = ("mp3", "wav", "opus", "aac", "flac", "pcm")


def openai_speech(ws: Workspace, fmt: str) -> Run:
    return ws.mediagen("audio", "Hello there.", "-b", "openai", "-f", fmt, "--sandbox", "--json")


@pytest.mark.parametrize("fmt", SPEECH_FORMATS)
@scenario(openai_speech)
def test_openai_speech_is_the_format_its_extension_says(outcome: Run, fmt: str) -> None:
    result = succeeded(outcome)
    assert (result["backend"], result["metadata"]["audio_format"]) == ("openai", fmt)
    path = only_file(outcome, result)
    assert path.suffix == f".{fmt}"
    if fmt == "pcm":  # raw 16-bit samples: no header to sniff, whole samples only
        assert result["mime_type"] == "audio/pcm"
        assert path.stat().st_size % 2 == 0
    else:
        assert assert_extension_matches_content(path) == result["mime_type"]
    if fmt == "wav":
        assert wav_facts(path).frames > 0


# -- batch ---------------------------------------------------------------------------------------------------

BATCH_SIZE = 20
FAILING_ITEM = 7  # zero-based; the one entry sent to the Images API, where the scripted refusal waits


def batch_with_one_refusal(ws: Workspace) -> Run:
    lines = [
        json.dumps({"prompt": f"fox number {i}", **({"model": "gpt-image-1.5"} if i == FAILING_ITEM else {})})
        for i in range(BATCH_SIZE)
    ]
    batch_file = ws.inputs / "prompts.jsonl"
    batch_file.write_text("\n".join(lines) + "\n")
    fault = "openai:content_policy;times=1;route=POST /v1/images/generations"
    env = {"MEDIAGEN_SANDBOX_OPTIONS__FAULTS": fault}
    args = ("batch", str(batch_file), "--type", "image", "-b", "openai", "-c", "6", "--sandbox", "--json")
    return ws.mediagen(*args, env=env)


@scenario(batch_with_one_refusal, cost=3)
def test_batch_of_20_with_one_refusal_writes_19_files_in_order_and_exits_1(outcome: Run) -> None:
    assert outcome.returncode == 1, str(outcome)
    batch = outcome.json()
    assert (batch["success"], batch["operation"], batch["batch"]) == (False, "batch", True)
    assert (batch["total"], batch["succeeded"], batch["failed"]) == (BATCH_SIZE, BATCH_SIZE - 1, 1)
    results = batch["results"]
    assert len(results) == BATCH_SIZE
    failed = results[FAILING_ITEM]
    assert (failed["success"], failed["error_code"]) == (False, "content_rejected")
    written = []
    for index, item in enumerate(results):
        if index == FAILING_ITEM:
            continue
        assert item["success"] is True and item["backend"] == "openai"
        assert f"fox-number-{index}_" in item["filename"], f"result {index} is not prompt {index}"
        written.append(Path(item["file_path"]))
        assert image_size(written[-1]) == (1024, 1024)
    assert outcome.ws.outputs() == sorted(written)
