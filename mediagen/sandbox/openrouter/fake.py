"""The OpenRouter fake: routes, bearer auth, OpenRouter's error shape and its answers to scripted faults."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from aiohttp import web

from mediagen.sandbox.faults import Fault, FaultScope
from mediagen.sandbox.openrouter.catalog import DEFAULT_MODEL, MODELS
from mediagen.sandbox.openrouter.chat import FILES_PATH, ChatEndpoints, OpenRouterError
from mediagen.sandbox.openrouter.state import OpenRouterState
from mediagen.sandbox.vendor import ApiError, FakeContext, Route, VendorFake

SANDBOX_KEY = "sandbox-key"


class OpenRouterFake(VendorFake):
    """Chat completions with image output and the models list on /api/v1, like openrouter.ai."""

    name: ClassVar[str] = "openrouter"

    def __init__(self, context: FakeContext) -> None:
        super().__init__(context)
        self._state = OpenRouterState()
        self.chat = ChatEndpoints(self)

    @property
    def state(self) -> OpenRouterState:
        return self._state

    def routes(self) -> Iterable[Route]:
        download = frozenset({FaultScope.DOWNLOAD})
        return (
            Route("POST", "/api/v1/chat/completions", self.chat.create, "chat.completions"),
            Route("GET", "/api/v1/models", self.chat.models, "models.list"),
            Route("GET", FILES_PATH + "/{token}.png", self.chat.file, "image.file", download),
        )

    def base_url(self, origin: str) -> str:
        return f"{origin}/api/v1"

    def env(self, base_url: str) -> dict[str, str]:
        return {
            "OPENROUTER_API_KEY": self.context.settings.api_key or SANDBOX_KEY,
            "MEDIAGEN_BACKENDS__OPENROUTER__BASE_URL": base_url,
        }

    def authenticate(self, request: web.Request) -> None:
        if request.path.startswith(FILES_PATH + "/"):
            return  # an image URL is a capability URL: whoever has it may fetch it until it expires
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise OpenRouterError(401, "No auth credentials found")
        expected = self.context.settings.api_key
        if expected is not None and key.strip() != expected:
            raise OpenRouterError(401, "User not found.")

    def error_body(self, error: ApiError) -> dict[str, Any]:
        body: dict[str, Any] = {"code": error.status, "message": error.message}
        metadata = getattr(error, "metadata", None)
        if metadata:
            body["metadata"] = metadata
        return {"error": body}

    def not_found(self, request: web.Request) -> ApiError:
        return OpenRouterError(404, "Not Found")

    def malformed_body(self) -> bytes:
        return b'{"id": "gen-truncated", "choices": [{"message": '

    def fault_error(self, fault: Fault, request: web.Request) -> ApiError:
        if fault.name == "rate_limit":
            seconds = f"{fault.number('retry_after', 1):g}"
            return OpenRouterError(
                429,
                "Rate limit exceeded: limit_rpm/google/gemini-3.1-flash-image-preview. High demand for this model; "
                "please retry shortly.",
                headers={"Retry-After": seconds},
            )
        if fault.name == "server_error":
            return OpenRouterError(500, "Internal Server Error")
        if fault.name == "unavailable":
            return OpenRouterError(
                503, "No endpoints available: there is no provider that meets your routing requirements"
            )
        if fault.name == "content_policy":
            return self._flagged(fault)
        raise ValueError(f"fault {fault.name} is not answered with an error")

    def _flagged(self, fault: Fault) -> ApiError:
        """403 with OpenRouter's moderation metadata (reasons, flagged_input, provider_name, model_slug)."""
        reason = fault.text("code", "violence")
        model = MODELS[DEFAULT_MODEL]
        return OpenRouterError(
            403,
            f'{model.id} requires moderation on {model.provider}. Your input was flagged for "{reason}". '
            "No credits were charged.",
            metadata={
                "reasons": [reason],
                "flagged_input": "...",
                "provider_name": model.provider,
                "model_slug": model.id,
            },
        )
