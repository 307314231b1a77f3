"""Fault scripts: scripted misbehaviour a fake applies to chosen requests.

A fault comes from the `x-mediagen-fault: <name>[;k=v...]` request header (that request only)
or from the queue (`FaultScript.push`) for the next n matching requests of one vendor.
"""

from __future__ import annotations

import enum
import fnmatch
import threading
from collections.abc import Iterable, Mapping

import attrs

FAULT_HEADER = "x-mediagen-fault"


class FaultScope(str, enum.Enum):
    """Which requests a fault can apply to."""

    REQUEST = "request"  # any request
    JOB = "job"  # a request that creates a long-running job (the job carries the fault)
    DOWNLOAD = "download"  # a request that downloads media


@attrs.frozen
class FaultKind:
    name: str
    scope: FaultScope
    summary: str
    params: Mapping[str, str] = attrs.field(factory=dict)


FAULT_KINDS: Mapping[str, FaultKind] = {
    kind.name: kind
    for kind in (
        FaultKind(
            "rate_limit",
            FaultScope.REQUEST,
            "429 with a Retry-After header and the vendor's rate-limit error body.",
            {"retry_after": "seconds in Retry-After (default 1)"},
        ),
        FaultKind("server_error", FaultScope.REQUEST, "500 with the vendor's server-error body."),
        FaultKind("unavailable", FaultScope.REQUEST, "503 with the vendor's overloaded/unavailable body."),
        FaultKind(
            "hang",
            FaultScope.REQUEST,
            "Holds the request open, then answers normally; capped by the sandbox's hang_seconds and cut "
            "short (503) when the sandbox stops, so servers always stop.",
            {"seconds": "how long to hold (default: the hang_seconds setting, 30)"},
        ),
        FaultKind(
            "quota_exceeded",
            FaultScope.REQUEST,
            "The vendor's answer when the account's credits or quota are used up, which waiting does not cure "
            "(ElevenLabs: 401 with detail.status quota_exceeded; OpenAI: 429 with code insufficient_quota; "
            "Google: its 429 RESOURCE_EXHAUSTED).",
        ),
        FaultKind("malformed", FaultScope.REQUEST, "200 with a Content-Type of JSON and a body that is not JSON."),
        FaultKind(
            "retired",
            FaultScope.REQUEST,
            "The route answers as the vendor does for an endpoint that no longer exists (OpenAI: 404 "
            "`Invalid URL (POST /v1/videos)`, type invalid_request_error; Google: 404 NOT_FOUND).",
        ),
        FaultKind(
            "content_policy",
            FaultScope.REQUEST,
            "The vendor's content-policy rejection (OpenAI: 400 with code moderation_blocked for images, "
            "responses and videos, content_policy_violation for speech).",
            {"code": "override the error code"},
        ),
        FaultKind(
            "job_fails",
            FaultScope.JOB,
            "The job is accepted, runs, then ends failed with an error object.",
            {"code": "error code (default video_generation_failed)", "at": "status poll at which it fails"},
        ),
        FaultKind(
            "job_never_finishes", FaultScope.JOB, "The job stays in_progress forever (progress stalls below 100)."
        ),
        FaultKind(
            "truncated_download",
            FaultScope.DOWNLOAD,
            "The download announces its full Content-Length, sends part of the body, then closes the connection.",
            {
                "fraction": "share of the body sent before closing (default 0.5)",
                "bytes": "bytes sent before closing (default for chunked bodies: 1)",
            },
        ),
        FaultKind(
            "slow_poll",
            FaultScope.JOB,
            "The job needs many status polls to finish, and each status answer is delayed.",
            {"polls": "status polls until completed (default 10)", "delay": "seconds added to each poll (default 0.2)"},
        ),
    )
}


def _params(value: Mapping[str, object]) -> Mapping[str, str]:
    return {str(k): str(v) for k, v in value.items()}


def _known(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in FAULT_KINDS:
        raise ValueError(f"unknown sandbox fault {value!r}; known faults: {', '.join(FAULT_KINDS)}")


@attrs.frozen
class Fault:
    """One fault and its parameters, e.g. `Fault("rate_limit", {"retry_after": 2})`."""

    name: str = attrs.field(validator=_known)
    params: Mapping[str, str] = attrs.field(factory=dict, converter=_params)

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Read `name;k=v;k=v` (the header syntax)."""
        name, *pairs = (part.strip() for part in spec.split(";"))
        params: dict[str, str] = {}
        for pair in filter(None, pairs):
            key, sep, value = pair.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"bad fault parameter {pair!r} in {spec!r}; write key=value")
            params[key.strip()] = value.strip()
        return cls(name, params)

    @property
    def kind(self) -> FaultKind:
        return FAULT_KINDS[self.name]

    @property
    def scope(self) -> FaultScope:
        return self.kind.scope

    def number(self, key: str, default: float) -> float:
        """A numeric parameter; a value that is not a number is a ValueError naming it."""
        raw = self.params.get(key)
        if raw is None:
            return default
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"fault {self.name}: parameter {key}={raw!r} is not a number") from None

    def text(self, key: str, default: str) -> str:
        return self.params.get(key, default)

    def __str__(self) -> str:
        return ";".join([self.name, *(f"{k}={v}" for k, v in self.params.items())])


@attrs.define
class ScriptedFault:
    """A queued fault: applies to the next `remaining` matching requests (None: every one)."""

    vendor: str
    fault: Fault
    remaining: int | None
    route: str | None

    def matches(self, method: str, path: str) -> bool:
        if self.route is None:
            return True
        want_method, sep, pattern = self.route.partition(" ")
        if not sep:
            want_method, pattern = "", self.route
        if want_method and want_method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, pattern)


@attrs.frozen
class AppliedFault:
    """A record that a fault was applied: which vendor, which request."""

    vendor: str
    method: str
    path: str
    fault: Fault
    source: str  # "header" or "script"


class FaultScript:
    """Queued faults per vendor, thread-safe so a test thread can script a sandbox running elsewhere."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._queue: list[ScriptedFault] = []
        self._applied: list[AppliedFault] = []

    def push(self, vendor: str, fault: Fault | str, *, times: int | None = 1, route: str | None = None) -> None:
        """Apply `fault` to the next `times` requests of `vendor` it fits (None: all of them, until cleared).

        `route` narrows it to paths matching a glob, optionally after a method: "/v1/videos/*" or
        "POST /v1/images/edits". Job faults only fit job-creating requests, truncated_download only downloads.
        """
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1 (or None for always), got {times}")
        parsed = Fault.parse(fault) if isinstance(fault, str) else fault
        with self._lock:
            self._queue.append(ScriptedFault(vendor, parsed, times, route))

    def clear(self, vendor: str | None = None) -> None:
        """Drop queued faults (of one vendor, or all)."""
        with self._lock:
            self._queue = [s for s in self._queue if vendor is not None and s.vendor != vendor]

    def pending(self, vendor: str | None = None) -> list[ScriptedFault]:
        with self._lock:
            return [attrs.evolve(s) for s in self._queue if vendor is None or s.vendor == vendor]

    def applied(self, vendor: str | None = None) -> list[AppliedFault]:
        """Every fault applied so far, in order."""
        with self._lock:
            return [a for a in self._applied if vendor is None or a.vendor == vendor]

    def take(self, vendor: str, method: str, path: str, scopes: Iterable[FaultScope]) -> Fault | None:
        """The first queued fault fitting this request, consuming one use of it."""
        allowed = set(scopes)
        with self._lock:
            for scripted in self._queue:
                if scripted.vendor == vendor and scripted.fault.scope in allowed and scripted.matches(method, path):
                    if scripted.remaining is not None:
                        scripted.remaining -= 1
                        if scripted.remaining == 0:
                            self._queue.remove(scripted)
                    self._applied.append(AppliedFault(vendor, method, path, scripted.fault, "script"))
                    self._lock.notify_all()
                    return scripted.fault
        return None

    def record(self, vendor: str, method: str, path: str, fault: Fault) -> None:
        """Note a fault applied from a request header."""
        with self._lock:
            self._applied.append(AppliedFault(vendor, method, path, fault, "header"))
            self._lock.notify_all()

    def wait_applied(self, count: int = 1, timeout: float | None = None, vendor: str | None = None) -> bool:
        """Block until `count` faults (of `vendor`) have been applied; False on timeout. From async code:
        `await asyncio.to_thread(sb.faults.wait_applied, 1, 5.0)`."""
        with self._lock:
            return self._lock.wait_for(
                lambda: sum(1 for a in self._applied if vendor is None or a.vendor == vendor) >= count, timeout
            )


def parse_standing(spec: str) -> tuple[str, Fault, int | None, str | None]:
    """Read a standing fault `vendor:name[;k=v...]`, where the reserved keys `times` and `route` shape the queue."""
    vendor, sep, rest = spec.partition(":")
    if not sep or not vendor.strip():
        raise ValueError(f"bad standing fault {spec!r}; write vendor:name[;k=v], e.g. openai:rate_limit;times=1")
    fault = Fault.parse(rest)
    params = dict(fault.params)
    times_raw = params.pop("times", None)
    route = params.pop("route", None)
    try:
        times = int(times_raw) if times_raw is not None else None
    except ValueError:
        raise ValueError(f"bad times={times_raw!r} in standing fault {spec!r}") from None
    return vendor.strip(), Fault(fault.name, params), times, route


def markdown_table() -> str:
    """The fault catalogue as the Markdown table docs/sandbox.md embeds (a test keeps them in step)."""
    rows = ["| Fault | Applies to | Behaviour | Parameters |", "|---|---|---|---|"]
    for kind in FAULT_KINDS.values():
        params = "<br>".join(f"`{k}`: {v}" for k, v in kind.params.items()) or "-"
        rows.append(f"| `{kind.name}` | {kind.scope.value} | {kind.summary} | {params} |")
    return "\n".join(rows) + "\n"
