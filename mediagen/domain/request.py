"""MediaRequest: one generation, validated on construction so bad input never reaches a vendor."""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Union

import attrs

from mediagen.domain.errors import InvalidRequest
from mediagen.domain.media import AudioKind, Capability, MediaType
from mediagen.domain.sniff import SNIFF_BYTES, media_type_of, sniff

#: Patterns compiled on first use (by `re`'s cache): a request may give no ratio, size or format.
_RATIO = r"^\s*(\d+)\s*:\s*(\d+)\s*$"
_SIZE = r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$"
_FORMAT = r"^[a-z0-9_]{2,16}$"
#: Longest file or directory name most filesystems take (NAME_MAX), in bytes of its UTF-8 form.
MAX_NAME_BYTES: Final = 255
#: Longest path the request takes (PATH_MAX on Linux), in bytes of its UTF-8 form.
MAX_PATH_BYTES: Final = 4096
#: Seeds are 64-bit at most at every vendor; a larger integer could only fail there, after the request was sent.
SEED_RANGE: Final = range(-(2**63), 2**64)

#: What names a file in a request: a path, its text, or an InputImage already made.
ImagePath = Union["InputImage", str, "os.PathLike[str]"]
#: What a path field takes.
PathText = Union[str, "os.PathLike[str]"]


def _shown(value: Any) -> str:
    """A value for an error message, cut short: the message must stay readable whatever was passed."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def check_path(value: Any, field: str) -> Path:
    """A path from a str or os.PathLike, refused when it cannot name a file: a NUL byte, a name over the
    filesystem's limit, undecodable text."""
    if isinstance(value, Path):
        path = value
    elif isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes):
        path = Path(value)
        if isinstance(os.fspath(path), bytes):  # pragma: no cover - a PathLike giving bytes
            raise InvalidRequest(f"expected a file path, got {type(value).__name__}", field=field)
    else:
        raise InvalidRequest(f"expected a file path, got {type(value).__name__}", field=field)
    text = str(path)
    if "\x00" in text:
        raise InvalidRequest(f"{_shown(text)} contains a NUL byte, which no file name can hold", field=field)
    _check_text(text, field)
    if len(text.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        raise InvalidRequest(f"the path is longer than {MAX_PATH_BYTES} bytes; use a shorter one", field=field)
    for part in path.parts:
        if len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise InvalidRequest(
                f"{_shown(part)} is longer than {MAX_NAME_BYTES} bytes, the longest name a filesystem takes",
                field=field,
            )
    return path


def _check_text(text: str, field: str) -> None:
    """Text must be sendable as UTF-8: no lone surrogates (they come from undecodable command-line bytes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidRequest(
            f"is not valid UTF-8 text (character {error.start + 1} is a lone surrogate, e.g. from bytes the "
            "command line could not decode); pass the text in UTF-8",
            field=field,
        ) from None


#: One character a reader sees: not whitespace, not a control character (Cc), not an invisible format character
#: (soft hyphen, zero-width and direction marks, word joiners, BOM). A regular expression both Python and JSON
#: Schema read alike, so the agent tool's schema states the very rule the validator applies.
VISIBLE_CHARACTER: Final = r"[^\s\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
_VISIBLE = re.compile(VISIBLE_CHARACTER)


def has_visible_text(text: str) -> bool:
    """Whether `text` holds anything but whitespace, control and invisible format characters."""
    return _VISIBLE.search(text) is not None


#: The most images one request may ask for (`n`).
MAX_N = 10


@attrs.frozen
class AspectRatio:
    """W:H with positive integers."""

    width: int = attrs.field(validator=attrs.validators.gt(0))
    height: int = attrs.field(validator=attrs.validators.gt(0))

    @classmethod
    def parse(cls, text: str, *, field: str = "aspect_ratio") -> AspectRatio:
        match = re.match(_RATIO, text)
        if not match or 0 in (int(match[1]), int(match[2])):
            raise InvalidRequest(f"{text!r} is not W:H with positive integers, e.g. 16:9", field=field)
        return cls(int(match[1]), int(match[2]))

    @property
    def value(self) -> float:
        return self.width / self.height

    def __str__(self) -> str:
        return f"{self.width}:{self.height}"


@attrs.frozen
class Size:
    """WxH in pixels, positive integers."""

    width: int = attrs.field(validator=attrs.validators.gt(0))
    height: int = attrs.field(validator=attrs.validators.gt(0))

    @classmethod
    def parse(cls, text: str, *, field: str = "size") -> Size:
        match = re.match(_SIZE, text)
        if not match or 0 in (int(match[1]), int(match[2])):
            raise InvalidRequest(f"{text!r} is not WxH with positive integers, e.g. 1024x1024", field=field)
        return cls(int(match[1]), int(match[2]))

    @property
    def ratio(self) -> float:
        return self.width / self.height

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


def _read_head(path: Path, field: str) -> bytes:
    check_path(path, field)
    if not path.exists():
        raise InvalidRequest(f"{str(path)!r} does not exist", field=field)
    if not path.is_file():
        raise InvalidRequest(f"{str(path)!r} is not a file", field=field)
    try:
        with path.open("rb") as handle:
            return handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise InvalidRequest(f"{str(path)!r} cannot be read: {exc.strerror}", field=field) from None


@attrs.frozen
class InputImage:
    """An image file the request sends to the backend; its type is sniffed from its bytes."""

    path: Path = attrs.field(converter=Path)
    mime_type: str = ""

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], *, field: str = "input_images") -> InputImage:
        resolved = check_path(path, field).expanduser()
        mime = sniff(_read_head(resolved, field))
        if mime is None or media_type_of(mime) is not MediaType.IMAGE:
            raise InvalidRequest(
                f"{str(resolved)!r} is not a PNG, JPEG, WebP or GIF image (checked its first bytes)", field=field
            )
        return cls(resolved, mime)

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


@attrs.frozen
class InputAudio:
    """An audio (or video, for dubbing) file the request sends; its type is sniffed."""

    path: Path = attrs.field(converter=Path)
    mime_type: str = ""

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], *, field: str = "input_audio") -> InputAudio:
        resolved = check_path(path, field).expanduser()
        mime = sniff(_read_head(resolved, field))
        if mime is None or media_type_of(mime) not in (MediaType.AUDIO, MediaType.VIDEO):
            raise InvalidRequest(f"{str(resolved)!r} is not an audio or video file we recognise", field=field)
        return cls(resolved, mime)

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


def _to_image(value: object, field: str) -> InputImage:
    if isinstance(value, InputImage):
        return value if value.mime_type else InputImage.from_path(value.path, field=field)
    return InputImage.from_path(check_path(value, field), field=field)


def _convert_images(value: ImagePath | Iterable[ImagePath] | None) -> tuple[InputImage, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, os.PathLike, InputImage)):
        return (_to_image(value, "input_images"),)
    if isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise InvalidRequest(f"expected a list of file paths, got {type(value).__name__}", field="input_images")
    return tuple(_to_image(item, "input_images") for item in value)


def _convert_mask(value: ImagePath | None) -> InputImage | None:
    return None if value is None else _to_image(value, "mask")


def _to_audio(value: InputAudio | PathText) -> InputAudio:
    if isinstance(value, InputAudio):
        return value if value.mime_type else InputAudio.from_path(value.path)
    return InputAudio.from_path(check_path(value, "input_audio"))


def _convert_audio(value: InputAudio | PathText | Sequence[InputAudio | PathText] | None) -> tuple[InputAudio, ...]:
    """One file or several (a voice clone takes several samples); none is the empty tuple."""
    if value is None:
        return ()
    if isinstance(value, (str, os.PathLike, InputAudio)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise InvalidRequest(f"expected a file path or a list of them, got {type(value).__name__}", field="input_audio")
    return tuple(_to_audio(item) for item in value)


def _enum(enum_type: type[Any], field: str) -> Any:
    def convert(value: Any) -> Any:
        if value is None or isinstance(value, enum_type):
            return value
        try:
            return enum_type(str(value).strip().lower().replace("-", "_"))
        except ValueError:
            valid = ", ".join(member.value for member in enum_type)
            raise InvalidRequest(f"{value!r} is not one of: {valid}", field=field) from None

    return convert


def _optional_text(value: str | None) -> str | None:
    if value is None:
        return None
    return str(value)


def _number(field: str) -> Any:
    def convert(value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise InvalidRequest(f"{_shown(value)} is not a number", field=field)
        try:
            number = float(value)
        except ValueError:
            raise InvalidRequest(f"{_shown(value)} is not a number", field=field) from None
        except OverflowError:  # an int beyond any float, e.g. 10**400
            raise InvalidRequest(f"{_shown(value)} is not a finite number", field=field) from None
        if not math.isfinite(number):
            raise InvalidRequest(f"{_shown(value)} is not a finite number", field=field)
        return number

    return convert


def _seed(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{_shown(value)} is not an integer", field="seed")
    if value not in SEED_RANGE:
        raise InvalidRequest(f"{_shown(value)} does not fit in 64 bits; use a smaller seed", field="seed")
    return value


# The converters' parameter types are the constructor's (mypy's attrs plugin reads them), so `mypy --strict`
# refuses e.g. duration="long" in code; at run time each still checks what it is given, for JSON and batch files.


def _to_media_type(value: MediaType | str) -> MediaType:
    if value is None:
        raise InvalidRequest("is required: image, video or audio", field="media_type")
    return _enum(MediaType, "media_type")(value)  # type: ignore[no-any-return]


def _to_audio_kind(value: AudioKind | str | None) -> AudioKind | None:
    return _enum(AudioKind, "audio_kind")(value)  # type: ignore[no-any-return]


def _to_duration(value: float | None) -> float | None:
    return _number("duration")(value)  # type: ignore[no-any-return]


def _to_speed(value: float | None) -> float | None:
    return _number("speed")(value)  # type: ignore[no-any-return]


def _to_timeout(value: float | None) -> float | None:
    return _number("timeout")(value)  # type: ignore[no-any-return]


def _to_prompt(value: str | None) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidRequest(f"expected text, got {type(value).__name__}", field="prompt")
    return value


def _to_optional_path(value: PathText | None) -> Path | None:
    return None if value is None else check_path(value, "output_dir").expanduser()


def _to_overwrite(value: bool) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequest(f"{_shown(value)} is not true or false", field="overwrite")
    return value


def _extra(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidRequest("must be a mapping of vendor parameter names to values", field="extra")
    return dict(value)


@attrs.frozen(kw_only=True)
class MediaRequest:
    """One generation. Construction validates every field; None always means "not given"."""

    media_type: MediaType = attrs.field(converter=_to_media_type)
    prompt: str = attrs.field(default="", converter=_to_prompt)
    backend: str | None = attrs.field(default=None, converter=_optional_text)
    model: str | None = attrs.field(default=None, converter=_optional_text)
    input_images: tuple[InputImage, ...] = attrs.field(default=(), converter=_convert_images)
    mask: InputImage | None = attrs.field(default=None, converter=_convert_mask)
    #: Input audio (or video, for dubbing): one file, or several samples for a voice clone.
    input_audio: tuple[InputAudio, ...] = attrs.field(default=(), converter=_convert_audio)
    aspect_ratio: str | None = attrs.field(default=None, converter=_optional_text)
    size: str | None = attrs.field(default=None, converter=_optional_text)
    quality: str | None = attrs.field(default=None, converter=_optional_text)
    background: str | None = attrs.field(default=None, converter=_optional_text)
    duration: float | None = attrs.field(default=None, converter=_to_duration)
    seed: int | None = attrs.field(default=None, converter=_seed)
    negative_prompt: str | None = attrs.field(default=None, converter=_optional_text)
    voice: str | None = attrs.field(default=None, converter=_optional_text)
    instructions: str | None = attrs.field(default=None, converter=_optional_text)
    speed: float | None = attrs.field(default=None, converter=_to_speed)
    language: str | None = attrs.field(default=None, converter=_optional_text)
    audio_kind: AudioKind | None = attrs.field(default=None, converter=_to_audio_kind)
    audio_format: str | None = attrs.field(default=None, converter=_optional_text)
    output_format: str | None = attrs.field(default=None, converter=_optional_text)
    continue_from: str | None = attrs.field(default=None, converter=_optional_text)
    output_dir: Path | None = attrs.field(default=None, converter=_to_optional_path)
    filename: str | None = attrs.field(default=None, converter=_optional_text)
    overwrite: bool = attrs.field(default=False, converter=_to_overwrite)
    timeout: float | None = attrs.field(default=None, converter=_to_timeout)
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_extra, eq=False, hash=False)
    #: How many images to make from this request, each its own file and result (MediaService.generate_batch).
    n: int = 1

    def __attrs_post_init__(self) -> None:
        _validate(self)

    @property
    def effective_audio_kind(self) -> AudioKind | None:
        if self.media_type is not MediaType.AUDIO:
            return None
        return self.audio_kind or AudioKind.SPEECH

    @property
    def parsed_aspect_ratio(self) -> AspectRatio | None:
        return None if self.aspect_ratio is None else AspectRatio.parse(self.aspect_ratio)

    @property
    def parsed_size(self) -> Size | None:
        return None if self.size is None else Size.parse(self.size)

    def required_capabilities(self) -> frozenset[Capability]:
        """What a model must declare to serve this request at all."""
        caps: set[Capability] = set()
        if self.media_type is MediaType.IMAGE:
            caps.add(Capability.IMAGE_EDIT if self.input_images else Capability.TEXT_TO_IMAGE)
            if len(self.input_images) > 1:
                caps.add(Capability.MULTI_IMAGE_INPUT)
            if self.mask is not None:
                caps.add(Capability.MASK)
        elif self.media_type is MediaType.VIDEO:
            caps.add(Capability.IMAGE_TO_VIDEO if self.input_images else Capability.TEXT_TO_VIDEO)
        else:
            kind = self.effective_audio_kind
            assert kind is not None
            caps.add(Capability.for_audio_kind(kind))
        if self.continue_from is not None:
            caps.add(Capability.CONTINUATION)
        return frozenset(caps)

    def optional_capabilities(self) -> frozenset[Capability]:
        """What the request asks for that a model may ignore (reported), or that strict mode requires."""
        caps: set[Capability] = set()
        if self.seed is not None:
            caps.add(Capability.SEED)
        if self.negative_prompt is not None:
            caps.add(Capability.NEGATIVE_PROMPT)
        return frozenset(caps)

    def singles(self) -> tuple[MediaRequest, ...]:
        """This request as n requests for one result each; a file name gets -1, -2, ... before its extension."""
        if self.n == 1:
            return (self,)
        names: list[str | None] = [None] * self.n
        if self.filename is not None:
            stem, dot, suffix = self.filename.rpartition(".")
            names = [f"{stem}-{i}.{suffix}" if dot and stem else f"{self.filename}-{i}" for i in range(1, self.n + 1)]
        return tuple(attrs.evolve(self, n=1, filename=name) for name in names)

    def set_parameters(self) -> dict[str, Any]:
        """Every generation parameter the caller set, by name: each must end applied, adapted or ignored."""
        return dict(self._set_parameters)

    @functools.cached_property  # asked by the adapter's report and again by the service's account of it
    def _set_parameters(self) -> dict[str, Any]:
        names = (
            "aspect_ratio", "size", "quality", "background", "duration", "seed", "negative_prompt",
            "voice", "instructions", "speed", "language", "audio_format", "output_format",
        )  # fmt: skip
        params: dict[str, Any] = {name: getattr(self, name) for name in names if getattr(self, name) is not None}
        if self.input_images:
            params["input_images"] = len(self.input_images)
        if self.mask is not None:
            params["mask"] = str(self.mask.path)
        if len(self.input_audio) == 1:
            params["input_audio"] = str(self.input_audio[0].path)
        elif self.input_audio:
            params["input_audio"] = len(self.input_audio)
        for key, value in self.extra.items():
            params[f"extra.{key}"] = value
        return params


_TEXT_FIELDS: Final = (
    "prompt", "backend", "model", "aspect_ratio", "size", "quality", "background", "negative_prompt", "voice",
    "instructions", "language", "audio_format", "output_format", "continue_from", "filename",
)  # fmt: skip


def _validate(request: MediaRequest) -> None:
    kind = request.effective_audio_kind
    if request.audio_kind is not None and request.media_type is not MediaType.AUDIO:
        raise InvalidRequest(
            f"audio_kind is only for audio requests, not {request.media_type.value}", field="audio_kind"
        )
    for name in _TEXT_FIELDS:
        value = getattr(request, name)
        if value is not None:
            _check_text(value, name)
    if not has_visible_text(request.prompt) and (kind is None or kind.needs_prompt):
        raise InvalidRequest("must not be empty; describe what to generate", field="prompt")
    if kind is not None and kind.needs_input_audio and not request.input_audio:
        raise InvalidRequest(f"{kind.value} needs an input audio file", field="input_audio")
    if request.input_audio and (kind is None or not kind.needs_input_audio):
        what = kind.value if kind else request.media_type.value
        raise InvalidRequest(f"{what} takes no input audio", field="input_audio")
    if len(request.input_audio) > 1 and kind is not AudioKind.VOICE_CLONE:
        what = kind.value if kind else request.media_type.value
        raise InvalidRequest(
            f"{what} takes one input file, not {len(request.input_audio)} (only voice_clone takes several samples)",
            field="input_audio",
        )
    if request.duration is not None and request.duration <= 0:
        raise InvalidRequest(f"{request.duration:g} is not a positive number of seconds", field="duration")
    if request.speed is not None and request.speed <= 0:
        raise InvalidRequest(f"{request.speed:g} is not a positive speed", field="speed")
    if request.timeout is not None and request.timeout <= 0:
        raise InvalidRequest(f"{request.timeout:g} is not a positive number of seconds", field="timeout")
    if request.aspect_ratio is not None:
        AspectRatio.parse(request.aspect_ratio)
    if request.size is not None:
        Size.parse(request.size)
        if request.aspect_ratio is not None:
            raise InvalidRequest("give size or aspect_ratio, not both", field="size")
    if request.mask is not None and not request.input_images:
        raise InvalidRequest("a mask needs at least one input image to apply to", field="mask")
    if request.input_images and request.media_type is MediaType.AUDIO:
        raise InvalidRequest("audio requests take no input images", field="input_images")
    for name in ("audio_format", "output_format"):
        value = getattr(request, name)
        if value is not None and not re.match(_FORMAT, value):
            raise InvalidRequest(f"{value!r} is not a format name such as png or mp3", field=name)
    if request.audio_format is not None and request.media_type is not MediaType.AUDIO:
        raise InvalidRequest("audio_format is only for audio requests; use output_format", field="audio_format")
    if request.backend is not None and not request.backend.strip():
        raise InvalidRequest("must not be blank; leave it unset to pick automatically", field="backend")
    if request.model is not None and not request.model.strip():
        raise InvalidRequest("must not be blank; leave it unset for the backend's default", field="model")
    if request.filename is not None:
        name = request.filename
        if not name.strip() or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
            raise InvalidRequest(f"{name!r} must be a plain file name without directories", field="filename")
    if request.continue_from is not None and not request.continue_from.strip():
        raise InvalidRequest("must not be blank", field="continue_from")
    if isinstance(request.n, bool) or not isinstance(request.n, int) or not 1 <= request.n <= MAX_N:
        raise InvalidRequest(f"{request.n!r} is not a whole number from 1 to {MAX_N}", field="n")
    if request.n > 1 and request.media_type is not MediaType.IMAGE:
        raise InvalidRequest(f"several results from one request are for images; ask {request.n} times", field="n")
