"""The `--json` outputs of the commands that list things (backends, models, the backend choice, jobs, settings),
each in the envelope every `--json` output shares: `success`, `operation`, then the operation's own keys.
Keys are identifiers, lists are JSON lists and times are ISO 8601 (docs/tool.md documents each shape).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import attrs

from mediagen.application.jobs import JobInfo
from mediagen.application.service import MediaService
from mediagen.application.settings import LoadedSettings, settings_to_dict
from mediagen.domain.backend import ModelSpec
from mediagen.domain.media import MediaType


def envelope(operation: str, **payload: Any) -> dict[str, Any]:
    """A successful `--json` output: success, operation, then the payload."""
    return {"success": True, "operation": operation, **payload}


def backends_json(service: MediaService) -> dict[str, Any]:
    """`mediagen backends --json`: every installed backend, what it makes, and whether its key is set."""
    selector = service.selector
    backends = [
        {
            "backend": spec.name,
            "display_name": spec.display_name,
            "media_types": [m.value for m in spec.media_types],
            "default_models": {m.value: name for m, name in spec.default_models.items()},
            "credentials_set": selector.has_credentials(spec.name),
            "env_vars": list(spec.env_vars),
            "docs_url": spec.docs_url,
        }
        for spec in selector.specs.values()
    ]
    return envelope("backends", backends=backends)


def models_json(service: MediaService, backend: str, models: Sequence[ModelSpec]) -> dict[str, Any]:
    """`mediagen backends NAME --json`: the backend's models, what each can do and every value it accepts."""
    spec = service.selector.specs[backend]
    rows = [
        {
            "model": model.name,
            "media_type": model.media_type.value,
            "default": spec.default_models.get(model.media_type) == model.name,
            "capabilities": sorted(cap.value for cap in model.capabilities),
            "constraints": {
                key: list(v) if isinstance(v, tuple) else v for key, v in attrs.asdict(model.constraints).items()
            },
            "description": model.description,
            "retired_on": model.retired_on.isoformat() if model.retired_on is not None else None,
        }
        for model in models
    ]
    return envelope("models", backend=backend, models=rows)


def explain_json(media_type: MediaType, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """`mediagen backends --explain TYPE --json`: every backend in priority order and why it is (not) chosen."""
    return envelope("explain", media_type=media_type.value, backends=rows)


def job_json(job: JobInfo) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "backend": job.backend,
        "model": job.model,
        "vendor_job_id": job.vendor_job_id,
        "prompt": job.prompt,
        "created_at": iso8601(job.created_at),
    }


def jobs_json(jobs: Sequence[JobInfo]) -> dict[str, Any]:
    """`mediagen jobs list --json`: the jobs submitted and not yet collected."""
    return envelope("jobs", jobs=[job_json(job) for job in jobs])


def job_status_json(job: JobInfo) -> dict[str, Any]:
    """`mediagen jobs status ID --json`: what is recorded about one job."""
    return envelope("job_status", job=job_json(job))


def config_json(loaded: LoadedSettings) -> dict[str, Any]:
    """`mediagen config --json`: the effective settings, and where each dotted key came from (a file, an env var,
    or "defaults")."""
    return envelope("config", settings=settings_to_dict(loaded.settings), sources=dict(loaded.sources))


def iso8601(timestamp: float) -> str:
    """A Unix time as ISO 8601 in UTC, to the second."""
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc).isoformat(timespec="seconds")
