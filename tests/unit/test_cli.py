"""CLI mechanics, in process: exit codes, --json printing only JSON, no traceback without --debug, help everywhere.

The end-to-end scenarios through the installed command live in tests/acceptance; these stay small and fast.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from mediagen.adapters.stores.memory import MemoryStore
from mediagen.entrypoints.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, app

KEY = "sk-proj-cli-secret-0123456789abcdef"
#: Nothing listens on the discard port: an SDK sent there fails to connect at once.
DEAD_URL = "http://127.0.0.1:9/v1"

Invoke = Callable[..., Result]


@pytest.fixture
def mediagen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """`mediagen ARGS` in process, in an empty directory, with no key, no settings and fast retries."""
    for name in list(os.environ):
        if name.startswith("MEDIAGEN_") or name.endswith(("_API_KEY", "_BASE_URL")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("MEDIAGEN_SANDBOX_OPTIONS__JOB_POLLS", "1")
    monkeypatch.setenv("MEDIAGEN_RETRY__WAIT_INITIAL", "0")
    monkeypatch.setenv("MEDIAGEN_RETRY__WAIT_JITTER", "0")
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None, **env: str) -> Result:
        return runner.invoke(app, list(args), env=env or None, input=stdin)

    return invoke


def only_json(result: Result) -> dict[str, Any]:
    """stdout is exactly one JSON object and nothing else."""
    try:
        data = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"stdout is not one JSON document:\n{result.stdout}\n--- stderr\n{result.stderr}"
        ) from None
    assert isinstance(data, dict)
    return data


def words(text: str) -> str:
    """The text with rich's line wrapping undone."""
    return " ".join(text.split())


# -- help ---------------------------------------------------------------------------------------------------------


def command_paths() -> list[list[str]]:
    """Every command and sub-command, found from the app itself so a new one is covered without editing here."""
    paths: list[list[str]] = []

    def walk(group: Any, prefix: list[str]) -> None:
        for name, command in group.commands.items():
            paths.append([*prefix, name])
            if hasattr(command, "commands"):  # a group of sub-commands, like `jobs`
                walk(command, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


def test_version_prints_the_package_version(mediagen: Invoke) -> None:
    from mediagen import __version__

    result = mediagen("--version")
    assert result.exit_code == EXIT_OK and result.stdout.strip() == f"mediagen {__version__}"


def test_a_dash_prompt_is_read_from_standard_input(mediagen: Invoke) -> None:
    result = mediagen("image", "-", "--sandbox", "--json", stdin="a fox in the snow\n")
    assert result.exit_code == EXIT_OK, result.output
    assert "a-fox-in-the-snow" in only_json(result)["filename"]


def test_mediagen_help_lists_every_command(mediagen: Invoke) -> None:
    result = mediagen("--help")
    assert result.exit_code == EXIT_OK
    for name in ("image", "video", "audio", "batch", "backends", "jobs", "sandbox", "mcp", "config"):
        assert name in result.stdout


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("path", [[], *command_paths()], ids=lambda p: " ".join(p) or "mediagen")
def test_every_command_has_working_help_with_no_type_beside_its_flags(
    mediagen: Invoke, path: list[str], flag: str
) -> None:
    result = mediagen(*path, flag)
    assert result.exit_code == EXIT_OK, result.output
    assert "Usage:" in result.stdout and result.stderr == ""
    assert "<bool>" not in result.stdout  # --json, --sandbox, --help take no value


def test_jobs_status_and_resume_name_their_argument_alike(mediagen: Invoke) -> None:
    for command in ("status", "resume"):
        shown = words(mediagen("jobs", command, "--help").stdout)
        assert f"mediagen jobs {command} [OPTIONS] {{JOB_ID}}" in shown
        assert "JOB_ID <str> The id `mediagen jobs list` shows." in shown


def test_shell_completion_can_be_installed_or_shown(mediagen: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    # The shell is named rather than detected: detection reads the parent processes, which under a job runner or
    # a detached shell need not be a shell at all ("Shell  not supported").
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    assert "--install-completion" in mediagen("--help").stdout
    shown = mediagen("--show-completion", "bash")
    assert shown.exit_code == EXIT_OK and "_mediagen_completion" in shown.stdout


def test_the_generating_commands_offer_json_sandbox_and_debug(mediagen: Invoke) -> None:
    for command in ("image", "video", "audio", "batch"):
        shown = mediagen(command, "--help").stdout
        for option in ("--json", "--sandbox", "--debug"):
            assert option in shown, f"{command} --help lacks {option}"


def test_job_times_are_local_dates_for_people_and_iso_8601_in_json(mediagen: Invoke, tmp_path: Path) -> None:
    import asyncio
    import datetime

    from mediagen.adapters.stores.sqlite import SqliteStore
    from mediagen.ports.continuation import JOB_KIND, ContinuationState

    async def record() -> str:
        store = SqliteStore(tmp_path / "jobs.sqlite3")
        data = {"vendor_job_id": "operations/1", "model": "veo-3.1-generate-preview", "request": {"prompt": "x"}}
        job_id = await store.save("google", ContinuationState(kind=JOB_KIND, data=data))
        await store.aclose()
        return job_id

    job_id = asyncio.run(record())
    store = {"MEDIAGEN_STORE__PATH": str(tmp_path / "jobs.sqlite3")}
    [listed] = only_json(mediagen("jobs", "list", "--json", **store))["jobs"]
    status = only_json(mediagen("jobs", "status", job_id, "--json", **store))
    when = datetime.datetime.fromisoformat(listed["created_at"])
    assert when.tzinfo is not None and status["job"]["created_at"] == listed["created_at"]
    assert abs(when.timestamp() - datetime.datetime.now().timestamp()) < 600
    local = when.astimezone().strftime("%Y-%m-%d %H:%M")
    assert local in words(mediagen("jobs", "list", **store).stdout)
    assert f"created_at: {local}" in mediagen("jobs", "status", job_id, **store).stdout


def test_no_arguments_shows_the_help_as_a_usage_error(mediagen: Invoke) -> None:
    result = mediagen()
    assert result.exit_code == EXIT_USAGE and "Usage:" in result.output


# -- exit 2: the user must fix something --------------------------------------------------------------------------


def test_a_bad_aspect_ratio_exits_2_naming_the_field_and_what_is_valid(mediagen: Invoke) -> None:
    result = mediagen("image", "a fox", "--aspect-ratio", "16x9")
    assert result.exit_code == EXIT_USAGE
    assert result.stdout == ""
    assert "aspect_ratio (--aspect-ratio): '16x9' is not W:H with positive integers, e.g. 16:9" in words(result.stderr)
    assert "invalid_request" in result.stderr and "Traceback" not in result.output


def test_a_bad_request_with_json_prints_only_the_error_object(mediagen: Invoke) -> None:
    result = mediagen("image", "a fox", "--aspect-ratio", "16x9", "--json")
    assert result.exit_code == EXIT_USAGE
    error = only_json(result)
    assert error == {
        "success": False,
        "error": "aspect_ratio: '16x9' is not W:H with positive integers, e.g. 16:9",
        "error_code": "invalid_request",
        "field": "aspect_ratio",
    }


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("video", "waves", "--duration", "0"), "duration"),
        (("image", "fox", "--size", "big"), "size"),
        (("image", "fox", "--mask", "mask.png"), "mask"),
        (("audio", "hi", "--kind", "singing"), "audio_kind"),
        (("image", "fox", "--extra", "no-equals-sign"), "extra"),
        (("image", "   "), "prompt"),
    ],
)
def test_each_invalid_option_is_named_in_the_json_error(mediagen: Invoke, args: tuple[str, ...], field: str) -> None:
    result = mediagen(*args, "--json")
    assert result.exit_code == EXIT_USAGE
    error = only_json(result)
    assert (error["error_code"], error["field"]) == ("invalid_request", field)


def test_a_missing_input_image_exits_2_before_anything_starts(mediagen: Invoke, tmp_path: Path) -> None:
    result = mediagen("image", "edit it", "--input-image", "nowhere.png", "--json")
    assert result.exit_code == EXIT_USAGE
    assert only_json(result)["field"] == "input_images"
    assert not (tmp_path / "data").exists(), "no store or sandbox should have been touched"


def test_with_no_key_the_error_names_the_env_vars_that_enable_each_backend(mediagen: Invoke) -> None:
    result = mediagen("image", "a fox")
    assert result.exit_code == EXIT_USAGE and result.stdout == ""
    said = words(result.stderr)
    assert "OPENAI_API_KEY (enables openai)" in said
    assert "GOOGLE_API_KEY or GEMINI_API_KEY (enables google)" in said
    assert "Traceback" not in result.output


def test_with_no_key_json_gives_the_backends_and_their_env_vars(mediagen: Invoke) -> None:
    result = mediagen("audio", "hello", "--json")
    assert result.exit_code == EXIT_USAGE
    error = only_json(result)
    assert error["error_code"] == "no_backend_available" and error["operation"] == "audio"
    assert error["enabling_env_vars"]["openai"] == ["OPENAI_API_KEY"]
    # Sora is past OpenAI's announced shutdown: its key would not make auto-selection pick it for video.
    video = only_json(mediagen("video", "waves", "--json"))
    assert "openai" not in video["enabling_env_vars"] and "google" in video["enabling_env_vars"]
    assert "retired on 2026-09-24" in video["error"]


def test_a_named_backend_without_its_key_exits_2_with_missing_credentials(mediagen: Invoke) -> None:
    result = mediagen("image", "a fox", "--backend", "openai", "--json")
    assert result.exit_code == EXIT_USAGE
    error = only_json(result)
    assert (error["error_code"], error["env_vars"]) == ("missing_credentials", ["OPENAI_API_KEY"])


def test_a_bad_setting_exits_2_naming_the_key_and_its_source(mediagen: Invoke) -> None:
    result = mediagen("config", "--json", MEDIAGEN_RETRY__ATTEMPTS="0")
    assert result.exit_code == EXIT_USAGE
    error = only_json(result)
    assert error["error_code"] == "configuration_error" and error["key"] == "retry.attempts"
    assert "MEDIAGEN_RETRY__ATTEMPTS" in error["error"]


def test_an_unknown_continuation_exits_2(mediagen: Invoke) -> None:
    result = mediagen("image", "again", "--continue-from", "openai_image_000000000000", "--sandbox", "--json")
    assert result.exit_code == EXIT_USAGE
    assert only_json(result)["error_code"] == "continuation_not_found"


# -- exit 1: the generation failed --------------------------------------------------------------------------------


def test_a_refused_generation_exits_1_with_the_typed_error_and_writes_nothing(mediagen: Invoke, tmp_path: Path) -> None:
    result = mediagen(
        "image", "a fox", "--backend", "openai", "--sandbox", "--json",
        MEDIAGEN_SANDBOX_OPTIONS__FAULTS="openai:content_policy",
    )  # fmt: skip
    assert result.exit_code == EXIT_FAILED
    error = only_json(result)
    assert (error["success"], error["error_code"], error["backend"]) == (False, "content_rejected", "openai")
    assert list(tmp_path.glob("*.png")) == []


def test_an_unreachable_vendor_exits_1_without_a_traceback_or_the_key(mediagen: Invoke) -> None:
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": DEAD_URL, "MEDIAGEN_RETRY__ATTEMPTS": "1"}
    result = mediagen("image", "a fox", "--backend", "openai", **env)
    assert result.exit_code == EXIT_FAILED
    assert "transient_backend_error" in result.stderr and "could not reach OpenAI" in words(result.stderr)
    assert "Traceback" not in result.output and KEY not in result.output


def test_debug_adds_the_traceback_and_still_never_the_key(mediagen: Invoke) -> None:
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": DEAD_URL, "MEDIAGEN_RETRY__ATTEMPTS": "1"}
    result = mediagen("image", "a fox", "--backend", "openai", "--debug", **env)
    assert result.exit_code == EXIT_FAILED
    assert "Traceback" in result.stderr and "TransientBackendError" in result.stderr
    assert KEY not in result.output


#: A Redis store nothing listens for (port 9, discard): a configuration error naming store.url.
DEAD_REDIS = {"MEDIAGEN_STORE__KIND": "redis", "MEDIAGEN_STORE__URL": "redis://127.0.0.1:9/0"}


def test_a_store_that_cannot_be_reached_is_a_configuration_error_naming_store_url(mediagen: Invoke) -> None:
    result = mediagen("jobs", "list", "--json", **DEAD_REDIS)
    assert result.exit_code == 2
    error = only_json(result)
    assert error["error_code"] == "configuration_error" and "store.url" in error["error"]
    assert "Traceback" not in result.output


@pytest.fixture
def broken_store(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fault inside mediagen itself (the memory store's listing raises a RuntimeError): no user mistake."""

    async def broken(self: MemoryStore, kind: str | None = None) -> list[Any]:
        raise RuntimeError("a fault inside mediagen")

    monkeypatch.setattr(MemoryStore, "records", broken)
    return {"MEDIAGEN_STORE__KIND": "memory"}


def test_an_unexpected_failure_is_one_internal_error_line_without_debug(
    mediagen: Invoke, broken_store: dict[str, str]
) -> None:
    result = mediagen("jobs", "list", "--json", **broken_store)
    assert result.exit_code == EXIT_FAILED
    error = only_json(result)
    assert error["error_code"] == "internal_error" and "--debug" in error["error"]
    assert "Traceback" not in result.output


def test_with_debug_an_unexpected_failure_raises_for_its_traceback(
    mediagen: Invoke, broken_store: dict[str, str]
) -> None:
    result = mediagen("jobs", "list", "--debug", **broken_store)
    assert result.exit_code == EXIT_FAILED
    assert isinstance(result.exception, RuntimeError)


def test_a_batch_with_a_failed_item_exits_1_and_still_prints_every_result(mediagen: Invoke, tmp_path: Path) -> None:
    (tmp_path / "prompts.txt").write_text("a refused fox\na fine fox\n")
    result = mediagen(
        "batch", "prompts.txt", "--type", "image", "--backend", "openai", "-c", "1", "--sandbox", "--json",
        MEDIAGEN_SANDBOX_OPTIONS__FAULTS="openai:content_policy;times=1",
    )  # fmt: skip
    assert result.exit_code == EXIT_FAILED
    batch = only_json(result)
    assert (batch["total"], batch["succeeded"], batch["failed"]) == (2, 1, 1)
    first, second = batch["results"]
    assert first["error_code"] == "content_rejected" and second["success"] is True


# -- exit 0 -------------------------------------------------------------------------------------------------------


def test_a_sandboxed_image_with_json_prints_only_the_result(mediagen: Invoke, tmp_path: Path) -> None:
    result = mediagen("image", "a red fox", "--sandbox", "--json")
    assert result.exit_code == EXIT_OK, result.output
    made = only_json(result)
    assert made["success"] is True and made["operation"] == "image" and made["mode"] == "text_to_image"
    path = Path(made["file_path"])
    assert path.parent == tmp_path and path.stat().st_size == made["file_size"]
    assert made["continuation_id"]


def test_video_quality_and_image_instructions_reach_the_backend(mediagen: Invoke) -> None:
    video = only_json(mediagen("video", "waves", "--quality", "1080p", "-d", "8", "--sandbox", "--json"))
    assert video["backend"] == "xai" and video["applied"]["quality"] == "1080p"  # video goes to xAI first
    image = only_json(mediagen("image", "a fox", "-b", "openai", "--instructions", "calm", "--sandbox", "--json"))
    assert image["applied"]["instructions"] == "calm"


def test_without_json_the_summary_is_readable_text(mediagen: Invoke, tmp_path: Path) -> None:
    result = mediagen("audio", "Hello there", "--backend", "openai", "--sandbox")
    assert result.exit_code == EXIT_OK, result.output
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)
    [made] = tmp_path.glob("*.mp3")
    assert made.name in words(result.stdout)


def test_config_json_prints_the_effective_settings(mediagen: Invoke) -> None:
    result = mediagen("config", "--json", MEDIAGEN_STORE__KIND="memory", MEDIAGEN_MAX_CONCURRENT="9")
    assert result.exit_code == EXIT_OK
    printed = only_json(result)
    assert (printed["success"], printed["operation"]) == (True, "config")
    settings = printed["settings"]
    assert settings["store"]["kind"] == "memory" and settings["max_concurrent"] == 9
    assert settings["priorities"]["image"][0] == "google"
    assert (
        printed["sources"]["store.kind"] == "MEDIAGEN_STORE__KIND"
        and printed["sources"]["retry.attempts"] == "defaults"
    )


def test_config_says_where_each_setting_comes_from(mediagen: Invoke) -> None:
    result = mediagen("config", MEDIAGEN_STORE__KIND="memory")
    assert result.exit_code == EXIT_OK
    lines = result.stdout.splitlines()
    assert 'store.kind = "memory"  (MEDIAGEN_STORE__KIND)' in lines
    assert "max_concurrent = 4  (defaults)" in lines


def test_backends_json_lists_each_backend_and_its_key_state(mediagen: Invoke) -> None:
    result = mediagen("backends", "--json", OPENAI_API_KEY=KEY)
    assert result.exit_code == EXIT_OK
    rows = {row["backend"]: row for row in only_json(result)["backends"]}
    assert rows["openai"]["credentials_set"] is True and rows["google"]["credentials_set"] is False
    assert rows["google"]["env_vars"] == ["GOOGLE_API_KEY", "GEMINI_API_KEY"]
    assert rows["openai"]["media_types"] == ["image", "video", "audio"]
    assert KEY not in result.output


def test_backends_explain_json_says_why_each_is_or_is_not_chosen(mediagen: Invoke) -> None:
    result = mediagen("backends", "--explain", "image", "--json", OPENAI_API_KEY=KEY)
    assert result.exit_code == EXIT_OK
    rows = only_json(result)["backends"]
    chosen = [row["backend"] for row in rows if row["chosen"]]
    assert chosen == ["openai"]
    assert all(row["reason"] for row in rows)
    both = only_json(mediagen("backends", "--explain", "image", "--json", OPENAI_API_KEY=KEY, GOOGLE_API_KEY=KEY))
    rows_by = {row["backend"]: row for row in both["backends"]}
    assert rows_by["google"]["chosen"] and not rows_by["openai"]["chosen"]  # one is chosen; the next is a fallback
    assert rows_by["openai"]["usable"] and "used if an earlier one fails" in rows_by["openai"]["reason"]
    shown = mediagen("backends", "--explain", "image", OPENAI_API_KEY=KEY)  # the table says yes/no, not True/False
    lines = {line.split("│")[2].strip(): line for line in shown.output.splitlines() if line.count("│") > 3}
    assert "│ yes " in lines["openai"] and "│ no " in lines["google"]
    assert "True" not in shown.output and "False" not in shown.output


def test_backends_name_lists_every_model_with_what_it_accepts_from_the_spec(mediagen: Invoke) -> None:
    from mediagen.adapters.openai.spec import SPEC

    result = mediagen("backends", "openai", "--json")
    assert result.exit_code == EXIT_OK
    rows = {row["model"]: row for row in only_json(result)["models"]}
    assert list(rows) == [model.name for model in SPEC.models]
    assert [name for name, row in rows.items() if row["default"]] == list(SPEC.default_models.values())
    speech = rows["gpt-4o-mini-tts"]["constraints"]
    assert speech["voices"][:2] == ["alloy", "ash"] and speech["voice_id_prefixes"] == ["voice_"]
    assert rows["sora-2"]["constraints"]["durations"] == [4, 8, 12] and "shut" in rows["sora-2"]["description"]
    assert rows["sora-2"]["retired_on"] == "2026-09-24" and rows["gpt-5.4"]["retired_on"] is None
    assert "mask" in rows["gpt-image-1.5"]["capabilities"]
    table = mediagen("backends", "google")
    assert table.exit_code == EXIT_OK and "imagen-3.0-capability-001" in table.output


def test_backends_with_an_unknown_name_is_a_usage_error_listing_the_installed_ones(mediagen: Invoke) -> None:
    result = mediagen("backends", "acme", "--json")
    assert result.exit_code == EXIT_USAGE
    error = only_json(result)
    assert error["error_code"] == "invalid_request" and "installed: openai, google" in error["error"]


def test_a_bad_explain_value_is_a_usage_error(mediagen: Invoke) -> None:
    assert mediagen("backends", "--explain", "pictures").exit_code == EXIT_USAGE


# -- mediagen sandbox ---------------------------------------------------------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The settings each `mediagen sandbox` run would serve with (nothing is served)."""
    import mediagen.sandbox

    calls: list[Any] = []
    monkeypatch.setattr(mediagen.sandbox, "serve_forever", lambda *args, settings, **_: calls.append(settings))
    return calls


def test_sandbox_keeps_vendor_state_in_state_dir_for_state_ttl(
    mediagen: Invoke, served: list[Any], tmp_path: Path
) -> None:
    assert mediagen("sandbox", "--state-dir", "state", "--state-ttl", "3600", "--latency", "0.5").exit_code == EXIT_OK
    assert mediagen("sandbox", "--state-dir", str(tmp_path / "kept"), "--state-ttl", "none").exit_code == EXIT_OK
    assert mediagen("sandbox").exit_code == EXIT_OK
    first, forever, memory = served
    assert (first.state_dir, first.state_ttl_seconds, first.latency) == (Path("state"), 3600.0, 0.5)
    assert (forever.state_dir, forever.state_ttl_seconds) == (tmp_path / "kept", None)
    assert (memory.state_dir, memory.state_ttl_seconds) == (None, 7 * 24 * 3600.0)


@pytest.mark.parametrize("ttl", ["0", "-5", "a week"])
def test_sandbox_with_a_bad_state_ttl_exits_2_naming_the_setting(mediagen: Invoke, served: list[Any], ttl: str) -> None:
    result = mediagen("sandbox", "--state-dir", "state", "--state-ttl", ttl)
    assert result.exit_code == EXIT_USAGE
    assert "state_ttl_seconds" in words(result.stderr) and "--state-ttl" in words(result.stderr)
    assert served == [] and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "field"),
    [(["image", "x", "--seed", "abc"], "seed"), (["image"], "prompt"), (["image", "x", "--bogus"], None)],
    ids=["bad-value", "missing-prompt", "unknown-option"],
)
def test_with_json_even_a_usage_error_is_the_tool_s_error_json(
    args: list[str], field: str | None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mediagen.entrypoints.cli import main

    monkeypatch.setattr(sys, "argv", ["mediagen", *args, "--json"])
    with pytest.raises(SystemExit) as caught:
        main()
    assert caught.value.code == EXIT_USAGE
    error = json.loads(capsys.readouterr().out)
    assert error["success"] is False and error["error_code"] == "invalid_request" and error.get("field") == field


def test_a_field_error_names_the_option_that_sets_it_and_json_keeps_the_field(mediagen: Invoke) -> None:
    said = mediagen("image", "a fox", "--input-image", "nope.png", "--sandbox")
    assert said.exit_code == EXIT_USAGE and "input_images (--input-image): 'nope.png' does not exist" in said.stderr
    as_json = only_json(mediagen("image", "a fox", "--input-image", "nope.png", "--sandbox", "--json"))
    assert as_json["field"] == "input_images" and as_json["error"].startswith("input_images: ")


def test_batch_refuses_an_unknown_engine_and_an_address_without_ray_before_reading_the_file(
    mediagen: Invoke, tmp_path: Path
) -> None:
    (tmp_path / "prompts.txt").write_text("a fox\n")
    unknown = mediagen("batch", "prompts.txt", "--type", "image", "--engine", "spark", "--json")
    stray = mediagen("batch", "prompts.txt", "--type", "image", "--address", "auto", "--json")
    for result, field in ((unknown, "engine"), (stray, "address")):
        error = only_json(result)
        assert result.exit_code != 0 and error["error_code"] == "invalid_request" and error["field"] == field


#: The settings the fixture sets, unset again (CliRunner removes a variable given as None).
FIXTURE_SETTINGS_UNSET: Any = dict.fromkeys(
    ("MEDIAGEN_SANDBOX_OPTIONS__JOB_POLLS", "MEDIAGEN_RETRY__WAIT_INITIAL", "MEDIAGEN_RETRY__WAIT_JITTER")
)
DOC_EXAMPLE = re.compile(r"<!-- json: (.+?) -->\n```json\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def shape(value: Any) -> Any:
    """What a JSON value's structure is: keys of objects, the first item of lists, the type of scalars."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def same_shape(documented: Any, real: Any, where: str = "") -> list[str]:
    """Where the documented shape differs from the real one (null matches anything; an empty list any list)."""
    if documented == "NoneType" or real == "NoneType":
        return []
    if isinstance(documented, dict) and isinstance(real, dict):
        if list(documented) != list(real):
            return [f"{where or '/'}: documented keys {list(documented)}, real {list(real)}"]
        return [problem for key in real for problem in same_shape(documented[key], real[key], f"{where}/{key}")]
    if isinstance(documented, list) and isinstance(real, list):
        return same_shape(documented[0], real[0], f"{where}[]") if documented and real else []
    return [] if documented == real else [f"{where}: documented {documented}, real {real}"]


def test_every_json_output_docs_tool_md_shows_is_the_real_one(mediagen: Invoke) -> None:
    examples = dict(DOC_EXAMPLE.findall((Path(__file__).parents[2] / "docs" / "tool.md").read_text()))
    assert len(examples) == 6
    pending = mediagen(
        "video", "waves", "-b", "openai", "--sandbox", "--timeout", "1", "--json",
        MEDIAGEN_SANDBOX_OPTIONS__JOB_POLLS="1000",
    )  # fmt: skip
    job_id = only_json(pending)["job_id"]
    real = {
        "backends --json": mediagen("backends", "--json"),
        "backends openai --json": mediagen("backends", "openai", "--json"),
        "backends --explain video --json": mediagen("backends", "--explain", "video", "--json"),
        "jobs list --json": mediagen("jobs", "list", "--sandbox", "--json"),
        "jobs status JOB_ID --json": mediagen("jobs", "status", job_id, "--sandbox", "--json"),
        "config --json": mediagen("config", "--json", MEDIAGEN_STORE__KIND="sqlite", **FIXTURE_SETTINGS_UNSET),
    }
    assert set(real) == set(examples)
    for command, result in real.items():
        printed = only_json(result)
        assert result.exit_code == EXIT_OK and printed["success"] is True, command
        assert same_shape(shape(json.loads(examples[command])), shape(printed)) == [], command
    jobs = only_json(real["jobs list --json"])["jobs"]
    assert [job["job_id"] for job in jobs] == [job_id]
    assert datetime.datetime.fromisoformat(jobs[0]["created_at"]).utcoffset() == datetime.timedelta(0)


def test_image_count_writes_that_many_files_as_a_batch(mediagen: Invoke, tmp_path: Path) -> None:
    result = mediagen("image", "a fox", "-n", "3", "-b", "openai", "--sandbox", "--json", "--filename", "fox.png")
    assert result.exit_code == EXIT_OK, result.output
    printed = only_json(result)
    assert (printed["operation"], printed["total"], printed["succeeded"]) == ("batch", 3, 3)
    assert sorted(Path(item["file_path"]).name for item in printed["results"]) == [
        "fox-1.png",
        "fox-2.png",
        "fox-3.png",
    ]
    refused = only_json(mediagen("image", "a fox", "-n", "11", "--sandbox", "--json"))
    assert refused["field"] == "n" and "1 to 10" in refused["error"]


@pytest.mark.parametrize(("set_by_user", "expected"), [(None, "ERROR"), ("DEBUG", "DEBUG")])
def test_the_command_keeps_grpcs_info_lines_off_stderr_unless_the_user_asks(
    monkeypatch: pytest.MonkeyPatch, set_by_user: str | None, expected: str
) -> None:
    """grpc reads GRPC_VERBOSITY once, when it loads: `main` sets it first, so fork_posix's INFO lines never land
    between the progress lines; a value the user set is kept."""
    from mediagen.entrypoints.cli import main

    monkeypatch.setenv("GRPC_VERBOSITY", "")  # recorded, so the variable is put back as it was after the test
    monkeypatch.delenv("GRPC_VERBOSITY")
    if set_by_user is not None:
        monkeypatch.setenv("GRPC_VERBOSITY", set_by_user)
    monkeypatch.setattr(sys, "argv", ["mediagen", "--help"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 0 and os.environ["GRPC_VERBOSITY"] == expected
