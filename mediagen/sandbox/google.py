"""The Google fake: Gemini generateContent (image, text and audio parts), Vertex Imagen predict (generate and
edit), Veo long-running operations with progress, and file downloads, on one loopback server that both
google-genai modes (Gemini API and Vertex express) talk to unchanged.

Point the SDK at it with `genai.Client(api_key=..., http_options=types.HttpOptions(base_url=URL))`, or with
`vertexai=True` for the Vertex routes. Prompt markers script outcomes per request:
`sandbox:block-prompt` (the prompt is blocked), `sandbox:block-output` (the output is filtered),
`sandbox:no-image` (a text-only answer), `sandbox:never-finish` / `sandbox:fail-job` (Veo operations),
`sandbox:file` (a Veo video delivered as a file to download instead of inline bytes). With a state_dir, Veo
operations and files are kept there too, so another sandbox can poll, download and extend them. The framework's fault
scripts apply too (rate_limit, server_error, unavailable, hang, malformed, content_policy, retired on any route;
job_fails, job_never_finishes, slow_poll on Veo submissions; truncated_download on file downloads).
No key gets the vendor's 403 (Gemini API) or 401 (Vertex); a key other than the sandbox's `api_key`
setting, when one is set, gets Google's API_KEY_INVALID answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import io
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import attrs
import cattrs
from aiohttp import web
from cattrs.errors import BaseValidationError
from PIL import Image

from mediagen.sandbox import media
from mediagen.sandbox.faults import Fault, FaultScope
from mediagen.sandbox.records import RecordStore
from mediagen.sandbox.vendor import ApiError, FakeContext, Handler, Route, VendorFake, fault_of, stream_bytes

log = logging.getLogger("mediagen.sandbox")

GEMINI_ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
GEMINI_IMAGE_SIZES = {"1K": 1024, "2K": 2048, "4K": 4096}
IMAGEN_SIZES = {  # Imagen's pixel sizes at 1K; 2K doubles them
    "1:1": (1024, 1024),
    "3:4": (896, 1280),
    "4:3": (1280, 896),
    "9:16": (768, 1408),
    "16:9": (1408, 768),
}
VOICES = (
    "Zephyr", "Puck", "Charon", "Kore", "Fenrir", "Leda", "Orus", "Aoede", "Callirrhoe", "Autonoe",
    "Enceladus", "Iapetus", "Umbriel", "Algieba", "Despina", "Erinome", "Algenib", "Rasalgethi",
    "Laomedeia", "Achernar", "Alnilam", "Schedar", "Gacrux", "Pulcherrima", "Achird", "Zubenelgenubi",
    "Vindemiatrix", "Sadachbia", "Sadaltager", "Sulafat",
)  # fmt: skip
EDIT_MODES = (
    "EDIT_MODE_DEFAULT", "EDIT_MODE_INPAINT_REMOVAL", "EDIT_MODE_INPAINT_INSERTION", "EDIT_MODE_OUTPAINT",
    "EDIT_MODE_CONTROLLED_EDITING", "EDIT_MODE_STYLE", "EDIT_MODE_BGSWAP", "EDIT_MODE_PRODUCT_IMAGE",
)  # fmt: skip
MASK_MODES = ("MASK_MODE_DEFAULT", "MASK_MODE_USER_PROVIDED", "MASK_MODE_BACKGROUND", "MASK_MODE_FOREGROUND")
VEO_DURATIONS = (4, 6, 8)
VEO_SIZES = {("16:9", "720p"): (1280, 720), ("9:16", "720p"): (720, 1280)}
VEO_SIZES |= {("16:9", "1080p"): (1920, 1080), ("9:16", "1080p"): (1080, 1920)}
PCM_MIME = "audio/L16;codec=pcm;rate=24000"

BLOCK_PROMPT = "sandbox:block-prompt"
BLOCK_OUTPUT = "sandbox:block-output"
NO_IMAGE = "sandbox:no-image"
NEVER_FINISH = "sandbox:never-finish"
FAIL_JOB = "sandbox:fail-job"
FILE_DELIVERY = "sandbox:file"

_VERSION = "{version:v1[a-z0-9]*}"
_VERTEX = _VERSION + "/publishers/google/models/{model:[^/:]+}"
_FULL_VERTEX = _VERSION + "/projects/{project}/locations/{location}/publishers/google/models/{model:[^/:]+}"
#: `publishers/google/models/{model}/operations/{id}`: the names this fake gives Veo operations.
_OPERATION_NAME = re.compile(r"publishers/google/models/[^/:]+/operations/([^/]+)")
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


_JsonMethod = Callable[[web.Request, str, dict[str, Any]], Awaitable[dict[str, Any]]]


class GoogleApiError(ApiError):
    """An error answered in Google's shape: {"error": {"code", "message", "status", "details"}}."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        status: str | None = None,
        details: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code, message, code=status or _STATUS.get(code, "UNKNOWN"), headers=headers)
        self.details = [dict(d) for d in details]


def _invalid(message: str) -> GoogleApiError:
    return GoogleApiError(400, message)


@attrs.frozen
class ReceivedRequest:
    """One request as the fake read it (field names camelCased), for tests to inspect."""

    method: str
    path: str
    model: str
    body: Mapping[str, Any] = attrs.field(repr=False)


@attrs.define
class VeoOperation:
    """A Veo job: done after enough polls unless scripted to fail, be filtered or never finish."""

    name: str
    model: str
    prompt: str
    seconds: int
    width: int
    height: int
    seed: int | None
    outcome: str  # "video", "never", "fail", "filtered"
    delivery: str  # "inline" or "file"
    polls_needed: int
    poll_delay: float = 0.0
    fail_at: int | None = None
    fail_code: int = 13
    polls: int = 0
    video_uri: str | None = None
    source: str | None = None  # the video it extends: a file URI, or "inline"
    file_id: str | None = None  # the file its video is served as, once done (file delivery)


@attrs.frozen
class VideoFile:
    """What a downloadable Veo video is drawn from: the same values always give the same bytes."""

    seconds: float
    width: int
    height: int
    fps: int
    prompt: str
    seed: int | None = None
    min_bytes: int | None = None

    def plan(self) -> media.Mp4Plan:
        return media.plan_mp4(
            self.seconds, self.width, self.height, fps=self.fps, prompt=self.prompt, seed=self.seed,
            min_bytes=self.min_bytes,
        )  # fmt: skip


@attrs.define
class GoogleState:
    """Server-side state: requests, Veo operations, downloadable files, and issued thought signatures."""

    requests: list[ReceivedRequest] = attrs.field(factory=list)
    operations: dict[str, VeoOperation] = attrs.field(factory=dict)
    files: dict[str, media.Mp4Plan] = attrs.field(factory=dict)
    #: thoughtSignature values this server issued; a Gemini 3 chat must send them back with its images.
    #: Any sandbox accepts a signature another one issued (they are signed, not looked up), so a chat continued
    #: in a new process, against a new sandbox, works as it does against the real API.
    signatures: set[bytes] = attrs.field(factory=set)
    #: How Veo videos come back when no prompt marker says otherwise: "inline" bytes or a "file" to download.
    video_delivery: str = "inline"
    #: Where operations and files are also kept when the sandbox has a state_dir (None: memory only).
    records: RecordStore | None = attrs.field(default=None, repr=False)

    def operation(self, name: str) -> VeoOperation | None:
        """A Veo operation by name: this sandbox's, else one any sandbox kept in the shared state_dir."""
        found = self.operations.get(name)
        match = _OPERATION_NAME.fullmatch(name)
        if found is None and self.records is not None and match is not None:
            found = _read(self.records, _OPERATIONS, match[1], VeoOperation)
            if found is not None and found.name == name:
                self.operations[name] = found
            else:
                found = None
        return found

    def keep_operation(self, operation: VeoOperation) -> None:
        """Remember a new or polled operation (written through to the state_dir, so other sandboxes see it)."""
        self.operations[operation.name] = operation
        match = _OPERATION_NAME.fullmatch(operation.name)
        if self.records is not None and match is not None:
            self.records.save(_OPERATIONS, match[1], _converter.unstructure(operation))

    def video_file(self, file_id: str) -> VideoFile | None:
        """What a downloadable video kept in the shared state_dir is drawn from (None: no such file there)."""
        return None if self.records is None else _read(self.records, _FILES, file_id, VideoFile)

    def has_file(self, file_id: str) -> bool:
        return file_id in self.files or self.video_file(file_id) is not None

    def keep_file(self, file_id: str, plan: media.Mp4Plan, drawn_from: VideoFile) -> None:
        self.files[file_id] = plan
        if self.records is not None:
            self.records.save(_FILES, file_id, _converter.unstructure(drawn_from))

    def requests_to(self, method: str) -> list[ReceivedRequest]:
        """Requests whose path ends with `:method` (e.g. "generateContent", "predict")."""
        return [r for r in self.requests if r.path.endswith(f":{method}")]


class GoogleFake(VendorFake):
    """Gemini API and Vertex routes on one server: google-genai in either mode talks to it unchanged."""

    name: ClassVar[str] = "google"

    def __init__(self, context: FakeContext) -> None:
        super().__init__(context)
        self._state = GoogleState(records=RecordStore.of(context))

    @property
    def state(self) -> GoogleState:
        return self._state

    def routes(self) -> Iterable[Route]:
        yield Route(
            "POST", f"/{_VERSION}/models/{{model:[^/:]+}}:generateContent", self._json(self._generate_content), "gemini"
        )
        for prefix, label in ((_VERTEX, "vertex"), (_FULL_VERTEX, "vertex-project")):
            yield Route("POST", f"/{prefix}:generateContent", self._json(self._generate_content), f"{label}.generate")
            yield Route("POST", f"/{prefix}:predict", self._json(self._predict), f"{label}.predict")
            yield Route(
                "POST", f"/{prefix}:predictLongRunning", self._json(self._predict_long_running), f"{label}.submit",
                frozenset({FaultScope.JOB}),
            )  # fmt: skip
            yield Route("POST", f"/{prefix}:fetchPredictOperation", self._json(self._fetch_operation), f"{label}.poll")
        yield Route(
            "GET", f"/{_VERSION}/files/{{file_id:[A-Za-z0-9_-]+}}:download", self._download, "download",
            frozenset({FaultScope.DOWNLOAD}),
        )  # fmt: skip

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
            "status": error.code or _STATUS.get(error.status, "UNKNOWN"),
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
        return _invalid(
            fault.text(
                "message",
                "The prompt could not be submitted. This prompt contains sensitive words that violate "
                "Google's Responsible AI practices. Try rephrasing the prompt.",
            )
        )

    def _json(self, method: _JsonMethod) -> Handler:
        """A handler that reads and records the JSON body, then answers what `method` returns as JSON."""

        async def handle(request: web.Request) -> web.StreamResponse:
            body = await _json_body(request)
            self._record(request, body)
            return web.json_response(await method(request, request.match_info["model"], body))

        return handle

    def _record(self, request: web.Request, body: Mapping[str, Any]) -> None:
        self._state.requests.append(
            ReceivedRequest(request.method, request.path, request.match_info.get("model", ""), body)
        )

    # -- Gemini generateContent ---------------------------------------------------------------------------------

    async def _generate_content(self, request: web.Request, model: str, body: dict[str, Any]) -> dict[str, Any]:
        contents = _contents(body)
        config = _object(body.get("generationConfig", {}), "generation_config")
        modalities = [str(m).upper() for m in _list(config.get("responseModalities", ["TEXT"]), "response_modalities")]
        for modality in modalities:
            if modality not in ("TEXT", "IMAGE", "AUDIO"):
                raise _invalid(f"Invalid value at 'generation_config.response_modalities': {modality!r}")
        is_image_model, is_tts_model = "image" in model, "tts" in model
        if "IMAGE" in modalities and not is_image_model:
            raise _invalid(f"Model {model} does not support the requested response modalities: image")
        if "AUDIO" in modalities and not is_tts_model:
            raise _invalid(f"Model {model} does not support the requested response modalities: audio")
        if is_tts_model and "AUDIO" not in modalities:
            raise _invalid(f"Model {model} only supports audio output; set response_modalities to ['AUDIO']")
        if model.startswith("gemini-3"):
            self._check_signatures(contents)
        prompt = " ".join(str(part["text"]) for part in contents[-1]["parts"] if "text" in part)
        usage = {"promptTokenCount": max(1, len(prompt) // 4), "candidatesTokenCount": 0}
        answer: dict[str, Any] = {"modelVersion": model, "responseId": uuid.uuid4().hex, "usageMetadata": usage}
        if BLOCK_PROMPT in prompt:
            feedback = {"blockReason": "SAFETY", "blockReasonMessage": "The prompt was blocked by the sandbox."}
            return {**answer, "promptFeedback": feedback}
        if BLOCK_OUTPUT in prompt:
            reason = "IMAGE_SAFETY" if "IMAGE" in modalities else "SAFETY"
            rating = {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
            candidate = {
                "finishReason": reason,
                "finishMessage": "The output was filtered by the sandbox.",
                "safetyRatings": [rating],
                "index": 0,
            }
            return {**answer, "candidates": [candidate]}
        if "AUDIO" in modalities:
            parts = [self._speech_part(config, prompt)]
        elif "IMAGE" in modalities and NO_IMAGE not in prompt:
            parts = [
                {"text": f"Here is the image: {prompt[:80]}"},
                await self._image_part(model, config, contents, prompt),
            ]
        else:
            parts = [{"text": f"The sandbox read: {prompt[:200]}"}]
        usage["candidatesTokenCount"] = 258 * len(parts)
        usage["totalTokenCount"] = usage["promptTokenCount"] + usage["candidatesTokenCount"]
        candidate = {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        return {**answer, "candidates": [candidate]}

    def _check_signatures(self, contents: Sequence[Mapping[str, Any]]) -> None:
        """Gemini 3 image models need every image the model made sent back with its thought signature."""
        for position, content in enumerate(contents):
            if content.get("role") != "model":
                continue
            for index, part in enumerate(content["parts"]):
                signature = part.get("thoughtSignature")
                if "inlineData" in part and signature is None:
                    raise _invalid(
                        f"Image part is missing a thought_signature in content position {position + 1}, "
                        f"part position {index + 1}. Send back the model's parts unchanged."
                    )
                if signature is not None and not _signed(_decode(signature)):
                    raise _invalid(f"Corrupted thought signature in content position {position + 1}.")

    async def _image_part(
        self, model: str, config: Mapping[str, Any], contents: Sequence[Mapping[str, Any]], prompt: str
    ) -> dict[str, Any]:
        image_config = _object(config.get("imageConfig", {}), "generation_config.image_config")
        aspect = image_config.get("aspectRatio")
        if aspect is not None and aspect not in GEMINI_ASPECT_RATIOS:
            raise _invalid(f"Unsupported aspect ratio {aspect!r}; use one of {', '.join(GEMINI_ASPECT_RATIOS)}")
        tier = image_config.get("imageSize")
        if tier is not None:
            if not model.startswith("gemini-3"):
                raise _invalid(f"image_size is not supported by {model}")
            if tier not in GEMINI_IMAGE_SIZES:
                raise _invalid(f"Unsupported image size {tier!r}; use one of 1K, 2K, 4K")
        sources = [_decode(part["inlineData"]["data"]) for part in contents[-1]["parts"] if "inlineData" in part]
        if not sources:  # continuing a chat: edit the last image the model made
            sources = [
                _decode(part["inlineData"]["data"])
                for content in contents[:-1]
                if content.get("role") == "model"
                for part in content["parts"]
                if "inlineData" in part
            ][-1:]
        for source in sources:
            _check_image(source, "contents.parts.inline_data")
        if aspect is not None:
            ratio = _ratio(aspect)
        elif sources:
            width, height = media.image_size(sources[0])
            ratio = width / height
        else:
            ratio = 1.0
        long_side = GEMINI_IMAGE_SIZES[tier or "1K"]
        width, height = (long_side, round(long_side / ratio)) if ratio >= 1 else (round(long_side * ratio), long_side)
        seed = config.get("seed")
        if sources:
            data = await asyncio.to_thread(media.derive, sources, width, height, "png", prompt=prompt)
        else:
            data = await asyncio.to_thread(media.image, width, height, "png", prompt=prompt, seed=seed)
        part: dict[str, Any] = {"inlineData": {"mimeType": "image/png", "data": _encode(data)}}
        if model.startswith("gemini-3"):
            signature = _sign(uuid.uuid4().bytes)
            self._state.signatures.add(signature)
            part["thoughtSignature"] = _encode(signature)
        return part

    def _speech_part(self, config: Mapping[str, Any], prompt: str) -> dict[str, Any]:
        speech = _object(config.get("speechConfig", {}), "generation_config.speech_config")
        voice_config = _object(speech.get("voiceConfig", {}), "speech_config.voice_config")
        prebuilt = _object(voice_config.get("prebuiltVoiceConfig", {}), "voice_config.prebuilt_voice_config")
        voice = prebuilt.get("voiceName", "Kore")
        if voice not in VOICES:
            raise _invalid(f"Voice name {voice!r} is not supported. Allowed voice names are: {', '.join(VOICES)}")
        if not prompt.strip():
            raise _invalid("Speech generation needs text to speak")
        seconds = min(max(len(prompt) * 0.06, 0.5), 30.0)
        pcm = media.speech("pcm", seconds, seed=VOICES.index(voice))
        return {"inlineData": {"mimeType": PCM_MIME, "data": _encode(pcm)}}

    # -- Vertex predict: Imagen generate and edit ---------------------------------------------------------------

    async def _predict(self, request: web.Request, model: str, body: dict[str, Any]) -> dict[str, Any]:
        instance = _single_instance(body)
        params = _object(body.get("parameters", {}), "parameters")
        prompt = instance.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise _invalid("instances[0].prompt is required and must not be empty")
        count = params.get("sampleCount", 4)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 4:
            raise _invalid(f"parameters.sampleCount must be 1 to 4, not {count!r}")
        seed = params.get("seed")
        if seed is not None:
            if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
                raise _invalid(f"parameters.seed must be an unsigned 32-bit integer, not {seed!r}")
            if params.get("addWatermark", True):
                raise _invalid("Seed is not supported when add_watermark is enabled; set addWatermark to false")
        for name in ("negativePrompt", "personGeneration"):
            if name in params and not isinstance(params[name], str):
                raise _invalid(f"parameters.{name} must be a string")
        options = _object(params.get("outputOptions", {}), "parameters.output_options")
        mime = options.get("mimeType", "image/png")
        if mime not in ("image/png", "image/jpeg"):
            raise _invalid(f"parameters.outputOptions.mimeType must be image/png or image/jpeg, not {mime!r}")
        fmt = "jpeg" if mime == "image/jpeg" else "png"
        if BLOCK_PROMPT in prompt or BLOCK_OUTPUT in prompt:
            if params.get("includeRaiReason"):
                reason = "The output was filtered by the sandbox's Responsible AI check (sandbox marker)."
                return {"predictions": [{"raiFilteredReason": reason}]}
            return {}
        if "referenceImages" in instance:
            images = [await self._edit(model, instance, params, prompt, fmt)] * count
        else:
            images = [await self._imagen_generate(model, params, prompt, fmt, seed, index) for index in range(count)]
        return {"predictions": [{"bytesBase64Encoded": _encode(data), "mimeType": mime} for data in images]}

    async def _imagen_generate(
        self, model: str, params: Mapping[str, Any], prompt: str, fmt: str, seed: int | None, index: int
    ) -> bytes:
        if not model.startswith("imagen-") or "capability" in model:
            raise _invalid(f"{model} does not generate images from text on this endpoint")
        aspect = params.get("aspectRatio", "1:1")
        if aspect not in IMAGEN_SIZES:
            raise _invalid(f"Unsupported aspect ratio {aspect!r}; use one of {', '.join(IMAGEN_SIZES)}")
        tier = params.get("sampleImageSize", "1K")
        if tier not in ("1K", "2K"):
            raise _invalid(f"parameters.sampleImageSize must be 1K or 2K, not {tier!r}")
        width, height = IMAGEN_SIZES[aspect]
        scale = 2 if tier == "2K" else 1
        seed_used = None if seed is None else seed + index
        return await asyncio.to_thread(media.image, width * scale, height * scale, fmt, prompt=prompt, seed=seed_used)

    async def _edit(
        self, model: str, instance: Mapping[str, Any], params: Mapping[str, Any], prompt: str, fmt: str
    ) -> bytes:
        if "capability" not in model:
            raise _invalid(f"{model} does not support image editing; use imagen-3.0-capability-001")
        references = _list(instance["referenceImages"], "instances[0].reference_images")
        raw: bytes | None = None
        mask: bytes | None = None
        for position, item in enumerate(references):
            reference = _object(item, f"reference_images[{position}]")
            kind = reference.get("referenceType")
            if not isinstance(reference.get("referenceId"), int):
                raise _invalid(f"reference_images[{position}].reference_id must be an integer")
            image = _object(reference.get("referenceImage", {}), f"reference_images[{position}].reference_image")
            if kind == "REFERENCE_TYPE_RAW":
                if raw is not None:
                    raise _invalid("Only one raw reference image is allowed")
                raw = _check_image(_decode(image.get("bytesBase64Encoded")), f"reference_images[{position}]")
            elif kind == "REFERENCE_TYPE_MASK":
                mask_config = _object(reference.get("maskImageConfig", {}), "mask_image_config")
                mode = mask_config.get("maskMode", "MASK_MODE_DEFAULT")
                if mode not in MASK_MODES:
                    raise _invalid(f"mask_image_config.mask_mode {mode!r} is not one of {', '.join(MASK_MODES)}")
                dilation = mask_config.get("dilation")
                if dilation is not None and (not isinstance(dilation, (int, float)) or not 0 <= dilation <= 1):
                    raise _invalid("mask_image_config.dilation must be between 0 and 1")
                if mode == "MASK_MODE_USER_PROVIDED":
                    mask = _check_image(_decode(image.get("bytesBase64Encoded")), f"reference_images[{position}]")
            else:
                raise _invalid(f"reference_images[{position}].reference_type {kind!r} is not supported here")
        if raw is None:
            raise _invalid("An edit needs one REFERENCE_TYPE_RAW reference image")
        mode = params.get("editMode", "EDIT_MODE_DEFAULT")
        if mode not in EDIT_MODES:
            raise _invalid(f"parameters.editMode {mode!r} is not one of {', '.join(EDIT_MODES)}")
        if mode in ("EDIT_MODE_INPAINT_INSERTION", "EDIT_MODE_INPAINT_REMOVAL", "EDIT_MODE_OUTPAINT") and not any(
            _object(r, "ref").get("referenceType") == "REFERENCE_TYPE_MASK" for r in references
        ):
            raise _invalid(f"{mode} needs a REFERENCE_TYPE_MASK reference image")
        width, height = media.image_size(raw)
        alpha_mask = None if mask is None else _white_to_transparent(mask)
        return await asyncio.to_thread(media.derive, [raw], width, height, fmt, prompt=prompt, mask=alpha_mask)

    # -- Veo: predictLongRunning, fetchPredictOperation, file download ------------------------------------------

    async def _predict_long_running(self, request: web.Request, model: str, body: dict[str, Any]) -> dict[str, Any]:
        if not model.startswith("veo-"):
            raise _invalid(f"{model} does not generate videos")
        instance = _single_instance(body)
        params = _object(body.get("parameters", {}), "parameters")
        prompt = instance.get("prompt", "")
        if not isinstance(prompt, str):
            raise _invalid("instances[0].prompt must be a string")
        image = self._frame(instance, "image")
        last = self._frame(instance, "lastFrame")
        video = self._source_video(instance)
        references = _list(instance.get("referenceImages", []), "instances[0].reference_images")
        if not prompt.strip() and image is None and video is None:
            raise _invalid("instances[0] needs a prompt, an image or a video")
        if len(references) > 3:
            raise _invalid(f"At most 3 reference images are supported, got {len(references)}")
        for position, item in enumerate(references):
            reference = _object(item, f"reference_images[{position}]")
            if str(reference.get("referenceType", "")).lower() not in ("asset", "style"):
                raise _invalid(f"reference_images[{position}].reference_type must be asset or style")
            self._frame(reference, "image", required=True)
        if references and not model.startswith("veo-3.1-generate"):
            raise _invalid(f"{model} does not support reference images")
        if references and image is not None:
            raise _invalid("Reference images cannot be combined with a starting image")
        if last is not None and (image is None or not model.startswith("veo-3.1")):
            raise _invalid("last_frame needs an image and a veo-3.1 model")
        count = params.get("sampleCount", 1)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 4:
            raise _invalid(f"parameters.sampleCount must be 1 to 4, not {count!r}")
        seconds = params.get("durationSeconds", 8)
        if seconds not in VEO_DURATIONS or isinstance(seconds, bool):
            raise _invalid(f"parameters.durationSeconds must be one of 4, 6, 8, not {seconds!r}")
        aspect = params.get("aspectRatio", "16:9")
        resolution = params.get("resolution", "720p")
        if (aspect, resolution) not in VEO_SIZES:
            raise _invalid(f"Unsupported aspect ratio / resolution {aspect!r} / {resolution!r}")
        if resolution == "1080p" and seconds != 8:
            raise _invalid("1080p videos must be 8 seconds long")
        if references and (seconds != 8 or aspect != "16:9"):
            raise _invalid("Reference images need durationSeconds 8 and aspectRatio 16:9")
        if video is not None and resolution != "720p":
            raise _invalid("Video extension supports 720p only")
        for name, kind in (("generateAudio", bool), ("enhancePrompt", bool), ("negativePrompt", str)):
            if name in params and not isinstance(params[name], kind):
                raise _invalid(f"parameters.{name} must be a {kind.__name__}")
        seed = params.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32):
            raise _invalid(f"parameters.seed must be an unsigned 32-bit integer, not {seed!r}")
        if BLOCK_PROMPT in prompt:
            raise _invalid("The prompt could not be submitted: it violates the usage guidelines (sandbox marker).")
        width, height = VEO_SIZES[(aspect, resolution)]
        name = f"publishers/google/models/{model}/operations/{uuid.uuid4()}"
        operation = VeoOperation(
            name, model, prompt, seconds, width, height, seed,
            outcome=_outcome(prompt),
            delivery="file" if FILE_DELIVERY in prompt else self._state.video_delivery,
            polls_needed=self.context.settings.job_polls,
            source=None if video is None else (video if isinstance(video, str) else "inline"),
        )  # fmt: skip
        _apply_job_fault(operation, fault_of(request))
        self._state.keep_operation(operation)
        return {"name": name}

    def _frame(self, holder: Mapping[str, Any], key: str, *, required: bool = False) -> bytes | None:
        value = holder.get(key)
        if value is None:
            if required:
                raise _invalid(f"{key} is required")
            return None
        image = _object(value, key)
        if "gcsUri" in image:
            raise _invalid(f"{key}.gcsUri cannot be read by the sandbox; send bytesBase64Encoded")
        return _check_image(_decode(image.get("bytesBase64Encoded")), key)

    def _source_video(self, instance: Mapping[str, Any]) -> bytes | str | None:
        value = instance.get("video")
        if value is None:
            return None
        video = _object(value, "instances[0].video")
        uri = video.get("gcsUri")
        if uri is not None:
            match = re.search(r"files/([A-Za-z0-9_-]+)", str(uri))
            if match is None or not self._state.has_file(match[1]):
                raise _invalid(f"instances[0].video.gcsUri {uri!r} is not a video this server made")
            return str(uri)
        data = _decode(video.get("bytesBase64Encoded"))
        if data[4:8] != b"ftyp":
            raise _invalid("instances[0].video is not an MP4 video")
        return data

    async def _fetch_operation(self, request: web.Request, model: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body.get("operationName")
        operation = self._state.operation(name) if isinstance(name, str) else None
        if operation is None or operation.model != model:
            raise GoogleApiError(404, f"Operation {name!r} was not found")
        if operation.poll_delay and await self.context.pause(operation.poll_delay):
            raise GoogleApiError(503, "The sandbox is shutting down.")
        operation.polls += 1
        self._state.keep_operation(operation)
        failing = operation.outcome == "fail" and operation.fail_at is not None and operation.polls >= operation.fail_at
        if not failing and (operation.outcome == "never" or operation.polls < operation.polls_needed):
            percent = 99 if operation.outcome == "never" else int(100 * operation.polls / operation.polls_needed)
            return {"name": name, "done": False, "metadata": {"progressPercent": min(percent, 99)}}
        done: dict[str, Any] = {"name": name, "done": True, "metadata": {"progressPercent": 100}}
        if operation.outcome == "fail":
            error = {"code": operation.fail_code, "message": "Video generation failed (sandbox scripted failure)."}
            return {**done, "error": error}
        if operation.outcome == "filtered":
            reasons = ["The video was filtered by the sandbox's safety check (sandbox marker)."]
            return {**done, "response": {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": reasons}}
        video = await self._video(request, operation)
        response = {"@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"}
        return {**done, "response": {**response, "videos": [video], "raiMediaFilteredCount": 0}}

    async def _video(self, request: web.Request, operation: VeoOperation) -> dict[str, Any]:
        settings = self.context.settings
        drawn_from = VideoFile(
            operation.seconds, operation.width, operation.height, settings.video_fps, operation.prompt,
            operation.seed, settings.video_min_bytes,
        )  # fmt: skip
        if operation.delivery == "file" and operation.file_id is not None:
            plan = None  # already made: only its address is needed
        else:
            plan = await asyncio.to_thread(drawn_from.plan)
        if operation.delivery == "file":
            if operation.file_id is None:
                assert plan is not None
                operation.file_id = uuid.uuid4().hex[:16]
                self._state.keep_file(operation.file_id, plan, drawn_from)
                self._state.keep_operation(operation)
            # The address of this server, which may not be the one that made the file (they share a state_dir).
            operation.video_uri = f"{request.url.origin()}/v1/files/{operation.file_id}:download?alt=media"
            return {"gcsUri": operation.video_uri, "mimeType": "video/mp4"}
        assert plan is not None
        data = b"".join(bytes(chunk) for chunk in plan.chunks())
        return {"bytesBase64Encoded": _encode(data), "mimeType": "video/mp4"}

    async def _download(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        if request.query.get("alt") != "media":
            raise _invalid("Add alt=media to download the file's bytes")
        plan = self._state.files.get(file_id)
        if plan is None:
            drawn_from = self._state.video_file(file_id)
            if drawn_from is None:
                raise GoogleApiError(404, f"File files/{file_id} was not found")
            plan = self._state.files[file_id] = await asyncio.to_thread(drawn_from.plan)

        async def chunks() -> AsyncIterator[bytes | memoryview]:
            for chunk in plan.chunks():
                yield chunk

        return await stream_bytes(request, chunks(), content_type="video/mp4", length=plan.size)


_OPERATIONS, _FILES = "operations", "files"
_converter = cattrs.Converter()
_Kept = TypeVar("_Kept")


def _read(records: RecordStore, kind: str, record_id: str, cls: type[_Kept]) -> _Kept | None:
    """A record structured as `cls`; a missing, unsafe or malformed one is None (a malformed one is logged)."""
    record = records.load(kind, record_id)
    if record is None:
        return None
    try:
        return _converter.structure(record.data, cls)
    except (BaseValidationError, KeyError, TypeError, ValueError) as exc:
        log.warning("sandbox record %s/%s is not a valid %s record, ignoring it: %s", kind, record_id, kind, exc)
        return None


def _outcome(prompt: str) -> str:
    if NEVER_FINISH in prompt:
        return "never"
    if FAIL_JOB in prompt:
        return "fail"
    if BLOCK_OUTPUT in prompt:
        return "filtered"
    return "video"


def _apply_job_fault(operation: VeoOperation, fault: Fault | None) -> None:
    """job_fails, job_never_finishes and slow_poll from the framework's fault scripts."""
    if fault is None:
        return
    if fault.name == "job_never_finishes":
        operation.outcome = "never"
    elif fault.name == "job_fails":
        operation.outcome = "fail"
        at = fault.params.get("at")
        operation.fail_at = None if at is None else max(1, int(fault.number("at", 1)))
        code = fault.params.get("code")
        operation.fail_code = int(code) if code is not None and code.isdigit() else 13
    elif fault.name == "slow_poll":
        operation.polls_needed = max(1, int(fault.number("polls", 10)))
        operation.poll_delay = fault.number("delay", 0.2)


# --- request body helpers ---------------------------------------------------------------------------------------


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        raise _invalid("Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise _invalid("Invalid JSON payload received. The request body must be a JSON object.")
    return _camel_keys(body)  # type: ignore[no-any-return]


def _camel_keys(value: Any) -> Any:
    """Google's JSON parsing accepts field names in lowerCamelCase and in snake_case (proto3 JSON), and
    google-genai 3.6 does send some nested ones snake_cased (`inlineData: {"mime_type": ...}` in chat history)."""
    if isinstance(value, dict):
        return {re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), k): _camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel_keys(item) for item in value]
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"Invalid value at '{where}': expected an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(f"Invalid value at '{where}': expected a list")
    return value


def _single_instance(body: Mapping[str, Any]) -> dict[str, Any]:
    instances = _list(body.get("instances"), "instances")
    if len(instances) != 1:
        raise _invalid(f"Exactly one instance is supported, got {len(instances)}")
    return _object(instances[0], "instances[0]")


def _contents(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    contents = _list(body.get("contents"), "contents")
    if not contents:
        raise _invalid("* GenerateContentRequest.contents: contents is not specified")
    for position, value in enumerate(contents):
        content = _object(value, f"contents[{position}]")
        role = content.get("role", "user")
        if role not in ("user", "model"):
            raise _invalid(f"Please use a valid role: user, model (contents[{position}].role is {role!r})")
        parts = _list(content.get("parts"), f"contents[{position}].parts")
        if not parts:
            raise _invalid(f"* GenerateContentRequest.contents[{position}].parts: contents.parts must not be empty")
        for index, item in enumerate(parts):
            part = _object(item, f"contents[{position}].parts[{index}]")
            data_fields = [
                k for k in ("text", "inlineData", "fileData", "functionCall", "functionResponse") if k in part
            ]
            if len(data_fields) != 1:
                raise _invalid(f"contents[{position}].parts[{index}] must have exactly one data field")
            if "inlineData" in part:
                blob = _object(part["inlineData"], f"contents[{position}].parts[{index}].inline_data")
                if not isinstance(blob.get("mimeType"), str):
                    raise _invalid(f"contents[{position}].parts[{index}].inline_data.mime_type is required")
                _decode(blob.get("data"))
    if contents[-1].get("role", "user") != "user":
        raise _invalid("The last content must come from the user role")
    return contents


def _decode(value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise _invalid("Inline data must be base64-encoded bytes")
    try:
        # proto3 JSON takes the standard and the URL-safe alphabet; pydantic (so google-genai) sends URL-safe.
        return base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("Invalid value: inline data is not valid base64") from None


#: Signs thought signatures so every sandbox, in any process, recognises the ones a sandbox issued.
_SIGNATURE_KEY = b"mediagen-sandbox-thought-signature"


def _sign(nonce: bytes) -> bytes:
    return nonce + hmac.new(_SIGNATURE_KEY, nonce, hashlib.sha256).digest()[:16]


def _signed(signature: bytes) -> bool:
    nonce, tag = signature[:-16], signature[-16:]
    return bool(nonce) and hmac.compare_digest(tag, hmac.new(_SIGNATURE_KEY, nonce, hashlib.sha256).digest()[:16])


def _encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _check_image(data: bytes, where: str) -> bytes:
    try:
        media.open_image(data)
    except Exception:  # Pillow raises several types for undecodable bytes
        raise _invalid(f"{where}: the image could not be decoded; send PNG, JPEG or WebP bytes") from None
    return data


def _ratio(text: str) -> float:
    width, _, height = text.partition(":")
    return int(width) / int(height)


def _white_to_transparent(mask: bytes) -> bytes:
    """Imagen masks mark the area to change in white; media.derive paints where a mask is transparent."""
    grey = media.open_image(mask).convert("L")
    alpha = grey.point(lambda value: 0 if value >= 128 else 255)
    rgba = Image.new("RGBA", grey.size, (0, 0, 0, 255))
    rgba.putalpha(alpha)
    out = io.BytesIO()
    rgba.save(out, "PNG")
    return out.getvalue()
