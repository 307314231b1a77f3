"""BackendSpec: the one place a backend's env vars, models, capabilities and constraints live."""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Iterable, Mapping

import attrs

from mediagen.domain.media import Capability, MediaType


def _tuple_of_str(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)  # type: ignore[attr-defined]


def _tuple_of_float(value: object) -> tuple[float, ...]:
    return tuple(float(v) for v in value)  # type: ignore[attr-defined]


def _listed(values: tuple[object, ...]) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def _capability_set(value: Iterable[Capability]) -> frozenset[Capability]:
    return frozenset(value)


@attrs.frozen
class Constraints:
    """Values a model accepts; an empty tuple means "not restricted" (or not applicable)."""

    sizes: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    aspect_ratios: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    durations: tuple[float, ...] = attrs.field(default=(), converter=_tuple_of_float)
    output_formats: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    audio_formats: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    voices: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    qualities: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    resolutions: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    max_input_images: int | None = None
    max_prompt_chars: int | None = None
    #: Voices starting with one of these are the user's own voice ids, accepted besides `voices`.
    voice_id_prefixes: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    #: A regular expression voice ids match in full (for vendors whose ids have no prefix), accepted besides `voices`.
    voice_id_pattern: str | None = None
    #: The most images one vendor call makes (the API's `n`); a request for more is split into as few calls as
    #: that allows. 1: one image per call, so a request's n images are n calls.
    images_per_call: int = attrs.field(default=1, validator=attrs.validators.ge(1))

    def summary(self, *, max_voices: int | None = None) -> str:
        """Every listed value, grouped ("sizes 1024x1024, ...; seconds 4, 8"), as `mediagen backends NAME` and
        the backend pages show them (more voices than `max_voices` only counted); empty when nothing is restricted.
        """
        counted = max_voices is not None and len(self.voices) > max_voices
        groups = {
            "sizes": _listed(self.sizes),
            "aspect ratios": _listed(self.aspect_ratios),
            "resolutions": _listed(self.resolutions),
            "seconds": _listed(self.durations),
            "qualities": _listed(self.qualities),
            "formats": _listed(self.output_formats),
            "audio formats": _listed(self.audio_formats),
            "input images": "" if self.max_input_images is None else f"up to {self.max_input_images}",
            "images per call": f"up to {self.images_per_call}" if self.images_per_call > 1 else "",
            "voices": (f"({len(self.voices)})" if counted else _listed(self.voices))
            + (f" (or ids starting {_listed(self.voice_id_prefixes)})" if self.voice_id_prefixes else "")
            + (f" (or ids matching `{self.voice_id_pattern}`)" if self.voice_id_pattern else ""),
        }
        return "; ".join(f"{name} {value}" for name, value in groups.items() if value)

    def accepts_voice(self, voice: str) -> bool:
        """Whether `voice` is one of the listed voices (case-insensitive), a custom voice id, or unrestricted."""
        wanted = voice.strip()
        if not self.voices or wanted.startswith(self.voice_id_prefixes):
            return True
        if self.voice_id_pattern is not None and re.fullmatch(self.voice_id_pattern, wanted):
            return True
        return wanted.lower() in {v.lower() for v in self.voices}


@attrs.frozen
class ModelSpec:
    name: str
    media_type: MediaType
    capabilities: frozenset[Capability] = attrs.field(converter=_capability_set)
    constraints: Constraints = attrs.field(factory=Constraints)
    description: str = ""
    #: The day the vendor retires the model (its announced shutdown). From then on auto-selection passes it over;
    #: a request that names the model or its backend still goes to it (a gateway may serve it, or the date moved).
    retired_on: datetime.date | None = None

    def supports(self, required: frozenset[Capability]) -> bool:
        return required <= self.capabilities

    def retired(self, today: datetime.date) -> bool:
        return self.retired_on is not None and today >= self.retired_on


def _str_mapping(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


def _model_tuple(value: Iterable[ModelSpec]) -> tuple[ModelSpec, ...]:
    return tuple(value)


def _check_defaults(spec: BackendSpec, attribute: object, value: Mapping[MediaType, str]) -> None:
    for media_type, model_name in value.items():
        model = spec.model(model_name)
        if model is None or model.media_type is not media_type:
            raise ValueError(f"{spec.name}: default {media_type.value} model {model_name!r} is not among its models")


@attrs.frozen
class BackendSpec:
    """A backend's facts. Docs tables and `mediagen backends` are generated from these."""

    name: str = attrs.field(validator=attrs.validators.matches_re(r"^[a-z][a-z0-9-]*$"))
    display_name: str
    env_vars: tuple[str, ...] = attrs.field(converter=_tuple_of_str)
    models: tuple[ModelSpec, ...] = attrs.field(converter=_model_tuple)
    default_models: Mapping[MediaType, str] = attrs.field(factory=dict, validator=_check_defaults)
    docs_url: str = ""
    #: Env vars that point the backend at another endpoint (a proxy, a gateway, a sandbox).
    base_url_env_vars: tuple[str, ...] = attrs.field(default=(), converter=_tuple_of_str)
    #: Vendor extras the environment may set, extra key -> env var (e.g. an organization id). The container reads
    #: them outside sandbox mode into `BackendOptions.extra`; a value in the settings wins.
    extra_env_vars: Mapping[str, str] = attrs.field(factory=dict, converter=_str_mapping)

    @functools.cached_property  # asked on every request the selector judges; the models never change
    def media_types(self) -> tuple[MediaType, ...]:
        return tuple(m for m in MediaType if any(model.media_type is m for model in self.models))

    def model(self, name: str) -> ModelSpec | None:
        for model in self.models:
            if model.name == name:
                return model
        return None

    def models_for(self, media_type: MediaType) -> tuple[ModelSpec, ...]:
        """Models of a media type, the default first, then in declaration order."""
        return self._models_by_media.get(media_type, ())

    @functools.cached_property  # asked on every request the selector judges; the models never change
    def _models_by_media(self) -> dict[MediaType, tuple[ModelSpec, ...]]:
        ordered: dict[MediaType, tuple[ModelSpec, ...]] = {}
        for media_type in self.media_types:
            default = self.default_models.get(media_type)
            found = [m for m in self.models if m.media_type is media_type]
            ordered[media_type] = tuple(sorted(found, key=lambda m: m.name != default))
        return ordered

    def model_for(self, media_type: MediaType, required: frozenset[Capability]) -> ModelSpec | None:
        """The default model if it serves `required`, else the first model that does."""
        for model in self.models_for(media_type):
            if model.supports(required):
                return model
        return None

    def capabilities(self, media_type: MediaType) -> frozenset[Capability]:
        caps: frozenset[Capability] = frozenset()
        for model in self.models_for(media_type):
            caps |= model.capabilities
        return caps
