"""The OpenRouter fake against the real AsyncOpenAI client and the raw wire: the answers hold to the SDK's models
and OpenRouter's documented fields, bad requests are refused in OpenRouter's error shape, faults answer in it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
import pytest
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletion

from mediagen.sandbox import FAULT_HEADER, Fault, Sandbox, SandboxSettings
from mediagen.sandbox.media import image_size, open_image
from mediagen.sandbox.openrouter.catalog import MODELS

GEMINI = "google/gemini-3.1-flash-image-preview"
#: The fields OpenRouter documents for a non-streaming chat completion (and the image guide's message.images).
ANSWER_FIELDS = {"id", "provider", "model", "object", "created", "choices", "usage"}
CHOICE_FIELDS = {"index", "finish_reason", "native_finish_reason", "message"}
MESSAGE_FIELDS = {"role", "content", "images"}
MODEL_FIELDS = {
    "id", "canonical_slug", "name", "created", "description", "context_length", "architecture", "pricing",
    "top_provider", "per_request_limits", "supported_parameters",
}  # fmt: skip
ARCHITECTURE_FIELDS = {"modality", "input_modalities", "output_modalities", "tokenizer", "instruct_type"}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(vendors=("openrouter",), settings=SandboxSettings(hang_seconds=5)) as sb:
        yield sb


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=sandbox.base_url("openrouter"), api_key="k", max_retries=0) as c:
        yield c


@pytest.fixture
async def raw(sandbox: Sandbox) -> AsyncIterator[httpx2.AsyncClient]:
    headers = {"Authorization": "Bearer k"}
    async with httpx2.AsyncClient(base_url=sandbox.base_url("openrouter"), headers=headers) as c:
        yield c


def png_url(width: int = 40, height: int = 30) -> str:
    from mediagen.sandbox.media import image

    return "data:image/png;base64," + base64.b64encode(image(width, height, "png", prompt="in")).decode()


def user_with(image_url: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "image_url", "image_url": image_url}]}


def body(prompt: str = "a fox", **extra: Any) -> dict[str, Any]:
    return {
        "model": GEMINI,
        "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
        "modalities": ["image", "text"],
        **extra,
    }


def decoded(message: dict[str, Any]) -> bytes:
    [picture] = message["images"]
    assert picture["type"] == "image_url" and set(picture) == {"type", "image_url"}
    url = picture["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    return base64.b64decode(url.partition(",")[2])


async def refused(raw: httpx2.AsyncClient, payload: Any, status: int = 400) -> str:
    """Post `payload`; it must be refused with `status` in OpenRouter's error shape. Returns the message."""
    response = await raw.post("/chat/completions", json=payload)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "metadata"} and error["code"] == status
    assert isinstance(error["message"], str) and error["message"]
    return str(error["message"])


# -- answers --------------------------------------------------------------------------------------------------


async def test_an_image_answer_has_only_documented_fields_and_the_sdk_model_takes_it(raw: httpx2.AsyncClient) -> None:
    response = await raw.post("/chat/completions", json=body(image_config={"aspect_ratio": "16:9", "image_size": "2K"}))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == ANSWER_FIELDS and answer["object"] == "chat.completion"
    assert answer["provider"] == "Google AI Studio" and answer["model"] == GEMINI
    [choice] = answer["choices"]
    assert set(choice) == CHOICE_FIELDS and set(choice["message"]) <= MESSAGE_FIELDS
    assert set(answer["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    data = decoded(choice["message"])
    assert image_size(data) == (2048, 1152)
    ChatCompletion.model_validate(answer)  # the SDK's own response model accepts it


async def test_the_sdk_sends_modalities_and_image_config_and_reads_the_images(
    sandbox: Sandbox, client: AsyncOpenAI
) -> None:
    completion = await client.chat.completions.create(
        model=GEMINI,
        messages=[{"role": "user", "content": "a lighthouse"}],
        modalities=["image", "text"],  # type: ignore[list-item]
        extra_body={"image_config": {"aspect_ratio": "9:16", "image_size": "0.5K"}},
    )
    images = completion.choices[0].message.model_extra["images"]  # type: ignore[index]
    assert image_size(base64.b64decode(images[0]["image_url"]["url"].partition(",")[2])) == (288, 512)
    [seen] = sandbox.state("openrouter").requests
    assert seen.body["modalities"] == ["image", "text"] and seen.body["image_config"]["image_size"] == "0.5K"


async def test_an_edit_is_drawn_from_the_input_image_in_its_shape(raw: httpx2.AsyncClient) -> None:
    payload = body()
    payload["messages"][0]["content"].append({"type": "image_url", "image_url": {"url": png_url(60, 30)}})
    response = await raw.post("/chat/completions", json=payload)
    assert response.status_code == 200, response.text
    assert image_size(decoded(response.json()["choices"][0]["message"])) == (1024, 512)


async def test_image_only_models_answer_without_words(raw: httpx2.AsyncClient) -> None:
    payload = {**body(), "model": "black-forest-labs/flux.2-pro", "modalities": ["image"]}
    message = (await raw.post("/chat/completions", json=payload)).json()["choices"][0]["message"]
    assert message["content"] is None and open_image(decoded(message))


async def test_no_image_marker_answers_in_words_only(raw: httpx2.AsyncClient) -> None:
    message = (await raw.post("/chat/completions", json=body("sandbox:no-image a cat"))).json()["choices"][0]["message"]
    assert "images" not in message and "cannot draw" in message["content"]


async def test_image_urls_are_served_on_loopback_without_a_key_and_expire(
    sandbox: Sandbox, raw: httpx2.AsyncClient
) -> None:
    message = (await raw.post("/chat/completions", json=body("sandbox:image-url a cat"))).json()["choices"][0][
        "message"
    ]
    url = message["images"][0]["image_url"]["url"]
    assert url.startswith("http://127.0.0.1:") and url.endswith(".png")
    async with httpx2.AsyncClient() as plain:  # no Authorization header: the URL itself is the capability
        fetched = await plain.get(url)
        assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
        assert open_image(fetched.content)
        token = url.rsplit("/", 1)[1].removesuffix(".png")
        served = sandbox.state("openrouter").images[token]
        assert sandbox.state("openrouter").image(token, now=served.expires_at) is None  # past its expiry: gone
        assert (await plain.get(url)).status_code == 404
        expired = (await raw.post("/chat/completions", json=body("sandbox:expired-url x"))).json()
        assert (await plain.get(expired["choices"][0]["message"]["images"][0]["image_url"]["url"])).status_code == 404


async def test_the_image_urls_setting_answers_every_image_as_a_url() -> None:
    settings = SandboxSettings(image_urls="true")  # type: ignore[arg-type]  # text, as from_strings gives it
    async with (
        Sandbox(vendors=("openrouter",), settings=settings) as sb,
        httpx2.AsyncClient(base_url=sb.base_url("openrouter"), headers={"Authorization": "Bearer k"}) as c,
    ):
        answer = (await c.post("/chat/completions", json=body())).json()
    assert answer["choices"][0]["message"]["images"][0]["image_url"]["url"].startswith("http://127.0.0.1:")


# -- the models list ------------------------------------------------------------------------------------------


async def test_models_list_in_openrouters_shape_and_filtered_by_output_modality(
    client: AsyncOpenAI, raw: httpx2.AsyncClient
) -> None:
    every = (await raw.get("/models")).json()["data"]
    assert {m["id"] for m in every} == set(MODELS)
    for model in every:
        assert set(model) == MODEL_FIELDS and set(model["architecture"]) == ARCHITECTURE_FIELDS
    images = (await raw.get("/models", params={"output_modalities": "image"})).json()["data"]
    assert {m["id"] for m in images} == {m.id for m in MODELS.values() if m.makes_images}
    assert "openai/gpt-4o-mini" not in {m["id"] for m in images}
    page = await client.models.list()
    assert {m.id for m in page.data} == set(MODELS)
    assert (await raw.get("/models", params={"colour": "x"})).status_code == 400


# -- refusals --------------------------------------------------------------------------------------------------


async def test_an_unknown_model_is_a_400_in_openrouters_shape(raw: httpx2.AsyncClient) -> None:
    assert "acme/nope is not a valid model ID" in await refused(raw, {**body(), "model": "acme/nope"})


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"colour": "red"}, "Unrecognized key 'colour'"),
        ({"modalities": "image"}, "expected array"),
        ({"modalities": ["image", "video"]}, "modalities[1]"),
        ({"image_config": {"aspect_ratio": "16:9", "quality": "hd"}}, "Unrecognized key 'quality'"),
        ({"image_config": {"aspect_ratio": "7:3"}}, "aspect_ratio '7:3'"),
        ({"image_config": {"aspect_ratio": 1.5}}, "expected string"),
        ({"image_config": {"image_size": "8K"}}, "image_size '8K'"),
        ({"image_config": "16:9"}, "expected object"),
        ({"model": "google/gemini-2.5-flash-image", "image_config": {"image_size": "2K"}}, "supported: none"),
        ({"stream": True}, "does not stream"),
        ({"seed": "abc"}, "expected integer"),
        ({"temperature": True}, "expected number"),
        ({"messages": []}, "at least one message"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "role"),
        ({"messages": [{"role": "user", "content": "x", "mood": "happy"}]}, "Unrecognized key 'mood'"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, "expected string"),
        ({"messages": [{"role": "user", "content": [{"type": "video"}]}]}, "type"),
        (
            {"messages": [user_with({"url": "https://x/y.png"})]},
            "no network",
        ),
        (
            {"messages": [user_with({"url": "data:image/png;base64,AAAA"})]},
            "could not be decoded",
        ),
        (
            {"messages": [user_with({"url": png_url(), "size": 1})]},
            "Unrecognized key 'size'",
        ),
    ],
)  # fmt: skip
async def test_what_the_api_refuses_is_a_400_naming_the_field(
    sandbox: Sandbox, raw: httpx2.AsyncClient, change: dict[str, Any], words: str
) -> None:
    assert words in await refused(raw, {**body(), **change})
    assert sandbox.state("openrouter").images == {}


@pytest.mark.parametrize(
    ("model", "modalities"),
    [("openai/gpt-4o-mini", ["image", "text"]), ("black-forest-labs/flux.2-pro", ["image", "text"])],
)
async def test_asking_a_model_for_outputs_it_lacks_finds_no_endpoint(
    raw: httpx2.AsyncClient, model: str, modalities: list[str]
) -> None:
    message = await refused(raw, {**body(), "model": model, "modalities": modalities}, status=404)
    assert "No endpoints found" in message


async def test_a_missing_key_and_a_wrong_key_are_401s() -> None:
    settings = SandboxSettings(api_key="the-key")
    async with Sandbox(vendors=("openrouter",), settings=settings) as sb:
        assert sb.env("openrouter")["OPENROUTER_API_KEY"] == "the-key"
        assert sb.env("openrouter")["MEDIAGEN_BACKENDS__OPENROUTER__BASE_URL"] == sb.base_url("openrouter")
        async with httpx2.AsyncClient(base_url=sb.base_url("openrouter")) as c:
            none = await c.post("/chat/completions", json=body())
            wrong = await c.post("/chat/completions", json=body(), headers={"Authorization": "Bearer other"})
            right = await c.post("/chat/completions", json=body(), headers={"Authorization": "Bearer the-key"})
    assert (none.status_code, none.json()) == (401, {"error": {"code": 401, "message": "No auth credentials found"}})
    assert (wrong.status_code, wrong.json()) == (401, {"error": {"code": 401, "message": "User not found."}})
    assert right.status_code == 200


@pytest.mark.parametrize(("marker", "status"), [("sandbox:no-credits", 402), ("sandbox:provider-down", 502)])
async def test_markers_give_the_credit_and_provider_errors(raw: httpx2.AsyncClient, marker: str, status: int) -> None:
    response = await raw.post("/chat/completions", json=body(f"{marker} a cat"))
    assert response.status_code == status
    error = response.json()["error"]
    if status == 402:
        assert "credits" in error["message"]
    else:
        assert error["metadata"]["provider_name"] == "Google AI Studio" and error["metadata"]["raw"]


# -- faults ----------------------------------------------------------------------------------------------------


async def test_rate_limit_is_a_429_with_retry_after(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        await client.chat.completions.create(
            model=GEMINI,
            messages=[{"role": "user", "content": "x"}],
            extra_headers={FAULT_HEADER: "rate_limit;retry_after=7"},
        )
    assert info.value.response.headers["retry-after"] == "7"
    assert info.value.body["code"] == 429 and "Rate limit exceeded" in info.value.body["message"]  # type: ignore[index]


@pytest.mark.parametrize(("name", "status"), [("server_error", 500), ("unavailable", 503), ("retired", 404)])
async def test_server_faults_answer_in_openrouters_shape(raw: httpx2.AsyncClient, name: str, status: int) -> None:
    response = await raw.post("/chat/completions", json=body(), headers={FAULT_HEADER: name})
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message"} and response.json()["error"]["code"] == status


async def test_content_policy_is_a_403_with_moderation_metadata(sandbox: Sandbox, raw: httpx2.AsyncClient) -> None:
    sandbox.faults.push("openrouter", Fault("content_policy", {"code": "harassment"}), times=1)
    response = await raw.post("/chat/completions", json=body())
    assert response.status_code == 403
    metadata = response.json()["error"]["metadata"]
    assert metadata["reasons"] == ["harassment"] and set(metadata) == {
        "reasons", "flagged_input", "provider_name", "model_slug"
    }  # fmt: skip


async def test_malformed_is_a_200_that_is_not_json(raw: httpx2.AsyncClient) -> None:
    response = await raw.post("/chat/completions", json=body(), headers={FAULT_HEADER: "malformed"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    with pytest.raises(ValueError):  # noqa: PT011 - json's error type
        response.json()


async def test_truncated_download_cuts_an_image_url_short(raw: httpx2.AsyncClient) -> None:
    answer = (await raw.post("/chat/completions", json=body("sandbox:image-url x"))).json()
    url = answer["choices"][0]["message"]["images"][0]["image_url"]["url"]
    async with httpx2.AsyncClient() as plain:
        with pytest.raises(httpx2.RemoteProtocolError):
            await plain.get(url, headers={FAULT_HEADER: "truncated_download"})


@pytest.mark.parametrize("name", ["job_fails", "job_never_finishes", "slow_poll"])
async def test_job_faults_do_not_apply_since_there_are_no_jobs(raw: httpx2.AsyncClient, name: str) -> None:
    response = await raw.post("/chat/completions", json=body(), headers={FAULT_HEADER: name})
    assert response.status_code == 200
