"""Pure helpers of a generation's outcome: the parameters accounted for, the name a sink changed, the media type
written, the continuation's vendor reference, and the account key of the call limits."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

from mediagen.domain.media import AudioKind, MediaType
from mediagen.domain.request import MediaRequest
from mediagen.domain.result import (
    Adapted,
    Artifact,
    Ignored,
    ParameterReport,
)
from mediagen.ports.continuation import (
    VENDOR_ID_KIND,
    ContinuationState,
)


def _is_url(place: Path) -> bool:
    """An output place such as s3://bucket/prefix (a Path keeps it as s3:/bucket/prefix): not a local directory."""
    first = place.parts[0] if place.parts else ""
    return len(first) > 2 and first.endswith(":")


def _account_hash(key: str) -> str:
    """Names a vendor account in shared limits without revealing its key: workers with one key share one budget."""
    return hashlib.sha256(b"mediagen-account:" + key.encode()).hexdigest()[:24]


def _account(request: MediaRequest, report: ParameterReport, backend: str) -> ParameterReport:
    """Every parameter the caller set ends applied, adapted or ignored — never silently dropped."""
    missing = [
        Ignored(name, value, f"{backend} did not report using it")
        for name, value in request.set_parameters().items()
        if name not in report.accounted()
    ]
    return report.merged(ParameterReport(ignored=tuple(missing))) if missing else report


def _renamed(asked: str | None, artifact: Artifact) -> Adapted | None:
    """The asked file name, when the sink wrote another: the extension follows the content, unsafe characters go.
    A name asked without an extension only gains one, which is not worth reporting."""
    if asked is None:
        return None
    name = asked.replace("\\", "/").rsplit("/", 1)[-1]
    written = artifact.path.name
    same = name == written if "." in name.lstrip(".") else written.rsplit(".", 1)[0] == name
    if same:
        return None
    reason = f"the file is {artifact.mime_type}, so it is named for that"
    if name.rsplit(".", 1)[0] != written.rsplit(".", 1)[0]:
        reason += ", with only the characters safe in a file name"
    return Adapted("filename", asked, written, reason)


def _output_media_type(request: MediaRequest, mime_type: str) -> MediaType:
    """What the file must be: the request's media type, except that dubbing a video gives a video."""
    if request.effective_audio_kind is AudioKind.DUBBING and mime_type.startswith("video/"):
        return MediaType.VIDEO
    return request.media_type


async def _close(stream: AsyncIterator[bytes]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


def _vendor_reference(backend: str, state: ContinuationState | None) -> str | None:
    """`{backend}:{vendor id}` for state the vendor keeps (nothing to save), else None."""
    vendor_id = state.data.get("vendor_id") if state is not None and state.kind == VENDOR_ID_KIND else None
    return f"{backend}:{vendor_id}" if isinstance(vendor_id, str) and vendor_id else None
