"""Server-side state of the Google fake: requests, Veo operations, videos in Cloud Storage, issued signatures."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import attrs

from mediagen.sandbox import media
from mediagen.sandbox.google.persist import FILES, OPERATION_NAME, OPERATIONS, converter, read
from mediagen.sandbox.records import RecordStore


@attrs.frozen
class ReceivedRequest:
    """One request, for tests to inspect: `body` as the fake read it (field names camelCased), `sent` as it came."""

    method: str
    path: str
    model: str
    body: Mapping[str, Any] = attrs.field(repr=False)
    sent: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


@attrs.define
class VeoOperation:
    """A Veo job: done after enough polls unless scripted to fail, be filtered or never finish."""

    name: str
    model: str
    prompt: str
    seconds: int
    width: int
    height: int
    seed: int | None
    outcome: str  # "video", "never", "fail", "filtered"
    polls_needed: int
    poll_delay: float = 0.0
    fail_at: int | None = None
    fail_code: int = 13
    polls: int = 0
    #: Where the request asked Veo to write the video (a gs:// URI), None for inline bytes.
    storage_uri: str | None = None
    #: The gs:// URI of the finished video, when it was written to storage_uri.
    video_uri: str | None = None
    source: str | None = None  # the video it extends: a gs:// URI, or "inline"


@attrs.frozen
class VideoFile:
    """What a Veo video written to Cloud Storage is drawn from: the same values always give the same bytes."""

    seconds: float
    width: int
    height: int
    fps: int
    prompt: str
    seed: int | None = None
    min_bytes: int | None = None

    def plan(self) -> media.Mp4Plan:
        return media.plan_mp4(
            self.seconds, self.width, self.height, fps=self.fps, prompt=self.prompt, seed=self.seed,
            min_bytes=self.min_bytes,
        )  # fmt: skip


@attrs.define
class GoogleState:
    """Server-side state: requests and answers, Veo operations, videos in Cloud Storage, issued thought signatures."""

    requests: list[ReceivedRequest] = attrs.field(factory=list)
    #: The latest JSON answers given (path, body), for tests to hold to the published response schemas.
    answers: deque[tuple[str, Mapping[str, Any]]] = attrs.field(factory=lambda: deque(maxlen=256), repr=False)
    operations: dict[str, VeoOperation] = attrs.field(factory=dict)
    files: dict[str, media.Mp4Plan] = attrs.field(factory=dict)
    #: thoughtSignature values this server issued; a Gemini 3 chat must send them back with its images.
    #: Any sandbox accepts a signature another one issued (they are signed, not looked up), so a chat continued
    #: in a new process, against a new sandbox, works as it does against the real API.
    signatures: set[bytes] = attrs.field(factory=set)
    #: Where operations and files are also kept when the sandbox has a state_dir (None: memory only).
    records: RecordStore | None = attrs.field(default=None, repr=False)

    def operation(self, name: str) -> VeoOperation | None:
        """A Veo operation by name: this sandbox's, else one any sandbox kept in the shared state_dir."""
        found = self.operations.get(name)
        match = OPERATION_NAME.fullmatch(name)
        if found is None and self.records is not None and match is not None:
            found = read(self.records, OPERATIONS, match[1], VeoOperation)
            if found is not None and found.name == name:
                self.operations[name] = found
            else:
                found = None
        return found

    def keep_operation(self, operation: VeoOperation) -> None:
        """Remember a new or polled operation (written through to the state_dir, so other sandboxes see it)."""
        self.operations[operation.name] = operation
        match = OPERATION_NAME.fullmatch(operation.name)
        if self.records is not None and match is not None:
            self.records.save(OPERATIONS, match[1], converter.unstructure(operation))

    def video_file(self, file_id: str) -> VideoFile | None:
        """What a video kept in the shared state_dir is drawn from (None: no such video there)."""
        return None if self.records is None else read(self.records, FILES, file_id, VideoFile)

    def has_file(self, file_id: str) -> bool:
        return file_id in self.files or self.video_file(file_id) is not None

    def keep_file(self, file_id: str, plan: media.Mp4Plan, drawn_from: VideoFile) -> None:
        self.files[file_id] = plan
        if self.records is not None:
            self.records.save(FILES, file_id, converter.unstructure(drawn_from))

    def requests_to(self, method: str) -> list[ReceivedRequest]:
        """Requests whose path ends with `:method` (e.g. "generateContent", "predict")."""
        return [r for r in self.requests if r.path.endswith(f":{method}")]
