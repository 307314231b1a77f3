"""Server-side state of the OpenAI fake: what was asked, stored responses, video jobs and their lineage."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import attrs

from mediagen.sandbox.faults import Fault
from mediagen.sandbox.settings import SandboxSettings
from mediagen.sandbox.vendor import Upload

if TYPE_CHECKING:
    from mediagen.sandbox.openai.persist import OpenAIRecords


@attrs.frozen
class ReceivedRequest:
    """One request as the fake read it: JSON body or form fields, and any uploaded files."""

    method: str
    path: str
    params: dict[str, Any]
    files: tuple[Upload, ...] = ()

    def files_named(self, field: str) -> tuple[Upload, ...]:
        return tuple(f for f in self.files if f.field == field)


@attrs.frozen
class GeneratedImage:
    """An image the fake returned, and the images it was built from (by sha256)."""

    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")
    width: int
    height: int
    output_format: str
    sources: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@attrs.frozen
class StoredResponse:
    """A Responses API answer kept under its id so `previous_response_id` can continue from it."""

    id: str
    body: dict[str, Any]
    prompt: str
    previous_response_id: str | None
    image: GeneratedImage | None
    image_call_id: str | None


@attrs.define
class VideoJob:
    """A Sora job advancing queued -> in_progress -> completed (or failed) one status poll at a time."""

    id: str
    model: str
    prompt: str
    seconds: str
    size: str
    created_at: int
    content_prompt: str  # what the frames are drawn from; a remix extends its source's
    remixed_from_video_id: str | None = None
    reference_sha256: str | None = None
    fault: Fault | None = None
    status: str = "queued"
    progress: int = 0
    polls: int = 0
    completed_at: int | None = None
    expires_at: int | None = None
    error: dict[str, str] | None = None

    def polls_needed(self, settings: SandboxSettings) -> int:
        if self.fault is not None and self.fault.name == "slow_poll":
            return max(1, int(self.fault.number("polls", 10)))
        return settings.job_polls

    def advance(self, settings: SandboxSettings, now: int) -> None:
        """One status poll's worth of progress, shaped by the job's fault."""
        if self.status in ("completed", "failed"):
            return
        self.polls += 1
        needed = self.polls_needed(settings)
        fault = self.fault
        if fault is not None and fault.name == "job_fails" and self.polls >= int(fault.number("at", needed)):
            code = fault.text("code", "video_generation_failed")
            self.status = "failed"
            self.error = {"code": code, "message": _FAILURE_MESSAGES.get(code, f"Video generation failed ({code}).")}
            return
        if fault is not None and fault.name == "job_never_finishes":
            self.status = "in_progress"
            self.progress = min(99, round(100 * self.polls / (needed + 1)))
            return
        if self.polls >= needed:
            self.status = "completed"
            self.progress = 100
            self.completed_at = now
            self.expires_at = now + 24 * 3600
        else:
            self.status = "in_progress"
            self.progress = round(100 * self.polls / needed)

    def to_json(self) -> dict[str, Any]:
        """The Video object, with every field the API reference lists (null where it does not apply)."""
        return {
            "id": self.id,
            "object": "video",
            "created_at": self.created_at,
            "completed_at": self.completed_at,
            "expires_at": self.expires_at,
            "error": self.error,
            "model": self.model,
            "progress": self.progress,
            "prompt": self.prompt,
            "remixed_from_video_id": self.remixed_from_video_id,
            "seconds": self.seconds,
            "size": self.size,
            "status": self.status,
        }


_FAILURE_MESSAGES = {
    "video_generation_failed": "Video generation failed. Please try again.",
    "moderation_blocked": "The generated video was blocked by our moderation system.",
}


@attrs.define
class OpenAIState:
    """Everything the OpenAI fake remembers; tests read it to check what an adapter really sent."""

    requests: list[ReceivedRequest] = attrs.field(factory=list)
    images: list[GeneratedImage] = attrs.field(factory=list)
    responses: dict[str, StoredResponse] = attrs.field(factory=dict)
    videos: dict[str, VideoJob] = attrs.field(factory=dict)
    #: Where responses and video jobs are also kept when the sandbox has a state_dir (None: memory only).
    records: OpenAIRecords | None = attrs.field(default=None, repr=False)

    def response(self, response_id: str) -> StoredResponse | None:
        """A stored response: this sandbox's, else one any sandbox kept in the shared state_dir."""
        found = self.responses.get(response_id)
        if found is None and self.records is not None:
            found = self.records.load_response(response_id)
            if found is not None:
                self.responses[response_id] = found
        return found

    def keep_response(self, stored: StoredResponse) -> None:
        self.responses[stored.id] = stored
        if self.records is not None:
            self.records.save_response(stored)

    def forget_response(self, stored: StoredResponse) -> None:
        self.responses.pop(stored.id, None)
        if self.records is not None:
            self.records.delete_response(stored)

    def call_image(self, call_id: str) -> GeneratedImage | None:
        """The image an image_generation_call made, by the call's id."""
        for stored in self.responses.values():
            if stored.image_call_id == call_id:
                return stored.image
        response_id = None if self.records is None else self.records.response_of_call(call_id)
        found = None if response_id is None else self.response(response_id)
        return found.image if found is not None and found.image_call_id == call_id else None

    def video(self, video_id: str) -> VideoJob | None:
        """A video job: this sandbox's, else one any sandbox kept in the shared state_dir."""
        found = self.videos.get(video_id)
        if found is None and self.records is not None:
            found = self.records.load_video(video_id)
            if found is not None:
                self.videos[video_id] = found
        return found

    def keep_video(self, job: VideoJob) -> None:
        """Remember a new or changed job (written through to the state_dir, so other sandboxes see its status)."""
        self.videos[job.id] = job
        if self.records is not None:
            self.records.save_video(job)

    def forget_video(self, video_id: str) -> None:
        self.videos.pop(video_id, None)
        if self.records is not None:
            self.records.delete_video(video_id)

    def requests_to(self, path: str, method: str | None = None) -> list[ReceivedRequest]:
        """Requests whose path is `path` (and method, when given), oldest first."""
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    def latest_image(self, response_id: str | None) -> GeneratedImage | None:
        """The newest image along a chain of responses, following previous_response_id back."""
        seen: set[str] = set()
        while response_id is not None and response_id not in seen:
            seen.add(response_id)
            stored = self.response(response_id)
            if stored is None:
                return None
            if stored.image is not None:
                return stored.image
            response_id = stored.previous_response_id
        return None
