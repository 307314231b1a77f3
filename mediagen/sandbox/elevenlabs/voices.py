"""The account's voices: GET /v1/voices, GET /v2/voices (search, pages), GET and DELETE /v1/voices/{voice_id},
POST /v1/voices/add (an instant voice clone from sample files, multipart), and the model list, GET /v1/models."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import TYPE_CHECKING

from aiohttp import web

from mediagen.sandbox.elevenlabs import catalog
from mediagen.sandbox.elevenlabs.inputs import input_seconds, media_kind, voice_not_found
from mediagen.sandbox.elevenlabs.state import ReceivedRequest, StoredVoice
from mediagen.sandbox.elevenlabs.wire import ElevenLabsError, Fields, form_body, invalid, query

if TYPE_CHECKING:
    from mediagen.sandbox.elevenlabs.fake import ElevenLabsFake

SEARCH_QUERY = (
    "next_page_token",
    "page_size",
    "search",
    "sort",
    "sort_direction",
    "voice_type",
    "category",
    "fine_tuning_state",
    "collection_id",
    "gender",
    "age",
    "language",
    "accent",
    "use_cases",
    "min_notice_period_days",
    "include_custom_rates",
    "include_live_moderated",
    "high_quality",
    "include_total_count",
    "voice_ids",
)
VOICE_TYPES = ("personal", "community", "default", "workspace", "non-default", "non-community", "saved")
CATEGORIES = ("premade", "cloned", "generated", "professional")
FINE_TUNING_STATES = (
    "draft",
    "not_verified",
    "not_started",
    "queued",
    "fine_tuning",
    "fine_tuned",
    "failed",
    "delayed",
)
ADD_FIELDS = ("name", "remove_background_noise", "description", "labels")
LABEL_KEYS = ("language", "accent", "gender", "age", "description", "use_case")


def new_voice_id() -> str:
    """A voice id shaped like ElevenLabs' own: 20 letters and digits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    number = uuid.uuid4().int
    chars = []
    for _ in range(20):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


class VoiceEndpoints:
    """Voices and models of the ElevenLabs fake."""

    def __init__(self, fake: ElevenLabsFake) -> None:
        self.fake = fake

    async def list_v1(self, request: web.Request) -> web.StreamResponse:
        query(request, ("show_legacy",)).boolean("show_legacy")
        return web.json_response({"voices": [v.to_json() for v in self.fake.state.voices()]})

    async def search(self, request: web.Request) -> web.StreamResponse:
        """GET /v2/voices: filtered, sorted and paged; `next_page_token` is the offset of the next page."""
        params = query(request, SEARCH_QUERY)
        size = params.integer("page_size", ge=1, le=100) or 10
        token = params.string("next_page_token")
        sort = params.choice("sort", ("created_at_unix", "name"))
        direction = params.choice("sort_direction", ("asc", "desc"), "asc")
        voice_type = params.choice("voice_type", VOICE_TYPES)
        category = params.choice("category", CATEGORIES)
        params.choice("fine_tuning_state", FINE_TUNING_STATES)
        params.string("collection_id")
        params.integer("min_notice_period_days", ge=0)
        for name in ("include_custom_rates", "include_live_moderated", "high_quality", "include_total_count"):
            params.boolean(name)
        voice_ids = request.query.getall("voice_ids", [])
        if len(voice_ids) > 100:
            raise invalid(("query", "voice_ids"), "List should have at most 100 items after validation", "too_long")
        try:
            offset = int(token) if token is not None else 0
        except ValueError:
            raise ElevenLabsError(
                400, "invalid_parameters", f"Invalid next_page_token '{token}'.", param="next_page_token"
            ) from None
        voices = self.fake.state.voices()
        voices = [v for v in voices if _matches(v, request, params, voice_type, category, voice_ids)]
        if sort is not None:
            voices.sort(
                key=(lambda v: v.name.lower()) if sort == "name" else (lambda v: v.created_at_unix or 0),
                reverse=direction == "desc",
            )
        page = voices[offset : offset + size]
        more = offset + size < len(voices)
        return web.json_response(
            {
                "voices": [v.to_json() for v in page],
                "has_more": more,
                "total_count": len(voices),
                "next_page_token": str(offset + size) if more else None,
            }
        )

    async def get(self, request: web.Request) -> web.StreamResponse:
        with_settings = query(request, ("with_settings",)).boolean("with_settings")
        voice_id = request.match_info["voice_id"]
        voice = self.fake.state.voice(voice_id)
        if voice is None:
            raise voice_not_found(voice_id)
        return web.json_response(voice.to_json(with_settings=with_settings is not False))

    async def delete(self, request: web.Request) -> web.StreamResponse:
        query(request, ())
        voice_id = request.match_info["voice_id"]
        voice = self.fake.state.voice(voice_id)
        if voice is None:
            raise voice_not_found(voice_id)
        if voice.premade_voice:
            # The API's wording for this is not published; a default voice is not the account's to delete.
            raise ElevenLabsError(
                400,
                "invalid_parameters",
                f"The voice {voice_id} is a default voice and cannot be deleted.",
                param="voice_id",
            )
        self.fake.state.forget_voice(voice_id)
        return web.json_response({"status": "ok"})

    async def add(self, request: web.Request) -> web.StreamResponse:
        """POST /v1/voices/add: an instant voice clone from 1-25 audio samples."""
        query(request, ())
        form = await form_body(request, ("files",), ADD_FIELDS)
        uploads = tuple(f for files in form.files.values() for f in files)
        self.fake.state.requests.append(ReceivedRequest(request.method, request.path, form.scalars(), uploads))
        fields = Fields(form.scalars(), ("body",), textual=True)
        fields.reject_unknown((*ADD_FIELDS, "files"))
        name = fields.string("name", required=True, min_length=1)
        assert name is not None
        files = form.files.get("files", [])
        if not files:
            raise invalid(("body", "files"), "Field required", "missing")
        if len(files) > catalog.MAX_CLONE_FILES:
            raise ElevenLabsError(
                400,
                "too_many_samples",
                f"A voice clone takes at most {catalog.MAX_CLONE_FILES} samples; {len(files)} were sent.",
                param="files",
            )
        remove_noise = fields.boolean("remove_background_noise") or False
        description = fields.string("description")
        labels = _labels(fields.string("labels"))
        samples = []
        for upload in files:
            if len(upload.data) > catalog.MAX_UPLOAD_BYTES:
                raise ElevenLabsError(
                    413, "file_too_large", f"The sample {upload.filename} is too large.", param="files"
                )
            kind = media_kind(upload, allow_video=False)
            samples.append(
                {
                    "sample_id": new_voice_id(),
                    "file_name": upload.filename or "upload",
                    "mime_type": kind,
                    "size_bytes": len(upload.data),
                    "hash": hashlib.md5(upload.data, usedforsecurity=False).hexdigest(),
                    "duration_secs": input_seconds(upload, kind),
                    "remove_background_noise": remove_noise,
                }
            )
        voice = StoredVoice(
            voice_id=new_voice_id(),
            name=name,
            category="cloned",
            description=description,
            labels=labels,
            created_at_unix=self.fake.context.now(),
            samples=samples,
        )
        self.fake.state.keep_voice(voice)
        return web.json_response({"voice_id": voice.voice_id, "requires_verification": False})

    async def models(self, request: web.Request) -> web.StreamResponse:
        query(request, ())
        return web.json_response([model.to_json() for model in catalog.MODELS.values()])


def _labels(raw: str | None) -> dict[str, str]:
    """The `labels` form field: a JSON object of strings (the SDK sends "null" when there are none)."""
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise invalid(
            ("body", "labels"), "Invalid JSON: labels must be a JSON-encoded object", "json_invalid"
        ) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(("body", "labels"), "Input should be a valid dictionary", "dict_type")
    out: dict[str, str] = {}
    for key, item in value.items():
        if key not in LABEL_KEYS:
            raise ElevenLabsError(
                400,
                "invalid_parameters",
                f"Unknown label '{key}'; labels can be {', '.join(LABEL_KEYS)}.",
                param="labels",
            )
        if not isinstance(item, str):
            raise invalid(("body", "labels", key), "Input should be a valid string", "string_type")
        out[key] = item
    return out


def _matches(
    voice: StoredVoice,
    request: web.Request,
    params: Fields,
    voice_type: str | None,
    category: str | None,
    voice_ids: list[str],
) -> bool:
    search = params.string("search")
    if search:
        haystack = " ".join([voice.name, voice.description or "", voice.category, *voice.labels.values()]).lower()
        if search.lower() not in haystack:
            return False
    if voice_ids and voice.voice_id not in voice_ids:
        return False
    if category is not None and voice.category != category:
        return False
    if voice_type in ("default",) and not voice.premade_voice:
        return False
    if voice_type in ("personal", "workspace", "non-default", "non-community", "saved") and voice.premade_voice:
        return False
    if voice_type == "community":
        return False
    for label in ("gender", "age", "accent"):
        wanted = params.string(label)
        if wanted is not None and voice.labels.get(label, "").lower() != wanted.lower():
            return False
    for label, name in (("language", "language"), ("use_case", "use_cases")):
        wanted_any = request.query.getall(name, [])
        if wanted_any and voice.labels.get(label) not in wanted_any:
            return False
    return True
