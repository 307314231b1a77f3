"""Music (POST /v1/music, and /stream) and sound effects (POST /v1/sound-generation): validated like the API,
answered with chunked audio of the asked length in the asked output format."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from mediagen.sandbox.elevenlabs import catalog
from mediagen.sandbox.elevenlabs.inputs import check_markers, output_format, seed_of, stream_audio
from mediagen.sandbox.elevenlabs.state import ReceivedRequest
from mediagen.sandbox.elevenlabs.wire import ElevenLabsError, Fields, Invalid, invalid, json_body, query

if TYPE_CHECKING:
    from mediagen.sandbox.elevenlabs.fake import ElevenLabsFake

LOGGING_QUERY = ("output_format", "enable_logging")
MUSIC_STREAM_BODY = (
    "prompt",
    "composition_plan",
    "music_length_ms",
    "model_id",
    "seed",
    "force_instrumental",
    "finetune_id",
    "store_for_inpainting",
)
MUSIC_BODY = (*MUSIC_STREAM_BODY, "respect_sections_durations", "sign_with_c2pa")
PLAN_FIELDS = ("positive_global_styles", "negative_global_styles", "sections")
SECTION_FIELDS = (
    "section_name",
    "positive_local_styles",
    "negative_local_styles",
    "duration_ms",
    "lines",
    "source_from",
)
SFX_BODY = ("text", "loop", "duration_seconds", "prompt_influence", "model_id")
MAX_LINES = 30
MAX_LINE_CHARS = 200


def _conflict(loc: tuple[str | int, ...], message: str) -> Invalid:
    """A rule between fields, which the API's schema checks as a model validator (pydantic's value_error)."""
    return invalid(loc, f"Value error, {message}", "value_error")


class SoundEndpoints:
    """Music and sound effects of the ElevenLabs fake."""

    def __init__(self, fake: ElevenLabsFake) -> None:
        self.fake = fake

    async def music(self, request: web.Request) -> web.StreamResponse:
        return await self._music(request, MUSIC_BODY)

    async def music_stream(self, request: web.Request) -> web.StreamResponse:
        return await self._music(request, MUSIC_STREAM_BODY)

    async def _music(self, request: web.Request, known: tuple[str, ...]) -> web.StreamResponse:
        params = query(request, LOGGING_QUERY)
        fmt = output_format(params, catalog.MUSIC_FORMATS, "auto")
        params.boolean("enable_logging")
        body = await json_body(request)
        self.fake.state.requests.append(ReceivedRequest(request.method, request.path, {**body, **params.values}))
        fields = Fields(body, ("body",))
        fields.reject_unknown(known)
        prompt = fields.string("prompt")
        plan_ms = self._plan(fields.obj("composition_plan"))
        length_ms = fields.integer("music_length_ms", ge=catalog.MUSIC_MIN_MS, le=catalog.MUSIC_MAX_MS)
        model_id = fields.choice("model_id", catalog.MUSIC_MODELS, catalog.DEFAULT_MUSIC_MODEL)
        assert model_id is not None
        seed = fields.integer("seed", ge=0, le=catalog.SEED_MAX)
        instrumental = fields.boolean("force_instrumental")
        finetune_id = fields.string("finetune_id")
        for name in ("respect_sections_durations", "store_for_inpainting", "sign_with_c2pa"):
            fields.boolean(name)
        # The rules the SDK's docstrings give, checked as the API's body model does.
        if (prompt is None) == (plan_ms is None):
            raise _conflict(("body",), "exactly one of prompt or composition_plan must be given")
        if plan_ms is not None and length_ms is not None:
            raise _conflict(("body", "music_length_ms"), "music_length_ms can only be used with prompt")
        if prompt is not None and seed is not None:
            raise _conflict(("body", "seed"), "seed cannot be used in conjunction with prompt")
        if plan_ms is not None and instrumental is not None:
            raise _conflict(("body", "force_instrumental"), "force_instrumental can only be used with prompt")
        if prompt is not None and not prompt.strip():
            raise invalid(("body", "prompt"), "String should have at least 1 character", "string_too_short")
        if finetune_id is not None:
            raise ElevenLabsError(
                404,
                "finetune_not_found",
                f"The finetune {finetune_id} was not found.",
                type="not_found",
                param="finetune_id",
            )
        if prompt is not None:
            check_markers(prompt, "prompt")
        if fmt == "auto":
            fmt = catalog.MUSIC_AUTO[model_id]
        milliseconds = length_ms or plan_ms or catalog.MUSIC_DEFAULT_MS
        song_id = seed_of("song", prompt or "", str(milliseconds))
        return await stream_audio(request, fmt, milliseconds / 1000, song_id, headers={"song-id": format(song_id, "x")})

    def _plan(self, plan: Fields | None) -> int | None:
        """Validate a composition plan (MusicPrompt); its length in milliseconds, the sum of its sections'."""
        if plan is None:
            return None
        if "chunks" in plan.values:  # the SDK's other plan form (CompositionPlan); its chunk schema is not published
            raise ElevenLabsError(
                400,
                "invalid_parameters",
                "The sandbox serves composition plans with sections (MusicPrompt), not chunks.",
                param="composition_plan",
            )
        plan.reject_unknown(PLAN_FIELDS)
        for name in ("positive_global_styles", "negative_global_styles"):
            if plan.string_list(name) is None:
                raise invalid(plan.loc(name), "Field required", "missing")
        sections = plan.objects("sections", required=True)
        assert sections is not None
        if not sections:
            raise invalid(plan.loc("sections"), "List should have at least 1 item after validation, not 0", "too_short")
        total = 0
        for section in sections:
            section.reject_unknown(SECTION_FIELDS)
            section.string("section_name", required=True, min_length=1)
            for name in ("positive_local_styles", "negative_local_styles"):
                if section.string_list(name) is None:
                    raise invalid(section.loc(name), "Field required", "missing")
            duration = section.integer("duration_ms", ge=catalog.SECTION_MIN_MS, le=catalog.SECTION_MAX_MS)
            if duration is None:
                raise invalid(section.loc("duration_ms"), "Field required", "missing")
            lines = section.string_list("lines", max_items=MAX_LINES)
            if lines is None:
                raise invalid(section.loc("lines"), "Field required", "missing")
            for index, line in enumerate(lines):
                if len(line) > MAX_LINE_CHARS:
                    raise invalid(
                        (*section.loc("lines"), index),
                        f"String should have at most {MAX_LINE_CHARS} characters",
                        "string_too_long",
                    )
            section.obj("source_from")
            total += duration
        if total > catalog.MUSIC_MAX_MS:
            raise _conflict(plan.where, f"the sections last {total} ms; a song lasts at most {catalog.MUSIC_MAX_MS} ms")
        return total

    async def sound_effect(self, request: web.Request) -> web.StreamResponse:
        params = query(request, LOGGING_QUERY)
        fmt = output_format(params, catalog.CONVERT_FORMATS)
        params.boolean("enable_logging")
        body = await json_body(request)
        self.fake.state.requests.append(ReceivedRequest(request.method, request.path, {**body, **params.values}))
        fields = Fields(body, ("body",))
        fields.reject_unknown(SFX_BODY)
        text = fields.string("text", required=True, min_length=1)
        assert text is not None
        fields.boolean("loop")
        seconds = fields.number("duration_seconds", ge=catalog.SFX_MIN_SECONDS, le=catalog.SFX_MAX_SECONDS)
        fields.number("prompt_influence", ge=0.0, le=1.0)
        fields.choice("model_id", catalog.SFX_MODELS)
        check_markers(text, "text")
        if seconds is None:  # "we will guess the optimal duration using the prompt"
            seconds = min(catalog.SFX_MAX_SECONDS, max(1.0, len(text) / 10))
        return await stream_audio(request, fmt, seconds, seed_of("sfx", text))
