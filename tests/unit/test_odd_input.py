"""Odd input is an InvalidRequest naming its field, never a traceback, a stringified value or a truthy string."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from mediagen.domain.errors import InvalidRequest
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.entrypoints.batchfile import read_batch_file
from mediagen.entrypoints.mcp import McpHost, McpOptions
from mediagen.entrypoints.tool import request_from_arguments
from mediagen.testing.media import png

IMAGE = {"media_type": "image"}


def refused(field: str, **kwargs: Any) -> InvalidRequest:
    kwargs.setdefault("media_type", MediaType.IMAGE)
    kwargs.setdefault("prompt", "a red fox")
    with pytest.raises(InvalidRequest) as caught:
        MediaRequest(**kwargs)
    assert caught.value.field == field, str(caught.value)
    return caught.value


class NeverCalled:
    """A service that fails the test if a request gets as far as generating."""

    async def generate(self, request: MediaRequest) -> Any:
        raise AssertionError(f"nothing may be sent for {request!r}")


async def tool_call(arguments: Any) -> dict[str, Any]:
    """A call of the MCP server's image tool (a media_type argument is refused there as unknown: the tool is it)."""
    if isinstance(arguments, dict) and arguments.get("media_type") == "image":  # the image tool is that media type
        arguments = {key: value for key, value in arguments.items() if key != "media_type"}
    host = McpHost(NeverCalled(), McpOptions(Path(tempfile.gettempdir())))  # type: ignore[arg-type]
    return await host.call("generate_image", arguments)


# -- media_type ---------------------------------------------------------------------------------------------------


def test_a_media_type_of_none_is_refused_not_accepted() -> None:
    error = refused("media_type", media_type=None)
    assert "image, video or audio" in error.message


async def test_the_tool_and_mcp_refuse_a_null_media_type() -> None:
    with pytest.raises(InvalidRequest) as caught:
        request_from_arguments({"media_type": None, "prompt": "a fox"})
    assert caught.value.field == "media_type"
    payload = await tool_call({"media_type": None, "prompt": "a fox"})
    assert (payload["error_code"], payload["field"]) == ("invalid_request", "media_type")


def test_a_batch_entry_with_a_null_media_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text('{"prompt": "a fox", "media_type": null}\n')
    with pytest.raises(InvalidRequest, match=r"line 1: media_type: "):
        read_batch_file(path, IMAGE)


# -- numbers and types --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["duration", "speed", "timeout"])
@pytest.mark.parametrize("value", [10**400, -(10**400), "1" * 400], ids=["huge", "-huge", "huge-text"])
def test_a_number_too_large_for_a_float_is_refused(field: str, value: Any) -> None:
    refused(field, media_type=MediaType.AUDIO, prompt="hello", **{field: value})


@pytest.mark.parametrize("seed", [10**400, 2**64, -(2**64)], ids=["huge", "2**64", "-2**64"])
def test_a_seed_beyond_64_bits_is_refused(seed: int) -> None:
    refused("seed", seed=seed)


@pytest.mark.parametrize("value", [5, 2.5, object(), {"a": 1}, b"fox.png"])
def test_input_images_that_are_no_paths_are_refused(value: Any) -> None:
    refused("input_images", input_images=value)


@pytest.mark.parametrize("value", [5, 2.5, ["out"], b"out", object()])
def test_an_output_dir_that_is_no_path_is_refused(value: Any) -> None:
    refused("output_dir", output_dir=value)


@pytest.mark.parametrize("value", ["no", "yes", "false", 1, 0, None, [True]])
def test_overwrite_must_be_a_boolean_never_a_truthy_string(value: Any) -> None:
    refused("overwrite", overwrite=value)


def test_overwrite_true_and_false_are_kept() -> None:
    assert MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", overwrite=True).overwrite is True
    assert MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", overwrite=False).overwrite is False


@pytest.mark.parametrize("arguments", [[], ["media_type", "prompt"], [{"media_type": "image"}], "image", 5])
async def test_tool_arguments_that_are_no_object_are_refused(arguments: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        request_from_arguments(arguments)
    assert caught.value.field == "arguments"
    payload = await tool_call(arguments)
    assert (payload["error_code"], payload["field"]) == ("invalid_request", "arguments")


# -- prompts ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prompt", ["a fox \ud800", "\udcff\udcfe bytes argv could not decode", "\udfff"])
def test_a_prompt_with_lone_surrogates_is_refused(prompt: str) -> None:
    error = refused("prompt", prompt=prompt)
    assert "UTF-8" in error.message


def test_lone_surrogates_in_any_text_field_are_refused_naming_it() -> None:
    refused("negative_prompt", negative_prompt="blur \ud800")
    refused("filename", filename="fox\udcff")


@pytest.mark.parametrize("prompt", ["\x00", "\x01\x02\x1b", "\u200b\u2060", "\x7f \x85\t"])
def test_a_prompt_of_only_control_or_invisible_characters_is_empty(prompt: str) -> None:
    error = refused("prompt", prompt=prompt)
    assert "must not be empty" in error.message


@pytest.mark.parametrize("prompt", [5, 2.5, True, ["a fox"], {"text": "a fox"}, b"a fox"])
async def test_a_prompt_that_is_no_string_is_refused_not_stringified(prompt: Any) -> None:
    refused("prompt", prompt=prompt)
    payload = await tool_call({"media_type": "image", "prompt": prompt})
    assert (payload["error_code"], payload["field"]) == ("invalid_request", "prompt")


# -- batch files --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100_000, 5_000])
def test_a_deeply_nested_batch_file_is_refused_without_a_recursion_error(tmp_path: Path, depth: int) -> None:
    """Under Python's default recursion limit (set here: another test's library may have raised the process's)."""
    path = tmp_path / "deep.json"
    path.write_text('[{"prompt": "a fox", "extra": {"x": ' + "[" * depth + "]" * depth + "}}]")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        with pytest.raises(InvalidRequest, match="nested") as caught:
            read_batch_file(path, IMAGE)
    finally:
        sys.setrecursionlimit(limit)
    assert caught.value.field == "file"


def test_a_deeply_nested_json_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text('{"prompt": "a fox", "extra": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(InvalidRequest, match=r"line 1: .*nested"):
        read_batch_file(path, IMAGE)


@pytest.mark.parametrize("digits", [400, 5000])
def test_a_huge_number_in_a_batch_file_is_refused_naming_its_field(tmp_path: Path, digits: int) -> None:
    path = tmp_path / "huge.jsonl"
    path.write_text('{"prompt": "waves", "media_type": "video", "duration": ' + "9" * digits + "}\n")
    with pytest.raises(InvalidRequest, match=r"line 1: .*duration") as caught:
        read_batch_file(path, IMAGE)
    assert caught.value.field == "file"


def test_a_small_png_still_passes(tmp_path: Path) -> None:
    (tmp_path / "fox.png").write_bytes(png(8, 8))
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", input_images=[tmp_path / "fox.png"])
    assert len(request.input_images) == 1


# -- paths no filesystem can hold -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_images", ["fox\x00.png"]),
        ("input_images", ["x" * 300 + ".png"]),
        ("input_images", [f"{'d' * 256}/fox.png"]),
        ("output_dir", "renders/\x00"),
        ("output_dir", "renders/" + "y" * 256),
        ("filename", "fox\x00.png"),
    ],
    ids=["image-nul", "image-long-name", "image-long-dir", "dir-nul", "dir-long", "filename-nul"],
)
def test_a_path_with_a_nul_byte_or_a_name_over_the_limit_is_refused_naming_its_field(field: str, value: Any) -> None:
    refused(field, **{field: value})


def test_a_mask_path_over_the_limit_is_refused_naming_mask(tmp_path: Path) -> None:
    (tmp_path / "fox.png").write_bytes(png(8, 8))
    refused("mask", input_images=[tmp_path / "fox.png"], mask="m" * 300 + ".png")
