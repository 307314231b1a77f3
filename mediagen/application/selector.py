"""BackendSelector: which backends can serve a request, in which order, and why the others can't."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from mediagen.domain.backend import BackendSpec, ModelSpec
from mediagen.domain.errors import InvalidRequest, MissingCredentials, NoBackendAvailable
from mediagen.domain.media import Capability, MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.secret import Secret
from mediagen.ports.credentials import CredentialSource


@attrs.frozen
class Candidate:
    """A backend that can serve the request, with the model it will use and its key."""

    spec: BackendSpec
    model: str
    explicit: bool
    credentials: Secret = attrs.field(repr=False)

    @property
    def backend(self) -> str:
        return self.spec.name


@attrs.frozen
class Verdict:
    """One line of `explain`: whether a backend would serve the request, and why (not)."""

    backend: str
    usable: bool
    reason: str
    model: str | None = None
    #: True when the only thing missing is a key (so setting an env var would enable it).
    needs_key_only: bool = False


def _caps(caps: Iterable[Capability]) -> str:
    return ", ".join(sorted(c.value for c in caps))


class BackendSelector:
    """Priority x credentials x capability x model. Pure apart from asking the credential source."""

    def __init__(
        self,
        specs: Sequence[BackendSpec],
        credentials: CredentialSource,
        *,
        priorities: Mapping[MediaType, Sequence[str]] | None = None,
        default_models: Mapping[str, Mapping[MediaType, str]] | None = None,
        disabled: Iterable[str] = (),
        strict: bool = False,
        today: Callable[[], datetime.date] = datetime.date.today,
    ) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._credentials = credentials
        self._priorities = {mt: tuple(names) for mt, names in (priorities or {}).items()}
        self._default_models = {name: dict(models) for name, models in (default_models or {}).items()}
        self._disabled = frozenset(disabled)
        self._strict = strict
        self._today = today

    @property
    def specs(self) -> Mapping[str, BackendSpec]:
        return self._specs

    def has_credentials(self, name: str) -> bool:
        return self.credentials(name) is not None

    def credentials(self, name: str) -> Secret | None:
        """The key `name` would be called with, if it has one."""
        return self._credentials.get(self._check_known(name))

    def available(self) -> list[str]:
        """The installed backends that are enabled and have a key: those a request can reach."""
        return [name for name in self._specs if name not in self._disabled and self.has_credentials(name)]

    def order(self, media_type: MediaType) -> list[BackendSpec]:
        """Backends generating `media_type`: configured priority first, then the rest by name."""
        ranked = [self._specs[n] for n in self._priorities.get(media_type, ()) if n in self._specs]
        rest = sorted((s for s in self._specs.values() if s not in ranked), key=lambda s: s.name)
        return [s for s in ranked + rest if media_type in s.media_types]

    def explain(self, request: MediaRequest, *, backend: str | None = None) -> list[Verdict]:
        """Every backend, in priority order, with the reason it would or would not be chosen."""
        wanted = backend or request.backend
        if wanted is not None:
            self._check_known(wanted)
        verdicts = []
        for spec in self._all_in_order(request.media_type):
            if wanted is not None and spec.name != wanted:
                verdicts.append(Verdict(spec.name, False, f"not chosen: backend {wanted!r} was named"))
            else:
                verdicts.append(self._judge(spec, request, explicit=wanted is not None))
        return verdicts

    def candidates(self, request: MediaRequest, *, backend: str | None = None) -> list[Candidate]:
        """Usable backends in order; raises when none is, saying why each was skipped."""
        wanted = backend or request.backend
        if wanted is not None:
            return [self._explicit(wanted, request)]
        chosen, verdicts = self._auto(request)
        if chosen:
            return chosen
        raise self._none_available(request, verdicts)

    def _auto(self, request: MediaRequest) -> tuple[list[Candidate], list[Verdict]]:
        judged = [(spec, *self._judged(spec, request, explicit=False)) for spec in self.order(request.media_type)]
        chosen = [
            Candidate(spec, verdict.model, False, key)
            for spec, verdict, key in judged
            if verdict.usable and verdict.model is not None and key is not None
        ]
        return chosen, [verdict for _, verdict, _ in judged]

    def _explicit(self, name: str, request: MediaRequest) -> Candidate:
        spec = self._check_known(name)
        verdict, key = self._judged(spec, request, explicit=True)
        if verdict.needs_key_only:
            alternatives = [c.backend for c in self._auto(request)[0] if c.backend != name]
            raise MissingCredentials(name, spec.env_vars, alternatives=alternatives)
        if not verdict.usable or verdict.model is None or key is None:
            raise NoBackendAvailable(
                f"backend {name!r} cannot serve this {request.media_type.value} request: {verdict.reason}",
                reasons={name: verdict.reason},
            )
        return Candidate(spec, verdict.model, True, key)

    def _check_known(self, name: str) -> BackendSpec:
        spec = self._specs.get(name)
        if spec is None:
            known = ", ".join(sorted(self._specs)) or "none installed"
            raise InvalidRequest(f"unknown backend {name!r}; known backends: {known}", field="backend")
        return spec

    def _all_in_order(self, media_type: MediaType) -> list[BackendSpec]:
        serving = self.order(media_type)
        return serving + sorted((s for s in self._specs.values() if s not in serving), key=lambda s: s.name)

    def _judge(self, spec: BackendSpec, request: MediaRequest, *, explicit: bool) -> Verdict:
        return self._judged(spec, request, explicit=explicit)[0]

    def _judged(self, spec: BackendSpec, request: MediaRequest, *, explicit: bool) -> tuple[Verdict, Secret | None]:
        """The verdict, and the key it found when it got as far as asking for one (read once per judgement)."""
        media = request.media_type
        if media not in spec.media_types:
            return Verdict(spec.name, False, f"does not generate {media.value}"), None
        if spec.name in self._disabled:
            return Verdict(spec.name, False, "disabled in settings (backends.<name>.enabled = false)"), None
        required = request.required_capabilities()
        if self._strict:
            required |= request.optional_capabilities()
        model, problem = self._pick_model(spec, request, required, explicit=explicit)
        if model is None:
            return Verdict(spec.name, False, problem), None
        key = self._credentials.get(spec)
        if key is None:
            names = " or ".join(spec.env_vars) or "credentials"
            return Verdict(spec.name, False, f"no API key: set {names}", model, needs_key_only=True), None
        return Verdict(spec.name, True, problem or "can serve the request", model), key

    def _pick_model(
        self, spec: BackendSpec, request: MediaRequest, required: frozenset[Capability], *, explicit: bool
    ) -> tuple[str | None, str]:
        media = request.media_type
        if request.model is not None:
            named = spec.model(request.model)
            if named is None:
                if explicit:
                    # A model the spec doesn't list yet (a new release): pass it through as asked.
                    return request.model, f"model {request.model!r} is not in the spec; sent as named"
                return None, f"does not offer model {request.model!r}"
            if named.media_type is not media:
                return None, f"model {named.name!r} makes {named.media_type.value}, not {media.value}"
            return self._check_model(spec, named, required)
        configured = self._default_models.get(spec.name, {}).get(media)
        if configured is not None:
            model = spec.model(configured)
            if model is None:
                return configured, f"configured default model {configured!r} is not in the spec; sent as named"
            if model.supports(required) and (
                explicit or (_speaks(model, request) and not model.retired(self._today()))
            ):
                return model.name, "can serve the request"
        serving = [m for m in spec.models_for(media) if m.supports(required)]
        if not serving:
            missing = required - spec.capabilities(media)
            if missing:
                return None, f"lacks capability: {_caps(missing)}"
            return None, f"no single model has all of: {_caps(required)}"
        if explicit:
            return serving[0].name, "can serve the request"
        today = self._today()  # only auto-selection minds retirement
        current = [m for m in serving if not m.retired(today)]
        if not current:
            # Auto-selection never picks a model past its vendor's announced shutdown; naming it still works.
            gone = serving[0].retired_on
            names = ", ".join(m.name for m in serving)
            return None, f"{names} retired on {gone}; --backend {spec.name} tries anyway"
        # A voice is a name, not a value to adapt: another of the backend's models may have it, else skip it.
        speaking = [m for m in current if _speaks(m, request)]
        if not speaking:
            return None, f"has no voice {request.voice!r} (voices: {', '.join(current[0].constraints.voices)})"
        return speaking[0].name, "can serve the request"

    @staticmethod
    def _check_model(spec: BackendSpec, model: ModelSpec, required: frozenset[Capability]) -> tuple[str | None, str]:
        if model.supports(required):
            return model.name, "can serve the request"
        missing = required - model.capabilities
        others = [m.name for m in spec.models_for(model.media_type) if m.supports(required)]
        hint = f" ({', '.join(others)} can)" if others else ""
        return None, f"model {model.name!r} lacks capability: {_caps(missing)}{hint}"

    def _none_available(self, request: MediaRequest, verdicts: Sequence[Verdict]) -> NoBackendAvailable:
        media = request.media_type.value
        reasons = {v.backend: v.reason for v in verdicts}
        if not verdicts:
            return NoBackendAvailable(f"no installed backend generates {media}", reasons=reasons)
        enabling = {v.backend: self._specs[v.backend].env_vars for v in verdicts if v.needs_key_only}
        summary = f"no backend can serve this {media} request"
        if enabling and len(enabling) == len(verdicts):
            summary = f"no API key is set for any backend that generates {media}"
        required = request.required_capabilities()
        offered = frozenset().union(*(spec.capabilities(request.media_type) for spec in self._specs.values()))
        if required - offered:  # no key or setting would help: say so, and what would
            missing = _caps(required - offered)
            summary = (
                f"no installed backend can do {missing}; install a backend package that can "
                "(see `mediagen backends` for what each installed one does)"
            )
        return NoBackendAvailable(summary, reasons=reasons, enabling_env_vars=enabling)


def _speaks(model: ModelSpec, request: MediaRequest) -> bool:
    return request.voice is None or model.constraints.accepts_voice(request.voice)
