"""How a sandbox behaves: latency, job pacing, video size, hang cap, accepted key, standing faults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from mediagen.sandbox.faults import parse_standing


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"sandbox setting {attribute.name} must be >= 0, got {value}")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError(f"sandbox setting {attribute.name} must be >= 1, got {value}")


def _standing(instance: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for spec in value:
        parse_standing(spec)


@attrs.frozen
class SandboxSettings:
    """Knobs of a sandbox; every field has a default that keeps tests fast."""

    #: Seconds every answer is held back, to model a vendor's latency.
    latency: float = attrs.field(default=0.0, converter=float, validator=_non_negative)
    #: The poll-interval hint sent with job status (OpenAI: openai-poll-after-ms).
    poll_after_ms: int = attrs.field(default=20, converter=int, validator=_non_negative)
    #: Status polls a job takes from queued to completed.
    job_polls: int = attrs.field(default=3, converter=int, validator=_positive)
    #: Frames per second of generated videos.
    video_fps: int = attrs.field(default=24, converter=int, validator=_positive)
    #: Pad every video download to at least this many bytes (all keyframes, streamed), for memory tests.
    video_min_bytes: int | None = attrs.field(default=None, validator=_positive)
    #: Upper bound of a `hang` fault, so a hanging request never outlives the test.
    hang_seconds: float = attrs.field(default=30.0, converter=float, validator=_non_negative)
    #: Accept only this API key (None: any non-empty key).
    api_key: str | None = attrs.field(default=None, repr=False)
    #: Faults applied from the start, as `vendor:name[;k=v][;times=n][;route=glob]`.
    faults: tuple[str, ...] = attrs.field(default=(), converter=tuple, validator=_standing)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxSettings:
        """Settings from MEDIAGEN_SANDBOX_* variables (LATENCY, POLL_AFTER_MS, JOB_POLLS, VIDEO_FPS,
        VIDEO_MIN_BYTES, HANG_SECONDS, API_KEY, FAULTS as a comma-separated list)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in attrs.fields(cls):
            raw = env.get(f"MEDIAGEN_SANDBOX_{field.name.upper()}")
            if raw is None or raw.strip() == "":
                continue
            try:
                if field.name == "faults":
                    values[field.name] = tuple(s.strip() for s in raw.split(",") if s.strip())
                elif field.name == "api_key":
                    values[field.name] = raw
                elif field.name == "video_min_bytes":
                    values[field.name] = int(raw)
                else:
                    values[field.name] = raw
            except ValueError:
                raise ValueError(f"MEDIAGEN_SANDBOX_{field.name.upper()}={raw!r} is not a valid {field.name}") from None
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ValueError(f"bad MEDIAGEN_SANDBOX_* setting: {exc}") from None
