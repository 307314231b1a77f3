"""The kinds of media, audio operations and capabilities a backend can declare."""

from __future__ import annotations

import enum


class MediaType(str, enum.Enum):
    """What a request produces."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"

    def __str__(self) -> str:
        return self.value


class AudioKind(str, enum.Enum):
    """The audio operation an audio request asks for."""

    SPEECH = "speech"
    MUSIC = "music"
    SOUND_EFFECT = "sound_effect"
    VOICE_CONVERSION = "voice_conversion"
    AUDIO_ISOLATION = "audio_isolation"
    VOICE_DESIGN = "voice_design"
    VOICE_CLONE = "voice_clone"
    DUBBING = "dubbing"

    def __str__(self) -> str:
        return self.value

    @property
    def needs_prompt(self) -> bool:
        """Kinds that transform input audio work without any text."""
        return self not in _PROMPTLESS_KINDS

    @property
    def needs_input_audio(self) -> bool:
        return self in _PROMPTLESS_KINDS or self is AudioKind.VOICE_CLONE


_PROMPTLESS_KINDS = frozenset({AudioKind.VOICE_CONVERSION, AudioKind.AUDIO_ISOLATION, AudioKind.DUBBING})


class Capability(str, enum.Enum):
    """One thing an operation needs from a model; models declare the set they have."""

    TEXT_TO_IMAGE = "text_to_image"
    IMAGE_EDIT = "image_edit"
    MULTI_IMAGE_INPUT = "multi_image_input"
    MASK = "mask"
    TEXT_TO_VIDEO = "text_to_video"
    IMAGE_TO_VIDEO = "image_to_video"
    VIDEO_REMIX = "video_remix"
    VIDEO_EXTEND = "video_extend"
    CONTINUATION = "continuation"
    REFERENCE_IMAGES = "reference_images"
    LAST_FRAME = "last_frame"
    SEED = "seed"
    NEGATIVE_PROMPT = "negative_prompt"
    SPEECH = "speech"
    MUSIC = "music"
    SOUND_EFFECT = "sound_effect"
    VOICE_CONVERSION = "voice_conversion"
    AUDIO_ISOLATION = "audio_isolation"
    VOICE_DESIGN = "voice_design"
    VOICE_CLONE = "voice_clone"
    DUBBING = "dubbing"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def for_audio_kind(cls, kind: AudioKind) -> Capability:
        return cls(kind.value)
