"""The OpenAI fake held to OpenAI's published OpenAPI document: the parameters it takes, and what it answers."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import httpx2
import pytest
from openai import AsyncOpenAI
from openai.resources.audio.speech import AsyncSpeech
from openai.resources.images import AsyncImages
from openai.resources.responses import AsyncResponses
from openai.resources.videos import AsyncVideos
from openai.types.responses.response_output_item import ImageGenerationCall

from mediagen.sandbox import Sandbox, SandboxSettings, media
from mediagen.sandbox.openai import images, responses, speech, videos
from tests.vendor_specs import OPENAI, document, member_for, openapi_validator, problems


def spec_properties(schema: str) -> set[str]:
    """A request schema's parameter names, allOf parts included."""
    schemas = document(OPENAI)["components"]["schemas"]

    def collect(node: dict[str, Any]) -> set[str]:
        if "$ref" in node:
            return collect(schemas[node["$ref"].rsplit("/", 1)[-1]])
        found = set(node.get("properties", {}))
        for part in node.get("allOf", []):
            found |= collect(part)
        return found

    return collect(schemas[schema])


def sdk_parameters(method: Callable[..., Any]) -> set[str]:
    """What openai's method sends as body parameters (its keyword arguments less the transport ones)."""
    transport = {"self", "timeout", "extra_headers", "extra_query", "extra_body", "video_id"}
    return set(inspect.signature(method).parameters) - transport


#: Multipart spells a list of images `image[]` (openai 3.57.0 sends it so); the document's `image` covers it.
_MULTIPART_SPELLINGS = {"image[]"}


@pytest.mark.parametrize(
    ("accepted", "schema", "method"),
    [
        (images.GENERATE_PARAMS, "CreateImageRequest", AsyncImages.generate),
        (images.EDIT_PARAMS, "CreateImageEditRequest", AsyncImages.edit),
        (responses.CREATE_PARAMS, "CreateResponse", AsyncResponses.create),
        (responses.IMAGE_TOOL_PARAMS, "ImageGenTool", None),
        (speech.SPEECH_PARAMS, "CreateSpeechRequest", AsyncSpeech.create),
        (videos.CREATE_PARAMS, "CreateVideoMultipartBody", AsyncVideos.create),
        (videos.REMIX_PARAMS, "CreateVideoRemixBody", AsyncVideos.remix),
    ],
)
def test_the_fake_takes_every_documented_parameter_and_nothing_openai_does_not_name(
    accepted: tuple[str, ...], schema: str, method: Callable[..., Any] | None
) -> None:
    documented = spec_properties(schema)
    assert documented <= set(accepted), f"documented but refused: {sorted(documented - set(accepted))}"
    # Beyond the document (version 2.3.0), only what the SDK's own method sends: the document lags the SDK there.
    sdk = sdk_parameters(method) if method is not None else sdk_parameters(AsyncImages.generate)
    beyond = set(accepted) - documented - _MULTIPART_SPELLINGS
    assert beyond <= sdk, f"named by neither the document nor the SDK: {sorted(beyond - sdk)}"


def test_the_responses_scalar_parameters_are_typed_and_bounded_as_the_document_says() -> None:
    schemas = document(OPENAI)["components"]["schemas"]

    def members(name: str) -> dict[str, Any]:
        found: dict[str, Any] = dict(schemas[name].get("properties", {}))
        for part in schemas[name].get("allOf", []):
            found |= members(part["$ref"].rsplit("/", 1)[-1]) if "$ref" in part else part.get("properties", {})
        return found

    documented = members("CreateResponse")
    for name, (kind, low, high, choices) in responses.SCALAR_PARAMS.items():
        [typed] = [m for m in documented[name].get("anyOf", [documented[name]]) if m.get("type") != "null"]
        assert typed["type"] == kind, name
        assert (typed.get("minimum"), typed.get("maximum", typed.get("maxLength"))) == (low, high), name
        assert tuple(typed.get("enum", ())) == choices, name
    scalar = {n for n, p in documented.items() if any(m.get("type") in ("boolean", "number", "integer", "string")
              for m in p.get("anyOf", [p]))}  # fmt: skip
    assert scalar <= set(responses.SCALAR_PARAMS), sorted(scalar - set(responses.SCALAR_PARAMS))


@pytest.fixture
async def recorded() -> AsyncIterator[tuple[Sandbox, AsyncOpenAI, list[tuple[str, str, int, Any]]]]:
    """A sandbox and an SDK client whose every JSON answer is recorded (method, path, status, body)."""
    answers: list[tuple[str, str, int, Any]] = []

    async def keep(response: httpx2.Response) -> None:
        kind = response.headers.get("content-type", "")
        where = (response.request.method, response.request.url.path, response.status_code)
        if kind.startswith("application/json"):
            await response.aread()
            answers.append((*where, response.json()))
        elif kind.startswith("text/event-stream"):  # each event's data, as its own answer
            await response.aread()
            for line in response.text.splitlines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    answers.append((where[0], f"{where[1]}#event", where[2], json.loads(line[6:])))

    async with Sandbox(vendors=("openai",), settings=SandboxSettings(poll_after_ms=1, job_polls=2)) as sandbox:
        http = httpx2.AsyncClient(event_hooks={"response": [keep]})
        async with AsyncOpenAI(base_url=sandbox.base_url("openai"), api_key="k", max_retries=0, http_client=http) as c:
            yield sandbox, c, answers


_ANSWERS = {
    ("POST", "/v1/images/generations"): "ImagesResponse",
    ("POST", "/v1/images/edits"): "ImagesResponse",
    ("POST", "/v1/responses"): "Response",
    ("GET", "/v1/responses/{id}"): "Response",
    ("POST", "/v1/videos"): "VideoResource",
    ("GET", "/v1/videos"): "VideoListResource",
    ("GET", "/v1/videos/{id}"): "VideoResource",
    ("DELETE", "/v1/videos/{id}"): "DeletedVideoResource",
    ("POST", "/v1/videos/{id}/remix"): "VideoResource",
    ("POST", "/v1/images/generations#event"): "ImageGenStreamEvent",
    ("POST", "/v1/responses#event"): "ResponseStreamEvent",
}


#: Response fields openai 3.57.0's models have beyond the document (version 2.3.0), which the fake may answer.
_SDK_FIELDS = {"ImageGenToolCall": ImageGenerationCall.model_fields}


def _route(method: str, path: str) -> tuple[str, str]:
    parts = path.split("/")
    if len(parts) > 3 and parts[2] in ("responses", "videos"):
        parts[3] = "{id}"
    return method, "/".join(parts)


async def test_every_answer_the_fake_gives_conforms_to_the_published_schemas(
    recorded: tuple[Sandbox, AsyncOpenAI, list[tuple[str, str, int, Any]]],
) -> None:
    _, client, answers = recorded
    picture = media.image(64, 64, "png", prompt="source")
    await client.images.generate(model="gpt-image-1", prompt="a fox", size="1024x1024", n=2)
    await client.images.edit(model="gpt-image-1", prompt="blue", image=[("a.png", picture, "image/png")] * 2)
    first = await client.responses.create(
        model="gpt-4.1", input="a cabin", tools=[{"type": "image_generation", "size": "1024x1024"}]
    )
    await client.responses.create(
        model="gpt-4.1", input="add snow", previous_response_id=first.id, tools=[{"type": "image_generation"}]
    )
    await client.responses.create(model="gpt-4.1", input="just words")
    async for _ in await client.images.generate(model="gpt-image-1", prompt="a fox", stream=True, partial_images=1):
        pass
    async for _ in await client.responses.create(
        model="gpt-4.1", input="a fox", tools=[{"type": "image_generation", "partial_images": 1}], stream=True
    ):
        pass
    await client.responses.retrieve(first.id)
    video = await client.videos.create(model="sora-2", prompt="waves", seconds="4", size="720x1280")
    while video.status not in ("completed", "failed"):
        video = await client.videos.retrieve(video.id)
    remix = await client.videos.remix(video.id, prompt="at night")
    await client.videos.list()
    await client.videos.delete(remix.id)
    failing = await client.videos.create(model="sora-2", prompt="x", extra_headers={"x-mediagen-fault": "job_fails"})
    while failing.status not in ("completed", "failed"):
        failing = await client.videos.retrieve(failing.id)
    for bad in ({"size": "3x3"}, {"n": 0}, {"quality": 5}, {"colour": "red"}):
        with pytest.raises(Exception):  # noqa: B017,PT011 - each is OpenAI's 400; the answers are checked below
            await client.images.generate(model="gpt-image-1", prompt="x", extra_body=bad)
    assert {_route(m, p) for m, p, status, _ in answers if status == 200} == set(_ANSWERS)

    errors = openapi_validator(OPENAI, "ErrorResponse")
    for method, path, status, body in answers:
        if status >= 400:
            assert problems(errors, body) == [], (method, path, body)
            continue
        schema = _ANSWERS[_route(method, path)]
        if path.endswith("#event"):  # a stream event: the union's member that declares its type
            schema = member_for(OPENAI, schema, body["type"])
        validator = openapi_validator(OPENAI, schema, _SDK_FIELDS)
        assert problems(validator, body) == [], (method, path, body.get("type"))


async def test_every_json_request_the_sdk_sends_conforms_to_the_published_schemas(
    recorded: tuple[Sandbox, AsyncOpenAI, list[tuple[str, str, int, Any]]],
) -> None:
    sandbox, client, _ = recorded
    await client.images.generate(model="gpt-image-1", prompt="a fox", size="1024x1024", quality="low")
    await client.responses.create(
        model="gpt-4.1",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "a cabin"}]}],
        tools=[{"type": "image_generation", "size": "1024x1024", "output_format": "webp"}],
    )
    await client.audio.speech.create(model="gpt-4o-mini-tts", voice="coral", input="hello", instructions="warmly")
    requests = {
        "/v1/images/generations": "CreateImageRequest",
        "/v1/responses": "CreateResponse",
        "/v1/audio/speech": "CreateSpeechRequest",
    }
    sent = sandbox.state("openai").requests
    assert [r.path for r in sent] == list(requests)
    for received in sent:
        assert problems(openapi_validator(OPENAI, requests[received.path]), received.params) == [], received.path


@pytest.mark.parametrize(
    ("path", "body", "param", "code"),
    [
        ("/v1/responses", {"model": "gpt-4.1", "input": "x", "colour": "red"}, "colour", "unknown_parameter"),
        ("/v1/images/generations", {"prompt": "x", "colour": "red"}, "colour", "unknown_parameter"),
        ("/v1/images/generations", {"prompt": "x", "n": "two"}, "n", "invalid_type"),
        ("/v1/images/generations", {"prompt": "x", "n": 11}, "n", "integer_above_max_value"),
        ("/v1/audio/speech", {"model": "tts-1", "input": "x", "voice": "alloy", "speed": 9}, "speed", None),
        ("/v1/responses", {"model": "gpt-4.1", "input": "x", "temperature": "hot"}, "temperature", "invalid_type"),
        ("/v1/responses", {"model": "gpt-4.1", "input": "x", "top_p": 1.5}, "top_p", "decimal_above_max_value"),
        ("/v1/responses", {"model": "gpt-4.1", "input": "x", "max_output_tokens": 8}, "max_output_tokens", None),
        ("/v1/responses", {"model": "gpt-4.1", "input": "x", "store": "yes"}, "store", "invalid_type"),
    ],
)
async def test_unknown_wrong_typed_and_out_of_range_parameters_are_openais_400(
    path: str, body: dict[str, Any], param: str, code: str | None
) -> None:
    async with (
        Sandbox(vendors=("openai",)) as sandbox,
        httpx.AsyncClient(base_url=sandbox.origin("openai"), headers={"Authorization": "Bearer k"}) as raw,
    ):
        answer = await raw.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    if code is not None:
        assert error["code"] == code
    assert problems(openapi_validator(OPENAI, "ErrorResponse"), answer.json()) == []
