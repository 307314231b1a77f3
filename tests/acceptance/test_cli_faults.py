"""Every sandbox fault script through the `mediagen` command: retried, failed over, or a typed error with exit 1,
and never a partial or temp file left behind."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mediagen.sandbox import FAULT_KINDS
from tests.acceptance.conftest import Run, Workspace, scenario
from tests.acceptance.media import image_size, mp4_facts, sniffed


def faulted(ws: Workspace, faults: str, *args: str, tty: bool = True, **env: str) -> Run:
    """`mediagen ARGS --sandbox --json` with standing faults; stderr is a terminal so retries show as progress."""
    settings = {"MEDIAGEN_SANDBOX_OPTIONS__FAULTS": faults, **{f"MEDIAGEN_{k}": v for k, v in env.items()}}
    return ws.mediagen(*args, "--sandbox", "--json", env=settings, tty_stderr=tty)


def written_ok(run: Run) -> dict[str, Any]:
    """Exit 0 and exactly one file in the working directory: the complete one the result names."""
    assert run.returncode == 0, str(run)
    result = run.json()
    assert result["success"] is True
    path = Path(result["file_path"])
    assert run.ws.outputs() == [path], "a file besides the result was left behind"
    assert path.stat().st_size == result["file_size"] and sniffed(path) == result["mime_type"]
    return result


def failed_cleanly(run: Run, code: str) -> dict[str, Any]:
    """Exit 1, a typed error in the JSON, no traceback, and no file at all (no partial, no temp)."""
    assert run.returncode == 1, str(run)
    error = run.json()
    assert (error["success"], error["error_code"]) == (False, code), error
    assert error["error"].strip()
    assert "Traceback" not in run.stderr
    assert run.ws.outputs() == [], f"left behind: {run.ws.outputs()}"
    return error


def retries_shown(run: Run, backend: str, code: str) -> list[float]:
    """The waits of the retry lines the progress display printed for `backend` failing with `code`."""
    pattern = rf"{backend}: {code}, retry \d+ in ([0-9.]+) s"
    return [float(wait) for wait in re.findall(pattern, run.stderr)]


#: The fault kinds each test below drives through the CLI; a new kind in the sandbox must get a test here.
COVERED = {
    "rate_limit", "server_error", "unavailable", "hang", "malformed", "content_policy", "job_fails",
    "job_never_finishes", "truncated_download", "slow_poll", "retired", "quota_exceeded",
}  # fmt: skip


def test_every_sandbox_fault_kind_has_a_cli_test() -> None:
    assert set(FAULT_KINDS) == COVERED


# -- retried ---------------------------------------------------------------------------------------------------


def rate_limited_once(ws: Workspace) -> Run:
    return faulted(ws, "openai:rate_limit;retry_after=1;times=1", "image", "a fox", "-b", "openai")


@scenario(rate_limited_once, cost=2)
def test_rate_limit_is_retried_after_the_retry_after_seconds(outcome: Run) -> None:
    result = written_ok(outcome)
    assert result["backend"] == "openai" and result["fallbacks"] == []
    assert retries_shown(outcome, "openai", "rate_limited") == [1.0]
    assert result["elapsed_seconds"] >= 1.0


def always_rate_limited(ws: Workspace) -> Run:
    return faulted(ws, "openai:rate_limit;retry_after=1", "image", "a fox", "-b", "openai", RETRY__ATTEMPTS="2")


@scenario(always_rate_limited, cost=2)
def test_rate_limit_that_persists_on_an_explicit_backend_is_rate_limited_with_retry_after(outcome: Run) -> None:
    error = failed_cleanly(outcome, "rate_limited")
    assert error["retry_after"] == 1
    assert retries_shown(outcome, "openai", "rate_limited") == [1.0]


def server_error_once(ws: Workspace) -> Run:
    return faulted(ws, "openai:server_error;times=1", "audio", "Hello there.", "-b", "openai")


@scenario(server_error_once)
def test_server_error_once_is_retried_and_succeeds(outcome: Run) -> None:
    result = written_ok(outcome)
    assert result["backend"] == "openai"
    assert len(retries_shown(outcome, "openai", "transient_backend_error")) == 1


def server_error_always(ws: Workspace) -> Run:
    return faulted(ws, "openai:server_error", "image", "a fox", "-b", "openai", RETRY__ATTEMPTS="3")


@scenario(server_error_always)
def test_server_error_on_an_explicit_backend_is_retried_then_a_transient_error(outcome: Run) -> None:
    error = failed_cleanly(outcome, "transient_backend_error")
    assert error["backend"] == "openai" and "500" in error["error"]
    assert len(retries_shown(outcome, "openai", "transient_backend_error")) == 2


def hang_once(ws: Workspace) -> Run:
    return faulted(
        ws, "openai:hang;times=1", "image", "a fox", "-b", "openai", BACKENDS__OPENAI__EXTRA__REQUEST_TIMEOUT="3"
    )


@scenario(hang_once, cost=2)
def test_a_request_hanging_past_the_client_timeout_is_retried(outcome: Run) -> None:
    result = written_ok(outcome)
    assert result["backend"] == "openai"
    assert len(retries_shown(outcome, "openai", "transient_backend_error")) == 1
    assert result["elapsed_seconds"] >= 3.0  # the client gave up on the held request after its 3 s


def truncated_video_once(ws: Workspace) -> Run:
    return faulted(ws, "openai:truncated_download;times=1", "video", "waves", "-b", "openai")


@scenario(truncated_video_once)
def test_a_video_download_cut_short_is_retried_and_the_file_is_complete(outcome: Run) -> None:
    result = written_ok(outcome)
    assert len(retries_shown(outcome, "openai", "transient_backend_error")) == 1
    facts = mp4_facts(Path(result["file_path"]))  # parses every box to the end of the file
    assert facts.seconds == 4.0


def truncated_speech_always(ws: Workspace) -> Run:
    return faulted(ws, "openai:truncated_download", "audio", "Hello there.", "-b", "openai", RETRY__ATTEMPTS="2")


@scenario(truncated_speech_always)
def test_a_speech_download_always_cut_short_leaves_no_partial_file(outcome: Run) -> None:
    error = failed_cleanly(outcome, "transient_backend_error")
    assert "cut short" in error["error"]


def slow_polls(ws: Workspace) -> Run:
    return faulted(ws, "google:slow_poll;polls=4;delay=0.1", "video", "waves", "-b", "google")


@scenario(slow_polls)
def test_a_slowly_polled_veo_operation_still_completes(outcome: Run) -> None:
    result = written_ok(outcome)
    assert result["backend"] == "google"
    assert mp4_facts(Path(result["file_path"])).seconds == 8.0
    assert result["elapsed_seconds"] >= 0.4  # four polls, each held back 0.1 s


# -- failed over -----------------------------------------------------------------------------------------------


def google_unavailable(ws: Workspace) -> Run:
    return faulted(ws, "google:unavailable", "image", "a fox", RETRY__ATTEMPTS="2")


@scenario(google_unavailable)
def test_auto_selected_google_with_persistent_503_fails_over_to_openai(outcome: Run) -> None:
    result = written_ok(outcome)
    assert result["backend"] == "openai"
    (fallback,) = result["fallbacks"]
    assert (fallback["backend"], fallback["error_code"]) == ("google", "transient_backend_error")
    assert "503" in fallback["message"]
    assert "google failed (transient_backend_error); trying openai" in outcome.stderr
    assert image_size(Path(result["file_path"])) == (1024, 1024)


def google_malformed(ws: Workspace) -> Run:
    return faulted(ws, "google:malformed", "image", "a fox", RETRY__ATTEMPTS="1")


@scenario(google_malformed)
def test_auto_selected_google_answering_malformed_json_fails_over_to_openai(outcome: Run) -> None:
    result = written_ok(outcome)
    assert result["backend"] == "openai"
    (fallback,) = result["fallbacks"]
    assert (fallback["backend"], fallback["error_code"]) == ("google", "transient_backend_error")
    assert "malformed" in fallback["message"]


# -- typed errors ----------------------------------------------------------------------------------------------


def openai_refuses_once(ws: Workspace) -> Run:
    return faulted(ws, "openai:content_policy;times=1", "image", "a fox", "-b", "openai")


@scenario(openai_refuses_once)
def test_content_policy_refusal_is_content_rejected_and_not_retried(outcome: Run) -> None:
    error = failed_cleanly(outcome, "content_rejected")
    assert error["backend"] == "openai"
    assert retries_shown(outcome, "openai", "content_rejected") == []  # a retry would have passed (times=1)


def elevenlabs_quota_spent_once(ws: Workspace) -> Run:
    return faulted(ws, "elevenlabs:quota_exceeded;times=1", "audio", "a calm piano piece", "--kind", "music")


@scenario(elevenlabs_quota_spent_once)
def test_a_spent_quota_is_a_backend_error_saying_so_and_not_retried(outcome: Run) -> None:
    error = failed_cleanly(outcome, "backend_error")
    assert error["backend"] == "elevenlabs" and "quota" in error["error"]
    assert retries_shown(outcome, "elevenlabs", "backend_error") == []  # a retry would have passed (times=1)


def google_refuses_once(ws: Workspace) -> Run:
    return faulted(ws, "google:content_policy;times=1", "image", "a fox")


@scenario(google_refuses_once)
def test_content_policy_refusal_of_auto_selected_google_is_not_shopped_to_openai(outcome: Run) -> None:
    error = failed_cleanly(outcome, "content_rejected")
    assert error["backend"] == "google"
    assert "trying openai" not in outcome.stderr


def sora_job_fails(ws: Workspace) -> Run:
    return faulted(ws, "openai:job_fails", "video", "waves", "-b", "openai")


@scenario(sora_job_fails)
def test_a_sora_job_that_fails_is_a_backend_error_naming_the_video(outcome: Run) -> None:
    error = failed_cleanly(outcome, "backend_error")
    assert re.search(r"video_[0-9a-f]+", error["error"]), error["error"]
    assert "video_generation_failed" in error["error"]


def sora_retired(ws: Workspace) -> Run:
    return faulted(ws, "openai:retired;times=1;route=POST /v1/videos", "video", "waves", "--backend", "openai")


@scenario(sora_retired)
def test_sora_answering_as_a_retired_api_names_the_shutdown_and_veo_without_retrying(outcome: Run) -> None:
    error = failed_cleanly(outcome, "backend_error")
    assert (error["backend"], error["status"]) == ("openai", 404)
    assert "OpenAI announced its shutdown for 2026-09-24" in error["error"]
    assert "--backend google (Veo)" in error["error"]
    assert retries_shown(outcome, "openai", "backend_error") == []  # a retry would have been served (times=1)


def veo_never_finishes(ws: Workspace) -> Run:
    return faulted(ws, "google:job_never_finishes", "video", "waves", "-b", "google", "--timeout", "2")


@scenario(veo_never_finishes, cost=3)
def test_a_never_finishing_veo_operation_ends_in_generation_timeout_with_no_file(outcome: Run) -> None:
    error = failed_cleanly(outcome, "generation_timeout")
    assert "raise the timeout" in error["error"]
    assert error["backend"] == "google"
    assert outcome.seconds >= 2.0  # the whole budget was waited for; COMMAND_TIMEOUT catches a hang
