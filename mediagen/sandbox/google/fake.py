"""The Google fake: Gemini generateContent (image, text and audio parts), Vertex Imagen predict (generate and
edit) and Veo long-running operations, on one loopback server that both google-genai modes
(Gemini API and Vertex express) talk to unchanged.

Point the SDK at it with `genai.Client(api_key=..., http_options=types.HttpOptions(base_url=URL))`, or with
`vertexai=True` for the Vertex routes. Prompt markers script outcomes per request:
`sandbox:block-prompt` (the prompt is blocked), `sandbox:block-output` (the output is filtered),
`sandbox:no-image` (a text-only answer), `sandbox:never-finish` / `sandbox:fail-job` (Veo operations).
Requests are read as Google reads them: a field its published schema lacks, a value of the wrong type or an
unknown enum value is refused with 400 INVALID_ARGUMENT (see `schema`). With a state_dir, Veo operations and the
videos written under a `storageUri` are kept there too, so another sandbox can poll and extend them. The
framework's fault scripts apply too (rate_limit, server_error, unavailable, hang, malformed, content_policy,
retired on any route; job_fails, job_never_finishes, slow_poll on Veo submissions).
No key gets the vendor's 403 (Gemini API) or 401 (Vertex); a key other than the sandbox's `api_key`
setting, when one is set, gets Google's API_KEY_INVALID answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar

from aiohttp import web

from mediagen.sandbox.faults import Fault, FaultScope
from mediagen.sandbox.google import schema
from mediagen.sandbox.google.content import ContentEndpoint
from mediagen.sandbox.google.imagen import PredictEndpoint
from mediagen.sandbox.google.state import GoogleState, ReceivedRequest
from mediagen.sandbox.google.veo import VeoEndpoints
from mediagen.sandbox.google.wire import STATUS, GoogleApiError, camel_keys, invalid, json_body
from mediagen.sandbox.records import RecordStore
from mediagen.sandbox.vendor import ApiError, FakeContext, Handler, Route, VendorFake

_VERSION = "{version:v1[a-z0-9]*}"
_VERTEX = _VERSION + "/publishers/google/models/{model:[^/:]+}"
_FULL_VERTEX = _VERSION + "/projects/{project}/locations/{location}/publishers/google/models/{model:[^/:]+}"

_GEMINI_GENERATE = "GenerateContentRequest"
_VERTEX_GENERATE = "GoogleCloudAiplatformV1beta1GenerateContentRequest"
_PREDICT = "GoogleCloudAiplatformV1beta1PredictRequest"
_SUBMIT = "GoogleCloudAiplatformV1beta1PredictLongRunningRequest"
_POLL = "GoogleCloudAiplatformV1beta1FetchPredictOperationRequest"
_JsonMethod = Callable[[web.Request, str, dict[str, Any]], Awaitable[dict[str, Any]]]


class GoogleFake(VendorFake):
    """Gemini API and Vertex routes on one server: google-genai in either mode talks to it unchanged."""

    name: ClassVar[str] = "google"

    def __init__(self, context: FakeContext) -> None:
        super().__init__(context)
        self._state = GoogleState(records=RecordStore.of(context))
        self.content = ContentEndpoint(self)
        self.imagen = PredictEndpoint(self)
        self.veo = VeoEndpoints(self)

    @property
    def state(self) -> GoogleState:
        return self._state

    def routes(self) -> Iterable[Route]:
        generate = self._json(self.content.generate, "gemini", _GEMINI_GENERATE)
        yield Route("POST", f"/{_VERSION}/models/{{model:[^/:]+}}:generateContent", generate, "gemini")
        vertex_generate = self._json(self.content.generate, "vertex", _VERTEX_GENERATE)
        predict = self._json(self.imagen.predict, "vertex", _PREDICT)
        submit = self._json(self.veo.submit, "vertex", _SUBMIT)
        poll = self._json(self.veo.poll, "vertex", _POLL)
        for prefix, label in ((_VERTEX, "vertex"), (_FULL_VERTEX, "vertex-project")):
            yield Route("POST", f"/{prefix}:generateContent", vertex_generate, f"{label}.generate")
            yield Route("POST", f"/{prefix}:predict", predict, f"{label}.predict")
            yield Route("POST", f"/{prefix}:predictLongRunning", submit, f"{label}.submit", frozenset({FaultScope.JOB}))
            yield Route("POST", f"/{prefix}:fetchPredictOperation", poll, f"{label}.poll")

    def base_url(self, origin: str) -> str:
        return origin  # google-genai appends /v1/... (Gemini API) or /v1beta1/... (Vertex) itself

    def env(self, base_url: str) -> dict[str, str]:
        return {
            "GOOGLE_API_KEY": self.context.settings.api_key or "sandbox-google-key",
            "GOOGLE_GEMINI_BASE_URL": base_url,
            "GOOGLE_VERTEX_BASE_URL": base_url,
        }

    def authenticate(self, request: web.Request) -> None:
        vertex = "/publishers/google/" in request.path
        key = request.headers.get("x-goog-api-key", "").strip()
        if not key:
            if vertex:
                raise GoogleApiError(
                    401,
                    "Request is missing required authentication credential. Expected OAuth 2 access token, "
                    "login cookie or other valid authentication credential.",
                )
            raise GoogleApiError(
                403,
                "Method doesn't allow unregistered callers (callers without established identity). "
                "Please use API Key or other form of API consumer identity to call this API.",
            )
        wanted = self.context.settings.api_key
        if wanted is not None and key != wanted:
            info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
            # The Gemini API answers a wrong key with 400; Vertex with 401.
            raise GoogleApiError(
                401 if vertex else 400, "API key not valid. Please pass a valid API key.", details=[info]
            )

    def error_body(self, error: ApiError) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": error.status,
            "message": error.message,
            "status": error.code or STATUS.get(error.status, "UNKNOWN"),
        }
        details = getattr(error, "details", None)
        if details:
            body["details"] = details
        return {"error": body}

    def not_found(self, request: web.Request) -> ApiError:
        return GoogleApiError(404, f"The requested URL {request.path} was not found on this server.")

    def malformed_body(self) -> bytes:
        return b'{"candidates": [{"content": '

    def fault_error(self, fault: Fault, request: web.Request) -> ApiError:
        if fault.name == "rate_limit":
            seconds = fault.number("retry_after", 1)
            retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{seconds:g}s"}
            return GoogleApiError(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                details=[retry],
                headers={"Retry-After": f"{seconds:g}"},
            )
        if fault.name == "server_error":
            return GoogleApiError(
                500, "An internal error has occurred. Please retry or report in the troubleshooting guide."
            )
        if fault.name == "unavailable":
            return GoogleApiError(503, "The model is overloaded. Please try again later.")
        return invalid(
            fault.text(
                "message",
                "The prompt could not be submitted. This prompt contains sensitive words that violate "
                "Google's Responsible AI practices. Try rephrasing the prompt.",
            )
        )

    def _json(self, method: _JsonMethod, api: str, message: str) -> Handler:
        """A handler that reads and records the JSON body, refuses it as Google does when it does not read as
        `message` of `api`'s published schema, then answers what `method` returns as JSON."""

        async def handle(request: web.Request) -> web.StreamResponse:
            sent = await json_body(request)
            body = camel_keys(sent)
            self._record(request, sent, body)
            schema.check(sent, api, message)
            answer = await method(request, request.match_info["model"], body)
            self._state.answers.append((request.path, answer))
            return web.json_response(answer)

        return handle

    def _record(self, request: web.Request, sent: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        model = request.match_info.get("model", "")
        self._state.requests.append(ReceivedRequest(request.method, request.path, model, body, sent))
