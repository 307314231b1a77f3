"""In-memory fakes of the ports: a scriptable generator, a spec builder, credentials, a sink and a listener.

They satisfy the same protocols as the real adapters, so a service under test cannot tell the difference::

    spec = fake_spec("alpha")
    generator = FakeGenerator(spec, script=[RateLimited("slow down", retry_after=1), None])
    plugin = fake_plugin(spec, generator)   # hand to BackendRegistry / override Container.plugins
"""

from __future__ import annotations

import asyncio
import hashlib
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from mediagen.adapters.credentials.env import StaticCredentialSource
from mediagen.adapters.sinks.naming import safe_filename, slugify
from mediagen.domain.backend import BackendSpec, Constraints, ModelSpec
from mediagen.domain.errors import BackendError, ContentRejected, FileExists, MediaGenError, UnsupportedParameter
from mediagen.domain.media import Capability, MediaType
from mediagen.domain.request import AspectRatio, MediaRequest, Size
from mediagen.domain.result import Adapted, Artifact, Ignored, ParameterReport
from mediagen.domain.sniff import SNIFF_BYTES, extension_for, media_type_of, sniff
from mediagen.ports.artifacts import ArtifactTarget
from mediagen.ports.continuation import ContinuationState
from mediagen.ports.generator import BackendOptions, BackendPlugin, GeneratedMedia, GenerationContext, MediaGenerator
from mediagen.ports.progress import Polling, ProgressEvent
from mediagen.testing.media import mp4_stub, png, wav

__all__ = [
    "FakeGenerator",
    "MemorySink",
    "RecordingListener",
    "StaticCredentials",
    "fake_plugin",
    "fake_spec",
]

#: Keys by backend name; `get(spec)` returns a `Secret` (or None). The same class the sandbox mode uses.
StaticCredentials = StaticCredentialSource

#: Longest side of a fake image; a larger requested size is reported adapted down to it.
MAX_FAKE_SIDE: Final = 4096
#: Longest fake audio, in seconds; a longer requested duration is reported adapted down to it.
MAX_FAKE_AUDIO_SECONDS: Final = 60.0
#: Side of a fake image when the request names neither size nor aspect ratio (the long side otherwise).
DEFAULT_FAKE_SIDE: Final = 64
#: Prompts kept in a fake continuation state: enough to see a conversation, bounded like a real history.
MAX_FAKE_TURNS: Final = 20

_PRODUCED: Final = {
    MediaType.IMAGE: ("png", "image/png"),
    MediaType.VIDEO: ("mp4", "video/mp4"),
    MediaType.AUDIO: ("wav", "audio/wav"),
}
_IMAGE_VIDEO: Final = frozenset({MediaType.IMAGE, MediaType.VIDEO})
_AUDIO: Final = frozenset({MediaType.AUDIO})
_ALL: Final = frozenset(MediaType)
# Which requests each parameter means something for.
_APPLIES_TO: Final[Mapping[str, frozenset[MediaType]]] = {
    "aspect_ratio": _IMAGE_VIDEO,
    "size": _IMAGE_VIDEO,
    "quality": _IMAGE_VIDEO,
    "background": frozenset({MediaType.IMAGE}),
    "duration": frozenset({MediaType.VIDEO, MediaType.AUDIO}),
    "seed": _ALL,
    "negative_prompt": _IMAGE_VIDEO,
    "voice": _AUDIO,
    "instructions": _AUDIO,
    "speed": _AUDIO,
    "language": _AUDIO,
    "audio_format": _AUDIO,
    "output_format": _IMAGE_VIDEO,
    "input_images": _IMAGE_VIDEO,
    "mask": frozenset({MediaType.IMAGE}),
    "input_audio": _AUDIO,
}
_CONSTRAINT_OF: Final = {
    "aspect_ratio": "aspect_ratios",
    "size": "sizes",
    "quality": "qualities",
    "duration": "durations",
    "voice": "voices",
    "audio_format": "audio_formats",
    "output_format": "output_formats",
}

_IMAGE_CAPABILITIES: Final = frozenset(
    {
        Capability.TEXT_TO_IMAGE,
        Capability.IMAGE_EDIT,
        Capability.MULTI_IMAGE_INPUT,
        Capability.MASK,
        Capability.REFERENCE_IMAGES,
        Capability.CONTINUATION,
        Capability.SEED,
        Capability.NEGATIVE_PROMPT,
    }
)
_VIDEO_CAPABILITIES: Final = frozenset(
    {
        Capability.TEXT_TO_VIDEO,
        Capability.IMAGE_TO_VIDEO,
        Capability.VIDEO_REMIX,
        Capability.VIDEO_EXTEND,
        Capability.LAST_FRAME,
        Capability.REFERENCE_IMAGES,
        Capability.CONTINUATION,
        Capability.SEED,
        Capability.NEGATIVE_PROMPT,
    }
)
_AUDIO_CAPABILITIES: Final = frozenset(
    {
        Capability.SPEECH,
        Capability.MUSIC,
        Capability.SOUND_EFFECT,
        Capability.VOICE_CONVERSION,
        Capability.AUDIO_ISOLATION,
        Capability.VOICE_DESIGN,
        Capability.VOICE_CLONE,
        Capability.DUBBING,
        Capability.CONTINUATION,
        Capability.SEED,
    }
)


def _default_models(name: str) -> tuple[ModelSpec, ...]:
    return (
        ModelSpec(
            f"{name}-image",
            MediaType.IMAGE,
            _IMAGE_CAPABILITIES,
            Constraints(output_formats=("png",)),
            "fake images: PNG gradients of the requested size",
        ),
        ModelSpec(
            f"{name}-video",
            MediaType.VIDEO,
            _VIDEO_CAPABILITIES,
            Constraints(output_formats=("mp4",)),
            "fake video: an MP4 container stub",
        ),
        ModelSpec(
            f"{name}-audio",
            MediaType.AUDIO,
            _AUDIO_CAPABILITIES,
            Constraints(audio_formats=("wav",)),
            "fake audio: a WAV sine tone",
        ),
    )


def fake_spec(
    name: str = "fake",
    *,
    media_types: Iterable[MediaType] = tuple(MediaType),
    capabilities: Iterable[Capability] | None = None,
    env_vars: Sequence[str] | None = None,
    models: Sequence[ModelSpec] | None = None,
    display_name: str | None = None,
    images_per_call: int = 1,
) -> BackendSpec:
    """A valid BackendSpec: models `{name}-image`, `-video`, `-audio` with every capability, unless narrowed.

    `capabilities` keeps only those capabilities on each model, and drops models left with none; the first
    remaining model of each media type is its default. `env_vars` defaults to `{NAME}_API_KEY`. `images_per_call`
    is how many images the default image model makes in one call (FakeGenerator.generate_images).
    """
    wanted = frozenset(media_types)
    chosen = [m for m in (_default_models(name) if models is None else models) if m.media_type in wanted]
    if models is None and images_per_call != 1:
        chosen = [
            attrs.evolve(m, constraints=attrs.evolve(m.constraints, images_per_call=images_per_call))
            if m.media_type is MediaType.IMAGE
            else m
            for m in chosen
        ]
    if capabilities is not None:
        keep = frozenset(capabilities)
        narrowed = (
            ModelSpec(m.name, m.media_type, m.capabilities & keep, m.constraints, m.description) for m in chosen
        )
        chosen = [m for m in narrowed if m.capabilities]
    defaults: dict[MediaType, str] = {}
    for model in chosen:
        defaults.setdefault(model.media_type, model.name)
    variable = name.upper().replace("-", "_") + "_API_KEY"
    return BackendSpec(
        name=name,
        display_name=display_name if display_name is not None else f"Fake {name}",
        env_vars=tuple(env_vars) if env_vars is not None else (variable,),
        models=tuple(chosen),
        default_models=defaults,
    )


async def _drain(stream: AsyncIterator[bytes]) -> None:
    async for _ in stream:
        pass


async def _chunks(data: bytes, pieces: int = 4) -> AsyncIterator[bytes]:
    step = max(1, -(-len(data) // pieces))
    for start in range(0, len(data), step):
        yield data[start : start + step]


def _bounded_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, MAX_FAKE_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _from_ratio(ratio: AspectRatio) -> tuple[int, int]:
    if ratio.width >= ratio.height:
        return DEFAULT_FAKE_SIDE, max(1, round(DEFAULT_FAKE_SIDE * ratio.height / ratio.width))
    return max(1, round(DEFAULT_FAKE_SIDE * ratio.width / ratio.height)), DEFAULT_FAKE_SIDE


class FakeGenerator:
    """A MediaGenerator that makes real, small media after a scripted delay, failure or success.

    Each call awaits `latency` (through `sleep`, so a test can pass a fake), then takes the next `script` entry:
    an exception instance is raised, None (or an exhausted script) succeeds. Every parameter the request set is
    reported applied, adapted or ignored against the model's capabilities and constraints; `extra.*` keys are
    applied only when listed in `vendor_parameters`. `calls` records each (request, context) in order.
    """

    def __init__(
        self,
        spec: BackendSpec,
        *,
        latency: float = 0.0,
        script: Sequence[Exception | None] = (),
        payload: Callable[[MediaRequest], tuple[bytes, str]] | None = None,
        continuation: bool = True,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        vendor_parameters: Collection[str] = (),
        withheld: Collection[int] = (),
    ) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0 seconds, got {latency!r}")
        self._spec = spec
        self.latency = latency
        self._script: deque[Exception | None] = deque(script)
        self._payload = payload
        self._continuation = continuation
        self._sleep = sleep
        self._vendor_parameters = frozenset(vendor_parameters)
        #: Positions in a call of several images that come back withheld (ContentRejected), as a filter does.
        self.withheld = frozenset(withheld)
        self.calls: list[tuple[MediaRequest, GenerationContext]] = []
        self.closed = False

    @property
    def spec(self) -> BackendSpec:
        return self._spec

    def push(self, *outcomes: Exception | None) -> None:
        """Append outcomes to the script (an exception to raise, or None to succeed)."""
        self._script.extend(outcomes)

    async def generate(self, request: MediaRequest, ctx: GenerationContext) -> GeneratedMedia:
        """Media of the request's type from `ctx.model`, or the next scripted error."""
        self.calls.append((request, ctx))
        call = len(self.calls)
        model = self._model(request, ctx.model)
        report = self._report(request, model)
        if ctx.strict and report.ignored:
            first = report.ignored[0]
            raise UnsupportedParameter(
                f"{self._spec.name} would ignore it ({first.reason}); unset it or turn strict mode off",
                field=first.name,
                backend=self._spec.name,
            )
        if self.latency > 0:
            await self._sleep(self.latency)
        if self._script:
            outcome = self._script.popleft()
            if outcome is not None:
                raise outcome
        if self._payload is not None:
            data, mime = self._payload(request)
        else:
            data, mime = self._make(request, report)
        if request.media_type is MediaType.VIDEO:
            ctx.progress(Polling(status="completed", percent=100.0))
        return GeneratedMedia(
            stream=_chunks(data),
            mime_type=mime,
            model=ctx.model,
            metadata={"fake": True, "call": call},
            continuation=self._next_state(request, ctx.continuation) if self._continuation else None,
            parameters=report,
            size_hint=len(data),
        )

    async def generate_images(
        self, request: MediaRequest, ctx: GenerationContext
    ) -> Sequence[GeneratedMedia | MediaGenError]:
        """`request.n` distinct images from one call (one `calls` entry, one script entry), as a vendor taking `n`
        does: more than the model's `images_per_call` is refused; positions in `withheld` come back withheld."""
        model = self._model(request, ctx.model)
        most = model.constraints.images_per_call
        if not 1 <= request.n <= most:
            self.calls.append((request, ctx))
            raise BackendError(
                f"{ctx.model} makes 1 to {most} images per call, not {request.n}", backend=self._spec.name, status=400
            )
        try:
            first = await self.generate(attrs.evolve(request, n=1), ctx)  # the call: recorded, scripted, reported
        finally:
            self.calls[-1] = (request, ctx)
        await _drain(first.stream)
        made: list[GeneratedMedia | MediaGenError] = []
        for index in range(request.n):
            if index in self.withheld:
                made.append(ContentRejected(f"the fake withheld image {index + 1}", backend=self._spec.name))
                continue
            # Each call draws anew, as a vendor does: the call's number and the image's place vary the picture.
            varied = f"{request.prompt}\0{len(self.calls)}\0{index}"
            single = attrs.evolve(request, n=1, prompt=varied)
            data, mime = self._payload(single) if self._payload is not None else self._make(single, first.parameters)
            metadata = {**first.metadata, "index": index}
            made.append(
                attrs.evolve(first, stream=_chunks(data), mime_type=mime, size_hint=len(data), metadata=metadata)
            )
        return made

    async def aclose(self) -> None:
        self.closed = True

    def _model(self, request: MediaRequest, name: str) -> ModelSpec:
        model = self._spec.model(name)
        if model is None:
            known = ", ".join(m.name for m in self._spec.models) or "none"
            raise BackendError(
                f"{self._spec.name} has no model {name!r}; choose one of: {known}", backend=self._spec.name, status=404
            )
        if model.media_type is not request.media_type:
            raise BackendError(
                f"model {name!r} makes {model.media_type.value}, not {request.media_type.value}; choose a "
                f"{request.media_type.value} model",
                backend=self._spec.name,
                status=400,
            )
        return model

    def _report(self, request: MediaRequest, model: ModelSpec) -> ParameterReport:
        applied: dict[str, Any] = {}
        adapted: list[Adapted] = []
        ignored: list[Ignored] = []
        for name, value in request.set_parameters().items():
            verdict = self._judge(request, model, name, value)
            if verdict is None:
                applied[name] = value
            elif isinstance(verdict, Adapted):
                adapted.append(verdict)
            else:
                ignored.append(Ignored(name, value, verdict))
        return ParameterReport(applied=applied, adapted=tuple(adapted), ignored=tuple(ignored))

    def _judge(self, request: MediaRequest, model: ModelSpec, name: str, value: Any) -> Adapted | str | None:
        """None when applied as given, an Adapted, or the reason it is ignored."""
        media = request.media_type
        if name.startswith("extra."):
            key = name.removeprefix("extra.")
            if key in self._vendor_parameters:
                return None
            return f"{key!r} is not a parameter {self._spec.name} knows"
        if media not in _APPLIES_TO.get(name, _ALL):
            return f"{name} does not apply to {media.value} requests"
        needed = _capability_for(request, name)
        if needed is not None and needed not in model.capabilities:
            return f"{model.name} does not support {needed.value}"
        allowed = getattr(model.constraints, _CONSTRAINT_OF[name]) if name in _CONSTRAINT_OF else ()
        if allowed and not _allowed(name, value, allowed):
            return f"{model.name} accepts only {', '.join(str(a) for a in allowed)}"
        if name in ("audio_format", "output_format") and self._payload is None:
            produced = _PRODUCED[media][0]
            if str(value).lower() != produced:
                return f"{self._spec.name} produces only {produced}"
        if name == "size" and media is MediaType.IMAGE:
            size = Size.parse(str(value))
            bounded = _bounded_size(size.width, size.height)
            if bounded != (size.width, size.height):
                used = f"{bounded[0]}x{bounded[1]}"
                return Adapted(name, value, used, f"the fake draws at most {MAX_FAKE_SIDE} pixels a side")
        if name == "duration" and media is MediaType.AUDIO and float(value) > MAX_FAKE_AUDIO_SECONDS:
            return Adapted(name, value, MAX_FAKE_AUDIO_SECONDS, f"the fake makes at most {MAX_FAKE_AUDIO_SECONDS:g} s")
        return None

    def _make(self, request: MediaRequest, report: ParameterReport) -> tuple[bytes, str]:
        used = {**report.applied, **{a.name: a.used for a in report.adapted}}
        if request.media_type is MediaType.IMAGE:
            if "size" in used:
                size = Size.parse(str(used["size"]))
                width, height = size.width, size.height
            elif "aspect_ratio" in used:
                width, height = _from_ratio(AspectRatio.parse(str(used["aspect_ratio"])))
            else:
                width = height = DEFAULT_FAKE_SIDE
            seed = zlib.crc32(request.prompt.encode()) ^ (0 if request.seed is None else request.seed)
            return png(width, height, seed=seed), "image/png"
        if request.media_type is MediaType.VIDEO:
            return mp4_stub(), "video/mp4"
        seconds = float(used["duration"]) if "duration" in used else 0.5
        return wav(seconds), "audio/wav"

    @staticmethod
    def _next_state(request: MediaRequest, previous: ContinuationState | None) -> ContinuationState:
        data = previous.data if previous is not None else {}
        turn = data.get("turn", 0)
        prompts = data.get("prompts", [])
        turn = turn if isinstance(turn, int) and not isinstance(turn, bool) else 0
        prompts = [str(p) for p in prompts] if isinstance(prompts, list) else []
        history = [*prompts, request.prompt][-MAX_FAKE_TURNS:]
        return ContinuationState(kind=request.media_type.value, data={"turn": turn + 1, "prompts": history})


def _capability_for(request: MediaRequest, name: str) -> Capability | None:
    if name == "seed":
        return Capability.SEED
    if name == "negative_prompt":
        return Capability.NEGATIVE_PROMPT
    if name == "mask":
        return Capability.MASK
    if name == "input_images":
        return Capability.IMAGE_EDIT if request.media_type is MediaType.IMAGE else Capability.IMAGE_TO_VIDEO
    if name == "input_audio":
        kind = request.effective_audio_kind
        return None if kind is None else Capability.for_audio_kind(kind)
    return None


def _allowed(name: str, value: Any, allowed: tuple[Any, ...]) -> bool:
    if name == "duration":
        return any(abs(float(value) - float(a)) < 1e-9 for a in allowed)
    if name == "size":
        return str(Size.parse(str(value))) in {str(Size.parse(str(a))) for a in allowed}
    if name == "aspect_ratio":
        return str(AspectRatio.parse(str(value))) in {str(AspectRatio.parse(str(a))) for a in allowed}
    return str(value).lower() in {str(a).lower() for a in allowed}


def fake_plugin(spec: BackendSpec, generator: MediaGenerator | None = None) -> BackendPlugin:
    """A BackendPlugin whose factory returns `generator` (a fresh FakeGenerator for `spec` when not given)."""
    chosen: MediaGenerator = generator if generator is not None else FakeGenerator(spec)
    if chosen.spec.name != spec.name:
        raise ValueError(f"the generator serves {chosen.spec.name!r}, not {spec.name!r}")

    def factory(options: BackendOptions) -> MediaGenerator:
        return chosen

    return BackendPlugin(spec, factory)


# --- the sink -----------------------------------------------------------------------------------------------------

_PCM_TYPES: Final = frozenset({"audio/pcm", "audio/l16", "audio/l24", "audio/x-pcm", "audio/raw"})


class MemorySink:
    """An ArtifactSink that keeps files in `written` (path -> bytes) and never touches the disk.

    It applies the filesystem sink's rules: the MIME type comes from the bytes and must match the media type,
    a named file is never overwritten unless asked, and nothing is recorded when the stream fails or is cancelled.
    """

    def __init__(self, root: Path = Path("memory"), *, max_bytes: int | None = None) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.written: dict[Path, bytes] = {}
        self.artifacts: list[Artifact] = []
        self._count = 0

    async def write(
        self,
        stream: AsyncIterator[bytes],
        target: ArtifactTarget,
        *,
        mime_type: str,
        on_bytes: Callable[[int], None] | None = None,
    ) -> Artifact:
        """Collect the whole stream, check it, then record it under a fresh (or the requested) name."""
        buffer = bytearray()
        async for chunk in stream:
            if not chunk:
                continue
            if self.max_bytes is not None and len(buffer) + len(chunk) > self.max_bytes:
                raise BackendError(
                    f"the output of {target.backend} exceeded the cap of {self.max_bytes} bytes and was discarded",
                    backend=target.backend,
                )
            buffer += chunk
            if on_bytes is not None:
                on_bytes(len(buffer))
        data = bytes(buffer)
        mime = _accept(data[:SNIFF_BYTES], target, mime_type)
        path = self._path(target, extension_for(mime))
        self.written[path] = data
        artifact = Artifact(path=path, mime_type=mime, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
        self.artifacts.append(artifact)
        return artifact

    async def discard(self, artifact: Artifact) -> None:
        """Like the filesystem sink: forget a file just written that nobody will be told of."""
        if isinstance(artifact.path, Path):
            self.written.pop(artifact.path, None)
        self.artifacts = [kept for kept in self.artifacts if kept.path != artifact.path]

    async def prepare(
        self,
        output_dir: Path | None,
        *,
        media_type: MediaType | None = None,
        filename: str | None = None,
        overwrite: bool = False,
    ) -> None:
        """Like the filesystem sink: a taken stem (any extension of the media type) is FileExists before a call."""
        if filename is None or overwrite:
            return
        directory = output_dir if output_dir is not None else self.root
        stem = safe_filename(filename, "bin").rsplit(".", 1)[0]
        for path in self.written:
            taken = media_type is None or media_type_of(self._mime_of(path)) is media_type
            if path.parent == directory and path.stem == stem and taken:
                raise FileExists(
                    f"{path} already exists; pass overwrite=True (--overwrite) to replace it or choose another name",
                    path=str(path),
                )

    def _mime_of(self, path: Path) -> str:
        return next((a.mime_type for a in self.artifacts if a.path == path), "")

    def _path(self, target: ArtifactTarget, ext: str) -> Path:
        directory = target.output_dir if target.output_dir is not None else self.root
        if target.filename is not None:
            path = directory / safe_filename(target.filename, ext)
            if path in self.written and not target.overwrite:
                raise FileExists(
                    f"{path} already exists; pass overwrite=True (--overwrite) to replace it or choose another name",
                    path=str(path),
                )
            return path
        self._count += 1
        return directory / f"{self._count:04d}_{slugify(target.backend, 32)}_{slugify(target.prompt)}.{ext}"


def _accept(head: bytes, target: ArtifactTarget, claimed: str) -> str:
    expected = target.media_type
    if not head:
        raise BackendError(f"{target.backend} returned no data for a {expected.value} request", backend=target.backend)
    found = sniff(head)
    pcm = claimed.split(";", 1)[0].strip().lower() in _PCM_TYPES
    # Raw PCM has no header; samples may happen to start like an MPEG/ADTS frame sync (as the filesystem sink knows).
    weak = found == "audio/aac" or (found == "audio/mpeg" and not head.startswith(b"ID3"))
    if pcm and expected is MediaType.AUDIO and (found is None or weak):
        return "audio/pcm"
    if found is None or media_type_of(found) is not expected:
        raise BackendError(
            f"{target.backend} returned {found or 'unrecognised data'} for a {expected.value} request",
            backend=target.backend,
        )
    return found


# --- progress -----------------------------------------------------------------------------------------------------

_E = TypeVar("_E")


class RecordingListener:
    """A ProgressListener that keeps every event in order, for assertions."""

    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def __call__(self, event: ProgressEvent, /) -> None:
        self.events.append(event)

    def of_type(self, kind: type[_E]) -> list[_E]:
        """The events of one class, in the order they arrived."""
        return [event for event in self.events if isinstance(event, kind)]

    def clear(self) -> None:
        self.events.clear()
