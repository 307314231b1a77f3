"""ElevenLabs' facts in one place: key env var, models per audio kind, output formats and value ranges.

Checked against elevenlabs 2.78.0 (text_to_speech/types/*output_format.py, music/types, text_to_sound_effects/types,
text_to_voice/types/voice_design_request_model_model_id.py, types/voice_settings.py and the methods' docstrings).
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

from mediagen.domain.backend import BackendSpec, Constraints, ModelSpec
from mediagen.domain.media import AudioKind, Capability, MediaType

#: Where the SDK goes when no base_url is configured (passed explicitly; the SDK adds the /v1 of each route).
API_BASE_URL: Final = "https://api.elevenlabs.io"
BACKEND: Final = "elevenlabs"


@attrs.frozen
class OutputFormat:
    """One `output_format` value as the API names it: codec_samplerate[_bitrate]."""

    name: str
    codec: str
    sample_rate: int
    bitrate: int | None = None

    @classmethod
    def parse(cls, name: str) -> OutputFormat:
        codec, rate, *rest = name.split("_")
        return cls(name, codec, int(rate), int(rest[0]) if rest else None)


#: Every output format of text to speech, sound effects and the voice changer (elevenlabs 2.78.0).
SPEECH_OUTPUT_FORMATS: Final = (
    "mp3_22050_32", "mp3_24000_48", "mp3_44100_32", "mp3_44100_64", "mp3_44100_96", "mp3_44100_128",
    "mp3_44100_192", "opus_48000_32", "opus_48000_64", "opus_48000_96", "opus_48000_128", "opus_48000_192",
    "pcm_8000", "pcm_16000", "pcm_22050", "pcm_24000", "pcm_32000", "pcm_44100", "pcm_48000",
    "wav_8000", "wav_16000", "wav_22050", "wav_24000", "wav_32000", "wav_44100", "wav_48000",
    "ulaw_8000", "alaw_8000",
)  # fmt: skip
#: Music has no WAV output but more MP3 rates (MusicComposeRequestOutputFormat; "auto" is left to the API's choice).
MUSIC_OUTPUT_FORMATS: Final = (
    "mp3_22050_32", "mp3_24000_48", "mp3_44100_32", "mp3_44100_64", "mp3_44100_96", "mp3_44100_128",
    "mp3_44100_192", "mp3_48000_128", "mp3_48000_192", "mp3_48000_240", "mp3_48000_320",
    "opus_48000_32", "opus_48000_64", "opus_48000_96", "opus_48000_128", "opus_48000_192",
    "pcm_8000", "pcm_16000", "pcm_22050", "pcm_24000", "pcm_32000", "pcm_44100", "pcm_48000",
    "ulaw_8000", "alaw_8000",
)  # fmt: skip
#: Voice design previews (AllowedOutputFormats) come in the speech formats.
DESIGN_OUTPUT_FORMATS: Final = SPEECH_OUTPUT_FORMATS

#: What a bare codec name (`--format mp3`) means: a format every subscription tier may use (44.1 kHz PCM/WAV and
#: 192 kbps MP3 need higher tiers), in the order tried.
CODEC_DEFAULTS: Final = {
    "mp3": ("mp3_44100_128",),
    "wav": ("wav_24000",),
    "pcm": ("pcm_24000",),
    "opus": ("opus_48000_128",),
    "ulaw": ("ulaw_8000",),
    "alaw": ("alaw_8000",),
}
#: Other names for a codec.
CODEC_ALIASES: Final = {"ogg": "opus", "mulaw": "ulaw", "mu_law": "ulaw", "a_law": "alaw", "mpeg": "mp3"}
DEFAULT_OUTPUT_FORMAT: Final = "mp3_44100_128"
#: The file each codec's bytes make. ulaw/alaw are headerless G.711 samples: written as raw PCM (.pcm) with the
#: encoding in the metadata.
CODEC_MIME: Final = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "opus": "audio/opus",
    "ulaw": "audio/pcm",
    "alaw": "audio/pcm",
}
#: How the headerless codecs' samples are laid out (all mono).
RAW_ENCODINGS: Final = {"pcm": "s16le", "ulaw": "mu-law", "alaw": "a-law"}

#: voice_settings ranges (VoiceSettings docs; speed as the API documents it).
VOICE_SETTING_RANGES: Final = {
    "stability": (0.0, 1.0),
    "similarity_boost": (0.0, 1.0),
    "style": (0.0, 1.0),
    "speed": (0.7, 1.2),
}
SEED_RANGE: Final = (0, 4_294_967_295)
#: Music length in seconds (music_length_ms 3000..600000).
MUSIC_SECONDS: Final = (3.0, 600.0)
#: Sound effect length in seconds (duration_seconds 0.5..30) and prompt influence (0..1).
EFFECT_SECONDS: Final = (0.5, 30.0)
PROMPT_INFLUENCE_RANGE: Final = (0.0, 1.0)
#: Voice design: the description's length, and the loudness / guidance ranges.
DESIGN_DESCRIPTION_CHARS: Final = (20, 1000)
DESIGN_TEXT_CHARS: Final = (100, 1000)
LOUDNESS_RANGE: Final = (-1.0, 1.0)
GUIDANCE_SCALE_RANGE: Final = (0.0, 100.0)
#: Input files mediagen uploads, by default (`extra.max_upload_bytes`, `extra.max_dubbing_upload_bytes`): a guard
#: against sending the wrong file, not the API's own limit (which depends on the plan). Dubbing takes whole videos.
MAX_INPUT_AUDIO_BYTES: Final = 500 * 1024 * 1024
MAX_DUBBING_INPUT_BYTES: Final = 2 * 1024 * 1024 * 1024
MAX_CLONE_SAMPLES: Final = 25
#: A premade voice every account has (George); used when a speech request names none.
DEFAULT_VOICE_ID: Final = "JBFqnCBsd6RMkjVDRZzb"
#: The premade voices' names (current and legacy defaults; George, the default, first). Auto-selection sends a
#: voice to ElevenLabs when it is one of these or a voice id; a voice of the account's own, by name, needs
#: --backend elevenlabs (or its id), so another vendor's voice name (alloy, Kore) goes to that vendor.
PREMADE_VOICES: Final = (
    "George", "Aria", "Roger", "Sarah", "Laura", "Charlie", "Callum", "River", "Liam", "Charlotte", "Alice",
    "Matilda", "Will", "Jessica", "Eric", "Chris", "Brian", "Daniel", "Lily", "Bill", "Rachel", "Adam", "Antoni",
    "Domi", "Elli", "Josh", "Arnold", "Sam",
)  # fmt: skip
#: What every ElevenLabs voice id looks like: 20 letters and digits.
VOICE_ID_PATTERN: Final = "[A-Za-z0-9]{20}"


class Area(enum.Enum):
    """Which ElevenLabs API area serves an audio kind."""

    SPEECH = "text-to-speech"
    MUSIC = "music"
    SOUND_EFFECT = "sound-generation"
    VOICE_CONVERSION = "voice-changer"
    AUDIO_ISOLATION = "audio-isolation"
    VOICE_DESIGN = "text-to-voice"
    VOICE_CLONE = "voices/add + text-to-speech"
    DUBBING = "dubbing"


AREA_OF_KIND: Final = {
    AudioKind.SPEECH: Area.SPEECH,
    AudioKind.MUSIC: Area.MUSIC,
    AudioKind.SOUND_EFFECT: Area.SOUND_EFFECT,
    AudioKind.VOICE_CONVERSION: Area.VOICE_CONVERSION,
    AudioKind.AUDIO_ISOLATION: Area.AUDIO_ISOLATION,
    AudioKind.VOICE_DESIGN: Area.VOICE_DESIGN,
    AudioKind.VOICE_CLONE: Area.VOICE_CLONE,
    AudioKind.DUBBING: Area.DUBBING,
}

_SPEECH_CAPS: Final = frozenset({Capability.SPEECH, Capability.VOICE_CLONE, Capability.SEED})


def _speech(name: str, max_chars: int, about: str) -> ModelSpec:
    return ModelSpec(
        name,
        MediaType.AUDIO,
        _SPEECH_CAPS,
        Constraints(
            audio_formats=SPEECH_OUTPUT_FORMATS,
            max_prompt_chars=max_chars,
            voices=PREMADE_VOICES,
            voice_id_pattern=VOICE_ID_PATTERN,
        ),
        about,
    )


SPEC = BackendSpec(
    name=BACKEND,
    display_name="ElevenLabs (speech, music, sound effects, voices, dubbing)",
    env_vars=("ELEVENLABS_API_KEY",),
    docs_url="https://elevenlabs.io/docs/api-reference",
    models=(
        _speech(
            "eleven_multilingual_v2",
            10_000,
            "Speech in 29 languages, the most stable long-form voice; also speaks a cloned voice",
        ),
        _speech("eleven_v3", 5_000, "The most expressive speech model (70+ languages, audio tags)"),
        _speech("eleven_flash_v2_5", 40_000, "Fast, low-latency speech in 32 languages, half the price"),
        _speech("eleven_turbo_v2_5", 40_000, "Speech balancing quality and latency in 32 languages"),
        ModelSpec(
            "music_v1",
            MediaType.AUDIO,
            frozenset({Capability.MUSIC, Capability.SEED}),
            Constraints(audio_formats=MUSIC_OUTPUT_FORMATS, durations=MUSIC_SECONDS),
            "Songs and instrumentals from a prompt, 3 s to 10 min (`extra.instrumental` forces no vocals)",
        ),
        ModelSpec(
            "eleven_text_to_sound_v2",
            MediaType.AUDIO,
            frozenset({Capability.SOUND_EFFECT}),
            Constraints(audio_formats=SPEECH_OUTPUT_FORMATS, durations=EFFECT_SECONDS),
            "Sound effects 0.5 to 30 s (`extra.prompt_influence`, `extra.loop`)",
        ),
        ModelSpec(
            "eleven_multilingual_sts_v2",
            MediaType.AUDIO,
            frozenset({Capability.VOICE_CONVERSION, Capability.SEED}),
            Constraints(audio_formats=SPEECH_OUTPUT_FORMATS, voices=PREMADE_VOICES, voice_id_pattern=VOICE_ID_PATTERN),
            "Voice changer: the input audio spoken again in another voice, in 29 languages",
        ),
        ModelSpec(
            "eleven_english_sts_v2",
            MediaType.AUDIO,
            frozenset({Capability.VOICE_CONVERSION, Capability.SEED}),
            Constraints(audio_formats=SPEECH_OUTPUT_FORMATS, voices=PREMADE_VOICES, voice_id_pattern=VOICE_ID_PATTERN),
            "Voice changer for English",
        ),
        ModelSpec(
            "audio_isolation",
            MediaType.AUDIO,
            frozenset({Capability.AUDIO_ISOLATION}),
            Constraints(audio_formats=("mp3",)),
            "Voice isolation: background noise removed from the input audio (the API takes no model id; MP3 out)",
        ),
        ModelSpec(
            "eleven_ttv_v3",
            MediaType.AUDIO,
            frozenset({Capability.VOICE_DESIGN, Capability.SEED}),
            Constraints(audio_formats=DESIGN_OUTPUT_FORMATS, max_prompt_chars=DESIGN_DESCRIPTION_CHARS[1]),
            "Voice design: a voice from a description; the file is the first preview (`extra.save_voice` keeps it)",
        ),
        ModelSpec(
            "eleven_multilingual_ttv_v2",
            MediaType.AUDIO,
            frozenset({Capability.VOICE_DESIGN, Capability.SEED}),
            Constraints(audio_formats=DESIGN_OUTPUT_FORMATS, max_prompt_chars=DESIGN_DESCRIPTION_CHARS[1]),
            "Voice design with the earlier multilingual model",
        ),
        ModelSpec(
            "dubbing",
            MediaType.AUDIO,
            frozenset({Capability.DUBBING}),
            Constraints(),
            "Dubbing: the input audio or video in the target language (`language`); a job, resumable by id "
            "(the API takes no model id; the result is the input's kind, MP3 or MP4)",
        ),
    ),
    default_models={MediaType.AUDIO: "eleven_multilingual_v2"},
)


def area_of(kind: AudioKind) -> Area:
    return AREA_OF_KIND[kind]
