"""ReportBuilder: how an adapter accounts for every parameter a request set, so none is ever silently dropped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mediagen.domain.errors import UnsupportedParameter
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import Adapted, Ignored, ParameterReport


class ReportBuilder:
    """Collects how each set parameter was used; whatever is left unaccounted ends as ignored, never dropped.

    `vendor` names the vendor in reasons ("not an option mediagen passes to Google"), `backend` in errors.
    """

    def __init__(self, request: MediaRequest, model: str, *, backend: str, vendor: str) -> None:
        self._params = request.set_parameters()
        self._model = model
        self._backend = backend
        self._vendor = vendor
        self.applied: dict[str, Any] = {}
        self.adapted: list[Adapted] = []
        self.ignored: list[Ignored] = []

    def has(self, name: str) -> bool:
        return name in self._params

    def apply(self, name: str, value: Any = None) -> None:
        """Used as given (or as `value`, its canonical spelling)."""
        if name in self._params:
            self.applied[name] = self._params[name] if value is None else value

    def adapt(self, name: str, used: Any, reason: str) -> None:
        """Used, but changed to `used` because the backend needs it so."""
        if name in self._params:
            self.applied.pop(name, None)
            self.adapted.append(Adapted(name, self._params[name], used, reason))

    def settle(self, name: str, used: Any, reasons: Sequence[str]) -> None:
        """Applied when nothing forced a change (no reasons), else adapted with the reasons joined."""
        if name not in self._params:
            return
        if reasons:
            self.adapt(name, used, "; ".join(dict.fromkeys(reasons)))
        else:
            self.applied[name] = used

    def ignore(self, name: str, reason: str) -> None:
        if name in self._params:
            self.ignored.append(Ignored(name, self._params[name], reason))

    def finish(self, *, strict: bool) -> ParameterReport:
        """The report; in strict mode, the first ignored parameter is an UnsupportedParameter instead."""
        accounted = set(self.applied) | {a.name for a in self.adapted} | {i.name for i in self.ignored}
        for name, value in self._params.items():
            if name not in accounted:
                reason = f"{self._model} has no such setting"
                if name.startswith("extra."):
                    reason = f"not an option mediagen passes to {self._vendor} for {self._model}"
                self.ignored.append(Ignored(name, value, reason))
        if strict and self.ignored:
            first = self.ignored[0]
            raise UnsupportedParameter(
                f"{self._backend} would ignore it ({first.reason}); unset it or turn strict mode off",
                field=first.name,
                backend=self._backend,
            )
        return ParameterReport(applied=dict(self.applied), adapted=tuple(self.adapted), ignored=tuple(self.ignored))
