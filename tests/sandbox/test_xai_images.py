"""The xAI fake's GenerateImage through the real xai_sdk.AsyncClient: generation, edits, formats, sizes, refusals."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator

import aiohttp
import grpc
import pytest
import xai_sdk
from aiohttp import web
from PIL import Image
from xai_sdk.proto import image_pb2, image_pb2_grpc

from mediagen.sandbox import Sandbox, SandboxSettings, media
from mediagen.sandbox.xai.state import XaiState

MODEL = "grok-imagine-image"


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.size


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def with_unknown_field(message: image_pb2.GenerateImageRequest, number: int = 99) -> image_pb2.GenerateImageRequest:
    """The message with a varint field the proto does not declare appended, as a newer client would send it."""
    extra = bytes([(number << 3) & 0x7F | 0x80, number >> 4, 1])
    return image_pb2.GenerateImageRequest.FromString(message.SerializeToString() + extra)


async def refused(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return caught.value


def stub(client: xai_sdk.AsyncClient) -> image_pb2_grpc.ImageStub:
    """The SDK's own stub on its authenticated channel, for messages the SDK's helpers would not build."""
    return client.image._stub


async def test_base64_answers_are_data_uris_the_sdk_decodes(xai_client: xai_sdk.AsyncClient) -> None:
    response = await xai_client.image.sample("a red fox", MODEL, image_format="base64")
    assert response.base64.startswith("data:image/jpeg;base64,")
    data = await response.image
    assert data[:3] == b"\xff\xd8\xff"
    assert size_of(data) == (1024, 1024)
    assert response.respect_moderation
    assert response.model == MODEL


async def test_url_answers_are_served_over_loopback_http(xai_client: xai_sdk.AsyncClient) -> None:
    response = await xai_client.image.sample("a red fox", MODEL)
    assert response.url.startswith("http://127.0.0.1:")
    assert response.url.endswith(".jpeg")
    data = await response.image
    assert size_of(data) == (1024, 1024)


@pytest.mark.parametrize(
    ("ratio", "resolution", "shape"),
    [
        ("16:9", "1k", 16 / 9),
        ("9:16", "1k", 9 / 16),
        ("3:2", "2k", 3 / 2),
        ("1:1", "2k", 1.0),
        ("19.5:9", "1k", 19.5 / 9),
    ],
)
async def test_aspect_ratio_and_resolution_shape_the_image(
    xai_client: xai_sdk.AsyncClient, ratio: str, resolution: str, shape: float
) -> None:
    response = await xai_client.image.sample(
        "a lake",
        MODEL,
        image_format="base64",
        aspect_ratio=ratio,
        resolution=resolution,  # type: ignore[arg-type]
    )
    width, height = size_of(await response.image)
    assert width / height == pytest.approx(shape, rel=0.03)
    side = 1024 if resolution == "1k" else 2048
    assert width * height == pytest.approx(side * side, rel=0.03)


async def test_a_batch_gives_n_different_images(xai_client: xai_sdk.AsyncClient) -> None:
    responses = await xai_client.image.sample_batch("a lake", MODEL, 3, image_format="base64")
    images = [await r.image for r in responses]
    assert len(images) == 3
    assert len(set(images)) == 3


async def test_edit_with_one_image_keeps_its_shape(xai_client: xai_sdk.AsyncClient, xai_sandbox: Sandbox) -> None:
    source = media.image(640, 360, "png", prompt="source")
    response = await xai_client.image.sample("add a hat", MODEL, image_url=data_uri(source), image_format="base64")
    width, height = size_of(await response.image)
    assert width / height == pytest.approx(16 / 9, rel=0.03)
    sent = xai_sandbox.state("xai").received("GenerateImage")[-1]
    assert isinstance(sent, image_pb2.GenerateImageRequest)
    assert sent.image.image_url.startswith("data:image/png;base64,")


async def test_edit_with_several_images(xai_client: xai_sdk.AsyncClient, xai_sandbox: Sandbox) -> None:
    first, second = (media.image(512, 512, "png", prompt=p) for p in ("one", "two"))
    response = await xai_client.image.sample(
        "combine them", MODEL, image_urls=[data_uri(first), data_uri(second, "image/png")], image_format="base64"
    )
    assert size_of(await response.image) == (1024, 1024)
    sent = xai_sandbox.state("xai").received("GenerateImage")[-1]
    assert isinstance(sent, image_pb2.GenerateImageRequest)
    assert len(sent.images) == 2


async def test_edit_from_an_image_url_the_fake_handed_out(xai_client: xai_sdk.AsyncClient) -> None:
    first = await xai_client.image.sample("a lake", MODEL, aspect_ratio="2:1")
    edited = await xai_client.image.sample("at night", MODEL, image_url=first.url, image_format="base64")
    width, height = size_of(await edited.image)
    assert width / height == pytest.approx(2.0, rel=0.03)


@pytest.fixture
async def other_server() -> AsyncIterator[str]:
    """A loopback HTTP server the fake does not know, holding one PNG at /cat.png."""
    app = web.Application()
    png = media.image(300, 400, "png", prompt="cat")

    async def cat(_: web.Request) -> web.Response:
        return web.Response(body=png, content_type="image/png")

    app.router.add_get("/cat.png", cat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


async def test_edit_from_another_http_url_is_fetched(xai_client: xai_sdk.AsyncClient, other_server: str) -> None:
    edited = await xai_client.image.sample("a hat", MODEL, image_url=f"{other_server}/cat.png", image_format="base64")
    width, height = size_of(await edited.image)
    assert width / height == pytest.approx(3 / 4, rel=0.03)
    error = await refused(xai_client.image.sample("a hat", MODEL, image_url=f"{other_server}/missing.png"))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "image.image_url" in (error.details() or "")


async def test_answers_carry_only_proto_fields(xai_sandbox: Sandbox) -> None:
    """The raw bytes on the wire parse as ImageResponse with nothing the proto lacks."""
    async with grpc.aio.insecure_channel(xai_sandbox.base_url("xai")) as channel:
        call = channel.unary_unary(
            "/xai_api.Image/GenerateImage",
            request_serializer=image_pb2.GenerateImageRequest.SerializeToString,
            response_deserializer=lambda raw: raw,
        )
        for fmt in (image_pb2.IMG_FORMAT_BASE64, image_pb2.IMG_FORMAT_URL):
            request = image_pb2.GenerateImageRequest(prompt="p", model=MODEL, n=2, format=fmt)
            raw = await call(request, metadata=(("authorization", "Bearer k"),))
            response = image_pb2.ImageResponse.FromString(raw)
            assert response.SerializeToString() == raw  # nothing unknown was dropped
            assert {f.name for f, _ in response.ListFields()} == {"images", "model"}
            for image in response.images:
                wanted = {"base64" if fmt == image_pb2.IMG_FORMAT_BASE64 else "url", "respect_moderation"}
                assert {f.name for f, _ in image.ListFields()} == wanted


# --- refusals ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"prompt": "", "model": MODEL}, "prompt"),
        ({"prompt": "p", "model": ""}, "model"),
        ({"prompt": "p", "model": "grok-imagine-video"}, "model"),
        ({"prompt": "p", "model": MODEL, "n": 0}, "n"),
        ({"prompt": "p", "model": MODEL, "n": 11}, "n"),
        ({"prompt": "p", "model": MODEL, "aspect_ratio": 99}, "aspect_ratio"),
        ({"prompt": "p", "model": MODEL, "resolution": image_pb2.IMG_RESOLUTION_INVALID}, "resolution"),
        ({"prompt": "p", "model": MODEL, "quality": 7}, "quality"),
        ({"prompt": "p", "model": MODEL, "format": 5}, "format"),
        ({"prompt": "p", "model": MODEL, "image": {"image_url": "not a uri"}}, "image.image_url"),
        ({"prompt": "p", "model": MODEL, "image": {"image_url": "data:image/png;base64,@@@"}}, "image.image_url"),
        ({"prompt": "p", "model": MODEL, "image": {"image_url": data_uri(b"not an image")}}, "image.image_url"),
        ({"prompt": "p", "model": MODEL, "image": {"detail": image_pb2.DETAIL_AUTO}}, "image"),
        ({"prompt": "p", "model": MODEL, "image": {"image_url": data_uri(b"x"), "detail": 9}}, "image.detail"),
        (
            {"prompt": "p", "model": MODEL, "image": {"image_url": "data:,"}, "images": [{"image_url": "data:,"}]},
            "images",
        ),
    ],
)
async def test_refused_with_invalid_argument_naming_the_field(
    xai_client: xai_sdk.AsyncClient, request_fields: dict[str, object], field: str
) -> None:
    error = await refused(stub(xai_client).GenerateImage(image_pb2.GenerateImageRequest(**request_fields)))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith(f"{field}:")


async def test_an_unknown_field_is_refused(xai_client: xai_sdk.AsyncClient) -> None:
    request = with_unknown_field(image_pb2.GenerateImageRequest(prompt="p", model=MODEL))
    error = await refused(stub(xai_client).GenerateImage(request))
    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown field number 99" in (error.details() or "")


async def test_an_unknown_model_is_not_found(xai_client: xai_sdk.AsyncClient) -> None:
    error = await refused(xai_client.image.sample("p", "grok-2-image-9999"))
    assert error.code() is grpc.StatusCode.NOT_FOUND
    assert "grok-2-image-9999" in (error.details() or "")


async def test_a_file_id_input_is_not_found(xai_client: xai_sdk.AsyncClient) -> None:
    error = await refused(xai_client.image.sample("p", MODEL, image_file_id="file_123"))
    assert error.code() is grpc.StatusCode.NOT_FOUND
    assert (error.details() or "").startswith("image.file_id:")


async def test_storage_options_report_a_storage_error(xai_client: xai_sdk.AsyncClient) -> None:
    response = await xai_client.image.sample(
        "p", MODEL, image_format="base64", storage_options={"filename": "out.jpeg"}
    )
    assert response.storage_error is not None
    assert len(await response.image) > 0


# --- auth, moderation, expiry -------------------------------------------------------------------------------------


async def test_a_call_without_a_key_is_unauthenticated(xai_sandbox: Sandbox) -> None:
    async with grpc.aio.insecure_channel(xai_sandbox.base_url("xai")) as channel:
        error = await refused(
            image_pb2_grpc.ImageStub(channel).GenerateImage(image_pb2.GenerateImageRequest(prompt="p", model=MODEL))
        )
    assert error.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_the_sandbox_key_setting_is_honoured() -> None:
    settings = SandboxSettings(api_key="the-right-key")
    async with Sandbox(vendors=("xai",), settings=settings) as sb:
        assert sb.env()["XAI_API_KEY"] == "the-right-key"
        wrong = xai_sdk.AsyncClient(
            api_key="sk-wrong-secret-123", api_host=sb.base_url("xai"), use_insecure_channel=True
        )
        error = await refused(wrong.image.sample("p", MODEL))
        assert error.code() is grpc.StatusCode.UNAUTHENTICATED
        assert "sk-wrong-secret-123" not in (error.details() or "")
        right = xai_sdk.AsyncClient(api_key="the-right-key", api_host=sb.base_url("xai"), use_insecure_channel=True)
        assert (await right.image.sample("p", MODEL, image_format="base64")).respect_moderation
        await wrong.close()
        await right.close()


async def test_moderated_output_is_withheld_as_the_sdk_expects(xai_client: xai_sdk.AsyncClient) -> None:
    response = await xai_client.image.sample("sandbox:block-output a cat", MODEL, image_format="base64")
    assert response.respect_moderation is False
    with pytest.raises(ValueError, match="did not respect moderation"):
        _ = response.base64
    with pytest.raises(ValueError, match="not returned"):
        await response.image


async def test_a_refused_prompt_answers_no_images(xai_client: xai_sdk.AsyncClient) -> None:
    response = await stub(xai_client).GenerateImage(
        image_pb2.GenerateImageRequest(prompt="sandbox:block-prompt", model=MODEL, n=2)
    )
    assert list(response.images) == []


async def test_image_urls_expire() -> None:
    async with Sandbox(vendors=("xai",), settings=SandboxSettings(media_url_ttl_seconds=1e-6)) as sb:
        client = xai_sdk.AsyncClient(api_key="k", api_host=sb.base_url("xai"), use_insecure_channel=True)
        response = await client.image.sample("a lake", MODEL)
        with pytest.raises(aiohttp.ClientResponseError) as caught:
            await response.image
        assert caught.value.status == 403
        error = await refused(client.image.sample("edit", MODEL, image_url=response.url))
        assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "expired" in (error.details() or "")
        await client.close()


def test_the_state_type() -> None:
    assert XaiState().received("GenerateImage") == []
