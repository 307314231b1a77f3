"""OpenRouter mapping: every request maps to a body OpenRouter takes, every set parameter is accounted for, the
conversation kept between turns is bounded plain data, and every error answer maps to one typed error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediagen.adapters.openrouter.client import OpenRouterSettings
from mediagen.adapters.openrouter.errors import answer_error, error_from_body, scrub
from mediagen.adapters.openrouter.mapping import (
    CHAT_KIND,
    Conversation,
    after_turn,
    conversation_from_state,
    data_url,
    decode_data_url,
    listed_image_models,
    map_image,
    quoted,
    read_answer,
    split_data_url,
    turn_messages,
    user_message,
)
from mediagen.adapters.openrouter.spec import COMMON_ASPECT_RATIOS, IMAGE_MODELS, IMAGE_ONLY, IMAGE_SIZES, SPEC
from mediagen.domain.errors import (
    AuthenticationFailed,
    BackendError,
    ConfigurationError,
    ContentRejected,
    InvalidRequest,
    RateLimited,
    TransientBackendError,
    UnsupportedParameter,
)
from mediagen.domain.media import Capability, MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.continuation import ContinuationState
from mediagen.ports.generator import BackendOptions
from mediagen.testing.media import png
from mediagen.testing.strategies import valid_requests

ANSWER_KEYS = ["id", "choices", "message", "images", "image_url", "url", "content", "type", "text", "error", "usage"]
LISTED = [m.name for m in SPEC.models_for(MediaType.IMAGE)]
ratios = st.tuples(st.integers(1, 40), st.integers(1, 40)).map(lambda r: f"{r[0]}:{r[1]}")
sizes = st.tuples(st.integers(64, 6000), st.integers(64, 6000)).map(lambda s: f"{s[0]}x{s[1]}")
qualities = st.sampled_from(["0.5K", "1K", "2k", "4K", "high", "hd"])


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("openrouter-mapping")
    paths = []
    for index in range(3):
        path = root / f"in{index}.png"
        path.write_bytes(png(8 + index, 6, seed=index))
        paths.append(path)
    return paths


def _accounted(request: MediaRequest, report: Any) -> set[str]:
    return set(report.applied) | {a.name for a in report.adapted} | {i.name for i in report.ignored}


# -- the request ----------------------------------------------------------------------------------------------


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_every_listed_model_gets_only_values_it_takes_and_every_parameter_is_accounted(
    data: st.DataObject, images: list[Path]
) -> None:
    request = data.draw(valid_requests((MediaType.IMAGE,), tmp_images=images))
    name = data.draw(st.sampled_from(LISTED))
    model = SPEC.model(name)
    assert model is not None
    if request.mask is not None:
        with pytest.raises(InvalidRequest) as caught:
            map_image(request, name, model)
        assert caught.value.field == "mask"
        return
    limit = model.constraints.max_input_images
    if limit is not None and len(request.input_images) > limit:
        with pytest.raises(InvalidRequest):
            map_image(request, name, model)
        return
    plan = map_image(request, name, model)
    config = plan.image_config
    assert set(config) <= {"aspect_ratio", "image_size"}
    if "aspect_ratio" in config:
        assert config["aspect_ratio"] in model.constraints.aspect_ratios
    if "image_size" in config:
        assert config["image_size"] in model.constraints.resolutions
    assert _accounted(request, plan.parameters) == set(request.set_parameters())
    body = plan.body(turn_messages(None, plan.prompt, ["data:image/png;base64,AAAA"]))
    assert json.loads(json.dumps(body)) == body
    assert body["modalities"] == list(IMAGE_MODELS[name].modalities)
    assert body["model"] == name and body["messages"][-1]["role"] == "user"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    data=st.data(),
    name=st.sampled_from([*LISTED, "someone/unlisted-image-model"]),
    earlier=st.lists(st.tuples(st.text(max_size=20), st.text(max_size=20)), max_size=3),
    inputs=st.integers(0, 2),
)
def test_the_sdk_would_send_every_chat_body_unchanged(
    data: st.DataObject, images: list[Path], name: str, earlier: list[tuple[str, str]], inputs: int
) -> None:
    """The adapter posts the plan's body itself (`client.post`); chat.completions.create's pass over it against the
    SDK's TypedDicts would change nothing, earlier turns and input images included."""
    from openai._utils import maybe_transform
    from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming

    request = attrs.evolve(data.draw(valid_requests((MediaType.IMAGE,), tmp_images=images)), mask=None, input_images=())
    plan = map_image(request, name, SPEC.model(name))
    previous = None
    for asked, said in earlier:
        sent = turn_messages(previous, asked, [])
        previous, _ = after_turn(
            previous, sent, said, "data:image/png;base64,TEFTVA==", model=name, max_turns=10, max_bytes=10**6
        )
    body = plan.body(turn_messages(previous, plan.prompt, ["data:image/png;base64,SU5QVVQ="] * inputs))
    assert maybe_transform(body, CompletionCreateParamsNonStreaming) == body


@given(aspect=st.one_of(st.none(), ratios), size=st.one_of(st.none(), sizes), quality=st.one_of(st.none(), qualities))
def test_a_model_mediagen_does_not_list_is_sent_as_named_with_documented_values(
    aspect: str | None, size: str | None, quality: str | None
) -> None:
    kwargs: dict[str, Any] = {"aspect_ratio": aspect} if aspect else {"size": size} if size else {}
    request = MediaRequest(media_type="image", prompt="a kite", quality=quality, **kwargs)
    plan = map_image(request, "acme/brand-new-image-model", None)
    assert plan.model == "acme/brand-new-image-model" and not plan.listed
    assert plan.modalities == ("image", "text")
    assert plan.image_config.get("aspect_ratio", "1:1") in COMMON_ASPECT_RATIOS
    assert plan.image_config.get("image_size", "1K") in IMAGE_SIZES
    assert _accounted(request, plan.parameters) == set(request.set_parameters())


def test_an_asked_ratio_the_model_takes_is_applied_and_another_is_adapted_with_the_reason() -> None:
    model = SPEC.model("openai/gpt-5-image")
    plan = map_image(MediaRequest(media_type="image", prompt="p", aspect_ratio="3:2"), "openai/gpt-5-image", model)
    assert plan.image_config == {"aspect_ratio": "3:2"} and plan.parameters.applied == {"aspect_ratio": "3:2"}
    wide = map_image(MediaRequest(media_type="image", prompt="p", aspect_ratio="16:9"), "openai/gpt-5-image", model)
    [adapted] = wide.parameters.adapted
    assert (adapted.name, adapted.used) == ("aspect_ratio", "3:2") and "1:1, 2:3, 3:2" in adapted.reason


def test_size_becomes_a_ratio_and_a_tier_and_quality_names_the_tier() -> None:
    model = SPEC.model("google/gemini-3.1-flash-image-preview")
    request = MediaRequest(media_type="image", prompt="p", size="1920x1080")
    plan = map_image(request, "google/gemini-3.1-flash-image-preview", model)
    assert plan.image_config == {"aspect_ratio": "16:9", "image_size": "2K"}
    [adapted] = plan.parameters.adapted
    assert adapted.used == "16:9 at 2K" and "not pixels" in adapted.reason
    small = map_image(MediaRequest(media_type="image", prompt="p", quality="0.5k"), model.name, model)
    assert small.image_config == {"image_size": "0.5K"} and small.parameters.applied == {"quality": "0.5K"}


def test_image_size_on_a_model_without_sizes_is_ignored_with_the_reason_and_strict_refuses_it() -> None:
    model = SPEC.model("google/gemini-2.5-flash-image")
    request = MediaRequest(media_type="image", prompt="p", quality="2K")
    plan = map_image(request, model.name, model)
    assert "image_size" not in plan.image_config
    [ignored] = plan.parameters.ignored
    assert ignored.name == "quality" and "takes no image_size" in ignored.reason
    with pytest.raises(UnsupportedParameter) as caught:
        map_image(request, model.name, model, strict=True)
    assert caught.value.field == "quality"


def test_image_only_models_are_asked_for_images_only() -> None:
    model = SPEC.model("black-forest-labs/flux.2-pro")
    plan = map_image(MediaRequest(media_type="image", prompt="p"), model.name, model)
    assert plan.modalities == IMAGE_ONLY


def test_the_spec_lists_image_models_with_the_default_first() -> None:
    assert SPEC.default_models[MediaType.IMAGE] == "google/gemini-3.1-flash-image-preview"
    assert SPEC.env_vars == ("OPENROUTER_API_KEY",)
    assert set(LISTED) == set(IMAGE_MODELS)
    for model in SPEC.models:
        assert model.media_type is MediaType.IMAGE and Capability.CONTINUATION in model.capabilities
        assert Capability.MASK not in model.capabilities


# -- messages and the conversation ------------------------------------------------------------------------------


def test_a_turn_sends_the_prompt_then_the_last_image_then_the_input_images() -> None:
    previous = Conversation("m", (user_message("first", []),), "data:image/png;base64,TEFTVA==")
    messages = turn_messages(previous, "bluer", ["data:image/png;base64,SU5QVVQ="])
    assert messages[0] == user_message("first", [])
    assert messages[-1] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "bluer"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,TEFTVA=="}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,SU5QVVQ="}},
        ],
    }


turn_texts = st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), min_size=1, max_size=12)


@given(turns=turn_texts, max_turns=st.integers(1, 6), max_bytes=st.integers(50, 3000))
def test_the_kept_conversation_is_bounded_plain_json_that_round_trips(
    turns: list[tuple[str, str]], max_turns: int, max_bytes: int
) -> None:
    conversation: Conversation | None = None
    for index, (prompt, reply) in enumerate(turns):
        sent = turn_messages(conversation, prompt or "p", [])
        image = data_url("image/png", bytes([index % 256]) * 5)
        conversation, trimmed = after_turn(
            conversation, sent, reply, image, model="m", max_turns=max_turns, max_bytes=max_bytes
        )
        assert trimmed.turns <= max_turns
        assert trimmed.turns == 1 or trimmed.size_bytes <= max_bytes
        assert conversation.messages[-1 if not reply.strip() else -2]["content"][0]["text"] == (prompt or "p")
        assert conversation.last_image == image
        kept_users = sum(1 for m in conversation.messages if m["role"] == "user")
        assert kept_users + conversation.dropped_turns == index + 1
        state = conversation.state()
        assert state.kind == CHAT_KIND
        assert state.blob == bytes([index % 256]) * 5 and state.data["last_image_mime"] == "image/png"
        assert "last_image" not in state.data, "the image is the blob, not a data URL in the JSON"
        restored = conversation_from_state(
            ContinuationState(kind=state.kind, data=json.loads(json.dumps(state.data)), blob=state.blob)
        )
        assert restored == conversation


def test_another_backends_or_a_damaged_state_is_refused_naming_continue_from() -> None:
    with pytest.raises(InvalidRequest) as caught:
        conversation_from_state(ContinuationState(kind="gemini_chat", data={}))
    assert caught.value.field == "continue_from" and "OpenRouter" in str(caught.value)
    damaged = ContinuationState(kind=CHAT_KIND, data={"messages": [], "last_image": "http://x/y.png"})
    with pytest.raises(InvalidRequest, match="damaged"):
        conversation_from_state(damaged)
    no_mime = ContinuationState(kind=CHAT_KIND, data={"messages": [], "last_image_mime": "png"}, blob=b"PNG")
    with pytest.raises(InvalidRequest, match="damaged"):
        conversation_from_state(no_mime)


def test_a_conversation_saved_with_its_image_as_a_data_url_in_the_data_still_continues() -> None:
    image = data_url("image/png", b"LAST")
    saved = ContinuationState(kind=CHAT_KIND, data={"model": "m", "messages": [], "last_image": image})
    assert conversation_from_state(saved) == Conversation("m", (), image)


def test_the_image_in_hand_becomes_the_blob_and_reads_back_as_the_same_data_url() -> None:
    image = data_url("image/webp", b"RIFF....WEBP")
    conversation, _ = after_turn(
        None, [user_message("p", [])], "", image, model="m", max_turns=3, max_bytes=1000, image=b"RIFF....WEBP"
    )
    state = conversation.state()
    assert (state.blob, state.data["last_image_mime"]) == (b"RIFF....WEBP", "image/webp")
    assert conversation_from_state(state).last_image == image


# -- the answer -----------------------------------------------------------------------------------------------


@given(data=st.binary(max_size=300), mime=st.sampled_from(["image/png", "image/jpeg", "image/webp"]))
def test_data_urls_round_trip(data: bytes, mime: str) -> None:
    url = data_url(mime, data)
    assert split_data_url(url) is not None
    assert decode_data_url(url) == (mime, data)


@pytest.mark.parametrize("url", ["https://cdn.example/x.png", "data:image/png,rawtext", "data:image/png;base64,@@"])
def test_what_is_not_a_base64_data_url_does_not_decode(url: str) -> None:
    with pytest.raises(ValueError, match="base64"):
        decode_data_url(url)


def test_the_documented_answer_is_read_with_provider_usage_and_every_image() -> None:
    body = {
        "id": "gen-1",
        "provider": "Google AI Studio",
        "model": "google/gemini-3.1-flash-image-preview",
        "object": "chat.completion",
        "created": 1,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "native_finish_reason": "STOP",
                "message": {
                    "role": "assistant",
                    "content": "Here it is.",
                    "images": [
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
                        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8},
    }
    answer = read_answer(body)
    assert answer.provider == "Google AI Studio" and answer.text == "Here it is."
    assert answer.image_urls == ("data:image/png;base64,AA==", "https://x/y.png")
    assert answer.usage == {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
    assert answer.error is None and answer.native_finish_reason == "STOP"


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(), lambda c: st.lists(c) | st.dictionaries(st.text(), c)
    )
)
def test_any_json_answer_reads_without_raising(body: Any) -> None:
    if isinstance(body, dict):
        read_answer(body)


def test_an_error_inside_a_200_answer_is_found() -> None:
    error = {"code": 502, "message": "Provider returned error", "metadata": {"provider_name": "X", "raw": "boom"}}
    answer = read_answer({"choices": [{"index": 0, "message": {"role": "assistant", "content": ""}, "error": error}]})
    assert answer.error == error
    translated = answer_error(answer.error, secret=None)
    assert isinstance(translated, TransientBackendError) and "boom" in str(translated)


@given(text=st.text(max_size=1000))
def test_quotes_are_one_line_and_bounded(text: str) -> None:
    said = quoted(text)
    assert "\n" not in said and len(said) <= 300


def test_the_models_list_is_narrowed_to_image_output() -> None:
    models = [
        {"id": "a/img", "name": "Img", "architecture": {"input_modalities": ["text", "image"],
                                                        "output_modalities": ["image", "text"]}},
        {"id": "b/flux", "architecture": {"input_modalities": ["text"], "output_modalities": ["image"]}},
        {"id": "c/text", "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]}},
        {"id": "d/odd"},
    ]  # fmt: skip
    found = {m.name: m for m in listed_image_models(models)}
    assert set(found) == {"a/img", "b/flux"}
    assert Capability.IMAGE_EDIT in found["a/img"].capabilities
    assert found["b/flux"].capabilities == frozenset({Capability.TEXT_TO_IMAGE})


# -- errors ----------------------------------------------------------------------------------------------------

KEY = Secret("sk-or-v1-0123456789abcdef0123456789")


@pytest.mark.parametrize(
    ("status", "metadata", "kind", "code"),
    [
        (400, None, InvalidRequest, "invalid_request"),
        (401, None, AuthenticationFailed, "authentication_failed"),
        (402, None, BackendError, "backend_error"),
        (403, {"reasons": ["violence"], "flagged_input": "..."}, ContentRejected, "content_rejected"),
        (408, None, TransientBackendError, "transient_backend_error"),
        (429, None, RateLimited, "rate_limited"),
        (500, None, TransientBackendError, "transient_backend_error"),
        (502, {"provider_name": "Google", "raw": "upstream"}, TransientBackendError, "transient_backend_error"),
        (503, None, TransientBackendError, "transient_backend_error"),
    ],
)
def test_each_status_is_one_typed_error_that_never_shows_the_key(
    status: int, metadata: dict[str, Any] | None, kind: type, code: str
) -> None:
    body: dict[str, Any] = {"code": status, "message": f"bad thing with {KEY.reveal()}"}
    if metadata:
        body["metadata"] = metadata
    error = error_from_body(status, body, headers={"retry-after": "3"}, secret=KEY)
    assert type(error) is kind and error.code == code
    assert KEY.reveal() not in str(error)
    if status == 402:
        assert "insufficient credits" in str(error) and "not retried" in str(error)
    if status == 403:
        assert "violence" in str(error)
    if status == 429:
        assert isinstance(error, RateLimited) and error.retry_after == 3.0


def test_keys_shaped_like_openrouters_are_scrubbed_even_when_not_ours() -> None:
    assert "sk-or-v1" not in scrub("key sk-or-v1-abcdefabcdef leaked")


def test_attribution_headers_are_off_by_default_and_sent_when_set() -> None:
    key = Secret("k-123")
    assert OpenRouterSettings.from_options(BackendOptions()).headers(key) == {"Authorization": "Bearer k-123"}
    extra = {"http_referer": "https://example.org", "x_title": "My App"}
    headers = OpenRouterSettings.from_options(BackendOptions(extra=extra)).headers(key)
    assert headers["HTTP-Referer"] == "https://example.org" and headers["X-Title"] == "My App"


@pytest.mark.parametrize(
    "extra", [{"x_title": "two\nlines"}, {"http_referer": 5}, {"colour": "blue"}, {"max_history_turns": 0}]
)
def test_bad_extras_are_configuration_errors_naming_the_key(extra: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        OpenRouterSettings.from_options(BackendOptions(extra=extra))
    assert caught.value.key == next(iter(extra))


def test_the_backend_page_shows_what_the_spec_says() -> None:
    import attrs

    from mediagen.adapters.openrouter import docs

    page = Path(__file__).resolve().parents[2] / "docs" / "backends" / "openrouter.md"
    text = page.read_text(encoding="utf-8")
    assert docs.PAGE.rewrite(text) == text, "run: python -m mediagen.adapters.openrouter.docs"
    for model in SPEC.models:
        assert f"`{model.name}`" in text
    for key in attrs.fields_dict(OpenRouterSettings).keys() - {"base_url"}:  # base_url is not an extra
        assert f"`{key}`" in text, f"the Settings table lacks {key}"
