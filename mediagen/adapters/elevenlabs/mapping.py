"""Pure functions: a MediaRequest to what each ElevenLabs call takes, with every set parameter accounted for.

No I/O and no SDK import: plans hold plain values (input files still as paths, voices still as the caller named
them); speech.py, music.py, effects.py, voices.py, changer.py and dubbing.py turn them into calls. Every range is
checked here, so a bad value fails before anything is paid for. Property-tested in
tests/unit/test_elevenlabs_mapping.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from mediagen.adapters.elevenlabs.spec import (
    BACKEND,
    CODEC_ALIASES,
    CODEC_DEFAULTS,
    CODEC_MIME,
    DEFAULT_OUTPUT_FORMAT,
    DESIGN_DESCRIPTION_CHARS,
    DESIGN_OUTPUT_FORMATS,
    DESIGN_TEXT_CHARS,
    EFFECT_SECONDS,
    GUIDANCE_SCALE_RANGE,
    LOUDNESS_RANGE,
    MAX_CLONE_SAMPLES,
    MUSIC_OUTPUT_FORMATS,
    MUSIC_SECONDS,
    PROMPT_INFLUENCE_RANGE,
    RAW_ENCODINGS,
    SEED_RANGE,
    SPEECH_OUTPUT_FORMATS,
    VOICE_SETTING_RANGES,
    OutputFormat,
)
from mediagen.domain.backend import ModelSpec
from mediagen.domain.errors import InvalidRequest
from mediagen.domain.media import AudioKind, Capability, MediaType
from mediagen.domain.report import ReportBuilder
from mediagen.domain.request import InputAudio, MediaRequest
from mediagen.domain.result import ParameterReport

VENDOR = "ElevenLabs"
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$", re.IGNORECASE)
#: Models whose text-to-speech ignores `language_code` (the API's own note for multilingual v2).
_NO_LANGUAGE_CODE = ("eleven_multilingual_v2",)
#: The names `extra` takes for voice settings, and the API field each sets (`similarity` is short for
#: similarity_boost).
VOICE_SETTING_EXTRAS: Mapping[str, str] = {
    "stability": "stability",
    "similarity": "similarity_boost",
    "similarity_boost": "similarity_boost",
    "style": "style",
}


# --- output formats -------------------------------------------------------------------------------------------------


@attrs.frozen
class AudioOut:
    """The output format sent, and what the bytes that come back are."""

    format: OutputFormat

    @property
    def name(self) -> str:
        return self.format.name

    @property
    def mime_type(self) -> str:
        return CODEC_MIME[self.format.codec]

    def metadata(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"output_format": self.name, "sample_rate": self.format.sample_rate}
        if self.format.bitrate is not None:
            facts["bitrate_kbps"] = self.format.bitrate
        encoding = RAW_ENCODINGS.get(self.format.codec)
        if encoding is not None:
            facts["pcm"] = {"sample_rate": self.format.sample_rate, "channels": 1, "encoding": encoding}
        return facts


def _nearest(codec: str, wanted: OutputFormat | None, allowed: Sequence[str]) -> str | None:
    """The allowed format of `codec` closest to `wanted` (its rate, then its bitrate); the codec's default first."""
    same = [OutputFormat.parse(name) for name in allowed if name.split("_", 1)[0] == codec]
    if not same:
        return None
    if wanted is None:
        for name in CODEC_DEFAULTS.get(codec, ()):
            if name in allowed:
                return name
        return same[0].name
    return min(
        same,
        key=lambda f: (abs(f.sample_rate - wanted.sample_rate), abs((f.bitrate or 0) - (wanted.bitrate or 0))),
    ).name


def resolve_output_format(asked: str | None, allowed: Sequence[str]) -> tuple[str, list[str]]:
    """The `output_format` to send for `asked` (a codec like mp3, or a full name like mp3_22050_32) and why it
    differs from what was asked (empty when it is as asked). Always one of `allowed`."""
    default = DEFAULT_OUTPUT_FORMAT if DEFAULT_OUTPUT_FORMAT in allowed else allowed[0]
    if asked is None:
        return default, []
    text = asked.strip().lower()
    if text in allowed:
        return text, []
    codec, _, rest = text.partition("_")
    codec = CODEC_ALIASES.get(codec, codec)
    wanted: OutputFormat | None = None
    if rest:
        try:
            wanted = OutputFormat.parse(f"{codec}_{rest}")
        except ValueError:
            wanted = None
    found = _nearest(codec, wanted, allowed)
    if found is None:
        offered = sorted({name.split("_", 1)[0] for name in allowed})
        return default, [f"{VENDOR} has no {codec} output here (it offers {', '.join(offered)})"]
    if rest and found != text:
        return found, [f"{text} is not an output format of this call; {found} is the nearest"]
    return found, []


def _output(report: ReportBuilder, request: MediaRequest, allowed: Sequence[str]) -> AudioOut:
    used, reasons = resolve_output_format(request.audio_format, allowed)
    report.settle("audio_format", used, reasons)
    return AudioOut(OutputFormat.parse(used))


# --- checked values -------------------------------------------------------------------------------------------------


def _extra_bool(request: MediaRequest, name: str) -> bool | None:
    value = request.extra.get(name)
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise InvalidRequest(f"must be true or false, not {value!r}", field=f"extra.{name}")
    return value


def _in_range(value: Any, bounds: tuple[float, float], field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidRequest(f"{value!r} is not a number", field=field)
    try:
        number = float(value)
    except ValueError:
        raise InvalidRequest(f"{value!r} is not a number", field=field) from None
    low, high = bounds
    if not low <= number <= high:
        raise InvalidRequest(f"{number:g} is outside {low:g}..{high:g}", field=field)
    return number


def _extra_number(request: MediaRequest, name: str, bounds: tuple[float, float]) -> float | None:
    value = request.extra.get(name)
    return None if value is None else _in_range(value, bounds, f"extra.{name}")


def _extra_text(request: MediaRequest, name: str) -> str | None:
    value = request.extra.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"must be a non-empty string, not {value!r}", field=f"extra.{name}")
    return value.strip()


def _seed(report: ReportBuilder, request: MediaRequest) -> int | None:
    if request.seed is None:
        return None
    low, high = SEED_RANGE
    if not low <= request.seed <= high:
        raise InvalidRequest(f"{request.seed} is outside {low}..{high}", field="seed")
    report.apply("seed")
    return request.seed


def voice_settings(report: ReportBuilder, request: MediaRequest) -> dict[str, Any] | None:
    """The `voice_settings` object from `speed` and the voice-setting extras, each checked against its range."""
    settings: dict[str, Any] = {}
    for name, field in VOICE_SETTING_EXTRAS.items():
        value = _extra_number(request, name, VOICE_SETTING_RANGES[field])
        if value is not None:
            if field in settings:
                raise InvalidRequest(f"give {name} or {field}, not both", field=f"extra.{name}")
            settings[field] = value
            report.apply(f"extra.{name}")
    boost = _extra_bool(request, "use_speaker_boost")
    if boost is not None:
        settings["use_speaker_boost"] = boost
        report.apply("extra.use_speaker_boost")
    if request.speed is not None:
        settings["speed"] = _in_range(request.speed, VOICE_SETTING_RANGES["speed"], "speed")
        report.apply("speed")
    return settings or None


def _check_prompt(request: MediaRequest, model: ModelSpec | None, model_name: str) -> None:
    limit = model.constraints.max_prompt_chars if model is not None else None
    if limit is not None and len(request.prompt) > limit:
        raise InvalidRequest(f"{len(request.prompt)} characters; {model_name} takes at most {limit}", field="prompt")


def _check_model(request: MediaRequest, model: ModelSpec | None, model_name: str) -> AudioKind:
    if request.media_type is not MediaType.AUDIO:
        raise InvalidRequest(f"{VENDOR} makes audio, not {request.media_type.value}", field="media_type")
    kind = request.effective_audio_kind
    assert kind is not None
    if model is not None and Capability.for_audio_kind(kind) not in model.capabilities:
        kinds = [k.value for k in AudioKind if Capability.for_audio_kind(k) in model.capabilities]
        raise InvalidRequest(f"{model_name} does {', '.join(kinds)}, not {kind.value}", field="model")
    return kind


def _report(request: MediaRequest, model_name: str) -> ReportBuilder:
    return ReportBuilder(request, model_name, backend=BACKEND, vendor=VENDOR)


def _one_input(request: MediaRequest, kind: AudioKind, *, video: bool = False) -> InputAudio:
    """The single input file `kind` takes, checked to be audio (or video, for dubbing)."""
    files = request.input_audio
    if len(files) != 1:
        raise InvalidRequest(f"{kind.value} takes one input file, not {len(files)}", field="input_audio")
    audio = files[0]
    if not video and not audio.mime_type.startswith("audio/"):
        raise InvalidRequest(
            f"{str(audio.path)!r} is {audio.mime_type}; {kind.value} needs an audio file", field="input_audio"
        )
    return audio


# --- speech ---------------------------------------------------------------------------------------------------------


@attrs.frozen
class SpeechPlan:
    """text_to_speech.convert: the voice still as named (a name is resolved against the account's voices)."""

    voice: str | None
    model: str
    out: AudioOut
    kwargs: Mapping[str, Any]
    parameters: ParameterReport


def _speech_kwargs(report: ReportBuilder, request: MediaRequest, model_name: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"text": request.prompt, "model_id": model_name}
    settings = voice_settings(report, request)
    if settings is not None:
        kwargs["voice_settings"] = settings
    seed = _seed(report, request)
    if seed is not None:
        kwargs["seed"] = seed
    if request.language is not None:
        language = request.language.strip()
        if not _LANGUAGE.match(language):
            raise InvalidRequest(f"{language!r} is not a language code such as en or de", field="language")
        if model_name in _NO_LANGUAGE_CODE:
            report.ignore("language", f"{model_name} detects the language itself and takes no language code")
        else:
            kwargs["language_code"] = language.lower()
            report.apply("language", language.lower())
    if request.instructions is not None:
        report.ignore("instructions", f"{VENDOR} takes no delivery instructions; eleven_v3 reads [audio tags] in text")
    return kwargs


def map_speech(request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False) -> SpeechPlan:
    _check_model(request, model, model_name)
    _check_prompt(request, model, model_name)
    report = _report(request, model_name)
    out = _output(report, request, SPEECH_OUTPUT_FORMATS)
    kwargs = _speech_kwargs(report, request, model_name)
    voice = request.voice.strip() if request.voice is not None else None
    if voice == "":
        raise InvalidRequest("must not be blank; leave it unset for the default voice", field="voice")
    if voice is not None:
        report.apply("voice", voice)
    return SpeechPlan(voice, model_name, out, kwargs, report.finish(strict=strict))


# --- music and sound effects ----------------------------------------------------------------------------------------


def clamp_seconds(seconds: float, bounds: tuple[float, float]) -> tuple[float, str | None]:
    """`seconds` brought inside `bounds`, and why when it had to move."""
    low, high = bounds
    if seconds < low:
        return low, f"the shortest {VENDOR} makes here is {low:g} s"
    if seconds > high:
        return high, f"the longest {VENDOR} makes here is {high:g} s"
    return seconds, None


@attrs.frozen
class MusicPlan:
    model: str
    out: AudioOut
    kwargs: Mapping[str, Any]
    parameters: ParameterReport


def map_music(request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False) -> MusicPlan:
    _check_model(request, model, model_name)
    report = _report(request, model_name)
    out = _output(report, request, MUSIC_OUTPUT_FORMATS)
    kwargs: dict[str, Any] = {"prompt": request.prompt, "model_id": model_name}
    if request.duration is not None:
        seconds, why = clamp_seconds(request.duration, MUSIC_SECONDS)
        kwargs["music_length_ms"] = round(seconds * 1000)
        report.settle("duration", seconds, [why] if why else [])
    instrumental = _extra_bool(request, "instrumental")
    if instrumental is not None:
        kwargs["force_instrumental"] = instrumental
        report.apply("extra.instrumental")
    seed = _seed(report, request)
    if seed is not None:
        kwargs["seed"] = seed
    return MusicPlan(model_name, out, kwargs, report.finish(strict=strict))


@attrs.frozen
class EffectPlan:
    model: str
    out: AudioOut
    kwargs: Mapping[str, Any]
    parameters: ParameterReport


def map_sound_effect(
    request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False
) -> EffectPlan:
    _check_model(request, model, model_name)
    report = _report(request, model_name)
    out = _output(report, request, SPEECH_OUTPUT_FORMATS)
    kwargs: dict[str, Any] = {"text": request.prompt, "model_id": model_name}
    if request.duration is not None:
        seconds, why = clamp_seconds(request.duration, EFFECT_SECONDS)
        kwargs["duration_seconds"] = seconds
        report.settle("duration", seconds, [why] if why else [])
    influence = _extra_number(request, "prompt_influence", PROMPT_INFLUENCE_RANGE)
    if influence is not None:
        kwargs["prompt_influence"] = influence
        report.apply("extra.prompt_influence")
    loop = _extra_bool(request, "loop")
    if loop is not None:
        kwargs["loop"] = loop
        report.apply("extra.loop")
    return EffectPlan(model_name, out, kwargs, report.finish(strict=strict))


# --- transforming input audio ---------------------------------------------------------------------------------------


@attrs.frozen
class ConversionPlan:
    """speech_to_speech.convert: the input spoken again by `voice` (resolved like a speech voice)."""

    voice: str | None
    model: str
    source: InputAudio
    out: AudioOut
    kwargs: Mapping[str, Any]
    parameters: ParameterReport


def map_voice_conversion(
    request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False
) -> ConversionPlan:
    kind = _check_model(request, model, model_name)
    source = _one_input(request, kind)
    report = _report(request, model_name)
    out = _output(report, request, SPEECH_OUTPUT_FORMATS)
    report.apply("input_audio")
    kwargs: dict[str, Any] = {"model_id": model_name}
    settings = voice_settings(report, request)
    if settings is not None:
        # The voice changer takes its settings as one JSON-encoded form field.
        kwargs["voice_settings"] = json.dumps(settings)
    seed = _seed(report, request)
    if seed is not None:
        kwargs["seed"] = seed
    denoise = _extra_bool(request, "remove_background_noise")
    if denoise is not None:
        kwargs["remove_background_noise"] = denoise
        report.apply("extra.remove_background_noise")
    voice = request.voice.strip() if request.voice is not None else None
    if voice is not None:
        report.apply("voice", voice)
    return ConversionPlan(voice or None, model_name, source, out, kwargs, report.finish(strict=strict))


@attrs.frozen
class IsolationPlan:
    model: str
    source: InputAudio
    out: AudioOut
    parameters: ParameterReport


#: Audio isolation answers MP3 and takes no output format.
ISOLATION_FORMAT = "mp3_44100_128"


def map_audio_isolation(
    request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False
) -> IsolationPlan:
    kind = _check_model(request, model, model_name)
    source = _one_input(request, kind)
    report = _report(request, model_name)
    report.apply("input_audio")
    if request.audio_format is not None and request.audio_format.strip().lower().split("_", 1)[0] != "mp3":
        report.adapt("audio_format", "mp3", f"{VENDOR}'s audio isolation answers MP3 only")
    elif request.audio_format is not None:
        report.adapt("audio_format", "mp3", f"{VENDOR}'s audio isolation takes no output format; it answers MP3")
    return IsolationPlan(
        model_name, source, AudioOut(OutputFormat.parse(ISOLATION_FORMAT)), report.finish(strict=strict)
    )


# --- voices ---------------------------------------------------------------------------------------------------------


@attrs.frozen
class DesignPlan:
    """text_to_voice.design, then optionally text_to_voice.create for the first preview."""

    model: str
    out: AudioOut
    kwargs: Mapping[str, Any]
    save_as: str | None
    parameters: ParameterReport


def _voice_name(report: ReportBuilder, request: MediaRequest, fallback: str) -> str:
    """The new voice's name: `extra.voice_name` (`voice` names an existing voice to speak with, so not this)."""
    name = _extra_text(request, "voice_name")
    if name is not None:
        report.apply("extra.voice_name")
    report.ignore("voice", "names an existing voice; the new voice's name is extra.voice_name (--voice-name)")
    return name or fallback


def map_voice_design(
    request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False
) -> DesignPlan:
    _check_model(request, model, model_name)
    description = request.prompt.strip()
    low, high = DESIGN_DESCRIPTION_CHARS
    if not low <= len(description) <= high:
        raise InvalidRequest(
            f"a voice description of {len(description)} characters; {VENDOR} takes {low} to {high}", field="prompt"
        )
    report = _report(request, model_name)
    out = _output(report, request, DESIGN_OUTPUT_FORMATS)
    kwargs: dict[str, Any] = {"voice_description": description, "model_id": model_name}
    text = _extra_text(request, "preview_text")
    if text is not None:
        tlow, thigh = DESIGN_TEXT_CHARS
        if not tlow <= len(text) <= thigh:
            raise InvalidRequest(f"{len(text)} characters; it must have {tlow} to {thigh}", field="extra.preview_text")
        kwargs["text"] = text
        report.apply("extra.preview_text")
    else:
        kwargs["auto_generate_text"] = True
    for name, bounds in (("loudness", LOUDNESS_RANGE), ("guidance_scale", GUIDANCE_SCALE_RANGE)):
        value = _extra_number(request, name, bounds)
        if value is not None:
            kwargs[name] = value
            report.apply(f"extra.{name}")
    seed = _seed(report, request)
    if seed is not None:
        kwargs["seed"] = seed
    save = _extra_bool(request, "save_voice")
    save_as: str | None = None
    if save is not None:
        report.apply("extra.save_voice")
    if save:
        save_as = _voice_name(report, request, "mediagen " + " ".join(description.split()[:4]))
    else:
        report.ignore("voice", "voice design makes a new voice rather than speaking with one")
        report.ignore("extra.voice_name", "names the saved voice only with extra.save_voice")
    return DesignPlan(model_name, out, kwargs, save_as, report.finish(strict=strict))


@attrs.frozen
class ClonePlan:
    """voices.ivc.create from the samples, speech of the prompt in the new voice, then the voice deleted (unless
    `keep_voice`)."""

    name: str
    samples: tuple[InputAudio, ...]
    keep_voice: bool
    create_kwargs: Mapping[str, Any]
    speech: SpeechPlan


def map_voice_clone(
    request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False
) -> ClonePlan:
    _check_model(request, model, model_name)
    _check_prompt(request, model, model_name)
    samples = request.input_audio
    if not samples:
        raise InvalidRequest("voice_clone needs at least one sample of the voice", field="input_audio")
    if len(samples) > MAX_CLONE_SAMPLES:
        raise InvalidRequest(f"{len(samples)} samples; {VENDOR} takes at most {MAX_CLONE_SAMPLES}", field="input_audio")
    for sample in samples:
        if not sample.mime_type.startswith("audio/"):
            raise InvalidRequest(f"{str(sample.path)!r} is {sample.mime_type}, not audio", field="input_audio")
    report = _report(request, model_name)
    out = _output(report, request, SPEECH_OUTPUT_FORMATS)
    report.apply("input_audio", len(samples))
    kwargs = _speech_kwargs(report, request, model_name)
    keep = _extra_bool(request, "keep_voice")
    if keep is not None:
        report.apply("extra.keep_voice")
    create: dict[str, Any] = {}
    denoise = _extra_bool(request, "remove_background_noise")
    if denoise is not None:
        create["remove_background_noise"] = denoise
        report.apply("extra.remove_background_noise")
    name = _voice_name(report, request, "mediagen clone")
    parameters = report.finish(strict=strict)
    speech = SpeechPlan(None, model_name, out, kwargs, parameters)
    return ClonePlan(name, samples, bool(keep), create, speech)


# --- dubbing --------------------------------------------------------------------------------------------------------


@attrs.frozen
class DubbingPlan:
    model: str
    source: InputAudio
    target_language: str
    kwargs: Mapping[str, Any]
    parameters: ParameterReport


def target_language(request: MediaRequest) -> str:
    """The language to dub into: `language`, or `extra.target_language`; one is required, both must agree."""
    given = request.language.strip() if request.language is not None else None
    extra = _extra_text(request, "target_language")
    if given and extra and given.lower() != extra.lower():
        raise InvalidRequest(f"says {extra!r} but language says {given!r}; give one", field="extra.target_language")
    chosen = given or extra
    if not chosen:
        raise InvalidRequest("dubbing needs the target language, e.g. es or de", field="language")
    if not _LANGUAGE.match(chosen):
        field = "language" if given else "extra.target_language"
        raise InvalidRequest(f"{chosen!r} is not a language code such as es or de", field=field)
    return chosen.lower()


def map_dubbing(
    request: MediaRequest, model_name: str, model: ModelSpec | None, *, strict: bool = False
) -> DubbingPlan:
    kind = _check_model(request, model, model_name)
    target = target_language(request)
    source = _one_input(request, kind, video=True)
    report = _report(request, model_name)
    report.apply("input_audio")
    report.apply("language", target)
    report.apply("extra.target_language", target)
    kwargs: dict[str, Any] = {"target_lang": target}
    source_language = _extra_text(request, "source_language")
    if source_language is not None:
        if not _LANGUAGE.match(source_language) and source_language.lower() != "auto":
            raise InvalidRequest(f"{source_language!r} is not a language code", field="extra.source_language")
        kwargs["source_lang"] = source_language.lower()
        report.apply("extra.source_language")
    speakers = request.extra.get("num_speakers")
    if speakers is not None:
        if isinstance(speakers, bool) or not isinstance(speakers, int) or not 0 <= speakers <= 32:
            raise InvalidRequest(f"{speakers!r} is not a whole number 0..32 (0: detect)", field="extra.num_speakers")
        kwargs["num_speakers"] = speakers
        report.apply("extra.num_speakers")
    for flag in ("drop_background_audio", "highest_resolution", "watermark"):
        value = _extra_bool(request, flag)
        if value is not None:
            kwargs[flag] = value
            report.apply(f"extra.{flag}")
    if request.prompt.strip():
        kwargs["name"] = request.prompt.strip()[:200]
    if request.audio_format is not None:
        report.ignore("audio_format", "a dub comes in the input's own kind (MP3 for audio, MP4 for video)")
    return DubbingPlan(model_name, source, target, kwargs, report.finish(strict=strict))
