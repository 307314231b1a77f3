"""The ElevenLabs fake: routes, the xi-api-key check, ElevenLabs' error bodies and its answers to scripted faults."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from aiohttp import web

from mediagen.sandbox.elevenlabs.design import DesignEndpoints
from mediagen.sandbox.elevenlabs.dubbing import DubbingEndpoints
from mediagen.sandbox.elevenlabs.inputs import blocked, quota_exceeded
from mediagen.sandbox.elevenlabs.persist import ElevenLabsRecords
from mediagen.sandbox.elevenlabs.sound import SoundEndpoints
from mediagen.sandbox.elevenlabs.speech import SpeechEndpoints
from mediagen.sandbox.elevenlabs.state import ElevenLabsState
from mediagen.sandbox.elevenlabs.voices import VoiceEndpoints
from mediagen.sandbox.elevenlabs.wire import ElevenLabsError, detail_body
from mediagen.sandbox.faults import Fault, FaultScope
from mediagen.sandbox.records import RecordStore
from mediagen.sandbox.vendor import ApiError, FakeContext, Route, VendorFake

SANDBOX_KEY = "sandbox-elevenlabs-key"
#: Marks the framework's answer for a route the API does not have: FastAPI's plain `{"detail": "Not Found"}`.
_NO_ROUTE = "no_route"


class ElevenLabsFake(VendorFake):
    """Text to speech, music, sound effects, the voice changer, audio isolation, voice design, voices (with instant
    clones) and dubbing, on /v1 and /v2 like api.elevenlabs.io."""

    name: ClassVar[str] = "elevenlabs"

    def __init__(self, context: FakeContext) -> None:
        super().__init__(context)
        store = RecordStore.of(context)
        self._state = ElevenLabsState(records=None if store is None else ElevenLabsRecords(store))
        self.speech = SpeechEndpoints(self)
        self.sound = SoundEndpoints(self)
        self.voices = VoiceEndpoints(self)
        self.design = DesignEndpoints(self)
        self.dubbing = DubbingEndpoints(self)

    @property
    def state(self) -> ElevenLabsState:
        return self._state

    def routes(self) -> Iterable[Route]:
        job, download = frozenset({FaultScope.JOB}), frozenset({FaultScope.DOWNLOAD})
        speech, sound, voices, design, dubbing = self.speech, self.sound, self.voices, self.design, self.dubbing
        return (
            Route("POST", "/v1/text-to-speech/{voice_id}", speech.text_to_speech, "tts", download),
            Route("POST", "/v1/text-to-speech/{voice_id}/stream", speech.text_to_speech_stream, "tts.stream", download),
            Route("POST", "/v1/voice-changer/{voice_id}", speech.voice_changer, "sts", download),
            Route("POST", "/v1/voice-changer/{voice_id}/stream", speech.voice_changer_stream, "sts.stream", download),
            Route("POST", "/v1/audio-isolation", speech.audio_isolation, "isolation", download),
            Route("POST", "/v1/audio-isolation/stream", speech.audio_isolation_stream, "isolation.stream", download),
            Route("POST", "/v1/music", sound.music, "music", download),
            Route("POST", "/v1/music/stream", sound.music_stream, "music.stream", download),
            Route("POST", "/v1/sound-generation", sound.sound_effect, "sound", download),
            Route("POST", "/v1/text-to-voice/design", design.design, "design"),
            Route("POST", "/v1/text-to-voice/create-previews", design.create_previews, "design.previews"),
            Route("POST", "/v1/text-to-voice", design.create, "design.create"),
            Route("POST", "/v1/dubbing", dubbing.create, "dubbing.create", job),
            Route("GET", "/v1/dubbing/{dubbing_id}", dubbing.get, "dubbing.get"),
            Route("DELETE", "/v1/dubbing/{dubbing_id}", dubbing.delete, "dubbing.delete"),
            Route("GET", "/v1/dubbing/{dubbing_id}/audio/{language_code}", dubbing.audio, "dubbing.audio", download),
            Route("GET", "/v1/voices", voices.list_v1, "voices.list"),
            Route("GET", "/v2/voices", voices.search, "voices.search"),
            Route("POST", "/v1/voices/add", voices.add, "voices.add"),
            Route("GET", "/v1/voices/{voice_id}", voices.get, "voices.get"),
            Route("DELETE", "/v1/voices/{voice_id}", voices.delete, "voices.delete"),
            Route("GET", "/v1/models", voices.models, "models.list"),
        )

    def base_url(self, origin: str) -> str:
        return origin  # the SDK's paths carry their own v1/ or v2/

    def env(self, base_url: str) -> dict[str, str]:
        # The SDK has no env var for its base URL; mediagen's ElevenLabs backend reads this setting.
        return {
            "ELEVENLABS_API_KEY": self.context.settings.api_key or SANDBOX_KEY,
            "MEDIAGEN_BACKENDS__ELEVENLABS__BASE_URL": base_url,
        }

    def authenticate(self, request: web.Request) -> None:
        key = request.headers.get("xi-api-key", "").strip()
        if not key:
            raise ElevenLabsError(
                401,
                "needs_authorization",
                "Neither authorization header nor xi-api-key received, please provide one.",
                type="authentication_error",
            )
        expected = self.context.settings.api_key
        if expected is not None and key != expected:
            raise ElevenLabsError(401, "invalid_api_key", "Invalid API key", type="authentication_error")

    def error_body(self, error: ApiError) -> dict[str, Any]:
        if error.code == _NO_ROUTE:
            return {"detail": "Not Found" if error.status == 404 else "Method Not Allowed"}
        return detail_body(error)

    def not_found(self, request: web.Request) -> ApiError:
        return ApiError(404, "Not Found", code=_NO_ROUTE)

    def malformed_body(self) -> bytes:
        return b'{"voice_id": "truncated", "name": '

    def quota_error(self, request: web.Request) -> ApiError:
        return quota_exceeded(100)

    def fault_error(self, fault: Fault, request: web.Request) -> ApiError:
        if fault.name == "rate_limit":
            shown = f"{fault.number('retry_after', 1):g}"
            return ElevenLabsError(
                429,
                fault.text("code", "rate_limit_exceeded"),
                "Too many requests. You have exceeded the rate limit for this endpoint; wait and try again.",
                type="rate_limit_error",
                headers={"retry-after": shown},
            )
        if fault.name == "server_error":
            return ElevenLabsError(
                500, "internal_server_error", "An internal server error occurred.", type="internal_server_error"
            )
        if fault.name == "unavailable":
            return ElevenLabsError(
                503,
                "service_unavailable",
                "The service is temporarily unavailable. Please try again later.",
                type="service_unavailable",
            )
        if fault.name == "quota_exceeded":
            return self.quota_error(request)
        if fault.name == "content_policy":
            param = "prompt" if request.path.startswith("/v1/music") else "text"
            suggestion = "An instrumental piece with warm strings." if param == "prompt" else None
            return blocked(param, fault.params.get("code"), suggestion=suggestion)
        raise ValueError(f"fault {fault.name} is not answered with an error")
