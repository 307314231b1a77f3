"""OpenAI mapping: every request maps to kwargs the API accepts, and every set parameter is accounted for.

"The API accepts" is checked with the sandbox's validators, which reject what the real API rejects.
"""

from __future__ import annotations

import asyncio
import base64
import math
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openai._utils import maybe_transform
from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming

from mediagen.adapters.openai.client import OpenAISettings
from mediagen.adapters.openai.image import responses_input
from mediagen.adapters.openai.mapping import (
    map_images_api,
    map_responses_image,
    map_speech,
    map_video,
    nearest_seconds,
    nearest_size,
    seconds_param,
)
from mediagen.adapters.openai.spec import (
    IMAGE_SIZES,
    LEGACY_SPEECH_VOICES,
    MAX_EDIT_IMAGES,
    SORA_PRO_SIZES,
    SORA_SECONDS,
    SORA_SIZES,
    SPEC,
    SPEECH_FORMATS,
    SPEECH_MIME,
    SPEECH_VOICES,
    TOOL_IMAGE_MODELS,
    Api,
    api_for,
    is_legacy_speech,
)
from mediagen.domain.errors import InvalidRequest, UnsupportedParameter
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest, Size
from mediagen.domain.result import ParameterReport
from mediagen.sandbox import media as sandbox_media
from mediagen.sandbox.openai import catalog
from mediagen.sandbox.openai.images import EDIT_PARAMS, GENERATE_PARAMS, image_model, image_options
from mediagen.sandbox.openai.responses import IMAGE_TOOL_PARAMS
from mediagen.sandbox.openai.speech import SPEECH_PARAMS
from mediagen.sandbox.openai.videos import CREATE_PARAMS
from mediagen.sandbox.openai.wire import Params
from mediagen.sandbox.vendor import ApiError
from mediagen.testing.media import png

IMAGE_MODELS = [m.name for m in SPEC.models_for(MediaType.IMAGE)]
RESPONSES_MODELS = [m for m in IMAGE_MODELS if api_for(MediaType.IMAGE, m) is Api.RESPONSES]
IMAGES_API_MODELS = [m for m in IMAGE_MODELS if api_for(MediaType.IMAGE, m) is Api.IMAGES]
VIDEO_MODELS = [m.name for m in SPEC.models_for(MediaType.VIDEO)]
SPEECH_MODELS = [m.name for m in SPEC.models_for(MediaType.AUDIO)]
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ratios = st.tuples(st.integers(1, 50), st.integers(1, 50)).map(lambda r: f"{r[0]}:{r[1]}")
pixel_sizes = st.tuples(st.integers(16, 6000), st.integers(16, 6000)).map(lambda s: f"{s[0]}x{s[1]}")
shapes = st.one_of(ratios.map(lambda r: {"aspect_ratio": r}), pixel_sizes.map(lambda s: {"size": s}))
image_extras = st.fixed_dictionaries(
    {},
    optional={
        "moderation": st.sampled_from(["low", "auto", "LOW"]),
        "input_fidelity": st.sampled_from(["high", "low"]),
        "output_compression": st.integers(0, 100),
        "image_model": st.sampled_from(TOOL_IMAGE_MODELS),
        "style": st.just("vivid"),
    },
)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Seventeen small PNGs (one more than an edit takes) of different shapes."""
    root = tmp_path_factory.mktemp("openai-mapping")
    paths = []
    for index in range(MAX_EDIT_IMAGES + 1):
        path = root / f"picture{index:02d}.png"
        path.write_bytes(png(8 + index, 8 + 2 * index, seed=index))
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("openai-mapping-jpeg") / "photo.jpg"
    path.write_bytes(sandbox_media.image(24, 16, "jpeg", prompt="photo"))
    return path


def image_kwargs(pictures: list[Path], *, with_images: bool | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for an image MediaRequest with any mix of parameters, OpenAI's or not."""
    if with_images is None:
        images = st.lists(st.sampled_from(pictures[:MAX_EDIT_IMAGES]), max_size=4)
    elif with_images:
        images = st.lists(st.sampled_from(pictures[:MAX_EDIT_IMAGES]), min_size=1, max_size=4)
    else:
        images = st.just([])
    optional = {
        "shape": shapes,
        "quality": st.sampled_from(["low", "medium", "high", "auto", "HD", "standard", "ultra"]),
        "background": st.sampled_from(["transparent", "opaque", "auto", "Opaque", "checkered"]),
        "output_format": st.sampled_from(["png", "jpeg", "jpg", "webp", "gif", "tiff"]),
        "seed": st.integers(0, 2**31),
        "negative_prompt": st.just("blur"),
        "instructions": st.just("keep it calm"),
        "voice": st.just("alloy"),
        "speed": st.just(1.5),
        "language": st.just("en"),
        "extra": image_extras,
    }
    base = st.fixed_dictionaries({"input_images": images}, optional=optional)

    def flatten(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**{k: v for k, v in kwargs.items() if k != "shape"}, **kwargs.get("shape", {})}

    return base.map(flatten)


def assert_accounted(request: MediaRequest, report: ParameterReport) -> None:
    """Every set parameter is in exactly one of applied, adapted and ignored; ignored ones say why."""
    assert report.accounted() == set(request.set_parameters())
    applied, adapted = set(report.applied), [a.name for a in report.adapted]
    ignored = [i.name for i in report.ignored]
    assert len(adapted) == len(set(adapted)) and len(ignored) == len(set(ignored))
    assert not (applied & set(adapted)) and not (applied & set(ignored)) and not (set(adapted) & set(ignored))
    assert all(item.reason.strip() for item in report.ignored)
    assert all(item.reason.strip() for item in report.adapted)


def assert_strict_matches(make: Any, report: ParameterReport) -> None:
    """Strict mode raises UnsupportedParameter for the first ignored parameter, else changes nothing."""
    if report.ignored:
        with pytest.raises(UnsupportedParameter) as caught:
            make(strict=True)
        assert caught.value.field == report.ignored[0].name and caught.value.backend == "openai"
        assert caught.value.code == "unsupported_parameter"
    else:
        assert make(strict=True).parameters == report


def accepts_image_options(values: dict[str, Any], model_name: str, *, prefix: str = "") -> None:
    """The sandbox's (the API's) validation of size, quality, format, background and compression passes."""
    image_options(Params(values, prefix=prefix), image_model(model_name))


def log_distance(ratio: float, size: str) -> float:
    return abs(math.log(ratio / Size.parse(size).ratio))


# --- snapping -----------------------------------------------------------------------------------------------------


@given(ratio=st.floats(0.05, 20), allowed=st.sampled_from([IMAGE_SIZES, SORA_SIZES, SORA_PRO_SIZES]))
def test_nearest_size_is_an_allowed_size_with_the_closest_shape(ratio: float, allowed: tuple[str, ...]) -> None:
    chosen = nearest_size(ratio, allowed)
    assert chosen in allowed
    assert all(log_distance(ratio, chosen) <= log_distance(ratio, other) + 1e-9 for other in allowed)


def test_nearest_size_treats_tall_and_wide_alike_and_breaks_ties_by_area() -> None:
    assert nearest_size(1.0, IMAGE_SIZES) == "1024x1024"
    assert nearest_size(16 / 9, IMAGE_SIZES) == "1536x1024"
    assert nearest_size(9 / 16, IMAGE_SIZES) == "1024x1536"
    assert nearest_size(16 / 9, SORA_PRO_SIZES) == "1280x720"
    # Same shape, two sizes: the one closest in pixels to what was asked.
    assert nearest_size(16 / 9, SORA_PRO_SIZES, area=1280 * 720) == "1280x720"
    assert nearest_size(1792 / 1024, SORA_PRO_SIZES, area=1792 * 1024) == "1792x1024"


@given(seconds=st.floats(0.001, 1000))
def test_a_duration_snaps_to_the_nearest_allowed_clip_length(seconds: float) -> None:
    chosen = nearest_seconds(seconds)
    assert chosen in SORA_SECONDS
    assert all(abs(chosen - seconds) <= abs(other - seconds) for other in SORA_SECONDS)
    assert seconds_param(chosen) in catalog.VIDEO_SECONDS


def test_duration_ties_go_to_the_longer_clip() -> None:
    assert nearest_seconds(6) == 8 and nearest_seconds(10) == 12 and nearest_seconds(2) == 4


@given(duration=st.one_of(st.just(0), st.just(0.0), st.floats(max_value=0, allow_nan=False), st.integers(max_value=0)))
def test_a_zero_or_negative_duration_is_invalid_never_a_default(duration: float) -> None:
    with pytest.raises(InvalidRequest) as caught:
        MediaRequest(media_type=MediaType.VIDEO, prompt="waves", duration=duration)
    assert caught.value.field == "duration"


# --- images: the Responses API image tool ---------------------------------------------------------------------------


@PROPERTY
@given(data=st.data(), model_name=st.sampled_from(RESPONSES_MODELS))
def test_every_responses_image_request_maps_to_a_tool_the_api_accepts_with_every_parameter_accounted(
    pictures: list[Path], data: st.DataObject, model_name: str
) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", **data.draw(image_kwargs(pictures)))
    model = SPEC.model(model_name)

    def make(strict: bool = False) -> Any:
        return map_responses_image(request, model_name, model, previous_response_id="resp_1", strict=strict)

    plan = make()
    tool = dict(plan.tool)
    Params(tool, prefix="tools[0].").reject_unknown(IMAGE_TOOL_PARAMS)
    accepts_image_options(tool, tool.get("model", catalog.DEFAULT_TOOL_IMAGE_MODEL), prefix="tools[0].")
    assert tool.get("size", "1024x1024") in IMAGE_SIZES
    kwargs = plan.kwargs("input")
    assert kwargs["model"] == model_name and kwargs["previous_response_id"] == "resp_1"
    assert kwargs["tools"] == [tool] and kwargs["tool_choice"] == {"type": "image_generation"}
    assert catalog.RESPONSES_MODEL.match(model_name)
    assert plan.images == request.input_images
    assert_accounted(request, plan.parameters)
    assert_strict_matches(make, plan.parameters)


@PROPERTY
@given(data=st.data(), model_name=st.sampled_from(RESPONSES_MODELS), previous=st.sampled_from([None, "resp_1"]))
def test_the_sdk_would_send_every_responses_body_unchanged(
    pictures: list[Path], data: st.DataObject, model_name: str, previous: str | None
) -> None:
    """The adapter posts the plan's body itself; responses.create's pass over it would change nothing."""
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", **data.draw(image_kwargs(pictures)))
    plan = map_responses_image(request, model_name, SPEC.model(model_name), previous_response_id=previous)
    body = plan.kwargs(asyncio.run(responses_input(plan)))
    assert maybe_transform(body, ResponseCreateParamsNonStreaming) == body


@PROPERTY
@given(data=st.data(), model_name=st.sampled_from(IMAGES_API_MODELS))
def test_every_images_api_request_maps_to_kwargs_the_api_accepts_with_every_parameter_accounted(
    pictures: list[Path], data: st.DataObject, model_name: str
) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", **data.draw(image_kwargs(pictures)))

    def make(strict: bool = False) -> Any:
        return map_images_api(request, model_name, SPEC.model(model_name), strict=strict)

    plan = make()
    kwargs = dict(plan.kwargs)
    Params(kwargs).reject_unknown(EDIT_PARAMS if plan.is_edit else GENERATE_PARAMS)
    accepts_image_options(kwargs, kwargs["model"])
    assert kwargs["model"] == model_name and kwargs["prompt"] == "a fox"
    assert kwargs.get("size", "1024x1024") in IMAGE_SIZES
    assert plan.images == request.input_images and plan.is_edit == bool(request.input_images)
    assert_accounted(request, plan.parameters)
    assert_strict_matches(make, plan.parameters)


@given(data=st.data(), model_name=st.sampled_from(IMAGES_API_MODELS), n=st.integers(1, 10))
def test_n_images_on_the_images_api_are_its_n_in_one_call_within_what_openai_accepts(
    pictures: list[Path], data: st.DataObject, model_name: str, n: int
) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", n=n, **data.draw(image_kwargs(pictures)))
    plan = map_images_api(request, model_name, SPEC.model(model_name))
    kwargs = dict(plan.kwargs)
    assert kwargs.get("n", 1) == n and ("n" in kwargs) == (n > 1)
    Params(kwargs).integer("n", minimum=1, maximum=10)  # the API's (the sandbox's) range check passes
    assert_accounted(request, plan.parameters)


@given(model_name=st.sampled_from(IMAGES_API_MODELS), n=st.integers(2, 10))
def test_more_images_than_a_call_makes_never_reach_openai(model_name: str, n: int) -> None:
    model = attrs.evolve(SPEC.model(model_name), constraints=attrs.evolve(SPEC.model(model_name).constraints,
                                                                            images_per_call=n - 1))  # fmt: skip
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", n=n)
    with pytest.raises(InvalidRequest, match=f"at most {n - 1}|one image") as caught:
        map_images_api(request, model_name, model)
    assert caught.value.field == "n"
    for responses_model in RESPONSES_MODELS:  # the Responses image tool takes no n: one image per turn
        with pytest.raises(InvalidRequest, match="one image per call"):
            map_responses_image(request, responses_model, SPEC.model(responses_model))


def test_the_images_api_models_make_up_to_ten_images_per_call_and_the_responses_models_one() -> None:
    per_call = {m.name: m.constraints.images_per_call for m in SPEC.models_for(MediaType.IMAGE)}
    assert {per_call[m] for m in IMAGES_API_MODELS} == {10} and {per_call[m] for m in RESPONSES_MODELS} == {1}


@PROPERTY
@given(shape=shapes, model_name=st.sampled_from(IMAGE_MODELS))
def test_a_size_or_aspect_ratio_becomes_the_nearest_allowed_size_reported_as_adapted_unless_exact(
    shape: dict[str, str], model_name: str
) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", **shape)
    model = SPEC.model(model_name)
    if api_for(MediaType.IMAGE, model_name) is Api.RESPONSES:
        plan: Any = map_responses_image(request, model_name, model)
        used = plan.tool["size"]
    else:
        plan = map_images_api(request, model_name, model)
        used = plan.kwargs["size"]
    [(name, asked)] = shape.items()
    ratio = request.parsed_size.ratio if request.parsed_size else request.parsed_aspect_ratio.value  # type: ignore[union-attr]
    assert used in IMAGE_SIZES
    assert all(log_distance(ratio, used) <= log_distance(ratio, other) + 1e-9 for other in IMAGE_SIZES)
    exact = used == asked if name == "size" else math.isclose(Size.parse(used).ratio, ratio, rel_tol=1e-6)
    if exact:
        assert plan.parameters.applied == {name: used}
    else:
        [adapted] = plan.parameters.adapted
        assert (adapted.name, adapted.requested, adapted.used) == (name, asked, used)
        assert "1024x1024" in adapted.reason


def test_sixteen_to_nine_is_reported_as_adapted_to_1536x1024() -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", aspect_ratio="16:9")
    plan = map_images_api(request, "gpt-image-1.5", SPEC.model("gpt-image-1.5"))
    [adapted] = plan.parameters.adapted
    assert (adapted.name, adapted.requested, adapted.used) == ("aspect_ratio", "16:9", "1536x1024")
    assert plan.kwargs["size"] == "1536x1024"


def test_quality_background_and_format_are_passed_and_a_transparent_jpeg_becomes_png() -> None:
    request = MediaRequest(
        media_type=MediaType.IMAGE, prompt="a logo", quality="hd", background="transparent", output_format="jpg"
    )
    plan = map_responses_image(request, "gpt-5.4", SPEC.model("gpt-5.4"))
    assert plan.tool == {"type": "image_generation", "quality": "high", "background": "transparent",
                         "output_format": "png"}  # fmt: skip
    assert {a.name: a.used for a in plan.parameters.adapted} == {"quality": "high", "output_format": "png"}
    assert plan.parameters.applied == {"background": "transparent"}


@PROPERTY
@given(data=st.data(), model_name=st.sampled_from(IMAGES_API_MODELS))
def test_a_mask_is_sent_with_every_input_image_whatever_else_is_set(
    pictures: list[Path], data: st.DataObject, model_name: str
) -> None:
    kwargs = data.draw(image_kwargs(pictures, with_images=True))
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a vase", mask=pictures[0], **kwargs)
    plan = map_images_api(request, model_name, SPEC.model(model_name))
    assert plan.mask == request.mask and plan.images == request.input_images
    assert plan.parameters.applied["mask"] == str(pictures[0])
    assert_accounted(request, plan.parameters)


def test_a_mask_a_model_cannot_take_is_an_error_never_dropped(pictures: list[Path], jpeg: Path) -> None:
    masked = MediaRequest(media_type=MediaType.IMAGE, prompt="a vase", input_images=pictures[:2], mask=pictures[0])
    with pytest.raises(InvalidRequest, match="mask") as caught:
        map_responses_image(masked, "gpt-5.4", SPEC.model("gpt-5.4"))
    assert caught.value.field == "mask" and "gpt-image-1.5" in caught.value.message
    # Any image is a mask: the adapter converts it to OpenAI's PNG-with-alpha when it sends it.
    jpeg_mask = MediaRequest(media_type=MediaType.IMAGE, prompt="a vase", input_images=pictures[:1], mask=jpeg)
    assert map_images_api(jpeg_mask, "gpt-image-1.5", SPEC.model("gpt-image-1.5")).mask == jpeg_mask.mask


@pytest.mark.parametrize("count", [1, 2, 5, MAX_EDIT_IMAGES])
async def test_every_input_image_is_sent_in_order(pictures: list[Path], count: int) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="combine", input_images=pictures[:count])
    images_plan = map_images_api(request, "gpt-image-1.5", SPEC.model("gpt-image-1.5"))
    assert [i.path for i in images_plan.images] == pictures[:count]
    responses_plan = map_responses_image(request, "gpt-5.4", SPEC.model("gpt-5.4"))
    [message] = await responses_input(responses_plan)
    parts = message["content"]
    assert parts[0] == {"type": "input_text", "text": "combine"}
    sent = [base64.b64decode(p["image_url"].split(",", 1)[1]) for p in parts[1:]]
    assert sent == [p.read_bytes() for p in pictures[:count]]
    assert all(p["image_url"].startswith("data:image/png;base64,") for p in parts[1:])
    assert responses_plan.parameters.applied["input_images"] == images_plan.parameters.applied["input_images"] == count


def test_more_input_images_than_an_edit_takes_is_an_error_naming_the_limit(pictures: list[Path]) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="combine", input_images=pictures)
    for make in (map_images_api, map_responses_image):
        with pytest.raises(InvalidRequest, match=f"at most {MAX_EDIT_IMAGES} input images") as caught:
            make(request, "gpt-image-1.5", SPEC.model("gpt-image-1.5"))
        assert caught.value.field == "input_images"


def test_parameters_openai_has_not_are_ignored_with_a_reason_and_strict_refuses_them() -> None:
    request = MediaRequest(
        media_type=MediaType.IMAGE, prompt="a fox", seed=3, negative_prompt="blur", extra={"style": "vivid"}
    )
    plan = map_images_api(request, "gpt-image-1.5", SPEC.model("gpt-image-1.5"))
    reasons = {i.name: i.reason for i in plan.parameters.ignored}
    assert set(reasons) == {"seed", "negative_prompt", "extra.style"}
    assert "no seed" in reasons["seed"] and "in the prompt" in reasons["negative_prompt"]
    assert "not an option mediagen passes to OpenAI" in reasons["extra.style"]
    with pytest.raises(UnsupportedParameter, match="unset it or turn strict mode off") as caught:
        map_images_api(request, "gpt-image-1.5", SPEC.model("gpt-image-1.5"), strict=True)
    assert caught.value.field == "seed"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"moderation": "none"}, "extra.moderation"),
        ({"input_fidelity": "max"}, "extra.input_fidelity"),
        ({"output_compression": 101}, "extra.output_compression"),
        ({"output_compression": True}, "extra.output_compression"),
        ({"image_model": " "}, "extra.image_model"),
    ],
)
def test_a_bad_vendor_extra_is_an_invalid_request_naming_it(extra: dict[str, Any], field: str) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", extra=extra)
    with pytest.raises(InvalidRequest) as caught:
        map_responses_image(request, "gpt-5.4", SPEC.model("gpt-5.4"))
    assert caught.value.field == field


def test_a_prompt_over_the_limit_is_an_error_before_any_call() -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="x" * 32_001)
    with pytest.raises(InvalidRequest, match="at most 32000 characters") as caught:
        map_images_api(request, "gpt-image-1.5", SPEC.model("gpt-image-1.5"))
    assert caught.value.field == "prompt"


# --- video --------------------------------------------------------------------------------------------------------


@PROPERTY
@given(
    model_name=st.sampled_from(VIDEO_MODELS),
    shape=st.one_of(st.none(), shapes),
    duration=st.one_of(st.none(), st.floats(0.01, 60), st.sampled_from(SORA_SECONDS)),
    input_size=st.one_of(st.none(), st.tuples(st.integers(1, 4000), st.integers(1, 4000))),
    others=st.fixed_dictionaries(
        {},
        optional={
            "quality": st.just("high"),
            "output_format": st.sampled_from(["mp4", "webm"]),
            "seed": st.integers(0, 10),
            "negative_prompt": st.just("rain"),
            "background": st.just("transparent"),
            "instructions": st.just("calm"),
            "voice": st.just("alloy"),
            "extra": st.just({"fps": 30}),
        },
    ),
)
def test_every_video_request_maps_to_a_size_and_length_sora_accepts_with_every_parameter_accounted(
    pictures: list[Path],
    model_name: str,
    shape: dict[str, str] | None,
    duration: float | None,
    input_size: tuple[int, int] | None,
    others: dict[str, Any],
) -> None:
    images = [pictures[0]] if input_size is not None else []
    request = MediaRequest(
        media_type=MediaType.VIDEO, prompt="waves", duration=duration, input_images=images, **(shape or {}), **others
    )
    start = Size(*input_size) if input_size is not None else None

    def make(strict: bool = False) -> Any:
        return map_video(request, model_name, SPEC.model(model_name), input_size=start, strict=strict)

    plan = make()
    kwargs = dict(plan.kwargs)
    Params(kwargs).reject_unknown(CREATE_PARAMS)
    assert kwargs["size"] in catalog.VIDEO_MODELS[model_name] and str(plan.size) == kwargs["size"]
    assert kwargs["model"] == model_name
    allowed = SORA_PRO_SIZES if model_name == "sora-2-pro" else SORA_SIZES
    if shape is None and start is not None:
        assert all(log_distance(start.ratio, kwargs["size"]) <= log_distance(start.ratio, s) + 1e-9 for s in allowed)
    if duration is None:
        assert "seconds" not in kwargs
    else:
        assert kwargs["seconds"] in catalog.VIDEO_SECONDS
        used = nearest_seconds(duration)
        assert kwargs["seconds"] == seconds_param(used)
        if used == duration:
            assert plan.parameters.applied["duration"] == used
        else:
            [adapted] = [a for a in plan.parameters.adapted if a.name == "duration"]
            assert (adapted.requested, adapted.used) == (duration, used)
            assert "4, 8, 12 seconds" in adapted.reason
    assert plan.reference == (request.input_images[0] if images else None)
    assert_accounted(request, plan.parameters)
    assert_strict_matches(make, plan.parameters)


def test_six_seconds_becomes_eight_and_is_reported() -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="waves", duration=6, aspect_ratio="16:9")
    plan = map_video(request, "sora-2", SPEC.model("sora-2"))
    assert plan.kwargs == {"prompt": "waves", "model": "sora-2", "size": "1280x720", "seconds": "8"}
    [adapted] = plan.parameters.adapted
    assert (adapted.name, adapted.requested, adapted.used) == ("duration", 6.0, 8.0)
    assert plan.parameters.applied == {"aspect_ratio": "1280x720"}


def test_image_to_video_takes_the_shape_of_the_starting_image_when_none_is_asked(pictures: list[Path]) -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="it moves", input_images=[pictures[0]])
    wide = map_video(request, "sora-2", SPEC.model("sora-2"), input_size=Size(1600, 900))
    tall = map_video(request, "sora-2", SPEC.model("sora-2"), input_size=Size(900, 1600))
    assert (str(wide.size), str(tall.size)) == ("1280x720", "720x1280")
    asked = MediaRequest(media_type=MediaType.VIDEO, prompt="it moves", input_images=[pictures[0]], aspect_ratio="9:16")
    assert str(map_video(asked, "sora-2", SPEC.model("sora-2"), input_size=Size(1600, 900)).size) == "720x1280"
    with pytest.raises(InvalidRequest, match="starts from one image") as caught:
        map_video(with_images(request, pictures[:2]), "sora-2", SPEC.model("sora-2"))
    assert caught.value.field == "input_images"


def with_images(request: MediaRequest, images: list[Path]) -> MediaRequest:
    return MediaRequest(media_type=request.media_type, prompt=request.prompt, input_images=images)


def test_a_remix_sends_only_the_prompt_and_reports_what_it_keeps(pictures: list[Path]) -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="at night", duration=12, size="1792x1024")
    plan = map_video(request, "sora-2-pro", SPEC.model("sora-2-pro"), remix_of="video_1")
    assert plan.remix_of == "video_1" and dict(plan.kwargs) == {"prompt": "at night"}
    assert {i.name for i in plan.parameters.ignored} == {"duration", "size"}
    with pytest.raises(InvalidRequest, match="takes no input image"):
        map_video(with_images(request, pictures[:1]), "sora-2", SPEC.model("sora-2"), remix_of="video_1")


# --- speech -------------------------------------------------------------------------------------------------------


voices_in_any_case = st.tuples(st.sampled_from(SPEECH_VOICES), st.sampled_from([str.lower, str.upper, str.title]))


@PROPERTY
@given(
    model_name=st.sampled_from(SPEECH_MODELS),
    voice=st.one_of(st.none(), voices_in_any_case.map(lambda v: v[1](v[0]))),
    audio_format=st.one_of(st.none(), st.sampled_from([*SPEECH_FORMATS, "ogg"])),
    speed=st.one_of(st.none(), st.floats(0.01, 10)),
    others=st.fixed_dictionaries(
        {},
        optional={
            "instructions": st.just("whisper"),
            "language": st.just("en"),
            "output_format": st.just("mp3"),
            "seed": st.just(1),
            "negative_prompt": st.just("noise"),
            "duration": st.just(3),
            "quality": st.just("hd"),
            "extra": st.just({"stream_format": "sse"}),
        },
    ),
)
def test_every_speech_request_maps_to_a_voice_format_and_speed_the_api_accepts_with_every_parameter_accounted(
    model_name: str, voice: str | None, audio_format: str | None, speed: float | None, others: dict[str, Any]
) -> None:
    legacy = is_legacy_speech(model_name)
    assume(voice is None or not legacy or voice.lower() in LEGACY_SPEECH_VOICES)
    request = MediaRequest(
        media_type=MediaType.AUDIO, prompt="Hello there.", voice=voice, audio_format=audio_format, speed=speed,
        **others,
    )  # fmt: skip

    def make(strict: bool = False) -> Any:
        return map_speech(request, model_name, SPEC.model(model_name), strict=strict)

    plan = make()
    kwargs = dict(plan.kwargs)
    Params(kwargs).reject_unknown(SPEECH_PARAMS)
    assert kwargs["model"] in catalog.SPEECH_MODELS and kwargs["input"] == "Hello there."
    assert kwargs["voice"] in (catalog.LEGACY_VOICES if legacy else catalog.VOICES)
    assert voice is None or kwargs["voice"] == voice.lower()
    assert kwargs["response_format"] in catalog.SPEECH_FORMATS and plan.audio_format == kwargs["response_format"]
    assert plan.mime_type == SPEECH_MIME[plan.audio_format]
    if speed is not None:
        assert catalog.MIN_SPEED <= kwargs["speed"] <= catalog.MAX_SPEED
    if "instructions" in others:
        assert ("instructions" in kwargs) is not legacy
        assert ("instructions" in {i.name for i in plan.parameters.ignored}) is legacy
    assert_accounted(request, plan.parameters)
    assert_strict_matches(make, plan.parameters)


@pytest.mark.parametrize("fmt", SPEECH_FORMATS)
def test_each_speech_format_is_sent_as_response_format_with_its_mime(fmt: str) -> None:
    request = MediaRequest(media_type=MediaType.AUDIO, prompt="Hi", audio_format=fmt)
    plan = map_speech(request, "gpt-4o-mini-tts", SPEC.model("gpt-4o-mini-tts"))
    assert plan.kwargs["response_format"] == fmt and plan.mime_type == SPEECH_MIME[fmt]
    assert plan.parameters.applied == {"audio_format": fmt}


def test_ogg_is_opus_reported_as_adapted_and_an_unknown_format_lists_the_valid_ones() -> None:
    ogg = map_speech(MediaRequest(media_type="audio", prompt="Hi", audio_format="ogg"), "tts-1", SPEC.model("tts-1"))
    [adapted] = ogg.parameters.adapted
    assert (adapted.name, adapted.requested, adapted.used) == ("audio_format", "ogg", "opus")
    with pytest.raises(InvalidRequest) as caught:
        map_speech(MediaRequest(media_type="audio", prompt="Hi", audio_format="wma"), "tts-1", SPEC.model("tts-1"))
    assert caught.value.field == "audio_format"
    assert all(fmt in caught.value.message for fmt in SPEECH_FORMATS)


@PROPERTY
@given(model_name=st.sampled_from(SPEECH_MODELS), voice=st.text(min_size=1, max_size=20))
def test_an_unknown_voice_is_an_error_listing_every_valid_voice_never_a_swap(model_name: str, voice: str) -> None:
    model = SPEC.model(model_name)
    assert model is not None
    valid = model.constraints.voices
    assume(voice.strip().lower() not in valid and not voice.strip().startswith("voice_"))
    request = MediaRequest(media_type=MediaType.AUDIO, prompt="Hello", voice=voice)
    with pytest.raises(InvalidRequest) as caught:
        map_speech(request, model_name, model)
    assert caught.value.field == "voice"
    assert all(name in caught.value.message for name in valid)


def test_a_custom_voice_id_is_sent_as_an_object() -> None:
    request = MediaRequest(media_type=MediaType.AUDIO, prompt="Hello", voice="voice_abc123")
    plan = map_speech(request, "gpt-4o-mini-tts", SPEC.model("gpt-4o-mini-tts"))
    assert plan.kwargs["voice"] == {"id": "voice_abc123"} and plan.parameters.applied["voice"] == "voice_abc123"


def test_instructions_go_to_models_that_take_them_and_are_ignored_by_tts_1() -> None:
    request = MediaRequest(media_type=MediaType.AUDIO, prompt="Hello", instructions="whisper", speed=9)
    modern = map_speech(request, "gpt-4o-mini-tts", SPEC.model("gpt-4o-mini-tts"))
    assert modern.kwargs["instructions"] == "whisper" and modern.kwargs["speed"] == 4.0
    assert [(a.name, a.requested, a.used) for a in modern.parameters.adapted] == [("speed", 9.0, 4.0)]
    legacy = map_speech(request, "tts-1", SPEC.model("tts-1"))
    assert "instructions" not in legacy.kwargs
    [ignored] = legacy.parameters.ignored
    assert ignored.name == "instructions" and "gpt-4o-mini-tts" in ignored.reason
    with pytest.raises(UnsupportedParameter) as caught:
        map_speech(request, "tts-1", SPEC.model("tts-1"), strict=True)
    assert caught.value.field == "instructions"


def test_audio_other_than_speech_is_refused_with_a_hint() -> None:
    request = MediaRequest(media_type=MediaType.AUDIO, prompt="rain on a roof", audio_kind="sound_effect")
    with pytest.raises(InvalidRequest, match="choose another backend") as caught:
        map_speech(request, "gpt-4o-mini-tts", SPEC.model("gpt-4o-mini-tts"))
    assert caught.value.field == "audio_kind"


def test_the_sandbox_validators_used_as_the_oracle_do_reject_bad_values() -> None:
    """The oracle above is not vacuous: it refuses what the API refuses."""
    with pytest.raises(ApiError):
        accepts_image_options({"size": "1000x1000"}, "gpt-image-1.5")
    with pytest.raises(ApiError):
        accepts_image_options({"background": "transparent", "output_format": "jpeg"}, "gpt-image-1.5")
    with pytest.raises(ApiError):
        Params({"moderation": "low"}).reject_unknown(EDIT_PARAMS)


def test_the_backend_page_shows_what_the_spec_says() -> None:
    from mediagen.adapters.openai import docs

    page = Path(__file__).resolve().parents[2] / "docs" / "backends" / "openai.md"
    text = page.read_text(encoding="utf-8")
    assert docs.PAGE.rewrite(text) == text, "run: python -m mediagen.adapters.openai.docs"
    for model in SPEC.models:
        assert f"`{model.name}`" in text
    for key in attrs.fields_dict(OpenAISettings).keys() - {"base_url"}:  # base_url is not an extra
        assert f"`{key}`" in text, f"the Settings table lacks {key}"
