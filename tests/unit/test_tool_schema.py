"""The tools' schemas are the contract: generated from MediaRequest and the installed specs, and what they allow is
exactly what the tool accepts (hypothesis draws arguments from each schema)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from mediagen.adapters.openai.spec import SPEC as OPENAI
from mediagen.domain.backend import BackendSpec, Constraints, ModelSpec
from mediagen.domain.errors import InvalidRequest
from mediagen.domain.media import AudioKind, Capability, MediaType
from mediagen.domain.request import MediaRequest
from mediagen.entrypoints.schema import DESCRIPTIONS, HOST_FIELDS, Tool, batch_schema, tools
from mediagen.entrypoints.tool import (
    OUTPUT_SCHEMA,
    request_for_tool,
    request_from_arguments,
    requests_for_batch,
    tool_schema,
    tool_schemas,
)
from mediagen.sandbox.media import speech
from mediagen.testing.media import png

#: A backend offering every audio kind, so each audio tool shape is exercised.
SOUNDS = BackendSpec(
    name="sounds",
    display_name="Sounds",
    env_vars=("SOUNDS_API_KEY",),
    models=(
        ModelSpec(
            "every-kind",
            MediaType.AUDIO,
            frozenset(Capability.for_audio_kind(kind) for kind in AudioKind),
            Constraints(voices=("ana", "bo"), voice_id_prefixes=("v-",), audio_formats=("mp3", "wav")),
        ),
    ),
)
ALL_TOOLS = [*tools(), *(t for t in tools([SOUNDS]))]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values a tool's schema allows, drawn from its keywords (the subset the generated schemas use); objects keep
    their required properties, take optional ones at random, and are filtered by the schema's cross-field rules."""
    if "anyOf" in schema:
        return st.one_of([from_schema(option) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if isinstance(schema.get("type"), list):
        return st.one_of([from_schema({**schema, "type": kind}) for kind in schema["type"]])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers()
    if kind == "number":
        low = schema.get("exclusiveMinimum")
        return st.floats(min_value=low, exclude_min=low is not None, allow_nan=False, allow_infinity=False)
    if kind == "string":
        text = st.from_regex(schema["pattern"]) if "pattern" in schema else st.text()
        banned = schema.get("not", {}).get("enum", [])
        return text.filter(lambda value: value not in banned)
    if kind == "array":
        return st.lists(
            from_schema(schema["items"]), min_size=schema.get("minItems", 0), max_size=schema.get("maxItems", 4)
        )
    properties = schema.get("properties")
    if properties is None:
        return st.dictionaries(st.text(max_size=8), JSON, max_size=3)
    required = set(schema.get("required", ()))
    drawn = st.fixed_dictionaries(
        {name: from_schema(prop) for name, prop in properties.items() if name in required},
        optional={name: from_schema(prop) for name, prop in properties.items() if name not in required},
    )
    return drawn.filter(Draft202012Validator(schema).is_valid)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    image, audio = tmp_path / "input.png", tmp_path / "input.wav"
    image.write_bytes(png(16, 16))
    audio.write_bytes(speech("wav", 0.2))
    return image, audio


def with_real_files(arguments: dict[str, Any], files: tuple[Path, Path]) -> dict[str, Any]:
    """Paths the schema allows name files; put files there (the schema cannot know what exists)."""
    image, audio = files
    given = dict(arguments)
    if given.get("input_images") is not None:
        given["input_images"] = [str(image)] * len(given["input_images"])
    if given.get("input_audio") is not None:
        given["input_audio"] = [str(audio)] * len(given["input_audio"])
    if given.get("mask") is not None:
        given["mask"] = str(image)
    return given


def test_the_installed_backends_give_one_tool_per_media_type() -> None:
    installed = ["generate_image", "generate_video", "generate_audio", "transform_audio", "clone_voice"]
    assert [t.name for t in tools()] == installed  # ElevenLabs transforms and clones voices
    assert [t.name for t in tools([SOUNDS])] == ["generate_audio", "transform_audio", "clone_voice"]


def test_every_field_an_agent_sets_has_a_description_and_every_tool_has_the_request_fields() -> None:
    exposed = {f.name for f in attrs.fields(MediaRequest)} - HOST_FIELDS
    assert exposed <= set(DESCRIPTIONS), f"describe {exposed - set(DESCRIPTIONS)} in schema.DESCRIPTIONS"
    for tool in ALL_TOOLS:
        for name, prop in tool.input_schema["properties"].items():
            assert prop["description"], (tool.name, name)
        Draft202012Validator.check_schema(tool.input_schema)
    Draft202012Validator.check_schema(OUTPUT_SCHEMA)


def test_enums_come_from_the_installed_specs() -> None:
    image, video, audio, *_ = tools()
    props = image.input_schema["properties"]
    assert {"openai", "google", "openrouter"} <= set(props["backend"]["enum"])
    assert "gpt-image-1.5" in props["model"]["examples"] and "sora-2" not in props["model"]["examples"]
    assert "enum" not in props["model"]  # an unlisted model goes to a named backend as named
    assert {"png", "jpeg", "webp"} <= set(props["output_format"]["enum"])
    assert "sora-2" in video.input_schema["properties"]["model"]["examples"]
    voice = audio.input_schema["properties"]["voice"]["anyOf"]
    assert "coral" in voice[0]["enum"] and voice[1]["pattern"].endswith("(voice_)")
    assert set(OPENAI.models[-1].constraints.audio_formats) <= set(
        audio.input_schema["properties"]["audio_format"]["enum"]
    )
    assert image.input_schema["required"] == ["prompt"] and "audio_kind" not in props
    assert "n" in props and "n" not in video.input_schema["properties"] and "n" not in audio.input_schema["properties"]
    transform = tools([SOUNDS])[1]
    assert transform.input_schema["required"] == ["input_audio", "audio_kind"]
    assert "prompt" not in transform.input_schema["properties"]


@pytest.mark.parametrize("tool", ALL_TOOLS, ids=lambda t: t.name)
def test_every_value_the_schema_allows_is_accepted(tool: Tool, files: tuple[Path, Path]) -> None:
    specs = None if any(tool is installed for installed in tools()) else [SOUNDS]

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(from_schema(tool.input_schema))
    def accepted(arguments: dict[str, Any]) -> None:
        given = with_real_files(arguments, files)
        request = request_for_tool(tool, given)
        assert request.media_type is tool.media_type
        for name, value in given.items():
            if value is not None and name not in ("input_images", "mask", "input_audio", "audio_kind", "extra"):
                assert getattr(request, name) == value
        again = request_from_arguments({"media_type": tool.media_type.value, **given}, specs=specs)
        assert again.effective_audio_kind == request.effective_audio_kind

    accepted()


@pytest.mark.parametrize("tool", ALL_TOOLS, ids=lambda t: t.name)
def test_every_value_the_schema_forbids_is_refused_naming_a_field(tool: Tool) -> None:
    names = [*tool.input_schema["properties"], "media_type", "output_dir", "bogus"]
    validator = Draft202012Validator(tool.input_schema)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(JSON, st.dictionaries(st.sampled_from(names), JSON, max_size=4)))
    def refused(arguments: Any) -> None:
        if isinstance(arguments, dict) and validator.is_valid(arguments):
            return
        with pytest.raises(InvalidRequest) as caught:
            request_for_tool(tool, arguments)
        assert caught.value.field in {*names, "arguments"}

    refused()


@pytest.mark.parametrize(
    ("arguments", "field", "words"),
    [
        ({"prompt": " "}, "prompt", "must not be empty"),
        ({"prompt": "a fox", "size": "1024x1024", "aspect_ratio": "1:1"}, "size", "not both"),
        ({"prompt": "a fox", "mask": "m.png"}, "mask", "input image"),
        ({"prompt": "a fox", "backend": "nobody"}, "backend", "is not one of"),
        ({"prompt": "a fox", "prompts": ["a cat"]}, "prompts", "unknown argument"),
        ({"prompt": "a fox", "seed": 1.5}, "seed", "is not of type"),
        ({"prompt": "a fox", "aspect_ratio": "0:1"}, "aspect_ratio", "Width:height"),
        ({}, "prompt", "is required"),
        ({"prompt": "a fox", "filename": "\x00"}, "filename", "is not allowed"),
        ({"prompt": "a fox", "n": 11}, "n", "is greater than the maximum"),
    ],
)
def test_a_refusal_names_the_field_and_says_what_is_wrong(arguments: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        request_for_tool(tools()[0], arguments)
    assert caught.value.field == field and words in caught.value.message


def test_null_means_not_given_as_openai_strict_functions_send_it() -> None:
    request = request_for_tool(tools()[0], {"prompt": "a fox", "size": None, "seed": None, "backend": None})
    assert (request.size, request.seed, request.backend) == (None, None, None)


def test_a_request_with_no_media_type_or_an_unknown_one_is_refused() -> None:
    for arguments in ({"prompt": "a fox"}, {"media_type": None, "prompt": "a fox"}, {"media_type": "smell"}):
        with pytest.raises(InvalidRequest) as caught:
            request_from_arguments(arguments)
        assert caught.value.field == "media_type"


#: Keywords OpenAI strict function schemas support (platform docs, "Supported schemas").
OPENAI_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "description",
    "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems",
    "maxItems", "$defs", "$ref",
}  # fmt: skip


def strict_problems(schema: Any, path: str = "parameters", depth: int = 0) -> list[str]:
    """Where a schema breaks OpenAI's strict rules: objects close and require every property, only supported
    keywords, nesting at most 10 deep."""
    problems = [f"{path}: {key} is not supported" for key in set(schema) - OPENAI_KEYWORDS]
    if depth > 10:
        problems.append(f"{path}: nested deeper than 10")
    kinds = schema.get("type") if isinstance(schema.get("type"), list) else [schema.get("type")]
    if "object" in kinds:
        if schema.get("additionalProperties") is not False:
            problems.append(f"{path}: additionalProperties must be false")
        if sorted(schema.get("required", [])) != sorted(schema.get("properties", {})):
            problems.append(f"{path}: every property must be required")
        for name, prop in schema.get("properties", {}).items():
            problems += strict_problems(prop, f"{path}.{name}", depth + 1)
    if "items" in schema:
        problems += strict_problems(schema["items"], f"{path}[]", depth + 1)
    for option in schema.get("anyOf", []):
        problems += strict_problems(option, f"{path}|", depth + 1)
    return problems


def test_the_openai_format_is_a_strict_function_schema() -> None:
    from openai.lib._pydantic import _ensure_strict_json_schema

    for definition in tool_schemas("openai"):
        function = definition["function"]
        assert definition["type"] == "function" and function["strict"] is True
        parameters = function["parameters"]
        assert parameters["type"] == "object" and "anyOf" not in parameters
        assert strict_problems(parameters) == []
        enum_values = sum(len(p.get("enum", [])) for p in parameters["properties"].values())
        assert enum_values <= 1000
        # The SDK's own strict pass finds nothing to change.
        assert _ensure_strict_json_schema(copy.deepcopy(parameters), path=(), root={}) == parameters
        Draft202012Validator.check_schema(parameters)


def test_a_call_an_openai_strict_model_makes_is_accepted(files: tuple[Path, Path]) -> None:
    parameters = tool_schema("generate_image", "openai")["function"]["parameters"]
    arguments: dict[str, Any] = dict.fromkeys(parameters["properties"])
    arguments.update(prompt="a fox", size="1024x1024", input_images=[str(files[0])])
    request = request_for_tool(tools()[0], arguments)
    assert (request.prompt, request.size, len(request.input_images)) == ("a fox", "1024x1024", 1)


def test_the_anthropic_format_is_a_plain_object_schema_with_a_valid_name() -> None:
    for definition in tool_schemas("anthropic"):
        assert set(definition) == {"name", "description", "input_schema"}
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", definition["name"])
        schema = definition["input_schema"]
        assert schema["type"] == "object" and not {"oneOf", "anyOf", "allOf"} & set(schema)
        Draft202012Validator.check_schema(schema)


def test_the_mcp_format_is_an_mcp_tool_with_an_object_output_schema() -> None:
    import mcp_types

    for definition in tool_schemas("mcp"):
        tool = mcp_types.Tool.model_validate(definition)
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        Draft202012Validator.check_schema(tool.input_schema)
        Draft202012Validator.check_schema(tool.output_schema)


def test_an_unknown_format_or_tool_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        tool_schemas("langchain")
    assert caught.value.field == "format" and "openai" in caught.value.message
    with pytest.raises(InvalidRequest) as caught:
        tool_schema("generate_smell")
    assert "generate_image" in caught.value.message


def test_every_batch_the_batch_schema_allows_is_accepted_in_order(files: tuple[Path, Path]) -> None:
    schema = batch_schema()

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(from_schema(schema))
    def accepted(arguments: dict[str, Any]) -> None:
        given = {**arguments, "requests": [with_real_files(entry, files) for entry in arguments["requests"]]}
        requests, max_concurrent = requests_for_batch(given)
        assert [r.media_type.value for r in requests] == [e["media_type"] for e in given["requests"]]
        assert max_concurrent == arguments.get("max_concurrent")

    accepted()


def test_every_batch_the_batch_schema_forbids_is_refused_naming_a_field() -> None:
    validator = Draft202012Validator(batch_schema())
    entry = st.fixed_dictionaries(
        {"media_type": st.sampled_from(["image", "video", "audio", "smell"])}, optional={"prompt": JSON, "size": JSON}
    )
    arguments = st.fixed_dictionaries(
        {}, optional={"requests": st.one_of(JSON, st.lists(entry, max_size=3)), "max_concurrent": JSON, "bogus": JSON}
    )

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(JSON, arguments))
    def refused(arguments: Any) -> None:
        if isinstance(arguments, dict) and validator.is_valid(arguments):
            return
        with pytest.raises(InvalidRequest) as caught:
            requests_for_batch(arguments)
        assert caught.value.field in {"requests", "max_concurrent", "bogus", "arguments"}

    refused()


def test_a_bad_batch_entry_is_named_by_its_number_and_field() -> None:
    arguments = {"requests": [{"media_type": "image", "prompt": "a fox"}, {"media_type": "video", "prompt": " "}]}
    with pytest.raises(InvalidRequest) as caught:
        requests_for_batch(arguments)
    assert caught.value.field == "requests" and "requests: entry 2: prompt: must not be empty" in caught.value.message
