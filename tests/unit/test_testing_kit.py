"""The shipped testing kit: FakeGenerator scripts, fake specs and plugins, MemorySink, RecordingListener, import."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from mediagen.domain.backend import BackendSpec
from mediagen.domain.errors import (
    BackendError,
    ContentRejected,
    PathNotAllowed,
    RateLimited,
    TransientBackendError,
    UnsupportedParameter,
)
from mediagen.domain.media import Capability, MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.domain.sniff import sniff
from mediagen.ports.artifacts import ArtifactTarget
from mediagen.ports.continuation import ContinuationState
from mediagen.ports.generator import BackendOptions, GeneratedMedia, GenerationContext
from mediagen.ports.progress import Polling, ProgressEvent, Selected, Written
from mediagen.testing import (
    FakeGenerator,
    MemorySink,
    RecordingListener,
    StaticCredentials,
    fake_plugin,
    fake_spec,
    mp4_stub,
    png,
    wav,
)
from mediagen.testing.fakes import MAX_FAKE_SIDE, MAX_FAKE_TURNS

SPEC = fake_spec("kit")


class Sleeps:
    """A fake `sleep` that records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def ctx(model: str = "kit-image", **kwargs: object) -> GenerationContext:
    return GenerationContext(credentials=Secret("k"), model=model, timeout=30.0, **kwargs)  # type: ignore[arg-type]


def image(prompt: str = "a fox", **kwargs: Any) -> MediaRequest:
    return MediaRequest(media_type=MediaType.IMAGE, prompt=prompt, **kwargs)


async def collect(media: GeneratedMedia) -> bytes:
    return b"".join([chunk async for chunk in media.stream])


# -- FakeGenerator: latency and scripts ---------------------------------------------------------------------------


async def test_latency_is_awaited_through_the_injected_sleep_on_every_call() -> None:
    sleeps = Sleeps()
    generator = FakeGenerator(SPEC, latency=0.25, sleep=sleeps)
    for _ in range(3):
        await collect(await generator.generate(image(), ctx()))
    assert sleeps.waits == [0.25, 0.25, 0.25]


async def test_zero_latency_never_sleeps() -> None:
    sleeps = Sleeps()
    await FakeGenerator(SPEC, sleep=sleeps).generate(image(), ctx())
    assert sleeps.waits == []


def test_a_negative_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="latency"):
        FakeGenerator(SPEC, latency=-1)


async def test_the_script_is_played_in_order_then_calls_succeed() -> None:
    limited = RateLimited("slow down", retry_after=2)
    generator = FakeGenerator(SPEC, script=[limited, None, TransientBackendError("503")])
    with pytest.raises(RateLimited) as caught:
        await generator.generate(image(), ctx())
    assert caught.value is limited
    assert sniff(await collect(await generator.generate(image(), ctx()))) == "image/png"
    with pytest.raises(TransientBackendError):
        await generator.generate(image(), ctx())
    await generator.generate(image(), ctx())  # the script is exhausted: success from here on
    assert len(generator.calls) == 4


async def test_push_appends_outcomes_to_the_script() -> None:
    generator = FakeGenerator(SPEC)
    generator.push(ContentRejected("no"), None)
    with pytest.raises(ContentRejected):
        await generator.generate(image(), ctx())
    await generator.generate(image(), ctx())


async def test_calls_record_each_request_and_context_in_order() -> None:
    generator = FakeGenerator(SPEC)
    first, second = image("one"), image("two")
    context = ctx()
    await generator.generate(first, context)
    await generator.generate(second, context)
    assert generator.calls == [(first, context), (second, context)]


async def test_aclose_marks_the_generator_closed() -> None:
    generator = FakeGenerator(SPEC)
    assert not generator.closed
    await generator.aclose()
    await generator.aclose()
    assert generator.closed


# -- FakeGenerator: the media, the report, the model --------------------------------------------------------------


@pytest.mark.parametrize(
    ("media_type", "model", "mime"),
    [(MediaType.IMAGE, "kit-image", "image/png"), (MediaType.VIDEO, "kit-video", "video/mp4"),
     (MediaType.AUDIO, "kit-audio", "audio/wav")],
)  # fmt: skip
async def test_each_media_type_gives_real_media_of_that_type(media_type: MediaType, model: str, mime: str) -> None:
    media = await FakeGenerator(SPEC).generate(MediaRequest(media_type=media_type, prompt="x"), ctx(model))
    data = await collect(media)
    assert media.mime_type == mime and sniff(data) == mime
    assert media.size_hint == len(data) and media.model == model
    assert media.metadata == {"fake": True, "call": 1}


async def test_the_image_has_the_requested_size_and_an_oversized_request_is_reported_adapted() -> None:
    from PIL import Image

    generator = FakeGenerator(SPEC)
    exact = await generator.generate(image(size="40x20"), ctx())
    assert Image.open(io.BytesIO(await collect(exact))).size == (40, 20)
    assert exact.parameters.applied == {"size": "40x20"}
    big = await generator.generate(image(size=f"{MAX_FAKE_SIDE * 2}x{MAX_FAKE_SIDE}"), ctx())
    await collect(big)
    [adapted] = big.parameters.adapted
    assert adapted.name == "size" and adapted.used == f"{MAX_FAKE_SIDE}x{MAX_FAKE_SIDE // 2}"


async def test_parameters_the_model_cannot_use_are_ignored_with_a_reason() -> None:
    narrow = fake_spec("narrow", media_types=[MediaType.IMAGE], capabilities=[Capability.TEXT_TO_IMAGE])
    generator = FakeGenerator(narrow, vendor_parameters=["style"])
    media = await generator.generate(
        image(seed=3, voice="alloy", extra={"style": "ink", "made_up": 1}), ctx("narrow-image")
    )
    assert media.parameters.applied == {"extra.style": "ink"}
    reasons = {item.name: item.reason for item in media.parameters.ignored}
    assert reasons == {
        "seed": "narrow-image does not support seed",
        "voice": "voice does not apply to image requests",
        "extra.made_up": "'made_up' is not a parameter narrow knows",
    }


async def test_strict_mode_raises_before_the_script_or_the_latency_are_used() -> None:
    sleeps = Sleeps()
    generator = FakeGenerator(SPEC, latency=1.0, sleep=sleeps, script=[ContentRejected("no")])
    with pytest.raises(UnsupportedParameter) as caught:
        await generator.generate(image(voice="alloy"), ctx(strict=True))
    assert caught.value.field == "voice" and caught.value.backend == "kit"
    assert sleeps.waits == []
    with pytest.raises(ContentRejected):  # the scripted outcome is still next
        await generator.generate(image(), ctx())


async def test_an_unknown_model_or_one_of_another_media_type_is_a_backend_error() -> None:
    generator = FakeGenerator(SPEC)
    with pytest.raises(BackendError) as unknown:
        await generator.generate(image(), ctx("nope"))
    assert unknown.value.status == 404 and "kit-image" in unknown.value.message
    with pytest.raises(BackendError) as mismatch:
        await generator.generate(image(), ctx("kit-audio"))
    assert mismatch.value.status == 400


async def test_a_payload_function_replaces_the_made_media() -> None:
    generator = FakeGenerator(SPEC, payload=lambda request: (b"\xff\xd8\xff\xe0 jpeg", "image/jpeg"))
    media = await generator.generate(image(), ctx())
    assert await collect(media) == b"\xff\xd8\xff\xe0 jpeg" and media.mime_type == "image/jpeg"


async def test_video_reports_a_completed_poll() -> None:
    listener = RecordingListener()
    await FakeGenerator(SPEC).generate(
        MediaRequest(media_type=MediaType.VIDEO, prompt="waves"), ctx("kit-video", progress=listener)
    )
    assert listener.of_type(Polling) == [Polling(status="completed", percent=100.0)]


# -- FakeGenerator: continuation ----------------------------------------------------------------------------------


async def test_continuation_state_counts_turns_and_keeps_the_prompts() -> None:
    generator = FakeGenerator(SPEC)
    first = await generator.generate(image("a fox"), ctx())
    assert first.continuation == ContinuationState(kind="image", data={"turn": 1, "prompts": ["a fox"]})
    state = ContinuationState(**json.loads(json.dumps(attrs.asdict(first.continuation))))  # as a store returns it
    second = await generator.generate(
        image("at night", continue_from="kit_image_0123456789ab"), ctx(continuation=state)
    )
    assert second.continuation is not None
    assert second.continuation.data == {"turn": 2, "prompts": ["a fox", "at night"]}
    assert generator.calls[1][1].continuation == state


async def test_the_kept_history_is_bounded() -> None:
    generator = FakeGenerator(SPEC)
    state = None
    for turn in range(MAX_FAKE_TURNS + 5):
        media = await generator.generate(image(f"turn {turn}"), ctx(continuation=state))
        state = media.continuation
    assert state is not None
    assert state.data["turn"] == MAX_FAKE_TURNS + 5
    assert state.data["prompts"] == [f"turn {n}" for n in range(5, MAX_FAKE_TURNS + 5)]


async def test_continuation_can_be_switched_off_and_malformed_state_starts_over() -> None:
    assert (await FakeGenerator(SPEC, continuation=False).generate(image(), ctx())).continuation is None
    odd = ContinuationState(kind="image", data={"turn": "many", "prompts": "none"})
    media = await FakeGenerator(SPEC).generate(image("again"), ctx(continuation=odd))
    assert media.continuation is not None and media.continuation.data == {"turn": 1, "prompts": ["again"]}


# -- fake_spec and fake_plugin ------------------------------------------------------------------------------------


def test_fake_spec_declares_one_model_per_media_type_with_every_capability_by_default() -> None:
    spec = fake_spec("my-fake")
    assert isinstance(spec, BackendSpec)
    assert spec.env_vars == ("MY_FAKE_API_KEY",)
    assert spec.default_models == {
        MediaType.IMAGE: "my-fake-image", MediaType.VIDEO: "my-fake-video", MediaType.AUDIO: "my-fake-audio"
    }  # fmt: skip
    assert {Capability.MASK, Capability.MULTI_IMAGE_INPUT} <= spec.capabilities(MediaType.IMAGE)


def test_fake_spec_narrows_capabilities_and_drops_models_left_without_any() -> None:
    spec = fake_spec("n", capabilities=[Capability.TEXT_TO_IMAGE, Capability.SPEECH], env_vars=["A", "B"])
    assert [m.name for m in spec.models] == ["n-image", "n-audio"]
    assert spec.capabilities(MediaType.IMAGE) == {Capability.TEXT_TO_IMAGE}
    assert spec.env_vars == ("A", "B")


def test_fake_plugin_builds_the_given_generator_and_refuses_a_mismatched_one() -> None:
    generator = FakeGenerator(SPEC)
    plugin = fake_plugin(SPEC, generator)
    assert plugin.spec is SPEC and plugin.factory(BackendOptions()) is generator
    assert isinstance(fake_plugin(SPEC).factory(BackendOptions()), FakeGenerator)
    with pytest.raises(ValueError, match="serves 'kit'"):
        fake_plugin(fake_spec("other"), generator)


def test_static_credentials_give_wrapped_keys_by_backend_name() -> None:
    credentials = StaticCredentials({"kit": "k-123", "blank": "  "})
    assert credentials.get(SPEC) == Secret("k-123")
    assert credentials.get(fake_spec("blank")) is None and credentials.get(fake_spec("none")) is None


# -- MemorySink ---------------------------------------------------------------------------------------------------


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def target(media_type: MediaType = MediaType.IMAGE, **kwargs: object) -> ArtifactTarget:
    return ArtifactTarget(media_type=media_type, backend="kit", prompt="A Red Fox!", **kwargs)  # type: ignore[arg-type]


async def test_the_sink_keeps_the_bytes_under_a_readable_unique_name_with_the_sniffed_extension() -> None:
    sink = MemorySink()
    data = png(4, 4)
    seen: list[int] = []
    first = await sink.write(
        stream(data[:10], b"", data[10:]), target(), mime_type="image/whatever", on_bytes=seen.append
    )
    second = await sink.write(stream(data), target(), mime_type="image/png")
    assert first.path == Path("memory/0001_kit_a-red-fox.png") and second.path.name.startswith("0002_")
    assert first.mime_type == "image/png" and first.size_bytes == len(data)
    assert sink.written[first.path] == data and sink.artifacts == [first, second]
    assert seen == [10, len(data)]
    assert first.sha256 == hashlib.sha256(data).hexdigest()


async def test_a_named_file_is_never_overwritten_unless_asked(tmp_path: Path) -> None:
    sink = MemorySink()
    named = target(output_dir=tmp_path, filename="fox")
    made = await sink.write(stream(png(2, 2)), named, mime_type="image/png")
    assert made.path == tmp_path / "fox.png"
    with pytest.raises(PathNotAllowed):
        await sink.write(stream(png(3, 3)), named, mime_type="image/png")
    replaced = await sink.write(stream(png(3, 3)), attrs.evolve(named, overwrite=True), mime_type="image/png")
    assert sink.written[replaced.path] == png(3, 3)


@pytest.mark.parametrize(
    ("media_type", "data"),
    [(MediaType.IMAGE, b""), (MediaType.IMAGE, b"<html>error</html>"), (MediaType.VIDEO, png(2, 2)),
     (MediaType.AUDIO, mp4_stub())],
)  # fmt: skip
async def test_content_that_is_not_the_requested_media_is_refused_and_not_kept(
    media_type: MediaType, data: bytes
) -> None:
    sink = MemorySink()
    with pytest.raises(BackendError):
        await sink.write(stream(data), target(media_type), mime_type="image/png")
    assert sink.written == {} and sink.artifacts == []


async def test_the_size_cap_stops_the_stream_and_keeps_nothing() -> None:
    sink = MemorySink(max_bytes=100)
    with pytest.raises(BackendError, match="cap of 100 bytes"):
        await sink.write(stream(wav(0.1)), target(MediaType.AUDIO), mime_type="audio/wav")
    assert sink.written == {}


async def test_a_stream_that_fails_midway_leaves_nothing() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield png(2, 2)[:8]
        raise TransientBackendError("connection reset")

    sink = MemorySink()
    with pytest.raises(TransientBackendError):
        await sink.write(broken(), target(), mime_type="image/png")
    assert sink.written == {}


async def test_raw_pcm_is_accepted_when_claimed() -> None:
    made = await MemorySink().write(stream(b"\x00\x01" * 50), target(MediaType.AUDIO), mime_type="audio/pcm")
    assert made.mime_type == "audio/pcm" and made.path.suffix == ".pcm"


# -- RecordingListener --------------------------------------------------------------------------------------------


def test_the_listener_keeps_events_in_order_and_filters_by_type() -> None:
    listener = RecordingListener()
    events: list[ProgressEvent] = [
        Selected(backend="kit", model="kit-image", explicit=False),
        Polling(backend="kit", status="queued"),
        Written(backend="kit", path=Path("x.png"), size_bytes=3),
        Polling(backend="kit", status="done", percent=100.0),
    ]
    for event in events:
        listener(event)
    assert listener.events == events
    assert listener.of_type(Polling) == [events[1], events[3]]
    listener.clear()
    assert listener.events == []


# -- importing the kit --------------------------------------------------------------------------------------------


def test_importing_the_kit_loads_neither_pytest_nor_hypothesis_until_a_strategy_is_asked_for() -> None:
    script = (
        "import sys, json\n"
        "import mediagen.testing as kit\n"
        "before = sorted(m for m in ('pytest', 'hypothesis', '_pytest') if m in sys.modules)\n"
        "kit.FakeGenerator, kit.MemorySink, kit.RecordingListener, kit.fake_spec\n"
        "still = sorted(m for m in ('pytest', 'hypothesis', '_pytest') if m in sys.modules)\n"
        "kit.valid_requests\n"
        "print(json.dumps([before, still, 'hypothesis' in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    before, still, loaded = json.loads(done.stdout)
    assert before == [] and still == []
    assert loaded, "asking for a strategy should load hypothesis"


def test_asking_the_kit_for_an_unknown_name_is_an_attribute_error() -> None:
    import mediagen.testing as kit

    with pytest.raises(AttributeError, match="no_such_thing"):
        kit.no_such_thing  # noqa: B018
    assert "valid_requests" in dir(kit)
