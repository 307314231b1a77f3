"""The Google fake held to Google's published API descriptions: what it refuses, and what it answers."""

from __future__ import annotations

import base64
import inspect
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import types

from mediagen.sandbox import media
from mediagen.sandbox.google import GoogleState, catalog
from mediagen.sandbox.google.schema import extract, shipped
from mediagen.sandbox.google.wire import camel_keys
from mediagen.sandbox.server import Sandbox
from mediagen.sandbox.settings import SandboxSettings
from tests.vendor_specs import GEMINI, VERTEX, discovery_validator, document, openapi_validator, problems

KEY = "wire-test-key"
IMAGE_MODEL = "gemini-3.1-flash-image-preview"
GEMINI_PATH = f"/v1beta/models/{IMAGE_MODEL}:generateContent"
VERTEX_PREFIX = "/v1beta1/publishers/google/models"
PREDICT_PATH = f"{VERTEX_PREFIX}/imagen-4.0-generate-001:predict"
SUBMIT_PATH = f"{VERTEX_PREFIX}/veo-3.1-generate-preview:predictLongRunning"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("google",), settings=SandboxSettings(job_polls=2, api_key=KEY)) as running:
        yield running


@pytest.fixture
async def raw(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.origin("google"), headers={"x-goog-api-key": KEY}) as client:
        yield client


def state(sandbox: Sandbox) -> GoogleState:
    found = sandbox.state("google")
    assert isinstance(found, GoogleState)
    return found


def test_the_shipped_schema_is_extracted_from_googles_published_documents() -> None:
    assert shipped() == extract(document(GEMINI), document(VERTEX))


def _sdk_sends(converter: str, under: str) -> set[str]:
    """The field names a google-genai `_*_to_vertex` converter writes under `parameters` or `instances[0]`."""
    from google.genai import models

    source = inspect.getsource(getattr(models, converter))
    return set(re.findall(rf"setv\(\s*\w+,\s*\[\s*'{re.escape(under)}',\s*'(\w+)'", source))


def test_predict_instances_and_parameters_take_exactly_the_fields_google_genai_sends() -> None:
    imagen = _sdk_sends("_GenerateImagesConfig_to_vertex", "parameters")
    imagen |= _sdk_sends("_EditImageConfig_to_vertex", "parameters")
    assert set(catalog.IMAGEN_PARAMETERS) == imagen
    assert set(catalog.VEO_PARAMETERS) == _sdk_sends("_GenerateVideosConfig_to_vertex", "parameters")
    veo_instance = _sdk_sends("_GenerateVideosConfig_to_vertex", "instances[0]")
    for converter in ("_GenerateVideosParameters_to_vertex", "_GenerateVideosSource_to_vertex"):
        veo_instance |= _sdk_sends(converter, "instances[0]")
    assert set(catalog.VEO_INSTANCE_FIELDS) == veo_instance
    imagen_instance = _sdk_sends("_GenerateImagesParameters_to_vertex", "instances[0]")
    imagen_instance |= _sdk_sends("_EditImageParameters_to_vertex", "instances[0]")
    assert set(catalog.IMAGEN_INSTANCE_FIELDS) == imagen_instance


def gemini_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contents": [{"role": "user", "parts": [{"text": "a fox"}]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "imageConfig": {"aspectRatio": "1:1"}},
    }
    for path, value in changes.items():
        holder = body
        *parents, last = path.split(".")
        for key in parents:
            holder = holder[int(key)] if isinstance(holder, list) else holder[key]
        holder[last] = value
    return body


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            GEMINI_PATH,
            gemini_body(**{"generationConfig.colour": "red"}),
            """Invalid JSON payload received. Unknown name "colour" at 'generation_config': Cannot find field.""",
        ),
        (
            GEMINI_PATH,
            gemini_body(**{"generationConfig.imageConfig.dpi": 300}),
            """Invalid JSON payload received. Unknown name "dpi" at 'generation_config.image_config': Cannot find """
            "field.",
        ),
        (
            GEMINI_PATH,
            gemini_body(stream=True),
            """Invalid JSON payload received. Unknown name "stream": Cannot find field.""",
        ),
        (
            GEMINI_PATH,
            gemini_body(**{"contents.0.parts.0.caption": "x"}),
            """Invalid JSON payload received. Unknown name "caption" at 'contents[0].parts[0]': Cannot find field.""",
        ),
        (
            GEMINI_PATH,
            gemini_body(**{"generationConfig.seed": "abc"}),
            """Invalid value at 'generation_config.seed' (TYPE_INT32), "abc\"""",
        ),
        (
            GEMINI_PATH,
            gemini_body(**{"generationConfig.responseModalities": ["PICTURE"]}),
            """Invalid value at 'generation_config.response_modalities[0]' (TYPE_ENUM), "PICTURE\"""",
        ),
        (
            PREDICT_PATH,
            {"instances": [{"prompt": "x"}], "parameters": {"sampleCount": 1}, "config": {}},
            """Invalid JSON payload received. Unknown name "config": Cannot find field.""",
        ),
        (
            SUBMIT_PATH,
            {"instances": [{"prompt": "x"}], "parameters": {}, "webhook": "https://example.com"},
            """Invalid JSON payload received. Unknown name "webhook": Cannot find field.""",
        ),
        (
            PREDICT_PATH,
            {"instances": [{"prompt": "x"}], "parameters": {"sampleCount": 1, "quality": "hd"}},
            """Invalid JSON payload received. Unknown name "quality" at 'parameters': Cannot find field.""",
        ),
        (
            SUBMIT_PATH,
            {"instances": [{"prompt": "x", "audio": {}}], "parameters": {}},
            """Invalid JSON payload received. Unknown name "audio" at 'instances[0]': Cannot find field.""",
        ),
        (
            SUBMIT_PATH,
            {"instances": [{"prompt": "x"}], "parameters": {"loop": True}},
            """Invalid JSON payload received. Unknown name "loop" at 'parameters': Cannot find field.""",
        ),
    ],
)
async def test_what_google_refuses_is_a_400_invalid_argument_in_its_envelope_and_nothing_is_made(
    sandbox: Sandbox, raw: httpx.AsyncClient, path: str, body: dict[str, Any], message: str
) -> None:
    answer = await raw.post(path, json=body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["status"], error["message"]) == (400, "INVALID_ARGUMENT", message)
    [bad_request] = error["details"]
    assert bad_request["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert bad_request["fieldViolations"][0]["description"] == message
    assert not state(sandbox).answers and state(sandbox).operations == {}


async def test_snake_case_names_integer_strings_and_null_are_read_as_proto3_json_reads_them(
    raw: httpx.AsyncClient,
) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "a fox"}]}],
        "generation_config": {"response_modalities": ["TEXT", "IMAGE"], "seed": "42", "temperature": None},
    }
    answer = await raw.post(GEMINI_PATH, json=body)
    assert answer.status_code == 200, answer.text


def sdk_calls_cover(sandbox: Sandbox) -> set[str]:
    return {path.rsplit(":", 1)[-1] for path, _ in state(sandbox).answers}


async def test_every_request_the_sdk_sends_and_every_answer_conform_to_the_published_schemas(
    sandbox: Sandbox,
) -> None:
    options = types.HttpOptions(base_url=sandbox.base_url("google"))
    gemini = genai.Client(api_key=KEY, http_options=options).aio
    vertex = genai.Client(vertexai=True, api_key=KEY, http_options=options).aio
    picture = media.image(64, 48, "png", prompt="source")
    image_config = types.GenerateContentConfig(
        response_modalities=["TEXT", "IMAGE"], image_config=types.ImageConfig(aspect_ratio="16:9", image_size="1K")
    )
    chat = gemini.chats.create(model=IMAGE_MODEL, config=image_config)
    await chat.send_message(["a cabin", types.Part.from_bytes(data=picture, mime_type="image/png")])
    await chat.send_message("add snow")
    for prompt in ("sandbox:block-prompt", "sandbox:block-output", "sandbox:no-image"):
        await gemini.models.generate_content(model=IMAGE_MODEL, contents=prompt, config=image_config)
    voice = types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Puck"))
    await gemini.models.generate_content(
        model="gemini-2.5-flash-preview-tts",
        contents="hello",
        config=types.GenerateContentConfig(
            response_modalities=["AUDIO"], speech_config=types.SpeechConfig(voice_config=voice)
        ),
    )
    for prompt in ("a fox", "sandbox:block-prompt", "sandbox:block-output"):
        await vertex.models.generate_content(model=IMAGE_MODEL, contents=prompt, config=image_config)
    await vertex.models.generate_images(
        model="imagen-4.0-generate-001",
        prompt="a fox",
        config=types.GenerateImagesConfig(number_of_images=2, include_rai_reason=True, output_mime_type="image/jpeg"),
    )
    await vertex.models.generate_images(model="imagen-4.0-generate-001", prompt="sandbox:block-output a fox")
    for config in (
        types.GenerateVideosConfig(duration_seconds=4),
        types.GenerateVideosConfig(output_gcs_uri="gs://bucket/v"),
    ):
        operation = await vertex.models.generate_videos(
            model="veo-3.1-generate-preview",
            source=types.GenerateVideosSource(
                prompt="waves", image=types.Image(image_bytes=picture, mime_type="image/png")
            ),
            config=config,
        )
        while not operation.done:
            operation = await vertex.operations.get(operation)
    failing = await vertex.models.generate_videos(
        model="veo-3.1-generate-preview", source={"prompt": "sandbox:fail-job"}
    )
    while not failing.done:
        failing = await vertex.operations.get(failing)
    await gemini.aclose()
    await vertex.aclose()
    assert sdk_calls_cover(sandbox) == {"generateContent", "predict", "predictLongRunning", "fetchPredictOperation"}

    requests = {
        "gemini": openapi_validator(GEMINI, "GenerateContentRequest"),
        "generateContent": discovery_validator(VERTEX, "GoogleCloudAiplatformV1beta1GenerateContentRequest"),
        "predict": discovery_validator(VERTEX, "GoogleCloudAiplatformV1beta1PredictRequest"),
        "predictLongRunning": discovery_validator(VERTEX, "GoogleCloudAiplatformV1beta1PredictLongRunningRequest"),
        "fetchPredictOperation": discovery_validator(
            VERTEX, "GoogleCloudAiplatformV1beta1FetchPredictOperationRequest"
        ),
    }
    answers = {
        "gemini": openapi_validator(GEMINI, "GenerateContentResponse"),
        "generateContent": discovery_validator(VERTEX, "GoogleCloudAiplatformV1beta1GenerateContentResponse"),
        "predict": discovery_validator(VERTEX, "GoogleCloudAiplatformV1beta1PredictResponse"),
        "predictLongRunning": discovery_validator(VERTEX, "GoogleLongrunningOperation"),
        "fetchPredictOperation": discovery_validator(VERTEX, "GoogleLongrunningOperation"),
    }
    for received in state(sandbox).requests:
        kind = _kind(received.path)
        # google-genai 3.6.1 itself sends some nested names as proto field names (`inlineData: {"mime_type"}`,
        # `speechConfig: {"voice_config"}`), which Google's JSON parser reads as their camelCase JSON names.
        sent = camel_keys(received.sent)
        assert problems(requests[kind], _gemini_without_image_config(sent) if kind == "gemini" else sent) == []
    for path, answer in state(sandbox).answers:
        kind = _kind(path)
        assert problems(answers[kind], answer) == [], path
        _check_typed_any(kind, answer)


def _kind(path: str) -> str:
    method = path.rsplit(":", 1)[-1]
    return "gemini" if method == "generateContent" and "/publishers/" not in path else method


def _gemini_without_image_config(body: Any) -> Any:
    """The Gemini document (revision 20250701) predates imageConfig: it is held to google-genai's converter instead
    (`mediagen.sandbox.google.schema`), and to the document everywhere else."""
    config = dict(body.get("generationConfig", {}))
    image_config = config.pop("imageConfig", None)
    assert image_config is None or set(image_config) <= {"aspectRatio", "imageSize"}
    return {**body, "generationConfig": config} if "generationConfig" in body else body


#: Keys google-genai 3.6.1 reads from what the discovery document types as `any` (`_*_from_vertex`).
_PREDICTION_KEYS = {"bytesBase64Encoded", "mimeType", "gcsUri", "raiFilteredReason", "prompt", "safetyAttributes"}
_VEO_RESPONSE_KEYS = {"@type", "videos", "raiMediaFilteredCount", "raiMediaFilteredReasons"}
_VEO_VIDEO_KEYS = {"bytesBase64Encoded", "gcsUri", "mimeType"}


def _check_typed_any(kind: str, answer: Any) -> None:
    if kind == "predict":
        for prediction in answer.get("predictions", []):
            assert set(prediction) <= _PREDICTION_KEYS, prediction.keys()
            if "bytesBase64Encoded" in prediction:
                base64.b64decode(prediction["bytesBase64Encoded"], validate=True)
    if kind == "fetchPredictOperation":
        assert "metadata" not in answer  # Vertex documents no progress metadata for Veo
        response = answer.get("response", {})
        assert set(response) <= _VEO_RESPONSE_KEYS, response.keys()
        for video in response.get("videos", []):
            assert set(video) <= _VEO_VIDEO_KEYS and ("gcsUri" not in video or video["gcsUri"].startswith("gs://"))
