"""MediaRequest to and from plain JSON data (cattrs), for stored jobs, batch files and the agent tool.

Structuring always builds the request through its constructor, so decoded data is validated exactly like
a request made in code: input files are re-checked, bad values raise `InvalidRequest` naming the field.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from mediagen.domain.errors import InvalidRequest
from mediagen.domain.media import AudioKind, MediaType
from mediagen.domain.request import InputAudio, InputImage, MediaRequest

__all__ = ["decode_request", "encode_request", "request_converter"]

_FIELDS = tuple(field.name for field in attrs.fields(MediaRequest))


def _structure_file(kind: type[InputImage] | type[InputAudio], field: str) -> Any:
    def structure(value: Any, _: Any) -> InputImage | InputAudio:
        if isinstance(value, Mapping):
            value = value.get("path")
        if not isinstance(value, (str, Path)):
            raise InvalidRequest(f"expected a file path, got {type(value).__name__}", field=field)
        return kind.from_path(value, field=field)

    return structure


def _unstructure_audio(files: tuple[InputAudio, ...]) -> str | list[str]:
    paths = [str(audio.path) for audio in files]
    return paths[0] if len(paths) == 1 else paths


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def request_converter() -> cattrs.Converter:
    """A converter whose `unstructure` gives JSON-ready dicts (defaults left out) and `structure` re-validates."""
    converter = cattrs.Converter()
    converter.register_unstructure_hook(Path, str)
    # Plain values, not str-subclass enum members, so the output is JSON data for any encoder.
    for kind in (MediaType, AudioKind):
        converter.register_unstructure_hook(kind, _enum_value)
    converter.register_unstructure_hook(InputImage, lambda image: str(image.path))
    converter.register_unstructure_hook(InputAudio, lambda audio: str(audio.path))
    converter.register_structure_hook(InputImage, _structure_file(InputImage, "input_images"))
    converter.register_structure_hook(InputAudio, _structure_file(InputAudio, "input_audio"))
    converter.register_unstructure_hook(
        MediaRequest,
        make_dict_unstructure_fn(
            MediaRequest,
            converter,
            _cattrs_omit_if_default=True,
            media_type=override(omit_if_default=False),
            prompt=override(omit_if_default=False),
            extra=override(unstruct_hook=lambda extra: dict(extra)),
            # One file as its path (as before several were allowed), several as a list of paths.
            input_audio=override(unstruct_hook=_unstructure_audio),
        ),
    )

    def structure_request(data: Any, _: Any) -> MediaRequest:
        if isinstance(data, MediaRequest):
            return data
        if not isinstance(data, Mapping):
            raise InvalidRequest(f"expected an object of request fields, got {type(data).__name__}")
        unknown = [key for key in data if key not in _FIELDS]
        if unknown:
            raise InvalidRequest(f"is not a request field; valid fields: {', '.join(_FIELDS)}", field=str(unknown[0]))
        if "media_type" not in data:
            raise InvalidRequest("is required: image, video or audio", field="media_type")
        kwargs = dict(data)
        if "mask" in kwargs and isinstance(kwargs["mask"], Mapping):
            kwargs["mask"] = _structure_file(InputImage, "mask")(kwargs["mask"], InputImage)
        if "input_audio" in kwargs and isinstance(kwargs["input_audio"], Mapping):
            kwargs["input_audio"] = converter.structure(kwargs["input_audio"], InputAudio)
        sounds = kwargs.get("input_audio")
        if isinstance(sounds, (list, tuple)):
            kwargs["input_audio"] = [
                converter.structure(item, InputAudio) if isinstance(item, Mapping) else item for item in sounds
            ]
        images = kwargs.get("input_images")
        if isinstance(images, (list, tuple)):
            kwargs["input_images"] = [
                converter.structure(item, InputImage) if isinstance(item, Mapping) else item for item in images
            ]
        return MediaRequest(**kwargs)

    converter.register_structure_hook(MediaRequest, structure_request)
    return converter


_CONVERTER = request_converter()


def encode_request(request: MediaRequest) -> dict[str, Any]:
    """The request as JSON-ready data: enums as values, paths as strings, unset fields left out."""
    data: dict[str, Any] = _CONVERTER.unstructure(request, MediaRequest)
    return data


def decode_request(data: Mapping[str, Any]) -> MediaRequest:
    """The request `encode_request` (or a person) wrote; validated like any request, InvalidRequest if not."""
    return _CONVERTER.structure(data, MediaRequest)
