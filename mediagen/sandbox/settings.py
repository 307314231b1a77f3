"""How a sandbox behaves: latency, job pacing, video size, hang cap, accepted key, standing faults, kept state."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from mediagen.sandbox.faults import parse_standing


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value < 0:
        raise ValueError(f"sandbox setting {attribute.name} must be >= 0, got {value}")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError(f"sandbox setting {attribute.name} must be >= 1, got {value}")


def _greater_than_zero(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value > 0:  # `not >` also refuses NaN
        raise ValueError(f"sandbox setting {attribute.name} must be > 0 (or none), got {value}")


def _seconds_or_none(raw: str) -> float | None:
    """Text seconds, or None for "none" (in any case)."""
    return None if raw.strip().lower() == "none" else float(raw)


def _flag(value: object) -> bool:
    """A bool, or its text ("true"/"false", "1"/"0", "yes"/"no", "on"/"off") as settings from strings give it."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


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
    #: Answer images as loopback URLs that expire (where the vendor may: OpenRouter) instead of inline data URLs;
    #: a prompt containing `sandbox:image-url` asks for that per request.
    image_urls: bool = attrs.field(default=False, converter=_flag)
    #: Faults applied from the start, as `vendor:name[;k=v][;times=n][;route=glob]`.
    faults: tuple[str, ...] = attrs.field(default=(), converter=tuple, validator=_standing)
    #: Keep vendor-side state (responses, videos, operations) in files here, so another sandbox sharing the
    #: directory, in this process or another, can continue from it (None: memory only).
    state_dir: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    #: Seconds a record in state_dir is kept after its last write; older ones are removed when a sandbox starts
    #: (None: kept forever). The default is 7 days.
    state_ttl_seconds: float | None = attrs.field(
        default=7 * 24 * 3600.0, converter=attrs.converters.optional(float), validator=_greater_than_zero
    )

    #: Seconds a media URL a fake hands out (xAI's image and video URLs) stays valid, and an xAI video result stays
    #: retrievable; the vendor's is 24 hours.
    media_url_ttl_seconds: float = attrs.field(default=24 * 3600.0, converter=float, validator=_greater_than_zero)

    @classmethod
    def from_strings(cls, values: Mapping[str, str], *, source: str = "sandbox settings") -> SandboxSettings:
        """Settings from text values keyed by field name (as env vars or CLI options give them); `faults` is a
        comma-separated list, `state_ttl_seconds` may be "none". A bad or unknown key is a ValueError naming it and
        `source`."""
        known = {field.name for field in attrs.fields(cls)}
        parsed: dict[str, Any] = {}
        for key, raw in values.items():
            if key not in known:
                raise ValueError(f"unknown sandbox setting {key!r} in {source}; known: {', '.join(sorted(known))}")
            try:
                value: Any = raw
                if key == "faults":
                    value = tuple(spec.strip() for spec in raw.split(",") if spec.strip())
                elif key == "video_min_bytes":
                    value = int(raw)
                elif key == "state_ttl_seconds":
                    value = _seconds_or_none(raw)
                cls(**{key: value})  # validate this one value, so the error names its key
            except (ValueError, TypeError) as exc:
                raise ValueError(f"sandbox setting {key}={raw!r} from {source} is not valid: {exc}") from None
            parsed[key] = value
        return cls(**parsed)
