"""The OpenAI Images fake through the real AsyncOpenAI client: generations, edits with masks, validation."""

from __future__ import annotations

import base64
import hashlib
import io

import openai
import pytest
from openai import AsyncOpenAI
from openai.types import ImagesResponse
from PIL import Image

from mediagen.domain.sniff import sniff
from mediagen.sandbox import Sandbox, media


def _decode(b64: str | None) -> Image.Image:
    assert b64 is not None
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def _png(width: int, height: int, *, alpha: bool = False, colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGBA" if alpha else "RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def _mask(width: int, height: int) -> bytes:
    """An RGBA mask whose left half is fully transparent: edit there, keep the rest."""
    img = Image.new("RGBA", (width, height), (0, 0, 0, 255))
    img.paste((0, 0, 0, 0), (0, 0, width // 2, height))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("size", "fmt"), [("1024x1024", "png"), ("1536x1024", "jpeg"), ("1024x1536", "webp")]
)  # fmt: skip
async def test_generate_returns_an_image_of_the_requested_size_and_format(
    client: AsyncOpenAI, size: str, fmt: str
) -> None:
    result = await client.images.generate(
        model="gpt-image-1", prompt="a red fox in snow", size=size, output_format=fmt, quality="low"
    )
    assert result.data is not None
    img = _decode(result.data[0].b64_json)
    assert f"{img.width}x{img.height}" == size
    assert img.format == fmt.upper()
    assert (result.size, result.output_format, result.quality) == (size, fmt, "low")
    assert result.usage is not None
    assert result.usage.output_tokens > 0


async def test_auto_size_n_images_and_transparent_background(client: AsyncOpenAI) -> None:
    result = await client.images.generate(model="gpt-image-1", prompt="logo", n=3, background="transparent")
    assert result.data is not None
    images = [_decode(d.b64_json) for d in result.data]
    assert [i.size for i in images] == [(1024, 1024)] * 3
    assert all(i.mode == "RGBA" for i in images)
    assert len({d.b64_json for d in result.data}) == 3
    assert result.background == "transparent"


async def test_flexible_size_models_accept_multiples_of_16_within_limits(client: AsyncOpenAI) -> None:
    result = await client.images.generate(model="gpt-image-2", prompt="wide", size="1536x864")
    assert result.data is not None
    assert _decode(result.data[0].b64_json).size == (1536, 864)
    with pytest.raises(openai.BadRequestError, match="divisible by 16") as info:
        await client.images.generate(model="gpt-image-2", prompt="odd", size="1000x1001")
    assert info.value.param == "size"


@pytest.mark.parametrize(
    ("kwargs", "param", "code"),
    [
        ({"size": "512x512"}, "size", "invalid_value"),
        ({"quality": "hd"}, "quality", "invalid_value"),
        ({"quality": "xhigh"}, "quality", "invalid_value"),
        ({"output_format": "bmp"}, "output_format", "invalid_value"),
        ({"output_format": "gif"}, "output_format", "invalid_value"),
        ({"n": 11}, "n", "integer_above_max_value"),
        ({"n": 0}, "n", "integer_below_min_value"),
        ({"background": "transparent", "output_format": "jpeg"}, "background", "invalid_value"),
        ({"output_compression": 50}, "output_compression", "invalid_value"),
        ({"response_format": "url"}, "response_format", "unknown_parameter"),
        ({"model": "dall-e-3"}, "model", "invalid_value"),
        ({"model": "gpt-image-9"}, "model", "invalid_value"),
        ({"prompt": ""}, "prompt", "empty_string"),
    ],
)
async def test_generate_rejects_what_the_api_rejects_naming_the_parameter(
    client: AsyncOpenAI, kwargs: dict[str, object], param: str, code: str
) -> None:
    call = {"model": "gpt-image-1", "prompt": "a fox", **kwargs}
    with pytest.raises(openai.BadRequestError) as info:
        await client.images.generate(**call)  # type: ignore[call-overload]
    assert (info.value.param, info.value.code, info.value.type) == (param, code, "invalid_request_error")


async def test_bad_size_lists_the_supported_sizes(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await client.images.generate(model="gpt-image-1", prompt="x", size="1792x1024")
    assert info.value.message.endswith(
        "Invalid value: '1792x1024'. Supported values are: 'auto', '1024x1024', '1536x1024', and '1024x1536'."
    )


async def test_unknown_parameters_are_refused(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="Unknown parameter: 'seed'") as info:
        await client.images.generate(model="gpt-image-1", prompt="x", extra_body={"seed": 3})
    assert info.value.code == "unknown_parameter"


async def test_edit_with_two_images_and_a_mask_uses_all_of_them(sandbox: Sandbox, client: AsyncOpenAI) -> None:
    first, second, mask = _png(64, 48, colour="red"), _png(30, 30, colour="blue"), _mask(64, 48)
    result = await client.images.edit(
        model="gpt-image-1",
        prompt="put them together",
        image=[("a.png", first, "image/png"), ("b.png", second, "image/png")],
        mask=("mask.png", mask, "image/png"),
        size="1536x1024",
    )
    assert result.data is not None
    out = _decode(result.data[0].b64_json)
    assert out.size == (1536, 1024)
    sent = sandbox.state("openai").requests_to("/v1/images/edits")[-1]
    assert [u.data for u in sent.files_named("image[]")] == [first, second]
    assert [u.data for u in sent.files_named("mask")] == [mask]
    assert sent.params["prompt"] == "put them together"
    made = sandbox.state("openai").images[-1]
    assert made.sources == tuple(hashlib.sha256(d).hexdigest() for d in (first, second, mask))
    # the prompt's colour fills the mask's transparent half; the first image shows through the rest
    rgb = out.convert("RGB")
    assert rgb.getpixel((5, 5)) == media.Palette.of("put them together\0" + "0").shape
    assert rgb.getpixel((1500, 5)) == (255, 0, 0)


async def test_edit_auto_size_follows_the_input_aspect(client: AsyncOpenAI) -> None:
    result = await client.images.edit(model="gpt-image-1", prompt="wider", image=("w.png", _png(300, 200)))
    assert result.data is not None
    assert _decode(result.data[0].b64_json).size == (1536, 1024)


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (_mask(32, 32), "same dimensions as the image"),
        (_png(64, 48, alpha=False), "must have an alpha channel"),
        (media.image(64, 48, "jpeg"), "must be a PNG"),
    ],
)
async def test_a_mask_must_be_a_png_with_alpha_the_size_of_the_first_image(
    client: AsyncOpenAI, mask: bytes, message: str
) -> None:
    with pytest.raises(openai.BadRequestError, match=message) as info:
        await client.images.edit(
            model="gpt-image-1", prompt="x", image=("a.png", _png(64, 48)), mask=("m.png", mask, "image/png")
        )
    assert info.value.param == "mask"


async def test_edit_refuses_files_that_are_not_images(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="unsupported mimetype") as info:
        await client.images.edit(model="gpt-image-1", prompt="x", image=("a.txt", b"hello there", "text/plain"))
    assert info.value.param == "image"


async def test_edit_without_an_image_is_a_missing_parameter(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="Missing required parameter: 'image'"):
        await client.post(
            "/images/edits",
            cast_to=ImagesResponse,
            body={"prompt": "x", "model": "gpt-image-1"},
            options={"headers": {"Content-Type": "multipart/form-data"}},
            files=[("mask", ("m.png", _png(8, 8, alpha=True), "image/png"))],
        )


async def test_edit_with_json_instead_of_multipart_is_refused(client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="expected multipart/form-data"):
        await client.post("/images/edits", cast_to=ImagesResponse, body={"prompt": "x"})


async def test_streaming_generation_sends_partial_images_then_the_completed_image(client: AsyncOpenAI) -> None:
    stream = await client.images.generate(
        model="gpt-image-1", prompt="stream me", stream=True, partial_images=2, size="1024x1536"
    )
    events = [event async for event in stream]
    assert [e.type for e in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    final = events[-1]
    assert final.type == "image_generation.completed"
    data = base64.b64decode(final.b64_json)
    assert sniff(data[:32]) == "image/png"
    assert media.image_size(data) == (1024, 1536)


async def test_every_generation_answer_validates_strictly_against_the_sdk_model(client: AsyncOpenAI) -> None:
    raw = await client.images.with_raw_response.generate(model="gpt-image-1", prompt="strict")
    body = raw.http_response.json()
    ImagesResponse.model_validate(body)
    assert {"created", "data", "usage", "size", "quality", "output_format", "background"} <= body.keys()
