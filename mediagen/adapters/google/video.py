"""Veo: submit (or resume) the long-running operation, poll it with backoff, hand the video to the sink.

Vertex answers a finished Veo video as inline bytes; only a request that names a Cloud Storage URI (Vertex
`parameters.storageUri`, google-genai's `output_gcs_uri`) gets a `gs://` URI instead. mediagen never sends one, and it
does not fetch such a URI: Cloud Storage needs OAuth credentials an API key does not give, so a `gs://` answer is a
clear error that says where the video is and how to copy it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from google.genai import types

from mediagen.adapters.google.calls import vendor_call
from mediagen.adapters.google.client import GoogleClients, GoogleSettings
from mediagen.adapters.google.errors import BACKEND, redact, timeout_error
from mediagen.adapters.google.mapping import VeoPlan
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import BackendError, ContentRejected, InvalidRequest
from mediagen.domain.request import InputImage
from mediagen.ports.continuation import ContinuationState
from mediagen.ports.generator import GeneratedMedia, GenerationContext
from mediagen.ports.progress import Polling

#: ContinuationState.kind of a finished Veo video, which a later request extends.
VIDEO_KIND = "veo_video"


def storage_error(uri: str, operation: str) -> BackendError:
    """What a `gs://` answer means for a caller: where the video is, why mediagen stops, how to get it."""
    return BackendError(
        f"Veo operation {operation} wrote the video to Cloud Storage at {uri} instead of returning it. Vertex does "
        "that only when the request sets a storage URI (parameters.storageUri, google-genai's output_gcs_uri), "
        "which mediagen does not send: check for a proxy adding it. mediagen cannot read Cloud Storage with an API "
        f"key; copy the video with `gcloud storage cp {uri} .`",
        backend=BACKEND,
    )


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
        started, polls = deadline.clock(), 0
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
            polls += 1
            # Veo's operations carry no progress figure: the wait is told by its polls and elapsed time.
            ctx.progress(
                Polling(
                    status="done" if operation.done else "running",
                    percent=100.0 if operation.done else None,
                    polls=polls,
                    elapsed_seconds=deadline.clock() - started,
                )
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
        raise storage_error(str(video.uri), name)
