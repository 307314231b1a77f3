"""The xAI mapping: every request becomes a proto the installed xai-sdk builds, with enum members only."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xai_sdk import image as sdk_image
from xai_sdk import video as sdk_video
from xai_sdk.proto import image_pb2, video_pb2

from mediagen.adapters.ratios import nearest_ratio
from mediagen.adapters.xai.client import parse_endpoint
from mediagen.adapters.xai.errors import field_named, retry_delay
from mediagen.adapters.xai.image import IMAGE_KIND, decode_answer, previous_image
from mediagen.adapters.xai.mapping import map_image, map_video, whole_seconds
from mediagen.adapters.xai.spec import (
    EXTENSION_SECONDS,
    IMAGE_ASPECT_RATIOS,
    IMAGE_QUALITIES,
    IMAGE_RESOLUTIONS,
    SPEC,
    VIDEO_ASPECT_RATIOS,
    VIDEO_RESOLUTIONS,
    VIDEO_SECONDS,
)
from mediagen.domain.errors import ConfigurationError, InvalidRequest, UnsupportedParameter
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import ParameterReport
from mediagen.ports.continuation import ContinuationState
from mediagen.testing.media import png
from mediagen.testing.strategies import valid_requests

HYPOTHESIS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
IMAGE_MODELS = [m.name for m in SPEC.models_for(MediaType.IMAGE)]
VIDEO_MODELS = [m.name for m in SPEC.models_for(MediaType.VIDEO)]
_MEMBERS = {  # a proto enum's members other than its INVALID / UNSPECIFIED zero
    "image_aspect": set(image_pb2.ImageAspectRatio.values()) - {0},
    "image_resolution": set(image_pb2.ImageResolution.values()) - {0},
    "image_quality": set(image_pb2.ImageQuality.values()) - {0},
    "video_aspect": set(video_pb2.VideoAspectRatio.values()) - {0},
    "video_resolution": set(video_pb2.VideoResolution.values()) - {0},
}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("xai-mapping")
    paths = []
    for index in range(3):
        path = root / f"in{index}.png"
        path.write_bytes(png(8 + index, 8))
        paths.append(path)
    return paths


def assert_accounted(request: MediaRequest, report: ParameterReport) -> None:
    """What changed is reported: every set parameter is applied, adapted (with what was used) or ignored."""
    assert set(request.set_parameters()) <= report.accounted()
    for adapted in report.adapted:
        assert adapted.reason


def _image_request(request: MediaRequest) -> MediaRequest:
    """The drawn request without what xAI refuses outright (a mask) and without a continuation."""
    return attrs.evolve(request, mask=None, continue_from=None)


@HYPOTHESIS
@given(data=st.data(), model_name=st.sampled_from(IMAGE_MODELS))
def test_every_image_request_maps_to_a_proto_the_sdk_builds_with_enum_members_only(
    images: list[Path], data: st.DataObject, model_name: str
) -> None:
    request = _image_request(data.draw(valid_requests([MediaType.IMAGE], tmp_images=images)))
    plan = map_image(request, model_name, SPEC.model(model_name))
    kwargs: dict[str, Any] = dict(plan.kwargs)
    assert kwargs.pop("image_format") == "base64"
    if plan.images:
        kwargs["image_urls"] = ["data:image/png;base64,AAAA"] * len(plan.images)
    proto = sdk_image._make_generate_request(plan.prompt, plan.model, image_format="base64", **kwargs)
    assert proto.format == image_pb2.ImageFormat.IMG_FORMAT_BASE64
    if "aspect_ratio" in plan.kwargs:
        assert plan.kwargs["aspect_ratio"] in IMAGE_ASPECT_RATIOS
        assert proto.aspect_ratio in _MEMBERS["image_aspect"]
    if "resolution" in plan.kwargs:
        assert plan.kwargs["resolution"] in IMAGE_RESOLUTIONS
        assert proto.resolution in _MEMBERS["image_resolution"]
    if "quality" in plan.kwargs:
        assert plan.kwargs["quality"] in IMAGE_QUALITIES and model_name == "grok-imagine-image-2.0"
        assert proto.quality in _MEMBERS["image_quality"]
    assert len(plan.images) == len(request.input_images)
    assert_accounted(request, plan.parameters)


@HYPOTHESIS
@given(data=st.data(), model_name=st.sampled_from(IMAGE_MODELS), n=st.integers(1, 10))
def test_n_images_are_one_generate_image_with_n_in_the_range_xai_takes(
    images: list[Path], data: st.DataObject, model_name: str, n: int
) -> None:
    request = attrs.evolve(_image_request(data.draw(valid_requests([MediaType.IMAGE], tmp_images=images))), n=n)
    plan = map_image(request, model_name, SPEC.model(model_name))
    kwargs: dict[str, Any] = {k: v for k, v in plan.kwargs.items() if k != "image_format"}
    proto = sdk_image._make_generate_request(plan.prompt, plan.model, n=plan.n, image_format="base64", **kwargs)
    assert plan.n == proto.n == n and 1 <= proto.n <= SPEC.model(model_name).constraints.images_per_call  # type: ignore[union-attr]
    assert_accounted(request, plan.parameters)


def test_more_images_than_a_call_makes_never_reach_xai() -> None:
    model = SPEC.model("grok-imagine-image")
    assert model is not None and model.constraints.images_per_call == 10
    narrow = attrs.evolve(model, constraints=attrs.evolve(model.constraints, images_per_call=2))
    with pytest.raises(InvalidRequest, match="at most 2 images per call") as caught:
        map_image(MediaRequest(media_type="image", prompt="a fox", n=3), model.name, narrow)
    assert caught.value.field == "n"


@HYPOTHESIS
@given(data=st.data(), model_name=st.sampled_from(VIDEO_MODELS), extension=st.booleans())
def test_every_video_request_maps_to_a_proto_the_sdk_builds_with_a_duration_in_range(
    images: list[Path], data: st.DataObject, model_name: str, extension: bool
) -> None:
    request = _image_request(data.draw(valid_requests([MediaType.VIDEO], tmp_images=[] if extension else images)))
    plan = map_video(request, model_name, SPEC.model(model_name), extension=extension)
    kwargs: dict[str, Any] = dict(plan.kwargs)
    duration = kwargs.get("duration")
    if request.duration is not None:
        allowed = EXTENSION_SECONDS if extension else VIDEO_SECONDS
        assert isinstance(duration, int) and duration != 0 and allowed[0] <= duration <= allowed[-1]
    else:
        assert duration is None  # the service's default (8 s, an extension 6 s)
    if extension:
        assert set(kwargs) <= {"duration"}
        proto: Any = sdk_video._make_extend_request(
            plan.prompt, plan.model, video_url="https://x/v.mp4", duration=kwargs.get("duration")
        )
    else:
        proto = sdk_video._make_generate_request(
            plan.prompt,
            plan.model,
            image_url="data:image/png;base64,AAAA" if plan.first_frame else None,
            video_url=None,
            duration=kwargs.pop("duration", None),
            aspect_ratio=kwargs.pop("aspect_ratio", None),
            resolution=kwargs.pop("resolution", None),
            reference_image_urls=["data:image/png;base64,AAAA"] * len(plan.reference_images) or None,
            **kwargs,
        )
        if "aspect_ratio" in plan.kwargs:
            assert plan.kwargs["aspect_ratio"] in VIDEO_ASPECT_RATIOS
            assert proto.aspect_ratio in _MEMBERS["video_aspect"]
        if "resolution" in plan.kwargs:
            assert plan.kwargs["resolution"] in VIDEO_RESOLUTIONS
            assert proto.resolution in _MEMBERS["video_resolution"]
        assert len(plan.reference_images) + (plan.first_frame is not None) == len(request.input_images)
    assert proto.duration == (duration or 0)
    assert_accounted(request, plan.parameters)


@given(st.floats(min_value=1e-6, max_value=1e6, allow_nan=False))
def test_seconds_are_whole_never_zero_and_within_the_range(seconds: float) -> None:
    for allowed in (VIDEO_SECONDS, EXTENSION_SECONDS):
        chosen = whole_seconds(seconds, allowed)
        assert chosen in allowed
        if allowed[0] <= seconds <= allowed[-1]:
            assert abs(chosen - seconds) <= 0.5


def test_a_ratio_between_two_is_mapped_to_the_nearest_and_reported_adapted() -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="fox", aspect_ratio="5:3")
    plan = map_image(request, "grok-imagine-image", SPEC.model("grok-imagine-image"))
    assert plan.kwargs["aspect_ratio"] == "16:9"
    [adapted] = plan.parameters.adapted
    assert (adapted.name, adapted.requested, adapted.used) == ("aspect_ratio", "5:3", "16:9")
    assert nearest_ratio(2.3, IMAGE_ASPECT_RATIOS) == "20:9"  # a real mapping: not everything to 1:1
    assert nearest_ratio(0.46, IMAGE_ASPECT_RATIOS) == "9:19.5"


def test_a_size_becomes_the_nearest_ratio_and_resolution() -> None:
    model = SPEC.model("grok-imagine-image")
    big = map_image(MediaRequest(media_type=MediaType.IMAGE, prompt="x", size="2048x1152"), "grok-imagine-image", model)
    small = map_image(MediaRequest(media_type=MediaType.IMAGE, prompt="x", size="600x900"), "grok-imagine-image", model)
    assert (big.kwargs["aspect_ratio"], big.kwargs["resolution"]) == ("16:9", "2k")
    assert (small.kwargs["aspect_ratio"], small.kwargs["resolution"]) == ("2:3", "1k")
    [adapted] = big.parameters.adapted
    assert (adapted.name, adapted.used) == ("size", "16:9 at 2k")


def test_video_size_quality_and_duration_snap_to_what_xai_takes() -> None:
    request = MediaRequest(media_type=MediaType.VIDEO, prompt="waves", size="1920x1080", duration=20)
    plan = map_video(request, "grok-imagine-video", SPEC.model("grok-imagine-video"))
    assert plan.kwargs == {"duration": 15, "aspect_ratio": "16:9", "resolution": "1080p"}
    adapted = {a.name: a.used for a in plan.parameters.adapted}
    assert adapted == {"duration": 15, "size": "16:9 at 1080p"}
    low = map_video(MediaRequest(media_type=MediaType.VIDEO, prompt="w", quality="720p", duration=0.2), "x", None)
    assert low.kwargs == {"duration": 1, "resolution": "720p"}


def test_an_extension_takes_up_to_ten_seconds_and_no_input_images(images: list[Path]) -> None:
    plan = map_video(MediaRequest(media_type=MediaType.VIDEO, prompt="on", duration=12), "grok-imagine-video", None,
                     extension=True)  # fmt: skip
    assert plan.kwargs == {"duration": 10} and plan.extension
    with pytest.raises(InvalidRequest) as caught:
        map_video(MediaRequest(media_type=MediaType.VIDEO, prompt="on", input_images=images[:1]), "m", None,
                  extension=True)  # fmt: skip
    assert caught.value.field == "input_images"


def test_quality_only_where_the_model_takes_it() -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="x", quality="high")
    two = map_image(request, "grok-imagine-image-2.0", SPEC.model("grok-imagine-image-2.0"))
    assert two.kwargs["quality"] == "medium"
    assert [a.name for a in two.parameters.adapted] == ["quality"]
    one = map_image(request, "grok-imagine-image", SPEC.model("grok-imagine-image"))
    assert "quality" not in one.kwargs
    assert [i.name for i in one.parameters.ignored] == ["quality"]
    with pytest.raises(UnsupportedParameter):
        map_image(request, "grok-imagine-image", SPEC.model("grok-imagine-image"), strict=True)


def test_a_mask_is_refused_before_any_call(images: list[Path]) -> None:
    request = MediaRequest(media_type=MediaType.IMAGE, prompt="x", input_images=images[:1], mask=images[1])
    with pytest.raises(InvalidRequest) as caught:
        map_image(request, "grok-imagine-image", SPEC.model("grok-imagine-image"))
    assert caught.value.field == "mask"


def test_the_sdk_spellings_in_the_spec_are_all_enum_members() -> None:
    assert {sdk_image.convert_image_aspect_ratio_to_pb(r) for r in IMAGE_ASPECT_RATIOS} <= _MEMBERS["image_aspect"]
    assert {sdk_image.convert_image_resolution_to_pb(r) for r in IMAGE_RESOLUTIONS} <= _MEMBERS["image_resolution"]
    assert {sdk_image.convert_image_quality_to_pb(q) for q in IMAGE_QUALITIES} <= _MEMBERS["image_quality"]
    assert {sdk_video.convert_video_aspect_ratio_to_pb(r) for r in VIDEO_ASPECT_RATIOS} <= _MEMBERS["video_aspect"]
    assert {sdk_video.convert_video_resolution_to_pb(r) for r in VIDEO_RESOLUTIONS} <= _MEMBERS["video_resolution"]


def test_the_spec_lists_the_models_the_sdk_lists() -> None:
    from typing import get_args

    from xai_sdk.types import ImageGenerationModel, VideoGenerationModel

    assert set(get_args(ImageGenerationModel)) == set(IMAGE_MODELS)
    assert set(get_args(VideoGenerationModel)) == set(VIDEO_MODELS)


def test_a_continued_image_is_sent_first_as_a_data_uri_and_other_states_are_refused() -> None:
    data = png(4, 4)
    state = ContinuationState(kind=IMAGE_KIND, data={"mime_type": "image/png"}, blob=data)
    assert previous_image(state) == "data:image/png;base64," + base64.b64encode(data).decode()
    with pytest.raises(InvalidRequest):
        previous_image(ContinuationState(kind="gemini_chat", data={}))
    assert decode_answer("data:image/png;base64," + base64.b64encode(data).decode()) == (data, "image/png")


@pytest.mark.parametrize(
    ("text", "target", "insecure"),
    [
        (None, "api.x.ai:443", False),
        ("127.0.0.1:50051", "127.0.0.1:50051", True),
        ("localhost:7", "localhost:7", True),
        ("[::1]:9", "[::1]:9", True),
        ("api.x.ai", "api.x.ai:443", False),
        ("10.0.0.5:50051", "10.0.0.5:50051", False),
    ],
)
def test_base_url_is_host_port_and_only_loopback_skips_tls(text: str | None, target: str, insecure: bool) -> None:
    endpoint = parse_endpoint(text)
    assert (endpoint.target, endpoint.insecure) == (target, insecure)


@pytest.mark.parametrize("text", ["https://api.x.ai", "http://127.0.0.1:5", "127.0.0.1:0", "host:port", "a b:1"])
def test_a_url_or_a_bad_port_is_a_configuration_error_naming_host_port(text: str) -> None:
    with pytest.raises(ConfigurationError, match="host:port"):
        parse_endpoint(text)


def test_the_retry_delay_comes_from_retry_info_or_retry_after() -> None:
    from google.protobuf import any_pb2, duration_pb2
    from google.rpc import error_details_pb2, status_pb2

    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=3, nanos=500_000_000)))
    blob = status_pb2.Status(code=8, message="slow down", details=[detail]).SerializeToString()
    assert retry_delay([("grpc-status-details-bin", blob)]) == 3.5
    assert retry_delay([("retry-after", "7")]) == 7.0
    assert retry_delay([("retry-after-ms", "250")]) == 0.25
    assert retry_delay([("other", "1")]) is None


def test_an_invalid_argument_names_the_mediagen_field() -> None:
    assert field_named("aspect_ratio must be one of ...") == "aspect_ratio"
    assert field_named("Invalid duration 20: must be 1-15") == "duration"
    assert field_named("resolution IMG_RESOLUTION_4K unknown") == "size"
    assert field_named("something else") is None


def test_the_backend_page_shows_what_the_spec_says() -> None:
    from mediagen.adapters.xai import docs
    from mediagen.adapters.xai.client import XAISettings

    page = Path(__file__).resolve().parents[2] / "docs" / "backends" / "xai.md"
    text = page.read_text(encoding="utf-8")
    assert docs.PAGE.rewrite(text) == text, "run: python -m mediagen.adapters.xai.docs"
    for model in SPEC.models:
        assert f"`{model.name}`" in text
    for key in attrs.fields_dict(XAISettings).keys() - {"endpoint"}:  # endpoint is base_url, not an extra
        assert f"`{key}`" in text, f"the Settings table lacks {key}"


@pytest.mark.parametrize(
    ("status", "details", "code"),
    [
        ("UNAUTHENTICATED", "no key", "authentication_failed"),
        ("PERMISSION_DENIED", "team may not use this model", "authentication_failed"),
        ("RESOURCE_EXHAUSTED", "slow down", "rate_limited"),
        ("RESOURCE_EXHAUSTED", "Your team has used all available credits", "backend_error"),
        ("UNAVAILABLE", "try later", "transient_backend_error"),
        ("DEADLINE_EXCEEDED", "too slow", "transient_backend_error"),
        ("INTERNAL", "oops", "transient_backend_error"),
        ("INVALID_ARGUMENT", "duration: must be 1-15", "invalid_request"),
        ("INVALID_ARGUMENT", "Generated image rejected by content moderation.", "content_rejected"),
        ("NOT_FOUND", "model grok-x not found", "backend_error"),
    ],
)
def test_each_grpc_status_becomes_its_error_without_the_key(status: str, details: str, code: str) -> None:
    import grpc
    from grpc.aio import AioRpcError, Metadata

    from mediagen.adapters.xai.errors import translate_xai_error
    from mediagen.domain.secret import Secret

    key = "xai-secretkey-1234567890"
    error = AioRpcError(
        getattr(grpc.StatusCode, status), Metadata(), Metadata(("retry-after", "2")), f"{details} {key}"
    )
    translated = translate_xai_error(error, secret=Secret(key))
    assert translated.code == code
    assert key not in str(translated) and key not in repr(translated.to_dict())
    if code == "rate_limited":
        assert getattr(translated, "retry_after", None) == 2.0
    if code == "invalid_request":
        assert getattr(translated, "field", None) == "duration"
