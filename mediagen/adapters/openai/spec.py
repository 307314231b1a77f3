"""OpenAI's facts in one place: key env vars, models, which API each uses, capabilities and constraints.

Checked against openai 3.57.0 (types/image_model.py, responses/tool_param.py, video_*.py, audio/speech_*.py).
"""

from __future__ import annotations

import datetime
import enum
from typing import Final

import attrs

from mediagen.domain.backend import BackendSpec, Constraints, ModelSpec
from mediagen.domain.media import Capability, MediaType

#: Prefix of custom voice ids (voices made from your own samples), sent as {"id": ...}.
CUSTOM_VOICE_PREFIX: Final = "voice_"

#: Where the SDK goes when no base_url is configured (passed explicitly, so the SDK never reads env vars for it).
API_BASE_URL: Final = "https://api.openai.com/v1"


class Api(enum.Enum):
    """Which OpenAI API serves a model."""

    RESPONSES = "responses (image_generation tool)"
    IMAGES = "images (generate / edit)"
    VIDEOS = "videos (Sora)"
    SPEECH = "audio.speech"


#: The sizes every GPT image model takes (flexible-size models take more; mediagen sends these).
IMAGE_SIZES: Final = ("1024x1024", "1536x1024", "1024x1536")
IMAGE_QUALITIES: Final = ("low", "medium", "high", "auto")
IMAGE_FORMATS: Final = ("png", "jpeg", "webp")
BACKGROUNDS: Final = ("transparent", "opaque", "auto")
#: Formats that can carry a transparent background.
ALPHA_FORMATS: Final = ("png", "webp")
MAX_IMAGE_PROMPT_CHARS: Final = 32_000
MAX_EDIT_IMAGES: Final = 16
#: The Images API's `n` (images.generate and images.edit): 1 to 10 per call, as OpenAI's OpenAPI document has it
#: (CreateImageRequest, CreateImageEditRequest). The Responses image tool takes no `n`: one image per turn.
IMAGES_PER_CALL: Final = 10
#: Image models the Responses image_generation tool takes as `model` (extra.image_model); its default is the API's.
TOOL_IMAGE_MODELS: Final = (
    "gpt-image-2.6-sunburst",
    "gpt-image-2.6-flare",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-flare",
    "gpt-image-2",
    "gpt-image-1.5",
    "gpt-image-1-mini",
    "chatgpt-image-latest",
)
#: Name prefixes of models served by the Images API (so a model the spec does not list still routes right).
IMAGES_API_PREFIXES: Final = ("gpt-image-", "chatgpt-image-", "dall-e-")

SORA_SIZES: Final = ("720x1280", "1280x720")
SORA_PRO_SIZES: Final = ("720x1280", "1280x720", "1024x1792", "1792x1024")
#: Clip lengths Sora takes; the API wants them as the strings "4", "8", "12".
SORA_SECONDS: Final = (4.0, 8.0, 12.0)
#: The day OpenAI announced the Sora API (/v1/videos) shuts down for good; openai 3.57.0 marks every
#: `client.videos` method deprecated with it. After it, creating a video is expected to answer 404 (or 410).
SORA_SHUTDOWN: Final = datetime.date(2026, 9, 24)

SPEECH_VOICES: Final = (
    "alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin", "cedar",
)  # fmt: skip
#: tts-1 and tts-1-hd know fewer voices.
LEGACY_SPEECH_VOICES: Final = ("alloy", "ash", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer")
DEFAULT_VOICE: Final = "coral"
SPEECH_FORMATS: Final = ("mp3", "opus", "aac", "flac", "wav", "pcm")
DEFAULT_SPEECH_FORMAT: Final = "mp3"
#: What each speech format's bytes are. pcm is 24 kHz, 16-bit signed little-endian, mono, with no header.
SPEECH_MIME: Final = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
#: The layout of pcm speech.
PCM_LAYOUT: Final = {"sample_rate": 24000, "channels": 1, "sample_format": "s16le"}
#: Other names for a speech format (OpenAI's opus output is Ogg Opus).
SPEECH_FORMAT_ALIASES: Final = {"ogg": "opus"}
SPEED_RANGE: Final = (0.25, 4.0)
MAX_SPEECH_CHARS: Final = 4096
#: Speech models (and their snapshots, by prefix) that take no `instructions` and know only LEGACY_SPEECH_VOICES.
LEGACY_SPEECH_PREFIX: Final = "tts-1"

_RESPONSES_CAPS: Final = frozenset(
    {Capability.TEXT_TO_IMAGE, Capability.IMAGE_EDIT, Capability.MULTI_IMAGE_INPUT, Capability.CONTINUATION}
)
_IMAGES_API_CAPS: Final = frozenset(
    {Capability.TEXT_TO_IMAGE, Capability.IMAGE_EDIT, Capability.MULTI_IMAGE_INPUT, Capability.MASK}
)
_SORA_CAPS: Final = frozenset(
    {Capability.TEXT_TO_VIDEO, Capability.IMAGE_TO_VIDEO, Capability.VIDEO_REMIX, Capability.CONTINUATION}
)
_IMAGE_CONSTRAINTS: Final = Constraints(
    sizes=IMAGE_SIZES,
    qualities=IMAGE_QUALITIES,
    output_formats=IMAGE_FORMATS,
    max_input_images=MAX_EDIT_IMAGES,
    max_prompt_chars=MAX_IMAGE_PROMPT_CHARS,
)
_IMAGES_API_CONSTRAINTS: Final = attrs.evolve(_IMAGE_CONSTRAINTS, images_per_call=IMAGES_PER_CALL)

SPEC = BackendSpec(
    name="openai",
    display_name="OpenAI (GPT Image, Sora, TTS)",
    env_vars=("OPENAI_API_KEY",),
    base_url_env_vars=("OPENAI_BASE_URL",),
    extra_env_vars={"organization": "OPENAI_ORG_ID", "project": "OPENAI_PROJECT_ID"},
    docs_url="https://platform.openai.com/docs",
    models=(
        ModelSpec(
            "gpt-5.4",
            MediaType.IMAGE,
            _RESPONSES_CAPS,
            _IMAGE_CONSTRAINTS,
            "Responses API with the image_generation tool: generate and edit, continue over several turns",
        ),
        ModelSpec(
            "gpt-5.4-mini",
            MediaType.IMAGE,
            _RESPONSES_CAPS,
            _IMAGE_CONSTRAINTS,
            "Responses API image tool driven by the smaller model: cheaper turns",
        ),
        ModelSpec(
            "gpt-image-1.5",
            MediaType.IMAGE,
            _IMAGES_API_CAPS,
            _IMAGES_API_CONSTRAINTS,
            "Images API: generate, edit one or more images, inpaint with a mask",
        ),
        ModelSpec(
            "gpt-image-1-mini",
            MediaType.IMAGE,
            _IMAGES_API_CAPS,
            _IMAGES_API_CONSTRAINTS,
            "Images API, smaller and cheaper GPT image model",
        ),
        ModelSpec(
            "sora-2",
            MediaType.VIDEO,
            _SORA_CAPS,
            Constraints(sizes=SORA_SIZES, durations=SORA_SECONDS, output_formats=("mp4",)),
            f"Sora 2: text or image to video with sound, remix (OpenAI announced the Sora API's shutdown for "
            f"{SORA_SHUTDOWN.isoformat()})",
            retired_on=SORA_SHUTDOWN,
        ),
        ModelSpec(
            "sora-2-pro",
            MediaType.VIDEO,
            _SORA_CAPS,
            Constraints(sizes=SORA_PRO_SIZES, durations=SORA_SECONDS, output_formats=("mp4",)),
            "Sora 2 Pro: higher fidelity and the taller/wider 1024x1792 and 1792x1024 sizes (the same Sora API, "
            f"announced to shut down on {SORA_SHUTDOWN.isoformat()})",
            retired_on=SORA_SHUTDOWN,
        ),
        ModelSpec(
            "gpt-4o-mini-tts",
            MediaType.AUDIO,
            frozenset({Capability.SPEECH}),
            Constraints(
                voices=SPEECH_VOICES,
                voice_id_prefixes=(CUSTOM_VOICE_PREFIX,),
                audio_formats=SPEECH_FORMATS,
                max_prompt_chars=MAX_SPEECH_CHARS,
            ),
            "Speech with steerable delivery (instructions) and 13 voices",
        ),
        ModelSpec(
            "tts-1",
            MediaType.AUDIO,
            frozenset({Capability.SPEECH}),
            Constraints(voices=LEGACY_SPEECH_VOICES, audio_formats=SPEECH_FORMATS, max_prompt_chars=MAX_SPEECH_CHARS),
            "Low-latency speech; no instructions",
        ),
        ModelSpec(
            "tts-1-hd",
            MediaType.AUDIO,
            frozenset({Capability.SPEECH}),
            Constraints(voices=LEGACY_SPEECH_VOICES, audio_formats=SPEECH_FORMATS, max_prompt_chars=MAX_SPEECH_CHARS),
            "Higher-quality speech; no instructions",
        ),
    ),
    default_models={
        MediaType.IMAGE: "gpt-5.4",
        MediaType.VIDEO: "sora-2",
        MediaType.AUDIO: "gpt-4o-mini-tts",
    },
)


def api_for(media_type: MediaType, model: str) -> Api:
    """The API a model is served by; models the spec does not list route by their name."""
    if media_type is MediaType.VIDEO:
        return Api.VIDEOS
    if media_type is MediaType.AUDIO:
        return Api.SPEECH
    return Api.IMAGES if model.startswith(IMAGES_API_PREFIXES) else Api.RESPONSES


def is_legacy_speech(model: str) -> bool:
    """tts-1 and tts-1-hd: no `instructions`, fewer voices. Newer speech models take both."""
    return model.startswith(LEGACY_SPEECH_PREFIX)
