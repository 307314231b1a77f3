"""ElevenLabs mapping: every request maps to values the API lists, ranges are checked before any call, and every
set parameter ends applied, adapted (with what changed) or ignored. Also the error translation and voice names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from elevenlabs.core.api_error import ApiError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediagen.adapters.elevenlabs.errors import translate_elevenlabs_error
from mediagen.adapters.elevenlabs.mapping import (
    clamp_seconds,
    map_audio_isolation,
    map_dubbing,
    map_music,
    map_sound_effect,
    map_speech,
    map_voice_clone,
    map_voice_conversion,
    map_voice_design,
    resolve_output_format,
)
from mediagen.adapters.elevenlabs.spec import (
    CODEC_DEFAULTS,
    DEFAULT_OUTPUT_FORMAT,
    EFFECT_SECONDS,
    MUSIC_OUTPUT_FORMATS,
    MUSIC_SECONDS,
    SPEC,
    SPEECH_OUTPUT_FORMATS,
    OutputFormat,
)
from mediagen.adapters.elevenlabs.voices import VoiceEntry, resolve_voice
from mediagen.domain.errors import (
    AuthenticationFailed,
    BackendError,
    InvalidRequest,
    RateLimited,
    TransientBackendError,
    UnsupportedParameter,
)
from mediagen.domain.media import AudioKind, MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import ParameterReport
from mediagen.domain.secret import Secret
from mediagen.sandbox import media as sandbox_media
from mediagen.testing.media import mp4_stub, wav

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

codecs = st.sampled_from(["mp3", "wav", "pcm", "opus", "ulaw", "alaw", "ogg", "flac", "aac", "MP3", "mulaw"])
full_names = st.sampled_from(SPEECH_OUTPUT_FORMATS + MUSIC_OUTPUT_FORMATS)
made_up = st.tuples(
    st.sampled_from(["mp3", "wav", "pcm", "opus", "flac"]),
    st.integers(1000, 96000),
    st.one_of(st.none(), st.integers(8, 512)),
).map(lambda t: f"{t[0]}_{t[1]}" + (f"_{t[2]}" if t[2] is not None else ""))
formats = st.one_of(st.none(), codecs, full_names, made_up)
durations = st.floats(0.01, 2000, allow_nan=False, allow_infinity=False)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("elevenlabs-mapping") / "clip.wav"
    path.write_bytes(wav(0.2))
    return path


@pytest.fixture(scope="module")
def mp3_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("elevenlabs-mapping-mp3") / "clip.mp3"
    path.write_bytes(sandbox_media.speech("mp3", 0.3))
    return path


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("elevenlabs-mapping-mp4") / "film.mp4"
    path.write_bytes(mp4_stub())
    return path


def audio(**kwargs: Any) -> MediaRequest:
    return MediaRequest(media_type=MediaType.AUDIO, **kwargs)


def accounted(request: MediaRequest, report: ParameterReport) -> None:
    missing = set(request.set_parameters()) - report.accounted()
    assert not missing, f"not accounted for: {missing}"


# --- output formats ----------------------------------------------------------------------------------------------


@PROPERTY
@given(asked=formats, allowed=st.sampled_from([SPEECH_OUTPUT_FORMATS, MUSIC_OUTPUT_FORMATS]))
def test_every_format_asked_resolves_to_one_the_api_lists_and_says_why_when_it_differs(
    asked: str | None, allowed: tuple[str, ...]
) -> None:
    used, reasons = resolve_output_format(asked, allowed)
    assert used in allowed
    parsed = OutputFormat.parse(used)
    assert parsed.sample_rate > 0
    if asked is None:
        assert used == DEFAULT_OUTPUT_FORMAT and not reasons
    elif asked.lower() in allowed:
        assert used == asked.lower() and not reasons
    else:
        codec = asked.lower().split("_", 1)[0]
        codec = {"ogg": "opus", "mulaw": "ulaw"}.get(codec, codec)
        if any(name.startswith(codec + "_") for name in allowed):
            assert parsed.codec == codec, "the codec asked is kept whenever the call offers it"
        else:
            assert reasons and codec in reasons[0]


@pytest.mark.parametrize(("asked", "sent"), [("mp3", "mp3_44100_128"), ("wav", "wav_24000"), ("pcm", "pcm_24000"),
                                             ("opus", "opus_48000_128"), ("ulaw", "ulaw_8000"),
                                             ("mp3_22050_32", "mp3_22050_32"), ("pcm_16000", "pcm_16000")])  # fmt: skip
def test_a_codec_gets_a_sensible_default_and_a_full_name_passes_as_named(asked: str, sent: str) -> None:
    plan = map_speech(
        audio(prompt="hi", audio_format=asked), "eleven_multilingual_v2", SPEC.model("eleven_multilingual_v2")
    )
    assert plan.out.name == sent
    assert plan.parameters.applied["audio_format"] == sent
    assert plan.out.mime_type == {"mp3": "audio/mpeg", "wav": "audio/wav", "opus": "audio/opus"}.get(
        sent.split("_")[0], "audio/pcm"
    )


def test_music_asked_for_wav_is_adapted_to_mp3_and_says_so() -> None:
    plan = map_music(
        audio(prompt="a march", audio_kind="music", audio_format="wav"), "music_v1", SPEC.model("music_v1")
    )
    assert plan.out.name == DEFAULT_OUTPUT_FORMAT
    [adapted] = plan.parameters.adapted
    assert adapted.name == "audio_format" and "no wav" in adapted.reason


def test_ulaw_is_written_as_raw_samples_with_the_encoding_in_the_metadata() -> None:
    plan = map_speech(audio(prompt="hi", audio_format="ulaw"), "eleven_flash_v2_5", SPEC.model("eleven_flash_v2_5"))
    assert plan.out.mime_type == "audio/pcm"
    assert plan.out.metadata()["pcm"] == {"sample_rate": 8000, "channels": 1, "encoding": "mu-law"}


def test_every_codec_default_is_a_listed_speech_format() -> None:
    for names in CODEC_DEFAULTS.values():
        assert all(name in SPEECH_OUTPUT_FORMATS for name in names)


# --- durations ---------------------------------------------------------------------------------------------------


@PROPERTY
@given(seconds=durations)
def test_music_length_is_always_inside_the_range_and_a_change_is_reported_with_from_and_to(seconds: float) -> None:
    request = audio(prompt="a march", audio_kind="music", duration=seconds)
    plan = map_music(request, "music_v1", SPEC.model("music_v1"))
    length = plan.kwargs["music_length_ms"]
    assert MUSIC_SECONDS[0] * 1000 <= length <= MUSIC_SECONDS[1] * 1000
    accounted(request, plan.parameters)
    if MUSIC_SECONDS[0] <= seconds <= MUSIC_SECONDS[1]:
        assert plan.parameters.applied["duration"] == seconds
    else:
        [adapted] = plan.parameters.adapted
        assert (adapted.name, adapted.requested) == ("duration", seconds)
        assert adapted.used == length / 1000 and adapted.reason


@PROPERTY
@given(seconds=durations, influence=st.one_of(st.none(), st.floats(0, 1)), loop=st.one_of(st.none(), st.booleans()))
def test_sound_effect_duration_is_kept_within_half_a_second_and_thirty(
    seconds: float, influence: float | None, loop: bool | None
) -> None:
    extra = {k: v for k, v in (("prompt_influence", influence), ("loop", loop)) if v is not None}
    request = audio(prompt="rain", audio_kind="sound_effect", duration=seconds, extra=extra)
    plan = map_sound_effect(request, "eleven_text_to_sound_v2", SPEC.model("eleven_text_to_sound_v2"))
    assert EFFECT_SECONDS[0] <= plan.kwargs["duration_seconds"] <= EFFECT_SECONDS[1]
    assert plan.kwargs["duration_seconds"] == clamp_seconds(seconds, EFFECT_SECONDS)[0]
    changed = [a for a in plan.parameters.adapted if a.name == "duration"]
    assert bool(changed) == (not EFFECT_SECONDS[0] <= seconds <= EFFECT_SECONDS[1])
    for key, value in extra.items():
        assert plan.kwargs[key] == value and f"extra.{key}" in plan.parameters.applied
    accounted(request, plan.parameters)


@pytest.mark.parametrize(("name", "value"), [("prompt_influence", 1.5), ("prompt_influence", "lots"), ("loop", "yes")])
def test_a_sound_effect_option_out_of_range_fails_before_any_call_naming_it(name: str, value: Any) -> None:
    request = audio(prompt="rain", audio_kind="sound_effect", extra={name: value})
    with pytest.raises(InvalidRequest) as caught:
        map_sound_effect(request, "eleven_text_to_sound_v2", SPEC.model("eleven_text_to_sound_v2"))
    assert caught.value.field == f"extra.{name}"


# --- speech --------------------------------------------------------------------------------------------------------

settings_values = st.fixed_dictionaries(
    {},
    optional={
        "stability": st.floats(-0.5, 1.5),
        "similarity": st.floats(-0.5, 1.5),
        "style": st.floats(-0.5, 1.5),
        "use_speaker_boost": st.booleans(),
    },
)


@PROPERTY
@given(
    extra=settings_values,
    speed=st.one_of(st.none(), st.floats(0.3, 2.0)),
    seed=st.one_of(st.none(), st.integers(0, 2**33)),
)
def test_voice_settings_and_seed_inside_their_ranges_are_sent_and_outside_fail_naming_the_field(
    extra: dict[str, Any], speed: float | None, seed: int | None
) -> None:
    request = audio(prompt="hello", extra=extra, speed=speed, seed=seed)
    bad = [f"extra.{k}" for k, v in extra.items() if not isinstance(v, bool) and not 0 <= v <= 1]
    if speed is not None and not 0.7 <= speed <= 1.2:
        bad.append("speed")
    if seed is not None and seed > 4_294_967_295:
        bad.append("seed")
    if bad:
        with pytest.raises(InvalidRequest) as caught:
            map_speech(request, "eleven_v3", SPEC.model("eleven_v3"))
        assert caught.value.field in bad
        return
    plan = map_speech(request, "eleven_v3", SPEC.model("eleven_v3"))
    sent = plan.kwargs.get("voice_settings", {})
    for key, value in extra.items():
        assert sent[{"similarity": "similarity_boost"}.get(key, key)] == value
    if speed is not None:
        assert sent["speed"] == speed
    assert plan.kwargs.get("seed") == seed
    accounted(request, plan.parameters)


def test_speech_reports_instructions_ignored_and_language_per_model() -> None:
    request = audio(prompt="hola", language="es", instructions="whisper", voice="George")
    v2 = map_speech(request, "eleven_multilingual_v2", SPEC.model("eleven_multilingual_v2"))
    assert "language_code" not in v2.kwargs
    assert {i.name for i in v2.parameters.ignored} == {"instructions", "language"}
    flash = map_speech(request, "eleven_flash_v2_5", SPEC.model("eleven_flash_v2_5"))
    assert flash.kwargs["language_code"] == "es" and flash.voice == "George"
    with pytest.raises(UnsupportedParameter):
        map_speech(request, "eleven_flash_v2_5", SPEC.model("eleven_flash_v2_5"), strict=True)


def test_a_prompt_longer_than_the_model_takes_fails_before_any_call() -> None:
    with pytest.raises(InvalidRequest) as caught:
        map_speech(audio(prompt="x" * 5001), "eleven_v3", SPEC.model("eleven_v3"))
    assert caught.value.field == "prompt"


def test_a_model_of_another_kind_is_refused_naming_what_it_does() -> None:
    with pytest.raises(InvalidRequest, match="music_v1 does music"):
        map_speech(audio(prompt="hi"), "music_v1", SPEC.model("music_v1"))


# --- voices, input audio and dubbing ------------------------------------------------------------------------------


def test_voice_conversion_takes_one_audio_file_and_its_settings_as_a_json_field(clip: Path) -> None:
    request = audio(audio_kind="voice_conversion", input_audio=clip, voice="Rachel", extra={"stability": 0.4})
    plan = map_voice_conversion(request, "eleven_multilingual_sts_v2", SPEC.model("eleven_multilingual_sts_v2"))
    assert plan.source.path == clip and plan.voice == "Rachel"
    assert json.loads(plan.kwargs["voice_settings"]) == {"stability": 0.4}
    accounted(request, plan.parameters)


def test_voice_conversion_of_a_video_is_refused_before_any_call(film: Path) -> None:
    request = audio(audio_kind="voice_conversion", input_audio=film)
    with pytest.raises(InvalidRequest, match="needs an audio file"):
        map_voice_conversion(request, "eleven_multilingual_sts_v2", None)


def test_only_a_voice_clone_takes_several_input_files(clip: Path, mp3_clip: Path) -> None:
    with pytest.raises(InvalidRequest) as caught:
        audio(audio_kind="audio_isolation", input_audio=[clip, mp3_clip])
    assert caught.value.field == "input_audio"
    request = audio(audio_kind="voice_clone", prompt="hi there", input_audio=[clip, mp3_clip],
                    extra={"keep_voice": True, "voice_name": "Me"})  # fmt: skip
    plan = map_voice_clone(request, "eleven_multilingual_v2", SPEC.model("eleven_multilingual_v2"))
    assert [s.path for s in plan.samples] == [clip, mp3_clip]
    assert plan.name == "Me" and plan.keep_voice
    assert plan.speech.kwargs["text"] == "hi there"
    assert plan.speech.parameters.applied["input_audio"] == 2
    accounted(request, plan.speech.parameters)


def test_audio_isolation_needs_no_prompt_and_reports_its_fixed_mp3(clip: Path) -> None:
    request = audio(audio_kind="audio_isolation", input_audio=clip, audio_format="wav")
    plan = map_audio_isolation(request, "audio_isolation", SPEC.model("audio_isolation"))
    assert plan.out.mime_type == "audio/mpeg"
    [adapted] = plan.parameters.adapted
    assert adapted.name == "audio_format" and adapted.used == "mp3"


def test_voice_design_checks_the_description_length_and_saves_only_when_asked() -> None:
    with pytest.raises(InvalidRequest) as caught:
        map_voice_design(audio(audio_kind="voice_design", prompt="too short"), "eleven_ttv_v3", None)
    assert caught.value.field == "prompt"
    description = "a warm, low voice of an old sailor telling stories by the fire"
    plain = map_voice_design(audio(audio_kind="voice_design", prompt=description), "eleven_ttv_v3", None)
    assert plain.save_as is None and plain.kwargs["auto_generate_text"] is True
    saved = map_voice_design(
        audio(audio_kind="voice_design", prompt=description, extra={"save_voice": True, "voice_name": "Sailor"}),
        "eleven_ttv_v3",
        None,
    )
    assert saved.save_as == "Sailor"


@pytest.mark.parametrize(
    ("language", "extra", "field"),
    [(None, {}, "language"), ("spanish!", {}, "language"), ("es", {"target_language": "de"}, "extra.target_language")],
)
def test_dubbing_without_a_valid_target_language_fails_before_any_call(
    clip: Path, language: str | None, extra: dict[str, Any], field: str
) -> None:
    request = audio(audio_kind="dubbing", input_audio=clip, language=language, extra=extra)
    with pytest.raises(InvalidRequest) as caught:
        map_dubbing(request, "dubbing", SPEC.model("dubbing"))
    assert caught.value.field == field


@pytest.mark.parametrize("source", ["clip", "film"])
def test_dubbing_takes_audio_or_video_and_the_language_from_either_field(
    source: str, request_fixture: pytest.FixtureRequest
) -> None:
    path = request_fixture.getfixturevalue(source)
    for fields in ({"language": "ES"}, {"extra": {"target_language": "es"}}):
        plan = map_dubbing(audio(audio_kind=AudioKind.DUBBING, input_audio=path, **fields), "dubbing", None)
        assert plan.target_language == "es" and plan.kwargs["target_lang"] == "es"


@pytest.fixture
def request_fixture(request: pytest.FixtureRequest) -> pytest.FixtureRequest:
    return request


VOICES = (
    VoiceEntry("JBFqnCBsd6RMkjVDRZzb", "George - Warm, Captivating Storyteller"),
    VoiceEntry("21m00Tcm4TlvDq8ikWAM", "Rachel"),
    VoiceEntry("pNInz6obpgDQGcFmaJgB", "Adam"),
)


@pytest.mark.parametrize(
    ("wanted", "voice_id"),
    [("george", "JBFqnCBsd6RMkjVDRZzb"), ("Rachel", "21m00Tcm4TlvDq8ikWAM"),
     ("pNInz6obpgDQGcFmaJgB", "pNInz6obpgDQGcFmaJgB"), ("AbCdEfGhIjKlMnOpQrSt", "AbCdEfGhIjKlMnOpQrSt")],
)  # fmt: skip
def test_a_voice_is_found_by_id_name_or_short_name(wanted: str, voice_id: str) -> None:
    assert resolve_voice(wanted, VOICES) == voice_id


def test_an_unknown_voice_name_is_an_error_listing_close_matches() -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolve_voice("Rachael", VOICES)
    assert caught.value.field == "voice" and "close matches: Rachel" in caught.value.message


# --- errors --------------------------------------------------------------------------------------------------------

KEY = Secret("sk_0123456789abcdef0123456789abcdef")


def test_error_statuses_become_the_typed_errors_without_the_key() -> None:
    cases = [
        (401, {"detail": {"status": "invalid_api_key", "message": f"Invalid API key {KEY.reveal()}"}},
         AuthenticationFailed),
        (401, {"detail": {"status": "quota_exceeded", "message": "This request exceeds your quota"}}, BackendError),
        (429, {"detail": {"status": "too_many_concurrent_requests", "message": "slow down"}}, RateLimited),
        (503, {"detail": {"status": "system_busy", "message": "busy"}}, TransientBackendError),
    ]  # fmt: skip
    for status, body, kind in cases:
        error = translate_elevenlabs_error(
            ApiError(status_code=status, headers={"retry-after": "3"}, body=body), secret=KEY
        )
        assert type(error) is kind, (status, error)
        assert KEY.reveal() not in error.message
    quota = translate_elevenlabs_error(ApiError(status_code=401, body=cases[1][1]))
    assert "quota" in quota.message and not quota.retryable
    limited = translate_elevenlabs_error(ApiError(status_code=429, headers={"Retry-After": "3"}, body=cases[2][1]))
    assert isinstance(limited, RateLimited) and limited.retry_after == 3.0


def test_a_422_is_an_invalid_request_naming_the_vendors_field() -> None:
    body = {"detail": [{"loc": ["body", "voice_settings", "stability"], "msg": "must be <= 1", "type": "value_error"}]}
    error = translate_elevenlabs_error(ApiError(status_code=422, body=body))
    assert isinstance(error, InvalidRequest)
    assert error.field == "extra.voice_settings" and "voice_settings.stability" in error.message
    text = translate_elevenlabs_error(
        ApiError(status_code=422, body={"detail": [{"loc": ["body", "text"], "msg": "too long"}]})
    )
    assert isinstance(text, InvalidRequest) and text.field == "prompt" and "(text)" in text.message


# --- docs ----------------------------------------------------------------------------------------------------------


def test_the_backend_page_is_current_with_the_spec() -> None:
    from mediagen.adapters.elevenlabs import docs

    page = Path(__file__).resolve().parents[2] / "docs" / "backends" / "elevenlabs.md"
    text = page.read_text(encoding="utf-8")
    assert docs.PAGE.rewrite(text) == text, "run: python -m mediagen.adapters.elevenlabs.docs"


def test_a_voice_given_for_a_new_voice_is_reported_ignored_pointing_at_voice_name(clip: Path) -> None:
    request = audio(audio_kind="voice_clone", prompt="hi", input_audio=clip, voice="Me")
    plan = map_voice_clone(request, "eleven_multilingual_v2", None)
    [ignored] = plan.speech.parameters.ignored
    assert ignored.name == "voice" and "voice_name" in ignored.reason
    assert plan.name == "mediagen clone"


def test_auto_selection_sends_premade_names_and_ids_to_elevenlabs_and_other_vendors_names_elsewhere() -> None:
    speech = SPEC.model("eleven_multilingual_v2")
    assert speech is not None
    accepts = speech.constraints.accepts_voice
    assert accepts("george") and accepts("JBFqnCBsd6RMkjVDRZzb") and accepts("AbCdEfGhIjKlMnOpQrSt")
    assert not accepts("alloy") and not accepts("Kore") and not accepts("AbCdEfGhIjKlMnOpQrS")
