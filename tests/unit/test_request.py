"""MediaRequest validates on construction: every bad field is an InvalidRequest naming it and what would be valid."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediagen.domain.errors import InvalidRequest, MediaGenError
from mediagen.domain.media import AudioKind, Capability, MediaType
from mediagen.domain.request import InputAudio, InputImage, MediaRequest
from mediagen.testing.media import png, wav
from mediagen.testing.strategies import invalid_request_kwargs, valid_requests


@attrs.frozen
class Files:
    image: Path
    other_image: Path
    audio: Path
    text: Path
    fake_png: Path
    directory: Path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    root = tmp_path_factory.mktemp("request-files")
    (root / "fox.png").write_bytes(png(8, 8))
    (root / "mask.png").write_bytes(png(8, 8, seed=3))
    (root / "voice.wav").write_bytes(wav(0.1))
    (root / "notes.txt").write_text("not an image at all\n")
    (root / "renamed.png").write_bytes(b"%PDF-1.7 a document with an image's name")
    (root / "folder.png").mkdir()
    return Files(
        root / "fox.png", root / "mask.png", root / "voice.wav", root / "notes.txt", root / "renamed.png",
        root / "folder.png",
    )  # fmt: skip


def rejected(field: str, **kwargs: Any) -> InvalidRequest:
    """Construct a request that must fail; return the error after checking it names `field`."""
    kwargs.setdefault("media_type", MediaType.IMAGE)
    kwargs.setdefault("prompt", "a red fox")
    with pytest.raises(InvalidRequest) as caught:
        MediaRequest(**kwargs)
    error = caught.value
    assert error.field == field, f"expected field {field!r}, the error names {error.field!r}: {error}"
    assert error.code == "invalid_request"
    assert str(error).startswith(f"{field}: "), str(error)
    assert error.to_dict()["field"] == field
    return error


# -- prompt -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("media_type", [MediaType.IMAGE, MediaType.VIDEO, MediaType.AUDIO])
@pytest.mark.parametrize("prompt", ["", "   ", "\t\n", None])
def test_an_empty_or_blank_prompt_is_refused_with_a_hint(media_type: MediaType, prompt: str | None) -> None:
    error = rejected("prompt", media_type=media_type, prompt=prompt)
    assert "describe what to generate" in error.message


@pytest.mark.parametrize("kind", [AudioKind.SPEECH, AudioKind.MUSIC, AudioKind.SOUND_EFFECT, AudioKind.VOICE_DESIGN])
def test_audio_kinds_that_make_sound_from_text_need_a_prompt(kind: AudioKind) -> None:
    rejected("prompt", media_type=MediaType.AUDIO, audio_kind=kind, prompt=" ")


@pytest.mark.parametrize("kind", [AudioKind.AUDIO_ISOLATION, AudioKind.VOICE_CONVERSION, AudioKind.DUBBING])
def test_audio_kinds_that_transform_input_audio_accept_no_prompt(kind: AudioKind, files: Files) -> None:
    request = MediaRequest(media_type=MediaType.AUDIO, audio_kind=kind, input_audio=files.audio)
    assert request.prompt == ""
    assert [audio.mime_type for audio in request.input_audio] == ["audio/wav"]


@pytest.mark.parametrize("kind", [k for k in AudioKind if k.needs_input_audio])
def test_audio_kinds_that_transform_audio_need_the_input_file(kind: AudioKind) -> None:
    error = rejected("input_audio", media_type=MediaType.AUDIO, audio_kind=kind, prompt="x")
    assert "needs an input audio file" in error.message


def test_input_audio_on_speech_is_refused(files: Files) -> None:
    rejected("input_audio", media_type=MediaType.AUDIO, input_audio=files.audio)


def test_input_audio_that_is_an_image_is_refused(files: Files) -> None:
    error = rejected("input_audio", media_type=MediaType.AUDIO, audio_kind="audio_isolation", input_audio=files.image)
    assert "not an audio or video file" in error.message


# -- numbers ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("duration", [0, 0.0, -1, -0.5, "0", "-3"])
def test_a_duration_of_zero_or_less_is_refused_never_replaced_by_a_default(duration: Any) -> None:
    error = rejected("duration", media_type=MediaType.VIDEO, duration=duration)
    assert "positive number of seconds" in error.message


@pytest.mark.parametrize("duration", ["abc", "", "1,5", [4], {}, b"4", object()])
def test_a_duration_that_is_not_a_number_is_refused(duration: Any) -> None:
    error = rejected("duration", media_type=MediaType.VIDEO, duration=duration)
    assert "is not a number" in error.message


@pytest.mark.parametrize("duration", [True, False])
def test_a_boolean_duration_is_not_taken_for_one_or_zero(duration: bool) -> None:
    rejected("duration", media_type=MediaType.VIDEO, duration=duration)


@pytest.mark.parametrize("duration", [math.nan, math.inf, -math.inf, "nan", "inf"])
def test_a_duration_that_is_not_finite_is_refused(duration: Any) -> None:
    rejected("duration", media_type=MediaType.VIDEO, duration=duration)


def test_no_duration_means_the_backend_default() -> None:
    assert MediaRequest(media_type=MediaType.VIDEO, prompt="waves").duration is None
    assert MediaRequest(media_type=MediaType.VIDEO, prompt="waves", duration=None).duration is None


@pytest.mark.parametrize(("given", "stored"), [(8, 8.0), (0.25, 0.25), ("6", 6.0), (" 4.5 ", 4.5)])
def test_a_positive_duration_is_kept_as_seconds(given: Any, stored: float) -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="waves", duration=given)
    assert request.duration == stored and isinstance(request.duration, float)


@pytest.mark.parametrize("field", ["speed", "timeout"])
@pytest.mark.parametrize("value", [0, -2, "fast", True, math.nan])
def test_speed_and_timeout_must_be_positive_numbers(field: str, value: Any) -> None:
    rejected(field, media_type=MediaType.AUDIO, prompt="hello", **{field: value})


@pytest.mark.parametrize("seed", ["3", 3.0, 2.5, True, False, "seven", [1], b"1"])
def test_a_seed_that_is_not_an_int_is_refused(seed: Any) -> None:
    error = rejected("seed", seed=seed)
    assert "is not an integer" in error.message


@pytest.mark.parametrize("seed", [0, -1, 2**63, None])
def test_any_int_seed_is_kept_and_zero_is_a_seed(seed: int | None) -> None:
    assert MediaRequest(media_type=MediaType.IMAGE, prompt="fox", seed=seed).seed == seed


# -- geometry -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", ["16x9", "16-9", "0:1", "1:0", "a:b", "16:9:1", ":9", "-1:2", "1.5:1", "", "16/9"])
def test_an_aspect_ratio_not_w_colon_h_with_positive_ints_is_refused(ratio: str) -> None:
    error = rejected("aspect_ratio", aspect_ratio=ratio)
    assert "W:H with positive integers, e.g. 16:9" in error.message


@pytest.mark.parametrize("size", ["1024", "0x10", "10x0", "axb", "1024*1024", "1024x", "x768", "1.5x2", "16:9"])
def test_a_size_not_w_x_h_with_positive_ints_is_refused(size: str) -> None:
    error = rejected("size", size=size)
    assert "WxH with positive integers, e.g. 1024x1024" in error.message


def test_size_and_aspect_ratio_together_are_refused() -> None:
    error = rejected("size", size="1024x1024", aspect_ratio="1:1")
    assert "not both" in error.message


@pytest.mark.parametrize(("ratio", "size"), [(" 16 : 9 ", None), (None, "1536X1024"), (None, "640×480")])
def test_spacing_and_the_usual_x_spellings_are_accepted(ratio: str | None, size: str | None) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="fox", aspect_ratio=ratio, size=size)
    if ratio is not None:
        assert str(request.parsed_aspect_ratio) == "16:9"
    if size is not None:
        assert request.parsed_size is not None and request.parsed_size.width > request.parsed_size.height


# -- input files --------------------------------------------------------------------------------------------------


def test_a_mask_without_an_input_image_is_refused(files: Files) -> None:
    error = rejected("mask", mask=files.other_image)
    assert "needs at least one input image" in error.message


def test_a_missing_input_image_is_refused_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.png"
    error = rejected("input_images", input_images=[missing])
    assert str(missing) in error.message and "does not exist" in error.message


@pytest.mark.parametrize("which", ["text", "fake_png", "audio"])
def test_a_file_that_is_not_an_image_is_refused_by_its_bytes_not_its_name(files: Files, which: str) -> None:
    error = rejected("input_images", input_images=[getattr(files, which)])
    assert "is not a PNG, JPEG, WebP or GIF image" in error.message


def test_a_directory_is_not_an_input_image(files: Files) -> None:
    error = rejected("input_images", input_images=[files.directory])
    assert "is not a file" in error.message


def test_a_bad_mask_file_is_named_as_the_mask(files: Files) -> None:
    rejected("mask", input_images=[files.image], mask=files.text)


def test_one_bad_file_among_good_ones_is_refused(files: Files) -> None:
    rejected("input_images", input_images=[files.image, files.text])


def test_audio_requests_take_no_input_images(files: Files) -> None:
    rejected("input_images", media_type=MediaType.AUDIO, prompt="hi", input_images=[files.image])


def test_input_images_are_sniffed_and_accept_paths_text_and_single_values(files: Files) -> None:
    one = MediaRequest(media_type=MediaType.IMAGE, prompt="edit", input_images=str(files.image))
    many = MediaRequest(media_type=MediaType.IMAGE, prompt="edit", input_images=(files.image, InputImage(files.image)))
    assert one.input_images == (InputImage(files.image, "image/png"),)
    assert [image.mime_type for image in many.input_images] == ["image/png", "image/png"]


def test_an_input_image_given_as_a_bare_value_object_is_still_checked(files: Files) -> None:
    rejected("input_images", input_images=[InputImage(files.text)])


def test_a_file_path_of_the_wrong_type_is_refused() -> None:
    error = rejected("input_images", input_images=[42])
    assert "expected a file path" in error.message


def test_the_file_check_happens_at_construction_before_anything_could_be_selected(files: Files) -> None:
    """Swapping a good file for a bad one after construction cannot slip through: the sniffed type is kept."""
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="edit", input_images=[files.image])
    assert request.input_images[0].mime_type == "image/png"
    with pytest.raises(InvalidRequest):
        attrs.evolve(request, input_images=[files.text])
    assert InputAudio.from_path(files.audio).mime_type == "audio/wav"


# -- kinds and names ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("media_type", [MediaType.IMAGE, MediaType.VIDEO])
def test_an_audio_kind_on_a_non_audio_request_is_refused(media_type: MediaType) -> None:
    error = rejected("audio_kind", media_type=media_type, audio_kind=AudioKind.SPEECH)
    assert "only for audio requests" in error.message


@pytest.mark.parametrize("kind", ["singing", "podcast", "", 7])
def test_an_unknown_audio_kind_is_refused_listing_the_valid_ones(kind: Any) -> None:
    error = rejected("audio_kind", media_type=MediaType.AUDIO, audio_kind=kind)
    for valid in AudioKind:
        assert valid.value in error.message


@pytest.mark.parametrize(("given", "kind"), [("sound-effect", AudioKind.SOUND_EFFECT), (" Music ", AudioKind.MUSIC)])
def test_audio_kinds_are_accepted_in_cli_spelling(given: str, kind: AudioKind) -> None:
    assert MediaRequest(media_type=MediaType.AUDIO, prompt="x", audio_kind=given).audio_kind is kind


@pytest.mark.parametrize("media_type", ["picture", "", 3])
def test_an_unknown_media_type_is_refused_listing_the_valid_ones(media_type: Any) -> None:
    error = rejected("media_type", media_type=media_type)
    assert "image, video, audio" in error.message


@pytest.mark.parametrize(
    ("field", "value", "hint"),
    [
        ("backend", "  ", "leave it unset to pick automatically"),
        ("model", "", "leave it unset for the backend's default"),
        ("continue_from", " ", "must not be blank"),
        ("filename", "a/b.png", "plain file name"),
        ("filename", "..", "plain file name"),
        ("output_format", "PNG", "format name such as png"),
        ("extra", "size=big", "mapping of vendor parameter names"),
    ],
)
def test_other_fields_are_checked_and_say_what_is_valid(field: str, value: Any, hint: str) -> None:
    assert hint in rejected(field, **{field: value}).message


def test_audio_format_belongs_to_audio_requests() -> None:
    assert "use output_format" in rejected("audio_format", audio_format="mp3").message


def test_every_validation_error_is_a_mediagen_error_and_a_value_of_its_field() -> None:
    error = rejected("seed", seed="7")
    assert isinstance(error, MediaGenError)
    assert error.to_dict() == {"error": "seed: '7' is not an integer", "error_code": "invalid_request", "field": "seed"}


# -- required capabilities ----------------------------------------------------------------------------------------


def caps(**kwargs: Any) -> frozenset[Capability]:
    return MediaRequest(**kwargs).required_capabilities()


def test_capabilities_of_each_image_mode(files: Files) -> None:
    img = {"media_type": MediaType.IMAGE, "prompt": "fox"}
    assert caps(**img) == {Capability.TEXT_TO_IMAGE}
    assert caps(**img, input_images=[files.image]) == {Capability.IMAGE_EDIT}
    assert caps(**img, input_images=[files.image, files.other_image]) == {
        Capability.IMAGE_EDIT,
        Capability.MULTI_IMAGE_INPUT,
    }
    assert caps(**img, input_images=[files.image], mask=files.other_image) == {Capability.IMAGE_EDIT, Capability.MASK}
    assert caps(**img, continue_from="fake_image_0123456789ab") == {Capability.TEXT_TO_IMAGE, Capability.CONTINUATION}


def test_capabilities_of_each_video_mode(files: Files) -> None:
    vid = {"media_type": MediaType.VIDEO, "prompt": "waves"}
    assert caps(**vid) == {Capability.TEXT_TO_VIDEO}
    assert caps(**vid, input_images=[files.image]) == {Capability.IMAGE_TO_VIDEO}
    assert caps(**vid, continue_from="openai:video_123") == {Capability.TEXT_TO_VIDEO, Capability.CONTINUATION}


@pytest.mark.parametrize("kind", list(AudioKind))
def test_each_audio_kind_requires_its_own_capability(kind: AudioKind, files: Files) -> None:
    audio = files.audio if kind.needs_input_audio else None
    assert caps(media_type=MediaType.AUDIO, prompt="hi", audio_kind=kind, input_audio=audio) == {
        Capability.for_audio_kind(kind)
    }


def test_audio_without_a_kind_is_speech() -> None:
    request = MediaRequest(media_type=MediaType.AUDIO, prompt="hello")
    assert request.audio_kind is None and request.effective_audio_kind is AudioKind.SPEECH
    assert request.required_capabilities() == {Capability.SPEECH}


def test_seed_and_negative_prompt_are_optional_capabilities_not_required_ones() -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="fox", seed=1, negative_prompt="blur")
    assert request.required_capabilities() == {Capability.TEXT_TO_IMAGE}
    assert request.optional_capabilities() == {Capability.SEED, Capability.NEGATIVE_PROMPT}


def test_set_parameters_lists_only_what_the_caller_set(files: Files) -> None:
    request = MediaRequest(
        media_type=MediaType.IMAGE, prompt="fox", seed=0, size="64x64", input_images=[files.image], extra={"style": 1}
    )
    assert request.set_parameters() == {"seed": 0, "size": "64x64", "input_images": 1, "extra.style": 1}


# -- properties ---------------------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_drawn_valid_request_constructs(files: Files, data: st.DataObject) -> None:
    request = data.draw(valid_requests(tmp_images=[files.image, files.other_image], tmp_audio=[files.audio]))
    assert isinstance(request, MediaRequest)
    required = request.required_capabilities()
    assert len(required) >= 1 and required <= set(Capability)
    assert attrs.evolve(request) == request  # validation is stable: a copy passes it again


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_drawn_invalid_request_raises_invalid_request_naming_its_field(files: Files, data: st.DataObject) -> None:
    kwargs, field = data.draw(invalid_request_kwargs(images=[files.image]))
    with pytest.raises(InvalidRequest) as caught:
        MediaRequest(**kwargs)
    assert caught.value.field == field, f"{kwargs!r}: expected {field}, got {caught.value}"
    assert caught.value.message.startswith(f"{field}: ")


@pytest.mark.parametrize("n", [0, 11, 1.5, True, "2"])
def test_n_is_a_whole_number_from_1_to_10(n: object) -> None:
    with pytest.raises(InvalidRequest) as caught:
        MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", n=n)
    assert caught.value.field == "n"


def test_several_results_from_one_request_are_for_images_only() -> None:
    with pytest.raises(InvalidRequest, match="for images") as caught:
        MediaRequest(media_type=MediaType.VIDEO, prompt="waves", n=2)
    assert caught.value.field == "n"


@pytest.mark.parametrize(
    ("filename", "names"),
    [
        (None, [None, None]),
        ("fox.png", ["fox-1.png", "fox-2.png"]),
        ("fox", ["fox-1", "fox-2"]),
        (".fox", [".fox-1", ".fox-2"]),
    ],
)
def test_a_request_for_n_images_is_n_requests_for_one_with_numbered_names(
    filename: str | None, names: list[str | None]
) -> None:
    singles = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", n=2, filename=filename).singles()
    assert [s.filename for s in singles] == names and {s.n for s in singles} == {1}
    assert {s.prompt for s in singles} == {"a fox"}
