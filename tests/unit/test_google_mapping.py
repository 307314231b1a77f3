"""Google mapping: every request maps to values the API accepts, and every set parameter is accounted for."""

from __future__ import annotations

import json
import struct
import sys
import wave
import zlib
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from google.genai import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediagen.adapters.google.history import (
    HISTORY_KIND,
    history_from_state,
    history_state,
    split_turns,
    trim_history,
)
from mediagen.adapters.google.mapping import (
    Family,
    family_of,
    map_gemini_image,
    map_imagen_edit,
    map_imagen_generate,
    map_speech,
    map_veo,
    nearest_duration,
    tier_for,
)
from mediagen.adapters.google.spec import GEMINI_VOICES, SPEC, VEO_RULES
from mediagen.adapters.google.wav import PcmFormat, parse_pcm_mime, pcm_to_wav
from mediagen.adapters.ratios import nearest_ratio
from mediagen.domain.errors import InvalidRequest, UnsupportedParameter
from mediagen.domain.media import Capability, MediaType
from mediagen.domain.request import InputImage, MediaRequest, Size
from mediagen.domain.result import ParameterReport
from mediagen.ports.continuation import ContinuationState


def _png(width: int = 2, height: int = 2) -> bytes:
    raw = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("google-mapping")
    paths = []
    for index in range(5):
        path = root / f"in{index}.png"
        path.write_bytes(_png())
        paths.append(path)
    return paths


def models_of(media_type: MediaType, *, prefix: str = "") -> list[str]:
    return [m.name for m in SPEC.models_for(media_type) if m.name.startswith(prefix)]


GEMINI_IMAGE_MODELS = models_of(MediaType.IMAGE, prefix="gemini-")
IMAGEN_GENERATE_MODELS = [m for m in models_of(MediaType.IMAGE, prefix="imagen-") if "capability" not in m]
VEO_MODELS = models_of(MediaType.VIDEO)
TTS_MODELS = models_of(MediaType.AUDIO)

ratios = st.tuples(st.integers(1, 40), st.integers(1, 40)).map(lambda r: f"{r[0]}:{r[1]}")
sizes = st.tuples(st.integers(64, 5000), st.integers(64, 5000)).map(lambda s: f"{s[0]}x{s[1]}")
qualities = st.sampled_from(["1K", "2k", "4K", "high", "low", "720p", "1080P", "hd"])
formats = st.sampled_from(["png", "jpeg", "jpg", "webp"])
texts = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=12)


@st.composite
def image_requests(draw: st.DrawFn, paths: list[Path], max_images: int = 3) -> MediaRequest:
    kwargs: dict[str, Any] = {"media_type": MediaType.IMAGE, "prompt": draw(texts)}
    shape = draw(st.sampled_from(["none", "aspect", "size"]))
    if shape == "aspect":
        kwargs["aspect_ratio"] = draw(ratios)
    elif shape == "size":
        kwargs["size"] = draw(sizes)
    optional = {
        "quality": qualities,
        "seed": st.integers(0, 2**31 - 1),
        "negative_prompt": texts,
        "output_format": formats,
        "background": st.sampled_from(["transparent", "opaque"]),
        "duration": st.floats(0.5, 20),
        "voice": texts,
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            kwargs[name] = draw(strategy)
    count = draw(st.integers(0, max_images))
    if count:
        kwargs["input_images"] = paths[:count]
    if draw(st.booleans()):
        kwargs["extra"] = {"unknown_knob": 1}
    return MediaRequest(**kwargs)


def assert_accounted(request: MediaRequest, report: ParameterReport) -> None:
    assert set(request.set_parameters()) <= report.accounted()


def strict_agrees(mapper: Any, request: MediaRequest, *args: Any, **kwargs: Any) -> None:
    """Strict mode raises UnsupportedParameter exactly when the lenient mapping reports something ignored."""
    lenient = mapper(request, *args, **kwargs)
    if lenient.parameters.ignored:
        with pytest.raises(UnsupportedParameter) as caught:
            mapper(request, *args, strict=True, **kwargs)
        assert caught.value.field == lenient.parameters.ignored[0].name
    else:
        assert mapper(request, *args, strict=True, **kwargs).parameters == lenient.parameters


# --- Gemini images ----------------------------------------------------------------------------------------------

HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@HYPOTHESIS
@given(data=st.data(), model_name=st.sampled_from(GEMINI_IMAGE_MODELS))
def test_every_gemini_image_request_maps_to_a_config_the_api_accepts(
    images: list[Path], data: st.DataObject, model_name: str
) -> None:
    model = SPEC.model(model_name)
    assert model is not None
    request = data.draw(image_requests(images, max_images=model.constraints.max_input_images or 3))
    plan = map_gemini_image(request, model_name, model)
    config = types.GenerateContentConfig.model_validate(dict(plan.config))
    assert config.response_modalities == ["TEXT", "IMAGE"]
    image_config = config.image_config
    if image_config is not None:
        assert image_config.aspect_ratio in (None, *model.constraints.aspect_ratios)
        assert image_config.image_size in (None, *model.constraints.resolutions)
        if len(model.constraints.resolutions) == 1:
            assert image_config.image_size is None  # a model with one size tier takes no image_size
    assert len(plan.images) == len(request.input_images)
    assert plan.text == request.prompt
    assert_accounted(request, plan.parameters)
    strict_agrees(map_gemini_image, request, model_name, model)


def test_gemini_aspect_ratio_outside_the_list_is_adapted_to_the_nearest() -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="fox", aspect_ratio="17:9")
    plan = map_gemini_image(request, "gemini-3.1-flash-image-preview", SPEC.model("gemini-3.1-flash-image-preview"))
    assert plan.config["image_config"] == {"aspect_ratio": "16:9"}
    [adapted] = plan.parameters.adapted
    assert (adapted.name, adapted.requested, adapted.used) == ("aspect_ratio", "17:9", "16:9")


def test_gemini_size_becomes_an_aspect_ratio_and_a_size_tier() -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="fox", size="1920x1080")
    plan = map_gemini_image(request, "gemini-3-pro-image-preview", SPEC.model("gemini-3-pro-image-preview"))
    assert plan.config["image_config"] == {"aspect_ratio": "16:9", "image_size": "2K"}
    assert plan.parameters.adapted[0].used == "16:9 at 2K"


def test_gemini_quality_naming_a_size_tier_is_applied_and_others_are_ignored() -> None:
    model = SPEC.model("gemini-3.1-flash-image-preview")
    four_k = map_gemini_image(MediaRequest(media_type="image", prompt="x", quality="4k"), model.name, model)  # type: ignore[union-attr]
    assert four_k.config["image_config"] == {"image_size": "4K"}
    assert four_k.parameters.applied["quality"] == "4K"
    high = map_gemini_image(MediaRequest(media_type="image", prompt="x", quality="high"), model.name, model)  # type: ignore[union-attr]
    assert [i.name for i in high.parameters.ignored] == ["quality"]


def test_a_mask_is_never_sent_to_a_gemini_model_that_would_drop_it(images: list[Path]) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="x", input_images=images[:1], mask=images[1])
    with pytest.raises(InvalidRequest, match=r"imagen-3\.0-capability-001") as caught:
        map_gemini_image(request, "gemini-3.1-flash-image-preview", SPEC.model("gemini-3.1-flash-image-preview"))
    assert caught.value.field == "mask"


def test_more_input_images_than_a_gemini_model_takes_is_an_error_not_a_cut(images: list[Path]) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="x", input_images=images[:4])
    with pytest.raises(InvalidRequest, match="at most 3"):
        map_gemini_image(request, "gemini-2.5-flash-image", SPEC.model("gemini-2.5-flash-image"))


# --- Imagen -----------------------------------------------------------------------------------------------------


@HYPOTHESIS
@given(data=st.data(), model_name=st.sampled_from(IMAGEN_GENERATE_MODELS))
def test_every_imagen_request_maps_to_one_image_with_values_the_api_accepts(
    images: list[Path], data: st.DataObject, model_name: str
) -> None:
    model = SPEC.model(model_name)
    assert model is not None
    request = data.draw(image_requests(images, max_images=0))
    plan = map_imagen_generate(request, model_name, model)
    config = types.GenerateImagesConfig.model_validate(dict(plan.config))
    assert config.number_of_images == 1
    assert config.include_rai_reason is True
    assert config.aspect_ratio in (None, *model.constraints.aspect_ratios)
    assert config.image_size in (None, *model.constraints.resolutions)
    assert config.output_mime_type in (None, "image/png", "image/jpeg")
    assert config.negative_prompt == request.negative_prompt
    if request.seed is not None:
        assert (config.seed, config.add_watermark) == (request.seed, False)
    assert_accounted(request, plan.parameters)
    strict_agrees(map_imagen_generate, request, model_name, model)


@HYPOTHESIS
@given(data=st.data(), model_name=st.sampled_from([*IMAGEN_GENERATE_MODELS, "imagen-3.0-capability-001"]))
def test_n_imagen_images_are_its_sample_count_in_one_call_up_to_what_it_makes(
    images: list[Path], data: st.DataObject, model_name: str
) -> None:
    model = SPEC.model(model_name)
    assert model is not None
    most = model.constraints.images_per_call
    assert most == 4  # Vertex: "Maximum images returned per request: 4"
    n = data.draw(st.integers(1, 10))
    editing = "capability" in model_name
    base = data.draw(image_requests(images, max_images=1).filter(lambda r: bool(r.input_images) == editing))
    request = MediaRequest(**{**_fields(base), "n": n})
    mapper = map_imagen_edit if editing else map_imagen_generate
    if n > most:
        with pytest.raises(InvalidRequest, match=f"at most {most} images per call") as caught:
            mapper(request, model_name, model)
        assert caught.value.field == "n"
        return
    plan = mapper(request, model_name, model)
    config_type = types.EditImageConfig if editing else types.GenerateImagesConfig
    assert config_type.model_validate(dict(plan.config)).number_of_images == n
    assert_accounted(request, plan.parameters)


@given(model_name=st.sampled_from(GEMINI_IMAGE_MODELS), n=st.integers(2, 10))
def test_a_gemini_image_model_is_never_asked_for_more_than_one_image_per_call(model_name: str, n: int) -> None:
    with pytest.raises(InvalidRequest, match="one image per call") as caught:
        map_gemini_image(MediaRequest(media_type="image", prompt="a fox", n=n), model_name, SPEC.model(model_name))
    assert caught.value.field == "n" and SPEC.model(model_name).constraints.images_per_call == 1  # type: ignore[union-attr]


@HYPOTHESIS
@given(data=st.data(), mode=st.sampled_from([None, "inpaint_insertion", "inpaint_removal", "outpaint"]))
def test_every_masked_imagen_edit_keeps_the_mask_and_maps_to_an_accepted_config(
    images: list[Path], data: st.DataObject, mode: str | None
) -> None:
    model = SPEC.model("imagen-3.0-capability-001")
    assert model is not None
    base = data.draw(image_requests(images, max_images=1).filter(lambda r: bool(r.input_images)))
    extra = {"edit_mode": mode} if mode else {}
    request = MediaRequest(**{**_fields(base), "mask": images[4], "extra": extra})
    plan = map_imagen_edit(request, model.name, model)
    config = types.EditImageConfig.model_validate(dict(plan.config))
    assert plan.mask is not None and plan.image is not None
    assert config.edit_mode == f"EDIT_MODE_{(mode or 'inpaint_insertion').upper()}"
    assert config.number_of_images == 1
    assert plan.parameters.applied["mask"] == str(images[4])
    assert_accounted(request, plan.parameters)


def _fields(request: MediaRequest) -> dict[str, Any]:
    names = ("media_type", "prompt", "aspect_ratio", "size", "quality", "seed", "negative_prompt", "output_format")
    return {name: getattr(request, name) for name in names} | {"input_images": request.input_images}


def test_the_spec_routes_a_masked_request_to_the_imagen_capability_model() -> None:
    required = frozenset({Capability.IMAGE_EDIT, Capability.MASK})
    chosen = SPEC.model_for(MediaType.IMAGE, required)
    assert chosen is not None and chosen.name == "imagen-3.0-capability-001"
    default = SPEC.model_for(MediaType.IMAGE, frozenset({Capability.IMAGE_EDIT}))
    assert default is not None and default.name == SPEC.default_models[MediaType.IMAGE]


def test_family_follows_the_model_name_and_the_request(images: list[Path]) -> None:
    plain = MediaRequest(media_type=MediaType.IMAGE, prompt="x")
    edit = MediaRequest(media_type=MediaType.IMAGE, prompt="x", input_images=images[:1])
    assert family_of(plain, "gemini-3.1-flash-image-preview") is Family.GEMINI_IMAGE
    assert family_of(plain, "imagen-4.0-generate-001") is Family.IMAGEN_GENERATE
    assert family_of(edit, "imagen-3.0-capability-001") is Family.IMAGEN_EDIT
    assert family_of(MediaRequest(media_type="video", prompt="x"), "veo-3.1-generate-preview") is Family.VEO
    assert family_of(MediaRequest(media_type="audio", prompt="x"), "gemini-2.5-flash-preview-tts") is Family.GEMINI_TTS


# --- Veo --------------------------------------------------------------------------------------------------------


@st.composite
def video_requests(draw: st.DrawFn, paths: list[Path]) -> tuple[MediaRequest, bool]:
    kwargs: dict[str, Any] = {"media_type": MediaType.VIDEO, "prompt": draw(texts)}
    shape = draw(st.sampled_from(["none", "aspect", "size"]))
    if shape == "aspect":
        kwargs["aspect_ratio"] = draw(ratios)
    elif shape == "size":
        kwargs["size"] = draw(st.sampled_from(["1280x720", "720x1280", "1920x1080", "1080x1920"]) | sizes)
    optional = {
        "duration": st.floats(0.1, 30),
        "quality": qualities,
        "seed": st.integers(0, 2**31 - 1),
        "negative_prompt": texts,
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            kwargs[name] = draw(strategy)
    extension = draw(st.booleans())
    if not extension:
        count = draw(st.integers(0, 3))
        if count:
            kwargs["input_images"] = paths[:count]
    return MediaRequest(**kwargs), extension


@HYPOTHESIS
@given(data=st.data(), model_name=st.sampled_from(VEO_MODELS))
def test_every_veo_request_maps_to_values_and_combinations_veo_accepts(
    images: list[Path], data: st.DataObject, model_name: str
) -> None:
    model = SPEC.model(model_name)
    assert model is not None
    request, extension = data.draw(video_requests(images))
    if len(request.input_images) > 1 and Capability.REFERENCE_IMAGES not in model.capabilities:
        with pytest.raises(InvalidRequest):
            map_veo(request, model_name, model, extension=extension)
        return
    plan = map_veo(request, model_name, model, extension=extension)
    config = types.GenerateVideosConfig.model_validate(dict(plan.config))
    rules = VEO_RULES[model_name]
    assert config.number_of_videos == 1
    assert config.aspect_ratio in (None, *model.constraints.aspect_ratios)
    assert config.resolution in (None, *model.constraints.resolutions)
    if config.duration_seconds is not None:
        assert config.duration_seconds in model.constraints.durations
    if config.resolution in rules.long_only_resolutions:
        assert config.duration_seconds == rules.long_duration
    if config.resolution in rules.landscape_only_resolutions:
        assert config.aspect_ratio != "9:16"
    if plan.reference_images:
        assert (config.aspect_ratio, config.duration_seconds) == ("16:9", rules.long_duration)
        assert plan.first_frame is None
    if extension:
        assert (config.resolution, config.duration_seconds) == (rules.extension_resolution, rules.long_duration)
    assert len(plan.reference_images) + (plan.first_frame is not None) == len(request.input_images)
    assert_accounted(request, plan.parameters)
    strict_agrees(map_veo, request, model_name, model, extension=extension)


@pytest.mark.parametrize(("asked", "used"), [(4, 4), (5, 6), (6, 6), (7, 8), (3, 4), (1, 4), (30, 8), (0.1, 4)])
def test_veo_durations_snap_to_the_allowed_values_and_say_so(asked: float, used: float) -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="x", duration=asked)
    plan = map_veo(request, "veo-3.1-generate-preview", SPEC.model("veo-3.1-generate-preview"))
    assert plan.config["duration_seconds"] == used
    if asked == used:
        assert plan.parameters.applied["duration"] == used
    else:
        [adapted] = plan.parameters.adapted
        assert (adapted.name, adapted.requested, adapted.used) == ("duration", asked, used)


def test_1080p_forces_eight_seconds_and_reports_the_change() -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="x", size="1920x1080", duration=4)
    plan = map_veo(request, "veo-3.1-generate-preview", SPEC.model("veo-3.1-generate-preview"))
    assert (plan.config["resolution"], plan.config["duration_seconds"]) == ("1080p", 8)
    assert plan.parameters.applied["size"] == "16:9 1080p"
    [adapted] = plan.parameters.adapted
    assert adapted.name == "duration" and "1080p needs 8 s" in adapted.reason


def test_more_than_three_reference_images_is_an_error_not_a_silent_cut(images: list[Path]) -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="x", input_images=images[:4])
    with pytest.raises(InvalidRequest, match="at most 3 reference images"):
        map_veo(request, "veo-3.1-generate-preview", SPEC.model("veo-3.1-generate-preview"))


def test_a_single_image_is_a_starting_frame_unless_marked_as_a_reference(images: list[Path]) -> None:
    model = SPEC.model("veo-3.1-generate-preview")
    start = map_veo(
        MediaRequest(media_type="video", prompt="x", input_images=images[:1]), "veo-3.1-generate-preview", model
    )
    assert start.first_frame is not None and start.reference_images == ()
    marked = MediaRequest(media_type="video", prompt="x", input_images=images[:1], extra={"reference_images": True})
    reference = map_veo(marked, "veo-3.1-generate-preview", model)
    assert reference.first_frame is None and len(reference.reference_images) == 1


def test_a_last_frame_needs_a_starting_image_and_a_model_that_takes_it(images: list[Path]) -> None:
    last = InputImage.from_path(images[2])
    model = SPEC.model("veo-3.1-generate-preview")
    with_start = MediaRequest(
        media_type="video", prompt="x", input_images=images[:1], extra={"last_frame": str(images[2])}
    )
    plan = map_veo(with_start, model.name, model, last_frame=last)  # type: ignore[union-attr]
    assert plan.last_frame == last and plan.parameters.applied["extra.last_frame"] == str(images[2])
    alone = MediaRequest(media_type="video", prompt="x", extra={"last_frame": str(images[2])})
    with pytest.raises(InvalidRequest, match="starting image"):
        map_veo(alone, model.name, model, last_frame=last)  # type: ignore[union-attr]
    with pytest.raises(InvalidRequest, match="no last frame"):
        map_veo(with_start, "veo-3.0-generate-001", SPEC.model("veo-3.0-generate-001"), last_frame=last)


def test_extending_a_video_takes_no_input_images(images: list[Path]) -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="x", input_images=images[:1])
    with pytest.raises(InvalidRequest, match="no input images"):
        map_veo(request, "veo-3.1-generate-preview", SPEC.model("veo-3.1-generate-preview"), extension=True)


# --- speech -----------------------------------------------------------------------------------------------------


@HYPOTHESIS
@given(
    model_name=st.sampled_from(TTS_MODELS),
    voice=st.sampled_from(GEMINI_VOICES),
    case=st.sampled_from([str.lower, str.upper, str.title]),
    audio_format=st.sampled_from([None, "wav", "pcm"]),
    instructions=st.none() | texts,
    language=st.none() | st.sampled_from(["en-US", "de-DE"]),
    speed=st.none() | st.floats(0.5, 2),
)
def test_every_speech_request_maps_to_a_prebuilt_voice_and_wav_or_pcm(
    model_name: str,
    voice: str,
    case: Any,
    audio_format: str | None,
    instructions: str | None,
    language: str | None,
    speed: float | None,
) -> None:
    request = MediaRequest(
        media_type=MediaType.AUDIO, prompt="Hello there", voice=case(voice), audio_format=audio_format,
        instructions=instructions, language=language, speed=speed,
    )  # fmt: skip
    plan = map_speech(request, model_name, SPEC.model(model_name))
    config = types.GenerateContentConfig.model_validate(dict(plan.config))
    assert config.response_modalities == ["AUDIO"]
    assert config.speech_config is not None and config.speech_config.voice_config is not None
    prebuilt = config.speech_config.voice_config.prebuilt_voice_config
    assert prebuilt is not None and prebuilt.voice_name == voice
    assert plan.audio_format == (audio_format or "wav").lower()
    assert plan.text.endswith("Hello there")
    assert_accounted(request, plan.parameters)
    strict_agrees(map_speech, request, model_name, SPEC.model(model_name))


def test_an_unknown_voice_is_an_error_listing_the_valid_ones() -> None:
    request = MediaRequest(media_type=MediaType.AUDIO, prompt="hi", voice="alloy")
    with pytest.raises(InvalidRequest, match="Kore") as caught:
        map_speech(request, "gemini-2.5-flash-preview-tts", SPEC.model("gemini-2.5-flash-preview-tts"))
    assert caught.value.field == "voice"


@pytest.mark.parametrize("fmt", ["mp3", "opus", "flac"])
def test_an_unsupported_speech_format_is_an_error_listing_what_is_supported(fmt: str) -> None:
    request = MediaRequest(media_type=MediaType.AUDIO, prompt="hi", audio_format=fmt)
    with pytest.raises(InvalidRequest, match="wav or pcm"):
        map_speech(request, "gemini-2.5-flash-preview-tts", SPEC.model("gemini-2.5-flash-preview-tts"))


# --- snapping helpers -------------------------------------------------------------------------------------------


@given(st.integers(1, 50), st.integers(1, 50))
def test_nearest_ratio_is_symmetric_under_rotation(width: int, height: int) -> None:
    allowed = ("16:9", "9:16")
    landscape = nearest_ratio(width / height, allowed)
    portrait = nearest_ratio(height / width, allowed)
    if width != height:
        assert {landscape, portrait} == {"16:9", "9:16"}
    else:
        assert landscape == portrait == "16:9"  # a tie goes to the first listed


@given(st.floats(0.01, 100), st.lists(st.sampled_from([4.0, 5.0, 6.0, 8.0]), min_size=1, unique=True))
def test_nearest_duration_is_an_allowed_value_at_least_as_close_as_any_other(
    seconds: float, allowed: list[float]
) -> None:
    chosen = nearest_duration(seconds, allowed)
    assert chosen in allowed
    assert all(abs(chosen - seconds) <= abs(other - seconds) for other in allowed)


def test_size_tiers_cover_the_long_side_or_take_the_largest() -> None:
    tiers = ("1K", "2K", "4K")
    assert tier_for(Size(1024, 512), tiers) == "1K"
    assert tier_for(Size(1025, 512), tiers) == "2K"
    assert tier_for(Size(9000, 512), tiers) == "4K"
    assert tier_for(Size(3000, 3000), ("1K",)) == "1K"


# --- chat history -----------------------------------------------------------------------------------------------

contents = st.lists(
    st.tuples(st.sampled_from(["user", "model"]), st.text(max_size=200)).map(
        lambda t: {"role": t[0], "parts": [{"text": t[1]}]}
    ),
    min_size=1,
    max_size=20,
).map(lambda items: [{"role": "user", "parts": [{"text": "start"}]}, *items])


@given(contents, st.integers(1, 6), st.integers(1, 3000))
def test_trimmed_history_is_a_bounded_suffix_of_whole_turns(
    history: list[dict[str, Any]], max_turns: int, max_bytes: int
) -> None:
    trimmed = trim_history(history, max_turns=max_turns, max_bytes=max_bytes)
    kept = list(trimmed.contents)
    assert kept == history[len(history) - len(kept) :]
    assert kept[0]["role"] == "user"
    assert trimmed.turns == len(split_turns(kept))
    assert trimmed.dropped_turns + trimmed.turns == len(split_turns(history))
    assert trimmed.turns == 1 or (trimmed.turns <= max_turns and trimmed.size_bytes <= max_bytes)


def test_history_state_round_trips_through_json_and_counts_every_drop() -> None:
    history = [{"role": r, "parts": [{"text": str(i)}]} for i, r in enumerate(["user", "model"] * 5)]
    trimmed = trim_history(history, max_turns=2, max_bytes=10_000)
    state = history_state("gemini-x", trimmed, dropped_before=4)
    copied = ContinuationState(kind=state.kind, data=json.loads(json.dumps(dict(state.data))))
    restored = history_from_state(copied)
    assert (restored.model, restored.dropped_turns, len(restored.contents)) == ("gemini-x", 7, 4)
    assert state.kind == HISTORY_KIND


def test_a_foreign_continuation_is_refused_with_a_reason() -> None:
    with pytest.raises(InvalidRequest, match="not a Gemini image chat"):
        history_from_state(ContinuationState(kind="veo_video", data={}))


# --- WAV --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mime", "expected"),
    [
        ("audio/L16;codec=pcm;rate=24000", PcmFormat(24000, 1, 16)),
        ("audio/L16; rate=16000; channels=2", PcmFormat(16000, 2, 16)),
        ("audio/pcm", PcmFormat(24000, 1, 16)),
        ("audio/L24;rate=48000", PcmFormat(48000, 1, 24)),
        ("audio/mpeg", None),
        ("audio/wav", None),
    ],
)
def test_pcm_mime_types_declare_rate_channels_and_width(mime: str, expected: PcmFormat | None) -> None:
    assert parse_pcm_mime(mime) == expected


@given(st.binary(max_size=4000), st.sampled_from([8000, 16000, 24000, 44100]), st.sampled_from([1, 2]))
def test_pcm_becomes_a_wav_that_the_wave_module_opens_with_the_declared_layout(
    pcm: bytes, rate: int, channels: int
) -> None:
    fmt = PcmFormat(rate=rate, channels=channels, bits=16)
    with wave.open(BytesIO(pcm_to_wav(pcm, fmt))) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (rate, channels, 2)
        frames = wav.readframes(wav.getnframes())
    assert frames == pcm[: len(pcm) - len(pcm) % (2 * channels)]


def test_importing_the_mapping_loads_no_sdk() -> None:
    import subprocess

    code = (
        "import sys, mediagen.adapters.google, mediagen.adapters.google.mapping;"
        "assert 'google.genai' not in sys.modules, 'google.genai was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- settings and docs --------------------------------------------------------------------------------------------


def test_settings_extras_are_read_from_toml_numbers_or_env_text() -> None:
    from mediagen.adapters.google.client import GoogleSettings
    from mediagen.ports.generator import BackendOptions

    parsed = GoogleSettings.from_options(
        BackendOptions(
            base_url="http://127.0.0.1:9",
            extra={"poll_interval": "0.5", "max_history_turns": 3, "request_timeout": 12, "vertex_project": "p"},
        )
    )
    assert (parsed.poll_interval, parsed.max_history_turns, parsed.request_timeout) == (0.5, 3, 12.0)
    assert parsed.poll_max_interval >= parsed.poll_interval
    assert (parsed.vertex_project, parsed.base_url) == ("p", "http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"poll_interval": "soon"}, "poll_interval"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"max_history_turns": 2.5}, "max_history_turns"),
        ({"vertex_project": ""}, "vertex_project"),
        ({"request_timeout": True}, "request_timeout"),
        ({"max_history_turns": 0}, "max_history_turns"),
        ({"vertex_projcet": "p"}, ""),  # a typo is an unknown key, listed with the known ones
    ],
)
def test_a_bad_setting_is_a_configuration_error_naming_it(extra: dict[str, Any], key: str) -> None:
    from mediagen.adapters.google.client import GoogleSettings
    from mediagen.domain.errors import ConfigurationError
    from mediagen.ports.generator import BackendOptions

    with pytest.raises(ConfigurationError, match=f"backends.google.extra.{key}"):
        GoogleSettings.from_options(BackendOptions(extra=extra))


def test_the_backend_page_shows_what_the_spec_and_mode_table_say() -> None:
    from mediagen.adapters.google import docs

    page = Path(__file__).resolve().parents[2] / "docs" / "backends" / "google.md"
    text = page.read_text(encoding="utf-8")
    assert docs.PAGE.rewrite(text) == text, "run: python -m mediagen.adapters.google.docs"
    for model in SPEC.models:
        assert f"`{model.name}`" in text


@pytest.mark.parametrize(
    "content",
    [
        types.Content(role="model", parts=[]),
        types.Content(role="model"),
        types.Content(role="model", parts=[types.Part()]),
        types.Content(role="model", parts=[types.Part.from_text(text="here"), types.Part()]),
        types.Content(role="model", parts=[types.Part.from_text(text="")]),
        types.Content(
            role="model",
            parts=[types.Part.from_text(text="here"), types.Part.from_bytes(data=b"\x89PNG", mime_type="image/png")],
        ),
    ],
)
def test_a_gemini_answer_joins_the_saved_history_exactly_when_google_genais_chat_would_keep_it(
    content: types.Content,
) -> None:
    from google.genai import chats

    from mediagen.adapters.google.image import _valid_turn

    assert _valid_turn(content) == chats._validate_content(content)
