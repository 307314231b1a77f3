"""Server-side state of the xAI fake: the calls it received, the images it handed out by URL and the video jobs, kept
in the sandbox's state_dir when it has one, so another sandbox sharing the directory serves them too."""

from __future__ import annotations

import logging
import time
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import BaseValidationError
from google.protobuf.message import Message

from mediagen.sandbox import media
from mediagen.sandbox.faults import Fault
from mediagen.sandbox.records import RecordStore
from mediagen.sandbox.settings import SandboxSettings

log = logging.getLogger("mediagen.sandbox")

IMAGES, VIDEOS = "images", "videos"
_converter = cattrs.Converter()
_converter.register_unstructure_hook(Fault, str)
_converter.register_structure_hook(Fault, lambda value, _: Fault.parse(str(value)))
T = TypeVar("T")


@attrs.frozen
class ReceivedCall:
    """One call as the fake read it: the method's name and the request message (a copy)."""

    method: str
    request: Message = attrs.field(repr=False)


@attrs.frozen
class StoredImage:
    """An image handed out by URL: its bytes, until when the URL works, and what it is."""

    id: str
    content_type: str
    expires_at: float
    width: int
    height: int
    data: bytes = attrs.field(default=b"", repr=lambda d: f"<{len(d)} bytes>")


@attrs.define
class VideoJob:
    """A GenerateVideo / ExtendVideo request: PENDING for job_polls polls, then DONE (or FAILED, EXPIRED, moderated,
    never finishing, as its prompt markers and faults say)."""

    request_id: str
    model: str
    prompt: str
    content_prompt: str  # what the frames are drawn from; an extension continues its source's
    seconds: int
    width: int
    height: int
    created_at: float
    outcome: str = "video"  # "video", "never", "fail", "expire", "moderated"
    polls_needed: int = 3
    poll_delay: float = 0.0
    fail_at: int | None = None
    fail_code: str = "video_generation_failed"
    polls: int = 0
    done_at: float | None = None
    source: str | None = None  # the request id of the video it extends or edits
    storage_requested: bool = False

    @property
    def progress(self) -> int:
        """Percent done as VideoResponse.progress reports it while PENDING (never 100 before DONE)."""
        if self.outcome == "never":
            return min(99, round(100 * self.polls / (self.polls_needed + 1)))
        return min(99, round(100 * self.polls / self.polls_needed))

    def expired(self, settings: SandboxSettings, now: float | None = None) -> bool:
        """Whether its result (and the video's URL) outlived media_url_ttl_seconds since it was done."""
        moment = time.time() if now is None else now
        return self.done_at is not None and moment > self.done_at + settings.media_url_ttl_seconds

    def plan(self, settings: SandboxSettings) -> media.Mp4Plan:
        return media.plan_mp4(
            float(self.seconds), self.width, self.height, fps=settings.video_fps, prompt=self.content_prompt,
            min_bytes=settings.video_min_bytes,
        )  # fmt: skip


@attrs.define
class XaiState:
    """Everything the xAI fake remembers; tests read it to check what an adapter really sent."""

    calls: list[ReceivedCall] = attrs.field(factory=list)
    images: dict[str, StoredImage] = attrs.field(factory=dict)
    jobs: dict[str, VideoJob] = attrs.field(factory=dict)
    #: Where images and jobs are also kept when the sandbox has a state_dir (None: memory only).
    records: RecordStore | None = attrs.field(default=None, repr=False)

    def received(self, method: str) -> list[Message]:
        """The requests a method received, oldest first."""
        return [call.request for call in self.calls if call.method == method]

    def keep_image(self, image: StoredImage) -> None:
        self.images[image.id] = image
        if self.records is not None:
            data = _converter.unstructure(attrs.evolve(image, data=b""))
            del data["data"]
            self.records.save(IMAGES, image.id, data, blob=image.data)

    def image(self, image_id: str) -> StoredImage | None:
        """An image this sandbox handed out, else one any sandbox kept in the shared state_dir."""
        found = self.images.get(image_id)
        if found is None and self.records is not None:
            record = self.records.load(IMAGES, image_id)
            if record is not None and record.blob is not None:
                found = _structure({**record.data, "data": record.blob}, StoredImage, IMAGES, image_id)
        return found

    def keep_job(self, job: VideoJob) -> None:
        """Remember a new or polled job (written through to the state_dir, so other sandboxes see its status)."""
        self.jobs[job.request_id] = job
        if self.records is not None:
            self.records.save(VIDEOS, job.request_id, _converter.unstructure(job))

    def job(self, request_id: str) -> VideoJob | None:
        """A job as last written: from the state_dir when there is one (another sandbox may have polled it since),
        else this sandbox's."""
        if self.records is not None:
            record = self.records.load(VIDEOS, request_id)
            if record is not None:
                found = _structure(record.data, VideoJob, VIDEOS, request_id)
                if found is not None:
                    self.jobs[request_id] = found
                    return found
        return self.jobs.get(request_id)


def _structure(data: dict[str, Any], cls: type[T], kind: str, record_id: str) -> T | None:
    try:
        return _converter.structure(data, cls)
    except (BaseValidationError, KeyError, TypeError, ValueError) as exc:
        log.warning("sandbox record %s/%s is not a valid %s record, ignoring it: %s", kind, record_id, kind, exc)
        return None
