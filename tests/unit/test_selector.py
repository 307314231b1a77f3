"""BackendSelector: priority x credentials x capability x model, and never a silent switch."""

from __future__ import annotations

import datetime
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediagen.application.selector import BackendSelector
from mediagen.domain.backend import BackendSpec, Constraints, ModelSpec
from mediagen.domain.errors import InvalidRequest, MissingCredentials, NoBackendAvailable
from mediagen.domain.media import Capability as C
from mediagen.domain.media import MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret

IMAGE_BASIC = frozenset({C.TEXT_TO_IMAGE, C.CONTINUATION})
IMAGE_FULL = frozenset({C.TEXT_TO_IMAGE, C.IMAGE_EDIT, C.MULTI_IMAGE_INPUT, C.MASK, C.SEED})


def spec(name: str, *models: ModelSpec) -> BackendSpec:
    defaults: dict[MediaType, str] = {}
    for model in models:
        defaults.setdefault(model.media_type, model.name)
    return BackendSpec(
        name=name, display_name=name.title(), env_vars=(f"{name.upper()}_API_KEY",), models=models,
        default_models=defaults,
    )  # fmt: skip


ALPHA = spec("alpha", ModelSpec("a-img", MediaType.IMAGE, IMAGE_BASIC))
BETA = spec(
    "beta",
    ModelSpec("b-img", MediaType.IMAGE, IMAGE_BASIC),
    ModelSpec("b-edit", MediaType.IMAGE, IMAGE_FULL),
    ModelSpec("b-vid", MediaType.VIDEO, {C.TEXT_TO_VIDEO}),
)
GAMMA = spec("gamma", ModelSpec("g-img", MediaType.IMAGE, IMAGE_FULL), ModelSpec("g-tts", MediaType.AUDIO, {C.SPEECH}))
SPECS = (ALPHA, BETA, GAMMA)
PRIORITY = {MediaType.IMAGE: ("gamma", "alpha", "beta")}


class Keys:
    def __init__(self, keys: Mapping[str, str]) -> None:
        self._keys = keys

    def get(self, spec: BackendSpec) -> Secret | None:
        value = self._keys.get(spec.name)
        return Secret(value) if value else None


def selector(keys: Mapping[str, str], **kwargs: object) -> BackendSelector:
    return BackendSelector(SPECS, Keys(keys), priorities=PRIORITY, **kwargs)  # type: ignore[arg-type]


def image(**kwargs: object) -> MediaRequest:
    return MediaRequest(media_type=MediaType.IMAGE, prompt="a fox", **kwargs)


ALL_KEYS = {"alpha": "ka", "beta": "kb", "gamma": "kg"}


def test_priority_order_is_followed_when_every_key_is_present() -> None:
    assert [c.backend for c in selector(ALL_KEYS).candidates(image())] == ["gamma", "alpha", "beta"]


def test_backends_without_a_key_are_skipped() -> None:
    assert [c.backend for c in selector({"beta": "kb"}).candidates(image())] == ["beta"]


def test_capability_routes_a_mask_to_the_model_that_has_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    png = tmp_path / "in.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    chosen = selector({"alpha": "ka", "beta": "kb"}).candidates(image(input_images=[png], mask=png))
    assert [(c.backend, c.model) for c in chosen] == [("beta", "b-edit")]


def test_explicit_backend_without_key_names_the_missing_variable() -> None:
    with pytest.raises(MissingCredentials) as caught:
        selector({"gamma": "kg"}).candidates(image(backend="beta"))
    assert "BETA_API_KEY" in str(caught.value)
    assert "gamma" in str(caught.value)  # the alternative that would work
    assert caught.value.code == "missing_credentials"


def test_explicit_backend_lacking_the_capability_says_which(tmp_path) -> None:  # type: ignore[no-untyped-def]
    png = tmp_path / "in.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    with pytest.raises(NoBackendAvailable) as caught:
        selector(ALL_KEYS).candidates(image(backend="alpha", input_images=[png], mask=png))
    assert "mask" in str(caught.value)


def test_explicit_backend_is_the_only_candidate_so_it_is_never_switched() -> None:
    chosen = selector(ALL_KEYS).candidates(image(backend="beta"))
    assert [(c.backend, c.explicit) for c in chosen] == [("beta", True)]


def test_unknown_backend_is_an_invalid_request_listing_known_ones() -> None:
    with pytest.raises(InvalidRequest, match="alpha, beta, gamma"):
        selector(ALL_KEYS).candidates(image(backend="nope"))


def test_no_key_at_all_lists_the_env_vars_that_would_enable_each_backend() -> None:
    with pytest.raises(NoBackendAvailable) as caught:
        selector({}).candidates(image())
    text = str(caught.value)
    for var in ("ALPHA_API_KEY", "BETA_API_KEY", "GAMMA_API_KEY"):
        assert var in text
    assert caught.value.enabling_env_vars == {
        "gamma": ["GAMMA_API_KEY"], "alpha": ["ALPHA_API_KEY"], "beta": ["BETA_API_KEY"],
    }  # fmt: skip


def test_named_model_limits_auto_selection_to_backends_that_serve_it() -> None:
    assert [(c.backend, c.model) for c in selector(ALL_KEYS).candidates(image(model="b-edit"))] == [("beta", "b-edit")]


def test_unlisted_model_passes_through_only_with_an_explicit_backend() -> None:
    chosen = selector(ALL_KEYS).candidates(image(backend="alpha", model="a-img-2"))
    assert chosen[0].model == "a-img-2"
    with pytest.raises(NoBackendAvailable, match="does not offer model"):
        selector(ALL_KEYS).candidates(image(model="a-img-2"))


def test_configured_default_model_is_used_when_capable() -> None:
    chosen = selector(ALL_KEYS, default_models={"beta": {MediaType.IMAGE: "b-edit"}}).candidates(image(backend="beta"))
    assert chosen[0].model == "b-edit"


def test_strict_mode_requires_optional_capabilities() -> None:
    relaxed = [c.backend for c in selector(ALL_KEYS).candidates(image(seed=7))]
    strict = [c.backend for c in selector(ALL_KEYS, strict=True).candidates(image(seed=7))]
    assert relaxed == ["gamma", "alpha", "beta"]
    assert strict == ["gamma", "beta"]


def test_disabled_backends_are_skipped_with_the_reason() -> None:
    sel = selector(ALL_KEYS, disabled=["gamma"])
    assert [c.backend for c in sel.candidates(image())] == ["alpha", "beta"]
    assert "disabled" in {v.backend: v.reason for v in sel.explain(image())}["gamma"]


def test_explain_covers_every_backend_with_a_reason() -> None:
    verdicts = selector({"beta": "kb"}).explain(MediaRequest(media_type=MediaType.VIDEO, prompt="waves"))
    reasons = {v.backend: (v.usable, v.reason) for v in verdicts}
    assert reasons["beta"][0] is True
    assert reasons["alpha"] == (False, "does not generate video")
    assert reasons["gamma"] == (False, "does not generate video")


@given(
    keys=st.dictionaries(st.sampled_from(["alpha", "beta", "gamma"]), st.just("k")),
    mask=st.booleans(),
    seed=st.one_of(st.none(), st.integers(0, 9)),
    strict=st.booleans(),
)
def test_selector_never_returns_a_backend_lacking_key_or_capability_and_keeps_priority(
    keys: dict[str, str], mask: bool, seed: int | None, strict: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    png = tmp_path_factory.mktemp("img") / "in.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    request = image(seed=seed, **({"input_images": [png], "mask": png} if mask else {}))
    sel = selector(keys, strict=strict)
    try:
        chosen = sel.candidates(request)
    except NoBackendAvailable:
        chosen = []
    required = request.required_capabilities() | (request.optional_capabilities() if strict else frozenset())
    for candidate in chosen:
        assert candidate.backend in keys
        model = candidate.spec.model(candidate.model)
        assert model is not None and model.supports(required)
    order = [n for n in PRIORITY[MediaType.IMAGE]]
    positions = [order.index(c.backend) for c in chosen]
    assert positions == sorted(positions)
    usable = {v.backend for v in sel.explain(request) if v.usable}
    assert {c.backend for c in chosen} == usable


# --- voices: a name, not a value to adapt --------------------------------------------------------------------------

SPEAKERS = (
    spec("loud", ModelSpec("l-tts", MediaType.AUDIO, {C.SPEECH}, Constraints(voices=("alloy", "echo")))),
    spec(
        "soft",
        ModelSpec("s-tts", MediaType.AUDIO, {C.SPEECH}, Constraints(voices=("Kore",))),
        ModelSpec("s-tts-more", MediaType.AUDIO, {C.SPEECH}, Constraints(voices=("Kore", "Puck"))),
    ),
    spec("ids", ModelSpec("i-tts", MediaType.AUDIO, {C.SPEECH}, Constraints(voices=("x",), voice_id_prefixes="v_"))),
)


def speech(voice: str) -> MediaRequest:
    return MediaRequest(media_type=MediaType.AUDIO, prompt="hello", voice=voice)


def speakers() -> BackendSelector:
    keys = Keys({"loud": "k", "soft": "k", "ids": "k"})
    return BackendSelector(SPEAKERS, keys, priorities={MediaType.AUDIO: ("loud", "soft", "ids")})


def test_an_auto_selected_backend_without_the_voice_is_skipped_for_one_that_has_it() -> None:
    chosen = speakers().candidates(speech("kore"))
    assert [(c.backend, c.model) for c in chosen] == [("soft", "s-tts")]


def test_another_model_of_the_same_backend_serves_a_voice_its_default_lacks() -> None:
    assert [(c.backend, c.model) for c in speakers().candidates(speech("Puck"))] == [("soft", "s-tts-more")]


def test_a_custom_voice_id_goes_to_the_backend_that_takes_ids() -> None:
    assert [c.backend for c in speakers().candidates(speech("v_123"))] == ["ids"]


def test_an_unknown_voice_lists_each_backends_voices() -> None:
    with pytest.raises(NoBackendAvailable) as caught:
        speakers().candidates(speech("nobody"))
    assert "alloy, echo" in caught.value.reasons["loud"] and "Kore" in caught.value.reasons["soft"]


def test_a_named_backend_gets_the_voice_as_asked_so_its_adapter_can_say_what_is_valid() -> None:
    assert speakers().candidates(speech("nobody"), backend="loud")[0].model == "l-tts"


# -- models past their vendor's announced shutdown ------------------------------------------------------------------

SHUTDOWN = datetime.date(2026, 9, 24)
OLD = spec(
    "old",
    ModelSpec("o-vid", MediaType.VIDEO, {C.TEXT_TO_VIDEO}, retired_on=SHUTDOWN),
    ModelSpec("o-vid-pro", MediaType.VIDEO, {C.TEXT_TO_VIDEO, C.IMAGE_TO_VIDEO}, retired_on=SHUTDOWN),
    ModelSpec("o-vid-next", MediaType.VIDEO, {C.TEXT_TO_VIDEO}),
)
RETIRING = spec("retiring", ModelSpec("r-vid", MediaType.VIDEO, {C.TEXT_TO_VIDEO}, retired_on=SHUTDOWN))
NEW = spec("new", ModelSpec("n-vid", MediaType.VIDEO, {C.TEXT_TO_VIDEO, C.IMAGE_TO_VIDEO}))
VIDEO_PRIORITY = {MediaType.VIDEO: ("retiring", "old", "new")}


def on(day: datetime.date, **kwargs: object) -> BackendSelector:
    keys = Keys({"old": "k", "retiring": "k", "new": "k"})
    return BackendSelector(
        (OLD, RETIRING, NEW),
        keys,
        priorities=VIDEO_PRIORITY,
        today=lambda: day,
        **kwargs,  # type: ignore[arg-type]
    )


def video(**kwargs: object) -> MediaRequest:
    return MediaRequest(media_type=MediaType.VIDEO, prompt="waves", **kwargs)


def test_before_the_shutdown_a_retiring_model_is_chosen_as_usual() -> None:
    chosen = on(SHUTDOWN - datetime.timedelta(days=1)).candidates(video())
    assert [(c.backend, c.model) for c in chosen] == [("retiring", "r-vid"), ("old", "o-vid"), ("new", "n-vid")]


@pytest.mark.parametrize("day", [SHUTDOWN, SHUTDOWN + datetime.timedelta(days=66)])
def test_from_the_shutdown_auto_selection_passes_retired_models_over_saying_so(day: datetime.date) -> None:
    chosen = on(day).candidates(video())
    # "old" still has a current model; "retiring" has none, and explain says why and how to try anyway.
    assert [(c.backend, c.model) for c in chosen] == [("old", "o-vid-next"), ("new", "n-vid")]
    [verdict] = [v for v in on(day).explain(video()) if v.backend == "retiring"]
    assert not verdict.usable and verdict.reason == "r-vid retired on 2026-09-24; --backend retiring tries anyway"


def test_a_backend_whose_only_capable_models_are_retired_is_no_key_away_from_serving() -> None:
    keyless = BackendSelector((RETIRING,), Keys({}), today=lambda: SHUTDOWN)
    with pytest.raises(NoBackendAvailable) as caught:
        keyless.candidates(video())
    assert "r-vid retired on 2026-09-24" in str(caught.value)
    assert "RETIRING_API_KEY" not in str(caught.value)  # setting the key would not help, so it is not suggested


def test_naming_the_backend_or_the_model_still_reaches_a_retired_model() -> None:
    [named_backend] = on(SHUTDOWN).candidates(video(), backend="retiring")
    assert (named_backend.model, named_backend.explicit) == ("r-vid", True)
    chosen = on(SHUTDOWN).candidates(video(model="o-vid-pro"))
    assert [(c.backend, c.model) for c in chosen] == [("old", "o-vid-pro")]


def test_a_retired_configured_default_is_passed_over_by_auto_selection_only() -> None:
    configured = {"old": {MediaType.VIDEO: "o-vid-pro"}}
    assert on(SHUTDOWN, default_models=configured).candidates(video())[0].model == "o-vid-next"
    [named] = on(SHUTDOWN, default_models=configured).candidates(video(), backend="old")
    assert named.model == "o-vid-pro"


def test_a_capability_no_installed_backend_has_says_no_key_would_help() -> None:
    with pytest.raises(NoBackendAvailable) as caught:
        selector({}).candidates(MediaRequest(media_type=MediaType.AUDIO, prompt="rain", audio_kind="sound_effect"))
    assert "no installed backend can do sound_effect" in caught.value.message
    assert caught.value.enabling_env_vars == {}  # setting a key would not help, so none is suggested
