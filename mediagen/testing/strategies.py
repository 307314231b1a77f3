"""Hypothesis strategies for MediaRequest: requests that must construct, and keyword sets that must not.

    from hypothesis import given
    from mediagen.testing.strategies import invalid_request_kwargs, valid_requests

    @given(valid_requests())
    def test_my_mapping_accounts_for_every_parameter(request): ...

Input files are drawn only from paths you pass in (write them once, e.g. with `mediagen.testing.media.png`),
so the strategies never touch the filesystem themselves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from mediagen.domain.media import AudioKind, MediaType
from mediagen.domain.request import MediaRequest

__all__ = ["invalid_request_kwargs", "valid_request_kwargs", "valid_requests"]

_NAME = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)
_FORMAT = st.from_regex(r"[a-z0-9_]{2,16}", fullmatch=True)
_FILENAME = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,30}", fullmatch=True)
_SEGMENT = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,11}", fullmatch=True)
_TEXT = st.text(max_size=40)
_JSON_SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False), _TEXT
)
_JSON = st.recursive(_JSON_SCALAR, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
# Positive, finite, and given as the types callers use: float, int and numeric text.
_POSITIVE = st.one_of(
    st.floats(min_value=1e-3, max_value=1e4, allow_nan=False, allow_infinity=False),
    st.integers(1, 3600),
    st.integers(1, 3600).map(str),
)


def _nonblank(max_size: int = 40) -> st.SearchStrategy[str]:
    """Text with at least one visible character somewhere in it."""
    visible = st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc", "Cf", "Co", "Cn"))
    return st.tuples(st.text(max_size=max_size // 2), visible, st.text(max_size=max_size // 2)).map("".join)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _ratio() -> st.SearchStrategy[str]:
    sep = st.sampled_from([":", " : ", ":"])
    return st.builds(lambda w, s, h: f"{w}{s}{h}", st.integers(1, 64), sep, st.integers(1, 64))


def _size() -> st.SearchStrategy[str]:
    sep = st.sampled_from(["x", "X", "×"])
    return st.builds(lambda w, s, h: f"{w}{s}{h}", st.integers(1, 8192), sep, st.integers(1, 8192))


def _paths(paths: Sequence[Path]) -> st.SearchStrategy[Any]:
    """One of the given files, as a Path or as text (both are accepted)."""
    return st.sampled_from(list(paths)).flatmap(lambda p: st.sampled_from([p, str(p)]))


@st.composite
def valid_request_kwargs(
    draw: st.DrawFn,
    media_types: Sequence[MediaType] = tuple(MediaType),
    tmp_images: Sequence[Path] = (),
    tmp_audio: Sequence[Path] = (),
) -> dict[str, Any]:
    """Keyword arguments with which MediaRequest constructs: every field kind, each optional one sometimes set."""
    media_type = draw(st.sampled_from(list(media_types)))
    kwargs: dict[str, Any] = {"media_type": draw(st.sampled_from([media_type, media_type.value]))}
    kind: AudioKind | None = None
    if media_type is MediaType.AUDIO:
        kinds = [k for k in AudioKind if tmp_audio or not k.needs_input_audio]
        kind = draw(_optional(st.sampled_from(kinds)))
        if kind is not None:
            kwargs["audio_kind"] = draw(st.sampled_from([kind, kind.value]))
            if kind.needs_input_audio:
                kwargs["input_audio"] = draw(_paths(tmp_audio))
        kwargs["audio_format"] = draw(_optional(_FORMAT))
        for name in ("voice", "instructions", "language"):
            kwargs[name] = draw(_optional(_TEXT))
        kwargs["speed"] = draw(_optional(_POSITIVE))
    needs_prompt = kind is None or kind.needs_prompt
    kwargs["prompt"] = draw(_nonblank() if needs_prompt else st.one_of(st.just(""), _TEXT))
    if media_type is not MediaType.AUDIO:
        if tmp_images:
            images = draw(st.lists(_paths(tmp_images), max_size=3))
            kwargs["input_images"] = images
            if images and media_type is MediaType.IMAGE:
                kwargs["mask"] = draw(_optional(_paths(tmp_images)))
        geometry = draw(st.sampled_from(["none", "aspect_ratio", "size"]))
        if geometry == "aspect_ratio":
            kwargs["aspect_ratio"] = draw(_ratio())
        elif geometry == "size":
            kwargs["size"] = draw(_size())
        for name in ("quality", "background", "negative_prompt"):
            kwargs[name] = draw(_optional(_TEXT))
    if media_type is not MediaType.IMAGE:
        kwargs["duration"] = draw(_optional(_POSITIVE))
    kwargs["seed"] = draw(_optional(st.integers(-(2**63), 2**64 - 1)))
    kwargs["output_format"] = draw(_optional(_FORMAT))
    kwargs["backend"] = draw(_optional(_NAME))
    kwargs["model"] = draw(_optional(_NAME))
    kwargs["continue_from"] = draw(_optional(st.one_of(_nonblank(30), st.builds("{}:{}".format, _NAME, _NAME))))
    kwargs["output_dir"] = draw(_optional(st.lists(_SEGMENT, min_size=1, max_size=3).map(lambda s: Path(*s))))
    kwargs["filename"] = draw(_optional(_FILENAME))
    kwargs["overwrite"] = draw(st.booleans())
    kwargs["timeout"] = draw(_optional(_POSITIVE))
    kwargs["extra"] = draw(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,11}", fullmatch=True), _JSON, max_size=3))
    return {name: value for name, value in kwargs.items() if value is not None}


def valid_requests(
    media_types: Sequence[MediaType] = tuple(MediaType),
    tmp_images: Sequence[Path] = (),
    tmp_audio: Sequence[Path] = (),
) -> st.SearchStrategy[MediaRequest]:
    """MediaRequests that construct without error; input files only from the given existing paths.

    Without `tmp_audio`, audio kinds that need an input file (isolation, dubbing, ...) are not drawn.
    """
    if not media_types:
        raise ValueError("media_types must name at least one MediaType")
    return valid_request_kwargs(tuple(media_types), tuple(tmp_images), tuple(tmp_audio)).map(
        lambda kwargs: MediaRequest(**kwargs)
    )


def _case(field: str, strategy: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    return strategy.map(lambda kwargs: (kwargs, field))


def _base(media_type: MediaType = MediaType.IMAGE, **fields: Any) -> dict[str, Any]:
    return {"media_type": media_type, "prompt": "a red fox", **fields}


def _with(field: str, values: st.SearchStrategy[Any], media_type: MediaType | None = None) -> st.SearchStrategy[Any]:
    media = st.just(media_type) if media_type is not None else st.sampled_from(list(MediaType))
    return st.builds(lambda m, v: _base(m, **{field: v}), media, values)


_BLANK = st.text(alphabet=" \t\n\r\u00a0\u2003", max_size=5)
_BAD_NUMBERS = st.one_of(
    st.floats(max_value=0.0, allow_nan=False),
    st.integers(max_value=0),
    st.sampled_from([math.nan, math.inf, -math.inf, "nan", "inf", "abc", "", "1,5", True, False, [1], {}, b"5"]),
)
_BAD_RATIOS = st.one_of(
    st.sampled_from(["16-9", "0:1", "1:0", "0:0", "a:b", "16:9:1", "16:", ":9", "-1:2", "1.5:1", "", "16/9", "x"]),
    st.builds(lambda w, h: f"{w}:{h}", st.integers(-50, 0), st.integers(-50, 50)),
)
_BAD_SIZES = st.one_of(
    st.sampled_from(["1024", "0x10", "10x0", "axb", "10x-1", "1024*1024", "", "1024x", "x768", "1.5x2", "10x10x10"]),
    st.builds(lambda w, h: f"{w}x{h}", st.integers(-50, 0), st.integers(1, 50)),
)
_BAD_FILENAMES = st.one_of(
    st.sampled_from(["a/b.png", "/abs.png", "dir/", "..", ".", "a\\b.png", "", " ", "a\x00b"]),
    st.builds("{}/{}".format, _FILENAME, _FILENAME),
)
_BAD_SEEDS = st.one_of(
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["3", "", "seven", [1], (2,), b"1"]),
)


def invalid_request_kwargs(images: Sequence[Path] = ()) -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    """(kwargs, field) pairs: MediaRequest(**kwargs) must raise InvalidRequest whose `field` is `field`.

    Each case breaks exactly one rule on an otherwise valid request. With `images` (existing image files),
    the rules that need a real image (a mask without input images, images on audio) are drawn too.
    """
    missing = st.from_regex(r"/nonexistent-mediagen/[a-z]{1,8}\.png", fullmatch=True)
    prompt_kinds: list[AudioKind | None] = [None, *(k for k in AudioKind if k.needs_prompt and not k.needs_input_audio)]
    cases = [
        _case("prompt", _with("prompt", _BLANK, MediaType.IMAGE)),
        _case("prompt", _with("prompt", _BLANK, MediaType.VIDEO)),
        _case(
            "prompt",
            st.builds(
                lambda k, p: _base(MediaType.AUDIO, audio_kind=k, prompt=p), st.sampled_from(prompt_kinds), _BLANK
            ),
        ),
        _case(
            "media_type",
            st.sampled_from(["picture", "", "images", "3d", 1]).map(lambda m: {"media_type": m, "prompt": "a red fox"}),
        ),
        _case("duration", _with("duration", _BAD_NUMBERS)),
        _case("speed", _with("speed", _BAD_NUMBERS, MediaType.AUDIO)),
        _case("timeout", _with("timeout", _BAD_NUMBERS)),
        _case("aspect_ratio", _with("aspect_ratio", _BAD_RATIOS)),
        _case("size", _with("size", _BAD_SIZES)),
        _case(
            "size",
            st.builds(lambda m: _base(m, size="1024x1024", aspect_ratio="1:1"), st.sampled_from(list(MediaType))),
        ),
        _case("mask", _with("mask", missing, MediaType.IMAGE)),
        _case("input_images", _with("input_images", st.lists(missing, min_size=1, max_size=2), MediaType.IMAGE)),
        _case("input_audio", _with("input_audio", missing, MediaType.AUDIO)),
        _case(
            "audio_kind",
            st.builds(
                lambda m, k: _base(m, audio_kind=k),
                st.sampled_from([MediaType.IMAGE, MediaType.VIDEO]),
                st.sampled_from([*AudioKind, "speech", "music"]),
            ),
        ),
        _case(
            "audio_kind",
            _with("audio_kind", st.sampled_from(["singing", "", "speech!", "podcast", 7]), MediaType.AUDIO),
        ),
        _case(
            "input_audio",
            st.sampled_from([k for k in AudioKind if k.needs_input_audio]).map(
                lambda k: _base(MediaType.AUDIO, audio_kind=k)
            ),
        ),
        _case("seed", _with("seed", _BAD_SEEDS)),
        _case("backend", _with("backend", _BLANK)),
        _case("model", _with("model", _BLANK)),
        _case("continue_from", _with("continue_from", _BLANK)),
        _case("filename", _with("filename", _BAD_FILENAMES)),
        _case("output_format", _with("output_format", st.sampled_from(["PNG", "p", "png!", "", "a" * 17, "mp 3"]))),
        _case("audio_format", _with("audio_format", st.sampled_from(["MP3", "m", "", "wav/pcm"]), MediaType.AUDIO)),
        _case(
            "audio_format",
            st.builds(lambda m: _base(m, audio_format="mp3"), st.sampled_from([MediaType.IMAGE, MediaType.VIDEO])),
        ),
        _case("extra", _with("extra", st.sampled_from([[("a", 1)], "a=1", 3]))),
    ]
    if images:
        image = _paths(images)
        cases += [
            _case("mask", _with("mask", image, MediaType.IMAGE)),
            _case("input_images", st.builds(lambda p: _base(MediaType.AUDIO, input_images=[p]), image)),
        ]
    return st.one_of(cases)
