"""What the ElevenLabs API accepts: output formats per endpoint, models, ranges, premade voices, dubbing languages
(from the elevenlabs 2.78.0 SDK's request types and docstrings)."""

from __future__ import annotations

import re
from typing import Final

import attrs

from mediagen.sandbox.media import AudioFormat

_MP3: Final = ("mp3_22050_32", "mp3_24000_48", "mp3_44100_32", "mp3_44100_64", "mp3_44100_96", "mp3_44100_128")
_MP3_HIGH: Final = ("mp3_44100_192",)
_PCM: Final = ("pcm_8000", "pcm_16000", "pcm_22050", "pcm_24000", "pcm_32000", "pcm_44100", "pcm_48000")
_G711: Final = ("ulaw_8000", "alaw_8000")
_OPUS: Final = ("opus_48000_32", "opus_48000_64", "opus_48000_96", "opus_48000_128", "opus_48000_192")
_WAV: Final = ("wav_8000", "wav_16000", "wav_22050", "wav_24000", "wav_32000", "wav_44100", "wav_48000")
_MUSIC_MP3: Final = ("mp3_48000_128", "mp3_48000_192", "mp3_48000_240", "mp3_48000_320")

#: AllowedOutputFormats: the streaming endpoints (/stream) and text-to-voice previews. WAV is not streamable.
STREAM_FORMATS: Final = (*_MP3, *_MP3_HIGH, *_PCM, *_G711, *_OPUS)
#: TextToSpeechConvertRequestOutputFormat, also sound generation and the voice changer: the stream formats and WAV.
CONVERT_FORMATS: Final = (*STREAM_FORMATS, *_WAV)
#: MusicComposeRequestOutputFormat: no WAV, four 48 kHz MP3s, and "auto".
MUSIC_FORMATS: Final = ("auto", *_MUSIC_MP3, *STREAM_FORMATS)
DEFAULT_FORMAT: Final = "mp3_44100_128"
#: What "auto" picks for music: mp3_44100_128 for v1 models, mp3_48000_192 for v2 ones (the SDK's docstring).
MUSIC_AUTO: Final = {"music_v1": "mp3_44100_128", "music_v2": "mp3_48000_192", "music_v2_5": "mp3_48000_192"}
#: Audio isolation takes no output_format; it answers MP3 at 44.1 kHz, 128 kbit/s.
ISOLATION_FORMAT: Final = "mp3_44100_128"

_FORMAT = re.compile(r"(?P<codec>mp3|pcm|wav|ulaw|alaw|opus)_(?P<rate>\d+)(?:_(?P<kbps>\d+))?")


def audio_format(name: str) -> AudioFormat:
    """The encoding an output_format names: `mp3_44100_128` is MP3 at 44.1 kHz and 128 kbit/s."""
    found = _FORMAT.fullmatch(name)
    if found is None:
        raise ValueError(f"{name!r} is not an output format")
    kbps = found["kbps"]
    return AudioFormat(found["codec"], int(found["rate"]), None if kbps is None else int(kbps) * 1000)


@attrs.frozen
class Model:
    """A model as GET /v1/models lists it."""

    model_id: str
    name: str
    text_to_speech: bool
    voice_conversion: bool
    max_characters: int
    languages: tuple[tuple[str, str], ...] = (("en", "English"),)
    can_use_style: bool = True
    language_code: bool = True  # whether `language_code` may be sent with it

    def to_json(self) -> dict[str, object]:
        """The Model object: only fields the SDK's Model type has."""
        return {
            "model_id": self.model_id,
            "name": self.name,
            "can_be_finetuned": self.text_to_speech,
            "can_do_text_to_speech": self.text_to_speech,
            "can_do_voice_conversion": self.voice_conversion,
            "can_use_style": self.can_use_style,
            "can_use_speaker_boost": True,
            "serves_pro_voices": False,
            "token_cost_factor": 1.0,
            "description": f"{self.name} (sandbox)",
            "requires_alpha_access": False,
            "max_characters_request_free_user": min(2_500, self.max_characters),
            "max_characters_request_subscribed_user": self.max_characters,
            "maximum_text_length_per_request": self.max_characters,
            "languages": [{"language_id": code, "name": name} for code, name in self.languages],
            "model_rates": {"character_cost_multiplier": 1.0},
            "concurrency_group": "standard",
        }


_MANY: Final = (
    ("en", "English"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("de", "German"),
    ("it", "Italian"),
    ("pt", "Portuguese"),
    ("pl", "Polish"),
    ("hi", "Hindi"),
    ("ja", "Japanese"),
    ("zh", "Chinese"),
    ("ko", "Korean"),
    ("nl", "Dutch"),
)

#: Character limits per request from ElevenLabs' help centre (v3: 5,000; v2: 10,000; flash/turbo v2.5: 40,000; v2
#: flash/turbo: 30,000). `language_code` is refused with multilingual v2 (the SDK's docstring: "not supported").
MODELS: Final[dict[str, Model]] = {
    m.model_id: m
    for m in (
        Model("eleven_v3", "Eleven v3", True, False, 5_000, _MANY),
        Model("eleven_multilingual_v2", "Eleven Multilingual v2", True, False, 10_000, _MANY, language_code=False),
        Model("eleven_flash_v2_5", "Eleven Flash v2.5", True, False, 40_000, _MANY, can_use_style=False),
        Model("eleven_turbo_v2_5", "Eleven Turbo v2.5", True, False, 40_000, _MANY, can_use_style=False),
        Model("eleven_flash_v2", "Eleven Flash v2", True, False, 30_000, can_use_style=False),
        Model("eleven_turbo_v2", "Eleven Turbo v2", True, False, 30_000, can_use_style=False),
        Model("eleven_monolingual_v1", "Eleven English v1", True, False, 10_000),
        Model("eleven_multilingual_v1", "Eleven Multilingual v1", True, False, 10_000, _MANY),
        Model("eleven_english_sts_v2", "Eleven English v2 (speech to speech)", False, True, 10_000),
        Model("eleven_multilingual_sts_v2", "Eleven Multilingual v2 (speech to speech)", False, True, 10_000, _MANY),
    )
}
DEFAULT_TTS_MODEL: Final = "eleven_multilingual_v2"
DEFAULT_STS_MODEL: Final = "eleven_english_sts_v2"
MUSIC_MODELS: Final = ("music_v1", "music_v2", "music_v2_5")
DEFAULT_MUSIC_MODEL: Final = "music_v1"
SFX_MODELS: Final = ("eleven_text_to_sound_v2", "eleven_text_to_sound_v3")
VOICE_DESIGN_MODELS: Final = ("eleven_multilingual_ttv_v2", "eleven_ttv_v3")
FILE_FORMATS: Final = ("pcm_s16le_16", "other")
TEXT_NORMALIZATION: Final = ("auto", "on", "off")

# Ranges the SDK's docstrings give.
SEED_MAX: Final = 4_294_967_295
MIN_SPEED: Final = 0.7  # voice_settings.speed, ElevenLabs' documented range 0.7-1.2
MAX_SPEED: Final = 1.2
MUSIC_MIN_MS: Final = 3_000
MUSIC_MAX_MS: Final = 600_000
MUSIC_DEFAULT_MS: Final = 30_000  # "the model will choose a length based on the prompt"
SECTION_MIN_MS: Final = 3_000
SECTION_MAX_MS: Final = 120_000
SFX_MIN_SECONDS: Final = 0.5
SFX_MAX_SECONDS: Final = 30.0
MAX_LOCATORS: Final = 3
MAX_REQUEST_IDS: Final = 3
DESIGN_TEXT_MIN: Final = 100
DESIGN_TEXT_MAX: Final = 1_000
DESCRIPTION_MIN: Final = 20
DESCRIPTION_MAX: Final = 1_000
PREVIEWS_PER_DESIGN: Final = 3
MAX_CLONE_FILES: Final = 25
MAX_UPLOAD_BYTES: Final = 100 * 1024 * 1024
SPEECH_CHARS_PER_SECOND: Final = 15.0
MAX_SPEECH_SECONDS: Final = 600.0

#: Dubbing's target languages (ISO 639-1 codes; 639-3 codes are accepted too: the three-letter forms below).
DUBBING_LANGUAGES: Final = {
    "en": "eng", "hi": "hin", "pt": "por", "zh": "zho", "es": "spa", "fr": "fra", "de": "deu", "ja": "jpn",
    "ar": "ara", "ru": "rus", "ko": "kor", "id": "ind", "it": "ita", "nl": "nld", "tr": "tur", "pl": "pol",
    "sv": "swe", "fil": "fil", "ms": "msa", "ro": "ron", "uk": "ukr", "el": "ell", "cs": "ces", "da": "dan",
    "fi": "fin", "bg": "bul", "hr": "hrv", "sk": "slk", "ta": "tam", "vi": "vie", "no": "nor", "hu": "hun",
}  # fmt: skip


def dubbing_language(code: str) -> str | None:
    """The ISO 639-1 code a dubbing language code names (639-1 or 639-3), or None when it is not one."""
    if code in DUBBING_LANGUAGES:
        return code
    return next((short for short, long in DUBBING_LANGUAGES.items() if long == code), None)


@attrs.frozen
class PremadeVoice:
    voice_id: str
    name: str
    gender: str
    age: str
    accent: str
    description: str
    use_case: str


#: The default voices every account has, with their real ids.
PREMADE_VOICES: Final = (
    PremadeVoice("21m00Tcm4TlvDq8ikWAM", "Rachel", "female", "young", "american", "calm", "narration"),
    PremadeVoice("pNInz6obpgDQGcFmaJgB", "Adam", "male", "middle aged", "american", "deep", "narration"),
    PremadeVoice("EXAVITQu4vr4xnSDxMaL", "Sarah", "female", "young", "american", "soft", "news"),
    PremadeVoice("ErXwobaYiN019PkySvjV", "Antoni", "male", "young", "american", "well-rounded", "narration"),
    PremadeVoice("AZnzlk1XvdvUeBnXmlld", "Domi", "female", "young", "american", "strong", "narration"),
    PremadeVoice("MF3mGyEYCl7XYWbV9V6O", "Elli", "female", "young", "american", "emotional", "narration"),
    PremadeVoice("TxGEqnHWrfWFTfGW9XjX", "Josh", "male", "young", "american", "deep", "narration"),
    PremadeVoice("VR6AewLTigWG4xSOukaG", "Arnold", "male", "middle aged", "american", "crisp", "narration"),
    PremadeVoice("yoZ06aMxZJJ28mfd3POQ", "Sam", "male", "young", "american", "raspy", "narration"),
    PremadeVoice("JBFqnCBsd6RMkjVDRZzb", "George", "male", "middle aged", "british", "warm", "narration"),
    PremadeVoice("XB0fDUnXU5powFXDhCwa", "Charlotte", "female", "young", "swedish", "seductive", "characters"),
    PremadeVoice("nPczCjzI2devNBz1zQrb", "Brian", "male", "middle aged", "american", "deep", "narration"),
    PremadeVoice("pFZP5JQG7iQjIQuC4Bku", "Lily", "female", "middle aged", "british", "warm", "narration"),
    PremadeVoice("onwK4e9ZLuTAKqWW03F9", "Daniel", "male", "middle aged", "british", "deep", "news"),
    PremadeVoice("Xb7hH8MSUJpSbSDYk0k2", "Alice", "female", "middle aged", "british", "confident", "news"),
)
#: Stored settings every voice starts with (GET /v1/voices/{id}?with_settings=true).
DEFAULT_VOICE_SETTINGS: Final = {
    "stability": 0.5,
    "use_speaker_boost": True,
    "similarity_boost": 0.75,
    "style": 0.0,
    "speed": 1.0,
}
