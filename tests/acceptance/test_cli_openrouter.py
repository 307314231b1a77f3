"""The `mediagen` command with OpenRouter: a user whose only key is OPENROUTER_API_KEY gets images, edits and
multi-turn edits across processes, and is told which keys would enable video and audio; with every key set,
images still go to Google first and OpenRouter is the last image backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from mediagen.sandbox import SandboxSettings, SandboxThread
from mediagen.sandbox.openrouter import OpenRouterState
from tests.acceptance.conftest import Run, Workspace, scenario
from tests.acceptance.media import image_size, make_image, sniffed

KEY = "sk-or-v1-acceptance0123456789abcdef"


@attrs.frozen
class OpenRouterOnlyRuns:
    image: Run
    edit: Run
    second_turn: Run
    video: Run
    audio: Run
    refresh: Run
    listed: Run
    sent: tuple[dict[str, Any], ...]


def only_an_openrouter_key(ws: Workspace) -> OpenRouterOnlyRuns:
    """A user with only an OpenRouter key, whose OpenRouter endpoint is a running sandbox (it accepts only KEY)."""
    settings = SandboxSettings(api_key=KEY)
    with SandboxThread(("openrouter",), settings=settings) as sandbox:
        ws.env.update(sandbox.env("openrouter"))
        picture = make_image(ws.inputs / "green.png", (600, 300), (20, 160, 40))
        image = ws.mediagen("image", "a red fox in snow", "--json")
        edit = ws.mediagen("image", "paint the square blue", "--input-image", str(picture), "--json")
        first = image.json().get("continuation_id") if image.returncode == 0 else None
        second_turn = ws.mediagen("image", "now at night", "--continue-from", str(first), "--json")
        state = sandbox.state("openrouter")
        assert isinstance(state, OpenRouterState)
        sent = tuple(r.body for r in state.requests_to("/api/v1/chat/completions"))
        return OpenRouterOnlyRuns(
            image=image,
            edit=edit,
            second_turn=second_turn,
            video=ws.mediagen("video", "waves at dusk", "--json"),
            audio=ws.mediagen("audio", "Hello there.", "--json"),
            refresh=ws.mediagen("backends", "openrouter", "--refresh", "--json"),
            listed=ws.mediagen("backends", "openrouter", "--json"),
            sent=sent,
        )


def ok(run: Run) -> dict[str, Any]:
    assert run.returncode == 0, str(run)
    assert run.stderr == ""
    result = run.json()
    assert result["success"] is True and result["backend"] == "openrouter"
    path = Path(result["file_path"])
    assert path.parent == run.ws.work and sniffed(path) == "image/png" == result["mime_type"]
    return result


@scenario(only_an_openrouter_key, cost=4)
def test_with_only_an_openrouter_key_images_edits_and_a_second_turn_work(outcome: OpenRouterOnlyRuns) -> None:
    image = ok(outcome.image)
    assert image["model"] == "google/gemini-3.1-flash-image-preview"
    assert image["continuation_id"].startswith("openrouter_")
    assert image["metadata"]["provider"] == "Google AI Studio"
    edit = ok(outcome.edit)
    assert image_size(Path(edit["file_path"])) == (1024, 512)  # drawn from the 2:1 input
    second = ok(outcome.second_turn)
    assert second["continuation_id"] not in (None, image["continuation_id"])
    # The second turn, in another process, sent the first turn and the first image back.
    first_body, _, second_body = outcome.sent
    messages = second_body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"][0]["text"] == "a red fox in snow"
    assert messages[-1]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert first_body["modalities"] == ["image", "text"]
    assert len(outcome.image.ws.outputs()) == 3


@scenario(only_an_openrouter_key, cost=4)
def test_with_only_an_openrouter_key_video_and_audio_name_the_keys_that_would_enable_them(
    outcome: OpenRouterOnlyRuns,
) -> None:
    for run in (outcome.video, outcome.audio):
        assert run.returncode == 2, str(run)
        error = run.json()
        assert error["success"] is False and error["error_code"] == "no_backend_available"
        assert "Traceback" not in run.stderr and KEY not in run.stdout + run.stderr
        assert "openrouter" not in error["error"].split("Set one of:")[-1]
    # Sora is past its shutdown, so an xAI or a Google key enables video; speech comes from OpenAI or Google.
    assert (
        "Set one of: XAI_API_KEY (enables xai); GOOGLE_API_KEY or GEMINI_API_KEY (enables google)"
        in outcome.video.json()["error"]
    )
    said = outcome.audio.json()["error"]
    assert "OPENAI_API_KEY" in said and "GOOGLE_API_KEY" in said


@scenario(only_an_openrouter_key, cost=4)
def test_backends_openrouter_lists_the_spec_and_refresh_asks_openrouter(outcome: OpenRouterOnlyRuns) -> None:
    assert outcome.listed.returncode == 0 == outcome.refresh.returncode, str(outcome.refresh)
    listed = {row["model"] for row in outcome.listed.json()["models"]}
    refreshed = {row["model"] for row in outcome.refresh.json()["models"]}
    assert "black-forest-labs/flux.2-pro" in listed and "sourceful/riverflow-v2-fast" not in listed
    assert "sourceful/riverflow-v2-fast" in refreshed  # only OpenRouter's live list knows it
    assert "openai/gpt-4o-mini" not in refreshed  # text output only


# -- every key set -----------------------------------------------------------------------------------------------


def every_key(ws: Workspace) -> tuple[Run, Run]:
    return (
        ws.mediagen("image", "a red fox in snow", "--sandbox", "--json"),
        ws.mediagen("backends", "--explain", "image", "--sandbox", "--json"),
    )


@scenario(every_key, cost=2)
def test_with_every_key_images_go_to_google_first_and_openrouter_is_listed_last(outcome: tuple[Run, Run]) -> None:
    image, explain = outcome
    assert image.returncode == 0, str(image)
    assert image.json()["backend"] == "google"
    assert explain.returncode == 0, str(explain)
    rows = [row for row in explain.json()["backends"] if row["usable"]]  # backends that make no image come after
    assert [row["backend"] for row in rows] == ["google", "openai", "xai", "openrouter"]
    assert rows[0]["chosen"] is True and not any(row["chosen"] for row in rows[1:])
