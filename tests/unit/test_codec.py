"""The request codec: every valid request survives a JSON round trip; bad data is an InvalidRequest naming its field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediagen.application.codec import decode_request, encode_request, request_converter
from mediagen.domain.errors import InvalidRequest
from mediagen.domain.media import AudioKind, MediaType
from mediagen.domain.request import InputImage, MediaRequest
from mediagen.testing.media import png, wav
from mediagen.testing.strategies import valid_requests


@attrs.frozen
class Files:
    images: tuple[Path, ...]
    audio: Path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    root = tmp_path_factory.mktemp("codec-files")
    images = []
    for n in range(2):
        path = root / f"in put {n}.png"  # a space, so paths are not just safe characters
        path.write_bytes(png(4, 4, seed=n))
        images.append(path)
    audio = root / "voice.wav"
    audio.write_bytes(wav(0.05))
    return Files(tuple(images), audio)


def assert_same(back: MediaRequest, request: MediaRequest) -> None:
    assert back == request
    assert dict(back.extra) == dict(request.extra)  # `extra` is left out of equality, so compare it too


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_valid_request_survives_unstructure_json_and_structure_unchanged(
    files: Files, data: st.DataObject
) -> None:
    request = data.draw(valid_requests(tmp_images=files.images, tmp_audio=[files.audio]))
    converter = request_converter()
    wire = json.dumps(converter.unstructure(request), allow_nan=False)
    back = converter.structure(json.loads(wire), MediaRequest)
    assert_same(back, request)
    assert_same(decode_request(json.loads(json.dumps(encode_request(request)))), request)


def test_encoding_gives_plain_json_values_and_leaves_unset_fields_out(files: Files) -> None:
    request = MediaRequest(
        media_type=MediaType.IMAGE, prompt="edit", input_images=[files.images[0]], mask=files.images[1], seed=0
    )
    data = encode_request(request)
    assert data == {
        "media_type": "image",
        "prompt": "edit",
        "input_images": [str(files.images[0])],
        "mask": str(files.images[1]),
        "seed": 0,
    }
    assert type(data["media_type"]) is str  # not a str-subclass enum member


def test_audio_kinds_and_input_audio_encode_as_text(files: Files) -> None:
    request = MediaRequest(media_type=MediaType.AUDIO, audio_kind=AudioKind.DUBBING, input_audio=files.audio)
    data = encode_request(request)
    assert data == {"media_type": "audio", "prompt": "", "audio_kind": "dubbing", "input_audio": str(files.audio)}
    assert type(data["audio_kind"]) is str


def test_several_voice_clone_samples_encode_as_a_list_and_come_back(files: Files) -> None:
    samples = [files.audio, files.audio]
    request = MediaRequest(
        media_type=MediaType.AUDIO, audio_kind=AudioKind.VOICE_CLONE, prompt="hi", input_audio=samples
    )
    data = encode_request(request)
    assert data["input_audio"] == [str(files.audio), str(files.audio)]
    assert_same(decode_request(data), request)


def test_files_may_also_be_given_as_objects_with_a_path(files: Files) -> None:
    data = {
        "media_type": "image",
        "prompt": "edit",
        "input_images": [{"path": str(files.images[0])}, str(files.images[1])],
        "mask": {"path": str(files.images[1])},
    }
    request = decode_request(data)
    assert [image.path for image in request.input_images] == list(files.images)
    assert request.mask == InputImage(files.images[1], "image/png")


def test_decoding_checks_the_files_again(tmp_path: Path) -> None:
    """A stored job whose input file has gone is refused, not sent half-built to a vendor."""
    image = tmp_path / "fox.png"
    image.write_bytes(png(4, 4))
    data = encode_request(MediaRequest(media_type=MediaType.VIDEO, prompt="animate", input_images=[image]))
    image.unlink()
    with pytest.raises(InvalidRequest) as caught:
        decode_request(data)
    assert caught.value.field == "input_images" and "does not exist" in caught.value.message


def test_a_request_object_passes_through_structure_untouched() -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="fox")
    assert request_converter().structure(request, MediaRequest) is request


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"media_type": "image", "prompt": "fox", "aspect_ratio": "16x9"}, "aspect_ratio"),
        ({"media_type": "image", "prompt": "fox", "size": "big"}, "size"),
        ({"media_type": "video", "prompt": "waves", "duration": 0}, "duration"),
        ({"media_type": "video", "prompt": "waves", "duration": "soon"}, "duration"),
        ({"media_type": "image", "prompt": "fox", "seed": "7"}, "seed"),
        ({"media_type": "image", "prompt": "fox", "seed": 7.0}, "seed"),
        ({"media_type": "picture", "prompt": "fox"}, "media_type"),
        ({"media_type": "image", "prompt": "   "}, "prompt"),
        ({"media_type": "image", "audio_kind": "speech", "prompt": "x"}, "audio_kind"),
        ({"media_type": "audio", "audio_kind": "singing", "prompt": "x"}, "audio_kind"),
        ({"media_type": "image", "prompt": "fox", "input_images": ["/nonexistent-mediagen/a.png"]}, "input_images"),
        ({"media_type": "image", "prompt": "fox", "input_images": [{"path": 3}]}, "input_images"),
        ({"media_type": "image", "prompt": "fox", "input_images": [{"name": "a.png"}]}, "input_images"),
        ({"media_type": "image", "prompt": "fox", "mask": {"path": ["a"]}}, "mask"),
        ({"media_type": "audio", "audio_kind": "dubbing", "input_audio": {"path": None}}, "input_audio"),
        ({"media_type": "image", "prompt": "fox", "extra": ["not", "a", "mapping"]}, "extra"),
        ({"media_type": "image", "prompt": "fox", "colour": "red"}, "colour"),
        ({"media_type": "image", "prompt": "fox", "filename": "../escape.png"}, "filename"),
    ],
)
def test_decoding_bad_data_raises_invalid_request_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_request(data)
    assert caught.value.field == field, str(caught.value)


def test_an_unknown_field_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_request({"media_type": "image", "prompt": "fox", "promt": "typo"})
    assert "valid fields:" in caught.value.message
    for name in ("media_type", "prompt", "aspect_ratio", "continue_from", "extra"):
        assert name in caught.value.message


@pytest.mark.parametrize("data", [["image", "fox"], "image: fox", 42, None])
def test_data_that_is_not_an_object_is_refused(data: Any) -> None:
    with pytest.raises(InvalidRequest, match="expected an object of request fields"):
        request_converter().structure(data, MediaRequest)


def test_a_missing_media_type_is_an_invalid_request_not_a_type_error() -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_request({"prompt": "fox"})
    assert caught.value.field == "media_type" and "image, video or audio" in caught.value.message
