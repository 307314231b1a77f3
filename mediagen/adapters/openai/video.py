"""Sora: create (or remix, or resume) a video job, poll it with the API's hint, stream the MP4 to the sink.

The starting image is cover-cropped to exactly the video's size: scaled until it covers the frame, centred,
and the overflow trimmed. Nothing is stretched (no distortion) and no bars are added (Sora would animate them).
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import openai

from mediagen.adapters.openai.client import BodyStream, OpenAIClients, OpenAISettings, vendor_call
from mediagen.adapters.openai.errors import BACKEND, job_error, sora_retired_error, timeout_error
from mediagen.adapters.openai.mapping import VideoPlan
from mediagen.application.deadline import Deadline
from mediagen.domain.errors import BackendError, ContinuationNotFound, InvalidRequest
from mediagen.domain.request import InputImage, Size
from mediagen.domain.secret import Secret
from mediagen.ports.continuation import VENDOR_ID_KIND, ContinuationState
from mediagen.ports.generator import GeneratedMedia, GenerationContext
from mediagen.ports.progress import Polling

POLL_HINT_HEADER = "openai-poll-after-ms"
_RUNNING = ("queued", "in_progress")

T = TypeVar("T")


def fit_reference(image: InputImage, size: Size) -> tuple[str, bytes, str]:
    """The image as an upload of exactly `size`, cover-cropped (no distortion, no bars); blocking, run in a thread.

    An image already of that size is sent as it is. JPEG stays JPEG; anything else becomes PNG.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    data = image.read_bytes()
    try:
        with Image.open(io.BytesIO(data)) as opened:
            img = ImageOps.exif_transpose(opened)
            if img.size == (size.width, size.height) and image.mime_type in ("image/png", "image/jpeg", "image/webp"):
                return (image.path.name, data, image.mime_type)
            fitted = ImageOps.fit(img, (size.width, size.height), method=Image.Resampling.LANCZOS)
    except (OSError, UnidentifiedImageError) as exc:
        raise InvalidRequest(f"{str(image.path)!r} could not be decoded: {exc}", field="input_images") from None
    out = io.BytesIO()
    stem = image.path.stem or "reference"
    if image.mime_type == "image/jpeg":
        fitted.convert("RGB").save(out, format="JPEG", quality=95)
        return (f"{stem}.jpg", out.getvalue(), "image/jpeg")
    if fitted.mode not in ("RGB", "RGBA"):
        fitted = fitted.convert("RGBA" if "A" in fitted.getbands() or "transparency" in fitted.info else "RGB")
    fitted.save(out, format="PNG")
    return (f"{stem}.png", out.getvalue(), "image/png")


def _poll_hint(headers: Any) -> float | None:
    raw = headers.get(POLL_HINT_HEADER) if headers is not None else None
    try:
        value = float(raw) / 1000 if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


async def _unless_retired(call: Callable[[], Awaitable[T]], secret: Secret, *, names_a_video: bool) -> T:
    """Make a Sora call; an answer saying the Videos API itself is gone becomes the shutdown's own error."""
    try:
        return await call()
    except openai.APIStatusError as exc:
        retired = sora_retired_error(exc, names_a_video=names_a_video, secret=secret)
        if retired is None:
            raise
        raise retired from None


class SoraRunner:
    """One Sora generation: submit (create or remix) or resume, poll, then hand back a stream of the MP4."""

    def __init__(
        self,
        clients: OpenAIClients,
        settings: OpenAISettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clients = clients
        self._settings = settings
        self._sleep = sleep

    async def run(self, plan: VideoPlan, ctx: GenerationContext, deadline: Deadline) -> GeneratedMedia:
        if ctx.resume_job_id is not None:
            video_id = ctx.resume_job_id
        else:
            video = await self._submit(plan, ctx, deadline)
            video_id = video.id
            if not video_id:
                raise BackendError("Sora accepted the request but returned no video id", backend=BACKEND)
            await ctx.job_started(video_id)
        video = await self._wait(video_id, ctx, deadline)
        return await self._result(plan, video, ctx, deadline)

    async def cancel(self, video_id: str, ctx: GenerationContext, deadline: Deadline) -> None:
        """Delete the video at OpenAI (DELETE /v1/videos/{id}). The API documents it for completed or failed
        videos; what it does to one still rendering is not documented, and a refusal comes back as its error."""
        client = self._clients.get(ctx.credentials)
        call = functools.partial(client.videos.delete, video_id)
        await vendor_call(
            _unless_retired(call, ctx.credentials, names_a_video=True),
            deadline=deadline,
            secret=ctx.credentials,
            job_id=video_id,
        )

    async def _submit(self, plan: VideoPlan, ctx: GenerationContext, deadline: Deadline) -> Any:
        client = self._clients.get(ctx.credentials)
        if plan.remix_of is not None:
            source = plan.remix_of

            async def remix() -> Any:
                try:
                    call = functools.partial(client.videos.remix, source, prompt=plan.prompt)
                    return await _unless_retired(call, ctx.credentials, names_a_video=True)
                except openai.NotFoundError:
                    raise ContinuationNotFound(f"{BACKEND}:{source}") from None

            return await vendor_call(remix(), deadline=deadline, secret=ctx.credentials)
        kwargs: dict[str, Any] = dict(plan.kwargs)
        if plan.reference is not None:
            kwargs["input_reference"] = await asyncio.to_thread(fit_reference, plan.reference, plan.size)
        create = functools.partial(client.videos.create, **kwargs)
        submitted = _unless_retired(create, ctx.credentials, names_a_video=False)
        return await vendor_call(submitted, deadline=deadline, secret=ctx.credentials)

    async def _wait(self, video_id: str, ctx: GenerationContext, deadline: Deadline) -> Any:
        """Poll until completed or failed: the API's openai-poll-after-ms hint, else growing waits."""
        client = self._clients.get(ctx.credentials)
        interval = self._settings.poll_interval

        async def retrieve() -> tuple[Any, Any]:
            # Parsed inside the translated call, so a malformed status answer is a typed error too.
            call = functools.partial(client.videos.with_raw_response.retrieve, video_id)
            raw = await _unless_retired(call, ctx.credentials, names_a_video=True)
            return raw.parse(), raw.headers

        while True:
            video, headers = await vendor_call(retrieve(), deadline=deadline, secret=ctx.credentials, job_id=video_id)
            progress = getattr(video, "progress", None)
            percent = float(min(max(progress, 0), 100)) if isinstance(progress, (int, float)) else None
            ctx.progress(Polling(status=str(video.status), percent=percent))
            if video.status == "completed":
                return video
            if video.status == "failed":
                raise job_error(video_id, video.error, secret=ctx.credentials)
            if video.status not in _RUNNING:
                raise BackendError(f"Sora video {video_id} is in an unknown state {video.status!r}", backend=BACKEND)
            hint = _poll_hint(headers)
            wait = min(hint, self._settings.poll_max_interval) if hint is not None else interval
            if hint is None:
                interval = min(interval * self._settings.poll_backoff, self._settings.poll_max_interval)
            remaining = deadline.remaining()
            if remaining <= 0:
                raise timeout_error(deadline.seconds, job_id=video_id)
            await self._sleep(min(wait, remaining))

    async def _result(self, plan: VideoPlan, video: Any, ctx: GenerationContext, deadline: Deadline) -> GeneratedMedia:
        client = self._clients.get(ctx.credentials)
        stream = await BodyStream.open(
            client.videos.with_streaming_response.download_content(video.id, variant="video"),
            deadline=deadline,
            secret=ctx.credentials,
            what="an MP4 video",
            job_id=video.id,
        )
        metadata: dict[str, Any] = {"video_id": video.id, "size": video.size, "seconds": video.seconds}
        if getattr(video, "remixed_from_video_id", None):
            metadata["remixed_from_video_id"] = video.remixed_from_video_id
        if getattr(video, "expires_at", None) is not None:
            metadata["expires_at"] = video.expires_at
        seconds = str(video.seconds or "")
        if seconds.replace(".", "", 1).isdigit():
            metadata["usage"] = {"seconds": float(seconds)}
        content_type = stream.headers.get("content-type", "")
        mime = content_type.split(";", 1)[0].strip() if content_type.startswith("video/") else "video/mp4"
        return GeneratedMedia(
            stream=stream,
            mime_type=mime,
            model=str(video.model or plan.model),
            metadata=metadata,
            continuation=ContinuationState(kind=VENDOR_ID_KIND, data={"vendor_id": video.id}),
            parameters=plan.parameters,
            size_hint=stream.content_length,
        )
