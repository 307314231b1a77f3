"""Grok Imagine video: start (or extend, or resume) a deferred request, poll GetDeferredVideo, stream the MP4.

The request id is reported the moment GenerateVideo (or ExtendVideo) answers, so an interrupted wait resumes
with `mediagen jobs resume` without a second request. Polling shows the vendor's progress and backs off under the
overall deadline. The finished video's URL expires, so it is fetched at once and streamed to the sink in chunks.
A finished video's continuation is `xai:<request id>`: extending it asks xAI for its URL again and sends that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mediagen.adapters.streams import ChunkStream
from mediagen.adapters.xai.client import XAIClients, XAISettings, vendor_call
from mediagen.adapters.xai.errors import BACKEND, timeout_error, translate_xai_error, video_expired, video_failed
from mediagen.adapters.xai.image import read_as_data_uri, usage_of
from mediagen.adapters.xai.mapping import VideoPlan
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import BackendError, ContentRejected, InvalidRequest, TransientBackendError
from mediagen.domain.secret import Secret
from mediagen.ports.continuation import VENDOR_ID_KIND, ContinuationState
from mediagen.ports.generator import GeneratedMedia, GenerationContext
from mediagen.ports.progress import Polling

if TYPE_CHECKING:
    import aiohttp

_CHUNK = 64 * 1024


def _status_name(answer: Any) -> str:
    from xai_sdk.proto import deferred_pb2

    try:
        return str(deferred_pb2.DeferredStatus.Name(answer.status))
    except ValueError:
        return f"status {answer.status}"


def _progress(answer: Any) -> float | None:
    """The percentage a pending answer reports, when it carries a response with progress."""
    if not answer.HasField("response"):
        return None
    return float(min(max(answer.response.progress, 0), 100))


def extended_request_id(state: ContinuationState) -> str:
    """The request id of the video a continuation extends (`xai:<request id>`)."""
    vendor_id = state.data.get("vendor_id") if state.kind == VENDOR_ID_KIND else None
    if not isinstance(vendor_id, str) or not vendor_id.strip():
        raise InvalidRequest(
            f"this continuation ({state.kind!r}) is not an xAI video; continue a video made by xAI",
            field="continue_from",
        )
    return vendor_id.strip()


class UrlStream(ChunkStream):
    """A video's body as an async iterator of chunks, in constant memory (see ChunkStream); closing it releases the
    connection."""

    def __init__(self, response: aiohttp.ClientResponse, secret: Secret) -> None:
        super().__init__(
            response.content.iter_chunked(_CHUNK).__aiter__(), lambda exc: translate_xai_error(exc, secret=secret)
        )
        self._response = response

    @property
    def content_length(self) -> int | None:
        return self._response.content_length

    async def _release(self) -> None:
        self._response.release()


class VideoRunner:
    """One Grok video: submit (generate or extend) or resume, poll, then hand back a stream of the MP4."""

    def __init__(
        self, clients: XAIClients, settings: XAISettings, *, sleep: Callable[[float], Awaitable[None]]
    ) -> None:
        self._clients = clients
        self._settings = settings
        self._sleep = sleep

    async def run(self, plan: VideoPlan, ctx: GenerationContext, deadline: Deadline) -> GeneratedMedia:
        client = await self._clients.get(ctx.credentials)
        if ctx.resume_job_id is not None:
            request_id = ctx.resume_job_id
        else:
            started = await self._submit(client, plan, ctx, deadline)
            request_id = started.request_id
            if not request_id:
                raise BackendError("xAI accepted the video request but returned no request id", backend=BACKEND)
            await ctx.job_started(request_id)
        response = await self._wait(client, request_id, ctx, deadline)
        return await self._result(plan, request_id, response, ctx, deadline)

    async def _submit(self, client: Any, plan: VideoPlan, ctx: GenerationContext, deadline: Deadline) -> Any:
        kwargs: dict[str, Any] = dict(plan.kwargs)
        if plan.extension:
            assert ctx.continuation is not None
            kwargs["video_url"] = await self._source_url(client, extended_request_id(ctx.continuation), ctx, deadline)
            call = client.video.extend_start(plan.prompt, plan.model, **kwargs)
            return await vendor_call(call, deadline=deadline, secret=ctx.credentials)
        if plan.first_frame is not None:
            kwargs["image_url"] = await asyncio.to_thread(read_as_data_uri, plan.first_frame)
        if plan.reference_images:
            images = plan.reference_images
            kwargs["reference_image_urls"] = await asyncio.to_thread(lambda: [read_as_data_uri(i) for i in images])
        return await vendor_call(
            client.video.start(plan.prompt, plan.model, **kwargs), deadline=deadline, secret=ctx.credentials
        )

    async def _source_url(self, client: Any, source_id: str, ctx: GenerationContext, deadline: Deadline) -> str:
        """The URL of the earlier video to extend, asked of xAI now (the one it gave then may have expired)."""
        answer = await vendor_call(client.video.get(source_id), deadline=deadline, secret=ctx.credentials)
        status = _status_name(answer)
        url = answer.response.video.url if status == "DONE" and answer.HasField("response") else ""
        if url:
            return str(url)
        if status == "PENDING":
            raise InvalidRequest(
                f"xAI video {source_id} is not finished yet; collect it first (mediagen jobs resume)",
                field="continue_from",
            )
        raise InvalidRequest(
            f"xAI no longer holds video {source_id} ({status.lower()}); extend a video made more recently",
            field="continue_from",
        )

    async def _wait(self, client: Any, request_id: str, ctx: GenerationContext, deadline: Deadline) -> Any:
        """Poll GetDeferredVideo with growing waits until DONE; EXPIRED and FAILED are typed errors."""
        interval = self._settings.poll_interval
        first = True
        while True:
            if not first:
                remaining = deadline.remaining()
                if remaining <= 0:
                    raise timeout_error(deadline.seconds, job_id=request_id)
                await self._sleep(min(interval, remaining))
                interval = min(interval * self._settings.poll_backoff, self._settings.poll_max_interval)
            first = False
            answer = await vendor_call(
                client.video.get(request_id), deadline=deadline, secret=ctx.credentials, job_id=request_id
            )
            status = _status_name(answer)
            if status == "DONE":
                ctx.progress(Polling(status="done", percent=100.0))
                if not answer.HasField("response"):
                    raise TransientBackendError(
                        f"xAI said video {request_id} is done but sent no result; retrying usually helps",
                        backend=BACKEND,
                    )
                return answer.response
            if status == "PENDING":
                ctx.progress(Polling(status="pending", percent=_progress(answer)))
                continue
            if status == "EXPIRED":
                raise video_expired(request_id)
            if status == "FAILED":
                error = answer.response.error if answer.HasField("response") else None
                code, message = (error.code, error.message) if error is not None else ("", "")
                raise video_failed(request_id, code, message, secret=ctx.credentials)
            raise BackendError(f"xAI video {request_id} is in an unknown state ({status})", backend=BACKEND)

    async def _result(
        self, plan: VideoPlan, request_id: str, response: Any, ctx: GenerationContext, deadline: Deadline
    ) -> GeneratedMedia:
        video = response.video
        if not video.respect_moderation:
            raise ContentRejected(f"xAI's moderation withheld video {request_id}; change the prompt", backend=BACKEND)
        if not video.url:
            raise BackendError(f"xAI finished video {request_id} but gave no URL", backend=BACKEND)
        http = self._clients.http()
        opened = await vendor_call(http.get(video.url), deadline=deadline, secret=ctx.credentials, job_id=request_id)
        stream = UrlStream(opened, ctx.credentials)
        try:
            opened.raise_for_status()
        except Exception as exc:
            await stream.aclose()
            raise translate_xai_error(exc, secret=ctx.credentials) from None
        content_type = (opened.content_type or "").lower()
        if content_type.endswith("json") or content_type.startswith("text/"):
            await stream.aclose()
            raise TransientBackendError(
                f"xAI's video URL answered {content_type} where an MP4 was expected; retrying usually helps",
                backend=BACKEND,
            )
        metadata: dict[str, Any] = {"request_id": request_id, "model": response.model or plan.model}
        if video.duration:
            metadata["seconds"] = video.duration
        usage = usage_of(response.usage)
        if usage:
            metadata["usage"] = usage
        if plan.extension and ctx.continuation is not None:
            metadata["extended_request_id"] = extended_request_id(ctx.continuation)
        return GeneratedMedia(
            stream=stream,
            mime_type=content_type if content_type.startswith("video/") else "video/mp4",
            model=plan.model,
            metadata=metadata,
            continuation=ContinuationState(kind=VENDOR_ID_KIND, data={"vendor_id": request_id}),
            parameters=plan.parameters,
            size_hint=stream.content_length,
        )
