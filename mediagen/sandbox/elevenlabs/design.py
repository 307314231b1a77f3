"""Voice design: POST /v1/text-to-voice/design and /create-previews (a description -> three previews, each a
generated voice id with base64 audio) and POST /v1/text-to-voice (save a preview as a voice of the account)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from aiohttp import web

from mediagen.sandbox import media
from mediagen.sandbox.elevenlabs import catalog
from mediagen.sandbox.elevenlabs.inputs import check_markers, output_format, seed_of, speech_seconds
from mediagen.sandbox.elevenlabs.state import ReceivedRequest, StoredVoice, VoicePreview
from mediagen.sandbox.elevenlabs.voices import new_voice_id
from mediagen.sandbox.elevenlabs.wire import ElevenLabsError, Fields, invalid, json_body, query

if TYPE_CHECKING:
    from mediagen.sandbox.elevenlabs.fake import ElevenLabsFake

PREVIEWS_BODY = (
    "voice_description",
    "text",
    "auto_generate_text",
    "loudness",
    "quality",
    "seed",
    "guidance_scale",
    "should_enhance",
)
DESIGN_BODY = (
    *PREVIEWS_BODY,
    "model_id",
    "stream_previews",
    "remixing_session_id",
    "remixing_session_iteration_id",
    "reference_audio_base64",
    "prompt_strength",
)
CREATE_BODY = ("voice_name", "voice_description", "generated_voice_id", "labels", "played_not_selected_voice_ids")
_AUTO_TEXT = (
    "Every voice tells a story before a single word is understood: the warmth of its tone, the pace of its breath, "
    "the small pauses that make a listener lean in."
)


class DesignEndpoints:
    """Text to voice of the ElevenLabs fake."""

    def __init__(self, fake: ElevenLabsFake) -> None:
        self.fake = fake

    async def design(self, request: web.Request) -> web.StreamResponse:
        return await self._previews(request, DESIGN_BODY)

    async def create_previews(self, request: web.Request) -> web.StreamResponse:
        return await self._previews(request, PREVIEWS_BODY)

    async def _previews(self, request: web.Request, known: tuple[str, ...]) -> web.StreamResponse:
        params = query(request, ("output_format",))
        fmt = output_format(params, catalog.STREAM_FORMATS)
        body = await json_body(request)
        self.fake.state.requests.append(ReceivedRequest(request.method, request.path, {**body, **params.values}))
        fields = Fields(body, ("body",))
        fields.reject_unknown(known)
        description = fields.string(
            "voice_description", required=True, min_length=catalog.DESCRIPTION_MIN, max_length=catalog.DESCRIPTION_MAX
        )
        assert description is not None
        text = fields.string("text", min_length=catalog.DESIGN_TEXT_MIN, max_length=catalog.DESIGN_TEXT_MAX)
        auto_text = fields.boolean("auto_generate_text") or False
        fields.number("loudness", ge=-1.0, le=1.0)
        fields.number("quality", ge=-1.0, le=1.0)
        seed = fields.integer("seed", ge=0, le=catalog.SEED_MAX)
        fields.number("guidance_scale", ge=0.0, le=100.0)
        fields.boolean("should_enhance")
        model_id = fields.choice("model_id", catalog.VOICE_DESIGN_MODELS, catalog.VOICE_DESIGN_MODELS[0])
        streamed = fields.boolean("stream_previews") or False
        fields.string("remixing_session_id")
        fields.string("remixing_session_iteration_id")
        reference = fields.string("reference_audio_base64")
        strength = fields.number("prompt_strength", ge=0.0, le=1.0)
        if text is None and not auto_text:
            raise invalid(
                ("body", "text"),
                "Value error, give text (100-1000 characters) or set auto_generate_text",
                "value_error",
            )
        if (reference is not None or strength is not None) and model_id != "eleven_ttv_v3":
            param = "reference_audio_base64" if reference is not None else "prompt_strength"
            raise ElevenLabsError(
                400, "invalid_parameters", f"{param} is only supported with the eleven_ttv_v3 model.", param=param
            )
        check_markers(description, "voice_description")
        spoken = text if text is not None else _AUTO_TEXT
        audio_format = catalog.audio_format(fmt)
        seconds = speech_seconds(spoken, 1.0)
        previews = []
        for index in range(catalog.PREVIEWS_PER_DESIGN):
            generated_voice_id = new_voice_id()
            self.fake.state.keep_preview(VoicePreview(generated_voice_id, description, self.fake.context.now()))
            audio = b""
            if not streamed:  # with stream_previews only the ids come back (the audio field stays, empty)
                chunks = media.audio_chunks(audio_format, seconds, seed=seed_of(description, str(seed), str(index)))
                audio = b"".join(chunks)
            previews.append(
                {
                    "audio_base_64": base64.b64encode(audio).decode(),
                    "generated_voice_id": generated_voice_id,
                    "media_type": audio_format.content_type,
                    "duration_secs": round(seconds, 3),
                    "language": "en",
                }
            )
        return web.json_response({"previews": previews, "text": spoken})

    async def create(self, request: web.Request) -> web.StreamResponse:
        query(request, ())
        body = await json_body(request)
        self.fake.state.requests.append(ReceivedRequest(request.method, request.path, body))
        fields = Fields(body, ("body",))
        fields.reject_unknown(CREATE_BODY)
        name = fields.string("voice_name", required=True, min_length=1)
        description = fields.string(
            "voice_description", required=True, min_length=catalog.DESCRIPTION_MIN, max_length=catalog.DESCRIPTION_MAX
        )
        generated_voice_id = fields.string("generated_voice_id", required=True, min_length=1)
        labels = fields.string_map("labels", nullable_values=True) or {}
        fields.string_list("played_not_selected_voice_ids")
        assert name is not None and description is not None and generated_voice_id is not None
        if self.fake.state.preview(generated_voice_id) is None:
            raise ElevenLabsError(
                404,
                "generated_voice_not_found",
                f"No voice preview with generated_voice_id {generated_voice_id} was found; design previews first.",
                type="not_found",
                param="generated_voice_id",
            )
        voice = StoredVoice(
            voice_id=new_voice_id(),
            name=name,
            category="generated",
            description=description,
            labels={k: v for k, v in labels.items() if v is not None},
            created_at_unix=self.fake.context.now(),
        )
        self.fake.state.keep_voice(voice)
        return web.json_response(voice.to_json())
