"""`mediagen audio` end to end against the ElevenLabs fake: each of the eight kinds, every file checked by its
magic bytes against the format asked; a voice clone leaves no voice behind (also when its speech step fails); a
CLI killed while a dub runs resumes it without a second create."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import attrs
import pytest

from mediagen.sandbox import SandboxSettings, SandboxThread, media
from tests.acceptance.conftest import MEDIAGEN, Run, Workspace, scenario
from tests.acceptance.media import assert_extension_matches_content, mp4_facts, sniffed, wav_facts
from tests.acceptance.test_cli_sandbox import only_file, succeeded

FAST_POLL = {"MEDIAGEN_BACKENDS__ELEVENLABS__EXTRA__POLL_INTERVAL": "0.02"}


def sample(ws: Workspace, name: str = "me.mp3", seconds: float = 1.5) -> Path:
    path = ws.inputs / name
    path.write_bytes(media.speech(name.rsplit(".", 1)[1], seconds, seed=len(name)))
    return path


def audio(ws: Workspace, *args: str) -> Run:
    return ws.mediagen("audio", *args, "--sandbox", "--json", env=FAST_POLL)


# -- speech ------------------------------------------------------------------------------------------------------

FORMATS = {
    "mp3": ("audio/mpeg", ".mp3", "mp3_44100_128"),
    "wav": ("audio/wav", ".wav", "wav_24000"),
    "opus": ("audio/opus", ".opus", "opus_48000_128"),
    "mp3_22050_32": ("audio/mpeg", ".mp3", "mp3_22050_32"),
    "pcm_16000": ("audio/pcm", ".pcm", "pcm_16000"),
    "ulaw": ("audio/pcm", ".pcm", "ulaw_8000"),
}


def speech_with_every_key(ws: Workspace, fmt: str) -> Run:
    return audio(ws, "Hello there, welcome to the sandbox.", "-f", fmt)


def wrote(run: Run) -> dict[str, Any]:
    """`succeeded`, but for headerless samples too: G.711 silence is 0xFF bytes, which look like an MPEG sync."""
    result = run.json()
    if result.get("mime_type") != "audio/pcm":
        return succeeded(run)
    assert run.returncode == 0 and run.stderr == "", str(run)
    path = Path(result["file_path"])
    assert path.parent == run.ws.work and path.stat().st_size == result["file_size"] > 0
    return result


@pytest.mark.parametrize("fmt", list(FORMATS))
@scenario(speech_with_every_key)
def test_speech_goes_to_elevenlabs_first_in_the_format_asked(outcome: Run, fmt: str) -> None:
    result = wrote(outcome)
    mime, suffix, sent = FORMATS[fmt]
    assert (result["backend"], result["mode"], result["mime_type"]) == ("elevenlabs", "speech", mime)
    assert result["metadata"]["output_format"] == sent
    path = only_file(outcome, result)
    assert path.suffix == suffix
    if mime == "audio/pcm":
        assert path.stat().st_size > 0 and "pcm" in result["metadata"]
    else:
        assert assert_extension_matches_content(path) == mime
    if fmt == "wav":
        assert wav_facts(path).sample_rate == 24000


def speech_with_settings(ws: Workspace) -> dict[str, Run]:
    return {
        "named": audio(ws, "Named voice.", "--voice", "george", "--stability", "0.4", "--similarity", "0.9",
                       "--speed", "1.1", "--seed", "3"),
        "unknown": audio(ws, "Unknown voice.", "--voice", "Georg", "-b", "elevenlabs"),
        "alloy": audio(ws, "Another vendor's voice.", "--voice", "alloy"),
        "range": ws.mediagen("audio", "Too unstable.", "--stability", "2", "--sandbox"),
    }  # fmt: skip


@scenario(speech_with_settings)
def test_voice_names_settings_and_ranges_are_checked_before_any_call(outcome: dict[str, Run]) -> None:
    named = succeeded(outcome["named"])
    assert named["metadata"]["voice_id"] == "JBFqnCBsd6RMkjVDRZzb"
    assert {"extra.stability", "extra.similarity", "speed", "seed", "voice"} <= set(named["applied"])
    unknown = outcome["unknown"]
    assert unknown.returncode == 2 and unknown.json()["field"] == "voice"
    assert "George" in unknown.json()["error"]
    assert succeeded(outcome["alloy"])["backend"] == "openai", "a voice only OpenAI has goes to OpenAI"
    bad = outcome["range"]
    assert bad.returncode == 2 and "--stability" in bad.stderr and "0..1" in bad.stderr


# -- music and sound effects -----------------------------------------------------------------------------------------


def music(ws: Workspace) -> Run:
    return audio(ws, "a calm piano piece", "--kind", "music", "-d", "5", "--instrumental", "-f", "mp3_44100_64")


@scenario(music)
def test_music_is_an_mp3_of_the_asked_length_setting(outcome: Run) -> None:
    result = succeeded(outcome)
    assert (result["backend"], result["mode"], result["model"]) == ("elevenlabs", "music", "music_v1")
    assert assert_extension_matches_content(only_file(outcome, result)) == "audio/mpeg"
    assert result["applied"]["duration"] == 5 and result["applied"]["extra.instrumental"] is True


def sound_effect(ws: Workspace) -> Run:
    return audio(ws, "a door creaks open", "--kind", "sound-effect", "-d", "45", "--loop", "-f", "wav",
                 "--prompt-influence", "0.7")  # fmt: skip


@scenario(sound_effect)
def test_a_sound_effect_too_long_is_adapted_to_thirty_seconds_and_reported(outcome: Run) -> None:
    result = succeeded(outcome)
    assert result["mode"] == "sound_effect"
    assert assert_extension_matches_content(only_file(outcome, result)) == "audio/wav"
    [adapted] = [a for a in result["adapted"] if a["name"] == "duration"]
    assert (adapted["requested"], adapted["used"]) == (45, 30)


def music_without_a_key(ws: Workspace) -> Run:
    with SandboxThread(("openai", "google"), settings=SandboxSettings(job_polls=1)) as sandbox:
        ws.env.update(sandbox.env())
        return ws.mediagen("audio", "a march", "--kind", "music", "--json")


@scenario(music_without_a_key)
def test_music_without_an_elevenlabs_key_says_which_variable_enables_it(outcome: Run) -> None:
    assert outcome.returncode == 2
    error = outcome.json()
    assert error["error_code"] == "no_backend_available"
    assert error["enabling_env_vars"] == {"elevenlabs": ["ELEVENLABS_API_KEY"]}
    assert "ELEVENLABS_API_KEY" in error["error"]


# -- transforming audio ----------------------------------------------------------------------------------------------


def voice_conversion(ws: Workspace) -> Run:
    return audio(ws, "--kind", "voice-conversion", "--input-audio", str(sample(ws, "me.wav")), "--voice", "George",
                 "-f", "opus")  # fmt: skip


@scenario(voice_conversion)
def test_voice_conversion_writes_the_format_asked(outcome: Run) -> None:
    result = succeeded(outcome)
    assert result["mode"] == "voice_conversion" and result["metadata"]["voice_id"] == "JBFqnCBsd6RMkjVDRZzb"
    assert assert_extension_matches_content(only_file(outcome, result)) == "audio/opus"


def audio_isolation(ws: Workspace) -> Run:
    return audio(ws, "--kind", "audio-isolation", "--input-audio", str(sample(ws, "noisy.wav")))


@scenario(audio_isolation)
def test_audio_isolation_needs_no_text_and_writes_mp3(outcome: Run) -> None:
    result = succeeded(outcome)
    assert result["mode"] == "audio_isolation"
    assert assert_extension_matches_content(only_file(outcome, result)) == "audio/mpeg"


# -- voices ----------------------------------------------------------------------------------------------------------

DESCRIPTION = "An old sailor with a deep, warm and slightly hoarse voice, telling stories by the fire"


def voice_design(ws: Workspace) -> Run:
    return audio(ws, DESCRIPTION, "--kind", "voice-design", "-f", "mp3")


@scenario(voice_design)
def test_voice_design_writes_the_first_preview_and_names_every_generated_voice(outcome: Run) -> None:
    result = succeeded(outcome)
    assert result["mode"] == "voice_design"
    assert assert_extension_matches_content(only_file(outcome, result)) == "audio/mpeg"
    ids = result["metadata"]["generated_voice_ids"]
    assert ids and result["metadata"]["generated_voice_id"] == ids[0]
    assert "voice_id" not in result["metadata"]


@attrs.frozen
class CloneRuns:
    ok: Run
    refused: Run
    voices_after: list[str]
    adds: int


def voice_clones(ws: Workspace) -> CloneRuns:
    """Two clones against one running fake: the second's speech step refused by a scripted fault."""
    first, second = sample(ws, "one.mp3"), sample(ws, "two.wav")
    with SandboxThread(("elevenlabs",), settings=SandboxSettings(job_polls=1)) as sandbox:
        ws.env.update(sandbox.env("elevenlabs"))
        args = ("audio", "Spoken in my own voice.", "--kind", "voice-clone", "--json")
        ok = ws.mediagen(*args, "--input-audio", str(first), "--input-audio", str(second), "--voice-name", "Me")
        sandbox.faults.push("elevenlabs", "content_policy", route="POST /v1/text-to-speech/*")
        refused = ws.mediagen(*args, "--input-audio", str(first))
        state = sandbox.state("elevenlabs")
        voices = [v.voice_id for v in state.own_voices()]
        adds = len(state.requests_to("/v1/voices/add", "POST"))
    return CloneRuns(ok, refused, voices, adds)


@scenario(voice_clones, cost=2)
def test_voice_clone_speaks_in_the_new_voice_and_leaves_no_voice_behind_even_when_speech_fails(
    outcome: CloneRuns,
) -> None:
    result = succeeded(outcome.ok)
    assert result["mode"] == "voice_clone" and result["applied"]["input_audio"] == 2
    assert assert_extension_matches_content(only_file(outcome.ok, result)) == "audio/mpeg"
    assert result["metadata"]["voice_deleted"] is True
    refused = outcome.refused
    assert refused.returncode == 1 and refused.json()["error_code"] == "content_rejected"
    assert outcome.adds == 2
    assert outcome.voices_after == []


# -- dubbing ---------------------------------------------------------------------------------------------------------


def dubbings(ws: Workspace) -> dict[str, Run]:
    film = ws.inputs / "talk.mp4"
    film.write_bytes(media.mp4(1.0, 64, 48, prompt="a talk"))
    return {
        "audio": audio(ws, "--kind", "dubbing", "--input-audio", str(sample(ws, "talk.mp3")), "--language", "es"),
        "video": audio(ws, "--kind", "dubbing", "--input-audio", str(film), "--language", "de"),
        "no_language": audio(ws, "--kind", "dubbing", "--input-audio", str(film)),
    }


@scenario(dubbings)
def test_dubbing_writes_the_dub_in_the_inputs_kind_and_needs_a_target_language(outcome: dict[str, Run]) -> None:
    spoken = succeeded(outcome["audio"])
    assert spoken["mode"] == "dubbing" and spoken["metadata"]["target_language"] == "es"
    assert assert_extension_matches_content(Path(spoken["file_path"])) == "audio/mpeg"
    video = outcome["video"].json()
    assert video["success"] is True, video
    path = Path(video["file_path"])
    assert path.suffix == ".mp4" and sniffed(path) == "video/mp4" and mp4_facts(path).seconds > 0
    missing = outcome["no_language"]
    assert missing.returncode == 2 and missing.json()["field"] == "language"


@attrs.frozen
class KilledDub:
    jobs: dict[str, Any]
    resumed: Run
    creates: int
    returncode: int


def killed_dub(ws: Workspace) -> KilledDub:
    """A dub whose status needs three polls; the CLI polls once, waits long, and is killed (SIGKILL) meanwhile.
    `jobs resume` then collects it from another process, with fast polling, without creating it again."""
    assert MEDIAGEN is not None
    with SandboxThread(("elevenlabs",), settings=SandboxSettings(job_polls=1)) as sandbox:
        ws.env.update(sandbox.env("elevenlabs"))
        sandbox.faults.push("elevenlabs", "slow_poll;polls=3;delay=0", route="POST /v1/dubbing")
        # A zero-second hang on the first status poll marks (in the fault log) that the job id was recorded.
        sandbox.faults.push("elevenlabs", "hang;seconds=0", route="GET /v1/dubbing/*")
        slow = {"MEDIAGEN_BACKENDS__ELEVENLABS__EXTRA__POLL_INTERVAL": "600"}
        argv = [MEDIAGEN, "audio", "--kind", "dubbing", "--input-audio", str(sample(ws, "talk.mp3")),
                "--language", "fr"]  # fmt: skip
        proc = subprocess.Popen(
            argv, cwd=ws.work, env=ws.environ(slow), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            assert sandbox.faults.wait_applied(2, timeout=60, vendor="elevenlabs"), "the dub was not polled"
            proc.send_signal(signal.SIGKILL)
            returncode = proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()
        jobs = json.loads(ws.mediagen("jobs", "list", "--json").stdout)
        job_id = jobs["jobs"][0]["job_id"] if jobs.get("jobs") else "missing"
        resumed = ws.mediagen("jobs", "resume", job_id, "--json", env=FAST_POLL)
        creates = len(sandbox.state("elevenlabs").requests_to("/v1/dubbing", "POST"))
    return KilledDub(jobs, resumed, creates, returncode)


@scenario(killed_dub, cost=3)
def test_a_cli_killed_while_dubbing_resumes_the_job_without_a_second_create(outcome: KilledDub) -> None:
    assert outcome.returncode == -signal.SIGKILL
    [job] = outcome.jobs["jobs"]
    assert job["backend"] == "elevenlabs" and job["vendor_job_id"]
    result = succeeded(outcome.resumed)
    assert result["backend"] == "elevenlabs" and result["metadata"]["dubbing_id"] == job["vendor_job_id"]
    assert assert_extension_matches_content(Path(result["file_path"])) == "audio/mpeg"
    assert outcome.creates == 1
