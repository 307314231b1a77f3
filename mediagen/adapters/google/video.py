"""Veo: submit (or resume) the long-running operation, poll it with backoff, stream the video to the sink."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from google.genai import types

from mediagen.adapters.google.calls import vendor_call
from mediagen.adapters.google.client import GoogleClients, GoogleSettings
from mediagen.adapters.google.errors import BACKEND, redact, timeout_error
from mediagen.adapters.google.mapping import VeoPlan
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import BackendError, ContentRejected, InvalidRequest, MediaGenError
from mediagen.domain.request import InputImage
from mediagen.ports.continuation import ContinuationState
from mediagen.ports.generator import GeneratedMedia, GenerationContext
from mediagen.ports.progress import Polling

#: ContinuationState.kind of a finished Veo video, which a later request extends.
VIDEO_KIND = "veo_video"
_FILE_ID = re.compile(r"(?:^|/)files/([A-Za-z0-9_-]+)")
_PROGRESS_KEYS = ("progressPercent", "progressPercentage", "progress_percent", "progress")
_END = object()


def file_name_from_uri(uri: str) -> str | None:
    """`files/{id}` for a Gemini file reference (files/x, or any URL with /files/x[:download...]); None otherwise.

    The SDK's own parser only takes https URLs, so a loopback (http) sandbox URL would not download.
    """
    match = _FILE_ID.search(uri)
    return f"files/{match[1]}" if match else None


def progress_percent(metadata: Mapping[str, Any] | None) -> float | None:
    """The percentage an operation's metadata reports, when it reports one."""
    for key in _PROGRESS_KEYS:
        value = (metadata or {}).get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(min(max(value, 0), 100))
    return None


async def _image(image: InputImage) -> types.Image:
    return types.Image(image_bytes=await asyncio.to_thread(image.read_bytes), mime_type=image.mime_type)


def extension_source(state: ContinuationState) -> types.Video:
    """The video a continuation extends, from its saved uri or bytes."""
    if state.kind != VIDEO_KIND:
        raise InvalidRequest(
            f"this continuation is a {state.kind!r}, not a Veo video; continue a video made by Veo",
            field="continue_from",
        )
    uri = state.data.get("uri")
    mime = str(state.data.get("mime_type") or "video/mp4")
    if isinstance(uri, str) and uri:
        return types.Video(uri=uri, mime_type=mime)
    if state.blob:
        return types.Video(video_bytes=state.blob, mime_type=mime)
    raise InvalidRequest("this Veo video was too large to keep for extension; start a new video", field="continue_from")


class VeoRunner:
    """One Veo generation: submit or resume, poll, then hand back a stream of the video's bytes."""

    def __init__(
        self,
        clients: GoogleClients,
        settings: GoogleSettings,
        *,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._clients = clients
        self._settings = settings
        self._sleep = sleep

    async def run(self, plan: VeoPlan, ctx: GenerationContext, deadline: Deadline) -> GeneratedMedia:
        if ctx.resume_job_id is not None:
            operation = types.GenerateVideosOperation.model_validate({"name": ctx.resume_job_id})
        else:
            operation = await self._submit(plan, ctx, deadline)
            if not operation.name:
                raise BackendError("Veo accepted the request but returned no operation name", backend=BACKEND)
            await ctx.job_started(operation.name)
        operation = await self._wait(operation, ctx, deadline)
        return self._result(plan, operation, ctx, deadline)

    async def _submit(self, plan: VeoPlan, ctx: GenerationContext, deadline: Deadline) -> types.GenerateVideosOperation:
        config: dict[str, Any] = dict(plan.config)
        if plan.reference_images:
            config["reference_images"] = [
                types.VideoGenerationReferenceImage(
                    image=await _image(image), reference_type=types.VideoGenerationReferenceType.ASSET
                )
                for image in plan.reference_images
            ]
        if plan.last_frame is not None:
            config["last_frame"] = await _image(plan.last_frame)
        source = types.GenerateVideosSource(
            prompt=plan.prompt,
            image=await _image(plan.first_frame) if plan.first_frame is not None else None,
            video=extension_source(ctx.continuation) if ctx.continuation is not None else None,
        )
        aio = await self._clients.for_call("models.generate_videos", ctx.credentials)
        operation: types.GenerateVideosOperation = await vendor_call(
            aio.models.generate_videos(
                model=plan.model, source=source, config=types.GenerateVideosConfig.model_validate(config)
            ),
            deadline=deadline,
            secret=ctx.credentials,
        )
        return operation

    async def _wait(
        self, operation: types.GenerateVideosOperation, ctx: GenerationContext, deadline: Deadline
    ) -> types.GenerateVideosOperation:
        """Poll with growing waits until done; past the deadline, GenerationTimeout naming the operation."""
        name = operation.name
        interval = self._settings.poll_interval
        aio = await self._clients.for_call("operations.get", ctx.credentials)
        first = ctx.resume_job_id is not None
        while first or not operation.done:
            if not first:
                remaining = deadline.remaining()
                if remaining <= 0:
                    raise timeout_error(deadline.seconds, job_id=name)
                await self._sleep(min(interval, remaining))
                interval = min(interval * self._settings.poll_backoff, self._settings.poll_max_interval)
            first = False
            operation = await vendor_call(
                aio.operations.get(operation), deadline=deadline, secret=ctx.credentials, job_id=name
            )
            status = "done" if operation.done else "running"
            ctx.progress(
                Polling(status=status, percent=100.0 if operation.done else progress_percent(operation.metadata))
            )
        return operation

    def _result(
        self, plan: VeoPlan, operation: types.GenerateVideosOperation, ctx: GenerationContext, deadline: Deadline
    ) -> GeneratedMedia:
        name = operation.name or ""
        if operation.error:
            message = redact(str(operation.error.get("message") or operation.error), ctx.credentials)
            if re.search(r"safety|policy|guideline|rai|prohibited|blocked", message, re.IGNORECASE):
                raise ContentRejected(f"Veo's safety filters refused the video: {message}", backend=BACKEND)
            raise BackendError(f"Veo operation {name} failed: {message}", backend=BACKEND)
        response = operation.response or operation.result
        videos = (response.generated_videos if response is not None else None) or []
        video = next((v.video for v in videos if v.video is not None and (v.video.video_bytes or v.video.uri)), None)
        if video is None:
            reasons = (response.rai_media_filtered_reasons if response is not None else None) or []
            if reasons or (response is not None and response.rai_media_filtered_count):
                detail = "; ".join(reasons) or "no reason given"
                raise ContentRejected(f"Veo's safety filters removed the video: {detail}", backend=BACKEND)
            raise BackendError(f"Veo operation {name} finished without a video", backend=BACKEND)
        mime = video.mime_type or "video/mp4"
        metadata: dict[str, Any] = {"operation": name}
        state_data: dict[str, Any] = {"model": plan.model, "operation": name, "mime_type": mime}
        if video.video_bytes:
            keep = len(video.video_bytes) <= self._settings.max_continuation_video_bytes
            metadata["delivery"] = "inline"
            state = ContinuationState(kind=VIDEO_KIND, data=state_data, blob=video.video_bytes) if keep else None
            return GeneratedMedia.from_bytes(
                video.video_bytes, mime_type=mime, model=plan.model, metadata=metadata,
                continuation=state, parameters=plan.parameters,
            )  # fmt: skip
        assert video.uri is not None
        file_name = file_name_from_uri(video.uri)
        if file_name is None:
            raise BackendError(
                f"Veo stored the video at {video.uri}, which mediagen cannot fetch with an API key; "
                "download it with your cloud credentials",
                backend=BACKEND,
            )
        metadata["delivery"] = "file"
        metadata["uri"] = video.uri
        return GeneratedMedia(
            stream=self._download(file_name, ctx, deadline),
            mime_type=mime,
            model=plan.model,
            metadata=metadata,
            continuation=ContinuationState(kind=VIDEO_KIND, data={**state_data, "uri": video.uri}),
            parameters=plan.parameters,
        )

    async def _download(self, file_name: str, ctx: GenerationContext, deadline: Deadline) -> AsyncIterator[bytes]:
        """Stream a file through files.download (Gemini mode) in constant memory: chunks pass a small queue."""
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=4)

        class _Writer:
            # files.download awaits what write() returns, so a full queue holds the download back.
            async def write(self, chunk: bytes) -> None:
                await queue.put(chunk)

        aio = await self._clients.for_call("files.download", ctx.credentials)

        async def fetch() -> None:
            try:
                await vendor_call(
                    aio.files.download(file=file_name, destination=_Writer()), deadline=deadline, secret=ctx.credentials
                )
            except MediaGenError as error:
                await queue.put(error)
                return
            await queue.put(_END)

        task = asyncio.ensure_future(fetch())
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, MediaGenError):
                    raise item
                assert isinstance(item, bytes)
                yield item
        finally:
            if not task.done():
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
