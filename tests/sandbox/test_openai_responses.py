"""The Responses fake: image_generation tool calls, ids kept server-side, previous_response_id lineage."""

from __future__ import annotations

import base64
import hashlib
import json

import httpx
import openai
import pydantic
import pytest
from openai import AsyncOpenAI
from openai.types.responses import Response, ResponseStreamEvent

from mediagen.domain.sniff import sniff
from mediagen.sandbox import Sandbox, media

TOOL = [{"type": "image_generation", "size": "1024x1536", "quality": "low"}]


def _image_b64(response: Response) -> str:
    calls = [item for item in response.output if item.type == "image_generation_call"]
    assert len(calls) == 1
    result = calls[0].result
    assert result is not None
    return result


async def test_two_turns_continue_from_the_previous_image(sandbox: Sandbox, client: AsyncOpenAI) -> None:
    first = await client.responses.create(model="gpt-5", input="a red fox in snow", tools=TOOL)
    first_image = base64.b64decode(_image_b64(first))
    assert sniff(first_image[:32]) == "image/png"
    assert media.image_size(first_image) == (1024, 1536)
    assert "a red fox in snow" in first.output_text

    second = await client.responses.create(
        model="gpt-5", input="now make it night", tools=TOOL, previous_response_id=first.id
    )
    second_image = base64.b64decode(_image_b64(second))
    assert second.previous_response_id == first.id
    assert second_image != first_image
    stored = sandbox.state("openai").responses[second.id]
    assert stored.previous_response_id == first.id
    assert stored.image is not None
    assert stored.image.sources == (hashlib.sha256(first_image).hexdigest(),)
    calls = [item for item in second.output if item.type == "image_generation_call"]
    assert calls[0].action == "edit"


async def test_an_unknown_previous_response_id_is_the_apis_400(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await client.responses.create(model="gpt-5", input="x", tools=TOOL, previous_response_id="resp_missing")
    assert info.value.message.endswith("Previous response with id 'resp_missing' not found.")
    assert info.value.param == "previous_response_id"


async def test_responses_created_with_store_false_cannot_be_continued(client: AsyncOpenAI) -> None:
    unstored = await client.responses.create(model="gpt-5", input="x", tools=TOOL, store=False)
    with pytest.raises(openai.BadRequestError, match="not found"):
        await client.responses.create(model="gpt-5", input="y", previous_response_id=unstored.id)


async def test_an_input_image_is_edited(sandbox: Sandbox, client: AsyncOpenAI) -> None:
    source = media.image(300, 200, "png", prompt="source")
    data_url = "data:image/png;base64," + base64.b64encode(source).decode()
    response = await client.responses.create(
        model="gpt-5",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "add a hat"},
                    {"type": "input_image", "image_url": data_url, "detail": "auto"},
                ],
            }
        ],
        tools=[{"type": "image_generation"}],
    )
    image = base64.b64decode(_image_b64(response))
    assert media.image_size(image) == (1536, 1024)  # auto: the standard size nearest the input's shape
    assert sandbox.state("openai").images[-1].sources == (hashlib.sha256(source).hexdigest(),)


async def test_without_the_tool_the_model_answers_in_text(client: AsyncOpenAI) -> None:
    response = await client.responses.create(model="gpt-4.1-mini", input="hello")
    assert [item.type for item in response.output] == ["message"]
    assert response.output_text == "Sandbox reply to: hello"


async def test_responses_can_be_retrieved_and_deleted(client: AsyncOpenAI) -> None:
    created = await client.responses.create(model="gpt-5", input="keep me", tools=TOOL)
    fetched = await client.responses.retrieve(created.id)
    assert fetched.id == created.id
    assert _image_b64(fetched) == _image_b64(created)
    await client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(created.id)


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"model": "gpt-17"}, "model"),
        ({"tools": [{"type": "image_generation", "size": "999x999"}]}, "tools[0].size"),
        ({"tools": [{"type": "image_generation", "quality": "ultra"}]}, "tools[0].quality"),
        ({"tools": [{"type": "image_generation", "sharpness": 3}]}, "tools[0].sharpness"),
    ],
)
async def test_bad_requests_name_the_parameter(client: AsyncOpenAI, kwargs: dict[str, object], param: str) -> None:
    call = {"model": "gpt-5", "input": "x", **kwargs}
    with pytest.raises(openai.BadRequestError) as info:
        await client.responses.create(**call)  # type: ignore[call-overload]
    assert info.value.param == param


async def test_streaming_replays_the_response_as_events(client: AsyncOpenAI) -> None:
    async with client.responses.stream(
        model="gpt-5", input="stream a fox", tools=[{"type": "image_generation", "partial_images": 1}]
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert kinds[0] == "response.created"
    assert "response.image_generation_call.partial_image" in kinds
    assert kinds[-1] == "response.completed"
    assert sniff(base64.b64decode(_image_b64(final))[:32]) == "image/png"
    assert final.output_text == "Here is the image for: stream a fox"


async def test_the_answer_validates_against_the_sdk_model_with_every_required_field(client: AsyncOpenAI) -> None:
    raw = await client.responses.with_raw_response.create(model="gpt-5", input="strict", tools=TOOL)
    body = raw.http_response.json()
    Response.model_validate(body)
    required = {"id", "object", "created_at", "model", "output", "parallel_tool_calls", "tool_choice", "tools"}
    nullable = {"error", "incomplete_details", "instructions", "metadata", "temperature", "top_p"}
    assert required | nullable <= body.keys()


async def test_every_streamed_event_validates_against_the_sdk_event_union(sandbox: Sandbox) -> None:
    body = {"model": "gpt-5", "input": "events", "stream": True, "tools": [{"type": "image_generation"}]}
    async with httpx.AsyncClient(base_url=sandbox.base_url("openai"), headers={"Authorization": "Bearer k"}) as http:
        answer = await http.post("/responses", json=body)
    events = [json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: ")]
    adapter: pydantic.TypeAdapter[ResponseStreamEvent] = pydantic.TypeAdapter(ResponseStreamEvent)
    for event in events:
        adapter.validate_python(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
