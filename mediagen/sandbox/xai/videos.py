"""`/xai_api.Video/GenerateVideo`, `ExtendVideo` and `GetDeferredVideo`: a job per request id, PENDING with its
progress for job_polls polls, then DONE with the URL of a real H.264 MP4 on the loopback HTTP server (which expires),
or FAILED / EXPIRED / moderated as prompt markers and faults script it."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc
from aiohttp import web
from google.protobuf.message import Message
from xai_sdk.proto import deferred_pb2, video_pb2

from mediagen.sandbox import media
from mediagen.sandbox.faults import Fault
from mediagen.sandbox.rpc import RpcCall, RpcError
from mediagen.sandbox.vendor import ApiError, stream_bytes
from mediagen.sandbox.xai import catalog
from mediagen.sandbox.xai.images import BLOCK_OUTPUT, BLOCK_PROMPT
from mediagen.sandbox.xai.state import ReceivedCall, VideoJob
from mediagen.sandbox.xai.wire import check_message, enum_name, invalid

if TYPE_CHECKING:
    from mediagen.sandbox.xai.fake import XaiFake

VIDEO_PATH = "/xai-vidgen-bucket"
_PREFIX = "xai-video-"
#: Prompt markers for the job's end: PENDING forever, FAILED, EXPIRED (moderation uses the image markers).
NEVER_FINISH = "sandbox:never-finish"
FAIL_JOB = "sandbox:fail-job"
EXPIRE_JOB = "sandbox:expire-job"
REJECTED_VIDEO = "Generated video rejected by content moderation."
_FAILURES = {
    "video_generation_failed": "Video generation failed. Please try again.",
    "internal_error": "An internal error occurred while generating the video.",
}


class VideoService:
    """The Video service of the xAI fake and the loopback URLs of its finished videos."""

    def __init__(self, fake: XaiFake) -> None:
        self.fake = fake
        self._plans: dict[str, media.Mp4Plan] = {}

    async def generate(
        self, request: video_pb2.GenerateVideoRequest, call: RpcCall
    ) -> deferred_pb2.StartDeferredResponse:
        self._record(request)
        check_message(request)
        if not request.prompt.strip():
            raise invalid("prompt", "must not be empty")
        model = self.fake.check_model(request.model, catalog.VIDEO_MODELS, "a video")
        seconds = _duration(request, catalog.VIDEO_SECONDS, catalog.DEFAULT_VIDEO_SECONDS)
        if model not in catalog.VIDEO_MODELS_WITH_FRAMES:
            for field in ("last_frame", "keyframes", "reference_audios"):
                if _is_set(request, field):
                    raise invalid(
                        field, f"is only supported for {', '.join(catalog.VIDEO_MODELS_WITH_FRAMES)}, not {model}"
                    )
        if len(request.keyframes) > catalog.MAX_KEYFRAMES:
            raise invalid("keyframes", f"at most {catalog.MAX_KEYFRAMES} keyframes, got {len(request.keyframes)}")
        for index, keyframe in enumerate(request.keyframes):
            if not 0 < keyframe.timestamp_s < seconds:
                raise invalid(
                    f"keyframes[{index}].timestamp_s", f"must fall strictly inside the clip (0 < t < {seconds})"
                )
            await self.fake.input_image(keyframe.image, f"keyframes[{index}].image")
        if len(request.reference_audios) > catalog.MAX_REFERENCE_AUDIOS:
            raise invalid("reference_audios", f"at most {catalog.MAX_REFERENCE_AUDIOS} entries")
        for index, audio in enumerate(request.reference_audios):
            if not audio.voice_id.strip():
                raise invalid(f"reference_audios[{index}].voice_id", "must not be empty")
        ratio = enum_name(request, "aspect_ratio", "VIDEO_ASPECT_RATIO_")
        resolution = enum_name(request, "resolution", "VIDEO_RESOLUTION_")
        ratio = catalog.DEFAULT_VIDEO_RATIO if ratio in (None, "UNSPECIFIED") else ratio
        resolution = catalog.DEFAULT_VIDEO_RESOLUTION if resolution in (None, "UNSPECIFIED") else resolution
        width, height = catalog.video_size(catalog.VIDEO_RATIOS[ratio], resolution)
        content_prompt, source = request.prompt, None
        if request.HasField("image"):
            start = await self.fake.input_image(request.image, "image")
            content_prompt = f"{request.prompt}\0{hashlib.sha256(start).hexdigest()}"
        if request.HasField("last_frame"):
            await self.fake.input_image(request.last_frame, "last_frame")
        for index, reference in enumerate(request.reference_images):
            await self.fake.input_image(reference, f"reference_images[{index}]")
        if request.HasField("video"):
            source_job = await self.fake.input_video(request.video, "video")
            if source_job is not None:
                content_prompt, source = f"{source_job.content_prompt}\n{request.prompt}", source_job.request_id
        job = self._job(model, request.prompt, content_prompt, seconds, (width, height), call)
        job.source = source
        job.storage_requested = request.HasField("storage_options")
        self._start(job)
        return deferred_pb2.StartDeferredResponse(request_id=job.request_id)

    async def extend(self, request: video_pb2.ExtendVideoRequest, call: RpcCall) -> deferred_pb2.StartDeferredResponse:
        self._record(request)
        check_message(request)
        if not request.prompt.strip():
            raise invalid("prompt", "must not be empty")
        model = self.fake.check_model(request.model, catalog.VIDEO_MODELS, "a video")
        seconds = _duration(request, catalog.EXTEND_SECONDS, catalog.DEFAULT_EXTEND_SECONDS)
        if not request.HasField("video"):
            raise invalid("video", "the video to extend is required (url or file_id)")
        source = await self.fake.input_video(request.video, "video")
        if source is None:
            size, content_prompt = (
                catalog.video_size(catalog.VIDEO_RATIOS[catalog.DEFAULT_VIDEO_RATIO], catalog.DEFAULT_VIDEO_RESOLUTION),
                request.prompt,
            )
        else:
            size, content_prompt = (source.width, source.height), f"{source.content_prompt}\n{request.prompt}"
        job = self._job(model, request.prompt, content_prompt, seconds, size, call)
        job.source = None if source is None else source.request_id
        job.storage_requested = request.HasField("storage_options")
        self._start(job)
        return deferred_pb2.StartDeferredResponse(request_id=job.request_id)

    def _job(
        self, model: str, prompt: str, content_prompt: str, seconds: int, size: tuple[int, int], call: RpcCall
    ) -> VideoJob:
        settings = self.fake.context.settings
        job = VideoJob(
            request_id=str(uuid.uuid4()), model=model, prompt=prompt, content_prompt=content_prompt, seconds=seconds,
            width=size[0], height=size[1], created_at=time.time(), polls_needed=settings.job_polls,
        )  # fmt: skip
        job.outcome = _outcome(prompt)
        _apply_fault(job, call.fault)
        return job

    def _start(self, job: VideoJob) -> None:
        self.fake.state.keep_job(job)

    def _record(self, request: Message) -> None:
        copy = type(request)()
        copy.CopyFrom(request)
        self.fake.state.calls.append(ReceivedCall(request.DESCRIPTOR.name.removesuffix("Request"), copy))

    async def get(
        self, request: video_pb2.GetDeferredVideoRequest, call: RpcCall
    ) -> video_pb2.GetDeferredVideoResponse:
        self._record(request)
        check_message(request)
        if not request.request_id:
            raise invalid("request_id", "must not be empty")
        job = self.fake.state.job(request.request_id)
        if job is None:
            raise RpcError(grpc.StatusCode.NOT_FOUND, f"request_id: no deferred request {request.request_id!r}")
        if job.poll_delay and await self.fake.context.pause(job.poll_delay):
            raise RpcError(grpc.StatusCode.UNAVAILABLE, "The sandbox is shutting down.")
        if call.fault is not None and call.fault.name == "content_policy" and job.done_at is None:
            _apply_fault(job, call.fault)  # moderation catches the video before it is done
        settings = self.fake.context.settings
        finished_now = job.done_at is None
        if job.done_at is None:
            job.polls += 1
            failing = job.outcome == "fail" and job.polls >= (job.fail_at or job.polls_needed)
            if not failing and (job.outcome == "never" or job.polls < job.polls_needed):
                self.fake.state.keep_job(job)
                # PENDING carries only the progress the proto has (VideoResponse.progress).
                return video_pb2.GetDeferredVideoResponse(
                    status=deferred_pb2.PENDING, response=video_pb2.VideoResponse(progress=job.progress)
                )
            job.done_at = time.time()
            if failing:
                job.outcome = "fail"
            self.fake.state.keep_job(job)
        # A result is kept for media_url_ttl_seconds after it is done; the poll that finishes it always gets it.
        if job.outcome == "expire" or (job.expired(settings) and not finished_now):
            return video_pb2.GetDeferredVideoResponse(status=deferred_pb2.EXPIRED)
        if job.outcome == "fail":
            message = _FAILURES.get(job.fail_code, f"Video generation failed ({job.fail_code}).")
            error = video_pb2.VideoError(code=job.fail_code, message=message)
            return video_pb2.GetDeferredVideoResponse(
                status=deferred_pb2.FAILED, response=video_pb2.VideoResponse(model=job.model, error=error)
            )
        video = video_pb2.GeneratedVideo(duration=job.seconds, respect_moderation=job.outcome != "moderated")
        if job.outcome != "moderated":
            video.url = f"{self.fake.origin}{VIDEO_PATH}/{_PREFIX}{job.request_id}.mp4"
        if job.storage_requested:
            video.storage_error = "The sandbox has no Files API: the video was not stored."
        return video_pb2.GetDeferredVideoResponse(
            status=deferred_pb2.DONE, response=video_pb2.VideoResponse(video=video, model=job.model, progress=100)
        )

    def job_of(self, path: str) -> VideoJob | None:
        """The job a video URL path of this fake names (done or not, expired or not)."""
        name = path.removeprefix(f"{VIDEO_PATH}/{_PREFIX}")
        if name == path or not name.endswith(".mp4"):
            return None
        return self.fake.state.job(name.removesuffix(".mp4"))

    def playable(self, job: VideoJob | None) -> bool:
        """Whether a job's video URL works now: done as a video, not moderated, not past its expiry."""
        return (
            job is not None and job.done_at is not None and job.outcome == "video"
            and not job.expired(self.fake.context.settings)
        )  # fmt: skip

    async def download(self, request: web.Request) -> web.StreamResponse:
        job = self.job_of(request.path)
        if job is None or job.done_at is None or job.outcome != "video":
            raise ApiError(404, "The specified key does not exist.", code="NoSuchKey")
        if job.expired(self.fake.context.settings):
            raise ApiError(403, "Request has expired.", code="AccessDenied")
        plan = self._plans.get(job.request_id)
        if plan is None:
            plan = self._plans[job.request_id] = await asyncio.to_thread(job.plan, self.fake.context.settings)

        async def chunks() -> AsyncIterator[bytes | memoryview]:
            for chunk in plan.chunks():
                yield chunk

        return await stream_bytes(request, chunks(), content_type="video/mp4", length=plan.size)


def _duration(
    request: video_pb2.GenerateVideoRequest | video_pb2.ExtendVideoRequest, bounds: tuple[int, int], default: int
) -> int:
    if not request.HasField("duration"):
        return default
    low, high = bounds
    if not low <= request.duration <= high:
        raise invalid("duration", f"must be between {low} and {high} seconds, got {request.duration}")
    seconds: int = request.duration
    return seconds


def _is_set(request: video_pb2.GenerateVideoRequest, field: str) -> bool:
    descriptor = request.DESCRIPTOR.fields_by_name[field]
    return request.HasField(field) if descriptor.has_presence else len(getattr(request, field)) > 0


def _outcome(prompt: str) -> str:
    if NEVER_FINISH in prompt:
        return "never"
    if FAIL_JOB in prompt:
        return "fail"
    if EXPIRE_JOB in prompt:
        return "expire"
    if BLOCK_PROMPT in prompt or BLOCK_OUTPUT in prompt:
        return "moderated"
    return "video"


def _apply_fault(job: VideoJob, fault: Fault | None) -> None:
    """job_fails, job_never_finishes, slow_poll and content_policy from the framework's fault scripts."""
    if fault is None:
        return
    if fault.name == "content_policy":
        if fault.text("form", "flagged") == "status":
            raise RpcError(grpc.StatusCode.INVALID_ARGUMENT, fault.text("message", REJECTED_VIDEO))
        job.outcome = "moderated"
    elif fault.name == "job_never_finishes":
        job.outcome = "never"
    elif fault.name == "job_fails":
        job.outcome = "fail"
        job.fail_at = max(1, int(fault.number("at", job.polls_needed)))
        job.fail_code = fault.text("code", "video_generation_failed")
    elif fault.name == "slow_poll":
        job.polls_needed = max(1, int(fault.number("polls", 10)))
        job.poll_delay = fault.number("delay", 0.2)
