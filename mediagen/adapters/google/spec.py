"""Google's facts in one place: key env vars, models, capabilities, constraints and Veo's combination rules."""

from __future__ import annotations

import attrs

from mediagen.domain.backend import BackendSpec, Constraints, ModelSpec
from mediagen.domain.media import Capability, MediaType

#: Aspect ratios the Gemini image models take in `image_config.aspect_ratio` (google-genai 3.6 ImageConfig docs).
GEMINI_ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
#: Aspect ratios Imagen takes in `aspectRatio`.
IMAGEN_ASPECT_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
VEO_ASPECT_RATIOS = ("16:9", "9:16")
#: Imagen's `sampleCount` (GenerateImagesConfig / EditImageConfig `number_of_images`): 1 to 4 images per call, as
#: Vertex's model pages list ("Maximum images returned per request: 4") for Imagen 4, 4 Ultra and 3 capability.
IMAGEN_IMAGES_PER_CALL = 4

#: Gemini TTS prebuilt voices (`speech_config.voice_config.prebuilt_voice_config.voice_name`).
GEMINI_VOICES = (
    "Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede", "Callirrhoe", "Autonoe",
    "Enceladus", "Iapetus", "Umbriel", "Algieba", "Despina", "Erinome", "Algenib", "Rasalgethi",
    "Laomedeia", "Achernar", "Alnilam", "Schedar", "Gacrux", "Pulcherrima", "Achird", "Zubenelgenubi",
    "Vindemiatrix", "Sadachbia", "Sadaltager", "Sulafat",
)  # fmt: skip
DEFAULT_VOICE = "Kore"
#: Gemini TTS returns 16-bit PCM; mediagen writes it as WAV, or raw when `pcm` is asked.
SPEECH_FORMATS = ("wav", "pcm")

_GEMINI_IMAGE_CAPS: frozenset[Capability] = frozenset(
    {
        Capability.TEXT_TO_IMAGE,
        Capability.IMAGE_EDIT,
        Capability.MULTI_IMAGE_INPUT,
        Capability.CONTINUATION,
        Capability.SEED,
    }
)
_VEO_CAPS: frozenset[Capability] = frozenset(
    {Capability.TEXT_TO_VIDEO, Capability.IMAGE_TO_VIDEO, Capability.SEED, Capability.NEGATIVE_PROMPT}
)


@attrs.frozen
class VeoRules:
    """A Veo model's combination rules: settings that force a duration, a resolution or an aspect ratio."""

    #: Resolutions that only come with this duration (Veo 3.x: 1080p needs 8 s).
    long_only_resolutions: tuple[str, ...] = ("1080p",)
    long_duration: float = 8
    #: Resolutions that only come in 16:9 (Veo 3.0: 1080p is landscape only).
    landscape_only_resolutions: tuple[str, ...] = ()
    #: Reference images need the long duration and 16:9.
    references_force_long_landscape: bool = True
    #: Extending a video gives 720p hops of the long duration.
    extension_resolution: str = "720p"
    max_reference_images: int = 3


VEO_RULES: dict[str, VeoRules] = {
    "veo-3.1-generate-preview": VeoRules(),
    "veo-3.1-fast-generate-preview": VeoRules(),
    "veo-3.0-generate-001": VeoRules(landscape_only_resolutions=("1080p",)),
}

SPEC = BackendSpec(
    name="google",
    display_name="Google (Gemini, Imagen, Veo)",
    env_vars=("GOOGLE_API_KEY", "GEMINI_API_KEY"),
    base_url_env_vars=("GOOGLE_GEMINI_BASE_URL",),
    docs_url="https://ai.google.dev/gemini-api/docs",
    models=(
        ModelSpec(
            "gemini-3.1-flash-image-preview",
            MediaType.IMAGE,
            _GEMINI_IMAGE_CAPS,
            Constraints(
                aspect_ratios=GEMINI_ASPECT_RATIOS,
                resolutions=("1K", "2K", "4K"),
                output_formats=("png",),
                max_input_images=14,
            ),
            "Gemini image model: generation, editing with several input images, multi-turn editing",
        ),
        ModelSpec(
            "gemini-3-pro-image-preview",
            MediaType.IMAGE,
            _GEMINI_IMAGE_CAPS,
            Constraints(
                aspect_ratios=GEMINI_ASPECT_RATIOS,
                resolutions=("1K", "2K", "4K"),
                output_formats=("png",),
                max_input_images=14,
            ),
            "Gemini image model with more reasoning, up to 4K",
        ),
        ModelSpec(
            "gemini-2.5-flash-image",
            MediaType.IMAGE,
            _GEMINI_IMAGE_CAPS,
            Constraints(
                aspect_ratios=GEMINI_ASPECT_RATIOS,
                resolutions=("1K",),
                output_formats=("png",),
                max_input_images=3,
            ),
            "Gemini 2.5 image model, 1K only",
        ),
        ModelSpec(
            "imagen-4.0-generate-001",
            MediaType.IMAGE,
            frozenset({Capability.TEXT_TO_IMAGE, Capability.SEED, Capability.NEGATIVE_PROMPT}),
            Constraints(
                aspect_ratios=IMAGEN_ASPECT_RATIOS,
                resolutions=("1K", "2K"),
                output_formats=("png", "jpeg"),
                images_per_call=IMAGEN_IMAGES_PER_CALL,
            ),
            "Imagen 4 text to image (Vertex express mode)",
        ),
        ModelSpec(
            "imagen-4.0-ultra-generate-001",
            MediaType.IMAGE,
            frozenset({Capability.TEXT_TO_IMAGE, Capability.SEED, Capability.NEGATIVE_PROMPT}),
            Constraints(
                aspect_ratios=IMAGEN_ASPECT_RATIOS,
                resolutions=("1K", "2K"),
                output_formats=("png", "jpeg"),
                images_per_call=IMAGEN_IMAGES_PER_CALL,
            ),
            "Imagen 4 Ultra text to image (Vertex express mode)",
        ),
        ModelSpec(
            "imagen-3.0-capability-001",
            MediaType.IMAGE,
            frozenset({Capability.IMAGE_EDIT, Capability.MASK, Capability.SEED, Capability.NEGATIVE_PROMPT}),
            Constraints(output_formats=("png", "jpeg"), max_input_images=1, images_per_call=IMAGEN_IMAGES_PER_CALL),
            "Imagen masked editing: inpaint insertion or removal with your mask",
        ),
        ModelSpec(
            "veo-3.1-generate-preview",
            MediaType.VIDEO,
            _VEO_CAPS
            | frozenset(
                {Capability.REFERENCE_IMAGES, Capability.LAST_FRAME, Capability.VIDEO_EXTEND, Capability.CONTINUATION}
            ),
            Constraints(
                aspect_ratios=VEO_ASPECT_RATIOS,
                durations=(4, 6, 8),
                resolutions=("720p", "1080p"),
                max_input_images=3,
            ),
            "Veo 3.1 with audio: text/image to video, reference images, last frame, extension",
        ),
        ModelSpec(
            "veo-3.1-fast-generate-preview",
            MediaType.VIDEO,
            _VEO_CAPS | frozenset({Capability.LAST_FRAME, Capability.VIDEO_EXTEND, Capability.CONTINUATION}),
            Constraints(
                aspect_ratios=VEO_ASPECT_RATIOS,
                durations=(4, 6, 8),
                resolutions=("720p", "1080p"),
                max_input_images=1,
            ),
            "Veo 3.1 Fast: quicker and cheaper, no reference images",
        ),
        ModelSpec(
            "veo-3.0-generate-001",
            MediaType.VIDEO,
            _VEO_CAPS,
            Constraints(
                aspect_ratios=VEO_ASPECT_RATIOS,
                durations=(4, 6, 8),
                resolutions=("720p", "1080p"),
                max_input_images=1,
            ),
            "Veo 3: text/image to video; 1080p in 16:9 only",
        ),
        ModelSpec(
            "gemini-2.5-flash-preview-tts",
            MediaType.AUDIO,
            frozenset({Capability.SPEECH}),
            Constraints(voices=GEMINI_VOICES, audio_formats=SPEECH_FORMATS),
            "Gemini speech: 30 prebuilt voices, style by instructions, 24 kHz PCM as WAV",
        ),
        ModelSpec(
            "gemini-2.5-pro-preview-tts",
            MediaType.AUDIO,
            frozenset({Capability.SPEECH}),
            Constraints(voices=GEMINI_VOICES, audio_formats=SPEECH_FORMATS),
            "Gemini speech, higher quality",
        ),
    ),
    default_models={
        MediaType.IMAGE: "gemini-3.1-flash-image-preview",
        MediaType.VIDEO: "veo-3.1-generate-preview",
        MediaType.AUDIO: "gemini-2.5-flash-preview-tts",
    },
)
