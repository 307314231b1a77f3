"""Text to speech (POST /v1/text-to-speech/{voice_id}, and /stream), the voice changer (POST
/v1/voice-changer/{voice_id}, and /stream, multipart) and audio isolation (POST /v1/audio-isolation, and /stream,
multipart): validated like the API, answered with chunked audio in the asked output format."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from mediagen.sandbox.elevenlabs import catalog
from mediagen.sandbox.elevenlabs.inputs import (
    check_markers,
    input_seconds,
    media_kind,
    output_format,
    seed_of,
    single_file,
    speech_seconds,
    speed_of,
    stream_audio,
    voice_not_found,
    voice_seed,
    voice_settings,
    voice_settings_text,
)
from mediagen.sandbox.elevenlabs.state import ReceivedRequest, StoredVoice
from mediagen.sandbox.elevenlabs.wire import ElevenLabsError, Fields, form_body, json_body, query

if TYPE_CHECKING:
    from mediagen.sandbox.elevenlabs.fake import ElevenLabsFake

TTS_QUERY = ("enable_logging", "optimize_streaming_latency", "output_format")
TTS_BODY = (
    "text",
    "model_id",
    "language_code",
    "voice_settings",
    "pronunciation_dictionary_locators",
    "seed",
    "previous_text",
    "next_text",
    "previous_request_ids",
    "next_request_ids",
    "use_pvc_as_ivc",
    "apply_text_normalization",
    "apply_language_text_normalization",
    "audio_effects",
)
EFFECTS = ("filter_preset_id", "distance", "environment_id", "background_noise_id", "send_level", "pan")
STS_FIELDS = ("model_id", "voice_settings", "seed", "remove_background_noise", "file_format")
ISOLATION_FIELDS = ("file_format", "preview_b64")


def _bad_model(model_id: str, what: str) -> ElevenLabsError:
    return ElevenLabsError(
        400,
        "invalid_parameters",
        f"The model '{model_id}' does not support {what}. Use GET /v1/models to list the models and what they can do.",
        param="model_id",
    )


def latency_and_logging(params: Fields) -> None:
    params.integer("optimize_streaming_latency", ge=0, le=4)
    params.boolean("enable_logging")


class SpeechEndpoints:
    """Text to speech, the voice changer and audio isolation of the ElevenLabs fake."""

    def __init__(self, fake: ElevenLabsFake) -> None:
        self.fake = fake

    def _voice(self, voice_id: str) -> StoredVoice:
        voice = self.fake.state.voice(voice_id)
        if voice is None:
            raise voice_not_found(voice_id)
        return voice

    async def text_to_speech(self, request: web.Request) -> web.StreamResponse:
        return await self._text_to_speech(request, catalog.CONVERT_FORMATS)

    async def text_to_speech_stream(self, request: web.Request) -> web.StreamResponse:
        return await self._text_to_speech(request, catalog.STREAM_FORMATS)

    async def _text_to_speech(self, request: web.Request, formats: tuple[str, ...]) -> web.StreamResponse:
        params = query(request, TTS_QUERY)
        fmt = output_format(params, formats)
        latency_and_logging(params)
        body = await json_body(request)
        self.fake.state.requests.append(ReceivedRequest(request.method, request.path, {**body, **params.values}))
        fields = Fields(body, ("body",))
        fields.reject_unknown(TTS_BODY)
        text = fields.string("text", required=True)
        assert text is not None
        model_id = fields.string("model_id") or catalog.DEFAULT_TTS_MODEL
        language_code = fields.string("language_code")
        settings = voice_settings(fields.obj("voice_settings"))
        for locator in fields.objects("pronunciation_dictionary_locators", max_items=catalog.MAX_LOCATORS) or []:
            locator.reject_unknown(("pronunciation_dictionary_id", "version_id"))
            locator.string("pronunciation_dictionary_id", required=True)
            locator.string("version_id")
        fields.integer("seed", ge=0, le=catalog.SEED_MAX)
        fields.string("previous_text")
        fields.string("next_text")
        fields.string_list("previous_request_ids", max_items=catalog.MAX_REQUEST_IDS)
        fields.string_list("next_request_ids", max_items=catalog.MAX_REQUEST_IDS)
        fields.boolean("use_pvc_as_ivc")
        fields.choice("apply_text_normalization", catalog.TEXT_NORMALIZATION)
        fields.boolean("apply_language_text_normalization")
        self._effects(fields.obj("audio_effects"), fmt)
        voice = self._voice(request.match_info["voice_id"])
        model = catalog.MODELS.get(model_id)
        if model is None:
            raise ElevenLabsError(
                404,
                "model_not_found",
                f"A model with model ID {model_id} does not exist.",
                type="not_found",
                param="model_id",
            )
        if not model.text_to_speech:
            raise _bad_model(model_id, "text to speech")
        if language_code is not None and not model.language_code:
            raise ElevenLabsError(
                400,
                "invalid_parameters",
                f"The model '{model_id}' does not support language_code; leave it out or use a model that does "
                "(e.g. eleven_turbo_v2_5, eleven_flash_v2_5).",
                param="language_code",
            )
        if len(text) > model.max_characters:
            raise ElevenLabsError(
                400,
                "max_character_limit_exceeded",
                f"This request's text has {len(text)} characters and exceeds the character limit of "
                f"{model.max_characters} characters for model {model_id}.",
                param="text",
            )
        if not text.strip():
            raise ElevenLabsError(400, "invalid_parameters", "The text must not be empty.", param="text")
        check_markers(text, "text")
        return await stream_audio(request, fmt, speech_seconds(text, speed_of(settings)), voice_seed(voice, text))

    def _effects(self, effects: Fields | None, fmt: str) -> None:
        """audio_effects: ids the account does not have are 404s naming the field (the sandbox has none); a pan
        makes stereo, which the raw formats (pcm, ulaw, alaw) cannot carry."""
        if effects is None:
            return
        effects.reject_unknown(EFFECTS)
        for name in ("filter_preset_id", "environment_id", "background_noise_id"):
            value = effects.string(name)
            if value is not None:
                raise ElevenLabsError(
                    404, "not_found", f"Unknown {name} '{value}'.", type="not_found", param=f"audio_effects.{name}"
                )
        effects.number("distance")
        effects.number("send_level")
        pan = effects.number("pan", ge=-1.0, le=1.0)
        if pan and fmt.split("_")[0] in ("pcm", "ulaw", "alaw"):
            raise ElevenLabsError(
                400,
                "invalid_parameters",
                f"audio_effects.pan makes stereo audio, which output_format {fmt} cannot carry.",
                param="audio_effects.pan",
            )

    async def voice_changer(self, request: web.Request) -> web.StreamResponse:
        return await self._voice_changer(request, catalog.CONVERT_FORMATS)

    async def voice_changer_stream(self, request: web.Request) -> web.StreamResponse:
        return await self._voice_changer(request, catalog.STREAM_FORMATS)

    async def _voice_changer(self, request: web.Request, formats: tuple[str, ...]) -> web.StreamResponse:
        params = query(request, TTS_QUERY)
        fmt = output_format(params, formats)
        latency_and_logging(params)
        form = await form_body(request, ("audio",), STS_FIELDS)
        uploads = tuple(f for files in form.files.values() for f in files)
        self.fake.state.requests.append(
            ReceivedRequest(request.method, request.path, {**form.scalars(), **params.values}, uploads)
        )
        fields = Fields(form.scalars(), ("body",), textual=True)
        fields.reject_unknown((*STS_FIELDS, "audio"))
        audio = single_file(form, "audio")
        assert audio is not None
        model_id = fields.string("model_id") or catalog.DEFAULT_STS_MODEL
        settings = voice_settings_text(fields.string("voice_settings"))
        fields.integer("seed", ge=0, le=catalog.SEED_MAX)
        fields.boolean("remove_background_noise")
        file_format = fields.choice("file_format", catalog.FILE_FORMATS, "other")
        voice = self._voice(request.match_info["voice_id"])
        model = catalog.MODELS.get(model_id)
        if model is None:
            raise ElevenLabsError(
                404,
                "model_not_found",
                f"A model with model ID {model_id} does not exist.",
                type="not_found",
                param="model_id",
            )
        if not model.voice_conversion:
            raise _bad_model(model_id, "voice conversion (speech to speech)")
        kind = media_kind(audio, allow_video=True, raw_pcm=file_format == "pcm_s16le_16")
        seconds = input_seconds(audio, kind)
        return await stream_audio(request, fmt, seconds / speed_of(settings), seed_of(voice.voice_id, audio.sha256))

    async def audio_isolation(self, request: web.Request) -> web.StreamResponse:
        return await self._audio_isolation(request, ISOLATION_FIELDS)

    async def audio_isolation_stream(self, request: web.Request) -> web.StreamResponse:
        return await self._audio_isolation(request, ("file_format",))

    async def _audio_isolation(self, request: web.Request, known: tuple[str, ...]) -> web.StreamResponse:
        query(request, ())
        form = await form_body(request, ("audio",), known)
        uploads = tuple(f for files in form.files.values() for f in files)
        self.fake.state.requests.append(ReceivedRequest(request.method, request.path, form.scalars(), uploads))
        fields = Fields(form.scalars(), ("body",), textual=True)
        fields.reject_unknown((*known, "audio"))
        audio = single_file(form, "audio")
        assert audio is not None
        file_format = fields.choice("file_format", catalog.FILE_FORMATS, "other")
        fields.string("preview_b64")
        kind = media_kind(audio, allow_video=True, raw_pcm=file_format == "pcm_s16le_16")
        seconds = input_seconds(audio, kind)
        return await stream_audio(request, catalog.ISOLATION_FORMAT, seconds, seed_of("isolated", audio.sha256))
