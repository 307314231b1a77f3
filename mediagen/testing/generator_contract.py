"""The contract every `MediaGenerator` must meet, shipped as a pytest class to subclass.

Subclass `MediaGeneratorContract` and supply one async fixture, `generator`, yielding your generator
(pointed at a fake of your vendor's API on 127.0.0.1, never the real one)::

    import pytest
    from mediagen.ports.generator import BackendOptions
    from mediagen.testing.generator_contract import MediaGeneratorContract
    from acme_mediagen import PLUGIN

    class TestAcmeGenerator(MediaGeneratorContract):
        @pytest.fixture  # @pytest_asyncio.fixture when pytest-asyncio runs in strict mode
        async def generator(self, acme_fake_server):
            generator = PLUGIN.factory(BackendOptions(base_url=acme_fake_server.url))
            yield generator
            await generator.aclose()

The suite generates one request per media type of the spec, with that type's default model (see
`default_requests`). Override the `requests` fixture to exercise other requests, `api_key` for a key your
fake server accepts, or `make_context` to build the `GenerationContext` yourself. `aclose()` may be called
twice: once by the suite, once by your fixture.

It also points the generator at broken endpoints on 127.0.0.1 (a port that refuses connections, a server that
resets the connection in the middle of its answer) and checks the failure is a mediagen error, not a library's
exception or `internal_error`. It builds those generators with the `generator_for` fixture: by default the
installed backend plugin of the spec's name (built in, or a `mediagen.backends` entry point) with that base URL;
override it when your plugin is not installed where the suite runs::

        @pytest.fixture
        def generator_for(self):
            return lambda base_url: PLUGIN.factory(BackendOptions(base_url=base_url))
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import socket
import struct
import traceback
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

import attrs
import pytest

from mediagen.domain.backend import BackendSpec, ModelSpec
from mediagen.domain.errors import MediaGenError
from mediagen.domain.media import AudioKind, Capability, MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.domain.sniff import SNIFF_BYTES, media_type_of, sniff
from mediagen.ports.continuation import ContinuationState
from mediagen.ports.generator import (
    BackendOptions,
    GeneratedMedia,
    GenerationContext,
    ImageBatchGenerator,
    MediaGenerator,
)
from mediagen.ports.progress import (
    Downloading,
    Failed,
    FellBack,
    Polling,
    ProgressEvent,
    Retried,
    Selected,
    Submitted,
    Throttled,
    Written,
)

__all__ = ["ContextFactory", "MediaGeneratorContract", "default_requests", "mime_compatible"]

#: Seconds allowed beyond the context's own timeout before a generation counts as hung.
GRACE_SECONDS = 10.0
#: A model name no backend has, to see how a generator fails.
UNKNOWN_MODEL = "mediagen-contract-no-such-model"

_EVENT_TYPES = (Selected, Submitted, Polling, Downloading, Written, Retried, Throttled, FellBack, Failed)
_PRODUCING = {
    MediaType.IMAGE: frozenset({Capability.TEXT_TO_IMAGE, Capability.IMAGE_EDIT}),
    MediaType.VIDEO: frozenset(
        {Capability.TEXT_TO_VIDEO, Capability.IMAGE_TO_VIDEO, Capability.VIDEO_REMIX, Capability.VIDEO_EXTEND}
    ),
    MediaType.AUDIO: frozenset(Capability.for_audio_kind(kind) for kind in AudioKind),
}
_PCM = frozenset({"audio/pcm", "audio/l16", "audio/l24", "audio/x-pcm", "audio/raw"})
# Other names vendors use for the types `sniff` reports.
_ALIASES = {
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/mp3": "audio/mpeg",
    "audio/mpeg3": "audio/mpeg",
    "audio/x-mpeg": "audio/mpeg",
    "audio/x-flac": "audio/flac",
    "audio/x-aac": "audio/aac",
    "audio/aacp": "audio/aac",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
}
# An Ogg stream is claimed as audio/ogg or audio/opus whichever codec it holds; ISO-BMFF audio as either mp4.
_FAMILIES = ({"audio/ogg", "audio/opus"}, {"audio/mp4", "video/mp4"}, {"audio/aac", "audio/mp4"})


class ContextFactory(Protocol):
    """What the `make_context` fixture returns."""

    def __call__(self, model: str, continuation: ContinuationState | None = None) -> GenerationContext: ...


def mime_compatible(found: str, claimed: str) -> bool:
    """Whether the type the bytes prove (`found`) and the type the generator claimed name the same format."""
    base = claimed.split(";", 1)[0].strip().lower()
    base = _ALIASES.get(base, base)
    return base == found or any(found in family and base in family for family in _FAMILIES)


def _producing_model(spec: BackendSpec, media_type: MediaType, required: frozenset[Capability]) -> ModelSpec | None:
    default = spec.default_models.get(media_type)
    model = spec.model(default) if default is not None else None
    if model is not None and model.supports(required):
        return model
    return spec.model_for(media_type, required)


def default_requests(spec: BackendSpec) -> list[MediaRequest]:
    """One text-only request per media type the spec's default model can serve, with a few parameters set."""
    requests: list[MediaRequest] = []
    image = _producing_model(spec, MediaType.IMAGE, frozenset({Capability.TEXT_TO_IMAGE}))
    if image is not None:
        requests.append(
            MediaRequest(
                media_type=MediaType.IMAGE,
                prompt="a red fox sitting in fresh snow, watercolour",
                model=image.name,
                aspect_ratio=image.constraints.aspect_ratios[0] if image.constraints.aspect_ratios else "1:1",
                seed=7,
            )
        )
    video = _producing_model(spec, MediaType.VIDEO, frozenset({Capability.TEXT_TO_VIDEO}))
    if video is not None:
        durations = video.constraints.durations
        requests.append(
            MediaRequest(
                media_type=MediaType.VIDEO,
                prompt="slow waves rolling onto a beach at dusk",
                model=video.name,
                duration=durations[0] if durations else 4,
                aspect_ratio=video.constraints.aspect_ratios[0] if video.constraints.aspect_ratios else "16:9",
            )
        )
    for kind in (AudioKind.SPEECH, AudioKind.SOUND_EFFECT, AudioKind.MUSIC, AudioKind.VOICE_DESIGN):
        audio = _producing_model(spec, MediaType.AUDIO, frozenset({Capability.for_audio_kind(kind)}))
        if audio is not None:
            voices = audio.constraints.voices
            requests.append(
                MediaRequest(
                    media_type=MediaType.AUDIO,
                    audio_kind=kind,
                    prompt="Hello from the mediagen contract suite.",
                    model=audio.name,
                    voice=voices[0] if voices and kind is AudioKind.SPEECH else None,
                )
            )
            break
    return requests


def _model_for(spec: BackendSpec, request: MediaRequest) -> str:
    if request.model is not None:
        return request.model
    model = _producing_model(spec, request.media_type, request.required_capabilities())
    if model is None:
        pytest.fail(f"{spec.name} declares no {request.media_type.value} model that serves {request!r}")
    return model.name


async def _generate(generator: MediaGenerator, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
    """Call the generator; anything but a MediaGenError escaping, or a hang, fails the test."""
    try:
        media = await asyncio.wait_for(generator.generate(request, ctx), ctx.timeout + GRACE_SECONDS)
    except MediaGenError:
        raise
    except asyncio.TimeoutError:
        pytest.fail(f"generate() did not return within the context's timeout of {ctx.timeout:g} s")
    except Exception as error:
        pytest.fail(
            f"generate() raised {type(error).__name__}: {error}; translate vendor and library errors into "
            "mediagen.domain.errors types (BackendError, TransientBackendError, RateLimited, ...)"
        )
    assert isinstance(media, GeneratedMedia), f"generate() must return GeneratedMedia, not {type(media).__name__}"
    return media


async def _collect(media: GeneratedMedia) -> bytes:
    """The whole stream; each chunk must be bytes, and only MediaGenErrors may interrupt it."""
    data = bytearray()
    try:
        async for chunk in media.stream:
            assert isinstance(chunk, bytes), f"the stream must yield bytes, not {type(chunk).__name__}"
            data += chunk
    except MediaGenError:
        raise
    except Exception as error:
        if isinstance(error, AssertionError):
            raise
        pytest.fail(f"reading the stream raised {type(error).__name__}: {error}; raise a MediaGenError instead")
    return bytes(data)


def _requests_or_skip(requests: Sequence[MediaRequest]) -> Sequence[MediaRequest]:
    if not requests:
        pytest.skip("no request to exercise: override the `requests` fixture for this generator's models")
    return requests


def _continuation_id(spec: BackendSpec, state: ContinuationState) -> str:
    vendor_id = state.data.get("vendor_id")
    if state.kind == "vendor_id" and isinstance(vendor_id, str) and vendor_id:
        return f"{spec.name}:{vendor_id}"
    kind = re.sub(r"[^a-z0-9-]+", "-", state.kind.lower()).strip("-") or "state"
    return f"{spec.name}_{kind}_{secrets.token_hex(6)}"


@contextlib.asynccontextmanager
async def refusing_endpoint() -> AsyncIterator[str]:
    """A base URL on 127.0.0.1 whose port refuses connections (bound, never listening, so no one else takes it)."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{holder.getsockname()[1]}"
    finally:
        holder.close()


@contextlib.asynccontextmanager
async def resetting_endpoint() -> AsyncIterator[str]:
    """A base URL on 127.0.0.1 whose server reads a request, starts a 200 answer promising 100000 bytes, sends a
    few, then resets the connection."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
                b'{"data": [{"b64_json": "iVBORw0KGgo'
            )
            await writer.drain()
        sock = writer.get_extra_info("socket")
        if sock is not None:  # linger 0: close() sends a reset, not an orderly end
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


_BROKEN_ENDPOINTS = {"connection refused": refusing_endpoint, "reset mid-answer": resetting_endpoint}


class MediaGeneratorContract:
    """Behaviour shared by every media generator; subclass it and provide the `generator` fixture."""

    @pytest.fixture
    def api_key(self) -> str:
        """The key handed to the generator; the suite checks it never shows up in what comes back."""
        return f"mediagen-contract-{secrets.token_hex(12)}"

    @pytest.fixture
    def make_context(self, api_key: str) -> ContextFactory:
        def make(model: str, continuation: ContinuationState | None = None) -> GenerationContext:
            return GenerationContext(credentials=Secret(api_key), model=model, timeout=120.0, continuation=continuation)

        return make

    @pytest.fixture
    def requests(self, generator: MediaGenerator) -> Sequence[MediaRequest]:
        return default_requests(generator.spec)

    @pytest.fixture
    def generator_for(self, generator: MediaGenerator) -> Callable[[str], MediaGenerator] | None:
        """Builds the generator pointed at another base URL (the suite's broken endpoints); None for a generator
        that reaches no endpoint (an in-memory fake), which skips the transport checks."""
        from mediagen.adapters.plugins import discover_plugins

        name = generator.spec.name
        plugin = next((p for p in discover_plugins() if p.spec.name == name), None)
        if plugin is None:
            pytest.fail(
                f"no installed backend plugin is named {name!r}: override the `generator_for` fixture to build "
                "your generator for a base URL"
            )
        return lambda base_url: plugin.factory(BackendOptions(base_url=base_url))

    # -- the spec --------------------------------------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_spec_is_a_valid_backend_spec_with_existing_default_models(self, generator: MediaGenerator) -> None:
        spec = generator.spec
        assert isinstance(spec, BackendSpec), f"spec must be a BackendSpec, not {type(spec).__name__}"
        assert spec.models, f"{spec.name} declares no model"
        names = [model.name for model in spec.models]
        assert len(names) == len(set(names)), f"{spec.name} declares a model name twice: {names}"
        assert spec.env_vars, f"{spec.name} names no env var for its key"
        for media_type in spec.media_types:
            default = spec.default_models.get(media_type)
            assert default is not None, f"{spec.name} has {media_type.value} models but no default one"
        for media_type, name in spec.default_models.items():
            model = spec.model(name)
            assert model is not None, f"default {media_type.value} model {name!r} is not among the models"
            assert model.media_type is media_type, f"default {media_type.value} model {name!r} makes {model.media_type}"
        for model in spec.models:
            assert model.capabilities & _PRODUCING[model.media_type], (
                f"model {model.name!r} declares no capability that produces {model.media_type.value}"
            )
        assert attrs.evolve(spec) == spec  # every field passes the spec's validators again

    # -- each generation -------------------------------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_generated_bytes_are_the_media_type_and_format_claimed(
        self, generator: MediaGenerator, make_context: ContextFactory, requests: Sequence[MediaRequest]
    ) -> None:
        for request in _requests_or_skip(requests):
            media = await _generate(generator, request, make_context(_model_for(generator.spec, request)))
            data = await _collect(media)
            what = f"{request.media_type.value} from {media.model}"
            assert data, f"the stream of the {what} was empty"
            found = sniff(data[:SNIFF_BYTES])
            claimed = media.mime_type.split(";", 1)[0].strip().lower()
            if claimed in _PCM and request.media_type is MediaType.AUDIO:
                continue  # raw PCM has no header to check; the sink trusts the claim
            assert found is not None, f"the {what} starts with {data[:12]!r}, which is no known media format"
            assert media_type_of(found) is request.media_type, f"a {request.media_type.value} request gave {found}"
            assert mime_compatible(found, media.mime_type), (
                f"mime_type says {media.mime_type} but the bytes are {found}"
            )
            if media.size_hint is not None:
                assert media.size_hint == len(data), f"size_hint {media.size_hint} but {len(data)} bytes came"

    @pytest.mark.asyncio
    async def test_a_model_making_several_images_per_call_answers_n_distinct_ones_from_one_call(
        self, generator: MediaGenerator, make_context: ContextFactory, requests: Sequence[MediaRequest]
    ) -> None:
        """Where the spec says a model makes several images in one call (`images_per_call`), the generator offers
        `generate_images`, and one call gives that many distinct images, each what it claims to be."""
        several = [m for m in generator.spec.models_for(MediaType.IMAGE) if m.constraints.images_per_call > 1]
        if not several:
            pytest.skip(f"{generator.spec.name} declares no model making several images per call")
        assert isinstance(generator, ImageBatchGenerator), (
            f"{generator.spec.name} declares models making several images per call but has no generate_images"
        )
        base = next((r for r in requests if r.media_type is MediaType.IMAGE), None)
        for model in several:
            if not model.supports(frozenset({Capability.TEXT_TO_IMAGE})):
                continue
            n = min(3, model.constraints.images_per_call)
            request = attrs.evolve(base, model=model.name, n=n) if base is not None else MediaRequest(
                media_type=MediaType.IMAGE, prompt="a red fox sitting in fresh snow", model=model.name, n=n
            )  # fmt: skip
            if not model.supports(request.required_capabilities()):
                request = MediaRequest(media_type=MediaType.IMAGE, prompt=request.prompt, model=model.name, n=n)
            ctx = make_context(model.name)
            try:
                made = await asyncio.wait_for(generator.generate_images(request, ctx), ctx.timeout + GRACE_SECONDS)
            except MediaGenError:
                raise
            except Exception as error:
                pytest.fail(f"generate_images() raised {type(error).__name__}: {error}; raise a MediaGenError")
            assert len(made) == n, f"{model.name}: {n} images asked, {len(made)} answered"
            datas = []
            for media in made:
                assert isinstance(media, GeneratedMedia), f"{model.name}: an image came back as {media!r}"
                data = await _collect(media)
                found = sniff(data[:SNIFF_BYTES])
                assert found is not None and media_type_of(found) is MediaType.IMAGE, f"{model.name} gave {found}"
                assert mime_compatible(found, media.mime_type), f"{media.mime_type} claimed, {found} found"
                datas.append(data)
            assert len(set(datas)) == n, f"{model.name}: the {n} images of one call are not all different"

    @pytest.mark.asyncio
    async def test_the_result_names_the_model_the_context_asked_for(
        self, generator: MediaGenerator, make_context: ContextFactory, requests: Sequence[MediaRequest]
    ) -> None:
        for request in _requests_or_skip(requests):
            ctx = make_context(_model_for(generator.spec, request))
            media = await _generate(generator, request, ctx)
            await _collect(media)
            assert media.model == ctx.model, f"asked for model {ctx.model!r}, the result says {media.model!r}"

    @pytest.mark.asyncio
    async def test_every_set_parameter_is_applied_adapted_or_ignored_with_a_reason(
        self, generator: MediaGenerator, make_context: ContextFactory, requests: Sequence[MediaRequest]
    ) -> None:
        for request in _requests_or_skip(requests):
            media = await _generate(generator, request, make_context(_model_for(generator.spec, request)))
            await _collect(media)
            report = media.parameters
            missing = set(request.set_parameters()) - report.accounted()
            assert not missing, f"set but not reported applied, adapted or ignored: {sorted(missing)}"
            applied, adapted, ignored = set(report.applied), {a.name for a in report.adapted}, report.ignored
            ignored_names = {i.name for i in ignored}
            twice = (applied & adapted) | (applied & ignored_names) | (adapted & ignored_names)
            assert not twice, f"reported in more than one of applied/adapted/ignored: {sorted(twice)}"
            for item in ignored:
                assert item.reason.strip(), f"{item.name} is ignored without a reason"

    @pytest.mark.asyncio
    async def test_continuation_state_is_plain_json_data_that_feeds_back(
        self, generator: MediaGenerator, make_context: ContextFactory, requests: Sequence[MediaRequest]
    ) -> None:
        spec = generator.spec
        returned = 0
        for request in _requests_or_skip(requests):
            model = _model_for(spec, request)
            media = await _generate(generator, request, make_context(model))
            await _collect(media)
            state = media.continuation
            if state is None:
                continue
            returned += 1
            assert isinstance(state, ContinuationState), f"continuation must be ContinuationState, not {type(state)}"
            assert isinstance(state.kind, str) and state.kind, "a continuation state needs a non-empty kind"
            assert state.blob is None or isinstance(state.blob, bytes), "blob must be bytes or None"
            try:
                text = json.dumps(dict(state.data), allow_nan=False)
            except (TypeError, ValueError) as error:
                pytest.fail(f"continuation data is not plain JSON ({error}); keep SDK objects out of it")
            data = json.loads(text)
            assert data == dict(state.data), "continuation data changes in a JSON round trip (tuples? non-str keys?)"
            restored = ContinuationState(kind=state.kind, data=data, blob=state.blob)
            # A follow-up turn is a prompt alone: extensions and remixes take no new input images.
            follow = attrs.evolve(
                request,
                prompt="the same scene, now at night",
                input_images=(),
                mask=None,
                continue_from=_continuation_id(spec, state),
            )
            again = await _generate(generator, follow, make_context(model, continuation=restored))
            data_again = await _collect(again)
            found = sniff(data_again[:SNIFF_BYTES])
            claimed = again.mime_type.split(";", 1)[0].strip().lower()
            assert data_again, "continuing gave an empty stream"
            assert claimed in _PCM or (found is not None and media_type_of(found) is request.media_type), (
                f"continuing a {request.media_type.value} gave {found or 'unrecognised data'}"
            )
        if not returned:
            pytest.skip("the generator returned no continuation state for these requests")

    @pytest.mark.asyncio
    async def test_the_api_key_never_appears_in_the_result(
        self, generator: MediaGenerator, make_context: ContextFactory, requests: Sequence[MediaRequest]
    ) -> None:
        for request in _requests_or_skip(requests):
            ctx = make_context(_model_for(generator.spec, request))
            key = ctx.credentials.reveal()
            media = await _generate(generator, request, ctx)
            await _collect(media)
            shown: dict[str, Any] = {
                "repr(result)": repr(media),
                "metadata": repr(dict(media.metadata)),
                "parameters": repr(media.parameters),
                "continuation": repr(media.continuation),
            }
            for where, text in shown.items():
                assert key not in text, f"the API key appears in {where}"
            if media.continuation is not None and media.continuation.blob is not None:
                assert key.encode() not in media.continuation.blob, "the API key appears in the continuation blob"

    @pytest.mark.asyncio
    async def test_progress_and_job_reports_are_well_formed(
        self, generator: MediaGenerator, make_context: ContextFactory, requests: Sequence[MediaRequest]
    ) -> None:
        events: list[ProgressEvent] = []
        jobs: list[str] = []

        async def job_started(job_id: str) -> None:
            jobs.append(job_id)

        for request in _requests_or_skip(requests):
            ctx = attrs.evolve(
                make_context(_model_for(generator.spec, request)), progress=events.append, job_started=job_started
            )
            await _collect(await _generate(generator, request, ctx))
        for event in events:
            assert isinstance(event, _EVENT_TYPES), f"progress got {event!r}, not a mediagen.ports.progress event"
        for job_id in jobs:
            assert isinstance(job_id, str) and job_id.strip(), f"job_started got {job_id!r}, not a vendor job id"

    # -- failures and shutdown -------------------------------------------------------------------------------------

    @pytest.mark.asyncio
    async def test_an_unknown_model_raises_only_a_mediagen_error_without_the_key(
        self, generator: MediaGenerator, make_context: ContextFactory, requests: Sequence[MediaRequest]
    ) -> None:
        request = _requests_or_skip(requests)[0]
        ctx = make_context(UNKNOWN_MODEL)
        failure: MediaGenError | None = None
        try:
            media = await _generate(generator, request, ctx)
            await _collect(media)
        except MediaGenError as error:
            failure = error
        if failure is None:  # a vendor that serves any name must at least say which model it was asked for
            assert media.model == UNKNOWN_MODEL, f"asked for {UNKNOWN_MODEL!r}, the result says {media.model!r}"
            return
        key = ctx.credentials.reveal()
        assert key not in str(failure) and key not in repr(failure.to_dict()), "the API key appears in the error"
        # --debug and logging print the whole chain: raise the typed error `from None` if the vendor's may quote it.
        chain = "".join(traceback.format_exception(failure))
        assert key not in chain, "the API key appears in the error's traceback (its cause or context)"
        assert failure.code and failure.message.strip(), "the error needs a code and a message"

    @pytest.mark.asyncio
    @pytest.mark.parametrize("failure", list(_BROKEN_ENDPOINTS))
    async def test_a_transport_failure_is_a_mediagen_error_not_an_internal_error(
        self,
        generator_for: Callable[[str], MediaGenerator] | None,
        make_context: ContextFactory,
        requests: Sequence[MediaRequest],
        failure: str,
    ) -> None:
        if generator_for is None:
            pytest.skip("this generator reaches no endpoint")
        async with _BROKEN_ENDPOINTS[failure]() as base_url:
            broken = generator_for(base_url)
            try:
                for request in _requests_or_skip(requests):
                    ctx = make_context(_model_for(broken.spec, request))
                    with pytest.raises(MediaGenError) as caught:
                        await _collect(await _generate(broken, request, ctx))
                    error = caught.value
                    assert error.code != "internal_error", f"{failure} surfaced as internal_error: {error.message}"
                    assert error.message.strip() and ctx.credentials.reveal() not in str(error)
            finally:
                await broken.aclose()

    @pytest.mark.asyncio
    async def test_aclose_can_be_called_after_generating_and_again(
        self, generator: MediaGenerator, make_context: ContextFactory, requests: Sequence[MediaRequest]
    ) -> None:
        for request in requests[:1]:
            await _collect(await _generate(generator, request, make_context(_model_for(generator.spec, request))))
        for attempt in ("first", "second"):
            try:
                await generator.aclose()
            except Exception as error:
                pytest.fail(f"the {attempt} aclose() raised {type(error).__name__}: {error}; make it idempotent")
