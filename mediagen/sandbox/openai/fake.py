"""The OpenAI fake: routes, bearer auth, OpenAI's error shape and its answers to scripted faults."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from aiohttp import web

from mediagen.sandbox.faults import Fault, FaultScope
from mediagen.sandbox.openai.images import ImagesEndpoints
from mediagen.sandbox.openai.persist import OpenAIRecords
from mediagen.sandbox.openai.responses import ResponsesEndpoints
from mediagen.sandbox.openai.speech import SpeechEndpoint
from mediagen.sandbox.openai.state import OpenAIState
from mediagen.sandbox.openai.videos import VideoEndpoints
from mediagen.sandbox.records import RecordStore
from mediagen.sandbox.vendor import ApiError, FakeContext, Route, VendorFake

SANDBOX_KEY = "sandbox-key"

_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth "
    "(i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)
_BAD_KEY = "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
_BLOCKED_IMAGE = (
    "Your request was rejected as a result of our safety system. Your request may contain content that is not "
    "allowed by our safety system."
)


class OpenAIFake(VendorFake):
    """Images, Responses (image_generation tool), Videos (Sora) and Speech on /v1, like api.openai.com."""

    name: ClassVar[str] = "openai"

    def __init__(self, context: FakeContext) -> None:
        super().__init__(context)
        store = RecordStore.of(context)
        self._state = OpenAIState(records=None if store is None else OpenAIRecords(store))
        self.images = ImagesEndpoints(self)
        self.responses = ResponsesEndpoints(self)
        self.videos = VideoEndpoints(self)
        self.speech = SpeechEndpoint(self)

    @property
    def state(self) -> OpenAIState:
        return self._state

    def routes(self) -> Iterable[Route]:
        job, download = frozenset({FaultScope.JOB}), frozenset({FaultScope.DOWNLOAD})
        return (
            Route("POST", "/v1/images/generations", self.images.generate, "images.generate"),
            Route("POST", "/v1/images/edits", self.images.edit, "images.edit"),
            Route("POST", "/v1/responses", self.responses.create, "responses.create"),
            Route("GET", "/v1/responses/{response_id}", self.responses.retrieve, "responses.retrieve"),
            Route("DELETE", "/v1/responses/{response_id}", self.responses.delete, "responses.delete"),
            Route("POST", "/v1/videos", self.videos.create, "videos.create", job),
            Route("GET", "/v1/videos", self.videos.list, "videos.list"),
            Route("GET", "/v1/videos/{video_id}", self.videos.retrieve, "videos.retrieve"),
            Route("DELETE", "/v1/videos/{video_id}", self.videos.delete, "videos.delete"),
            Route("GET", "/v1/videos/{video_id}/content", self.videos.content, "videos.content", download),
            Route("POST", "/v1/videos/{video_id}/remix", self.videos.remix, "videos.remix", job),
            Route("POST", "/v1/audio/speech", self.speech.create, "audio.speech", download),
        )

    def base_url(self, origin: str) -> str:
        return f"{origin}/v1"

    def env(self, base_url: str) -> dict[str, str]:
        return {"OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": self.context.settings.api_key or SANDBOX_KEY}

    def authenticate(self, request: web.Request) -> None:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise ApiError(401, _NO_KEY)
        expected = self.context.settings.api_key
        if expected is not None and key.strip() != expected:
            raise ApiError(401, _BAD_KEY, code="invalid_api_key")

    def error_body(self, error: ApiError) -> dict[str, Any]:
        return {"error": {"message": error.message, "type": error.type, "param": error.param, "code": error.code}}

    def fault_error(self, fault: Fault, request: web.Request) -> ApiError:
        if fault.name == "rate_limit":
            seconds = fault.number("retry_after", 1)
            shown = f"{seconds:g}"
            return ApiError(
                429,
                f"Rate limit reached for requests. Please try again in {shown}s.",
                type="requests",
                code="rate_limit_exceeded",
                headers={"retry-after": shown, "x-ratelimit-remaining-requests": "0"},
            )
        if fault.name == "server_error":
            return ApiError(
                500, "The server had an error while processing your request. Sorry about that!", type="server_error"
            )
        if fault.name == "unavailable":
            return ApiError(503, "The server is overloaded or not ready yet.", type="server_error")
        if fault.name == "content_policy":
            return self._content_policy(fault, request.path)
        raise ValueError(f"fault {fault.name} is not answered with an error")

    def quota_error(self, request: web.Request) -> ApiError:
        """OpenAI's answer when the project's credits are spent: a 429 like a rate limit, told apart by its code."""
        return ApiError(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            type="insufficient_quota",
            code="insufficient_quota",
        )

    def _content_policy(self, fault: Fault, path: str) -> ApiError:
        if path.startswith("/v1/images/"):
            return ApiError(
                400,
                _BLOCKED_IMAGE,
                type="image_generation_user_error",
                code=fault.text("code", "moderation_blocked"),
            )
        if path.startswith("/v1/audio/"):
            return ApiError(
                400,
                "Your request was rejected as a result of our safety system.",
                code=fault.text("code", "content_policy_violation"),
            )
        if path.startswith("/v1/videos"):
            return ApiError(
                400, "Your request was blocked by our moderation system.", code=fault.text("code", "moderation_blocked")
            )
        return ApiError(400, _BLOCKED_IMAGE, code=fault.text("code", "moderation_blocked"))
